"""LiveCodeBench judged as its own grader judges it (nvidia-livecodebench 26.3,
requirements/upstream.txt): rows in the release layout, read by the package's own
`CodeGenerationProblem` (its `get_evaluation_sample()` is what its grader takes) and by
our loader; every sample graded by its `run_test` (in a process of its own: its
`reliability_guard` disables parts of the process for good) and by `acecoder eval`.

The samples are the cases where the two graders once differed: output `1.0` for `1`,
spaces inside a numeric and a text line, the import prelude (`heapify`, `List`),
recursion 10^4 deep, a 5,000-digit number, a tuple for a list, a top-level function
without a Solution class, state kept across the tests of one Solution(), plus plain
right, wrong, crashing and hanging programs. The differences that remain are written
down in `acecoder.benchmarks.livecodebench` with the reason, and are not sampled here.
"""

import base64
import json
import pickle
import subprocess
import sys
import zlib

from _verdicts import our_verdicts

TIMEOUT = 2  # seconds per test on both sides (the grader takes an int)


def row(question_id: str, cases: list[tuple[str, str]], *, func: str | None = None, starter: str = "") -> dict:
    """A code_generation_lite row: the first case public, the others private and
    compressed as the release compresses them."""
    testtype = "functional" if func else "stdin"
    tests = [{"input": i, "output": o, "testtype": testtype} for i, o in cases]
    private = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests[1:])))).decode()
    return {
        "question_title": question_id, "question_content": f"Problem {question_id}.", "platform": "leetcode" if func else "atcoder",
        "question_id": question_id, "contest_id": "c1", "contest_date": "2024-06-01T00:00:00", "starter_code": starter,
        "difficulty": "easy", "public_test_cases": json.dumps(tests[:1]), "private_test_cases": private,
        "metadata": json.dumps({"func_name": func} if func else {}),
    }


SUM = [("1 2\n", "3\n"), ("5 5\n", "10\n"), ("-1 1\n", "0\n")]
STARTER = "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        "
TWO_SUM = [("[2, 7, 11, 15]\n9", "[0, 1]"), ("[3, 2, 4]\n6", "[1, 2]")]
ROWS = [
    row("sum", SUM),
    row("float", [("3\n", "3\n"), ("4\n", "4\n")]),
    row("spaces", [("\n", "1 2\n"), ("\n", "1 2\n")]),
    row("text", [("\n", "a b\n")]),
    row("heap", [("3 1 2\n", "1\n"), ("9 8\n", "8\n")]),
    row("deep", [("10000\n", "10000\n")]),
    row("big", [("\n", "1" + "0" * 5000 + "\n")]),
    row("lines", [("2\n", "1\n2\n"), ("1\n", "1\n")]),
    row("two_sum", TWO_SUM, func="twoSum", starter=STARTER),
    row("add", [("1\n2", "3"), ("5\n5", "10")], func="add"),
    row("count", [("1", "1"), ("1", "2"), ("1", "3")], func="tick", starter="class Solution:\n    def tick(self, x):\n        "),
]
SAMPLES = {
    "sum": ["a, b = map(int, input().split())\nprint(a + b)",  # right
            "a, b = map(int, input().split())\nprint(a - b)",  # wrong
            "a, b = map(int, input().split())\nprint(a + b)\nraise ValueError('late')",  # crashes after printing
            "while True:\n    pass"],  # hangs
    "float": ["print(float(input()))"],  # 3.0 for 3: numeric lines compare as Decimals
    "spaces": ["print('1  2')", "print('1\\t2')"],  # a numeric line: the same numbers
    "text": ["print('a  b')", "print('a b')"],  # a text line: exact after strip
    "heap": ["xs = list(map(int, input().split()))\nheapify(xs)\nprint(xs[0])"],  # the prelude's heapq
    "deep": ["def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nprint(f(int(input())))"],  # past 1,000 frames
    "big": ["print(10 ** 5000)"],  # past Python's 4,300-digit limit
    "lines": ["n = int(input())\nfor i in range(1, n + 1):\n    print(i)", "print(1)\nprint(2)"],
    "two_sum": [
        ("class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
        "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
        "                return [seen[target - x], i]\n            seen[x] = i"),  # right, List from the prelude
        "class Solution:\n    def twoSum(self, nums, target):\n        return (0, 1)",  # a tuple: right only on test 1
        ("class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
        "        for i, x in enumerate(nums):\n            if target - x in seen:\n"
        "                return (seen[target - x], i)\n            seen[x] = i"),  # right, as a tuple
    ],
    "add": ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a * b"],  # no Solution class
    "count": [("class Solution:\n    def __init__(self):\n        self.n = 0\n    def tick(self, x):\n"
              "        self.n += x\n        return self.n")],  # one instance for every test
}

UPSTREAM = """
import json, sys
from livecodebench.benchmarks.code_generation import CodeGenerationProblem
from livecodebench.evaluation.testing_util import run_test
row, code, timeout = json.loads(sys.argv[1])
sample = CodeGenerationProblem(**row).get_evaluation_sample()
results, _ = run_test(sample, test=code, debug=False, timeout=timeout)
sys.__stdout__.write(json.dumps(bool(results) and all(r is True for r in results)) + "\\n")
"""


def upstream_verdict(row: dict, code: str) -> bool:
    done = subprocess.run([sys.executable, "-c", UPSTREAM, json.dumps([row, code, TIMEOUT])], check=False, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_our_verdicts_equal_the_livecodebench_graders(tmp_path):
    samples, ours = our_verdicts(tmp_path, "livecodebench", ROWS, SAMPLES, float(TIMEOUT))

    by_id = {r["question_id"]: r for r in ROWS}
    theirs = {(s["question_id"], s["sample_index"]): upstream_verdict(by_id[s["question_id"]], s["program"])
              for s in samples}
    differ = {key: (ours.get(key), theirs[key]) for key in theirs if ours.get(key) != theirs[key]}
    assert differ == {}, f"{len(differ)} of {len(theirs)} verdicts differ (ours, theirs): {differ}"
    assert 8 <= sum(theirs.values()) <= len(theirs) - 5  # both verdicts occur
