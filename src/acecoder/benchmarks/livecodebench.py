"""LiveCodeBench, code generation: contest problems (LeetCode, AtCoder, Codeforces)
released after a date, so that a model's training data can be excluded by window.

Format: the release `livecodebench/code_generation_lite` (`test.jsonl`, `test2.jsonl`,
..., or the hub): `question_id`, `question_title`, `question_content`, `platform`,
`contest_date` (ISO), `starter_code`, `difficulty`, `public_test_cases` and
`private_test_cases` (JSON text, the private ones usually base64 of zlib of a pickled
JSON string), `metadata` (JSON text with `func_name` for LeetCode problems).

Judged as LiveCodeBench's own grader judges (`livecodebench/evaluation/testing_util.py`,
nvidia-livecodebench 26.3; `tests/conformance/test_livecodebench_grader.py` compares the
verdicts sample by sample): every program runs after the grader's import prelude
(`PRELUDE`: star imports of string, re, collections, heapq, math, itertools, typing...,
recursion limit 50,000; and the 50,000-digit int-to-str limit its metrics module sets).

- stdin (AtCoder, Codeforces): the program reads stdin at top level, so it cannot be
  the program the engine loads. The engine loads a small harness instead, holding the
  program's source compiled; each test runs it as `__main__` with that stdin and sends
  its stdout back, and the engine compares it as the grader does
  (`acecoder.execution._graders.lcb_stdio`; the expected output stays out of the
  sandbox unless it is over 512 KiB): stripped lines, as many as expected, each
  equal as text or else every token on both sides numeric and equal as Decimals
  (`1.0` is `1`; `a  b` is not `a b`).
- functional (LeetCode): `__acecoder_call__(func_name, *args) == expected`, the
  arguments and the answer decoded from their JSON lines: one `Solution()` for every
  test of the program (a top-level function where there is no Solution class), a
  returned tuple read as a list.

Differences from that grader that remain, on purpose:
- It wraps a stdin program's statements in a function (`make_function`), so a program
  using `global`, `sys.stdin.buffer` or `sys.stdout.buffer`, or printing through
  `from sys import stdout`, fails there and passes here: those are correct programs,
  and the wrapping is an artefact of how it captures output.
- It stops at the first failing test and its sandbox (`reliability_guard`) disables
  functions such as `os.getcwd` and `subprocess.Popen`; ours runs every test in its own
  sandbox (the verdict of a program is the same: all pass or not).
- It skips no blank line among a functional test's JSON lines (any such row fails every
  sample there); ours skips them.
- `exit()` exists there (site's), not in our worker (`python -S`): call `sys.exit()`.

Time limit: 6 s per test (LiveCodeBench's default). Settings: `start_date` and
`end_date` (inclusive, "YYYY-MM-DD") keep the problems whose contest date is inside
the window; `difficulty` keeps one level; `public_only` skips the private tests.
"""

from __future__ import annotations

import base64
import datetime
import functools
import inspect
import io
import json
import pickle
import zlib
from pathlib import Path

from acecoder.benchmarks._common import field, hub_rows, read_rows
from acecoder.errors import ConfigError, InputError
from acecoder.records import Problem

TIMEOUT = 6.0  # seconds per test
# Expected outputs longer than this are compared inside the sandbox: a program's output
# comes back in a test's report, which holds at most 1 MiB (`execution/_sandbox/frames.py`).
INSIDE_OVER = 512 << 10
STDIN_PROMPT = (
    "{content}\n\nRead the inputs from stdin, solve the problem and write the answer to stdout. "
    "Write a complete Python program in one code block."
)
FUNCTIONAL_PROMPT = "{content}\n\nUse this starter code and complete it in one code block:\n\n```python\n{starter}\n```"

# LiveCodeBench's grader puts this in front of every program (`import_string` of its
# evaluation/testing_util.py, as nvidia-livecodebench 26.3 ships it), and importing its
# metrics raises the int-to-str digit limit: programs that lean on either pass there.
PRELUDE = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\n"
    "from io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\n"
    "import string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\n"
    "import math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
    "sys.set_int_max_str_digits(50000)\n"
)

HARNESS = '''import io as __acecoder_io
import sys as __acecoder_sys
__acecoder_code__ = compile({source!r}, "<program>", "exec")


def __acecoder_stdio__(stdin):
    saved = __acecoder_sys.stdin, __acecoder_sys.stdout
    out = __acecoder_io.TextIOWrapper(__acecoder_io.BytesIO(), encoding="utf-8", write_through=True)
    __acecoder_sys.stdin = __acecoder_io.TextIOWrapper(__acecoder_io.BytesIO(stdin.encode()), encoding="utf-8")
    __acecoder_sys.stdout = out
    try:
        exec(__acecoder_code__, {{"__name__": "__main__", "__builtins__": __builtins__}})
    except SystemExit:
        pass
    finally:
        __acecoder_sys.stdin, __acecoder_sys.stdout = saved
    out.flush()
    return out.buffer.getvalue().decode("utf-8", "replace")


def __acecoder_judge__(stdin, expected):  # for expected outputs that cannot leave (see stdio_test)
    return lcb_stdio(__acecoder_stdio__(stdin), expected)


'''

CALL = '''

def __acecoder_call__(name, *args):
    """LiveCodeBench's call: one Solution() for every test (a top-level function where
    there is no Solution class), a returned tuple read as a list."""
    global __acecoder_solution__
    try:
        target = __acecoder_solution__
    except NameError:
        target = __acecoder_solution__ = Solution() if isinstance(globals().get("Solution"), type) else None
    result = getattr(target, name)(*args) if target is not None else globals()[name](*args)
    return list(result) if isinstance(result, tuple) else result
'''


