"""The sandbox worker: the only place where untrusted programs run.

The engine starts this file as a separate, lean interpreter (`python -S -I`, standard
library only) and talks to it through two pipes (jobs in, results out). Process
tree, per worker:

    engine (trusted, holds the expected test values)
     └─ outer: enters new pid, net, mount, ipc and uts namespaces, makes every mount
        read-only, puts a private tmpfs on /tmp and /dev/shm
         └─ zygote: PID 1 of the new pid namespace; pre-imports common modules, then
            forks one child per program run and watches it
             └─ child: drops to an unprivileged uid (or all capabilities), runs the
                program once, then its tests in order, one result frame per test,
                written into memory it shares with the zygote (`Frames`)

What holds, where the kernel allows it (see `isolation` in the hello message):
- Every process a program starts dies with it: the zygote is init of its pid
  namespace, so `kill(-1)` reaches everything, also double-forked or setsid'd ones.
- No network (an empty network namespace), no writes outside /tmp (read-only
  mounts and an unprivileged uid), no signals to processes outside the namespace.
- Limits on address space, file size, open files, processes and CPU time.
- A hang, crash or exit in one test costs only that test: the zygote kills the
  child once it used the test's CPU time (read from the child's CPU clock; a
  wall-clock backstop, 5x the limit, ends tests that sleep or block), then re-runs
  the program in a fresh child and continues at the next test.

What does not hold: the child can write anything into its own report region, so a
test that the child judges itself ("plain" tests, see `_plan.py`) can be forged by
a program written against this file. Tests of the form `assert <expr> <op> <expr>`
are judged by the engine on plain values, and the engine never sends expected
literals here, so those cannot be forged. No seccomp filter and no cgroup: CPU
and memory are bounded by rlimits, not by a controller.
"""

import ctypes
import marshal
import mmap
import os
import resource
import select
import signal
import struct
import sys
import time
import types

HEADER = struct.Struct("<I")
MAX_FRAME = 1 << 20  # bytes one test may report (a value's JSON); more is an error
MAX_TOTAL = 16 << 20  # bytes one program run may report in all (the shared region's size)
MAX_ITEMS = 1_000_000  # items of a container converted for an `in` test
POLL_INTERVAL = 0.002  # seconds between looks at a running child's progress
# Wall-clock time a test may take, in multiples of its CPU limit: a CPU-bound test starved
# to a fifth of a core still ends on its CPU time, a test that sleeps or blocks ends here.
BACKSTOP = 5

# Frame kinds. The child writes the load frame once, then one frame per test.
LOAD_OK, SYNTAX, IMPORT, RUNTIME, MEMORY = b"L", b"S", b"I", b"R", b"M"
PASS, FAIL, ERROR, VALUES, INVALID = b"P", b"F", b"E", b"V", b"X"
# Kinds only the zygote writes, for runs it had to end.
TIMEOUT, CRASHED, NOT_RUN = b"T", b"C", b"N"
# Every test frame: its kind, then the test's CPU and wall seconds, then its body.
TIMING = struct.Struct("<ff")
NOT_RUN_FRAME = NOT_RUN + TIMING.pack(0.0, 0.0)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_MOVE = 2, 4, 8, 0x1000, 0x2000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_SET_SECUREBITS, PR_CAPBSET_DROP = 28, 24
SYS_MOUNT_SETATTR = 442  # the same number on every architecture
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2

libc = ctypes.CDLL(None, use_errno=True)


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


# ---------------------------------------------------------------- framing


def send(fd, payload):
    data = HEADER.pack(len(payload)) + payload
    while data:
        data = data[os.write(fd, data) :]


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive(fd):
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    return read_exact(fd, HEADER.unpack(header)[0])


