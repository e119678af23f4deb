"""An engine run that leaves a journal: every verdict appended to an executions file
as it arrives, and a rerun that reuses the verdicts already there.

    with ExecutionJournal(path, index, timeout=3.0, memory_mb=2048, resume=True) as journal:
        for unit, outcomes, seconds in journal.run(units):
            ...

What the filter stage runs its two phases on (`acecoder.stages.filter`): units of work
(a question and its jobs) walked in order, the engine fed only the jobs whose verdicts
are not known yet, results paired back with their units in input order. Memory holds one
unit at a time, whatever the number of jobs.

Two ways a verdict is reused, both keyed by what decides it (`digest`: program, tests,
limits and the engine's code):
- the executions file of an earlier run (`resume`), read into the index first; a garbled
  line (a crash, a full disk) or a stale one (another digest) runs again;
- the engine's verdict cache (`acecoder.execution.VerdictCache`), across runs and
  settings: a setting that changes no verdict (the filter's min_tests, say) runs nothing.

The engine starts only when a job must run; with `ray_address`, the same engine runs on
every node of a Ray cluster, with the same verdicts.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, Self

from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.records import ExecutionJob, ExecutionResult, SuiteKind, TestOutcome, TestSuite

__all__ = ["ExecutionJournal", "KnownVerdicts", "digest"]


class KnownVerdicts(Protocol):
    """Where verdicts of earlier runs are kept by job id and digest (`acecoder.data.index.SampleIndex`)."""

    def verdicts(self, job: str, digest: str) -> tuple[list[str], list[float] | None] | None: ...
    def add_verdicts(self, job: str, digest: str, outcomes: list[str], seconds: list[float] | None = None) -> None: ...
    def commit(self) -> None: ...


def digest(job: ExecutionJob, *, timeout: float, memory_mb: int) -> str:
    """What a verdict depends on: a result is reused only for the same program, tests and
    limits, judged by the same engine code."""
    from acecoder.execution import ENGINE_IDENTITY  # looked up at call time: tests swap it

    tests = job.tests.to_dict() if hasattr(job.tests, "to_dict") else job.tests
    key = [job.program, tests, timeout, memory_mb, ENGINE_IDENTITY]
    if job.limits is not None:
        key.append(job.limits)
    key = json.dumps(key, ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class ExecutionJournal:
    """The executions file and the engine, shared by every phase of a run.

    Each result is appended to `path` as it arrives (with `job` and `digest`); with
    `resume`, verdicts already there for the same job and digest are reused. `progress`
    gets `total(n)` before each phase, n counting the jobs to run in the phases planned
    so far, and `advance(result)` after each.

    After the run: `programs` (run by this call), `reused` (from the file or the verdict
    cache) and `isolation` (the sandbox's, or why the engine did not start).
    """

    def __init__(self, path: Path, known: KnownVerdicts, *, timeout: float, memory_mb: int,
                 workers: int | None = None, ray_address: str | None = None, resume: bool = False, progress=None):
        self.path, self.known, self.resume, self.progress = Path(path), known, resume, progress
        self.timeout, self.memory_mb, self.workers, self.ray_address = timeout, memory_mb, workers, ray_address
        self.programs = 0
        self.reused = 0
        self.isolation: list[str] = []
        self.planned = 0  # jobs to run, every phase
        self.jobs = 0  # jobs, run or reused
        self._stack = contextlib.ExitStack()
        self._engine = None
        self._collected: dict[str, tuple] = {}  # a pytest file's ids, by its text

    def __enter__(self) -> Self:
        if self.resume and self.path.exists():
            read_known(self.path, self.known)
        # resume: cuts a torn last line; otherwise the file starts empty
        self._writer = self._stack.enter_context(JsonlWriter(self.path, resume=self.resume, key=None))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()
        if self._engine is None:
            self.isolation = ["not started: every verdict reused" if self.jobs else "not started: nothing to run"]

    def digest(self, job: ExecutionJob) -> str:
        return digest(job, timeout=self.timeout, memory_mb=self.memory_mb)

    def collect(self, tests: list[str] | TestSuite) -> list[str] | TestSuite:
        """A pytest suite with its test ids, collected once per file in the sandbox (which
        starts the engine, resumed or not); any other tests as they are. Call it while
        listing a phase's units: their first walk, before the engine runs any, collects."""
        if not isinstance(tests, TestSuite) or tests.kind is not SuiteKind.PYTEST or tests.cases:
            return tests
        if tests.code not in self._collected:
            engine = self._started()
            if hasattr(engine, "collect"):
                ids = engine.collect(tests).cases
            else:  # Ray: the collection job itself, on a node
                from acecoder.execution._suites import collection_job

                result = next(iter(engine.map([collection_job(tests)])))
                ids = tuple(result.values[0]) if result.values and isinstance(result.values[0], list) else ()
            self._collected[tests.code] = ids
        return dataclasses.replace(tests, cases=self._collected[tests.code])

    def run(self, units: Callable[[], Iterator[tuple]]) -> Iterator[tuple[tuple, dict, dict]]:
        """(unit, outcomes per job id, CPU seconds per test per job id) for each unit of
        one phase, in order; `units()` yields (..., jobs) tuples, the same each time it
        is called.

        Three walks over the units, none holding more than one: one counts the jobs to
        run (the progress total), one feeds the engine the jobs it must run, and the
        last pairs the engine's results, which come in input order, with their units."""
        todo = sum(self._known(job) is None for *_, jobs in units() for job in jobs)
        self.planned += todo
        if self.progress:
            self.progress.total(self.planned)
        results = self._execute(job for *_, jobs in units() for job in jobs if self._known(job) is None)
        for unit in units():
            outcomes, seconds = {}, {}
            for job in unit[-1]:
                self.jobs += 1
                known = self._known(job)
                if known is None:
                    result = next(results)
                    known = result.outcomes, result.test_cpu_seconds
                else:
                    self.reused += 1
                outcomes[job.id], seconds[job.id] = known
            yield unit, outcomes, seconds
        if todo:
            results.close()  # every result is in: the engine's stream ends here
            self._settle()

    def _known(self, job: ExecutionJob) -> tuple[list[TestOutcome], list[float] | None] | None:
        """The job's verdicts (and CPU seconds per test) from the executions file of an
        earlier run, if there."""
        if not self.resume:
            return None
        known = self.known.verdicts(job.id, self.digest(job))
        # a pytest suite not yet collected has no cases to count: its verdicts, one per item, are whatever came
        countable = isinstance(job.tests, list) or len(job.tests) > 0
        if known is None or (countable and len(known[0]) != len(job.tests)):
            return None
        return [TestOutcome(value) for value in known[0]], known[1]

    def _start(self):
        limits = {"timeout": self.timeout, "memory_mb": self.memory_mb}
        if self.ray_address:  # the same engine on every node; the same verdicts
            from acecoder.execution.ray import RayExecutor

            return RayExecutor(address=self.ray_address, slots=self.workers, **limits)
        from acecoder.execution import Engine

        # Verdicts of other runs and earlier settings (see acecoder.execution.VerdictCache).
        return Engine(workers=self.workers, verdict_cache=True, **limits)

    def _started(self):
        if self._engine is None:
            self._engine = self._stack.enter_context(self._start())
            self.isolation = self._engine.isolation
        return self._engine

    def _execute(self, jobs: Iterator[ExecutionJob]) -> Iterator[ExecutionResult]:
        self._started()
        cache = getattr(self._engine, "verdict_cache", None)
        self._hits = cache.hits if cache is not None else 0
        self._ran = 0
        sent: collections.deque[tuple[str, str]] = collections.deque()  # (id, digest) of jobs out, in order

        def feed() -> Iterator[ExecutionJob]:
            for job in jobs:
                sent.append((job.id, self.digest(job)))
                yield job

        for result in self._engine.map(feed()):
            job_id, job_digest = sent.popleft()
            if result.id != job_id:  # the engine returns results in input order; anything else is a bug
                raise RuntimeError(f"the engine returned {result.id!r} where {job_id!r} was due")
            self._writer.write({**result.to_dict(), "job": result.id, "digest": job_digest})
            self._ran += 1
            if self.progress:
                self.progress.advance(result)
            yield result

    def _settle(self) -> None:
        """Split the phase's executed jobs into programs run and verdicts from the cache."""
        cache = getattr(self._engine, "verdict_cache", None)
        reused = (cache.hits - self._hits) if cache is not None else 0
        self.programs += self._ran - reused
        self.reused += reused


def read_known(path: Path, known: KnownVerdicts) -> None:
    """The verdicts of an earlier run's executions file, into `known` by job and digest;
    a garbled line runs again, and so does a stale one (its digest no longer matches)."""
    for _, row in read_jsonl(path, bad_lines=[]):
        job, job_digest, outcomes = row.get("job"), row.get("digest"), row.get("outcomes")
        if not (isinstance(job, str) and isinstance(job_digest, str) and isinstance(outcomes, list)):
            continue
        seconds = row.get("test_cpu_seconds")
        if not (isinstance(seconds, list) and len(seconds) == len(outcomes)
                and all(isinstance(t, (int, float)) for t in seconds)):
            seconds = None  # an older file: the verdicts still count
        try:
            known.add_verdicts(job, job_digest, [str(TestOutcome(value)) for value in outcomes], seconds)
        except (TypeError, ValueError):
            continue
    known.commit()
