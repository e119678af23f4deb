"""The comparisons of other projects' graders, made by the engine on the values a
program's run sent back (its stdout, or a call's return value): the expected outputs
never enter the sandbox. Each is a judge of `_judges.py` (`assert NAME(expr, literal)`).

`__prime_stdio__(stdout, expected)` and `__prime_call__(returned, expected_json)` are
verl's `prime_code` (`verl/utils/reward_score/prime_code/testing_util.py`, verl 0.9.1,
itself APPS's `testing_util.py`), step by step, without numpy:

stdin/stdout, passes at the first step that holds:
 1. the whole output, stripped, equals the expected text, stripped; or the output's lines,
    each stripped, joined by newlines and stripped, equal it;
 2. the output's lines (`splitlines`) are exactly [expected];
 3. they equal the expected lines (`split("\\n")`, empty ones dropped, then each stripped);
 4. so do they with their own empty lines dropped;
 5. unless every line on both sides is a string of digits (`str.isdigit`), each line on
    both sides is one number (`float`) and the two lists are as long and
    `numpy.allclose` (rtol 1e-5, atol 1e-8); a count mismatch found while checking
    digits skips this step, as `zip(strict=True)` does there.
 Its later step (comparing sets of tokens) compares a list of strings with a list of
 sets and never passes, so it is left out.

`__lcb_stdio__(stdout, expected)` is LiveCodeBench's comparison of a stdin program's output
(`lcb_stdio`; `acecoder.benchmarks.livecodebench` has the grader it comes from).

call-based: the expected JSON is read; a dict whose keys all read as ints becomes
`[{int(k): v}]` (APPS's fix for JSON's string keys); a returned tuple is read as a list;
then it passes when the return equals the expected value, or its first element when
that is a non-empty list, or, when the return's first element is a tuple, the return
with each element made a list equals that first element. Returns that `json.dumps`
refuses (sets, bytes, objects) never get here: the sandbox side raises on them, as
prime_code's own `json.dumps` of the output does.
"""

from __future__ import annotations

import functools
import json

RTOL, ATOL = 1e-05, 1e-08  # numpy.allclose's defaults, which prime_code uses


def lcb_stdio(out, expected: str) -> bool:
    """LiveCodeBench's comparison: stripped lines, as many as expected; each equal as
    text, or else every token of both numeric and equal as Decimals (1.0 is 1).
    Self-contained: the LiveCodeBench harness carries its source into the sandbox for
    expected outputs too long to come back (`livecodebench.stdio_test`)."""
    from decimal import Decimal

    if not isinstance(out, str):
        return False
    got = [line.strip() for line in out.strip().split("\n")]
    want = [line.strip() for line in expected.strip().split("\n")]
    if len(got) != len(want):
        return False
    for mine, theirs in zip(got, want):
        if mine == theirs:
            continue
        try:
            if [Decimal(t) for t in mine.split()] != [Decimal(t) for t in theirs.split()]:
                return False
        except ArithmeticError:
            return False
    return True


def prime_stdio(out, expected: str) -> bool:
    if not isinstance(out, str):
        return False
    lines = out.splitlines()
    if _stripped_equal("\n".join(lines), expected) or _stripped_equal("\n".join(s.strip() for s in lines), expected):
        return True
    if lines == [expected]:
        return True
    wanted = [s.strip() for s in expected.split("\n") if s]
    if lines == wanted:
        return True
    lines = [s for s in lines if s]
    if lines == wanted:
        return True
    try:
        if not all(_digits(a) and _digits(b) for a, b in zip(lines, wanted, strict=True)):
            got, want = [float(s) for s in lines], [float(s) for s in wanted]
            return len(got) == len(want) and all(_close(a, b) for a, b in zip(got, want))
    except (ValueError, OverflowError):
        pass
    return False


def _stripped_equal(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def _digits(text: str) -> bool:
    return text.isdigit()


def _close(a: float, b: float) -> bool:
    if a == b:  # also equal infinities
        return True
    if a != a or b != b or a in (float("inf"), float("-inf")) or b in (float("inf"), float("-inf")):
        return False
    return abs(a - b) <= ATOL + RTOL * abs(b)


def prime_call(out, expected: str) -> bool:
    want = _expected_call(expected)
    if isinstance(out, tuple):
        out = list(out)
    if _equal(out, want):
        return True
    if isinstance(want, list) and want and _equal(out, want[0]):
        return True
    try:
        if isinstance(out[0], tuple) and isinstance(want, list) and want:
            return _equal([list(x) for x in out], want[0])
    except (TypeError, IndexError, KeyError):
        pass
    return False


@functools.lru_cache(maxsize=1 << 16)
def _expected_call_cached(text: str):
    want = json.loads(text)
    if isinstance(want, dict):
        try:
            want = [{int(k): v for k, v in want.items()}]
        except (ValueError, TypeError):
            pass
    try:
        if isinstance(want[0], dict):
            want = [{int(k): v for k, v in want[0].items()}]
    except (ValueError, TypeError, IndexError, KeyError):
        pass
    return want


def _expected_call(text: str):
    # The cached value is shared by every sample of a question: comparisons only read it.
    return _expected_call_cached(text)


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError, RecursionError):  # an Opaque result (see _plan.py) equals nothing here
        return False
