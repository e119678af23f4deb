"""Responses on disk, so that an interrupted run resumes without paying for a sample twice.

One sqlite3 file (stdlib; WAL, so several runs may share it). A row is one sample:
(key, sample index) -> text. The key hashes the model and everything that changes
the answer (messages, sampling settings, seed) but not the endpoint's address, so a
run moved to another server of the same model keeps its cache. A request the server
refused for good (a permanent LLMError) is a row of `failures`, so that a rerun does not
pay for the same refusal again (the client's `retry_failed` asks anyway).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from acecoder.llm._types import ChatRequest, Choice

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT,
    PRIMARY KEY (key, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    status INTEGER,
    message TEXT NOT NULL
) WITHOUT ROWID;
"""


def request_key(model: str, request: ChatRequest, extra: dict | None = None) -> str:
    """The cache key of a request's samples (not of `n`: sample i is the same whatever n is)."""
    identity = {
        "model": model,
        "messages": list(request.messages),
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop) if request.stop else None,
        "json_mode": request.json_mode,
        "extra": extra or None,
    }
    text = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    """Samples by (key, index). Writes commit at once: a kill loses at most the request in flight."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a process kill, which is what matters
        self._db.executescript(_SCHEMA)

    def get(self, key: str, n: int) -> dict[int, Choice]:
        rows = self._db.execute(
            "SELECT idx, text, finish_reason FROM samples WHERE key = ? AND idx < ?", (key, n)
        )
        return {idx: Choice(text, finish, cached=True) for idx, text, finish in rows}

    def put(self, key: str, choices: dict[int, Choice]) -> None:
        rows = [(key, idx, choice.text, choice.finish_reason) for idx, choice in choices.items()]
        # OR IGNORE: when two runs race on a sample, the first answer stays.
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?)", rows)
        finally:
            self._db.execute("COMMIT")

    def failure(self, key: str) -> tuple[str, int | None, str] | None:
        """(reason, status, message) of the request's recorded permanent failure, if any."""
        return self._db.execute("SELECT reason, status, message FROM failures WHERE key = ?", (key,)).fetchone()

    def put_failure(self, key: str, reason: str, status: int | None, message: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)", (key, reason, status, message))

    def forget_failure(self, key: str) -> None:
        self._db.execute("DELETE FROM failures WHERE key = ?", (key,))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]

    def close(self) -> None:
        self._db.close()
