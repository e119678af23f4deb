"""The zygote's loop: it takes a job from the engine, forks a child per run of the
program, watches its time, kills it and everything it started, and sends the frames.

The zygote is PID 1 of the sandbox's pid namespace where there is one (else a child
subreaper), not dumpable, with the common modules preloaded and its heap frozen so
that forks stay cheap. One job at a time: compile the program, run it in a child
(`Run`), reload it in a fresh child after a test that timed out or crashed, then
empty the scratch space (`namespaces.Scratch`) and answer.

Guarantees:
- Every process of a run is dead and reaped before its frames are read and before
  the next program starts: as init of the pid namespace, `kill(-1, SIGKILL)` reaches
  also double-forked and setsid'd processes; without one, the zygote kills the
  child's group and then whatever was reparented to it (up to 100 rounds).
- Time: the load may take `program_timeout` and test i `limits[i]` CPU seconds, read
  from the child's own process clock (all its threads), so a verdict does not depend
  on the machine's load; a wall-clock backstop of BACKSTOP times the limit ends a
  test that sleeps or blocks. The test that ran past its limit, or died, is reported
  as TIMEOUT or CRASHED with its share of the time; the tests after it run in a fresh
  child (`job["stop"]` stops them instead).
- No process of the sandbox can trace the zygote or read its memory (it holds the
  engine's pipes): it is not dumpable, and its children inherit that.
- A run reports at most `frames.MAX_TOTAL` bytes; the zygote reads at most one frame
  per test it asked for, whatever the child wrote.

Does not: keep the program's source from the zygote: it is compiled here (a fresh
fork compiles 10x slower), which runs none of its code; a source that crashes
CPython's compiler ends this worker, which the engine replaces (a job that does so
three times is reported crashed). It does not check a frame's content: the engine
does (`_results.py`).
"""

import marshal
import os
import select
import signal
import time

from .child import ENCODE, child, describe, plain
from .frames import (
    CRASHED, LOAD_OK, MAX_TOTAL, NOT_RUN_FRAME, SYNTAX, TIMEOUT, TIMING, Frames, receive, send,
)
from .kernel import MS_NODEV, MS_NOEXEC, MS_NOSUID, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, libc
from .namespaces import Scratch, remove

POLL_INTERVAL = 0.002  # seconds between looks at a running child's progress
# Wall-clock time a test may take, in multiples of its CPU limit: a CPU-bound test starved
# to a fifth of a core still ends on its CPU time, a test that sleeps or blocks ends here.
BACKSTOP = 5


class Run:
    """One child process running the program and tests[start:], as seen by the zygote."""

    def __init__(self, job, start, settings, out):
        self.out = out
        self.pid = os.fork()
        if self.pid == 0:
            child(job, start, out, settings)
        self.pidfd = os.pidfd_open(self.pid)
        self.frames = []  # what it reported, read once it is dead
        self.exit_status = None
        self.cpu_used = 0.0  # user + system seconds of the child and what it waited for, once reaped

    def pump(self, want, limits):
        """Wait until `want` frames were written, the child died or ran past a limit.

        `limits(k)` is the CPU time allowed for frame k (the load for k = 0, then each
        test), counted from the arrival of frame k-1 on the child's own CPU clock: a
        test's verdict does not depend on how busy the machine is. Time spent not
        running (sleeping, blocked, or starved of a core) is bounded by a wall-clock
        backstop of BACKSTOP times the limit. We wake on the child's exit and
        otherwise every few milliseconds, not on every frame: a fast program costs
        one wake-up. Returns "done", "dead", "overflow" or "timeout".
        """
        limit = limits(0)
        since, spent = time.monotonic(), self.cpu()
        seen, interval = 0, POLL_INTERVAL
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        while True:
            now = time.monotonic()
            backstop = since + BACKSTOP * limit
            if now >= backstop or self.cpu() - spent >= limit:
                written = self.out.written()
                return "done" if written is not None and written >= want else "timeout"
            exited = bool(poller.poll(min(backstop - now, interval) * 1000))
            written = self.out.written()
            if written is None:
                return "overflow"  # reported more than a run may
            if written >= want:
                return "done"
            if exited:
                return "dead"
            if written > seen:
                seen, limit = written, limits(written)
                since, spent = time.monotonic(), self.cpu()
                interval = POLL_INTERVAL
            else:  # nothing new: back off, a hang needs no fine-grained watching
                interval = min(interval * 2, 0.05)

    def cpu(self):
        """CPU seconds the child has used (its own, not its children's), read from its
        process clock: Linux gives every process one, `(~pid << 3) | 2`."""
        try:
            return time.clock_gettime((~self.pid << 3) | 2)
        except OSError:  # gone: the next poll sees it
            return 0.0

    def close(self, is_init, want):
        """Kill the child and everything it started, reap them all, then read its frames
        (nothing that could still write them is left), `want` at most."""
        if is_init:
            try:
                os.kill(-1, signal.SIGKILL)  # as pid 1: every other process in the namespace
            except ProcessLookupError:
                pass
            while True:
                try:
                    pid, status, usage = os.wait4(-1, 0)
                except ChildProcessError:
                    break
                if pid == self.pid:
                    self.exit_status, self.cpu_used = status, usage.ru_utime + usage.ru_stime
        else:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            kill_orphans()
            try:
                _, self.exit_status, usage = os.wait4(self.pid, 0)
                self.cpu_used = usage.ru_utime + usage.ru_stime
            except ChildProcessError:
                pass
        os.close(self.pidfd)
        self.frames = self.out.take(want)


