"""Run untrusted programs against assert tests, each in a fresh sandboxed process.

    from acecoder.execution import Engine, ExecutionJob

    with Engine(timeout=3.0) as engine:
        results = engine.run([ExecutionJob(id="a", program=code, tests=tests)])

`execute(jobs)` does the same with a temporary engine. Importing this package loads
no heavy dependency.
"""

from acecoder.execution._engine import Engine
from acecoder.records import ExecutionJob, ExecutionResult, ProgramStatus, TestOutcome

__all__ = ["Engine", "ExecutionJob", "ExecutionResult", "ProgramStatus", "TestOutcome", "execute"]


def execute(jobs, **options) -> list[ExecutionResult]:
    """Run `jobs` (ExecutionJob records) on a temporary Engine(**options); results in order."""
    with Engine(**options) as engine:
        return engine.run(jobs)
