"""The namespaces and mounts: what a program can see of the machine, and the scratch
space it may write, made empty again after every program.

`enter_namespaces` runs once, in the worker's outer process, before the zygote
starts; it returns the list of what took effect (the `isolation` the engine
reports), and everything below it only acts on what that list says.

Guarantees, where the kernel allows `unshare` (the returned list says which held):
- New pid, network, IPC and UTS namespaces (and a user namespace when the engine is
  not root): no process outside the sandbox is visible or signalable by pid, there
  is no network interface (not even loopback), no shared System V IPC.
- A private mount namespace in which every mount is read-only and nosuid (recursive
  `mount_setattr`), with a private tmpfs, of `tmpfs_mb` MiB, on /tmp and /dev/shm.
  If making the mounts read-only fails, the list says "no mount isolation" and no
  tmpfs is mounted.
- A Python installation under /tmp or /dev/shm (`KeptPaths`) is bound back,
  read-only, so that a program can start `sys.executable`; nothing else of the
  host's /tmp is visible.
- As root, a directory only root may enter that holds Python (pyenv's /root) is
  covered with an empty read-only tmpfs showing only the Python paths (`expose`).
- `Scratch.reset`: after a program that left anything (a file, a changed work
  directory, a full tmpfs), the work directory, and in a mount namespace /tmp and
  /dev/shm, are fresh and empty before the next program runs.

Does not: hide what the read-only root shows to any user (world-readable files of
the host stay readable), or bound the kernel's own attack surface. Without namespaces
(an ordinary user whose kernel refuses them) none of the above holds: the program
shares the host's filesystem and network, and only `Scratch` (a work directory of
its own, removed after each program) and the limits in `confine.py` apply.
"""

import os
import struct
import sys

from .kernel import (
    AT_FDCWD, AT_RECURSIVE, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER,
    CLONE_NEWUTS, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, MS_BIND, MS_MOVE, MS_NODEV, MS_NOSUID, MS_PRIVATE, MS_REC,
    SYS_MOUNT_SETATTR, check, libc,
)


def enter_namespaces(settings):
    """Move this process into fresh namespaces; returns what it could isolate."""
    done = []
    root = os.geteuid() == 0 and not settings["user_namespace"]
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if not root:
        flags |= CLONE_NEWUSER
    uid, gid = os.getuid(), os.getgid()
    try:
        check(libc.unshare(flags), "unshare")
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
        check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
        attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
        check(
            libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, attr, len(attr)),
            "read-only mounts",
        )
        done += ["mount", "read-only root"]
        size = f"size={settings['tmpfs_mb']}m,mode=1777".encode()
        KEPT.hold()  # before the tmpfs covers them
        for target in (b"/tmp", b"/dev/shm"):
            if os.path.isdir(target):
                check(
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
            check(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None), "bind")
            check(libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE, attr, len(attr)), "ro")
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
            check(libc.mount(path.encode(), stage.encode(), None, MS_BIND | MS_REC, None), "bind")
            staged.append((stage, path))
        check(
            libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m"),
            f"tmpfs on {ancestor}",
        )
        for stage, path in staged:
            os.makedirs(path, 0o755)
            check(libc.mount(stage.encode(), path.encode(), None, MS_MOVE, None), "move")
            os.rmdir(stage)
        attr = struct.pack("QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
        check(libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, ancestor.encode(), 0, attr, len(attr)), "ro")
        masked.append(f"{ancestor} masked")
    return masked


def reachable(path):
    """Whether a user other than the owner may enter every directory up to `path`."""
    parts = os.path.realpath(path).split("/")
    return all(os.stat("/".join(parts[:i]) or "/").st_mode & 0o001 for i in range(1, len(parts) + 1))



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
                    check(libc.mount(b"tmpfs", place.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, self.size), "tmpfs")
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
