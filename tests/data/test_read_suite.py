"""Reading a question's tests from each published layout into one record."""

import json

import numpy as np
import pytest

from acecoder.data.suites import read_suite
from acecoder.errors import InputError
from acecoder.records import SuiteKind, SuiteRule, TestSuite

APPS = {"inputs": ["1 2\n", ["3 4", ""]], "outputs": ["3\n", ["7", ""]]}


def test_assert_lists_stay_lists_in_every_form():
    tests = ["assert f(1) == 2", "assert f(2) == 3"]
    assert read_suite(tests) == (tests, None)
    assert read_suite(json.dumps(tests)) == (tests, None)
    assert read_suite(np.array(tests, dtype=object)) == (tests, None)  # a parquet column
    assert read_suite({"tests": tests, "limits": [0.5, 1]}) == (tests, [0.5, 1.0])
    assert read_suite({"kind": "asserts", "cases": tests}) == (tests, None)


def test_apps_and_taco_layouts():
    suite, limits = read_suite(json.dumps(APPS), where="ground_truth")  # verl's JSON text
    assert suite == TestSuite(kind=SuiteKind.STDIO, cases=(("1 2\n", "3\n"), ("3 4\n", "7\n")))
    assert limits is None and suite.rule is SuiteRule.PRIME_CODE and len(suite) == 2
    call, _ = read_suite({"inputs": ["1\n2", [[1, 2], 3]], "outputs": ["3", [3]], "fn_name": "add"})
    # APPS's JSON lines as they are; TACO's argument lists written as APPS's lines
    assert call.kind is SuiteKind.CALL and call.fn_name == "add"
    assert call.cases == (("1\n2", "3"), ("[1, 2]\n3", "[3]"))
    lcb, _ = read_suite(APPS, rule="livecodebench")
    assert lcb.rule is SuiteRule.LIVECODEBENCH
    listed, _ = read_suite([{"input": "1\n", "output": "1\n", "testtype": "stdin"}])
    assert listed.rule is SuiteRule.LIVECODEBENCH and listed.cases == (("1\n", "1\n"),)


def test_kodcode_pytest_files_and_round_trips():
    code = "from solution import f\n\ndef test_f():\n    assert f() == 1\n"
    assert read_suite({"test": code})[0] == TestSuite(kind=SuiteKind.PYTEST, code=code)
    assert read_suite(code)[0] == TestSuite(kind=SuiteKind.PYTEST, code=code)  # the file as a column's text
    collected = TestSuite(kind=SuiteKind.PYTEST, code=code, cases=("test_f",))
    stdio, _ = read_suite(APPS)
    call, _ = read_suite({**APPS, "inputs": ["1", "2"], "outputs": ["1", "2"], "fn_name": "g"})
    for suite in (collected, stdio, call):
        assert read_suite(json.dumps(suite.to_dict()))[0] == suite
    assert read_suite({"tests": stdio.to_dict(), "limits": [1, 2]}) == (stdio, [1.0, 2.0])


@pytest.mark.parametrize("value, message", [
    ("assert f(1) == 2", "is not a JSON list of tests"),
    (3, "must be a list of assert strings or a suite's object, got int"),
    ({"inputs": ["1"], "outputs": []}, "two lists of one length"),
    ({"inputs": [1], "outputs": ["1"]}, "case 0: a stdin input or output must be text"),
    ({"inputs": ["1\nx"], "outputs": ["1"], "fn_name": "f"}, "case 0"),
    ({"kind": "stdio", "cases": [["1"]]}, "pair of texts"),
    ({"kind": "call", "cases": []}, "needs `fn_name`"),
    ({"kind": "shell", "cases": []}, "'shell' is not a valid SuiteKind"),
    ({"tests": ["assert 1"], "limits": [0]}, "limits must be a positive number"),
    ({"question": "?"}, "none of the known layouts' fields"),
])
def test_bad_layouts_name_the_field_and_the_fix(value, message):
    with pytest.raises(InputError, match="ground_truth") as raised:
        read_suite(value, where="ground_truth")
    assert message in str(raised.value)
