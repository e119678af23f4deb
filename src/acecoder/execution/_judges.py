"""Judges a test can call by name: comparisons the engine makes, on plain values, where
no program can reach them.

A test whose last statement is `assert NAME(expr, literal, ...)`, NAME one of `JUDGES`,
is a check test (see `_plan.py`): the sandbox evaluates `expr` alone and sends its
value; the engine calls the judge with that value and the literals. The literals
(the expected output, above all) never enter the sandbox.

`__pytest_checks__(values, checks)` judges a pytest item's moved asserts (`pytest_checks`).

`__evalplus__(out, expected, atol, oracle, inputs)` compares a program's output as
EvalPlus 0.3.1 compares it (`evalplus/eval/__init__.py`, `unsafe_execute`):

- `out == expected`, except for the special oracles: `"set"` compares `set(out)` and
  `set(expected)`; `"not_none"` wants `out is not None` to equal the expected bool (or
  a bool output to equal it); `"always"`, `"zero"`, `"surface_area"` and
  `"digit_distance"` accept an output the task's own rule accepts (MBPP/164, 295,
  581, 558); `"poly"` wants a root of the polynomial `inputs[0]` within `atol`
  (HumanEval/32).
- An output that is not equal passes when `atol` is not 0, its type is the expected
  one's, a sequence has the expected length and the two are close as
  `numpy.allclose(out, expected, rtol=1e-07, atol=atol)` finds them (written here
  without numpy: the same broadcasting and the same rule for infinities and NaN).

`expected` and `inputs` are JSON in the sandbox's plain encoding (`plain` in
`_sandbox/child.py`), so that tuples, sets, NaN and big integers survive as they are. `atol` is
the one EvalPlus would use at this input: it raises a task's 0 to 1e-6 from the first
input whose expected output is a float (or a list of floats) on, for the rest of the
suite; the test's writer works that out (`acecoder.benchmarks.evalplus`).
"""

from __future__ import annotations

import cmath
import functools
import math

from acecoder.execution._graders import lcb_stdio, prime_call, prime_stdio
from acecoder.execution._plan import OPERATORS, Opaque, read_values

RTOL = 1e-07  # np.testing.assert_allclose's default, which EvalPlus passes explicitly


def evalplus(out, expected: str, atol: float, oracle: str, inputs: str) -> bool:
    try:
        return _evalplus(out, _decoded(expected), atol, oracle, _decoded(inputs))
    except Exception:  # noqa: BLE001  (EvalPlus counts any exception as a failed input)
        return False


_COMPARE = {symbol: function for symbol, function in OPERATORS.values()}


def pytest_checks(values, checks: tuple) -> bool:
    """A pytest item's recorded values against its moved asserts (`_pytest_checks.py`):
    each `(symbol, literal, literal on the left)` must hold, in order, as Python's operator
    holds on plain values (a value that is none is an error, as in `_plan.judge`)."""
    if type(values) is not list or len(values) != len(checks):
        return False  # the item ran, but not every one of its asserts did
    return all(_COMPARE[symbol](literal, value) if left else _COMPARE[symbol](value, literal)
               for value, (symbol, literal, left) in zip(values, checks))


# Other graders' comparisons (verl's prime_code, LiveCodeBench): `_graders.py`.
JUDGES = {"__evalplus__": evalplus, "__prime_stdio__": prime_stdio, "__prime_call__": prime_call,
          "__pytest_checks__": pytest_checks, "__lcb_stdio__": lcb_stdio}


