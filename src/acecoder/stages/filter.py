"""Stage `filter`: keep the tests the oracle passes, score every sample on them (§5 of the method).

In:  a questions file (`Question` records) and a samples file (`Sample` records), in any
     format `read_records` takes, and the name of the oracle model: its samples are the
     oracle's programs (one greedy program per question; of several, the lowest
     `sample_index`).
Out: the dataset, one `DatasetRow` per kept question in the AceCode-87K layout, sorted
     by id, written all or nothing by `write_export` (jsonl, parquet or a datasets
     folder, by the output's name); `<output>.executions.jsonl`, every verdict as it
     arrives (each an ExecutionResult plus `job` and `digest`), which `resume` reuses;
     with `report_dir`, the quality report (`acecoder.report.quality`).

A row's `inferences` are every sample of the question except the oracle's own program:
that one passes every kept test by construction, so its 1.0 would only pull the
hard subset's mean and spread (§9) and feed cross-model pairs a chosen side that is
not a sample. The oracle model's other samples stay. The report keeps the oracle's
pass rates (over the original tests).

The rule (§5): a test is kept when the oracle's program passes it; a question is
dropped when the oracle passes fewer than `min_oracle_passes` tests (the method drops
at 3 or fewer) or fewer than `min_tests` tests remain (the method: 5). A dropped
question gets exactly one `DropReason`, the first that applies.

One fix to the original: a sample's pass rate is passed kept tests / kept tests. The
original divided by all the synthesized tests, so no sample could reach 1.0 once the
filter had dropped a test of its question.

What runs, all in the execution engine, in two phases:

1. the oracle's program of each question against the synthesized tests, and the
   question's `reference` program, when it has one, against them too (the report's
   false rejections). The rule above then keeps tests and drops questions.
2. for kept questions only: every other sample against the kept tests only, and
   every sample (the oracle's included) against the question's `reference_tests`
   when it has some. A dropped test (often one that hangs to the timeout) never
   runs again, and no sample of a dropped question runs.

Questions without tests or without an oracle sample are dropped before anything runs.

`oracle="reference"` makes each question's `reference` program (the seed's own code,
which `synth` keeps) its oracle, for seeds whose programs are known to be right: no
oracle model is sampled, and a test the seed's program fails is dropped. The method
uses a stronger model's greedy program instead (§5); a question whose rewrite renamed
the function loses every test this way, and is dropped.

A program's tests run in order in one namespace, so a sample judged on the kept tests
alone may see other state than it would have after every synthesized test (a dropped
test that mutated a global no longer runs before the next one). That is the state it
meets in RL, where only the kept tests run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Self

from acecoder.data.exports import write_export
from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.data.tables import check_output, read_records, require, require_for
from acecoder.errors import ConfigError, InputError
from acecoder.records import DatasetRow, ExecutionJob, Inference, Question, Sample, TestOutcome
from acecoder.report import quality
from acecoder.report.quality import Judged, SampleScore

__all__ = ["DropReason", "FilterSettings", "FilterSummary", "drop_reason", "kept_tests", "pass_rate", "run"]

MAX_SKIPPED_ROWS = 50  # malformed rows listed in the summary, as in pairs (the count is complete)


class DropReason(StrEnum):
    """Why a question left the dataset: the first that applies, in this order."""

    NO_TESTS = "no_tests"
    NO_ORACLE = "no_oracle"  # no sample from the oracle model
    ORACLE_PASSES_TOO_FEW = "oracle_passes_too_few"  # fewer than `min_oracle_passes`
    TOO_FEW_TESTS_KEPT = "too_few_tests_kept"  # fewer than `min_tests`


@dataclass(kw_only=True)
class FilterSettings:
    oracle: str  # the `model` of the oracle's samples (the method: Qwen2.5-Coder-32B-Instruct, greedy), or "reference"
    min_oracle_passes: int = 4  # drop a question whose oracle passes fewer tests (§5: drops at 3 or fewer)
    min_tests: int = 5  # drop a question with fewer kept tests (§5); at least 1
    timeout: float = 3.0  # seconds each test may run (wall clock)
    workers: int | None = None  # sandbox processes in parallel; None: one per CPU core
    memory_mb: int = 2048  # address-space limit per program, MiB
    ray_address: str | None = None  # run the programs on a Ray cluster ("local", "auto", ray://...); None: here


@dataclass(kw_only=True)
class FilterSummary:
    """What the run did; `to_dict()` is the JSON summary (the report's `filter_summary.json`)."""

    questions: int = 0  # questions read (the first of each id)
    samples: int = 0  # samples read for those questions
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DropReason, 0))
    programs: int = 0  # programs run by this call
    reused: int = 0  # verdicts taken from the executions file (resume) or the verdict cache
    skipped: int = 0  # malformed rows passed over (strict=False)
    skipped_rows: list[dict] = field(default_factory=list)  # first MAX_SKIPPED_ROWS: file, line, message
    ignored: Counter = field(default_factory=Counter)  # well-formed rows not used, by why
    quality: dict = field(default_factory=dict)  # acecoder.report.quality.summarise
    settings: dict = field(default_factory=dict)
    output: str = ""
    executions: str = ""
    seconds: float = 0.0
    isolation: list[str] = field(default_factory=list)  # the sandbox's, or why it did not start

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["dropped"] = {str(reason): count for reason, count in self.dropped.items()}
        data["ignored"] = dict(sorted(self.ignored.items()))
        quality_sections = data.pop("quality")
        return {**data, **quality_sections}


