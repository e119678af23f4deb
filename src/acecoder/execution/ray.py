"""Run the execute stage's programs on a Ray cluster, one Engine per CPU slot.

    from acecoder.execution.ray import RayExecutor

    with RayExecutor(address="auto", timeout=3.0) as executor:
        for result in executor.map(jobs):  # ExecutionResult, in input order
            ...

Jobs go out in batches (`programs_per_task` programs each). Each batch runs on the
project's own sandbox engine on some node, so verdicts are the single-machine
engine's, byte for byte; only `seconds` differs. Two ways to host the engines:

- "actors" (the default): one long-lived actor per `workers_per_task` CPUs of the
  cluster, each holding an `Engine`; a batch is a method call. The engine's start
  (about 0.1 s: worker processes, their zygotes) is paid once per actor.
- "tasks": each batch is a stateless Ray task that starts an Engine, runs the
  batch and closes it. Simpler to schedule, but every batch pays the engine start;
  `speed/bench_ray.py` measures both (see docs/scaling.md).

Backpressure: at most `tasks_in_flight` batches are submitted and running, and at most
REORDER_BATCHES times as many finished ones wait to be yielded in order behind a slow
batch, so a 20-million-test run never holds more than a bounded number of batches of
jobs and results in memory, and a hanging batch never idles the cluster; the input
iterable is read lazily.

Failures: when a batch's actor, task or node dies, Ray restarts the actor (on
another node if its own is gone; `max_restarts=-1`) and runs the batch again there,
up to `attempts` runs in all (`max_task_retries` / `max_retries`). Ray, not we,
retries: a call sent to an actor that is still restarting would fail at once, while
Ray's own retry waits for the restart. Each batch's verdicts are taken from exactly
one finished call, so a retry never loses nor duplicates a verdict. A batch that
still fails, or whose engine raised (a node that cannot sandbox), stops the run with
a SandboxError.

Ray is imported only here, inside the functions that use it:
`import acecoder.execution` does not load it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
from collections.abc import Iterable, Iterator

from acecoder.data.streams import chunks
from acecoder.errors import ConfigError, SandboxError
from acecoder.execution._engine import Engine
from acecoder.records import ExecutionJob, ExecutionResult, TestSuite

__all__ = ["RayExecutor"]

REORDER_BATCHES = 8  # finished batches kept waiting behind a slow one, per batch in flight

_INSTALL = "pip install 'acecoder[ray]'  (or: pip install ray==2.60.0)"
POOLS = ("actors", "tasks")
PER_ACTOR = 2  # batches given to one actor at once: it starts the next while the last one ends


class RayExecutor:
    """Runs ExecutionJobs on a Ray cluster with the same `.map` / `.run` as `Engine`.

    Use as a context manager, or call `close()`. Not thread-safe: one caller at a time.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        programs_per_task: int = 64,
        workers_per_task: int = 1,
        slots: int | None = None,
        tasks_in_flight: int | None = None,
        pool: str = "actors",
        attempts: int = 3,
        timeout: float = 3.0,
        program_timeout: float | None = None,
        memory_mb: int = 2048,
    ):
        """
        Args:
            address: the cluster. None: Ray's default (RAY_ADDRESS, else a running local
                cluster, else a new one); "local": start Ray on this machine with all its
                CPUs; "auto": the cluster this node belongs to; "ray://HOST:10001": a
                remote cluster through Ray Client. When Ray is already initialised in
                this process, that session is used and `address` is ignored.
            programs_per_task: programs in one batch (one Ray call). Larger batches
                cost less overhead per program; smaller ones balance hangs better.
            workers_per_task: sandbox processes of each engine; also the CPUs each
                actor or task reserves.
            slots: engines across the cluster, at most (default and upper bound: its
                CPUs // workers_per_task).
            tasks_in_flight: batches submitted and not finished, at most (default: 2 per
                slot, at least 4); finished ones waiting for their turn: at most
                REORDER_BATCHES times that. Bounds memory, not speed.
            pool: "actors" (long-lived engines) or "tasks" (an engine per batch).
            attempts: runs of one batch, Ray's retries included, before the run stops
                (1: no retry).
            timeout: CPU seconds each test may take (as in `Engine`).
            program_timeout: seconds the program's top level may take (default: `timeout`).
            memory_mb: address-space limit of each program's process, in MiB.
        """
        if pool not in POOLS:
            raise ConfigError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
        for name, value in (("programs_per_task", programs_per_task), ("workers_per_task", workers_per_task),
                            ("attempts", attempts), ("slots", slots or 1), ("tasks_in_flight", tasks_in_flight or 1)):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, not {value}")
        if timeout <= 0 or (program_timeout is not None and program_timeout <= 0):
            raise ConfigError("timeouts must be positive numbers of seconds")
        try:
            import ray
        except ImportError:
            raise ConfigError(f"running on Ray needs the 'ray' package: {_INSTALL}") from None
        self._ray = ray
        self.pool = pool
        self.programs_per_task = programs_per_task
        self.attempts = attempts
        self._options = {"workers": workers_per_task, "timeout": timeout,
                         "program_timeout": program_timeout, "memory_mb": memory_mb}
        self._started_ray = self._closed = False
        if not ray.is_initialized():
            self._connect(address)
        self._actors: list = []
        try:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if cpus < workers_per_task:
                raise ConfigError(f"the Ray cluster has {cpus} CPUs, fewer than workers_per_task ({workers_per_task})")
            # More engines than fit would wait forever for CPUs: `slots` only lowers the count.
            self.slots = min(slots or cpus, cpus // workers_per_task)
            self.tasks_in_flight = tasks_in_flight or max(4, PER_ACTOR * self.slots)
            if pool == "actors":
                # Two calls at once on one actor, both feeding its engine (thread-safe): its
                # sandbox workers go on with the next batch while the last one's tail finishes.
                host = ray.remote(num_cpus=workers_per_task, max_concurrency=PER_ACTOR,
                                  max_restarts=-1, max_task_retries=attempts - 1)(_EngineHost)
                self._actors = [host.remote(self._options) for _ in range(self.slots)]
                # Wait for every engine: a sandbox that cannot start fails here, not mid-run.
                self.isolation = ray.get([actor.isolation.remote() for actor in self._actors])[0]
            else:
                self._task = ray.remote(num_cpus=workers_per_task, max_retries=attempts - 1)(_run_batch)
                self.isolation = ray.get(self._task.remote([], self._options))[0]
        except ray.exceptions.RayError as error:
            self.close()
            raise SandboxError(f"the sandbox engine could not start on the Ray cluster: {error}") from error
        except BaseException:
            self.close()
            raise

    def _connect(self, address: str | None) -> None:
        ray = self._ray
        _check_reachable(address)
        try:
            if address == "local":
                # address="local": always a fresh cluster, even where one is running already.
                ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False,
                         logging_level=logging.WARNING)
            else:
                ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise ConfigError(f"cannot reach the Ray cluster at {address!r} (setting ray_address / --ray): {error}") from None
        self._started_ray = True

    # ------------------------------------------------------------ public API

    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionResult]:
        """Results in input order, streaming; jobs are read only as batches go out, and a
        slow batch holds back only the results after it (at most REORDER_BATCHES x
        tasks_in_flight batches of them), never new work."""
        ray = self._ray
        if self._closed:
            raise SandboxError("the Ray executor is closed")
        batches = enumerate(chunks((_wire(job) for job in jobs), self.programs_per_task))
        pending: dict = {}  # ObjectRef -> (index, batch, actor index or None)
        finished: dict[int, list[ExecutionResult]] = {}
        load = collections.Counter()  # actor index -> batches queued on it
        next_index, exhausted = 0, False
        try:
            while True:
                # Finished batches waiting behind a slow one do not count against the work in flight
                # (a hanging batch holds back its own position only), up to a bounded reorder buffer.
                while (not exhausted and len(pending) < self.tasks_in_flight
                       and len(finished) < REORDER_BATCHES * self.tasks_in_flight and self._has_room(load)):
                    item = next(batches, None)
                    if item is None:
                        exhausted = True
                        break
                    ref, actor = self._send(item[1], load)
                    pending[ref] = (item[0], item[1], actor)
                while next_index in finished:
                    yield from finished.pop(next_index)
                    next_index += 1
                if not pending:
                    if exhausted:
                        return
                    continue
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    index, batch, actor = pending.pop(ref)
                    if actor is not None:
                        load[actor] -= 1
                    try:
                        _, results = ray.get(ref)
                    except ray.exceptions.RayError as error:
                        raise SandboxError(
                            f"a batch of {len(batch)} programs (first id {batch[0][0]!r}) failed on the Ray "
                            f"cluster after {self.attempts} attempt(s): {error}"
                        ) from error
                    finished[index] = results
        finally:
            for ref in pending:  # an abandoned or failed run leaves nothing queued behind it
                try:
                    ray.cancel(ref, force=False)
                except Exception:
                    pass  # finished or lost meanwhile

    def run(self, jobs: Iterable[ExecutionJob]) -> list[ExecutionResult]:
        """All results, in input order."""
        return list(self.map(jobs))

    async def arun(self, jobs: Iterable[ExecutionJob]) -> list[ExecutionResult]:
        """`run` for asyncio callers, in a thread: other coroutines go on meanwhile."""
        return await asyncio.to_thread(self.run, list(jobs))

    def close(self) -> None:
        ray = self._ray
        self._closed = True
        for actor in self._actors:
            try:
                ray.kill(actor)  # its engine's sandbox workers die with the actor's process
            except Exception:
                pass
        self._actors = []
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
        self._started_ray = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ dispatch

    def _has_room(self, load: collections.Counter) -> bool:
        # Batches wait here rather than in an actor's queue, so each goes to whichever
        # engine frees first: a batch stuck behind hangs does not hold others up.
        return self.pool == "tasks" or min(load[i] for i in range(len(self._actors))) < PER_ACTOR

    def _send(self, batch: list[tuple], load: collections.Counter) -> tuple:
        """Submit one batch: its ObjectRef and the index of the actor it went to (or None)."""
        if self.pool == "tasks":
            return self._task.remote(batch, self._options), None
        actor = min(range(len(self._actors)), key=lambda i: load[i])
        load[actor] += 1
        return self._actors[actor].run.remote(batch), actor


