"""How each test is split between the sandbox and the engine, and how it is judged.

A test is compiled once per distinct list of tests (programs of one question share
it). Its last statement decides its shape:

- check: `assert A <op> B` with one comparison operator, or `assert A`, or
  `assert not A`, or `assert JUDGE(A, literal, ...)` with a judge of `_judges.py`. The sandbox runs the statements before it, evaluates the operands
  that are not literals, and returns their values as plain data (exact builtin types
  only; see `plain` in `_sandbox/child.py`). The engine applies the operator. Literal
  operands never enter the sandbox, so a program can neither read the expected value
  nor forge a pass, and an object whose `__eq__` always returns True is refused
  before any comparison happens.
- plain: everything else (several comparisons, `is` against non-singletons, a last
  statement that is not an assert). The sandbox runs the test and reports pass
  (no exception), fail (AssertionError) or error.
- invalid: the test does not parse; it fails with an error without being run.

Comparisons then follow Python's own rules on builtin values: `1 == 1.0` and
`True == 1` hold, `[1] == (1,)` does not, float equality is exact.
"""

from __future__ import annotations

import ast
import functools
import json
import marshal
import operator
from dataclasses import dataclass

OPERATORS = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda a, b: a in b),
    ast.NotIn: ("not in", lambda a, b: a not in b),
    ast.Is: ("is", operator.is_),
    ast.IsNot: ("is not", operator.is_not),
}
SYMBOLS = {symbol for symbol, _ in OPERATORS.values()}
SINGLETONS = (None, True, False)  # the only values `is` can be judged on outside


@dataclass(frozen=True, slots=True)
class Check:
    """How the engine judges a check-shaped test from the operand values it gets back."""

    symbol: str  # "==", ..., "truth" for `assert A`, "not" for `assert not A`, or a judge's name
    compare: object  # the operator's function; None for truth tests
    operands: tuple  # per operand: (True, literal) or (False, index into the values)
    expected: bytes | None = None  # for `A == literal`: the payload that means "equal"


@dataclass(frozen=True, slots=True)
class TestPlan:
    """A compiled list of tests: what the sandbox gets, and how to judge its answers."""

    __test__ = False  # not a pytest class

    sandbox_blob: bytes  # marshal of one (setup code | None, exprs | None, container) or None per test
    judges: tuple  # per test: a Check, None (plain: the sandbox judges) or an error text

    def __len__(self) -> int:
        return len(self.judges)


@functools.lru_cache(maxsize=4096)
def compile_tests(tests: tuple[str, ...]) -> TestPlan:
    parts, judges = [], []
    for source in tests:
        part, judge = _compile_test(source)
        parts.append(part)
        judges.append(judge)
    return TestPlan(sandbox_blob=marshal.dumps(tuple(parts)), judges=tuple(judges))


def _compile_test(source: str):
    try:
        body = ast.parse(source, "<test>", "exec").body
        if not body:
            raise SyntaxError("the test is empty")
        setup = _compile_statements(body[:-1]) if len(body) > 1 else None
        last = body[-1]
        shape = _check_shape(last)
        if shape is None:
            return (_compile_statements(body), None, -1), None
        symbol, compare, nodes = shape
        operands, exprs, container = [], [], -1
        for position, node in enumerate(nodes):
            try:
                operands.append((True, ast.literal_eval(node)))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                operands.append((False, len(exprs)))
                if position == 1 and symbol in ("in", "not in"):
                    container = len(exprs)  # converted as a container: see plain_container
                exprs.append(compile(ast.Expression(node), "<test>", "eval", dont_inherit=True))
        if compare is not None and symbol not in SYMBOLS and not all(lit for lit, _ in operands[1:]):
            raise ValueError(f"{symbol}'s arguments after the first must be literals")
        sandbox_part = (setup, tuple(exprs), container)
        return sandbox_part, Check(symbol, compare, tuple(operands), _expected(symbol, operands))
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        return None, f"invalid test: {type(error).__name__}: {error}"[:300]


def _expected(symbol, operands) -> bytes | None:
    """The exact bytes the sandbox sends when `A == literal` holds with A's value
    of the literal's own type: a byte comparison then judges the common case."""
    literals = [value for is_literal, value in operands if is_literal]
    if symbol != "==" or len(literals) != 1:
        return None
    try:
        if literals[0] != literals[0]:  # NaN inside: equal bytes would not mean equal
            return None
        return json.dumps([_plain(literals[0])]).encode()
    except (TypeError, ValueError, RecursionError):
        return None


def _plain(value):
    """The sandbox's encoding (`plain` in `_sandbox/child.py`) for literal values."""
    t = type(value)
    if t is int and value.bit_length() > 13_000:
        return {"~i": format(value, "x")}
    if value is None or t in (bool, int, str):
        return value
    if t is float:
        return value if value - value == 0 else {"~f": repr(value)}
    if t is list:
        return [_plain(v) for v in value]
    if t is tuple:
        return {"~t": [_plain(v) for v in value]}
    if t is dict:
        return {"~d": [[_plain(k), _plain(v)] for k, v in value.items()]}
    if t in (set, frozenset):
        return {"~s": [_plain(v) for v in value]}
    if t is bytes:
        return {"~b": value.decode("latin-1")}
    if t is complex:
        return {"~c": [_plain(value.real), _plain(value.imag)]}
    raise TypeError(t)


