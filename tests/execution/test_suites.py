"""Suites of every kind through the engine: one verdict and one limit per case, the
comparisons of prime_code made outside the sandbox, pytest inside it, cache keys."""

import pytest

from acecoder.execution import Engine, ExecutionJob, ProgramStatus, TestOutcome, VerdictCache
from acecoder.execution._graders import prime_call, prime_stdio
from acecoder.execution.ray import _unwire, _wire
from acecoder.records import SuiteKind, SuiteRule, TestSuite

P, F, E, T, N = TestOutcome.PASS, TestOutcome.FAIL, TestOutcome.ERROR, TestOutcome.TIMEOUT, TestOutcome.NOT_RUN
STDIO = TestSuite(kind=SuiteKind.STDIO, cases=(("1 2\n", "3\n"), ("2 2\n", "4\n"), ("9 9\n", "18\n")))
SUM = "a, b = map(int, input().split())\n"


@pytest.fixture(scope="module")
def engine():
    with Engine(workers=2, timeout=2.0) as shared:
        yield shared


@pytest.mark.parametrize("out, expected, same", [
    ("3\n", "3\n", True),
    ("3", "3\n", True),  # no final newline
    ("3  \n\n\n", "3\n", True),  # trailing spaces and blank lines
    ("a\n\nb\n", "a\nb\n", True),  # a blank line inside: dropped on both sides
    (" a\nb \n", "a\nb\n", True),  # each line stripped
    ("1 2\n", "1  2\n", False),  # spaces inside a line count
    ("YES\n", "Yes\n", False),  # so does letter case
    ("3.0000001\n", "3\n", True),  # one number per line: close within rtol 1e-5
    ("3.001\n", "3\n", False),
    ("01\n", "1\n", False),  # digit strings on both sides compare as text
    ("-1.0\n", "-1\n", True),  # '-1' is no digit string: compared as numbers
    ("1.0 2.0\n", "1 2\n", False),  # two numbers on a line are not compared as numbers
    ("inf\n", "inf\n", True),
    ("nan\n", "nan\n", True),  # equal as text, before any number is read
    ("nan\n", "NaN\n", False),  # NaN is close to nothing
    ("", "", True),
    (None, "3\n", False),  # not text: an opaque result
])
def test_prime_stdio_comparison_by_hand(out, expected, same):
    assert prime_stdio(out, expected) is same


@pytest.mark.parametrize("out, expected, same", [
    (3, "3", True), (3.0, "3", True), (True, "1", True), ((1, 2), "[1, 2]", True), ([1, [2]], "[1, [2]]", True),
    ([(0, 1)], "[[0, 1]]", False),  # tuples inside: compared with expected[0] only
    ([0, 1], "[[0, 1]]", True),  # the return equal to expected[0]
    ({0: 1}, '{"0": 1}', True),  # int-like keys: APPS's fix
    ({"0": 1}, '{"0": 1}', False),
    (0.1 + 0.2, "0.3", False),  # no tolerance for calls
    ("3", "3", False),
])
def test_prime_call_comparison_by_hand(out, expected, same):
    assert prime_call(out, expected) is same


def test_each_kind_gives_one_verdict_per_case(engine):
    call = TestSuite(kind=SuiteKind.CALL, fn_name="add", cases=(("1\n2", "3"), ("2\n2", "4"), ("9\n9", "18")))
    tests = TestSuite(kind=SuiteKind.PYTEST, code=(
        "import pytest\nfrom solution import add\n\n@pytest.mark.parametrize('a, b', [(1, 2), (2, 2), (9, 9)])\n"
        "def test_add(a, b):\n    assert add(a, b) == a + b\n"))
    wrong_on_2 = "def add(a, b):\n    return a + b if a != 2 else 0"
    results = engine.run([
        ExecutionJob(id="stdio", program=SUM + "print(a + b if a != 2 else 0)", tests=STDIO),
        ExecutionJob(id="call", program=wrong_on_2, tests=call),
        ExecutionJob(id="solution", program="class Solution:\n    def add(self, a, b):\n        return a + b", tests=call),
        ExecutionJob(id="pytest", program=wrong_on_2, tests=tests),
        ExecutionJob(id="lcb", program=SUM + "print(a + b if a != 2 else 0)",
                     tests=TestSuite(kind=SuiteKind.STDIO, cases=STDIO.cases, rule=SuiteRule.LIVECODEBENCH)),
    ])
    assert [r.outcomes for r in results] == [[P, F, P], [P, F, P], [P, P, P], [P, F, P], [P, F, P]]
    assert all(r.status is ProgramStatus.OK and len(r.test_cpu_seconds) == 3 for r in results)


def test_each_case_has_its_own_limit(engine):
    slow_on_9 = SUM + "if a == 9:\n    while True:\n        pass\nprint(a + b)"
    [result] = engine.run([ExecutionJob(id="slow", program=slow_on_9, tests=STDIO, limits=[0.2, 0.2, 0.3])])
    assert result.outcomes == [P, P, T]
    assert 0.25 <= result.test_cpu_seconds[2] < 1.0 and max(result.test_cpu_seconds[:2]) < 0.1