# ---------------------------------------------------------------- the rule (§5), pure


def kept_tests(oracle_outcomes: list[TestOutcome]) -> list[int]:
    """Indices of the tests the oracle's program passes: the tests the filter keeps."""
    return [i for i, outcome in enumerate(oracle_outcomes) if outcome is TestOutcome.PASS]


def drop_reason(tests: int, oracle_passes: int | None, *, settings: FilterSettings) -> DropReason | None:
    """Why a question with `tests` tests is dropped, or None when it is kept.

    `oracle_passes` is None when the question has no oracle sample. The tests that
    remain are exactly those the oracle passes, so both thresholds read that count.
    """
    if tests == 0:
        return DropReason.NO_TESTS
    if oracle_passes is None:
        return DropReason.NO_ORACLE
    if oracle_passes < settings.min_oracle_passes:
        return DropReason.ORACLE_PASSES_TOO_FEW
    if oracle_passes < settings.min_tests:
        return DropReason.TOO_FEW_TESTS_KEPT
    return None


def pass_rate(outcomes: list[TestOutcome], kept: list[int]) -> float:
    """Passed kept tests / kept tests; the original divided by all tests (the fix above)."""
    if not kept:
        return 0.0
    return sum(outcomes[i] is TestOutcome.PASS for i in kept) / len(kept)


def oracle_sample(samples: list[Sample], oracle: str) -> Sample | None:
    """The oracle's program of a question: its greedy one, sample_index 0 (else the lowest)."""
    return min((s for s in samples if s.model == oracle), key=lambda s: s.sample_index, default=None)


# ---------------------------------------------------------------- validate


def validate(settings: FilterSettings) -> None:
    if not isinstance(settings.oracle, str) or not settings.oracle:
        raise ConfigError("oracle: name the oracle's model as it appears in the samples' `model` field")
    if settings.min_oracle_passes < 0:
        raise ConfigError(f"min_oracle_passes must be 0 or more, not {settings.min_oracle_passes}")
    if settings.min_tests < 1:
        raise ConfigError(
            f"min_tests must be 1 or more (a kept question needs a test), not {settings.min_tests}"
        )
    if not settings.timeout > 0:
        raise ConfigError(f"timeout must be a positive number of seconds, not {settings.timeout}")
    if settings.workers is not None and settings.workers < 1:
        raise ConfigError(f"workers must be 1 or more (or None for one per core), not {settings.workers}")
    if settings.memory_mb < 64:
        raise ConfigError(f"memory_mb must be 64 or more, not {settings.memory_mb}")


