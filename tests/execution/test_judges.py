"""The engine-side judges (`acecoder.execution._judges`): our `allclose` is numpy's, and
`__evalplus__` tests are judged out of the program's reach."""

import json
import math

import numpy as np
import pytest

from acecoder.execution import Engine, ExecutionJob, TestOutcome
from acecoder.execution._judges import allclose, evalplus

CASES = [
    (1.0, 1.0 + 1e-7), (1.0, 1.0 + 1e-5), (0.0, 1e-7), (1e9, 1e9 + 50), (1e9, 1e9 + 500), (3, 3.0000001),
    (True, 1), (False, 1e-7), ([1.0, 2.0], [1.0, 2.0000001]), ([1.0, 2.0], [1.0, 2.1]), ([[1.0]], [[1.0, 1.0]]),
    ([[1.0, 1.0]], [[1.0]]), ([[1.0, 2.0]], [[1.0], [2.0]]), ([], []), ([[]], [[]]), ([1, [2]], [1, [2]]),
    (math.inf, math.inf), (math.inf, -math.inf), (math.nan, math.nan), ([math.inf, 1.0], [math.inf, 1.0]),
    (1 + 2j, 1 + 2.0000001j), ((1.0, 2.0), (1.0, 2.0)), (["a"], ["a"]), ([None], [None]), ({"a": 1}, {"a": 1}),
    (2**70, 2**70), ([1.0, 2.0, 3.0], [1.0, 2.0]), (5, [5, 5.0000001]),
]


@pytest.mark.parametrize("a, b", CASES)
def test_allclose_is_numpys(a, b):
    try:
        expected = bool(np.allclose(a, b, rtol=1e-07, atol=1e-6))
    except Exception:  # noqa: BLE001  numpy raises: EvalPlus counts that as a failed input
        expected = False
    assert allclose(a, b, rtol=1e-07, atol=1e-6) is expected


def test_evalplus_special_oracles():
    enc = json.dumps
    assert evalplus([3, 1, 2], enc({"~t": [1, 2, 3]}), 0, "set", "null")  # compared as sets
    assert not evalplus([3, 1], enc({"~t": [1, 2, 3]}), 0, "set", "null")
    assert evalplus(0, enc(5), 0, "zero", "null") and evalplus("anything", enc(5), 0, "always", "null")
    assert evalplus("a match", enc(True), 0, "not_none", "null") and not evalplus(None, enc(True), 0, "not_none", "null")
    assert evalplus(False, enc(False), 0, "not_none", "null")  # a bool output is compared as it is
    assert evalplus(-5.0, enc(None), 1e-6, "poly", enc([[10, 2]]))  # 10 + 2x = 0 at x = -5
    assert not evalplus(-4.0, enc(None), 1e-6, "poly", enc([[10, 2]]))
    assert evalplus(1.0000001, enc(1.0), 1e-6, "", "null") and not evalplus(1, enc(1.0000001), 1e-6, "", "null")


def test_expected_values_stay_out_of_the_sandbox():
    """A program that fakes equality or reads the test's literals still fails."""
    forging = ("class Always:\n    def __eq__(self, other):\n        return True\n"
               "def f(x):\n    import sys\n    return Always()\n")
    tests = [f"assert __evalplus__(f(*[1]), {json.dumps(json.dumps([1]))}, 0, '', 'null')"]
    with Engine(workers=1) as engine:
        [result] = engine.run([ExecutionJob(id="x", program=forging, tests=tests)])
    assert result.outcomes == [TestOutcome.FAIL]
