"""Stage `score`: a reward model's score for every sampled program.

Input: samples (`Sample` records, what `acecoder sample` writes) and the questions
they answer: `Question` records (the prompt shows the question and its first test,
as in training) or benchmark `Problem` records (rows with `prompt` and `benchmark`;
the question text is the problem's prompt, with no test shown). Output: one `Score`
record per sample, in input order, appended and flushed chunk by chunk; with
`resume` the samples already in the output are not scored again.

The model: a checkpoint folder in any of the three layouts (`RewardModel.load`), an
`http(s)://` URL of an `acecoder serve-rm` server, or a loaded `RewardModel` /
`RemoteRewardModel` (the Python API). Samples go to the model in chunks of
`CHUNK_BATCHES` batches, inside which `RewardModel` sorts by length, so batches
have little padding while the output streams.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.data.streams import chunks
from acecoder.data.tables import check_output, read_records
from acecoder.errors import ConfigError, InputError
from acecoder.records import DatasetRow, Problem, Question, Sample, Score

CHUNK_BATCHES = 8  # batches per chunk: more sorts better, fewer flushes; a kill loses at most one chunk


@dataclass(kw_only=True)
class ScoreSettings:
    batch_size: int = 16
    """Sequences per forward pass (the GPU's memory bounds it)."""
    max_length: int = 2048
    """Tokens per (prompt, program); a longer one keeps its end, where the score is read."""
    device: str | None = None
    """"cuda", "cpu", ...; None: a GPU when there is one."""
    dtype: str | None = None
    """"bfloat16", "float16" or "float32"; None: bfloat16 on a GPU that has it, else float32."""
    name: str | None = None
    """The `reward_model` written in each Score [default: the model folder's name]."""

    def check(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"batch_size is {self.batch_size}: give at least 1")
        if self.max_length < 8:
            raise ConfigError(f"max_length is {self.max_length}: give at least 8 tokens")


@dataclass(kw_only=True)
class ScoreSummary:
    samples: int = 0  # samples read
    scored: int = 0  # scored in this run
    already_done: int = 0  # in the output before (resume)
    truncated: int = 0  # sequences cut to max_length
    mean_score: float | None = None  # over this run's scores
    reward_model: str = ""
    output: str = ""
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def read_questions(path: str | Path) -> dict[str, tuple[str, list[str] | None]]:
    """question id -> (question text, tests whose first is shown, or None), from the
    filtered dataset (DatasetRow: its kept tests, as training showed them), Question
    records (their synthesized tests: the first may be one the oracle rejected) or
    Problem records (no test shown)."""
    first = next(iter(read_records(path, dict)), None)
    if first is None:
        raise InputError("no questions in this file", path=str(path))
    if "test_cases" in first and "question" in first:
        return {row.id: (row.question, row.test_cases) for row in read_records(path, DatasetRow, unique="id")}
    if "question" in first:
        return {q.id: (q.question, q.tests) for q in read_records(path, Question, unique="id")}
    if "prompt" in first and "benchmark" in first:
        return {p.id: (p.prompt, None) for p in read_records(path, Problem, unique="id")}
    raise InputError(
        f"line 1 has fields {sorted(first)}: expected dataset rows (id, question, test_cases, ...), "
        "Question records (id, question, tests, ...) or Problem records (id, benchmark, prompt, ...)",
        path=str(path),
    )


def load_model(model, settings: ScoreSettings):
    """A scorer from a folder, a URL or an object with `.score` (returned as is)."""
    if hasattr(model, "score"):
        return model
    text = str(model)
    if text.startswith(("http://", "https://")):
        from acecoder.rm import RemoteRewardModel

        return RemoteRewardModel(text)
    from acecoder.rm import RewardModel

    return RewardModel.load(text, device=settings.device, dtype=settings.dtype, max_length=settings.max_length)


def run(samples_path: str | Path, output_path: str | Path, *, questions_path: str | Path, model,
        settings: ScoreSettings, resume: bool = False, progress=None) -> ScoreSummary:
    """Score every sample of `samples_path`; see the module docstring."""
    settings.check()
    check_output(output_path, samples_path, questions_path)
    if Path(output_path).suffix != ".jsonl":
        raise ConfigError(f"output {output_path}: scores are written as .jsonl (streamed, resumable)")
    started = time.monotonic()
    questions = read_questions(questions_path)
    # Two passes over the samples, none held: the first checks them all before the model
    # loads (the slow part), the second scores them chunk by chunk (1.5 M samples at scale).
    done = _done(output_path) if resume and Path(output_path).exists() else set()
    count = already = 0
    for number, sample in enumerate(read_records(samples_path, Sample), start=1):
        if sample.question_id not in questions:
            raise InputError(
                f"sample {sample.id}: question {sample.question_id!r} is not in {questions_path}",
                path=str(samples_path), line=number,
            )
        count += 1
        already += sample.id in done
    scorer = load_model(model, settings)
    name = settings.name or scorer.name
    summary = ScoreSummary(samples=count, reward_model=name, output=str(output_path), already_done=already)

    with JsonlWriter(output_path, resume=resume) as writer:
        if progress:
            progress.total(count - already)
        total = 0.0
        todo = (s for s in read_records(samples_path, Sample) if s.id not in done)
        for part in chunks(todo, settings.batch_size * CHUNK_BATCHES):
            texts = [questions[s.question_id] for s in part]
            scores = scorer.score([t[0] for t in texts], [s.program for s in part], [t[1] for t in texts],
                                  batch_size=settings.batch_size)
            for sample, value in zip(part, scores):
                record = Score(question_id=sample.question_id, model=sample.model, sample_index=sample.sample_index,
                               reward_model=name, score=float(value))
                writer.write(dataclasses.asdict(record))
                total += float(value)
                if progress:
                    progress.advance(sample)
            summary.scored += len(part)
    summary.mean_score = total / summary.scored if summary.scored else None
    summary.truncated = getattr(scorer, "truncated", 0)
    summary.seconds = time.monotonic() - started
    return summary



def _done(path: str | Path) -> set[str]:
    """The sample ids already scored in `path` (a garbled line: not done)."""
    done = set()
    for _, row in read_jsonl(path, bad_lines=[]):
        try:
            done.add(f"{row['question_id']}/{row['model']}/{row['sample_index']}")
        except KeyError:
            continue
    return done
