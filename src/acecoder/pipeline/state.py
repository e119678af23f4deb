"""What a run folder remembers between runs: `state.json`, and the content hashes that
decide whether a stage must run again.

    {"order": [...stage names...],
     "stages": {"synth": {"status": "done", "fingerprint": "...", "outputs": {"questions.jsonl": "<sha256>"},
                          "started": "...", "finished": "...", "seconds": 12.3, "sittings": 1,
                          "summary": {...}}, ...}}

`seconds` is the stage's time over all its sittings with this fingerprint (a resumed
stage adds to it; a stage killed outright, SIGKILL, loses its last sitting's share).

A stage's fingerprint hashes its settings and the content of its inputs (the hashes its
upstream stages recorded for their outputs; external inputs such as the seeds are hashed
when read). A stage is skipped when it is `done` with the same fingerprint and its
outputs still hash as recorded; it resumes (its outputs kept) when it was interrupted
with the same fingerprint; otherwise its outputs are removed and it runs afresh.

The file is replaced atomically (written aside, then renamed), so a kill at any moment
leaves either the old state or the new one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path

from acecoder.data.files import file_sha256


def content_hash(path: Path) -> str | None:
    """sha256 of a file's bytes, or of a folder's files (names and contents, checkpoints
    of interrupted training excluded); None when it does not exist."""
    if path.is_file():
        return file_sha256(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file() and not _transient(p.relative_to(path))):
            digest.update(str(file.relative_to(path)).encode() + b"\0" + (content_hash(file) or "").encode())
        return digest.hexdigest()
    return None


def _transient(relative: Path) -> bool:
    # Intermediate trainer checkpoints and event logs change on resume without changing the result.
    return any(part.startswith(("checkpoint-", "runs", "events.out")) for part in relative.parts)


def fingerprint(settings: dict, inputs: dict[str, str | None]) -> str:
    from acecoder import __version__

    blob = json.dumps({"settings": settings, "inputs": inputs, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class RunState:
    def __init__(self, run_dir: Path, order: list[str]):
        self.path = run_dir / "state.json"
        data = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.stages: dict[str, dict] = data.get("stages", {})
        self.order = order

    def get(self, stage: str) -> dict:
        return self.stages.get(stage, {})

    def update(self, stage: str, **fields) -> None:
        self.stages.setdefault(stage, {}).update(fields)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = self.path.with_suffix(".json.tmp")
        aside.write_text(json.dumps({"order": self.order, "stages": self.stages}, indent=1, default=str) + "\n")
        os.replace(aside, self.path)
