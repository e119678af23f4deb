"""A question's tests read from the layouts datasets publish them in, as one record
(`acecoder.records.TestSuite`) with per-test limits where the data gives them.

Layouts read (each also as JSON text, as verl's `reward_model.ground_truth` carries it):

| layout | kind | who writes it |
| --- | --- | --- |
| `["assert f(1) == 2", ...]` | asserts (kept a plain list) | AceCode-87K `test_cases`, `hard-subset` |
| `{"tests": [...], "limits": [...]}` | asserts, or any suite below | `acecoder hard-subset --format verl/trl` |
| `{"inputs": ["1 2\\n"], "outputs": ["3\\n"]}` | stdio | APPS, TACO, CodeContests, PRIME Eurus-2 code, DeepCoder, Skywork-OR1 |
| the same with `"fn_name": "f"` | call | APPS/TACO call-based problems, LeetCode rows |
| `[{"input", "output", "testtype"}]` | stdio or call, LiveCodeBench rule | LiveCodeBench `*_test_cases` |
| `{"test": "from solution import f ..."}` or pytest text | pytest | KodCode `test` |
| `{"kind": ..., "cases": ...}` | any | `TestSuite.to_dict()` |

In the APPS/TACO layout an input or output may be a list of lines (joined with newlines,
as APPS's grader joins them); a call-based input may be a list of argument values
(TACO), written here as APPS's JSON lines, one argument per line.
"""

from __future__ import annotations

import dataclasses
import json

from acecoder.errors import InputError
from acecoder.records import SuiteKind, SuiteRule, TestSuite

Tests = list[str] | TestSuite


def read_suite(value, *, where: str = "tests", rule: SuiteRule | str | None = None) -> tuple[Tests, list[float] | None]:
    """(tests, seconds per test or None) from a column value in any layout above: a plain
    list for assert tests, else a TestSuite. `rule`: whose grader judges stdio and call
    suites (default: prime_code's; LiveCodeBench's for its own layout)."""
    value = _decoded(value, where)
    limits = None
    if isinstance(value, dict) and "tests" in value and "inputs" not in value:
        value, limits = _decoded(value["tests"], where), value.get("limits")
    tests = _tests(value, where, None if rule is None else SuiteRule(rule))
    return tests, _limits(limits, len(tests), where)


def _decoded(value, where: str):
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("[", "{")) and "def test" in text:  # a pytest file as it is (KodCode's `test`)
            return {"kind": "pytest", "code": value}
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"{where} is not a JSON list of tests or a suite's JSON object, nor a pytest file "
                             f"({error.msg} at character {error.pos})") from None
    if hasattr(value, "tolist"):  # a numpy array from a parquet column
        return value.tolist()
    return value


def _tests(value, where: str, rule: SuiteRule | None) -> Tests:
    if isinstance(value, TestSuite):  # read already ({"tests": suite, "limits": ...}, as TRL's adapter pairs them)
        return list(value.cases) if value.kind is SuiteKind.ASSERTS else value
    if isinstance(value, (list, tuple)):
        if all(isinstance(t, str) for t in value):
            return list(value)
        if value and all(isinstance(t, dict) and "input" in t and "testtype" in t for t in value):
            return _livecodebench(value, where)
        raise InputError(f"{where} must be a list of assert strings or a suite's object, got a list of "
                         f"{', '.join(sorted({type(t).__name__ for t in value}))}")
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a list of assert strings or a suite's object, got {type(value).__name__}")
    if "kind" in value:
        return _record(value, where)
    if "inputs" in value and "outputs" in value:
        return _apps(value, where, rule or SuiteRule.PRIME_CODE)
    if isinstance(value.get("test"), str):  # KodCode's row (or its test column as an object)
        return TestSuite(kind=SuiteKind.PYTEST, code=value["test"])
    raise InputError(f"{where}: an object with none of the known layouts' fields (tests, inputs and outputs, "
                     f"test, kind); it has {', '.join(sorted(map(str, value))) or 'none'}")