class Frames:
    """Where a child reports: a memory region it shares with the zygote.

    The child appends frames (a length, then the frame) and after each one updates the
    counts at the start: bytes used, frames written. The zygote reads the count while
    the child runs (its progress, for the time limits) and the frames once the child and
    everything it started are dead, then empties the region for the next run. No system
    call per test, and what a child wrote survives its being killed. A child can write
    anything here, as it could into a pipe: `take` refuses what does not parse.
    """

    COUNTS = struct.Struct("<II")
    OVERFLOW = 0xFFFFFFFF  # the count a child writes when a frame does not fit

    def __init__(self, size):
        self.region = mmap.mmap(-1, self.COUNTS.size + size)  # anonymous, MAP_SHARED
        self.end, self.count = self.COUNTS.size, 0

    def add(self, frame):
        """In the child."""
        at, size = self.end, len(frame)
        if at + HEADER.size + size > len(self.region):
            self.COUNTS.pack_into(self.region, 0, at, self.OVERFLOW)
            os._exit(0)
        HEADER.pack_into(self.region, at, size)
        self.region[at + HEADER.size : at + HEADER.size + size] = frame
        self.end, self.count = at + HEADER.size + size, self.count + 1
        self.COUNTS.pack_into(self.region, 0, self.end, self.count)

    def written(self):
        """In the zygote, while the child runs: frames so far, or None once it overflowed."""
        count = self.COUNTS.unpack_from(self.region, 0)[1]
        return None if count == self.OVERFLOW else count

    def take(self, most):
        """In the zygote, once no process of the run is left: up to `most` frames, up to
        the first that does not parse; then the region is emptied for the next run."""
        end, count = self.COUNTS.unpack_from(self.region, 0)
        region, frames, at = self.region, [], self.COUNTS.size
        end = min(end, len(region))
        while at + HEADER.size <= end and len(frames) < min(count, most):
            (size,) = HEADER.unpack_from(region, at)
            if not 0 < size <= MAX_FRAME + TIMING.size or at + HEADER.size + size > end:
                break
            frames.append(region[at + HEADER.size : at + HEADER.size + size])
            at += HEADER.size + size
        # The next program must not read this one's results.
        if end > 1 << 20:
            region.madvise(mmap.MADV_REMOVE)  # and give back the memory of a large report
        else:
            region[:end] = bytes(end)
        return frames


# ---------------------------------------------------------------- isolation


def enter_namespaces(settings):
    """Move this process into fresh namespaces; returns what it could isolate."""
    done = []
    root = os.geteuid() == 0 and not settings["user_namespace"]
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if not root:
        flags |= CLONE_NEWUSER
    uid, gid = os.getuid(), os.getgid()
    try:
        _check(libc.unshare(flags), "unshare")
    except OSError as error:
        return [f"no namespaces ({error.strerror})"]
    if not root:
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")
        done.append("user")
    done += ["pid", "net", "ipc", "uts"]
    try:  # keep every mount change below out of the host's view
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
        attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
        _check(
            libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, attr, len(attr)),
            "read-only mounts",
        )
        done += ["mount", "read-only root"]
        size = f"size={settings['tmpfs_mb']}m,mode=1777".encode()
        KEPT.hold()  # before the tmpfs covers them
        for target in (b"/tmp", b"/dev/shm"):
            if os.path.isdir(target):
                _check(
                    libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, size),
                    f"tmpfs on {target.decode()}",
                )
        done.append("private tmpfs")
        if KEPT.attach():
            done.append(f"interpreter kept visible in the private tmpfs ({', '.join(KEPT.paths)})")
        if root:
            done += expose(settings["sys_path"])
    except OSError as error:
        done.append(f"no mount isolation ({error.strerror})")
    libc.sethostname(b"sandbox", 7)
    return done


class KeptPaths:
    """The Python installation, where it lives under /tmp or /dev/shm (a venv a CI runner
    or a throwaway environment put there): the private tmpfs would hide it, and with it
    `sys.executable` for a program that starts Python again. Each such directory is held
    open (O_PATH) before the tmpfs goes on, then bind-mounted back, read-only, at its
    own path, again after every reset of the tmpfs."""

    PRIVATE = ("/tmp", "/dev/shm")

    def __init__(self):
        self.paths, self._fds = [], []

    def hold(self) -> None:
        found = set()
        home = os.path.dirname(sys.executable)
        venv = os.path.dirname(home) if os.path.exists(os.path.join(os.path.dirname(home), "pyvenv.cfg")) else None
        for path in (sys.prefix, sys.exec_prefix, sys.base_prefix, home, venv):
            if not path or not os.path.isdir(path):
                continue
            for form in {os.path.abspath(path), os.path.realpath(path)}:
                if any(form.startswith(place + "/") for place in self.PRIVATE):  # never a whole /tmp
                    found.add(form)
        self.paths = sorted(p for p in found if not any(p.startswith(q + "/") for q in found))
        self._fds = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in self.paths]

    def attach(self) -> bool:
        attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
        for path, fd in zip(self.paths, self._fds):
            os.makedirs(path, 0o755, exist_ok=True)
            _check(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None), "bind")
            _check(libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE, attr, len(attr)), "ro")
        return bool(self.paths)


