"""The confinement of each child: resource limits, its uid or capabilities, and the
seccomp filter of the mode without namespaces.

Guarantees:
- `set_limits` (in the worker, inherited by the zygote and every child): address
  space, file size, open files, no core files, and, with a sandbox uid of its own,
  the number of processes. `child.py` adds the CPU time of the run.
- `drop_privileges` (in each child, before the program): as root, the child becomes
  the worker's own unprivileged uid with no groups; in a user namespace it keeps the
  mapped uid but has no capabilities left. `seal_capabilities` (once, before the
  zygote) empties the bounding set and locks the securebits, so neither execve nor a
  setuid binary gives one back; the worker also sets `no_new_privs`.
- `confine_signals` (only when the child would run as the engine's uid in the
  engine's pid namespace): `kill` and `prlimit` only on the child itself or its
  group, `tgkill` only on its own threads; tkill, sigqueue, ptrace, process_vm_*,
  process_madvise and pidfd signals or descriptors are refused, as is any other
  syscall ABI (int 0x80, x32).

Does not: bound memory or CPU by a cgroup (rlimits are per process: a program with
`max_processes` processes may use that many times `memory_mb`), bound processes
where the child keeps the engine's uid (RLIMIT_NPROC counts per uid), or filter any
other system call: the seccomp filter is about reaching other processes, not about
the kernel's surface.
"""

import ctypes
import os
import resource
import struct

from .kernel import PR_CAPBSET_DROP, PR_SET_SECUREBITS, check, libc


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
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
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
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0), "seccomp")


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