def _apps(value: dict, where: str, rule: SuiteRule) -> TestSuite:
    inputs, outputs, fn_name = value["inputs"], value["outputs"], value.get("fn_name")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise InputError(f"{where}: inputs and outputs must be two lists of one length")
    if fn_name is not None and not isinstance(fn_name, str):
        raise InputError(f"{where}: fn_name must be a function's name, got {fn_name!r}")
    cases = []
    for i, (given, expected) in enumerate(zip(inputs, outputs)):
        try:
            cases.append(_call_case(given, expected) if fn_name else (_text(given), _text(expected)))
        except (TypeError, ValueError) as error:
            raise InputError(f"{where}: case {i}: {error}") from None
    kind = SuiteKind.CALL if fn_name else SuiteKind.STDIO
    return TestSuite(kind=kind, cases=tuple(cases), fn_name=fn_name or None, rule=rule)


def _text(part) -> str:
    """An APPS input or output: text, or a list of lines."""
    if isinstance(part, str):
        return part
    if isinstance(part, list) and all(isinstance(line, str) for line in part):
        return "\n".join(part)
    raise TypeError(f"a stdin input or output must be text or a list of lines, got {type(part).__name__}")


def _call_case(given, expected) -> tuple[str, str]:
    """(argument JSON lines, expected JSON) of a call case: APPS gives both as text, TACO
    gives the arguments as a list of values and the output as a value."""
    arguments = given if isinstance(given, str) else "\n".join(json.dumps(a) for a in given)
    answer = expected if isinstance(expected, str) else json.dumps(expected)
    for line in arguments.split("\n"):
        json.loads(line)  # ValueError for a case that is not JSON lines
    json.loads(answer)
    return arguments, answer


def _livecodebench(cases: list, where: str) -> TestSuite:
    functional = cases[0].get("testtype") == "functional"
    pairs = tuple((str(c["input"]), str(c["output"])) for c in cases)
    if functional:
        raise InputError(f"{where}: LiveCodeBench's functional cases need the function's name: give "
                         "{\"inputs\": [...], \"outputs\": [...], \"fn_name\": ...} with rule livecodebench")
    return TestSuite(kind=SuiteKind.STDIO, cases=pairs, rule=SuiteRule.LIVECODEBENCH)


def _record(value: dict, where: str) -> Tests:
    try:
        kind = SuiteKind(value["kind"])
        rule = SuiteRule(value.get("rule", SuiteRule.PRIME_CODE))
    except ValueError as error:
        raise InputError(f"{where}: {error}") from None
    cases = value.get("cases") or []
    if kind is SuiteKind.ASSERTS:
        return _tests(list(cases), where, None)
    if kind is SuiteKind.PYTEST:
        if not isinstance(value.get("code"), str):
            raise InputError(f"{where}: a pytest suite needs its test file in `code`")
        return TestSuite(kind=kind, code=value["code"], cases=tuple(str(c) for c in cases))
    if kind is SuiteKind.CALL and not isinstance(value.get("fn_name"), str):
        raise InputError(f"{where}: a call suite needs `fn_name`")
    if not all(isinstance(c, (list, tuple)) and len(c) == 2 and all(isinstance(p, str) for p in c) for c in cases):
        raise InputError(f"{where}: each case of a {kind} suite is a pair of texts [input, expected]")
    return TestSuite(kind=kind, cases=tuple(tuple(c) for c in cases), fn_name=value.get("fn_name"), rule=rule)


def _limits(limits, n: int, where: str) -> list[float] | None:
    if hasattr(limits, "tolist"):
        limits = limits.tolist()
    if limits is None:
        return None
    if not isinstance(limits, (list, tuple)) or len(limits) != n or \
            not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in limits):
        raise InputError(f"{where}: limits must be a positive number of seconds for each of its {n} tests")
    return [float(t) for t in limits]


def subset(tests: Tests, indices: list[int]) -> Tests:
    """The cases at `indices`, in that order, of the same kind: what a filter keeps. A pytest
    suite must have its ids (`Engine.collect`): a file alone has no cases to choose from."""
    if isinstance(tests, list):
        return [tests[i] for i in indices]
    if tests.kind is SuiteKind.PYTEST and not tests.cases and indices:
        raise ValueError("a pytest suite's cases are its collected ids: collect them first")
    return dataclasses.replace(tests, cases=tuple(tests.cases[i] for i in indices))


def as_column(tests: Tests) -> list[str] | dict:
    """Tests as a record's column holds them (`Question.tests`, `DatasetRow.test_cases`):
    asserts as their list, a suite of another kind as `TestSuite.to_dict()`; `read_suite`
    reads either back."""
    return list(tests) if isinstance(tests, list) else tests.to_dict()
