"""The sandbox's frames read into ExecutionResults: the trusted side of a verdict.

Guarantees: a check test (`assert <expr> <op> <expr>`, see `_plan.py`) passes only on
the engine's own comparison of the values the sandbox sent against expected values it
never saw; a PASS frame for one is refused as forged. A frame too short to hold its
timing, a kind that is not known, or values that do not parse make that test an ERROR,
never a PASS. Load failures map to a closed ProgramStatus.

Does not: tell a frame a program forged from one the sandbox wrote, for tests the
sandbox judges itself (any other shape): those verdicts are as trustworthy as the
program (see `_sandbox/frames.py`).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from acecoder.execution._plan import Check, judge, read_values
from acecoder.records import ExecutionResult, ProgramStatus, TestOutcome

if TYPE_CHECKING:
    from acecoder.execution._engine import _Task

TIMING = struct.Struct("<ff")  # after the kind of every test frame: its CPU and wall seconds
LOAD_STATUS = {
    b"S": ProgramStatus.SYNTAX_ERROR,
    b"I": ProgramStatus.IMPORT_ERROR,
    b"R": ProgramStatus.RUNTIME_ERROR,
    b"M": ProgramStatus.MEMORY_EXCEEDED,
    b"T": ProgramStatus.TIMEOUT,
    b"C": ProgramStatus.CRASHED,
}
TEST_OUTCOME = {
    b"P": TestOutcome.PASS,
    b"F": TestOutcome.FAIL,
    b"E": TestOutcome.ERROR,
    b"T": TestOutcome.TIMEOUT,
    b"C": TestOutcome.CRASHED,
    b"N": TestOutcome.NOT_RUN,
}


def to_result(task: _Task, load: bytes, frames: list, seconds: float) -> ExecutionResult:
    job, plan = task.job, task.plan
    n = len(plan)
    kind = load[:1]
    if kind != b"L":
        status = LOAD_STATUS.get(kind, ProgramStatus.CRASHED)
        error = load[1:].decode("utf-8", "replace") or None
        if status is ProgramStatus.TIMEOUT:
            error = "the program's top level ran past its time limit"
        return ExecutionResult(
            id=job.id, status=status, outcomes=[TestOutcome.NOT_RUN] * n, messages=[None] * n,
            pass_rate=0.0, error=error, seconds=seconds, test_cpu_seconds=[0.0] * n, test_wall_seconds=[0.0] * n,
            values=[None] * n if job.capture else None,
        )
    outcomes, messages, cpu, wall = [], [], [], []
    values = [] if job.capture else None
    for frame, judge_with in zip(frames, plan.judges):
        if len(frame) > TIMING.size:
            kind, (cpu_seconds, wall_seconds), body = frame[:1], TIMING.unpack_from(frame, 1), frame[1 + TIMING.size:]
            outcome, message = _judge_frame(kind, body, judge_with)
        else:  # written by the program itself, not by our child code
            kind, cpu_seconds, wall_seconds, body = b"", 0.0, 0.0, b""
            outcome, message = TestOutcome.ERROR, "malformed result from the sandbox"
        outcomes.append(outcome)
        messages.append(message)
        cpu.append(round(cpu_seconds, 6))
        wall.append(round(wall_seconds, 6))
        if values is not None:
            values.append(_captured(kind, body))
    passed = sum(outcome is TestOutcome.PASS for outcome in outcomes)
    return ExecutionResult(
        id=job.id, status=ProgramStatus.OK, outcomes=outcomes, messages=messages,
        pass_rate=passed / n if n else 0.0, seconds=seconds, test_cpu_seconds=cpu, test_wall_seconds=wall,
        values=values,
    )


def _captured(kind: bytes, body: bytes):
    """The value of a test's first expression that ran in the sandbox, else None."""
    if kind != b"V":
        return None
    try:
        found = read_values(body)
    except (ValueError, TypeError, RecursionError, MemoryError):
        return None
    return found[0] if isinstance(found, list) and found else None


def _judge_frame(kind: bytes, body: bytes, judge_with) -> tuple[TestOutcome, str | None]:
    if isinstance(judge_with, str):  # the test itself is broken
        return TestOutcome.ERROR, judge_with
    if kind == b"V":
        if not isinstance(judge_with, Check):
            return TestOutcome.ERROR, "unexpected values from the sandbox"
        passed, message = judge(judge_with, body)
        if passed is None:
            return TestOutcome.ERROR, message
        return (TestOutcome.PASS if passed else TestOutcome.FAIL), message
    if kind == b"P" and isinstance(judge_with, Check):
        return TestOutcome.ERROR, "unexpected verdict from the sandbox"  # forged
    outcome = TEST_OUTCOME.get(kind, TestOutcome.ERROR)
    message = body.decode("utf-8", "replace") or None
    if outcome is TestOutcome.TIMEOUT:
        message = "ran past the time limit"
    return outcome, message


def lost(task: _Task, why: str) -> ExecutionResult:
    n = len(task.plan)
    return ExecutionResult(
        id=task.job.id, status=ProgramStatus.CRASHED, outcomes=[TestOutcome.CRASHED] * n,
        messages=[None] * n, pass_rate=0.0, error=why, test_cpu_seconds=[0.0] * n, test_wall_seconds=[0.0] * n,
    )
