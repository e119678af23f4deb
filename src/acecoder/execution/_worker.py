"""The sandbox worker's entry point: the script the engine starts, as
`python -S -I _worker.py JOBS_FD RESULTS_FD SETTINGS_HEX`.

Read the package docstring of `_sandbox/` first: it draws the process tree and gives
the order in which to audit the sandbox. The worker runs with the standard library
only; it puts this folder on its path just long enough to import `_sandbox` (its
modules import each other relatively, so the trusted side may import them too, as
`acecoder.execution._sandbox`), then replaces the path with the engine's.

Guarantees, in `main`, before the zygote starts:
- The worker dies with the engine (PDEATHSIG), as does the zygote with it.
- The mode follows from what the kernel granted (`namespaces.enter_namespaces`), and
  every line of `isolation` (reported to the engine, in `Engine.isolation`) says
  what holds: as root without a user namespace, a uid of the sandbox's own for each
  worker; in a user namespace, no capabilities; with no pid namespace and the
  engine's own uid, the seccomp filter of `confine.py` (if the kernel takes it).
- The rlimits and `no_new_privs` are set here, once, and inherited by everything
  that follows; capabilities are sealed when the children keep uid 0 of a user
  namespace.

Does not: check the settings, which come from the trusted engine.
"""

import marshal
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `_sandbox`, until main sets the path

from _sandbox.confine import seal_capabilities, seccomp_works, set_limits  # noqa: E402
from _sandbox.kernel import PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, libc  # noqa: E402
from _sandbox.namespaces import enter_namespaces, reachable  # noqa: E402
from _sandbox.zygote import zygote  # noqa: E402


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
