"""Whole files written aside and renamed: a reader (or a rerun after a kill) sees the old
file or the new one, never half of one. Files that grow line by line use JsonlWriter."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def write_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a sibling temporary file and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        aside.write_text(text, encoding="utf-8")
        os.replace(aside, path)
    except OSError as error:
        aside.unlink(missing_ok=True)
        raise naming(error, path) from None
    except BaseException:
        aside.unlink(missing_ok=True)
        raise
    return path


def naming(error: OSError, path: str | Path) -> OSError:
    """`error` with the file it was about: a failed write or flush (a full disk) names none,
    and the user should learn which file could not be written."""
    if error.filename or error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
