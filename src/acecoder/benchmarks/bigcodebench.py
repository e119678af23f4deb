"""BigCodeBench: practical tasks that call libraries (pandas, numpy, requests, ...),
each tested by a unittest class.

Format: the release (`bigcode/bigcodebench`, split "v0.1.4"; the hard subset
`bigcode/bigcodebench-hard`): `task_id` ("BigCodeBench/0"), `complete_prompt` (imports,
signature and docstring), `instruct_prompt` (the task in prose), `code_prompt` (the
imports and signature), `canonical_solution`, `test` (a module defining
`class TestCases(unittest.TestCase)`), `entry_point` ("task_func"), `libs`.

Names: `bigcodebench-complete`, `bigcodebench-instruct` (the full set, 1,140 tasks)
and `bigcodebench-hard-complete`, `bigcodebench-hard-instruct` (148 tasks). With a
local file, pass the file of the subset the name says.

Tests: one per task. It runs the test module in the program's namespace, runs
`TestCases` with unittest, and asserts that the list of failed test names is empty,
a comparison the engine judges on the returned list. A task is solved when every
test method passes (BigCodeBench's rule). A program that defines `task_func` itself
runs after the whole `code_prompt` and a `pass` body, as BigCodeBench's default
"calibrated" evaluation runs it (`code_prompt + "\n    pass\n" + solution`): the
prompt's module-level constants and imports stay defined. Time limit: 240 s per task, BigCodeBench's
default; tasks need their libraries installed where the sandbox can import them.
"""

from __future__ import annotations

from pathlib import Path

from acecoder.benchmarks._common import field, hub_rows, read_rows
from acecoder.records import Problem

TIMEOUT = 240.0  # seconds for the whole unittest class
NAMES = ("bigcodebench-complete", "bigcodebench-instruct", "bigcodebench-hard-complete", "bigcodebench-hard-instruct")
COMPLETE_PROMPT = "Complete the following Python function in one code block:\n\n```python\n{code}```"

RUNNER = """
import io as __acecoder_io
import unittest as __acecoder_unittest
__acecoder_result__ = __acecoder_unittest.TextTestRunner(stream=__acecoder_io.StringIO(), verbosity=0).run(
    __acecoder_unittest.TestLoader().loadTestsFromTestCase(TestCases)
)
__acecoder_failed__ = sorted(
    test.id().rsplit(".", 1)[-1] for test, _ in __acecoder_result__.failures + __acecoder_result__.errors
)
assert __acecoder_failed__ == []
"""


def load(name: str, *, path: str | Path | None = None, timeout: float = TIMEOUT) -> list[Problem]:
    """The tasks of one of `NAMES`, in the file's order."""
    hard = "-hard-" in name
    instruct = name.endswith("instruct")
    if path is not None:
        rows, source = read_rows(path), str(path)
    else:
        dataset = "bigcode/bigcodebench-hard" if hard else "bigcode/bigcodebench"
        rows = hub_rows(dataset, "v0.1.4", hint=f"a parquet or JSONL file of {dataset}")
        source = f"hf:{dataset}"
    problems = []
    for line, row in rows:
        code_prompt = field(row, "code_prompt", source, line)
        prompt = (
            field(row, "instruct_prompt", source, line)
            if instruct
            else COMPLETE_PROMPT.format(code=field(row, "complete_prompt", source, line))
        )
        problems.append(
            Problem(
                id=field(row, "task_id", source, line),
                benchmark=name,
                prompt=prompt,
                tests=[field(row, "test", source, line) + RUNNER],
                entry_point=row.get("entry_point") or "task_func",
                reference=code_prompt + row["canonical_solution"] if row.get("canonical_solution") else None,
                timeout=timeout,
                metadata={"code_prompt": code_prompt, "libs": row.get("libs"), "calibrated": True},
            )
        )
    return problems
