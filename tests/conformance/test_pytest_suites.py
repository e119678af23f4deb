"""pytest-style suites (KodCode's layout: a `test` file doing `from solution import f`) judged
in the sandbox as pytest itself judges them outside it: for every file and program, the
verdict of each test function (each parametrized case its own) is the one `pytest` gives
when run on `solution.py` and the test file in a folder of their own. A file pytest cannot
collect (a failing import) fails every one of its tests on both sides.
"""

import json
import subprocess
import sys

from acecoder.data.suites import read_suite
from acecoder.execution import Engine
from acecoder.records import ExecutionJob, SuiteKind, TestOutcome

FILES = {
    "add": (
        "import pytest\nfrom solution import add\n\n"
        "def test_small():\n    assert add(1, 2) == 3\n\n"
        "def test_negative():\n    assert add(-1, -1) == -2\n\n"
        "@pytest.mark.parametrize('a, b, want', [(0, 0, 0), (2, 3, 5), (10, -10, 0), ('a', 'b', 'ab')])\n"
        "def test_table(a, b, want):\n    assert add(a, b) == want\n\n"
        "def test_type_error():\n    with pytest.raises(TypeError):\n        add(1, 'x')\n",
        ["def add(a, b):\n    return a + b",
         "def add(a, b):\n    return a - b",
         "def add(a, b):\n    if isinstance(a, str):\n        return a\n    return a + b",
         "def add(a, b):\n    return int(a) + int(b)",
         "def plus(a, b):\n    return a + b",  # the test file's import fails
         "def add(a, b)\n    return a + b",  # syntax error
         "raise RuntimeError('at import')\ndef add(a, b):\n    return a + b"],
    ),
    "stack": (
        "import pytest\nfrom solution import Stack\n\n"
        "@pytest.fixture\ndef stack():\n    s = Stack()\n    s.push(1)\n    s.push(2)\n    return s\n\n"
        "def test_pop(stack):\n    assert stack.pop() == 2\n    assert stack.pop() == 1\n\n"
        "def test_empty_pop():\n    with pytest.raises(IndexError):\n        Stack().pop()\n\n"
        "def test_len(stack):\n    assert len(stack) == 2\n\n"
        "class TestPeek:\n    def test_peek(self, stack):\n        assert stack.peek() == 2\n\n"
        "    def test_peek_keeps(self, stack):\n        stack.peek()\n        assert len(stack) == 2\n",
        ["class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n"
         "    def pop(self):\n        return self.items.pop()\n    def peek(self):\n        return self.items[-1]\n"
         "    def __len__(self):\n        return len(self.items)",
         "class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n"
         "    def pop(self):\n        return self.items.pop(0)\n    def peek(self):\n        return self.items.pop()\n"
         "    def __len__(self):\n        return len(self.items)",
         "class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n"
         "    def pop(self):\n        return self.items.pop() if self.items else None\n"
         "    def peek(self):\n        return self.items[-1]"],
    ),
    "words": (
        "from solution import count_words, longest\nimport pytest\n\n"
        "CASES = [('a b a', {'a': 2, 'b': 1}), ('', {}), ('x  x', {'x': 2})]\n\n"
        "@pytest.mark.parametrize('text,want', CASES)\ndef test_count(text, want):\n    assert count_words(text) == want\n\n"
        "@pytest.mark.parametrize('text', ['hello world', 'a bb ccc'])\n@pytest.mark.parametrize('upper', [False, True])\n"
        "def test_longest(text, upper):\n    t = text.upper() if upper else text\n    assert longest(t) == max(t.split(), key=len)\n\n"
        "def test_longest_empty():\n    with pytest.raises(ValueError, match='empty'):\n        longest('')\n",
        ["from collections import Counter\ndef count_words(s):\n    return dict(Counter(s.split()))\n"
         "def longest(s):\n    if not s:\n        raise ValueError('empty text')\n    return max(s.split(), key=len)",
         "def count_words(s):\n    return {w: s.count(w) for w in s.split()}\n"
         "def longest(s):\n    return max(s.split(), key=len)",
         "def count_words(s):\n    out = {}\n    for w in s.split(' '):\n        out[w] = out.get(w, 0) + 1\n    return out\n"
         "def longest(s):\n    if not s:\n        raise ValueError('no words')\n    return sorted(s.split(), key=len)[-1]"],
    ),
    "state": (
        "from solution import Counter\n\n"
        "counter = Counter()\n\n"
        "def test_first():\n    assert counter.tick() == 1\n\n"
        "def test_second():\n    assert counter.tick() == 2\n\n"
        "def test_exit():\n    import sys\n    assert Counter().tick() == 1\n",
        ["class Counter:\n    def __init__(self):\n        self.n = 0\n    def tick(self):\n        self.n += 1\n        return self.n",
         "class Counter:\n    n = 0\n    def tick(self):\n        Counter.n += 1\n        return Counter.n",
         "import sys\nclass Counter:\n    def tick(self):\n        sys.exit(0)"],
    ),
    # Straight-line asserts against literals: their expected values are judged outside the
    # sandbox (acecoder/execution/_pytest_checks.py); pytest's verdicts must not change.
    "moved": (
        "from solution import f, g\n\n"
        "def test_sequence():\n    assert f(1) == 2\n    assert g(f(1)) == 3\n\n"
        "def test_none():\n    assert f(None) is None\n\n"
        "def test_in():\n    assert f(2) in (3, 4)\n\n"
        "def test_left():\n    assert 5 == f(4)\n\n"
        "def test_float():\n    assert f(0.5) == 1.5\n\n"
        "def test_not_equal():\n    assert f(0) != -1\n\n"
        "def test_container():\n    assert [f(1), f(2)] == [2, 3]\n",
        ["def f(x):\n    return None if x is None else x + 1\ndef g(y):\n    return y + 1",
         "def f(x):\n    return x * 2\ndef g(y):\n    return y + 1",
         "import numpy as np\ndef f(x):\n    return None if x is None else np.float64(x) + 1\ndef g(y):\n    return y + 1",
         "def f(x):\n    return str(x + 1)\ndef g(y):\n    return y",
         "def f(x):\n    return x + 1\ndef g(y):\n    raise ValueError(y)"],
    ),
}


