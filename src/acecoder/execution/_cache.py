"""Verdicts on disk, keyed by everything that decides them, shared by runs and stages.

A verdict depends on the program, its tests, the limits it ran under, the engine's own
code, the Python that ran it and the isolation asked for; nothing else. So a rerun of
`filter` after a setting that changes no verdict (min_tests, say), `eval` and `bon` on
samples already judged, or a second run folder over the same samples, runs nothing
again, while a change to any file of the engine or of its sandbox (ENGINE_IDENTITY
hashes them) or a new Python runs everything again.

One sqlite3 file, `verdicts.sqlite` in acecoder's cache folder (`~/.cache/acecoder`, or
$ACECODER_CACHE); ACECODER_VERDICTS names another file, or turns the cache off with 0.
It is bounded to ACECODER_VERDICTS_GB (4 GB): past it the oldest fifth of the verdicts
is dropped.
A verdict takes about 150-400 bytes (its outcomes and messages), so 4 GB holds about
10 M programs, several times the method's 1.5 M.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import threading
from pathlib import Path

from acecoder.paths import cache_root
from acecoder.execution._suites import cache_identity
from acecoder.records import ExecutionJob, ExecutionResult, ProgramStatus, TestOutcome, TestSuite

# The trusted side's files; every module of the sandbox (`_sandbox/`) is found by listing
# it, so that one added there is covered too.
_SOURCES = ("_engine.py", "_process.py", "_results.py", "_judges.py", "_plan.py", "_worker.py", "_graders.py",
            "_suites.py", "_harness_prime.py", "_harness_pytest.py", "_pytest_checks.py")


def _sources(here: Path = Path(__file__).parent) -> list[Path]:
    """The files whose code decides a verdict, `here` being the execution package."""
    # livecodebench.py: its harness and comparison judge suites under the LiveCodeBench rule.
    return [*(here / name for name in _SOURCES), *sorted((here / "_sandbox").glob("*.py")),
            here.parent / "records.py", here.parent / "benchmarks" / "livecodebench.py"]


def _identity(sources: list[Path]) -> str:
    """A hash of the engine's source files and of the record types it fills: each file's
    folder and name and size, then its bytes, so that moving code from one file to the
    next changes it too."""
    digest = hashlib.sha256()
    for path in sources:
        data = path.read_bytes()
        digest.update(f"{path.parent.name}/{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


ENGINE_IDENTITY = _identity(_sources())


class VerdictCache:
    """ExecutionResults by job key; safe to use from several threads of one process."""

    def __init__(self, path: str | Path, *, max_bytes: int = 4 * 2**30):
        self.path, self.max_bytes = Path(path), max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, result TEXT NOT NULL)")
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str]] = []
        self.hits = self.misses = 0
        self._trim()

    @classmethod
    def default(cls) -> VerdictCache | None:
        """The user's cache (see the module docstring); None when turned off."""
        where = os.environ.get("ACECODER_VERDICTS", "").strip()
        if where.lower() in ("0", "false", "no", "off"):
            return None
        gigabytes = float(os.environ.get("ACECODER_VERDICTS_GB", "4"))
        return cls(Path(where).expanduser() if where else cache_root() / "verdicts.sqlite", max_bytes=int(gigabytes * 2**30))

    @staticmethod
    def conditions(limits: dict) -> str:
        """What decides every verdict of one engine besides the job: its code, the Python, its
        limits and isolation settings. Computed once per engine, not per job."""
        return json.dumps([ENGINE_IDENTITY, sys.version, sorted(limits.items())], ensure_ascii=False, default=str)

    @staticmethod
    def key(job: ExecutionJob, conditions: str) -> str:
        tests = job.tests
        identity = [conditions, job.program, cache_identity(tests) if isinstance(tests, TestSuite) else list(tests)]
        if job.limits is not None or job.stop_at_timeout:  # else as before: earlier entries stay valid
            identity += [job.limits, job.stop_at_timeout]
        identity = json.dumps(identity, ensure_ascii=False)
        return hashlib.sha256(identity.encode()).hexdigest()

    def get(self, key: str, job_id: str) -> ExecutionResult | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM verdicts WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        data = json.loads(row[0])
        return ExecutionResult(
            id=job_id, status=ProgramStatus(data["status"]), outcomes=[TestOutcome(o) for o in data["outcomes"]],
            pass_rate=data["pass_rate"], messages=data["messages"], error=data["error"], seconds=data["seconds"],
            test_cpu_seconds=data.get("test_cpu_seconds", []), test_wall_seconds=data.get("test_wall_seconds", []),
        )

    def put(self, key: str, result: ExecutionResult) -> None:
        data = result.to_dict()
        data.pop("id")
        with self._lock:
            self._pending.append((key, json.dumps(data, ensure_ascii=False)))
            if len(self._pending) >= 256:
                self._flush()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def close(self) -> None:
        with self._lock:
            self._flush()
            self._db.close()

    def _flush(self) -> None:
        if self._pending:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", self._pending)
            finally:
                self._db.execute("COMMIT")
            self._pending.clear()

    def _trim(self) -> None:
        """Past max_bytes, drop the oldest fifth of the verdicts (their pages are reused)."""
        pages, free, size = (self._db.execute(f"PRAGMA {name}").fetchone()[0]
                             for name in ("page_count", "freelist_count", "page_size"))
        if (pages - free) * size > self.max_bytes:
            rows = self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
            self._db.execute("DELETE FROM verdicts WHERE rowid IN (SELECT rowid FROM verdicts ORDER BY rowid LIMIT ?)",
                             (max(1, rows // 5),))
