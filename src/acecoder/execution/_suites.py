"""Test suites of every kind, turned into what the engine runs: a program and check tests.

The sandbox only knows assert-style tests (`_plan.py`). A stdio, call or pytest suite
becomes, per job, a harness program (the model's program inside it) and one test per
case, so every case keeps its own verdict, time limit and CPU seconds:

- stdio, prime_code rule: `assert __prime_stdio__(__acecoder_stdio__(STDIN), EXPECTED)`;
- call, prime_code rule: `assert __prime_call__(__acecoder_call__(ARGUMENT_LINES), EXPECTED_JSON)`;
  the sandbox runs the program on the case and sends back its stdout or return value;
  the engine compares (`_graders.py`), so the expected output never enters the sandbox;
- stdio and call, LiveCodeBench rule: LiveCodeBench's harness and comparison
  (`acecoder.benchmarks.livecodebench`, issue 15), the same tests `eval` runs;
- pytest: `assert __acecoder_pytest__(TEST_ID)`, pytest running inside the sandbox
  (`_harness_pytest.py`); `assert __pytest_checks__(__acecoder_pytest__(TEST_ID), CHECKS)`
  where the test's comparisons with literals were moved out of the file (`_pytest_checks.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from acecoder.execution import _pytest_checks
from acecoder.records import ExecutionJob, SuiteKind, SuiteRule, TestSuite

HERE = Path(__file__).parent


@functools.cache
def _harness(name: str) -> str:
    return (HERE / name).read_text()


def lower(job: ExecutionJob) -> ExecutionJob:
    """The assert-style job that runs `job` (whose tests are a TestSuite) as its kind says."""
    suite = job.tests
    program, tests = _program(suite, job.program), _tests(suite)
    return dataclasses.replace(job, program=program, tests=list(tests))


def _program(suite: TestSuite, program: str) -> str:
    if suite.kind is SuiteKind.ASSERTS:
        return program
    if suite.kind is SuiteKind.PYTEST:
        code, _ = _pytest_checks.split(suite.code)
        return f"{program}\n\n{_harness('_harness_pytest.py')}\n__ACECODER_TEST_FILE__ = {code!r}\n"
    if suite.rule is SuiteRule.LIVECODEBENCH:
        from acecoder.benchmarks import livecodebench

        if suite.kind is SuiteKind.STDIO:
            return livecodebench.stdio_harness(program)
        return livecodebench.functional_program(program)
    fn_name = suite.fn_name if suite.kind is SuiteKind.CALL else None
    loaded = (program, fn_name)
    return f"{_harness('_harness_prime.py')}\n__acecoder_loaded__ = {loaded!r}\n" \
           "__acecoder_method__ = __acecoder_load__(*__acecoder_loaded__)\n"


@functools.lru_cache(maxsize=1024)
def _tests(suite: TestSuite) -> tuple[str, ...]:
    """The check tests of a suite (shared by every program of its question)."""
    if suite.kind is SuiteKind.ASSERTS:
        return tuple(suite.cases)
    if suite.kind is SuiteKind.PYTEST:
        _, checks = _pytest_checks.split(suite.code)
        return tuple(_pytest_test(case, checks.get(_pytest_checks.key_of(case))) for case in suite.cases)
    if suite.rule is SuiteRule.LIVECODEBENCH:
        from acecoder.benchmarks import livecodebench

        if suite.kind is SuiteKind.STDIO:
            return tuple(livecodebench.stdio_test(i, o) for i, o in suite.cases)
        return tuple(livecodebench.functional_test(suite.fn_name, i, o) for i, o in suite.cases)
    if suite.kind is SuiteKind.STDIO:
        return tuple(f"assert __prime_stdio__(__acecoder_stdio__({i!r}), {o!r})" for i, o in suite.cases)
    return tuple(f"assert __prime_call__(__acecoder_call__({i!r}), {o!r})" for i, o in suite.cases)


def _pytest_test(case: str, checks: tuple | None) -> str:
    if not checks:
        return f"assert __acecoder_pytest__({case!r})"
    literal = ", ".join(f"({symbol!r}, {source}, {left})" for symbol, source, left in checks)
    return f"assert __pytest_checks__(__acecoder_pytest__({case!r}), ({literal},))"


def collection_job(suite: TestSuite, *, id: str = "collect") -> ExecutionJob:
    """The job whose one captured value is the list of test ids pytest collects from the
    suite's file, run on a stand-in `solution` module in which every name exists."""
    stand_in = "class __AcecoderAny:\n    def __call__(self, *a, **k):\n        return self\n\n" \
               "def __getattr__(name):\n    return __AcecoderAny()\n"
    code, _ = _pytest_checks.split(suite.code)
    program = f"{stand_in}\n{_harness('_harness_pytest.py')}\n__ACECODER_TEST_FILE__ = {code!r}\n"
    return ExecutionJob(id=id, program=program, tests=["assert __acecoder_pytest_ids__() == []"], capture=True)


def cache_identity(suite: TestSuite) -> list | str:
    """What the verdict cache keys a suite by: an assert suite as its list of tests (the key
    of the same tests given as a list), any other kind as its plain data."""
    if suite.kind is SuiteKind.ASSERTS:
        return list(suite.cases)
    return json.dumps(suite.to_dict(), ensure_ascii=False, sort_keys=True)
