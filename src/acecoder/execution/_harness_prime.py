"""The program the sandbox loads for a stdio or call suite judged as verl's prime_code
judges it. Not imported by acecoder: `_suites.py` sends this file's text, followed by
one line that loads the model's program, as the program of the job; each test then
calls `__acecoder_stdio__` or `__acecoder_call__` and the engine compares what it
returns (`_graders.py`). It reproduces what prime_code's `run_test` (verl 0.9.1,
`verl/utils/reward_score/prime_code/testing_util.py`) does to a program before and
around each case:

- `reliability_guard`: the functions it sets to None are None here too (`os.getcwd`,
  `os.kill`, `subprocess.Popen`, `exit`, ...), and the modules it blocks
  (`resource`, `subprocess`, `ctypes`, ...) fail to import;
- its import prelude and `sys.setrecursionlimit(6*10**5)` in front of the program, run
  as module `tmp_sol`;
- stdio: its rewriting of the program into `def code():` (a last `if __name__ ==
  '__main__':` block unwrapped, every other line indented by a tab, imports at column 0
  left at module level), and each case run with its patches: `sys.stdin` a StringIO
  of the input, `open` a `mock_open` of it, stdout captured in a StringIO whose
  `close` fails, `SystemExit` caught;
- stdio: each case on a fresh load of the program (see `__acecoder_fresh__`);
- call: `Solution()` made when the program's text contains "class Solution",
  else the module's function; the JSON lines of each case decoded as its arguments;
  the return serialised with `json.dumps` (what it refuses is an error there too).
"""

import ast as __acecoder_ast
import json as __acecoder_json
import sys as __acecoder_sys
import types as __acecoder_types
from io import StringIO as __acecoder_StringIO
from unittest.mock import mock_open as __acecoder_mock_open  # before the guard blocks what it imports
from unittest.mock import patch as __acecoder_patch

__ACECODER_PRELUDE__ = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\nfrom heapq import *\n"
    "from bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\nfrom statistics import *\n"
    "from itertools import *\nfrom functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\n"
    "import collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\nimport statistics\n"
    "import itertools\nimport functools\nimport operator\nimport io\nimport sys\nimport json\n"
    "sys.setrecursionlimit(6*10**5)\n"
)


def __acecoder_guard__():
    """prime_code's `reliability_guard()` (no memory limit given): the same names set to None."""
    import builtins
    import os
    import shutil
    import subprocess

    builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter", "subprocess", "ctypes"):
        __acecoder_sys.modules[name] = None


def __acecoder_as_function__(test):
    """prime_code's rewriting of a stdin program into `def code():`, line for line."""
    try:
        tree = __acecoder_ast.parse(test)
        last = tree.body[-1]
        if isinstance(last, __acecoder_ast.If):
            if __acecoder_ast.unparse(last.test).strip() == "__name__ == '__main__'":
                test = __acecoder_ast.unparse(tree.body[:-1]) + "\n" + __acecoder_ast.unparse(last.body)
    except Exception:
        pass
    lines = []
    for x in test.split("\n"):
        if not x.startswith("from ") and not x.startswith("import "):
            lines.append("\t" + x + "\n")
        else:
            lines.append(x + "\n")
    source, started = "", False
    for line in lines:
        if line.startswith("\t") and not started:
            source += "stdin = sys.stdin\nstdout = sys.stdout\ndef code():\n" + line
            started = True
        elif started and (line.startswith("from ") or line.startswith("import ")):
            source += "\t" + line
        else:
            source += line
    return source


def __acecoder_load__(program, fn_name):
    """The function each case calls: `code` of the rewritten stdin program, or `fn_name`."""
    if __acecoder_sys.modules.get("subprocess") is not None:  # once: it blocks the imports it makes
        if "numpy" in program:
            try:  # prime_code's own module imports numpy before its guard blocks ctypes and subprocess
                import numpy  # noqa: F401
            except ImportError:
                pass
        __acecoder_guard__()
    if fn_name is None:
        source = __ACECODER_PRELUDE__ + __acecoder_as_function__(program)
    else:
        source = __ACECODER_PRELUDE__ + program
    module = __acecoder_types.ModuleType("tmp_sol")
    exec(compile(source, "<string>", "exec"), module.__dict__)
    __acecoder_sys.modules["tmp_sol"] = module
    if fn_name is None:
        return module.code
    return getattr(module.Solution() if "class Solution" in program else module, fn_name)


__acecoder_loaded__ = None  # (program, fn_name): set by the line after this file


def __acecoder_fresh__():
    """The method for the next case. A stdin program: the one loaded with the program for
    the first case run by this process, a fresh load (a new module) for every later one:
    prime_code's score of a program that fails a case is the pass rate of its first 10
    cases run each in a process of its own. A call: always the one loaded first (one
    module, one `Solution()`), as in prime_code's run of all cases in one process: its
    per-case runs lose `fn_name` (they pass only "inputs" and "outputs"), so only that
    first run can score a call-based program."""
    global __acecoder_method__
    method = __acecoder_method__
    if method is None:
        method = __acecoder_load__(*__acecoder_loaded__)
    if __acecoder_loaded__[1] is None:
        __acecoder_method__ = None
    else:
        __acecoder_method__ = method
    return method


def __acecoder_stdio__(inputs):
    """The program's stdout on `inputs`, run as prime_code's `call_method` runs it."""
    lines = iter(inputs.split("\n"))
    patch = __acecoder_patch

    @patch("builtins.open", __acecoder_mock_open(read_data=inputs))
    @patch("sys.stdin", __acecoder_StringIO(inputs))
    @patch("sys.stdin.readline", lambda *args: next(lines))
    @patch("sys.stdin.readlines", lambda *args: inputs.split("\n"))
    @patch("sys.stdin.read", lambda *args: inputs)
    def run(method):
        try:
            return method()
        except SystemExit:
            pass

    saved, captured = __acecoder_sys.stdout, __acecoder_StringIO()
    captured.close = lambda x: 1  # as prime_code's Capturing: a program's close() raises TypeError
    __acecoder_sys.stdout = captured
    try:
        run(__acecoder_fresh__())
    finally:
        __acecoder_sys.stdout = saved
    return captured.getvalue()


def __acecoder_call__(arguments):
    """The return value of the call on `arguments` (JSON values, one per line)."""
    inputs = [__acecoder_json.loads(line) for line in arguments.split("\n")]
    try:  # APPS's fix for JSON's string keys, applied to the first argument alone
        if isinstance(inputs[0], dict):
            inputs = [{int(k): v for k, v in inputs[0].items()}]
    except Exception:
        pass
    output = __acecoder_fresh__()(*inputs)
    __acecoder_json.dumps(output)  # prime_code serialises every return: what json refuses fails there
    return output