def _check_paths(questions_path: Path, samples_path: Path, output_path: Path, sidecar: Path) -> None:
    """Writing the output or its executions file over an input would destroy it, and a
    missing package would fail only after every program ran: refuse before reading."""
    check_output(output_path, questions_path, samples_path)
    check_output(sidecar, questions_path, samples_path)
    require_for(output_path)


# ---------------------------------------------------------------- set up: read the inputs


def load_questions(path: Path, *, strict: bool, skipped: list, ignored: Counter) -> dict[str, Question]:
    questions: dict[str, Question] = {}
    for question in read_records(path, Question, strict=strict, skipped=skipped):
        if question.id in questions:
            if strict:
                raise InputError(
                    f"question id {question.id!r} appears twice: ids must be unique", path=str(path)
                )
            ignored["duplicate_questions"] += 1
            continue
        questions[question.id] = question
    return questions


def load_samples(
    path: Path, questions: dict[str, Question], *, strict: bool, skipped: list, ignored: Counter
) -> dict[str, list[Sample]]:
    """Samples grouped by question; the first of each (question, model, index) counts."""
    by_question: dict[str, dict[str, Sample]] = {}
    for sample in read_records(path, Sample, strict=strict, skipped=skipped):
        if sample.question_id not in questions:
            ignored["samples_without_question"] += 1
            continue
        group = by_question.setdefault(sample.question_id, {})
        if sample.id in group:
            if strict:
                raise InputError(
                    f"sample {sample.id!r} appears twice: (question, model, index) must be unique",
                    path=str(path),
                )
            ignored["duplicate_samples"] += 1
            continue
        # The dataset carries the extracted program; the raw text would double memory at scale.
        sample.completion = ""
        group[sample.id] = sample
    return {qid: list(group.values()) for qid, group in by_question.items()}


def _check_oracle(
    samples: dict[str, list[Sample]], oracle: str, path: Path, skipped: list[InputError]
) -> None:
    """An oracle name that matches nothing would drop every question: fail before running."""
    models = {s.model for group in samples.values() for s in group}
    if not models:
        why = f"; {len(skipped)} rows were skipped as malformed, the first: {skipped[0]}" if skipped else ""
        raise InputError(
            f"no sample belongs to a question of the questions file: check both paths{why}", path=str(path)
        )
    if oracle not in models:
        raise ConfigError(
            f"no sample in {path} has model {oracle!r} (models there: {', '.join(sorted(models))}): "
            "name the oracle's model exactly as in the samples"
        )


def plan(
    questions: dict[str, Question],
    samples: dict[str, list[Sample]],
    oracle: str,
    kept: dict[str, list[int]] | None = None,
) -> list[ExecutionJob]:
    """The programs of one phase, with deterministic ids (see the module's docstring).

    Phase 1 (`kept` None): each oracle program and `reference` against all synthesized
    tests. Phase 2 (`kept`: the kept tests of each kept question): the other samples
    against those tests, and every sample against the reference tests. Nothing for
    questions dropped up front. The ids of both phases are checked either way, so a
    collision stops the run before anything runs.
    """
    jobs: dict[str, ExecutionJob] = {}
    seen: set[str] = set()

    def add(job_id: str, phase: int, program: str, tests) -> None:
        if job_id in seen:  # only ids containing '/' can collide
            raise InputError(f"two programs would share the job id {job_id!r}: rename the question or model")
        seen.add(job_id)
        if phase == (1 if kept is None else 2) and tests is not None:
            jobs[job_id] = ExecutionJob(id=job_id, program=program, tests=list(tests))

    for qid in sorted(questions):
        question, group = questions[qid], samples.get(qid, [])
        oracle_program = oracle_sample(group, oracle)
        if not question.tests or oracle_program is None:
            continue
        kept_here = None if kept is None else kept.get(qid)
        kept_texts = None if kept_here is None else [question.tests[i] for i in kept_here]
        reference_tests = question.reference_tests if kept_here is not None else None
        for sample in sorted(group, key=lambda s: (s.model, s.sample_index)):
            if sample is oracle_program:
                add(sample.id, 1, sample.program, question.tests)
            else:
                add(sample.id, 2, sample.program, kept_texts)
            if question.reference_tests:
                add(f"{sample.id}/reference_tests", 2, sample.program, reference_tests)
        if question.reference:
            add(f"{qid}/reference", 1, question.reference, question.tests)
    return list(jobs.values())