KEPT = KeptPaths()


def expose(paths):
    """Let the sandbox uid reach the Python installation, and nothing else nearby.

    Python often lives under a directory only root may enter (pyenv in /root). Such a
    directory is covered with an empty read-only tmpfs into which only the needed
    paths are bind-mounted (read-only, as every mount here): the program can import
    the standard library and installed packages but cannot see the rest of /root.
    """
    blocked = {}
    for path in sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)}):
        parts = path.split("/")
        for depth in range(2, len(parts)):
            ancestor = "/".join(parts[:depth])
            if not os.stat(ancestor).st_mode & 0o001:  # others may not enter it
                blocked.setdefault(ancestor, []).append(path)
                break
    masked = []
    for ancestor, inner in blocked.items():
        outermost = [p for p in inner if not any(p.startswith(q + "/") for q in inner)]
        staged = []
        for index, path in enumerate(outermost):
            stage = f"/tmp/.acecoder-stage-{index}"
            os.mkdir(stage)
            _check(libc.mount(path.encode(), stage.encode(), None, MS_BIND | MS_REC, None), "bind")
            staged.append((stage, path))
        _check(
            libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m"),
            f"tmpfs on {ancestor}",
        )
        for stage, path in staged:
            os.makedirs(path, 0o755)
            _check(libc.mount(stage.encode(), path.encode(), None, MS_MOVE, None), "move")
            os.rmdir(stage)
        attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
        _check(libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, ancestor.encode(), 0, attr, len(attr)), "ro")
        masked.append(f"{ancestor} masked")
    return masked


def reachable(path):
    """Whether a user other than the owner may enter every directory up to `path`."""
    parts = os.path.realpath(path).split("/")
    return all(os.stat("/".join(parts[:i]) or "/").st_mode & 0o001 for i in range(1, len(parts) + 1))