PLUGIN = """
import json, os

class Recorder:
    def __init__(self):
        self.outcomes = {}

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
        elif report.when == "call" or (report.skipped and report.nodeid not in self.outcomes):
            self.outcomes.setdefault(report.nodeid, report.outcome)

    def pytest_collectreport(self, report):
        if report.failed:
            self.outcomes["<collection>"] = "failed"

    def pytest_sessionfinish(self, session):
        with open(os.environ["VERDICTS"], "w") as f:
            json.dump(self.outcomes, f)

def pytest_configure(config):
    config.pluginmanager.register(Recorder())
"""


def pytest_outside(folder, test_file: str, program: str) -> dict[str, str]:
    """pytest's own verdicts, run outside the sandbox: test id -> passed / failed / skipped."""
    folder.mkdir()
    (folder / "solution.py").write_text(program)
    (folder / "test_solution.py").write_text(test_file)
    (folder / "recorder.py").write_text(PLUGIN)
    env = {"PYTHONPATH": str(folder), "VERDICTS": str(folder / "verdicts.json"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "pytest", "-p", "recorder", "-p", "no:cacheprovider", "-q", "-c", "/dev/null",
                    "--rootdir", str(folder), str(folder / "test_solution.py")], cwd=folder, env=env,
                   capture_output=True, timeout=120, check=False)
    found = json.loads((folder / "verdicts.json").read_text())
    return {key.split("::", 1)[1] if "::" in key else key: value for key, value in found.items()}


def test_per_test_verdicts_equal_pytests(tmp_path):
    jobs, expected = [], {}
    with Engine(workers=2, timeout=5.0) as engine:
        for name, (test_file, programs) in FILES.items():
            suite, _ = read_suite({"test": test_file}, where=name)
            assert suite.kind is SuiteKind.PYTEST
            suite = engine.collect(suite)
            assert len(suite.cases) >= 3
            for i, program in enumerate(programs):
                theirs = pytest_outside(tmp_path / f"{name}{i}", test_file, program)
                collection_failed = theirs.pop("<collection>", None) == "failed"
                expected[f"{name}/{i}"] = {case: not collection_failed and theirs.get(case) in ("passed", "skipped")
                                           for case in suite.cases}
                jobs.append(ExecutionJob(id=f"{name}/{i}", program=program, tests=suite))
        results = engine.run(jobs)
    differ, compared = {}, 0
    for result in results:
        ours = dict(zip(jobs[[j.id for j in jobs].index(result.id)].tests.cases,
                        (o is TestOutcome.PASS for o in result.outcomes)))
        compared += len(ours)
        if ours != expected[result.id]:
            differ[result.id] = (ours, expected[result.id])
    assert differ == {}, f"verdicts differ (ours, pytest's): {differ}"
    passes = sum(v for e in expected.values() for v in e.values())
    assert compared >= 80 and 20 <= passes <= compared - 20  # both verdicts occur often
