"""Questions and their samples on disk, grouped by question: what lets a stage walk a
dataset of millions of samples one question at a time, holding one question in memory.

An sqlite file, written once and read in key order: `groups()` yields each question
(by id) with its samples (by model, then index), the order the stages sort by, in one
scan. Keys compare as UTF-8 bytes, which is the order of Python's `sorted` on str.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Self

from acecoder.data.tables import read_records
from acecoder.errors import InputError
from acecoder.records import Question, Sample

__all__ = ["SampleIndex", "index_inputs", "scratch_index", "skipped_rows"]

_TABLES = """
CREATE TABLE questions (id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE samples (question_id TEXT, model TEXT, sample_index INTEGER, record TEXT NOT NULL,
                      PRIMARY KEY (question_id, model, sample_index)) WITHOUT ROWID;
CREATE TABLE notes (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE claims (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE verdicts (job TEXT, digest TEXT, outcomes TEXT NOT NULL, seconds TEXT,
                       PRIMARY KEY (job, digest)) WITHOUT ROWID;
"""


class SampleIndex:
    """A scratch index in `path` (created; it must not exist): questions, their samples,
    small per-question notes a stage keeps between its passes, and verdicts known from
    an earlier run (by job id and the digest of what decides them)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        # Scratch data, rebuilt from the inputs by any rerun: no journal, no fsync.
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8192;" + _TABLES)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def commit(self) -> None:
        self._db.commit()

    # ------------------------------------------------------------ writing

    def add_question(self, question: Question) -> bool:
        """False (and nothing stored) when a question with that id is there already."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO questions VALUES (?, ?)", (question.id, _dump(question))
        )
        return cursor.rowcount == 1

    def has_question(self, question_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is not None

    def add_sample(self, sample: Sample, *, replace: bool = False) -> bool:
        """False (and nothing stored) when the question has a sample of that model and
        index already; with `replace`, this one takes its place instead."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        cursor = self._db.execute(
            f"{verb} INTO samples VALUES (?, ?, ?, ?)",
            (sample.question_id, sample.model, sample.sample_index, _dump(sample)),
        )
        return cursor.rowcount == 1

    def note(self, key: str, value) -> None:
        """Keep a JSON-ready value for a later pass (a question's first-phase verdicts)."""
        self._db.execute("INSERT OR REPLACE INTO notes VALUES (?, ?)", (key, json.dumps(value)))

    def claim(self, keys: Iterable[str]) -> str | None:
        """Record keys that must be unique across the whole run; the first one claimed
        twice, or None."""
        for key in keys:
            try:
                self._db.execute("INSERT INTO claims VALUES (?)", (key,))
            except sqlite3.IntegrityError:
                return key
        return None

    def add_verdicts(self, job: str, digest: str, outcomes: list[str], seconds: list[float] | None = None) -> None:
        """A job's verdicts, and each test's CPU seconds where known."""
        self._db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)",
                         (job, digest, json.dumps(outcomes), None if seconds is None else json.dumps(seconds)))

    def add_references(self, model: str) -> bool:
        """Each question's `reference` program as its one sample of `model` (replacing any
        there); False when no question has one."""
        found = False
        for question in self.questions():
            if question.reference:
                found = True
                self.add_sample(Sample(question_id=question.id, model=model, sample_index=0, completion="",
                                       program=question.reference), replace=True)
        self.commit()
        return found

    # ------------------------------------------------------------ reading

    def verdicts(self, job: str, digest: str) -> tuple[list[str], list[float] | None] | None:
        """(verdicts, CPU seconds per test or None) of a job, if known."""
        row = self._db.execute("SELECT outcomes, seconds FROM verdicts WHERE job = ? AND digest = ?",
                               (job, digest)).fetchone()
        return None if row is None else (json.loads(row[0]), None if row[1] is None else json.loads(row[1]))

    def questions(self) -> Iterator[Question]:
        for (record,) in self._db.execute("SELECT record FROM questions ORDER BY id"):
            yield Question(**json.loads(record))

    def groups(self, *, noted: bool = False) -> Iterator[tuple[Question, list[Sample], object]]:
        """(question, its samples, None) for every question by id; with `noted`, only the
        questions that have a note, with it in third place. Notes may be added during a
        walk without `noted` (it does not read them)."""
        if noted:
            rows = self._db.execute(
                "SELECT q.id, q.record, n.value, s.record FROM notes n JOIN questions q ON q.id = n.key"
                " LEFT JOIN samples s ON s.question_id = q.id ORDER BY n.key, s.model, s.sample_index"
            )
        else:
            rows = self._db.execute(
                "SELECT q.id, q.record, NULL, s.record FROM questions q"
                " LEFT JOIN samples s ON s.question_id = q.id ORDER BY q.id, s.model, s.sample_index"
            )
        for _, group in itertools.groupby(rows, key=lambda row: row[0]):
            group = list(group)
            _, question, note, _ = group[0]
            samples = [Sample(**json.loads(row[3])) for row in group if row[3] is not None]
            yield Question(**json.loads(question)), samples, None if note is None else json.loads(note)

    def count(self, table: str) -> int:
        if table not in ("questions", "samples", "notes"):
            raise ValueError(table)
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def models(self) -> set[str]:
        return {model for (model,) in self._db.execute("SELECT DISTINCT model FROM samples")}


@contextlib.contextmanager
def scratch_index(output_path: Path) -> Iterator[SampleIndex]:
    """An index in a scratch folder beside `output_path` (`.<name>.index/`), removed at the
    end: any rerun rebuilds it, and one a killed run left is removed first."""
    scratch = output_path.with_name(f".{output_path.name}.index")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        with SampleIndex(scratch / "index.sqlite") as index:
            yield index
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def index_inputs(
    index: SampleIndex, questions_path: Path, samples_path: Path, *, strict: bool, skipped: list, ignored: Counter,
    check_question: Callable[[Question], object] | None = None,
) -> None:
    """Questions (the first of each id), then their samples (the first of each question,
    model and index) into `index`: memory holds one record at a time. Malformed rows go to
    `skipped` (or raise, with `strict`, as do repeated ids); well-formed rows not used are
    counted in `ignored` by why; a question `check_question` raises an InputError for is a
    malformed row too."""
    for question in read_records(questions_path, Question, strict=strict, skipped=skipped, check=check_question):
        if not index.add_question(question):
            if strict:
                raise InputError(
                    f"question id {question.id!r} appears twice: ids must be unique", path=str(questions_path)
                )
            ignored["duplicate_questions"] += 1
    for sample in read_records(samples_path, Sample, strict=strict, skipped=skipped):
        if not index.has_question(sample.question_id):
            ignored["samples_without_question"] += 1
            continue
        sample.completion = ""  # the stages carry the extracted program; the raw text would double the index
        if not index.add_sample(sample):
            if strict:
                raise InputError(
                    f"sample {sample.id!r} appears twice: (question, model, index) must be unique",
                    path=str(samples_path),
                )
            ignored["duplicate_samples"] += 1
    index.commit()


def skipped_rows(errors: list[InputError], limit: int) -> list[dict]:
    """The first `limit` malformed rows, each as {file, line, message} for a JSON summary."""
    return [{"file": e.path, "line": e.line, "message": str(e).removeprefix(f"{e.path}:{e.line}: ")}
            for e in errors[:limit]]


def _dump(record) -> str:
    return json.dumps(dataclasses.asdict(record), ensure_ascii=False)