def set_limits(settings, *, nproc):
    mb = 1 << 20
    limits = [
        (resource.RLIMIT_AS, settings["memory_mb"] * mb),
        (resource.RLIMIT_FSIZE, settings["file_mb"] * mb),
        (resource.RLIMIT_NOFILE, settings["max_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc:  # counted per uid: only meaningful for a uid of the sandbox's own
        limits.append((resource.RLIMIT_NPROC, settings["max_processes"]))
    for kind, value in limits:
        resource.setrlimit(kind, (value, value))


def seal_capabilities():
    """Once, before the zygote starts, when the worker is root in a user namespace: empty
    the bounding set and lock the securebits (no capabilities through execve, no setuid
    fix-ups), so that no process of the sandbox can ever regain what its child drops. The
    zygote keeps its own effective set for its mounts; each child then needs one capset
    instead of 66 calls."""
    libc.prctl(PR_SET_SECUREBITS, 0x2F, 0, 0, 0)  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS off; locked
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


# seccomp, per architecture: its audit id; the calls allowed only on the program's own
# pid or group (first argument), kill and prlimit64; tgkill, allowed on its own threads; and
# calls that reach another process, refused: tkill, rt_sigqueueinfo, rt_tgsigqueueinfo,
# ptrace, process_vm_readv, process_vm_writev, process_madvise, pidfd_send_signal, pidfd_getfd.
SYSCALLS = {
    "x86_64": (0xC000003E, (62, 302), 234, (200, 129, 297, 101, 310, 311, 440, 424, 438)),
    "aarch64": (0xC00000B7, (129, 261), 131, (130, 138, 240, 117, 270, 271, 440, 424, 438)),
}
PR_SET_SECCOMP, SECCOMP_MODE_FILTER, PR_SET_DUMPABLE = 22, 2, 4
SECCOMP_ALLOW, SECCOMP_EPERM = 0x7FFF0000, 0x00050000 | 1
BPF_LD_ABS, BPF_JEQ, BPF_JGE, BPF_RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JGE|K, RET|K


def confine_signals(me):
    """In the child, when it runs as the engine's own uid with no pid namespace (an ordinary
    user whose kernel refuses namespaces): a seccomp filter so that it signals only itself
    and its own process group, and traces, reads, writes or re-limits no other process.
    Without it, `kill(-1)` as that uid ends every process of the user, the trainer
    included. Children inherit the filter. The price: a program cannot kill its children
    by pid (`Popen.kill`); `killpg(0)` still reaches them. The user's files and /proc stay
    readable in this mode: only namespaces isolate those."""
    arch, own_pid_only, tgkill, refused = SYSCALLS[os.uname().machine]
    eperm, allow = (BPF_RET, 0, 0, SECCOMP_EPERM), (BPF_RET, 0, 0, SECCOMP_ALLOW)
    first_arg = (BPF_LD_ABS, 0, 0, 16)  # its low 32 bits (a pid_t), little-endian

    def only(number, values):  # `number` allowed when its first argument is one of `values`
        k = len(values)
        checks = [(BPF_JEQ, k - 1 - i, int(i == k - 1), v & 0xFFFFFFFF) for i, v in enumerate(values)]
        return [(BPF_JEQ, 0, 3 + k, number), first_arg, *checks, allow, eperm]

    program = [
        (BPF_LD_ABS, 0, 0, 4), (BPF_JEQ, 1, 0, arch), eperm,  # another ABI (int 0x80): refused
        (BPF_LD_ABS, 0, 0, 0), (BPF_JGE, 0, 1, 0x40000000), eperm,  # x32 numbers: refused
    ]
    kill, prlimit = own_pid_only
    program += only(kill, (0, me, -me)) + only(prlimit, (0, me)) + only(tgkill, (me,))
    for number in refused:
        program += [(BPF_JEQ, 0, 1, number), eperm]
    program.append(allow)
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    fprog = struct.pack("HxxxxxxQ", len(program), ctypes.addressof(code))
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0), "seccomp")


def seccomp_works():
    """Whether this kernel takes the filter (tried in a throwaway child)."""
    pid = os.fork()
    if pid == 0:
        try:
            confine_signals(os.getpid())
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


CAPSET = 126 if os.uname().machine == "x86_64" else 91  # x86_64; aarch64 and the generic table
CAP_HEADER = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
CAP_NONE = bytes(24)  # effective, permitted and inheritable sets of both words: empty


def drop_privileges(uid):
    """In the child: become `uid` (as root), or shed all capabilities (in a user ns)."""
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif os.geteuid() == 0:  # root inside a user namespace, sealed by the zygote
        libc.syscall(CAPSET, CAP_HEADER, CAP_NONE)


# ---------------------------------------------------------------- the child


def describe(error):
    """A short text for an exception, whatever its `__str__` does."""
    try:
        text = f"{type(error).__name__}: {error}"
    except BaseException:
        text = "an exception that cannot be printed"
    return text[:300].encode("utf-8", "replace")


def plain(value, depth=0):
    """Turn a result into JSON-safe builtin data the engine can compare.

    Only exact builtin types survive; subclasses become their base type and numpy
    scalars become Python numbers. Anything else is refused, so an object with a
    forged `__eq__` never reaches a comparison.
    """
    if depth > 100:
        raise ValueError("result nested too deeply to compare")
    t = type(value)
    if t is int and value.bit_length() > 13_000:  # past str()'s 4300-digit limit: hex has none
        return {"~i": format(value, "x")}
    if value is None or t is bool or t is int or t is str:
        return value
    if t is float:
        return value if value - value == 0 else {"~f": repr(value)}
    if t is list:
        return [plain(v, depth + 1) for v in value]
    if t is tuple:
        return {"~t": [plain(v, depth + 1) for v in value]}
    if t is dict:
        return {"~d": [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"~s": [plain(v, depth + 1) for v in value]}
    if t is bytes or t is bytearray:
        return {"~b": bytes(value).decode("latin-1")}
    if t is complex:
        return {"~c": [plain(value.real), plain(value.imag)]}
    if t is range:
        return {"~r": [value.start, value.stop, value.step]}
    for base in (bool, int, float, str, bytes, tuple, list, dict, frozenset, set, complex):
        if isinstance(value, base):  # enum members, namedtuples, Counter, ...
            return plain(base(value), depth + 1)
    if t.__module__ == "numpy" and getattr(value, "ndim", None) == 0:  # np.int64(3), ...
        return plain(value.item(), depth + 1)
    # Any other object: only its identity (equal to itself, as an enum member or a
    # sentinel is) and whether C code finds it true (a re.Match, a deque).
    return {"~o": [id(value), f"{t.__module__}.{t.__qualname__}", c_truth(value)]}


def c_truth(value):
    """bool(value) where no Python-level __bool__ or __len__ decides it, else None."""
    for klass in type(value).__mro__:
        for name in ("__bool__", "__len__"):
            if isinstance(klass.__dict__.get(name), types.FunctionType):
                return None
    return bool(value)


def plain_container(value):
    """`plain` for the right side of `in`: any mapping (by its keys) or iterable.

    `'HOME' in os.environ` and `x in range(1, 7)` then hold as in Python, while the
    engine still tests membership on plain values.
    """
    if type(value) in (str, bytes, bytearray, list, tuple, dict, set, frozenset, range):
        return plain(value)
    import itertools

    items = value.keys() if hasattr(value, "keys") and hasattr(value, "__getitem__") else value
    items = list(itertools.islice(iter(items), MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise ValueError("container too large to compare")
    return plain(items)


def children_cpu():
    """CPU seconds (user + system) of the children this process waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def json_encoder():
    """json.dumps's C encoder, made once: calling it costs a child no Python frames."""
    import json.encoder

    make = json.encoder.c_make_encoder
    if make is None:  # a Python built without _json
        return lambda values: json.dumps(values).encode()

    def refuse(value):
        raise TypeError(f"{type(value).__name__} is not plain data")

    encode = make(None, refuse, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    return lambda values: "".join(encode(values, 0)).encode()


ENCODE = json_encoder()


def child(job, start, out, settings):
    """Run the program, then tests[start:], reporting to `out` (Frames); never returns."""
    try:
        os.closerange(3, 1 << 16)
        # A session and process group of its own, in every mode: kill(0) and killpg(0) then
        # reach only the program's processes, never the engine's group or its caller's (a pid
        # namespace does not change which group a process is in), and killpg reaches its children.
        os.setsid()
        drop_privileges(settings["uid"])
        if settings["confine_signals"]:
            confine_signals(os.getpid())
        os.chdir(settings["workdir"])
        budget = int(job["program_timeout"] + sum(job["limits"][start:])) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (budget, budget + 1))
        module = types.ModuleType("solution")
        module.__file__ = os.path.join(settings["workdir"], "solution.py")
        sys.modules["solution"] = module
        scope = module.__dict__
        try:
            exec(job["code"], scope)
        except MemoryError as error:
            out.add(MEMORY + describe(error))
            os._exit(0)
        except ImportError as error:
            out.add(IMPORT + describe(error))
            os._exit(0)
        except BaseException as error:
            out.add(RUNTIME + describe(error))
            os._exit(0)
        out.add(LOAD_OK)
        # A test's CPU time: its main thread's clock (not the process clock: with RLIMIT_CPU
        # set, Linux counts that one in scheduler ticks, 0 or 4 ms for a 1 ms test) plus
        # the children it waited for. Threads a program starts are not counted.
        tests, clock, perf = job["tests"], time.thread_time, time.perf_counter
        waited = children_cpu()
        for index in range(start, len(tests)):
            test = tests[index]
            if test is None:
                out.add(INVALID + TIMING.pack(0.0, 0.0))
                continue
            setup, exprs, container = test
            wall, cpu = perf(), clock()
            timed = False
            try:
                if setup is not None:
                    exec(setup, scope)
                if exprs is None:
                    kind, body = PASS, b""
                else:
                    results = [eval(expr, scope) for expr in exprs]
                    wall, cpu, timed = perf() - wall, clock() - cpu, True  # not the conversion
                    values = [(plain_container if i == container else plain)(v) for i, v in enumerate(results)]
                    kind, body = VALUES, ENCODE(values)
                    if len(body) >= MAX_FRAME:
                        kind, body = ERROR, b"result too large to compare"
            except AssertionError:
                kind, body = FAIL, b""
            except BaseException as error:
                kind, body = ERROR, describe(error)
            if not timed:
                wall, cpu = perf() - wall, clock() - cpu
            now = children_cpu()  # children run only inside a test: one reading per test
            cpu, waited = cpu + now - waited, now
            out.add(kind + TIMING.pack(cpu, wall) + body)
    except BaseException:
        pass
    os._exit(0)


# ---------------------------------------------------------------- the zygote


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


class Scratch:
    """The places a program may write: its work directory and, in a mount namespace,
    the private /tmp and /dev/shm. Made empty again after every program.

    A look (statvfs, lstat) tells whether a program left anything: free blocks and
    inodes, and the work directory's inode, mode, owner, links and mtime. Only a
    program that did gets fresh tmpfs mounts, so the next one cannot see its files,
    inherit a full disk, or trip on a work directory it replaced with a symlink.
    """

    def __init__(self, settings, *, private):
        self.workdir, self.uid, self.private = settings["workdir"], settings["uid"], private
        self.size = f"size={settings['tmpfs_mb']}m,mode=1777".encode()
        self.places = [p for p in ("/tmp", "/dev/shm") if private and os.path.isdir(p)]
        self._make_workdir()

    def reset(self):
        try:
            clean = self._look() == self.snapshot
        except OSError:
            clean = False
        if not clean:
            if self.private:
                for place in self.places:
                    libc.umount2(place.encode(), 2)  # MNT_DETACH
                    _check(libc.mount(b"tmpfs", place.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, self.size), "tmpfs")
                KEPT.attach()
            else:
                remove(self.workdir)
            self._make_workdir()

    def _make_workdir(self):
        os.mkdir(self.workdir, 0o700)
        if self.uid is not None:
            os.chown(self.workdir, self.uid, self.uid)
        self.snapshot = self._look()

    def _look(self):
        st = os.lstat(self.workdir)
        places = tuple((v.f_bfree, v.f_ffree) for v in map(os.statvfs, self.places))
        return places, st.st_ino, st.st_mode, st.st_uid, st.st_nlink, st.st_mtime_ns


def remove(path):
    """Delete what a program left at `path`: a tree (of any depth), a file or a link."""
    import shutil
    import stat

    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except BaseException:  # too deep for rmtree's recursion, or odd permissions
        os.spawnvp(os.P_WAIT, "rm", ["rm", "-rf", "--one-file-system", path])


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


def main():
    jobs_fd, results_fd = int(sys.argv[1]), int(sys.argv[2])
    settings = marshal.loads(bytes.fromhex(sys.argv[3]))
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # die with the engine
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversize writes raise, not kill
    sys.path[:] = settings["sys_path"]
    isolation = enter_namespaces(settings) if settings["namespaces"] else ["no namespaces"]
    pid_ns = settings["pid_ns"] = "pid" in isolation
    uid = settings["uid"] if os.geteuid() == 0 and "user" not in isolation else None
    settings["uid"] = uid
    isolation.append(f"uid {uid}" if uid is not None else "no capabilities")
    if "private tmpfs" in isolation:
        settings["workdir"] = "/tmp/acecoder-work"
    else:  # the host's /tmp is shared: a directory of our own, on tmpfs where there is one
        import tempfile

        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        settings["workdir"] = tempfile.mkdtemp(prefix="acecoder-work-", dir=shm)
        os.rmdir(settings["workdir"])  # Scratch makes it, owned by the sandbox uid
        if uid is not None and not reachable(settings["sys_path"][0]):  # the stdlib
            isolation.append("stdlib out of the sandbox uid's reach: only preloaded modules import")
    set_limits(settings, nproc=uid is not None)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # The program would run as the engine's own uid, in the engine's pid namespace.
    settings["confine_signals"] = not pid_ns and uid is None and seccomp_works()
    if settings["confine_signals"]:
        isolation.append("seccomp: signals to its own group only, no ptrace")
    if uid is None and os.geteuid() == 0:
        seal_capabilities()
    settings["isolation"] = isolation
    if not pid_ns:
        zygote(settings, jobs_fd, results_fd, is_init=False)
    pid = os.fork()  # the first child in a new pid namespace is its init
    if pid == 0:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        zygote(settings, jobs_fd, results_fd, is_init=True)
    os.close(jobs_fd)
    os.close(results_fd)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
