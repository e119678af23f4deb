"""Expected values from the seed's program (acecoder.synth.expected), run in the engine."""

import ast

import pytest

from acecoder.execution import Engine
from acecoder.synth.expected import literal_source, with_expected_from

PROGRAM = """
def f(x):
    if x == 'boom':
        raise ValueError(x)
    if x == 'loop':
        while True:
            pass
    return {'int': 3, 'tuple': (1, 'a'), 'set': {2, 1}, 'dict': {'k': [1.5]}, 'inf': float('inf'),
            'none': None, 'obj': object(), 'one': (7,)}.get(x, x)
"""


@pytest.fixture(scope="module")
def engine():
    with Engine(workers=1, timeout=1.0) as shared:
        yield shared


def test_failed_asserts_take_the_programs_value_and_the_rest_stay(engine):
    tests = [
        "assert f('int') == 3",  # passes: unchanged
        "assert f('int') == 4",  # wrong: rewritten
        "assert f('tuple') == [1, 'a']",
        "x = 'set'\nassert f(x) == {9}",  # set-up statements stay
        "assert f('dict') == {}",
        "assert f('none') == 0",
        "assert f('one') == 7",
        "assert f('inf') == 1.0",  # no literal for inf: left for the filter
        "assert f('obj') == 1",  # an object the engine cannot compare: an error, dropped
        "assert f('int') > 5",  # not an equality: left
        "assert f('boom') == 1",  # the program raises: dropped
        "assert f('loop') == 1",  # times out: dropped
    ]
    fixed, counts = with_expected_from(PROGRAM, tests, engine)
    assert counts == {"rewritten": 6, "dropped": 3}
    assert fixed == [
        "assert f('int') == 3",
        "assert f('int') == 3",
        "assert f('tuple') == (1, 'a')",
        "x = 'set'\nassert f(x) == {1, 2}",
        "assert f('dict') == {'k': [1.5]}",
        "assert f('none') == None",
        "assert f('one') == (7,)",
        "assert f('inf') == 1.0",
        "assert f('int') > 5",
    ]
    again, counts = with_expected_from(PROGRAM, fixed, engine)
    assert counts["rewritten"] == 0 and again == fixed  # the program now passes every rewritten test


@pytest.mark.parametrize("value", [0, -1, 2**80, "a'b\"", b"\x00", 1.5, -0.0, 1 + 2j, True, None, [], (), (1,),
                                   {"a": (1, [2])}, frozenset({1, 2})])
def test_literal_source_reads_back_equal(value):
    source = literal_source(value)
    assert ast.literal_eval(source) == value and type(ast.literal_eval(source)) in (type(value), set)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), frozenset(), range(3), [object()]])
def test_values_without_a_literal(value):
    assert literal_source(value) is None
