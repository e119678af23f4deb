"""LiveCodeBench, code generation: contest problems (LeetCode, AtCoder, Codeforces)
released after a date, so that a model's training data can be excluded by window.

Format: the release `livecodebench/code_generation_lite` (`test.jsonl`, `test2.jsonl`,
..., or the hub): `question_id`, `question_title`, `question_content`, `platform`,
`contest_date` (ISO), `starter_code`, `difficulty`, `public_test_cases` and
`private_test_cases` (JSON text, the private ones usually base64 of zlib of a pickled
JSON string), `metadata` (JSON text with `func_name` for LeetCode problems).

Two kinds of tests, both judged by the engine on plain values:

- stdin (AtCoder, Codeforces): the program reads stdin at top level, so it cannot be
  the program the engine loads. The engine loads a small harness instead, holding the
  program's source compiled; each test calls `__acecoder_stdio__(input)`, which runs
  the source as `__main__` with that stdin and returns its stdout as lines of
  whitespace-separated tokens, compared with the expected output cut the same way
  (LiveCodeBench compares stripped lines; tokens also forgive repeated spaces).
- functional (LeetCode): `assert Solution().<func_name>(*args) == expected`, the
  arguments and the answer decoded from their JSON lines.

Time limit: 6 s per test (LiveCodeBench's default). Settings: `start_date` and
`end_date` (inclusive, "YYYY-MM-DD") keep the problems whose contest date is inside
the window; `difficulty` keeps one level; `public_only` skips the private tests.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import pickle
import zlib
from pathlib import Path

from acecoder.benchmarks._common import field, hub_rows, read_rows
from acecoder.errors import ConfigError, InputError
from acecoder.records import Problem

TIMEOUT = 6.0  # seconds per test
STDIN_PROMPT = (
    "{content}\n\nRead the inputs from stdin, solve the problem and write the answer to stdout. "
    "Write a complete Python program in one code block."
)
FUNCTIONAL_PROMPT = "{content}\n\nUse this starter code and complete it in one code block:\n\n```python\n{starter}\n```"

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
    text = out.buffer.getvalue().decode("utf-8", "replace")
    return [line.split() for line in text.strip().splitlines()]
'''


def stdio_harness(program: str) -> str:
    """The program the engine loads for a stdin problem (see the module docstring)."""
    return HARNESS.format(source=program)


def tokens(text: str) -> list[list[str]]:
    """An expected output cut as `__acecoder_stdio__` cuts the program's."""
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
        tests = [_functional_test(case, func, source, line) for case in cases]
        prompt = FUNCTIONAL_PROMPT.format(content=content.strip(), starter=starter)
    else:
        func = None
        tests = [f"assert __acecoder_stdio__({c['input']!r}) == {tokens(c['output'])!r}" for c in cases]
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


def _functional_test(case: dict, func: str, source, line: int) -> str:
    try:
        args = [json.loads(part) for part in case["input"].split("\n") if part.strip()]
        expected = json.loads(case["output"])
    except (json.JSONDecodeError, KeyError, AttributeError) as error:
        raise InputError(f"a functional test case is not JSON lines: {error}", path=str(source), line=line) from None
    return f"assert Solution().{func}({', '.join(map(repr, args))}) == {expected!r}"


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
