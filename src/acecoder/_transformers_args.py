"""Training arguments whose meaning changed between transformers versions.

The warm-up: transformers 5 takes a share of the steps as a float `warmup_steps`
below 1 and dropped `warmup_ratio`; transformers 4 reads a float `warmup_steps` as a
count of steps (0.1 steps: no warm-up at all) and takes the share as `warmup_ratio`.
TRL 1.16 accepts both majors (transformers >= 4.56.2), so each gets what it understands.
"""

from __future__ import annotations


def warmup(ratio: float, *, version: str | None = None) -> dict:
    """The keyword arguments of `TrainingArguments` (or TRL's configs) for a linear
    warm-up over `ratio` of all steps, for transformers `version` (the installed one)."""
    if version is None:
        from importlib.metadata import version as installed

        version = installed("transformers")
    major = int(version.split(".")[0])
    return {"warmup_steps": ratio} if major >= 5 else {"warmup_ratio": ratio}