def kill_orphans():
    """Without a pid namespace: kill what was reparented to us (we are a subreaper)."""
    me = os.getpid()
    for _ in range(100):
        try:
            with open(f"/proc/{me}/task/{me}/children") as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def run_job(job, settings, is_init, out):
    """Run one program against its tests; returns (load frame, test frames, seconds).

    Test i may take `job["limits"][i]` seconds. A test that runs past it, or kills its
    process, costs only itself: the program is loaded again in a fresh child, which
    goes on at the next test; with `job["stop"]` the tests after it are not run (an int k:
    those from test k on).
    """
    started = time.monotonic()
    limits = job["limits"]
    n = len(job["tests"])
    results = [NOT_RUN_FRAME] * n
    try:  # here, not in each child: a fresh fork compiles 10x slower than a warm process
        job["code"] = compile(job["program"], "solution.py", "exec")
    except BaseException as error:  # SyntaxError, ValueError (null bytes), RecursionError
        return SYNTAX + describe(error), results, time.monotonic() - started
    load = None
    start = 0
    while start < n or load is None:
        run = Run(job, start, settings, out)
        fresh_load = load is None
        begun = time.monotonic()

        def allowed(k, start=start):
            return job["program_timeout"] if k == 0 else limits[start + k - 1]

        state = run.pump(1 + n - start, allowed)
        run.close(is_init, 1 + n - start)  # a program that forked may have sent more
        frames = run.frames
        if state == "overflow":
            ended = CRASHED + b"the run reported more than %d MiB of results" % (MAX_TOTAL >> 20)
        else:
            ended = TIMEOUT if state == "timeout" else CRASHED + how_it_ended(run.exit_status)
        if not frames:  # died or hung before the program finished loading
            if fresh_load:
                load = ended
            break  # a reload that fails leaves the remaining tests not run
        if fresh_load:
            load = frames[0]
        if frames[0][:1] != LOAD_OK:
            break  # the program failed to load (or, on a reload, stopped loading)
        for offset, frame in enumerate(frames[1:]):
            results[start + offset] = frame
        reached = start + len(frames) - 1
        if reached >= n:
            break
        # The test that did not finish: its share of the child's CPU and wall time is
        # what the finished tests (and the load, counted in) did not use.
        used = [TIMING.unpack_from(frame, 1) if len(frame) > TIMING.size else (0.0, 0.0) for frame in frames[1:]]
        cpu = max(0.0, run.cpu_used - sum(c for c, _ in used))
        wall = max(0.0, time.monotonic() - begun - sum(w for _, w in used))
        results[reached] = ended[:1] + TIMING.pack(cpu, wall) + ended[1:]
        if job["stop"] is True:
            break
        if job["stop"]:  # an int k: after a timeout or crash only the tests before k are still run
            n = min(n, job["stop"])
        start = reached + 1
    return load, results, time.monotonic() - started


def how_it_ended(status):
    if status is None:
        return b"the process vanished"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = {signal.SIGXCPU: "the CPU time limit"}.get(number) or signal.Signals(number).name
        return f"killed by {name}".encode()
    if os.WIFEXITED(status):
        return f"the process exited with code {os.WEXITSTATUS(status)}".encode()
    return b"the process stopped"



def warm_up():
    """Take the first-call costs of the paths every child uses, once, before forking."""
    scope = {}
    exec(compile("def f(a):\n    return [a, (a,), {a: a}]\n", "w", "exec"), scope)
    ENCODE([plain(eval(compile("f(1)", "w", "eval"), scope))])
    describe(ValueError("warm"))


def zygote(settings, jobs_fd, results_fd, is_init):
    # Not dumpable: no process of the sandbox may trace the zygote or read its memory (it
    # holds the engine's pipes), also where the children keep its uid (a user namespace).
    # Its forks inherit this; a program that execs becomes dumpable again, to its siblings only.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Modules most programs import: loaded once here, shared by every fork.
    for name in settings["preload"]:
        try:
            __import__(name)
        except ImportError:
            pass
    import gc

    warm_up()
    if is_init:
        libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    else:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    scratch = Scratch(settings, private="private tmpfs" in settings["isolation"])
    gc.collect()
    gc.freeze()  # forked children then never touch (and copy) the zygote's objects
    out = Frames(MAX_TOTAL)
    send(results_fd, marshal.dumps(("ready", settings["isolation"])))
    tests = None
    while True:
        message = receive(jobs_fd)
        if message is None:
            if not is_init:  # a work directory on the host's own tmpfs: leave nothing behind
                remove(settings["workdir"])
            os._exit(0)
        key, program, program_timeout, limits, stop, blob = marshal.loads(message)
        if blob is not None:  # else the tests of the last job: programs of one question share them
            tests = marshal.loads(blob)
        if not isinstance(limits, tuple):  # one limit for every test
            limits = (limits,) * len(tests)
        job = {"program": program, "tests": tests, "program_timeout": program_timeout, "limits": limits, "stop": stop}
        load, results, seconds = run_job(job, settings, is_init, out)
        scratch.reset()
        send(results_fd, marshal.dumps((key, load, results, seconds)))

