"""Moves the expected values of a pytest file out of the sandbox.

A pytest file's test functions run in the program's process, so a literal they compare
with (`assert f(1) == [2, 3]`) is in memory the program can search. Before the file
enters the sandbox, each such assert among a test function's own statements (not inside
a loop, a branch or a `with`) becomes `__acecoder_check__(f(1))`: the sandbox records
the value and the test goes on. The literal stays with the engine, which judges the
recorded values of a passing item with the same operator (`pytest_checks`, a judge of
`_judges.py`), as it judges assert tests (`_plan.py`).

Which asserts move: one comparison whose one side is a literal (`ast.literal_eval`), the
other not; `is` and `is not` only against None, True or False; `in` and `not in` only
with the literal as the container. The rest (parametrized values, `pytest.approx`,
asserts in loops) stay in the sandbox, as pytest runs them.

What changes against pytest outside: a value that is no plain builtin one (a numpy array,
an object of the program's own class) cannot be compared outside and makes its test an
error; after a wrong value the function goes on to its next statement, where pytest
would stop (the test fails either way, but it may now time out instead).
"""

from __future__ import annotations

import ast
import functools

from acecoder.execution._plan import OPERATORS, is_literal

RECORD = "__acecoder_check__"  # the name the harness binds in the test module


@functools.lru_cache(maxsize=256)
def split(code: str) -> tuple[str, dict[str, tuple]]:
    """(the file the sandbox runs, {test key: ((symbol, literal source, literal on the
    left), ...)}); a test key is `test_f` or `TestClass::test_f`, as pytest's ids begin.
    A file that does not parse goes in as it is (pytest reports it)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return code, {}
    checks: dict[str, tuple] = {}
    for node in tree.body:
        if _is_test_function(node):
            checks[node.name] = _move_asserts(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for member in node.body:
                if _is_test_function(member):
                    checks[f"{node.name}::{member.name}"] = _move_asserts(member)
    checks = {key: found for key, found in checks.items() if found}
    return (ast.unparse(tree) if checks else code), checks


def key_of(test_id: str) -> str:
    """The test key of a collected id: `test_f[1-2]` -> `test_f`."""
    return test_id.split("[", 1)[0]


def _is_test_function(node) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")


def _move_asserts(function) -> tuple:
    found = []
    for position, statement in enumerate(function.body):
        moved = _split_assert(statement)
        if moved is None:
            continue
        value, check = moved
        call = ast.Call(func=ast.Name(RECORD, ast.Load()), args=[value], keywords=[])
        function.body[position] = ast.copy_location(ast.Expr(call), statement)
        found.append(check)
    ast.fix_missing_locations(function)
    return tuple(found)


def _split_assert(statement):
    """(the value's expression, (symbol, literal source, literal on the left)) or None."""
    if not isinstance(statement, ast.Assert) or not isinstance(statement.test, ast.Compare):
        return None
    test = statement.test
    if len(test.ops) != 1 or type(test.ops[0]) not in OPERATORS:
        return None
    symbol = OPERATORS[type(test.ops[0])][0]
    left, right = test.left, test.comparators[0]
    left_literal, right_literal = is_literal(left), is_literal(right)
    if left_literal == right_literal:
        return None
    value, literal = (right, left) if left_literal else (left, right)
    if symbol in ("is", "is not") and not (isinstance(literal, ast.Constant) and literal.value in (None, True, False)
                                          and type(literal.value) in (type(None), bool)):
        return None
    if symbol in ("in", "not in") and left_literal:
        return None  # the value would be the container: judged in the sandbox, as pytest does
    return value, (symbol, ast.unparse(literal), left_literal)

