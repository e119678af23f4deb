"""MBPP and MBPP+ (EvalPlus): write a Python function from one sentence and an example.

- `mbpp`: the original release (`mbpp.jsonl`, or the hub's `mbpp` (full)): `task_id`
  (int), `text`, `code`, `test_list` (3 asserts), `test_setup_code`,
  `challenge_test_list`. `split="test"` keeps task ids 11-510 (the 500 problems
  papers report), "all" keeps every row.
- `mbpp+` from EvalPlus's release file (`MbppPlus-v0.2.0.jsonl.gz`, or any file in
  its layout: `task_id` "Mbpp/2", `prompt` (the sentence in a docstring), `entry_point`,
  `canonical_solution`, `base_input`, `plus_input`, `atol`, `assertion` (the original
  asserts)): judged as EvalPlus judges it (`_evalplus.py`), with two verdicts per
  sample, `mbpp+` (every input) and `mbpp+/base` (the original inputs only: EvalPlus's
  "base tests", not the 500-task `mbpp`). Without `path`, the copy shipped with
  acecoder: 396 tasks of the EvalPlus repository's late-2023 MBPP+ (`data/NOTICE.md`);
  published MBPP+ numbers use v0.2.0, 378 tasks. eval.json names the file judged.
- `mbpp+` from the hub's `evalplus/mbppplus` (or a file in its layout: `task_id` 2,
  `prompt`, `code`, `entry_point`, `test` (a flat suite over the extended inputs), no
  `base_input`): that suite as one test in the sandbox (3 s).

The model sees the sentence and the first assert, so that it knows the function's
name and signature (as EvalPlus's prompt). Ids are "Mbpp/<task_id>" for both, so one
samples file serves both. Time limit: 3 s per test, or EvalPlus's own per input.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from acecoder.benchmarks import _evalplus
from acecoder.benchmarks._common import check_tests, field, hub_rows, read_rows
from acecoder.errors import ConfigError, InputError
from acecoder.records import Problem

TIMEOUT = 3.0  # seconds per test
SHIPPED_PLUS = Path(__file__).with_name("data") / "MbppPlus-v0.1.0-era.jsonl.gz"
TEST_RANGE = range(11, 511)  # the test split of the original release
CHAT_PROMPT = "{text}\n\nYour code should pass this test:\n\n{test}"


def load(name: str, *, path: str | Path | None = None, timeout: float = TIMEOUT, split: str = "test",
         tests: bool = True) -> list[Problem]:
    """The problems of `mbpp` or `mbpp+`, in the file's order; `tests=False`: prompts and
    references only (seeds), without running the references for EvalPlus's expected outputs."""
    if split not in ("test", "all"):
        raise ConfigError(f"split is {split!r}: give 'test' (task ids 11-510) or 'all'")
    if path is not None:
        rows, source = read_rows(path), str(path)
    elif name == "mbpp":
        rows = hub_rows("mbpp", "test", config="full", hint="mbpp.jsonl from google-research/mbpp")
        source = "hf:mbpp"
    else:
        path = source = SHIPPED_PLUS
        rows = read_rows(path)
    rows = list(rows)
    judged = None
    if name == "mbpp+" and rows and _evalplus.is_release_row(rows[0][1]):
        judged = _evalplus.suites(source, rows, dataset="mbpp") if tests else ({}, None)
    problems = []
    for line, row in rows:
        if judged is not None:
            problem = _plus_release(row, source, line, timeout, *judged)
        elif name == "mbpp+":
            problem = _plus(row, source, line, timeout)
        else:
            problem = _original(row, source, line, timeout)
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


def _plus_release(row: dict, source, line: int, timeout: float, suites: dict, dataset: dict) -> Problem:
    task_id = field(row, "task_id", source, line)
    text = field(row, "prompt", source, line).strip().strip("'\"").strip()
    first = next((s.strip() for s in (row.get("assertion") or "").splitlines() if s.strip().startswith("assert")), None)
    suite = suites.get(task_id)  # None when loaded without tests
    return Problem(
        id=task_id,
        benchmark="mbpp+",
        prompt=CHAT_PROMPT.format(text=text, test=first) if first else text,
        tests=suite.tests if suite else [],
        entry_point=field(row, "entry_point", source, line),
        reference=row["prompt"] + row["canonical_solution"],
        timeout=timeout,
        limits=suite.limits if suite else None,
        metadata={"base_tests": suite.base, "stop_at_timeout": True, "dataset": dataset} if suite else {},
    )


def _plus(row: dict, source, line: int, timeout: float) -> Problem:
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
