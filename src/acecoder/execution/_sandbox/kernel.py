"""The sandbox's handle on the C library, and every number it passes to the kernel.

Guarantees: `check` turns a failed call into an OSError naming it, so that a mount or
filter that did not take effect stops the worker (or is reported in `isolation`) instead
of passing silently. The numbers here are the kernel's ABI (linux/sched.h, linux/mount.h,
linux/prctl.h, linux/securebits.h): one place to check them against the headers.

Does not: decide anything. The calls are made, and their failures handled, by the modules
that use these numbers. Only the seccomp and capset numbers, which differ per architecture,
live beside their one user (`confine.py`).
"""

import ctypes
import os

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_MOVE = 2, 4, 8, 0x1000, 0x2000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_SET_SECUREBITS, PR_CAPBSET_DROP, PR_SET_DUMPABLE = 28, 24, 4
SYS_MOUNT_SETATTR = 442  # the same number on every architecture
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2

libc = ctypes.CDLL(None, use_errno=True)


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