# ---------------------------------------------------------------- run (plumbing)


class Runner:
    """The executions file and the engine, shared by both phases.

    Each result is appended to the sidecar as it arrives; with `resume`, verdicts already
    there for the same job are reused. The engine starts only when a job must run.
    `progress` gets `total(n)` before each phase, n counting the jobs to run in the
    phases planned so far, and `advance(result)` after each.
    """

    def __init__(
        self, sidecar: Path, *, settings: FilterSettings, resume: bool, progress, summary: FilterSummary
    ):
        self.sidecar, self.settings, self.resume = sidecar, settings, resume
        self.progress, self.summary = progress, summary
        self.planned = 0  # jobs to run, both phases
        self.jobs = 0  # jobs, run or reused
        self._stack = contextlib.ExitStack()
        self._engine = None

    def __enter__(self) -> Self:
        # resume: cuts a torn last line; otherwise the file starts empty
        self._writer = self._stack.enter_context(JsonlWriter(self.sidecar, resume=self.resume, key="job"))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()
        if self._engine is None:
            self.summary.isolation = [
                "not started: every verdict reused" if self.jobs else "not started: nothing to run"
            ]

    def run(self, jobs: list[ExecutionJob]) -> dict[str, list[TestOutcome]]:
        """Outcomes per job id of one phase."""
        digests = {job.id: _digest(job, self.settings) for job in jobs}
        outcomes = _reuse(self.sidecar, jobs, digests) if self.resume else {}
        todo = [job for job in jobs if job.id not in outcomes]
        self.jobs += len(jobs)
        self.summary.reused += len(jobs) - len(todo)
        self.planned += len(todo)
        if self.progress:
            self.progress.total(self.planned)
        if not todo:
            return outcomes
        if self._engine is None:
            limits = {"timeout": self.settings.timeout, "memory_mb": self.settings.memory_mb}
            if self.settings.ray_address:  # the same engine on every node; the same verdicts
                from acecoder.execution.ray import RayExecutor

                engine = RayExecutor(address=self.settings.ray_address, slots=self.settings.workers, **limits)
            else:
                from acecoder.execution import Engine

                # Verdicts of other runs and earlier settings: a setting that changes no verdict
                # (min_tests, say) runs nothing again (see acecoder.execution.VerdictCache).
                engine = Engine(workers=self.settings.workers, verdict_cache=True, **limits)
            self._engine = self._stack.enter_context(engine)
            self.summary.isolation = self._engine.isolation
        cache = getattr(self._engine, "verdict_cache", None)
        hits = cache.hits if cache is not None else 0
        for result in self._engine.map(todo):
            self._writer.write({**result.to_dict(), "job": result.id, "digest": digests[result.id]})
            outcomes[result.id] = result.outcomes
            if self.progress:
                self.progress.advance(result)
        reused = (cache.hits - hits) if cache is not None else 0
        self.summary.programs += len(todo) - reused
        self.summary.reused += reused
        return outcomes


