"""The engine's semantics: statuses, per-test outcomes, restarts, order, strict checks."""

import asyncio
import time

import pytest

from acecoder.execution import Engine, ExecutionJob, ProgramStatus, TestOutcome, execute

P, F, E, T, C, N = (TestOutcome.PASS, TestOutcome.FAIL, TestOutcome.ERROR, TestOutcome.TIMEOUT,
                    TestOutcome.CRASHED, TestOutcome.NOT_RUN)
ADD = "def add(a, b):\n    return a + b\n"


@pytest.fixture(scope="module")
def engine():
    with Engine(workers=2, timeout=0.5) as engine:
        yield engine


def run_one(engine, program, tests):
    return engine.run([ExecutionJob(id="x", program=program, tests=tests)])[0]


def test_pass_fail_error_and_pass_rate(engine):
    result = run_one(engine, ADD, ["assert add(1, 2) == 3", "assert add(1, 2) == 4", "assert add(1) == 1"])
    assert result.status is ProgramStatus.OK
    assert result.outcomes == [P, F, E]
    assert result.pass_rate == pytest.approx(1 / 3)
    assert result.messages[1] == "3 == 4 is false"
    assert result.messages[2].startswith("TypeError")


@pytest.mark.parametrize(
    "program, status",
    [
        ("def f(:\n", ProgramStatus.SYNTAX_ERROR),
        ("import no_such_module_anywhere\n", ProgramStatus.IMPORT_ERROR),
        ("raise ValueError('top')\n", ProgramStatus.RUNTIME_ERROR),
        ("while True:\n    pass\n", ProgramStatus.TIMEOUT),
        ("import os\nos._exit(3)\n", ProgramStatus.CRASHED),
        ("x = bytearray(1 << 40)\n", ProgramStatus.MEMORY_EXCEEDED),
    ],
)
def test_program_statuses(engine, program, status):
    result = run_one(engine, program, ["assert 1 == 1", "assert True"])
    assert result.status is status
    assert result.outcomes == [N, N]
    assert result.pass_rate == 0.0
    assert result.error


def test_a_hang_costs_only_its_own_test(engine):
    program = "def f(x):\n    while x == 2:\n        pass\n    return x\n"
    started = time.monotonic()
    result = run_one(engine, program, [f"assert f({i}) == {i}" for i in range(5)])
    assert result.outcomes == [P, P, T, P, P]
    assert time.monotonic() - started < 0.5 * 3


def test_several_hangs_and_crashes_in_one_program(engine):
    program = (
        "import os, time\n"
        "def f(x):\n"
        "    if x == 1: time.sleep(60)\n"
        "    if x == 3: os._exit(0)\n"
        "    if x == 4: os.kill(os.getpid(), 9)\n"
        "    return x\n"
    )
    result = run_one(engine, program, [f"assert f({i}) == {i}" for i in range(6)])
    assert result.outcomes == [P, T, P, C, C, P]


def test_each_test_has_its_own_limit_and_its_cpu_and_wall_seconds(engine):
    program = "def burn(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return n\n"
    tests = ["assert burn(10) == 10", "assert burn(3_000_000) == 3_000_000", "assert burn(3_000_000) == 3_000_000"]
    result = engine.run([ExecutionJob(id="x", program=program, tests=tests, limits=[0.5, 5.0, 0.01])])[0]
    assert result.outcomes == [P, P, T]  # 0.1-0.3 s of CPU: within the 5 s of test 2, past the 0.01 s of test 3
    small, large, cut = result.test_cpu_seconds
    assert small < 0.01 < large <= result.test_wall_seconds[1] + 0.01
    assert 0.01 <= result.test_wall_seconds[2] < 0.5 and cut > 0
    assert len(result.test_wall_seconds) == 3


def test_stop_at_timeout_leaves_the_rest_not_run(engine):
    program = "def f(x):\n    while x == 1:\n        pass\n    return x\n"
    tests = [f"assert f({i}) == {i}" for i in range(4)]
    going_on, stopped = engine.run([ExecutionJob(id="a", program=program, tests=tests),
                                    ExecutionJob(id="b", program=program, tests=tests, stop_at_timeout=True)])
    assert going_on.outcomes == [P, T, P, P]
    assert stopped.outcomes == [P, T, N, N]


def test_captured_values_come_back_as_plain_data(engine):
    program = "def f(x):\n    return {'x': (x, [x * 1.5]), 's': {x}}\n"
    tests = ["assert f(2)", "assert f(2) == 3", "assert f(1)['x'] is None", "assert missing(1)"]
    result = engine.run([ExecutionJob(id="x", program=program, tests=tests, capture=True)])[0]
    assert result.values[:2] == [{"x": (2, [3.0]), "s": frozenset({2})}] * 2
    assert result.values[2:] == [(1, [1.5]), None]  # the operand of `is None`; an error has none


