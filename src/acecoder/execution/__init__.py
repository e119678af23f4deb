"""Run untrusted programs against assert tests, each in a fresh sandboxed process.

    from acecoder.execution import Engine, ExecutionJob

    with Engine(timeout=3.0) as engine:
        results = engine.run([ExecutionJob(id="a", program=code, tests=tests)])

Each test may use `timeout` seconds of CPU (a job's `limits` give each test its own;
`limits_from_reference` derives them from a reference program's times), and every
result has each test's CPU and wall seconds. `execute(jobs)` does the same with a
temporary engine. `Engine(verdict_cache=True)` reuses verdicts across runs
(`VerdictCache`, keyed by program, tests, limits, the engine's code and Python).
Importing this package loads no heavy dependency.
"""

from acecoder.execution._cache import ENGINE_IDENTITY, VerdictCache
from acecoder.execution._engine import Engine
from acecoder.execution._plan import is_literal
from acecoder.records import ExecutionJob, ExecutionResult, ProgramStatus, TestOutcome

__all__ = ["ENGINE_IDENTITY", "Engine", "ExecutionJob", "ExecutionResult", "ProgramStatus", "TestOutcome", "is_literal",
           "VerdictCache", "decode_value", "encode_value", "execute", "limits_from_reference", "LIMIT_CAP",
           "LIMIT_FACTOR", "LIMIT_FLOOR"]


def execute(jobs, **options) -> list[ExecutionResult]:
    """Run `jobs` (ExecutionJob records) on a temporary Engine(**options); results in order."""
    with Engine(**options) as engine:
        return engine.run(jobs)


def encode_value(value) -> str:
    """`value` in the engine's plain JSON, the form check tests compare and `capture`
    returns (tuples, sets, bytes, NaN and huge integers kept as they are); TypeError
    for an object that is not plain data."""
    import json

    from acecoder.execution._plan import _plain

    return json.dumps(_plain(value))


def decode_value(text: str):
    """The value `encode_value` wrote."""
    from acecoder.execution._plan import read_values

    return read_values(text.encode() if isinstance(text, str) else text)


# The filter's defaults for limits from the oracle (speed/bench_limits.py), which the RL
# exports apply too, capped at the engine's default 3 s.
LIMIT_FLOOR, LIMIT_FACTOR, LIMIT_CAP = 0.1, 10.0, 3.0


def limits_from_reference(seconds: list[float], *, floor: float = LIMIT_FLOOR, factor: float = LIMIT_FACTOR,
                          cap: float = LIMIT_CAP) -> list[float]:
    """Each test's limit from a reference program's CPU seconds on it (the oracle's, a
    canonical solution's): max(floor, factor x its time), at most `cap`. EvalPlus's
    rule has the same form (floor 1 s, factor 4, no cap)."""
    return [min(cap, max(floor, factor * t)) for t in seconds]
