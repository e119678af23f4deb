"""Stage `execute`: run programs from a JSONL file against their tests, write verdicts.

Input lines: {"id", "program", "tests"} or, with `extract`, {"id", "completion", "tests"}.
Output lines: ExecutionResult records, in input order, appended as they finish.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.code import extract_code
from acecoder.data.tables import check_usable
from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.data.suites import read_suite
from acecoder.errors import InputError
from acecoder.records import ExecutionJob, ExecutionResult


@dataclass(kw_only=True)
class ExecuteSummary:
    programs: int = 0
    skipped: int = 0  # already in the output (resume)
    tests: int = 0
    passed: int = 0
    all_passed: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    isolation: list[str] = field(default_factory=list)

    def add(self, result: ExecutionResult) -> None:
        self.programs += 1
        self.tests += len(result.outcomes)
        self.passed += result.passed
        self.all_passed += result.all_passed
        self.statuses[str(result.status)] += 1


def load_jobs(path: Path, *, extract: str | None) -> list[tuple[int, dict]]:
    """Check every line before any program runs: fail fast, naming file and line."""
    rows, seen = [], {}
    source_field = "completion" if extract else "program"
    for number, row in read_jsonl(path):
        where = {"path": str(path), "line": number}
        if "id" not in row:
            raise InputError("missing field 'id'", **where)
        job_id = str(row["id"])
        if job_id in seen:
            raise InputError(f"id {job_id!r} also on line {seen[job_id]}: ids must be unique", **where)
        seen[job_id] = number
        text = row.get(source_field, row.get("program") if extract else None)
        if not isinstance(text, str):
            hint = " (or pass --extract for lines with 'completion')" if "completion" in row and not extract else ""
            raise InputError(f"field '{source_field}' must be a string{hint}", **where)
        tests = row.get("tests")
        if isinstance(tests, list) and all(isinstance(t, str) for t in tests):
            pass  # assert tests, as before
        elif isinstance(tests, dict) or (isinstance(tests, str)
                                         and (tests.lstrip()[:1] in ("[", "{") or "def test" in tests)):
            # a suite of another kind, in any layout read_suite reads (or its JSON text, or a pytest file)
            try:
                tests = read_suite(tests, where="field 'tests'")[0]
            except InputError as error:
                raise InputError(error.args[0], **where) from None
        else:
            raise InputError("field 'tests' must be a list of strings or a suite's object "
                             "({\"inputs\", \"outputs\"[, \"fn_name\"]}, {\"test\": pytest file}, ...)", **where)
        rows.append((number, {"id": job_id, "text": text, "tests": tests}))
    check_usable(str(path), len(rows), [])  # an empty file is a mistake, not an empty run
    return rows


def run(
    input_path: Path,
    output_path: Path,
    *,
    timeout: float = 3.0,
    workers: int | None = None,
    memory_mb: int = 2048,
    extract: str | None = None,
    resume: bool = False,
    ray_address: str | None = None,
    progress=None,
) -> ExecuteSummary:
    """Execute every job of `input_path`.

    `ray_address`, if given, runs the programs on a Ray cluster instead of this
    machine ("local" starts Ray here; "auto" or "ray://HOST:PORT" joins one; see
    `acecoder.execution.ray`); `workers` then caps the engines across the cluster.
    The verdicts are the same either way.
    `progress`, if given, gets `total(n)` once the jobs are counted and
    `advance(result)` after each program.
    """
    from acecoder.execution import Engine

    rows = load_jobs(input_path, extract=extract)
    summary = ExecuteSummary()
    started = time.monotonic()
    with JsonlWriter(output_path, resume=resume) as writer:
        todo = [row for _, row in rows if row["id"] not in writer.done]
        summary.skipped = len(rows) - len(todo)
        if progress:
            progress.total(len(todo))
        jobs = (
            ExecutionJob(
                id=row["id"],
                program=extract_code(row["text"], pick=extract) if extract else row["text"],
                tests=row["tests"],
            )
            for row in todo
        )
        if ray_address:
            from acecoder.execution.ray import RayExecutor

            engine = RayExecutor(address=ray_address, slots=workers, timeout=timeout, memory_mb=memory_mb)
        else:
            engine = Engine(workers=workers, timeout=timeout, memory_mb=memory_mb, verdict_cache=True)
        with engine:
            summary.isolation = engine.isolation
            for result in engine.map(jobs):
                writer.write(result.to_dict())
                summary.add(result)
                if progress:
                    progress.advance(result)
    summary.seconds = time.monotonic() - started
    return summary