def test_limits_must_fit_the_tests(engine):
    with pytest.raises(ValueError, match="each of its 2 tests"):
        engine.run([ExecutionJob(id="x", program=ADD, tests=["assert 1", "assert 2"], limits=[1.0])])


def test_tests_run_in_the_program_namespace_with_setup_lines(engine):
    tests = ["xs = [3, 1, 2]\nys = sorted(xs)\nassert ys == [1, 2, 3]", "assert VALUE + add(1, 1) == 12", "y = 5\nassert y > 4"]
    result = run_one(engine, ADD + "VALUE = 10\n", tests)
    assert result.outcomes == [P, P, P]


def test_results_keep_input_order():
    jobs = [ExecutionJob(id=str(i), program=ADD, tests=[f"assert add({i}, 0) == {i if i % 3 else -1}"]) for i in range(60)]
    results = execute(jobs, workers=2, timeout=1.0)
    assert [r.id for r in results] == [str(i) for i in range(60)]
    assert [r.outcomes[0] for r in results] == [F if i % 3 == 0 else P for i in range(60)]


def test_each_program_is_judged_on_its_own_questions_tests():
    # The sandbox gets a question's tests once, with its first program; here that
    # program does not compile, and the next question's shares the tests' source.
    one = ["assert f() == 1", "assert f() != 2"]
    two = ["assert f() == 2", "assert f() != 1", "assert f() == 2"]
    jobs = [
        ExecutionJob(id="one", program="def f():\n    return 1\n", tests=one),
        ExecutionJob(id="broken", program="def f(:\n", tests=two),
        ExecutionJob(id="two", program="def f():\n    return 2\n", tests=two),
        ExecutionJob(id="one again", program="def f():\n    return 1\n", tests=one),
    ]
    with Engine(workers=1) as own:
        results = own.run(jobs)
    assert [r.status for r in results] == [ProgramStatus.OK, ProgramStatus.SYNTAX_ERROR, ProgramStatus.OK, ProgramStatus.OK]
    assert [r.pass_rate for r in results] == [1.0, 0.0, 1.0, 1.0]
    assert len(results[2].outcomes) == 3


def test_a_program_without_tests_still_gets_a_status(engine):
    assert run_one(engine, "def f(:", []).status is ProgramStatus.SYNTAX_ERROR
    ok = run_one(engine, ADD, [])
    assert ok.status is ProgramStatus.OK and ok.outcomes == [] and ok.pass_rate == 0.0


def test_async_form_runs_alongside_other_coroutines(engine):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        program = "import time\ndef f():\n    time.sleep(0.3)\n    return 1\n"
        results = await engine.arun([ExecutionJob(id="a", program=program, tests=["assert f() == 1"])])
        task.cancel()
        return results, ticks

    results, ticks = asyncio.run(main())
    assert results[0].outcomes == [P]
    assert ticks >= 10  # the event loop kept running while the program did


def test_submit_returns_a_future(engine):
    future = engine.submit(ExecutionJob(id="f", program=ADD, tests=["assert add(2, 2) == 4"]))
    assert future.result(timeout=10).outcomes == [P]


# ------------------------------------------------------------ strict comparisons


@pytest.mark.parametrize(
    "returned, test, outcome",
    [
        ("3", "assert f() == 3", P),
        ("3.0", "assert f() == 3", P),  # Python's own numeric equality
        ("True", "assert f() == 1", P),
        ("[1, 2]", "assert f() == (1, 2)", F),  # a list is not a tuple, as in Python
        ("(1, 2)", "assert f() == (1, 2)", P),
        ("{'a': [1, (2, 3)]}", "assert f() == {'a': [1, (2, 3)]}", P),
        ("{3, 1}", "assert f() == {1, 3}", P),
        ("frozenset({1})", "assert f() == {1}", P),
        ("b'ab'", "assert f() == b'ab'", P),
        ("1 + 2j", "assert f() == (1 + 2j)", P),
        ("float('nan')", "assert f() == float('nan')", F),
        ("float('inf')", "assert f() == float('inf')", P),
        ("None", "assert f() is None", P),
        ("0", "assert f() is None", F),
        ("[1, 2]", "assert 2 in f()", P),
        ("5", "assert f() > 3", P),
        ("5", "assert not f()", F),
        ("''", "assert not f()", P),
        ("[1]", "assert f() < 3", E),  # TypeError, as Python raises
        ("__import__('collections').OrderedDict(a=1)", "assert f() == {'a': 1}", P),
        ("__import__('collections').namedtuple('P', 'x y')(1, 2)", "assert f() == (1, 2)", P),
        ("__import__('enum').IntEnum('E', 'A')(1)", "assert f() == 1", P),
        ("3 ** 20000", "assert f() == 3 ** 20000", P),  # past str()'s 4300-digit limit
        ("3 ** 20000", "assert f() == 3 ** 20000 + 1", F),
        ("__import__('re').match('a+', 'aaa')", "assert f()", P),  # truth decided by C code
        ("__import__('re').match('b', 'aaa')", "assert not f()", P),
        ("__import__('collections').deque()", "assert not f()", P),
        ("(i for i in [])", "assert f()", P),
        ("__import__('dataclasses').make_dataclass('P', ['x'])(1)", "assert f() == f()", E),  # two objects
    ],
)
def test_comparisons_follow_python_on_plain_values(engine, returned, test, outcome):
    assert run_one(engine, f"def f():\n    return {returned}\n", [test]).outcomes == [outcome]


