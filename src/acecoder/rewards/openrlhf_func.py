"""OpenRLHF's Python-file reward: `--reward.remote_url $(python -m acecoder.rewards.openrlhf_func)`.

OpenRLHF 0.10.2 and later load a `.py` file given as the reward URL in each rollout
actor and call its `reward_func(queries, prompts, labels)` in a thread, once per
sample. Nothing goes over HTTP, so no request can outlive a timeout; each actor runs
its own sandbox (one worker per core of its node unless told otherwise), which suits
rollout actors with CPUs to spare. For a pool of CPU machines shared by every actor,
or the reward model in the mix, use `acecoder serve-reward` instead.

Settings come from the environment, as OpenRLHF passes none: `ACECODER_REWARD`
(binary, pass_rate or signed; binary by default, the method's), `ACECODER_FORMAT_WEIGHT`
(the R1 format bonus, 0), `ACECODER_TIMEOUT` (seconds per test, 3) and
`ACECODER_WORKERS` (sandbox processes per actor; default one per core). Labels are
the tests (`--data.label_key tests` on `hard-subset --format openrlhf` data).
"""

from __future__ import annotations

import os
import threading

from acecoder.rewards._rule import TestReward
from acecoder.rewards.openrlhf import labels_as_suites, response_of

_reward: TestReward | None = None
_lock = threading.Lock()


def _shared() -> TestReward:
    global _reward
    with _lock:
        if _reward is None:
            workers = os.environ.get("ACECODER_WORKERS")
            _reward = TestReward(
                kind=os.environ.get("ACECODER_REWARD", "binary"),
                format_weight=float(os.environ.get("ACECODER_FORMAT_WEIGHT", "0")),
                timeout=float(os.environ.get("ACECODER_TIMEOUT", "3")),
                workers=int(workers) if workers else None,
            )
        return _reward


def reward_func(queries: list[str], prompts: list[str], labels: list) -> dict:
    """OpenRLHF's contract: tensors of one number per sample for `rewards`, `scores`
    and each of `extra_logs`."""
    import torch

    responses = [response_of(query, prompt) for query, prompt in zip(queries, prompts)]
    scores = _shared().evaluate(responses, *labels_as_suites(labels))
    rewards = torch.tensor([0.0 if r is None else r for r in scores.rewards], dtype=torch.float32)
    return {
        "rewards": rewards,
        "scores": rewards,
        "extra_logs": {
            "pass_rate": torch.tensor(scores.pass_rates, dtype=torch.float32),
            "all_passed": torch.tensor([float(passed) for passed in scores.all_passed]),
        },
    }


if __name__ == "__main__":
    print(os.path.abspath(__file__))  # the path to give --reward.remote_url
