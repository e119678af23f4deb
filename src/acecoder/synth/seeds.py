"""Seeds for synthesis: existing code turned into (instruction or None, program) pairs (§1 of the method).

Three families, told apart by their fields unless `source` forces one:

- `oss`   Magicoder-OSS-Instruct-75K: `lang`, `problem` (or `instruction`), `solution`
          (or `response`); only rows with `lang == "python"` are kept;
- `evol`  Magicoder-Evol-Instruct-110K: `instruction`, `response`;
- `stack` bigcode/stack-dedup-python-fns: `content` (a bare function), no instruction.

A row's own `source` field (one of the three) wins over the detection; `settings.source`
wins over both. Preparation, as the method does it: from a response take the FIRST
python-tagged fenced block (untagged blocks do not count: Evol mixes languages, and the
tag is the method's only language filter there); for Evol keep only code that contains
`def ` or `class `; drop the lines that start with `print` (column 0 only: an indented
print may be a block's only statement, and dropping it would break the code); skip
what is left empty. Stack functions are kept when longer than 100 characters, untouched.

Every row that does not become a seed is counted by a `SeedDrop`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from acecoder.errors import ConfigError, InputError

FAMILIES = ("evol", "oss", "stack")
MIN_STACK_CHARS = 100  # §1: Stack functions "longer than 100 characters"

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE)
_PYTHON_TAGS = {"python", "py", "python3"}


@dataclass(slots=True, frozen=True, kw_only=True)
class Seed:
    """The synth stage's input: a program, and the task it was written for when known."""

    id: str  # the row's `id`, else "<source>_<row index from 0>", e.g. "oss_0"
    source: str  # "evol", "oss" or "stack"
    instruction: str | None  # None for bare functions (Stack)
    code: str


class SeedDrop(StrEnum):
    """Why a row did not become a seed."""

    BAD_ROW = "bad_row"  # not JSON, or without the fields of any family (an InputError when strict)
    NOT_PYTHON = "not_python"  # OSS row whose `lang` is not python
    NO_CODE_BLOCK = "no_code_block"  # the response has no python-tagged fenced block
    NO_FUNCTION = "no_function"  # Evol code with neither `def ` nor `class `
    EMPTY_CODE = "empty_code"  # nothing left once print lines are dropped
    TOO_SHORT = "too_short"  # Stack content of 100 characters or fewer
    DUPLICATE_ID = "duplicate_id"  # an id seen on an earlier row


# ---------------------------------------------------------------- preparation (§1), pure


def first_python_block(text: str) -> str | None:
    """The body of the first fenced block tagged python (an unterminated one runs to the end)."""
    for tag, body in _FENCE.findall(text):
        if tag.lower() in _PYTHON_TAGS:
            return body
    return None


def drop_print_lines(code: str) -> str:
    """The code without the lines that start with `print`, stripped of blank edges."""
    return "\n".join(line for line in code.splitlines() if not line.startswith("print")).strip("\n")


def detect_family(row: dict) -> str | None:
    """The seed family a row's fields say, or None when they fit none."""
    if row.get("source") in FAMILIES:
        return row["source"]
    if "lang" in row and _response(row) is not None:
        return "oss"
    if _response(row) is not None:
        return "evol"
    if isinstance(row.get("content"), str):
        return "stack"
    return None


def prepare_seed(row: dict, index: int, *, source: str | None = None) -> Seed | SeedDrop:
    """A row as a seed, or why it is not one. `index` is the row's position from 0 (its
    default id). Raises InputError for a row that fits no family (a BAD_ROW)."""
    family = source or detect_family(row)
    if family is None:
        raise InputError(
            "fits no seed family: expected 'instruction' + 'response' (evol), 'lang' + 'problem' + "
            "'solution' (oss) or 'content' (stack)"
        )
    seed_id = str(row["id"]) if row.get("id") not in (None, "") else f"{family}_{index}"
    if family == "stack":
        content = row.get("content")
        if not isinstance(content, str):
            raise InputError("field 'content' must be a string (a stack seed)")
        code = content.strip("\n")
        if len(code) <= MIN_STACK_CHARS:
            return SeedDrop.TOO_SHORT
        return Seed(id=seed_id, source=family, instruction=None, code=code)
    instruction, response = _instruction(row), _response(row)
    if not isinstance(instruction, str) or not isinstance(response, str):
        raise InputError(f"an {family} seed needs string fields 'instruction'/'problem' and 'response'/'solution'")
    if family == "oss" and str(row.get("lang", "python")).lower() != "python":
        return SeedDrop.NOT_PYTHON
    block = first_python_block(response)
    if block is None:
        return SeedDrop.NO_CODE_BLOCK
    if family == "evol" and "def " not in block and "class " not in block:
        return SeedDrop.NO_FUNCTION
    code = drop_print_lines(block)
    if not code.strip():
        return SeedDrop.EMPTY_CODE
    return Seed(id=seed_id, source=family, instruction=instruction.strip(), code=code)


