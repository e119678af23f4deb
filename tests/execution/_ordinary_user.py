"""Run a command as an ordinary user when the tests run as root (CI, these machines).

Most users are not root, and the kernel treats their programs differently: a user
namespace instead of a sandbox uid, or no namespaces at all, and signals between
processes of one uid are allowed. `as_ordinary_user` runs a command under a throwaway
uid, so those paths are tested where the suite runs.

The interpreter often lives where only root may enter (pyenv under /root): the command
runs in a mount namespace of its own in which such a directory is covered by a
read-only tmpfs holding only the interpreter, the venv and the repository (the
sandbox's own `expose`), so the throwaway uid can start Python and import, and still
cannot read the rest of /root.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
THROWAWAY_UID = 54_321  # no account has it; nothing on the machine belongs to it

CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x00020000, 0x4000, 0x40000


def _enter_as_user(uid: int, refuse_namespaces: bool) -> None:
    """In the forked child, before exec: a private mount namespace that exposes the
    interpreter and the repository, then the throwaway uid with no groups."""
    from acecoder.execution._sandbox.namespaces import expose

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        os._exit(97)
    needed = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)), str(REPO)]
    for index, path in enumerate(sorted({os.path.realpath(p) for p in needed})):
        if not os.stat(path).st_mode & 0o001:
            _open_up(libc, path, index)
    expose(needed)  # directories above them that others may not enter
    if refuse_namespaces:
        _refuse_unshare(libc)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _open_up(libc, path: str, index: int) -> None:
    """A needed directory that others may not enter (a clone in `mktemp -d`, mode 0700)
    shown as one they may, in this mount namespace only: an overlay whose upper layer, an
    empty 0755 directory on a tmpfs, gives the merged directory its mode. The real
    directory's mode is not touched, and what is inside keeps its own."""
    stage = f"/tmp/.acecoder-open-{os.getpid()}-{index}"
    os.mkdir(stage, 0o700)
    if libc.mount(b"tmpfs", stage.encode(), b"tmpfs", 0, b"mode=0700") != 0:
        os._exit(96)
    os.mkdir(f"{stage}/upper", 0o755)
    os.chmod(f"{stage}/upper", 0o755)
    os.mkdir(f"{stage}/work", 0o700)
    options = f"lowerdir={path},upperdir={stage}/upper,workdir={stage}/work".encode()
    if libc.mount(b"overlay", path.encode(), b"overlay", 0, options) != 0:
        os._exit(95)


def _refuse_unshare(libc) -> None:
    """unshare(2) fails with EPERM from here on, in this process and all it starts: what
    Docker's default seccomp profile and Ubuntu's AppArmor restriction do to an ordinary
    user, which sends the sandbox to its no-namespaces fallback."""
    number = {"x86_64": 272, "aarch64": 97}[os.uname().machine]
    program = [(0x20, 0, 0, 0), (0x15, 0, 1, number), (0x06, 0, 0, 0x00050001), (0x06, 0, 0, 0x7FFF0000)]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    fprog = struct.pack("HxxxxxxQ", len(program), ctypes.addressof(code))
    if libc.prctl(22, 2, fprog, 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        os._exit(98)


def world_writable_dir() -> Path:
    """A fresh folder under /tmp that the throwaway uid may write (pytest's own are root's)."""
    path = Path(tempfile.mkdtemp(prefix="acecoder-user-"))
    path.chmod(0o777)
    atexit.register(shutil.rmtree, path, ignore_errors=True)  # root may remove what the throwaway uid wrote
    return path


def as_ordinary_user(argv: list[str], *, timeout: float, env: dict | None = None,
                     refuse_namespaces: bool = False) -> subprocess.CompletedProcess:
    """Run `argv` as THROWAWAY_UID (the caller must be root), from the repository root;
    with `refuse_namespaces`, on a kernel that refuses it namespaces."""
    assert os.geteuid() == 0, "only root can become another user"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",  # the repository is not the throwaway uid's to write
        "PYTHONPATH": str(REPO / "src"),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    return subprocess.run(
        argv, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout,
        preexec_fn=lambda: _enter_as_user(THROWAWAY_UID, refuse_namespaces),
    )
