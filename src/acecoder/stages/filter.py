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

Memory holds one question at a time, whatever the size of the inputs. The plumbing lives
in components: the inputs grouped by question in an on-disk index beside the output
(`acecoder.data.index`), and the engine's verdicts journaled to the executions file,
reused by `resume` and by the verdict cache (`acecoder.execution.journal`). This module
is the method: what runs, and the rule on its verdicts.

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

Tests of other kinds (`Question.tests` a suite in any layout `read_suite` reads: APPS/TACO
stdin/stdout or call-based, KodCode pytest) follow the same rule case by case: a case is
a test (a pytest file's collected items, collected first), the oracle's failed cases
leave the suite, and the row's `test_cases` is the kept suite (`TestSuite.to_dict()`).

A program's tests run in order in one namespace, so a sample judged on the kept tests
alone may see other state than it would have after every synthesized test (a dropped
test that mutated a global no longer runs before the next one). That is the state it
meets in RL, where only the kept tests run.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from acecoder.data.exports import write_export
from acecoder.data.index import SampleIndex, index_inputs, scratch_index, skipped_rows
from acecoder.data.suites import Tests, as_column, read_suite, subset
from acecoder.data.tables import check_output, require, require_for
from acecoder.errors import ConfigError, InputError
from acecoder.execution import LIMIT_FACTOR, LIMIT_FLOOR, limits_from_reference
from acecoder.execution.journal import ExecutionJournal
from acecoder.records import DatasetRow, ExecutionJob, Inference, Question, Sample, TestOutcome
from acecoder.report import quality
from acecoder.report.quality import Judged, SampleScore

__all__ = ["DropReason", "FilterSettings", "FilterSummary", "drop_reason", "kept_tests", "pass_rate", "run"]

MAX_SKIPPED_ROWS = 50  # malformed rows listed in the summary, as in pairs (the count is complete)
REFERENCE_ORACLE = "reference"  # the `oracle` that makes each question's reference program its oracle


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
    timeout: float = 3.0  # CPU seconds each test may run (5x that in wall time at most)
    # Limits from the oracle: a sample's run of kept test i may take max(limit_floor,
    # limit_factor x the oracle's CPU seconds on it), at most `timeout`; None: `timeout`
    # for every test. The defaults: speed/bench_limits.py (14x fewer sandbox
    # core-seconds than a fixed 3 s on a realistic mix, every verdict as with 30 s; a
    # floor of 0.05 s cut a 20x-slower right program short).
    limit_floor: float | None = LIMIT_FLOOR
    limit_factor: float = LIMIT_FACTOR
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
    if settings.limit_floor is not None and not (settings.limit_floor > 0 and settings.limit_factor >= 1):
        raise ConfigError(f"limit_floor must be a positive number of seconds and limit_factor at least 1, "
                          f"not {settings.limit_floor} and {settings.limit_factor}")
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


# ---------------------------------------------------------------- set up: the inputs, indexed


def _check_oracle(models: set[str], oracle: str, path: Path, skipped: list[InputError]) -> None:
    """An oracle name that matches nothing would drop every question: fail before running."""
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


# ---------------------------------------------------------------- the programs of a question


def tests_of(question: Question) -> Tests:
    """The question's tests: its asserts, or its suite of another kind read from whichever
    layout the row gives (`read_suite`; an InputError names the layout's problem)."""
    if isinstance(question.tests, list):
        return question.tests
    return read_suite(question.tests, where="field 'tests'")[0]


def phase_one(question: Question, samples: list[Sample], oracle: str, tests: Tests) -> list[ExecutionJob]:
    """The oracle's program and the `reference` against every test of the question (a
    pytest suite's collected items); nothing for a question without tests or without an
    oracle sample (dropped up front)."""
    oracle_program = oracle_sample(samples, oracle)
    if not tests or oracle_program is None:
        return []
    tests = list(tests) if isinstance(tests, list) else tests
    jobs = [ExecutionJob(id=oracle_program.id, program=oracle_program.program, tests=tests)]
    if question.reference:
        jobs.append(ExecutionJob(id=f"{question.id}/reference", program=question.reference, tests=tests))
    return jobs


def phase_two(question: Question, samples: list[Sample], oracle: str, kept_tests: Tests,
              limits: list[float] | None = None) -> list[ExecutionJob]:
    """The other samples against the kept tests (each under its limit in `limits`, if
    given), every sample against the reference tests."""
    oracle_program = oracle_sample(samples, oracle)
    jobs = []
    for sample in samples:  # by model, then index
        if sample is not oracle_program:
            jobs.append(ExecutionJob(id=sample.id, program=sample.program, tests=kept_tests, limits=limits))
        if question.reference_tests:
            jobs.append(ExecutionJob(id=f"{sample.id}/reference_tests", program=sample.program,
                                     tests=list(question.reference_tests)))
    return jobs


def calibrated(oracle_seconds: list[float], settings: FilterSettings) -> list[float] | None:
    """Each kept test's limit from the oracle's CPU time on it (see FilterSettings)."""
    if settings.limit_floor is None:
        return None
    return limits_from_reference(oracle_seconds, floor=settings.limit_floor, factor=settings.limit_factor,
                                 cap=settings.timeout)


def job_ids(question: Question, samples: list[Sample], oracle: str) -> list[str]:
    """The ids of both phases' programs, as if the question were kept (ids need no tests)."""
    if not question.tests or oracle_sample(samples, oracle) is None:
        return []
    some = ["assert True"]  # a stand-in: an id does not depend on the tests
    return [job.id for job in phase_one(question, samples, oracle, some) + phase_two(question, samples, oracle, some)]


def _check_job_ids(index: SampleIndex, oracle: str) -> None:
    """Verdicts are kept by job id, so two programs sharing one would mix up their results:
    stop before anything runs. Only ids containing '/' can collide."""
    for question, samples, _ in index.groups():
        repeated = index.claim(job_ids(question, samples, oracle))
        if repeated is not None:
            raise InputError(f"two programs would share the job id {repeated!r}: rename the question or model")


# ---------------------------------------------------------------- judge each question


def decide(tests: Tests, samples: list[Sample], outcomes: dict[str, list[TestOutcome]],
           settings: FilterSettings) -> tuple[list[TestOutcome] | None, list[int], DropReason | None]:
    """The rule on phase 1's verdicts: the oracle's outcomes (None when it did not run),
    the kept tests and the drop reason (None when kept)."""
    oracle = oracle_sample(samples, settings.oracle)
    oracle_outcomes = outcomes[oracle.id] if oracle is not None and tests else None
    kept = kept_tests(oracle_outcomes) if oracle_outcomes is not None else []
    reason = drop_reason(len(tests), None if oracle_outcomes is None else len(kept), settings=settings)
    return oracle_outcomes, kept, reason


def judge(question: Question, tests: Tests, samples: list[Sample], outcomes: dict[str, list[TestOutcome]],
          settings: FilterSettings, oracle_seconds: list[float] | None = None) -> tuple[DatasetRow | None, Judged]:
    """The question's row (None when dropped) and its verdict for the report, from the
    outcomes of both phases on `tests` (`tests_of(question)`, collected; a sample's are
    over the kept tests only); `oracle_seconds`: the oracle's CPU seconds on each kept
    test, for the row."""
    oracle = oracle_sample(samples, settings.oracle)
    oracle_outcomes, kept, reason = decide(tests, samples, outcomes, settings)
    judged = Judged(id=question.id, source=question.source, tests=len(tests), kept_tests=len(kept),
                    reason=None if reason is None else str(reason))
    if oracle_outcomes is None:
        return None, judged
    judged.oracle_pass_rate = len(kept) / len(tests)
    if question.reference:
        judged.add_reference([v is TestOutcome.PASS for v in outcomes[f"{question.id}/reference"]], kept)
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
        judged.samples.append(SampleScore(model=sample.model, pass_rate=inference.pass_rate,
                                          passes_reference_tests=passes_reference))
    row = DatasetRow(
        id=question.id,
        source=question.source,
        question=question.question,
        test_cases=as_column(subset(tests, kept)),  # a suite of another kind: its kept cases, to_dict()
        test_seconds=oracle_seconds,
        inferences=inferences,
        context_messages=[{"role": "user", "content": question.question}],  # the released layout (§5)
    )
    return row, judged


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
    with scratch_index(output_path) as index:  # the inputs grouped by question, on disk beside the output
        _filter(index, questions_path, samples_path, output_path, sidecar,
                settings=settings, summary=summary, strict=strict, resume=resume, progress=progress)
    summary.seconds = round(time.monotonic() - started, 3)
    if report_dir is not None:
        quality.write(report_dir, summary.to_dict())
    return summary


def _filter(index: SampleIndex, questions_path: Path, samples_path: Path, output_path: Path, sidecar: Path, *,
            settings: FilterSettings, summary: FilterSummary, strict: bool, resume: bool, progress) -> None:
    """The two phases, a question at a time (see the module's docstring)."""
    skipped: list[InputError] = []
    index_inputs(index, questions_path, samples_path, strict=strict, skipped=skipped, ignored=summary.ignored,
                 check_question=tests_of)
    if settings.oracle == REFERENCE_ORACLE and not index.add_references(REFERENCE_ORACLE):
        raise ConfigError(f"oracle 'reference': no question in {questions_path} has a reference program")
    summary.questions, summary.samples = index.count("questions"), index.count("samples")
    summary.skipped = len(skipped)
    summary.skipped_rows = skipped_rows(skipped, MAX_SKIPPED_ROWS)
    if summary.questions:
        _check_oracle(index.models(), settings.oracle, samples_path, skipped)
    _check_job_ids(index, settings.oracle)
    tally = quality.Tally()

    def drop(verdict: Judged) -> None:
        summary.dropped[DropReason(verdict.reason)] += 1
        tally.add(verdict)

    journal = ExecutionJournal(sidecar, index, timeout=settings.timeout, memory_mb=settings.memory_mb,
                               workers=settings.workers, ray_address=settings.ray_address, resume=resume,
                               progress=progress)
    with journal:
        # phase 1: oracles and references; a kept question's verdicts wait in the index for phase 2
        # (a pytest file's items are collected as the phase's jobs are first listed)
        def first():
            for question, samples, _ in index.groups():
                tests = journal.collect(tests_of(question))
                yield question, samples, tests, phase_one(question, samples, settings.oracle, tests)

        for (question, samples, tests, _), outcomes, seconds in journal.run(first):
            _, kept, reason = decide(tests, samples, outcomes, settings)
            if reason is None:
                oracle = seconds[oracle_sample(samples, settings.oracle).id]
                # to the millisecond, all a limit needs: a rerun then mostly writes the same row again
                index.note(question.id, {"kept": kept, "outcomes": {k: [str(v) for v in o] for k, o in outcomes.items()},
                                         "seconds": [round(oracle[i], 3) for i in kept] if oracle is not None else None})
            else:
                drop(judge(question, tests, samples, outcomes, settings)[1])
        index.commit()

        # phase 2: the samples of kept questions; rows by id, written as they are judged
        def second():
            for question, samples, note in index.groups(noted=True):
                tests = journal.collect(tests_of(question))  # collected in phase 1: the same ids
                limits = calibrated(note["seconds"], settings) if note["seconds"] is not None else None
                kept_tests = subset(tests, note["kept"])
                yield question, samples, tests, note, phase_two(question, samples, settings.oracle, kept_tests, limits)

        def rows() -> Iterator[DatasetRow]:
            for (question, samples, tests, note, _), outcomes, _ in journal.run(second):
                earlier = {k: [TestOutcome(v) for v in o] for k, o in note["outcomes"].items()}
                row, verdict = judge(question, tests, samples, {**earlier, **outcomes}, settings, note["seconds"])
                tally.add(verdict)
                summary.kept += 1
                yield row

        write_export(output_path, rows(), record_type=DatasetRow)  # all or nothing: a kill leaves no torn file
    summary.programs, summary.reused, summary.isolation = journal.programs, journal.reused, journal.isolation
    summary.quality = tally.summary()
