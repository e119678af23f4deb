"""One sandbox worker process, seen from the engine: its start, its pipes, its messages.

The engine's side of the pipes of `_worker.py`: each message is a 4-byte length, then
a marshal blob. Jobs go out as (index, program, program timeout, limits, stop, tests
blob or None when the worker holds them already); answers come back as (index, load
frame, test frames, seconds), or ("ready", isolation) once at start.

Guarantees: the worker starts with a minimal environment, /dev/null for stdin, stdout
and stderr, only its two pipe ends open, in a session of its own, and a uid of its own
(UID_BASE + a per-process, per-worker number) for the sandbox to switch to as root.
Frames are handed on as bytes: judging them is `_results.py`'s.

Does not: time out a worker once it is ready (at start it has 60 s). A worker that
dies is noticed by its pipe closing (the dispatcher then replaces it); one that hangs
holds its jobs, which no program can cause (the zygote bounds every run), only a bug
in the sandbox.
"""

from __future__ import annotations

import collections
import itertools
import marshal
import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from acecoder.errors import SandboxError

if TYPE_CHECKING:
    from acecoder.execution._engine import Engine, _Task

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
HEADER = struct.Struct("<I")
UID_BASE = 1_800_000_000  # far above any real user's uid
_worker_ids = itertools.count()


class Worker:
    """One sandbox process tree, seen from the engine."""

    def __init__(self, settings: dict):
        jobs_r, self.jobs_fd = os.pipe()
        self.results_fd, results_w = os.pipe()
        settings = dict(settings, uid=UID_BASE + (os.getpid() % 100_000) * 1000 + next(_worker_ids) % 1000)
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-I", str(WORKER_SCRIPT), str(jobs_r), str(results_w), marshal.dumps(settings).hex()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(jobs_r, results_w),
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            close_fds=True,
            # Its own session: nothing in the sandbox shares a process group with the engine
            # or its caller, and a terminal's Ctrl-C goes to the caller alone (the worker dies
            # with the engine through PDEATHSIG).
            start_new_session=True,
        )
        os.close(jobs_r)
        os.close(results_w)
        os.set_blocking(self.jobs_fd, False)
        self.in_flight: collections.deque = collections.deque()
        self.outbox = bytearray()
        self.inbox = bytearray()
        self.writing = False
        self.ready = False
        self.last_blob = None  # the tests the zygote got last: not sent again

    def wait_ready(self, timeout: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while not self.ready:
            import select

            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.results_fd], [], [], left)[0]:
                raise SandboxError(f"a sandbox worker did not start within {timeout:.0f} s")
            if not self._read():
                raise SandboxError(f"a sandbox worker exited at start (code {self.process.wait()})")
            for message in self._messages():
                if message[0] != "ready":
                    raise SandboxError(f"a sandbox worker said {message!r} at start")
                self.ready = True
                self.isolation = message[1]
        return self.isolation

    def send(self, task: _Task, engine: Engine) -> None:
        job = task.job
        limits = tuple(float(t) for t in job.limits) if job.limits is not None else engine.timeout
        blob = task.plan.sandbox_blob
        if blob is self.last_blob:  # the zygote still holds the tests of this question
            blob = None
        else:
            self.last_blob = blob
        message = marshal.dumps(
            (len(self.in_flight), job.program, engine.program_timeout, limits, job.stop_at_timeout, blob)
        )
        self.outbox += HEADER.pack(len(message)) + message
        self.in_flight.append(task)

    def flush(self) -> bool:
        """Write what the pipe takes; True while something is left."""
        try:
            written = os.write(self.jobs_fd, self.outbox)
        except BlockingIOError:
            return True
        except BrokenPipeError:
            self.outbox.clear()
            return False
        del self.outbox[:written]
        return bool(self.outbox)

    def receive(self, finish) -> bool:
        """Read answers and resolve their tasks; False when the worker is gone."""
        if not self._read():
            return False
        for message in self._messages():
            if message[0] == "ready":  # a replacement worker's greeting
                self.ready, self.isolation = True, message[1]
                continue
            _, load, frames, seconds = message
            finish(self.in_flight.popleft(), load, frames, seconds)
        return True

    def _read(self) -> bool:
        try:
            chunk = os.read(self.results_fd, 1 << 20)
        except BlockingIOError:
            return True
        self.inbox += chunk
        return bool(chunk)

    def _messages(self):
        while len(self.inbox) >= HEADER.size:
            (size,) = HEADER.unpack_from(self.inbox)
            if len(self.inbox) < HEADER.size + size:
                return
            message = marshal.loads(bytes(self.inbox[HEADER.size : HEADER.size + size]))
            del self.inbox[: HEADER.size + size]
            yield message

    def stop(self) -> None:
        for fd in (self.jobs_fd, self.results_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