def _instruction(row: dict):
    return row.get("instruction", row.get("problem"))


def _benchmark_rows(spec: str) -> Iterator[tuple[int, dict]]:
    """`benchmark:NAME`: each problem with a reference program as an instruction + response
    row: the prompt the benchmark shows a model, and the reference in a python block."""
    from acecoder.benchmarks import load_benchmark

    name = spec.removeprefix("benchmark:")
    if name not in ("humaneval", "humaneval+", "mbpp", "mbpp+"):
        raise ConfigError(f"{spec}: seeds from a benchmark need its reference programs: humaneval(+) or mbpp(+)")
    for number, problem in enumerate(load_benchmark(name, tests=False), start=1):
        if problem.reference:
            yield number, {"id": problem.id, "source": "evol", "instruction": problem.prompt,
                           "response": f"```python\n{problem.reference.strip()}\n```"}


def _response(row: dict):
    value = row.get("response", row.get("solution"))
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------- reading


def iter_seeds(
    path: str | Path,
    *,
    source: str | None = None,
    strict: bool = False,
    drops: Counter | None = None,
    skipped: list | None = None,
    limit: int | None = None,
) -> Iterator[Seed]:
    """Seeds from any file `read_records` takes (.jsonl, .parquet, a datasets folder, hf:NAME),
    or from a benchmark's problems and reference programs, `benchmark:NAME` (e.g.
    `benchmark:mbpp+`, shipped: instruction and response seeds, the `evol` family).

    Rows that do not become seeds are counted in `drops` by SeedDrop; malformed rows
    (bad JSON, no family's fields) raise InputError when `strict`, else are counted as
    BAD_ROW and appended to `skipped` as InputErrors. Stops after `limit` seeds.
    """
    from acecoder.data.tables import _rows, check_usable  # the one row reader of every format

    if source is not None and source not in FAMILIES:
        raise ConfigError(f"source must be one of {', '.join(FAMILIES)} (or unset to detect), not {source!r}")
    drops = drops if drops is not None else Counter()
    skipped = skipped if skipped is not None else []
    skipped_before, drops_before = len(skipped), Counter(drops)
    bad_lines: list | None = None if strict else []
    seen: set[str] = set()
    made = 0
    if limit is not None and limit <= 0:
        return
    rows = _benchmark_rows(str(path)) if str(path).startswith("benchmark:") else _rows(str(path), bad_lines)
    for where, row in rows:
        while bad_lines:  # broken lines the reader passed over before this row
            skipped.append(bad_lines.pop(0))
            drops[SeedDrop.BAD_ROW] += 1
        try:
            prepared = prepare_seed(dict(row), where - 1, source=source)
        except InputError as error:
            problem = InputError(str(error), path=str(path), line=where)
            if strict:
                raise problem from None
            skipped.append(problem)
            drops[SeedDrop.BAD_ROW] += 1
            continue
        if isinstance(prepared, SeedDrop):
            drops[prepared] += 1
            continue
        if prepared.id in seen:
            drops[SeedDrop.DUPLICATE_ID] += 1
            continue
        seen.add(prepared.id)
        made += 1
        yield prepared
        if limit is not None and made >= limit:
            return
    for problem in bad_lines or ():
        skipped.append(problem)
        drops[SeedDrop.BAD_ROW] += 1
    ruled_out = {str(reason): n for reason, n in (drops - drops_before).items() if reason != SeedDrop.BAD_ROW}
    check_usable(str(path), made, skipped[skipped_before:], dropped=ruled_out)