def _compile_statements(statements):
    module = ast.Module(body=list(statements), type_ignores=[])
    return compile(module, "<test>", "exec", dont_inherit=True)  # not our __future__ imports


def _check_shape(node):
    """(symbol, function, operand nodes) for a check-shaped assert, else None."""
    if not isinstance(node, ast.Assert):
        return None
    test = node.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        symbol, compare = OPERATORS[type(test.ops[0])]
        left, right = test.left, test.comparators[0]
        if symbol in ("is", "is not") and not any(_is_singleton(n) for n in (left, right)):
            return None  # identity of other objects only means something in the sandbox
        return symbol, compare, (left, right)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return "not", None, (test.operand,)
    if isinstance(test, ast.Compare):
        return None
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.args and not test.keywords:
        from acecoder.execution._judges import JUDGES

        if test.func.id in JUDGES:
            return test.func.id, JUDGES[test.func.id], tuple(test.args)
    return "truth", None, (test,)


def is_literal(node) -> bool:
    """Whether an expression node is a literal (`ast.literal_eval` reads it): what a check
    test keeps on the engine's side."""
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _is_singleton(node) -> bool:
    return isinstance(node, ast.Constant) and any(node.value is s for s in SINGLETONS)


# ---------------------------------------------------------------- judging


def judge(check: Check, payload: bytes) -> tuple[bool | None, str | None]:
    """(passed, message) for a check test; passed is None when it is an error."""
    if payload == check.expected:
        return True, None
    try:
        values = read_values(payload)
        if not isinstance(values, list) or len(values) != sum(not lit for lit, _ in check.operands):
            raise ValueError("malformed result from the sandbox")
        operands = [value if is_literal else values[value] for is_literal, value in check.operands]
    except (ValueError, TypeError, RecursionError, MemoryError) as error:
        return None, f"cannot read the result: {error}"[:300]
    try:
        if check.symbol == "truth":
            ok = _truth(operands[0])
        elif check.symbol == "not":
            ok = not _truth(operands[0])
        elif check.symbol not in SYMBOLS:  # a judge of _judges.py
            ok = bool(check.compare(*operands))
        else:
            ok = bool(check.compare(*operands))
    except Exception as error:  # e.g. `<` between a list and an int, as Python would raise
        return None, f"{type(error).__name__}: {error}"[:300]
    if ok:
        return True, None
    if check.symbol in ("truth", "not"):
        return False, f"got {_short(operands[0])}"
    if check.symbol not in SYMBOLS:
        return False, f"{check.symbol.strip('_')}: got {_short(operands[0])}"
    return False, f"{_short(operands[0])} {check.symbol} {_short(operands[1])} is false"


def read_values(payload: bytes) -> list:
    """The operand values a check test's sandbox run sent (see `plain` in `_sandbox/child.py`)."""
    return json.loads(payload, object_hook=_revive)


class Opaque:
    """A result that is no plain value: known only by identity, type and C-level truth."""

    __slots__ = ("ident", "type_name", "truth")

    def __init__(self, ident, type_name, truth):
        self.ident, self.type_name, self.truth = ident, str(type_name), truth

    def __eq__(self, other):
        if isinstance(other, Opaque):  # the same object on both sides: an enum member, a sentinel
            if self.ident == other.ident:
                return True
            raise TypeError(f"a {self.type_name} and a {other.type_name} cannot be compared strictly")
        raise TypeError(f"a {self.type_name} result cannot be compared strictly")

    __hash__ = None

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _truth(value) -> bool:
    if isinstance(value, Opaque):
        if value.truth is None:
            raise TypeError(f"the truth of a {value.type_name} is decided by its own Python code")
        return bool(value.truth)
    return bool(value)


def _revive(obj: dict):
    """Rebuild the tagged types of `plain` in `_sandbox/child.py`."""
    if len(obj) != 1:
        raise ValueError("malformed result from the sandbox")
    ((tag, value),) = obj.items()
    if tag == "~t":
        return tuple(value)
    if tag == "~s":
        return frozenset(value)
    if tag == "~d":
        return {key: item for key, item in value}
    if tag == "~b":
        return value.encode("latin-1")
    if tag == "~c":
        return complex(*value)
    if tag == "~f" and value in ("inf", "-inf", "nan"):
        return float(value)
    if tag == "~r":
        return range(*value)
    if tag == "~i":
        return int(value, 16)
    if tag == "~o":
        return Opaque(*value)
    raise ValueError("malformed result from the sandbox")


def _short(value, limit: int = 80) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past str()'s digit limit
        text = f"<int of {value.bit_length()} bits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