def _digest(job: ExecutionJob, settings: FilterSettings) -> str:
    """What a verdict depends on: a result is reused only for the same program, tests and
    limits, judged by the same engine code."""
    from acecoder.execution import ENGINE_IDENTITY

    key = json.dumps([job.program, job.tests, settings.timeout, settings.memory_mb, ENGINE_IDENTITY], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _reuse(sidecar: Path, jobs: list[ExecutionJob], digests: dict[str, str]) -> dict[str, list[TestOutcome]]:
    """Outcomes already in the sidecar for these very jobs; stale or unreadable lines run again."""
    sizes = {job.id: len(job.tests) for job in jobs}
    outcomes: dict[str, list[TestOutcome]] = {}
    if not sidecar.exists():
        return outcomes
    for _, row in read_jsonl(sidecar, bad_lines=[]):  # a garbled line (a crash, a disk error): run again
        job = row.get("job")
        if job not in digests or row.get("digest") != digests[job]:
            continue
        try:
            verdicts = [TestOutcome(value) for value in row["outcomes"]]
        except (KeyError, TypeError, ValueError):
            continue
        if len(verdicts) == sizes[job]:
            outcomes[job] = verdicts
    return outcomes


# ---------------------------------------------------------------- judge each question


def decide(
    question: Question,
    samples: list[Sample],
    outcomes: dict[str, list[TestOutcome]],
    settings: FilterSettings,
) -> tuple[list[TestOutcome] | None, list[int], DropReason | None]:
    """The rule on phase 1's verdicts: the oracle's outcomes (None when it did not run),
    the kept tests and the drop reason (None when kept)."""
    oracle = oracle_sample(samples, settings.oracle)
    oracle_outcomes = outcomes[oracle.id] if oracle is not None and question.tests else None
    kept = kept_tests(oracle_outcomes) if oracle_outcomes is not None else []
    reason = drop_reason(
        len(question.tests), None if oracle_outcomes is None else len(kept), settings=settings
    )
    return oracle_outcomes, kept, reason


def judge(
    question: Question,
    samples: list[Sample],
    outcomes: dict[str, list[TestOutcome]],
    settings: FilterSettings,
) -> tuple[DatasetRow | None, Judged]:
    """The question's row (None when dropped) and its verdict for the report, from the
    outcomes of both phases (a sample's are over the kept tests only)."""
    oracle = oracle_sample(samples, settings.oracle)
    oracle_outcomes, kept, reason = decide(question, samples, outcomes, settings)
    judged = Judged(
        id=question.id,
        source=question.source,
        tests=len(question.tests),
        kept_tests=len(kept),
        reason=None if reason is None else str(reason),
    )
    if oracle_outcomes is None:
        return None, judged
    judged.oracle_pass_rate = len(kept) / len(question.tests)
    if question.reference:
        _check_reference(judged, outcomes[f"{question.id}/reference"], kept)
    if reason is not None:
        return None, judged
    inferences = []
    for sample in sorted(samples, key=lambda s: (s.model, s.sample_index)):
        passes_reference = None
        if question.reference_tests:
            passes_reference = all(v is TestOutcome.PASS for v in outcomes[f"{sample.id}/reference_tests"])
        if sample is oracle:  # 1.0 by construction: not an inference (see the module's docstring)
            judged.oracle_passes_reference_tests = passes_reference
            continue
        verdicts = outcomes[sample.id]  # phase 2: one per kept test, in order
        inference = Inference(
            model_name=sample.model,
            completion_id=sample.sample_index,
            completion=sample.program,
            pass_rate=pass_rate(verdicts, list(range(len(verdicts)))),  # passed / len(kept)
            test_results=[str(verdict) for verdict in verdicts],
        )
        inferences.append(inference)
        judged.samples.append(
            SampleScore(
                model=sample.model, pass_rate=inference.pass_rate, passes_reference_tests=passes_reference
            )
        )
    row = DatasetRow(
        id=question.id,
        source=question.source,
        question=question.question,
        test_cases=[question.tests[i] for i in kept],
        inferences=inferences,
        context_messages=[{"role": "user", "content": question.question}],  # the released layout (§5)
    )
    return row, judged


def _check_reference(judged: Judged, reference: list[TestOutcome], kept: list[int]) -> None:
    """A test a known-correct program fails is a wrong test (a false rejection)."""
    failed = {i for i, outcome in enumerate(reference) if outcome is not TestOutcome.PASS}
    judged.reference_failed = len(failed)
    judged.reference_failed_kept = len(failed.intersection(kept))
    judged.reference_passed_dropped = len(set(range(len(reference))) - failed - set(kept))


# ---------------------------------------------------------------- the stage


def run(
    questions_path: str | Path,
    samples_path: str | Path,
    output_path: str | Path,
    *,
    settings: FilterSettings,
    report_dir: str | Path | None = None,
    strict: bool = False,
    resume: bool = False,
    progress=None,
) -> FilterSummary:
    """Filter the tests of every question by the oracle and write the scored dataset.

    With `strict`, the first malformed or duplicate input row stops the run (InputError
    naming file and line); otherwise such rows are skipped and counted. With `resume`,
    verdicts already in `<output>.executions.jsonl` for the same program, tests and
    limits (and engine version) are reused; an unreadable line there runs again.
    `progress`, if given, gets `total(n)` with the number of programs phase 1 will run,
    `total(n)` again with the programs of both phases once phase 2 is planned, and
    `advance(result)` after each program.

    Before reading anything: an output (or its executions file) that would overwrite
    an input or a folder, and a package the output or the report's figures need but
    is missing, are ConfigErrors.
    """
    questions_path, samples_path, output_path = Path(questions_path), Path(samples_path), Path(output_path)
    sidecar = output_path.with_name(output_path.name + ".executions.jsonl")
    validate(settings)
    _check_paths(questions_path, samples_path, output_path, sidecar)
    if report_dir is not None:
        require("matplotlib", "the report's figures")
    summary = FilterSummary(
        settings=dataclasses.asdict(settings), output=str(output_path), executions=str(sidecar)
    )
    started = time.monotonic()

    skipped: list[InputError] = []
    questions = load_questions(questions_path, strict=strict, skipped=skipped, ignored=summary.ignored)
    samples = load_samples(samples_path, questions, strict=strict, skipped=skipped, ignored=summary.ignored)
    if settings.oracle == REFERENCE_ORACLE:
        _references_as_oracle(questions, samples, questions_path)
    if questions:
        _check_oracle(samples, settings.oracle, samples_path, skipped)

    with Runner(sidecar, settings=settings, resume=resume, progress=progress, summary=summary) as runner:
        outcomes = runner.run(plan(questions, samples, settings.oracle))  # phase 1: oracles, references
        kept = {}
        for qid in sorted(questions):
            _, tests, reason = decide(questions[qid], samples.get(qid, []), outcomes, settings)
            if reason is None:
                kept[qid] = tests
        outcomes.update(runner.run(plan(questions, samples, settings.oracle, kept)))  # phase 2: samples

    rows, judged = [], []
    for qid in sorted(questions):  # sorted ids and inferences: the same inputs give the same bytes
        row, verdict = judge(questions[qid], samples.get(qid, []), outcomes, settings)
        judged.append(verdict)
        if row is not None:
            rows.append(row)
    write_export(output_path, rows, record_type=DatasetRow)  # all or nothing: a kill leaves no torn file

    summary.questions = len(questions)
    summary.samples = sum(len(group) for group in samples.values())
    summary.kept = len(rows)
    for verdict in judged:
        if verdict.reason is not None:
            summary.dropped[DropReason(verdict.reason)] += 1
    summary.skipped = len(skipped)
    summary.skipped_rows = [_skipped_row(error) for error in skipped[:MAX_SKIPPED_ROWS]]
    summary.quality = quality.summarise(judged)
    summary.seconds = round(time.monotonic() - started, 3)
    if report_dir is not None:
        quality.write(report_dir, summary.to_dict())
    return summary


REFERENCE_ORACLE = "reference"


def _references_as_oracle(questions: dict, samples: dict[str, list[Sample]], path: Path) -> None:
    """Each question's reference program becomes its oracle's one sample."""
    with_reference = [question for question in questions.values() if question.reference]
    if not with_reference:
        raise ConfigError(f"oracle 'reference': no question in {path} has a reference program")
    for question in with_reference:
        samples.setdefault(question.id, []).append(
            Sample(question_id=question.id, model=REFERENCE_ORACLE, sample_index=0,
                   completion=question.reference, program=question.reference)
        )


def _skipped_row(error: InputError) -> dict:
    message = str(error).removeprefix(f"{error.path}:{error.line}: ")
    return {"file": error.path, "line": error.line, "message": message}
