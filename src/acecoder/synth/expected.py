"""Expected values from the seed's own program, for question writers that cannot compute them.

The method trusts its question writer (GPT-4o-mini) for the expected values of its tests
and lets the oracle drop the wrong ones. A small writer gets most of them wrong (the
README's replication: Qwen2.5-Coder-0.5B's tests on MBPP+ seeds pass the seeds' right
programs less than half the time), and the method's filter then keeps few questions.
When the seed's program is known to be right
(MBPP+, instruction + response seeds), the writer's inputs are worth keeping and its
outputs are not: each `assert CALL == LITERAL` the seed program fails is rewritten with
the value the seed program returns (run in the engine, as any program), the way
EvalPlus and KodCode take expected outputs from a reference. A test the seed program
cannot run (an error, a timeout) is dropped, as the method's filter would drop it; a test
of another shape, or whose value has no literal form, stays as written for the filter.
"""

from __future__ import annotations

import ast
import math

from acecoder.execution import is_literal
from acecoder.records import ExecutionJob, TestOutcome


def with_expected_from(program: str, tests: list[str], engine) -> tuple[list[str], dict[str, int]]:
    """(the tests, each failed `A == literal` with `program`'s value of A, and those
    `program` cannot run dropped; counts of what happened: rewritten, dropped)."""
    (result,) = engine.run([ExecutionJob(id="reference", program=program, tests=list(tests), capture=True)])
    values = result.values or [None] * len(tests)
    kept, counts = [], {"rewritten": 0, "dropped": 0}
    for test, outcome, value in zip(tests, result.outcomes, values):
        if outcome is TestOutcome.PASS:
            kept.append(test)
        elif outcome is TestOutcome.FAIL:
            fixed = _rewritten(test, value)
            kept.append(fixed or test)
            counts["rewritten"] += fixed is not None
        else:  # error, timeout, crash, not run: the seed program cannot run it
            counts["dropped"] += 1
    return kept, counts


def _rewritten(test: str, value) -> str | None:
    """`test` with the literal of its last `assert A == literal` replaced by `value`'s, or None."""
    try:
        tree = ast.parse(test)
    except (SyntaxError, ValueError):
        return None
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Assert) and isinstance(last.test, ast.Compare) and len(last.test.ops) == 1
            and isinstance(last.test.ops[0], ast.Eq)):
        return None
    if not is_literal(last.test.comparators[0]) or is_literal(last.test.left):
        return None
    source = literal_source(value)
    if source is None:
        return None
    last.test.comparators[0] = ast.parse(source, mode="eval").body
    return ast.unparse(tree)


def literal_source(value) -> str | None:
    """Python literal text equal to `value` (builtin data as the engine returns it), or None."""
    t = type(value)
    if value is None or t in (bool, int, str, bytes, complex):
        return repr(value)
    if t is float:
        return repr(value) if math.isfinite(value) else None
    if t in (list, tuple, frozenset, set, dict):
        items = [literal_source(v) for v in (value if t is not dict else [x for kv in value.items() for x in kv])]
        if any(item is None for item in items):
            return None
        if t is list:
            return f"[{', '.join(items)}]"
        if t is tuple:
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if t is dict:
            return "{" + ", ".join(f"{k}: {v}" for k, v in zip(items[::2], items[1::2])) + "}"
        return "{" + ", ".join(items) + "}" if items else None  # no literal for an empty set
    return None  # a range, an object known only by identity (see execution._plan.Opaque)

