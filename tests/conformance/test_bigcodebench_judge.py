"""BigCodeBench judged as bigcodebench 0.2.5 judges (requirements/upstream.txt): tasks in
its release layout whose `code_prompt` holds module-level constants and imports the
solution relies on, each sample run by its own `untrusted_check` (in a process of its
own: it installs its reliability guard) after the composition its default
"calibrated" evaluation does (`evaluate.py`: `code_prompt + "\\n    pass\\n" + solution`),
and by `acecoder eval`. The verdicts must be the same.
"""

import json
import subprocess
import sys

from _verdicts import our_verdicts

TEST = '''import unittest

class TestCases(unittest.TestCase):
    def test_small(self):
        self.assertEqual(task_func(2), {small})

    def test_large(self):
        self.assertEqual(task_func(5), {large})
'''
TASKS = [
    {"task_id": "BigCodeBench/9001", "entry_point": "task_func", "libs": "['math']",
     "code_prompt": "import math\nSCALE = 10\ndef task_func(x):\n",
     "complete_prompt": "import math\nSCALE = 10\ndef task_func(x):\n    \"\"\"Scale x by SCALE.\"\"\"\n",
     "instruct_prompt": "Scale x by the module's SCALE.", "canonical_solution": "    return x * SCALE\n",
     "test": TEST.format(small=20, large=50)},
    {"task_id": "BigCodeBench/9002", "entry_point": "task_func", "libs": "['collections']",
     "code_prompt": "from collections import Counter\nWORDS = ['a', 'b', 'a']\ndef task_func(x):\n",
     "complete_prompt": "from collections import Counter\nWORDS = ['a', 'b', 'a']\ndef task_func(x):\n    \"\"\"Count.\"\"\"\n",
     "instruct_prompt": "x times the count of 'a' in WORDS.", "canonical_solution": "    return x * Counter(WORDS)['a']\n",
     "test": TEST.format(small=4, large=10)},
]
SAMPLES = {
    "BigCodeBench/9001": [
        "def task_func(x):\n    return x * SCALE",  # the prompt's constant, not redefined
        "import math\ndef task_func(x):\n    return x * 10",  # self-contained
        "def task_func(x):\n    return x * SCALE + 1",  # wrong
        "def task_func(x):\n    raise RuntimeError('no')",  # crashes
    ],
    "BigCodeBench/9002": [
        "def task_func(x):\n    return x * Counter(WORDS)['a']",  # the prompt's import and constant
        "def task_func(x):\n    return x * len(WORDS)",  # wrong
    ],
}

UPSTREAM = """
import json, sys
from bigcodebench.eval import untrusted_check
task, solution = json.loads(sys.argv[1])
code = task["code_prompt"] + "\\n    pass\\n" + solution  # evaluate.py, calibrated (the default)
status, _ = untrusted_check(code, task["test"], task["entry_point"], max_as_limit=30 * 1024,
                            max_data_limit=30 * 1024, max_stack_limit=10, min_time_limit=1, gt_time_limit=20)
sys.__stdout__.write(json.dumps(status) + "\\n")
"""


def upstream_status(task: dict, solution: str) -> str:
    done = subprocess.run([sys.executable, "-c", UPSTREAM, json.dumps([task, solution])], check=False,
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_our_verdicts_equal_bigcodebenchs_calibrated_judging(tmp_path):
    samples, ours = our_verdicts(tmp_path, "bigcodebench-complete", TASKS, SAMPLES, 30.0)
    by_id = {task["task_id"]: task for task in TASKS}
    theirs = {(s["question_id"], s["sample_index"]): upstream_status(by_id[s["question_id"]], s["program"]) == "pass"
              for s in samples}
    differ = {key: (ours.get(key), theirs[key]) for key in theirs if ours.get(key) != theirs[key]}
    assert differ == {}, f"{len(differ)} of {len(theirs)} verdicts differ (ours, theirs): {differ}"
    assert sum(theirs.values()) == 3  # the two that lean on the prompt, and the self-contained one