def _evalplus(out, expected, atol, oracle, inputs) -> bool:
    if oracle == "poly":
        return abs(_poly(*inputs, out)) <= atol
    exact = _equal(out, expected)
    if oracle == "always":
        exact = True
    elif oracle == "zero":
        exact = exact or _equal(out, 0)
    elif oracle == "surface_area":
        exact = exact or abs(out - _surface_area(*inputs)) <= atol
    elif oracle == "digit_distance":
        exact = exact or _equal(out, _digit_distance(*inputs))
    elif oracle == "set":
        exact = set(out) == set(expected)
    elif oracle == "not_none":
        exact = _equal(out, expected) if isinstance(out, bool) else expected == (out is not None)
    if exact or atol == 0:
        return bool(exact)
    if type(out) is not type(expected):
        return False
    if isinstance(expected, (list, tuple)) and len(out) != len(expected):
        return False
    return allclose(out, expected, rtol=RTOL, atol=atol)


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except TypeError:  # an Opaque result: only equal to itself
        return False


@functools.lru_cache(maxsize=1 << 16)
def _decoded(text: str):
    return read_values(text)  # the same expected value is judged for every sample: decode it once


# ---------------------------------------------------------------- numpy.allclose, by hand


def allclose(a, b, *, rtol: float, atol: float) -> bool:
    """`numpy.allclose(a, b, rtol, atol)` for numbers and (nested) lists and tuples of
    them; False where numpy would raise (strings, None, ragged lists)."""
    try:
        shape_a, flat_a = _array(a)
        shape_b, flat_b = _array(b)
        shape = _broadcast(shape_a, shape_b)
    except (TypeError, ValueError):
        return False
    try:
        return all(_isclose(flat_a[i], flat_b[j], rtol, atol) for i, j in _pairs(shape, shape_a, shape_b))
    except OverflowError:  # an int too large for a float
        return False


def _array(x) -> tuple[tuple, list]:
    """(shape, values in row-major order) of what numpy would make a numeric array of."""
    if isinstance(x, (list, tuple)):
        parts = [_array(v) for v in x]
        if len({shape for shape, _ in parts}) > 1:
            raise ValueError("ragged")
        inner = parts[0][0] if parts else ()
        return (len(x), *inner), [v for _, values in parts for v in values]
    if isinstance(x, Opaque) or isinstance(x, (str, bytes, dict, frozenset, range)) or x is None:
        raise TypeError("not a number")
    if not isinstance(x, (int, float, complex)):
        raise TypeError("not a number")
    return (), [x]


def _broadcast(a: tuple, b: tuple) -> tuple:
    size = max(len(a), len(b))
    a, b = (1,) * (size - len(a)) + a, (1,) * (size - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        raise ValueError("shapes do not broadcast")
    return tuple(max(x, y) if 0 not in (x, y) else 0 for x, y in zip(a, b))


def _pairs(shape: tuple, shape_a: tuple, shape_b: tuple):
    """Flat indices into a and b of every element of the broadcast shape."""
    strides_a, strides_b = _strides(shape_a, len(shape)), _strides(shape_b, len(shape))
    total = math.prod(shape)
    for flat in range(total):
        i = j = 0
        rest = flat
        for axis in range(len(shape) - 1, -1, -1):
            rest, index = divmod(rest, shape[axis])
            i += index * strides_a[axis]
            j += index * strides_b[axis]
        yield i, j


def _strides(shape: tuple, ndim: int) -> list[int]:
    """Row-major strides of `shape` padded to ndim, 0 along broadcast (size-1) axes."""
    shape = (1,) * (ndim - len(shape)) + shape
    strides, step = [0] * ndim, 1
    for axis in range(ndim - 1, -1, -1):
        strides[axis] = step if shape[axis] != 1 else 0
        step *= shape[axis]
    return strides


def _isclose(x, y, rtol: float, atol: float) -> bool:
    finite = cmath.isfinite(x) and cmath.isfinite(y)
    if finite:
        return abs(x - y) <= atol + rtol * abs(y)
    return x == y  # infinities of one sign; NaN is never close


# ---------------------------------------------------------------- EvalPlus's own oracles


def _poly(xs, x):
    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])


def _surface_area(base_edge, height):
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(a, b):
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(p) - int(q)) for p, q in zip(left.zfill(width), right.zfill(width)))
