"""The records that stages exchange, one type per artefact, defined here once.

Records are plain dataclasses so that hot paths (RL rewards, best-of-N) pay nothing
for them; files of records are validated on the way in by `acecoder.data.jsonl`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum


class ProgramStatus(StrEnum):
    """What happened when the program itself (its top level) was run."""

    OK = "ok"
    SYNTAX_ERROR = "syntax_error"
    IMPORT_ERROR = "import_error"  # a module it imports is missing
    RUNTIME_ERROR = "runtime_error"  # an exception at top level
    TIMEOUT = "timeout"  # the top level ran past its time limit
    CRASHED = "crashed"  # the process died (signal, os._exit, CPU limit)
    MEMORY_EXCEEDED = "memory_exceeded"


class TestOutcome(StrEnum):
    """The verdict of one test."""

    __test__ = False  # not a pytest class

    PASS = "pass"
    FAIL = "fail"  # the assertion was false
    ERROR = "error"  # any other exception; `messages` says which
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # the process died during this test
    NOT_RUN = "not_run"  # the program did not load, so no test ran


@dataclass(slots=True, kw_only=True)
class ExecutionJob:
    """A program to run against assert-style tests."""

    id: str
    program: str
    tests: list[str]


@dataclass(slots=True, kw_only=True)
class ExecutionResult:
    """The outcome of every test of one program, in the order of its tests."""

    id: str
    status: ProgramStatus
    outcomes: list[TestOutcome]
    pass_rate: float  # passed tests / all tests (0.0 without tests)
    messages: list[str | None] = field(default_factory=list)  # per test, why it did not pass
    error: str | None = None  # why the program did not load
    seconds: float = 0.0  # wall time in the sandbox, restarts included

    @property
    def passed(self) -> int:
        return sum(outcome is TestOutcome.PASS for outcome in self.outcomes)

    @property
    def all_passed(self) -> bool:
        return bool(self.outcomes) and self.passed == len(self.outcomes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
