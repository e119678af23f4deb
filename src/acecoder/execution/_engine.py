"""The engine: a pool of sandbox workers, fed from one I/O thread.

Callers submit jobs from any thread and get `concurrent.futures.Future`s back; one
dispatcher thread writes jobs to the workers' pipes, reads their answers, judges the
check-shaped tests (the expected values live only here) and resolves the futures.
Each worker keeps two jobs in flight so that its zygote never waits for us.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import selectors
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future

from acecoder.data.streams import chunks
from acecoder.errors import SandboxError
from acecoder.execution._plan import TestPlan, compile_tests
from acecoder.execution._process import Worker
from acecoder.execution._results import lost, to_result
from acecoder.execution._suites import collection_job, lower
from acecoder.records import ExecutionJob, ExecutionResult, ProgramStatus, SuiteKind, TestOutcome, TestSuite

IN_FLIGHT = 2  # jobs queued per worker
# Loaded once in each zygote, so that programs importing them pay nothing. Each one
# also makes every fork a little dearer (page tables grow with the zygote), so only
# the modules generated solutions import most.
PRELOAD = "bisect collections copy functools heapq itertools math operator re string typing".split()


class Engine:
    """Runs programs against tests in sandboxed worker processes.

    Use as a context manager, or call `close()`. All methods are thread-safe.

        with Engine(workers=2, timeout=3.0) as engine:
            results = engine.run(jobs)
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        timeout: float = 3.0,
        program_timeout: float | None = None,
        memory_mb: int = 2048,
        file_mb: int = 16,
        max_files: int = 256,
        max_processes: int = 64,
        tmpfs_mb: int = 256,
        isolate: bool = True,
        user_namespace: bool | None = None,
        verdict_cache=None,
    ):
        """
        Args:
            workers: sandbox processes running in parallel (default: `default_workers()`,
                one per CPU core, shared among the processes of this node under torchrun or
                accelerate).
            timeout: CPU seconds each test may take (a test that sleeps or blocks is stopped
                after 5x that in wall time).
            program_timeout: seconds the program's top level may take (default: `timeout`).
            memory_mb: address-space limit of each program's process, in MiB.
            file_mb: largest file a program may write, in MiB.
            max_files: open file descriptors per process.
            max_processes: processes a program may have at once (with a sandbox uid).
            tmpfs_mb: size of each worker's private /tmp, in MiB.
            isolate: use namespaces where the kernel allows; False only for debugging.
            user_namespace: isolate inside a user namespace (no uid change, capabilities
                dropped) instead of switching to a sandbox uid; default: only when not root.
            verdict_cache: a `VerdictCache` (the caller's to close), or True for the user's
                default one (see `_cache.py`; this engine closes it), or None: every job runs.
                A job whose verdict is cached resolves at once; a new verdict is stored,
                unless a test or the program timed out (that depends on the machine's load).
        """
        if timeout <= 0 or (program_timeout is not None and program_timeout <= 0):
            raise ValueError("timeouts must be positive numbers of seconds")
        self.workers = workers or default_workers()
        self.timeout = timeout
        self.program_timeout = program_timeout or timeout
        self._settings = {
            "memory_mb": memory_mb,
            "file_mb": file_mb,
            "max_files": max_files,
            "max_processes": max_processes,
            "tmpfs_mb": tmpfs_mb,
            "namespaces": isolate,
            "user_namespace": bool(user_namespace if user_namespace is not None else os.geteuid() != 0),
            "preload": PRELOAD,
            "sys_path": [os.path.dirname(os.__file__)] + [p for p in sys.path if p] + [sys.base_prefix, sys.prefix],
        }
        if verdict_cache is True:
            from acecoder.execution._cache import VerdictCache

            verdict_cache, self._owns_cache = VerdictCache.default(), True
        else:
            self._owns_cache = False
        self.verdict_cache = verdict_cache
        if verdict_cache is not None:
            limits = {**self._settings, "timeout": self.timeout, "program_timeout": self.program_timeout}
            self._conditions = verdict_cache.conditions(limits)
        self.completed = 0  # programs run to a verdict by this engine (cached ones not counted)
        self._collected: dict[str, tuple] = {}  # pytest files' test ids (see `collect`)
        self._lock = threading.Lock()
        self._pending: collections.deque = collections.deque()
        self._closed = False
        self._idle = False  # the dispatcher sleeps with nothing to send: wake it on submit
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pool = []
        try:
            for _ in range(self.workers):
                self._pool.append(Worker(self._settings))
                self._selector.register(self._pool[-1].results_fd, selectors.EVENT_READ, self._pool[-1])
            self.isolation = self._pool[0].wait_ready()
            for worker in self._pool[1:]:
                worker.wait_ready()
        except BaseException:  # leave no worker behind
            for worker in self._pool:
                worker.stop()
            self._selector.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
            raise
        self._thread = threading.Thread(target=self._dispatch, name="acecoder-engine", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ public API

    def submit(self, job: ExecutionJob) -> Future:
        """Queue one job; the future resolves to its ExecutionResult."""
        return self._submit_many([job])[0]

    def map(self, jobs: Iterable[ExecutionJob], *, ahead: int = 512, buffer: int | None = None) -> Iterator[ExecutionResult]:
        """Results in input order, streaming. At most `ahead` jobs are queued or running at
        once; a slow job holds back only the results after it (at most `buffer` of them,
        done and waiting: 8 x ahead by default), never new work, so a few hanging programs
        do not idle the workers. Memory stays bounded by ahead + buffer results."""
        buffer = buffer if buffer is not None else 8 * ahead
        window: collections.deque = collections.deque()  # futures in input order, done or not
        tracker = _Completions()
        pieces, exhausted = chunks(jobs, 64), False
        while True:
            while not exhausted and tracker.running < ahead and len(window) < ahead + buffer:
                chunk = next(pieces, None)
                if chunk is None:
                    exhausted = True
                    break
                window.extend(tracker.watch(self._submit_many(chunk)))
            if not window:
                return
            if window[0].done():
                while window and window[0].done():
                    yield window.popleft().result()
            else:
                tracker.wait(0.05)  # until a batch of jobs finished (or the head)

    def run(self, jobs: Iterable[ExecutionJob]) -> list[ExecutionResult]:
        """All results, in input order."""
        return list(self.map(jobs))

    async def arun(self, jobs: Iterable[ExecutionJob]) -> list[ExecutionResult]:
        """`run` for asyncio callers: other coroutines go on while programs run."""
        futures = [asyncio.wrap_future(self.submit(job)) for job in jobs]
        return list(await asyncio.gather(*futures))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._idle = False
        self._wake()
        self._thread.join()
        for worker in self._pool:
            worker.stop()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        if self.verdict_cache is not None:
            if self._owns_cache:
                self.verdict_cache.close()
            else:
                self.verdict_cache.flush()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ dispatcher

    def collect(self, suite: TestSuite) -> TestSuite:
        """A pytest suite with its test ids, as pytest collects them from its file in the
        sandbox (on a stand-in `solution`); the suite itself when it has them. A file
        pytest cannot collect gives no ids (a program then passes nothing)."""
        if suite.kind is not SuiteKind.PYTEST or suite.cases:
            return suite
        if suite.code not in self._collected:
            result = self.submit(collection_job(suite)).result()
            ids = result.values[0] if result.values else None
            self._collected[suite.code] = tuple(ids) if isinstance(ids, list) else ()
        return dataclasses.replace(suite, cases=self._collected[suite.code])

    def _submit_many(self, jobs) -> list[Future]:
        futures, tasks = [], []
        for job in jobs:
            if isinstance(job.tests, TestSuite) and job.tests.kind is SuiteKind.PYTEST and not job.tests.cases:
                job = dataclasses.replace(job, tests=self.collect(job.tests))
            if job.limits is not None and (len(job.limits) != len(job.tests) or not all(t > 0 for t in job.limits)):
                raise ValueError(f"job {job.id!r}: limits must give a positive number of seconds for each of its "
                                 f"{len(job.tests)} tests (it has {len(job.limits)})")
            cacheable = self.verdict_cache is not None and not job.capture  # captured values are not JSON
            key = self.verdict_cache.key(job, self._conditions) if cacheable else None
            cached = self.verdict_cache.get(key, job.id) if key is not None else None
            if cached is not None:
                futures.append(Future())
                futures[-1].set_result(cached)
                continue
            if isinstance(job.tests, TestSuite):  # the harness and check tests of its kind
                job = lower(job)
            tasks.append(_Task(job, compile_tests(tuple(job.tests)), Future()))
            tasks[-1].key = key
            futures.append(tasks[-1].future)
        with self._lock:
            if self._closed:
                raise SandboxError("the engine is closed")
            self._pending.extend(tasks)
            wake, self._idle = self._idle, False
        if wake and tasks:
            self._wake()
        return futures

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # a wake-up is pending already

    def _dispatch(self) -> None:
        try:
            self._dispatch_loop()
        except BaseException as error:  # a bug here must fail the callers, not hang them
            with self._lock:
                self._closed = True
                tasks = list(self._pending) + [t for w in self._pool for t in w.in_flight]
            for task in tasks:
                if not task.future.done():
                    task.future.set_exception(SandboxError(f"the engine stopped: {error!r}"))
            raise

    def _dispatch_loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    break
                for worker in self._pool:
                    while len(worker.in_flight) < IN_FLIGHT and self._pending:
                        worker.send(self._pending.popleft(), self)
                self._idle = not self._pending
            for worker in self._pool:
                if worker.outbox and not worker.writing and worker.flush():
                    self._selector.register(worker.jobs_fd, selectors.EVENT_WRITE, worker)
                    worker.writing = True
            for key, mask in self._selector.select(timeout=1.0):
                worker = key.data
                if worker is not None and worker not in self._pool:
                    continue  # an event of a worker replaced earlier in this round
                if worker is None:
                    _drain(self._wake_r)
                elif key.fd == worker.jobs_fd:
                    if not worker.flush():
                        self._selector.unregister(worker.jobs_fd)
                        worker.writing = False
                elif not worker.receive(self._finish):
                    self._replace(worker)
        with self._lock:
            leftovers = list(self._pending)
            self._pending.clear()
        for worker in self._pool:
            leftovers += worker.in_flight
        for task in leftovers:
            task.future.cancel()

    def _finish(self, task: _Task, load: bytes, frames: list, seconds: float) -> None:
        self.completed += 1
        try:
            result = to_result(task, load, frames, seconds)
        except Exception as error:  # a bug in judging fails this job, not the engine
            task.future.set_exception(SandboxError(f"cannot judge job {task.job.id!r}: {error!r}"))
        else:
            if task.key is not None and result.status is not ProgramStatus.TIMEOUT and \
                    TestOutcome.TIMEOUT not in result.outcomes:
                self.verdict_cache.put(task.key, result)
            task.future.set_result(result)

    def _replace(self, dead: Worker) -> None:
        """A worker died (not a program's doing: programs cannot reach it). Start another."""
        self._selector.unregister(dead.results_fd)
        if dead.writing:
            self._selector.unregister(dead.jobs_fd)
        dead.stop()
        fresh = Worker(self._settings)
        self._pool[self._pool.index(dead)] = fresh
        self._selector.register(fresh.results_fd, selectors.EVENT_READ, fresh)
        with self._lock:
            for task in reversed(dead.in_flight):
                task.attempts += 1
                if task.attempts > 2:
                    task.future.set_result(lost(task, "the sandbox worker died three times running it"))
                else:
                    self._pending.appendleft(task)


class _Task:
    __slots__ = ("job", "plan", "future", "attempts", "message", "key")

    def __init__(self, job: ExecutionJob, plan: TestPlan, future: Future):
        self.job, self.plan, self.future = job, plan, future
        self.attempts = 0
        self.key = None  # its verdict cache key




def default_workers() -> int:
    """One sandbox process per CPU core, divided among the processes of a node that each
    start an engine: torchrun and accelerate set LOCAL_WORLD_SIZE (8 RL ranks on one node
    would otherwise start 8 workers per core)."""
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, (os.cpu_count() or 1) // local)


class _Completions:
    """Counts the jobs of one `map` still running, and wakes it once per batch of
    completions (waking once per program would cost the consumer a thread switch each)."""

    BATCH = 16

    def __init__(self):
        self._lock = threading.Lock()
        self._event = threading.Event()
        self.submitted = self.finished = 0

    @property
    def running(self) -> int:
        return self.submitted - self.finished

    def watch(self, futures: list[Future]) -> list[Future]:
        with self._lock:
            self.submitted += len(futures)
        for future in futures:
            future.add_done_callback(self._done)
        return futures

    def _done(self, _future) -> None:
        with self._lock:
            self.finished += 1
            if self.finished % self.BATCH == 0 or self.finished == self.submitted:
                self._event.set()

    def wait(self, timeout: float) -> None:
        self._event.wait(timeout)
        self._event.clear()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
