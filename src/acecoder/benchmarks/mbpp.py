"""MBPP and MBPP+ (EvalPlus): write a Python function from one sentence and an example.

- `mbpp`: the original release (`mbpp.jsonl`, or the hub's `mbpp` (full)): `task_id`
  (int), `text`, `code`, `test_list` (3 asserts), `test_setup_code`,
  `challenge_test_list`. `split="test"` keeps task ids 11-510 (the 500 problems
  papers report), "all" keeps every row.
- `mbpp+`: the hub's `evalplus/mbppplus` (or a file in its layout): `task_id` (2, or
  "Mbpp/2"), `prompt` (the sentence and one assert in a docstring), `code`,
  `entry_point`, `test` (a flat suite over the extended inputs). EvalPlus's release
  files (`MbppPlus-v0.2.0.jsonl.gz`: `base_input`/`plus_input`, no `test`) are refused
  with the reason: acecoder does not judge their inputs yet.

The model sees the sentence and the first assert, so that it knows the function's
name and signature (as EvalPlus's prompt). Ids are "Mbpp/<task_id>" for both, so one
samples file serves both. Time limit: 3 s per test.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from acecoder.benchmarks._common import check_tests, field, hub_rows, read_rows, refuse_release_layout
from acecoder.errors import ConfigError, InputError
from acecoder.records import Problem

TIMEOUT = 3.0  # seconds per test
TEST_RANGE = range(11, 511)  # the test split of the original release
CHAT_PROMPT = "{text}\n\nYour code should pass this test:\n\n{test}"


def load(name: str, *, path: str | Path | None = None, timeout: float = TIMEOUT, split: str = "test") -> list[Problem]:
    """The problems of `mbpp` or `mbpp+`, in the file's order."""
    if split not in ("test", "all"):
        raise ConfigError(f"split is {split!r}: give 'test' (task ids 11-510) or 'all'")
    if path is not None:
        rows, source = read_rows(path), str(path)
    elif name == "mbpp":
        rows = hub_rows("mbpp", "test", config="full", hint="mbpp.jsonl from google-research/mbpp")
        source = "hf:mbpp"
    else:
        rows = hub_rows("evalplus/mbppplus", "test", hint="a file in the layout of the hub's evalplus/mbppplus")
        source = "hf:evalplus/mbppplus"
    problems = []
    for line, row in rows:
        problem = _plus(row, source, line, timeout) if name == "mbpp+" else _original(row, source, line, timeout)
        if name == "mbpp" and split == "test" and int(problem.id.split("/")[1]) not in TEST_RANGE:
            continue
        problems.append(problem)
    return problems


def _original(row: dict, source, line: int, timeout: float) -> Problem:
    task = row.get("task_id")
    if not isinstance(task, int):
        raise InputError("field 'task_id' is not an integer", path=str(source), line=line)
    tests = list(field(row, "test_list", source, line, kind=list))
    if not tests or not all(isinstance(t, str) for t in tests):
        raise InputError("field 'test_list' holds no assert strings", path=str(source), line=line)
    setup = row.get("test_setup_code") or ""
    entry = called_name(tests[0])
    return Problem(
        id=f"Mbpp/{task}",
        benchmark="mbpp",
        prompt=CHAT_PROMPT.format(text=field(row, "text", source, line).strip(), test=tests[0]),
        tests=[f"{setup}\n{t}" if setup.strip() else t for t in tests],
        entry_point=entry,
        reference=row.get("code"),
        timeout=timeout,
        metadata={"challenge_tests": row.get("challenge_test_list") or []},
    )


def _plus(row: dict, source, line: int, timeout: float) -> Problem:
    refuse_release_layout(row, source, line, hub="hf:evalplus/mbppplus")
    entry = field(row, "entry_point", source, line)
    prompt = field(row, "prompt", source, line).strip().strip('"').strip()
    base = row.get("test_list") or []
    task = row.get("task_id")
    return Problem(
        id=f"Mbpp/{task}" if isinstance(task, int) else field(row, "task_id", source, line),  # the hub's is an int
        benchmark="mbpp+",
        prompt=prompt if base == [] or base[0] in prompt else CHAT_PROMPT.format(text=prompt, test=base[0]),
        tests=check_tests(field(row, "test", source, line), entry),
        entry_point=entry,
        reference=row.get("code"),
        timeout=timeout,
    )


def called_name(test: str) -> str | None:
    """The first function an assert calls: MBPP's entry point (`assert f(1) == 2` -> "f")."""
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        # `set(f(x)) == {...}` tests f, not set
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
            return node.func.id
    return None