# ---------------------------------------------------------------- what runs on the nodes


class _EngineHost:
    """The body of one actor: a long-lived engine on some node."""

    def __init__(self, options: dict):
        self.engine = Engine(**options)

    def isolation(self) -> list[str]:
        return self.engine.isolation

    def run(self, batch: list[tuple]) -> tuple[list[str], list[ExecutionResult]]:
        return self.engine.isolation, self.engine.run([_unwire(fields) for fields in batch])


def _run_batch(batch: list[tuple], options: dict) -> tuple[list[str], list[ExecutionResult]]:
    """The body of one stateless task: an engine for this batch only."""
    with Engine(**options) as engine:
        return engine.isolation, engine.run([_unwire(fields) for fields in batch])


def _wire(job: ExecutionJob) -> tuple:
    """A job as plain fields (cheaper for Ray to pickle than the dataclass), limits included."""
    tests = job.tests if isinstance(job.tests, TestSuite) else list(job.tests)  # a suite travels as the record
    return (job.id, job.program, tests, job.limits, job.stop_at_timeout, job.capture)


def _unwire(fields: tuple) -> ExecutionJob:
    id_, program, tests, limits, stop_at_timeout, capture = fields
    return ExecutionJob(id=id_, program=program, tests=tests, limits=limits, stop_at_timeout=stop_at_timeout,
                        capture=capture)


def _check_reachable(address: str | None) -> None:
    """Fail in seconds on a HOST:PORT nobody listens on (Ray's client retries for 30 s)."""
    if not address or address in ("local", "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"the Ray address {address!r} (setting ray_address / --ray) is not local, auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r} (setting ray_address / --ray): {error}") from None


