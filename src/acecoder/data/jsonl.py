"""JSONL files of records: read with errors that name the line, write so a kill loses nothing.

A run's output is appended and flushed one line at a time; `--resume` reopens it,
drops a torn last line, and skips the ids already there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from acecoder.data.files import naming
from acecoder.errors import InputError


def read_jsonl(path: str | Path, *, bad_lines: list | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line.

    A line that is not a JSON object raises InputError, or, when `bad_lines` is given,
    is appended to it as an InputError and passed over.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot open: {error.strerror}", path=str(path)) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
                if not isinstance(value, dict):
                    raise InputError("each line must be a JSON object", path=str(path), line=number)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                problem = InputError(f"not valid JSON ({error})", path=str(path), line=number)
            except InputError as error:
                problem = error
            else:
                yield number, value
                continue
            if bad_lines is None:
                raise problem
            bad_lines.append(problem)


class JsonlWriter:
    """Appends one JSON object per line, flushed as written.

    With `resume=True` an existing file is kept: a torn last line (from a kill in the
    middle of a write) is cut off and `done` holds the ids already written (the `key`
    of each line; with `key=None` the file is not read, and `done` stays empty).
    """

    def __init__(self, path: str | Path, *, resume: bool = False, key: str | None = "id"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        if resume and self.path.exists():
            self._keep_whole_lines()
            for _, value in read_jsonl(self.path, bad_lines=[]) if key is not None else ():  # garbled: not done
                self.done.add(str(value.get(key)))
            self._file = self.path.open("a", encoding="utf-8")
        else:
            self._file = self.path.open("w", encoding="utf-8")

    def _keep_whole_lines(self) -> None:
        """Cut a torn last line, reading only the file's tail (outputs grow to gigabytes)."""
        with self.path.open("rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            position, step = size, 1 << 16
            while position > 0:
                start = max(0, position - step)
                handle.seek(start)
                newline = handle.read(position - start).rfind(b"\n")
                if newline >= 0:
                    end = start + newline + 1
                    break
                position = start
            else:
                end = 0  # no complete line at all
            if end != size:
                handle.truncate(end)

    def write(self, record: dict) -> None:
        try:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()
        except OSError as error:  # a full disk: a torn last line, cut by the next resume
            raise naming(error, self.path) from None

    def close(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            raise naming(error, self.path) from None
        finally:
            try:
                self._file.close()  # closes the descriptor even when the flush in it fails again
            except OSError:
                pass

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            self.close()
        except OSError:
            if exc_type is None:
                raise  # else the error on its way out already says what went wrong