def stdio_harness(program: str) -> str:
    """The program the engine loads for a stdin problem (see the module docstring)."""
    return HARNESS.format(source=PRELUDE + program) + _comparison_source()


def functional_program(program: str) -> str:
    """The program the engine loads for a functional problem: the prelude, the model's
    code (after the starter's imports, see `program_for`) and the caller."""
    return PRELUDE + program + CALL


def tokens(text: str) -> list[list[str]]:
    """An expected output cut into lines of tokens (what the report shows)."""
    return [line.split() for line in text.strip().splitlines()]


def load(
    name: str = "livecodebench",
    *,
    path: str | Path | None = None,
    timeout: float = TIMEOUT,
    start_date: str | None = None,
    end_date: str | None = None,
    difficulty: str | None = None,
    public_only: bool = False,
) -> list[Problem]:
    """The problems inside the date window, in the file's order."""
    start, end = _date(start_date, "start_date"), _date(end_date, "end_date")
    if path is not None:
        rows, source = read_rows(path), str(path)
    else:
        rows = hub_rows(
            "livecodebench/code_generation_lite", "test", hint="test.jsonl (test2.jsonl, ...) of code_generation_lite"
        )
        source = "hf:livecodebench/code_generation_lite"
    problems = []
    for line, row in rows:
        date = _date(str(row.get("contest_date", ""))[:10] or None, "contest_date", source, line)
        if (start and (date is None or date < start)) or (end and (date is None or date > end)):
            continue
        if difficulty and row.get("difficulty") != difficulty:
            continue
        problems.append(_problem(row, source, line, timeout, public_only))
    return problems


def _problem(row: dict, source, line: int, timeout: float, public_only: bool) -> Problem:
    content = field(row, "question_content", source, line)
    starter = (row.get("starter_code") or "").strip()
    cases = _cases(row.get("public_test_cases"), source, line)
    if not public_only:
        cases += _cases(row.get("private_test_cases"), source, line)
    meta = row.get("metadata") or {}
    if isinstance(meta, str):
        meta = json.loads(meta or "{}")
    functional = bool(cases) and cases[0].get("testtype") == "functional"
    if functional:
        func = meta.get("func_name")
        if not func:
            raise InputError("a functional problem without metadata.func_name", path=str(source), line=line)
        try:
            tests = [functional_test(func, case["input"], case["output"]) for case in cases]
        except (ValueError, KeyError, AttributeError) as error:
            raise InputError(f"a functional test case is not JSON lines: {error}", path=str(source), line=line) from None
        prompt = FUNCTIONAL_PROMPT.format(content=content.strip(), starter=starter)
    else:
        func = None
        tests = [stdio_test(c["input"], c["output"]) for c in cases]
        prompt = STDIN_PROMPT.format(content=content.strip())
    return Problem(
        id=str(field(row, "question_id", source, line)),
        benchmark="livecodebench",
        prompt=prompt,
        tests=tests,
        entry_point=func,
        timeout=timeout,
        metadata={
            "kind": "functional" if functional else "stdin",
            "code_prompt": starter or None,
            "defines": "Solution" if functional else None,
            "platform": row.get("platform"),
            "difficulty": row.get("difficulty"),
            "contest_date": str(row.get("contest_date", ""))[:10],
            "title": row.get("question_title"),
        },
    )


def stdio_test(stdin: str, expected: str) -> str:
    """The test of one stdin case (run on `stdio_harness`); also a suite's under the
    LiveCodeBench rule (`acecoder.execution`). The program's stdout comes back and the
    engine compares it (`__lcb_stdio__`), so the expected output never enters the
    sandbox; one too long for a test's report (`INSIDE_OVER`) is compared inside it."""
    if len(expected) <= INSIDE_OVER:
        return f"assert __lcb_stdio__(__acecoder_stdio__({stdin!r}), {expected!r})"
    return f"assert __acecoder_judge__({stdin!r}, {expected!r})"


@functools.cache
def _comparison_source() -> str:
    from acecoder.execution._graders import lcb_stdio

    return "\n\n" + inspect.getsource(lcb_stdio)


def functional_test(func: str, arguments: str, expected: str) -> str:
    """The test of one functional case: its arguments and answer are JSON lines
    (ValueError when they are not); run on `functional_program`."""
    args = [json.loads(part) for part in arguments.split("\n") if part.strip()]
    answer = json.loads(expected)
    return f"assert __acecoder_call__({func!r}{''.join(', ' + repr(a) for a in args)}) == {answer!r}"


def _cases(value, source, line: int) -> list[dict]:
    """Test cases from JSON text, or from the release's base64(zlib(pickle(JSON text)))."""
    if not value:
        return []
    if isinstance(value, list):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        text = _StringsOnly(io.BytesIO(zlib.decompress(base64.b64decode(value)))).load()
        return json.loads(text)
    except Exception as error:  # noqa: BLE001  (base64, zlib, pickle and JSON each raise their own)
        raise InputError(f"test cases are neither JSON nor the compressed release format: {error}", path=str(source), line=line) from None


class _StringsOnly(pickle.Unpickler):
    """The release pickles a JSON string; refuse any pickle that would import code."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: test cases hold only text")


def _date(text, what: str, source=None, line: int | None = None) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        message = f"{what} {text!r} is not a date (YYYY-MM-DD)"
        if source is None:
            raise ConfigError(message) from None
        raise InputError(message, path=str(source), line=line) from None