def test_an_int_stop_leaves_only_the_later_cases_unrun(engine):
    many = TestSuite(kind=SuiteKind.STDIO, cases=tuple((f"{i}\n", f"{i}\n") for i in range(6)))
    loops_on_1_and_4 = "n = int(input())\nwhile n in (1, 4):\n    pass\nprint(n)"
    stopped, full = engine.run([
        ExecutionJob(id="stop", program=loops_on_1_and_4, tests=many, limits=[0.2] * 6, stop_at_timeout=3),
        ExecutionJob(id="all", program=loops_on_1_and_4, tests=many, limits=[0.2] * 6),
    ])
    assert stopped.outcomes == [P, T, P, N, N, N]  # after the timeout, only the cases before 3 still run
    assert full.outcomes == [P, T, P, P, T, P]


def test_pytest_ids_are_collected_in_the_sandbox(engine):
    code = ("import pytest\nfrom solution import f\n\nCASES = [1, 'a']\n\n@pytest.mark.parametrize('x', CASES)\n"
            "def test_p(x):\n    assert f(x) == x\n\nclass TestC:\n    def test_m(self):\n        assert f(0) == 0\n")
    suite = engine.collect(TestSuite(kind=SuiteKind.PYTEST, code=code))
    assert suite.cases == ("test_p[1]", "test_p[a]", "TestC::test_m")
    assert engine.collect(TestSuite(kind=SuiteKind.PYTEST, code="def test_x(:\n    pass\n")).cases == ()


def test_cache_keys_of_assert_suites_are_those_of_their_lists(tmp_path):
    conditions = VerdictCache.conditions({"timeout": 1.0})
    tests = ["assert f() == 1"]
    as_list = ExecutionJob(id="a", program="def f():\n    return 1", tests=tests)
    as_suite = ExecutionJob(id="a", program=as_list.program, tests=TestSuite(kind=SuiteKind.ASSERTS, cases=tuple(tests)))
    assert VerdictCache.key(as_list, conditions) == VerdictCache.key(as_suite, conditions)
    lcb = TestSuite(kind=SuiteKind.STDIO, cases=STDIO.cases, rule=SuiteRule.LIVECODEBENCH)
    keys = {VerdictCache.key(ExecutionJob(id="b", program=SUM, tests=t), conditions) for t in (STDIO, lcb)}
    assert len(keys) == 2  # the rule decides verdicts: it is in the key
    cache = VerdictCache(tmp_path / "v.sqlite")
    job = ExecutionJob(id="c", program=SUM + "print(a + b)", tests=STDIO)
    with Engine(workers=1, timeout=2.0, verdict_cache=cache) as first:
        before = first.run([job])[0]
    with Engine(workers=1, timeout=2.0, verdict_cache=cache) as second:
        again = second.run([job])[0]
        assert second.completed == 0 and again.outcomes == before.outcomes == [P, P, P]
    cache.close()


def test_a_suite_travels_to_ray_as_the_record():
    job = ExecutionJob(id="r", program="x", tests=STDIO, limits=[1.0] * 3, stop_at_timeout=10)
    assert _unwire(_wire(job)) == job


def test_which_pytest_asserts_leave_the_sandbox():
    from acecoder.execution._pytest_checks import split

    code = ("import pytest\nfrom solution import f\n\n"
            "def test_a():\n    x = 1\n    assert f(x) == [11, 12]\n    assert None is f(x)\n    assert f(x) in (13, 14)\n"
            "    assert f(x) is 1\n    assert 3 in f(x)\n    assert f(x) == f(2)\n    assert f(x) == float('inf')\n"
            "    for i in range(2):\n        assert f(i) == i\n\n"
            "class TestB:\n    def test_c(self):\n        assert -17 != f(3)\n\n"
            "@pytest.mark.parametrize('a, b', [(1, 2)])\ndef test_d(a, b):\n    assert f(a) == b\n\n"
            "def helper():\n    assert f(1) == 2\n")
    sandbox_file, checks = split(code)
    assert checks == {"test_a": (("==", "[11, 12]", False), ("is", "None", True), ("in", "(13, 14)", False)),
                      "TestB::test_c": (("!=", "-17", True),)}
    assert not any(literal in sandbox_file for literal in ("11", "13", "17"))
    assert "assert f(i) == i" in sandbox_file and "assert f(a) == b" in sandbox_file  # left as pytest runs them
    assert "assert f(1) == 2" in sandbox_file  # not a test function
    assert split("def test_a(:\n") == ("def test_a(:\n", {})  # pytest reports the syntax error


def test_livecodebench_outputs_too_long_to_come_back_are_compared_inside(engine):
    lines = [str(i) for i in range(100_000)]  # ~590 KB
    big = TestSuite(kind=SuiteKind.STDIO, rule=SuiteRule.LIVECODEBENCH,
                    cases=(("", "\n".join(lines) + "\n"), ("", "1.0\n")))
    program = "import sys\nfor i in range(100_000):\n    print(i)\n"
    (result,) = engine.run([ExecutionJob(id="big", program=program, tests=big)])
    assert result.outcomes == [P, F], result.messages
    (result,) = engine.run([ExecutionJob(id="one", program="print(1)", tests=big)])
    assert result.outcomes == [F, P], result.messages  # 1 and 1.0 equal as Decimals