def test_other_objects_equal_only_themselves(engine):
    program = "import enum\nColor = enum.Enum('Color', 'RED BLUE')\ndef f():\n    return Color.RED\n"
    tests = ["assert f() == Color.RED", "assert f() is Color.RED", "assert f() == Color.BLUE", "assert f() == 1"]
    assert run_one(engine, program, tests).outcomes == [P, P, E, E]  # no verdict on others' __eq__


def test_objects_with_forged_equality_never_pass(engine):
    program = (
        "class Always:\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __bool__(self): return True\n"
        "class Int(int):\n"
        "    def __eq__(self, other): return True\n"
        "def f(): return Always()\n"
        "def g(): return Int(7)\n"
    )
    tests = ["assert f() == 3", "assert f()", "assert g() == 3", "assert 3 == f()", "assert g() == 7"]
    result = run_one(engine, program, tests)
    assert result.outcomes == [E, E, F, E, P]  # an int subclass is judged by its int value


def test_tests_do_not_inherit_the_engines_future_imports(engine):
    # `from __future__ import annotations` in the engine must not make this lazy.
    test = "def h(x: Undefined):\n    return x\nassert h(1) == 1"
    assert run_one(engine, ADD, [test]).outcomes == [E]


def test_an_invalid_test_is_an_error_not_a_crash(engine):
    result = run_one(engine, ADD, ["assert add(1, 1) ==", "assert add(1, 1) == 2"])
    assert result.outcomes == [E, P]
    assert result.messages[0].startswith("invalid test")


def test_plain_tests_are_judged_in_the_sandbox(engine):
    tests = ["assert add(1, 2) == 3 == add(2, 1)", "for i in range(3):\n    assert add(i, i) == 2 * i", "add(1, 2)"]
    assert run_one(engine, ADD, tests).outcomes == [P, P, P]
    assert run_one(engine, ADD, ["assert add(1, 2) == 3 == add(2, 2)"]).outcomes == [F]


def test_verdicts_do_not_depend_on_the_run(engine):
    programs = [ADD, "def add(a, b):\n    return a - b\n", "def add(a, b):\n    return a + b + (a == 2)\n"]
    tests = [f"assert add({a}, {b}) == {a + b}" for a in range(4) for b in range(4)]
    jobs = [ExecutionJob(id=str(i), program=programs[i % 3], tests=tests) for i in range(30)]
    first = [r.outcomes for r in engine.run(jobs)]
    assert first == [r.outcomes for r in engine.run(jobs)]
    assert first[0] == [P] * 16


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        Engine(timeout=0)


def test_a_dead_worker_is_replaced_and_its_jobs_rerun():
    with Engine(workers=1, timeout=1.0) as engine:
        slow = "import time\ndef f():\n    time.sleep(0.3)\n    return 1\n"
        futures = [engine.submit(ExecutionJob(id=str(i), program=slow, tests=["assert f() == 1"])) for i in range(3)]
        time.sleep(0.1)
        engine._pool[0].process.kill()  # as if the OOM killer took the worker
        assert [f.result(timeout=30).outcomes for f in futures] == [[P]] * 3
        assert engine.run([ExecutionJob(id="after", program=ADD, tests=["assert add(1, 1) == 2"])])[0].outcomes == [P]


def test_a_slow_program_holds_back_only_its_own_position_not_new_work():
    """map() yields in input order; while the first program sleeps, the ones after it keep
    running (up to the reorder buffer), instead of waiting behind it with idle workers."""
    slow = ExecutionJob(id="slow", program="import time\ntime.sleep(1.5)", tests=["assert True"])
    light = [ExecutionJob(id=f"l{i}", program=f"x = {i}", tests=[f"assert x == {i}"]) for i in range(200)]
    with Engine(workers=2, timeout=5.0) as engine:
        done_before_the_head = []
        results = []
        for result in engine.map([slow, *light], ahead=8, buffer=400):
            if result.id == "slow":
                done_before_the_head.append(engine.completed)
            results.append(result.id)
    assert results == ["slow", *(job.id for job in light)]
    assert done_before_the_head[0] >= 150  # with the old window of `ahead` jobs this was at most 8



def test_the_processes_of_a_node_share_its_cores(monkeypatch):
    from acecoder.execution._engine import default_workers

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_workers() == 16
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # 8 ranks under torchrun or accelerate
    assert default_workers() == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "32")
    assert default_workers() == 1
