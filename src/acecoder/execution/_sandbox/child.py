"""The child: one forked process that runs a program, then its tests in order, and
reports each into the shared region (`frames.Frames`).

This is the only code that shares a process with untrusted code. Before the program's
first line it closes every descriptor above stderr (the pipes to the engine among
them), starts a session of its own, drops its privileges and, in the mode without
namespaces, installs the seccomp filter (`confine.py`); then it enters the work
directory and sets RLIMIT_CPU to the run's whole budget (the program's limit plus
those of its remaining tests, plus one second).

Guarantees:
- A check test's operands leave as plain builtin data (`plain`): exact builtin types,
  with subclasses converted to their base type and any other object reduced to its
  identity, so an object with a forged `__eq__` never reaches a comparison: the
  engine compares, on its side, against expected values the sandbox never sees.
- A test's CPU seconds are its main thread's clock plus the children it waited for;
  wall seconds from a monotonic clock. Both leave the child in the test's frame.
- The child never returns into the zygote's code: it ends with `os._exit`, whatever
  the program raised.

Does not: protect anything in this process from the program. The program can rewrite
these functions, the tests still to run, or the frames it reports; the zygote and the
engine are built so that this gains it nothing beyond its own verdicts on "plain"
tests (see `frames.py`). Threads the program starts are not counted in a test's
reported CPU time (the zygote's limits and RLIMIT_CPU count them).
"""

import os
import resource
import sys
import time
import types

from .confine import confine_signals, drop_privileges
from .frames import (
    ERROR, FAIL, IMPORT, INVALID, LOAD_OK, MAX_FRAME, MEMORY, PASS, RUNTIME, TIMING, VALUES,
)

MAX_ITEMS = 1_000_000  # items of a container converted for an `in` test


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
