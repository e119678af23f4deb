"""Stage `pairs`: preference pairs for reward-model training from a scored dataset.

Input: a dataset of `DatasetRow` records (AceCode-87K layout; .jsonl, .parquet, a
datasets folder or hf:NAME), with assert tests or a suite of another kind (stdin/stdout,
call-based, pytest) as the filter writes it: only the pass rates decide. Output: one row per pair, in a format of
`acecoder.data.exports.PAIR_FORMATS`, questions in input order.

The rule (the reward-model data of ACECODER, arXiv 2502.01718): within one
question and one model's samples, program i is preferred over program j when

    pass_rate_i >= 0.8,  pass_rate_i - pass_rate_j >= 0.4,  pass_rate_j > 0.

All such pairs are kept, deduplicated by program text. Zero-pass programs never
serve as the rejected side: they are mostly syntax or packaging failures, which
teach the reward model nothing about correctness.

A sample's program is its `completion` as is when that parses as Python (what the
filter writes: the program it scored); otherwise the code extracted from it (the
released dataset's raw model outputs). Extracting from a program would replace it
by a fenced block quoted in one of its docstrings.

A question id that appears twice is a malformed row (pair ids would collide): skipped
and counted, or under `strict` an InputError naming file and line. (`read_records`
with `unique="id"`, as the hard-subset stage reads it too).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.code import extract_code
from acecoder.data.exports import PAIR_FORMATS, export_pair, write_export, write_llama_factory_info
from acecoder.data.tables import check_output, read_records, require_for
from acecoder.errors import ConfigError, InputError
from acecoder.prompts import check_style
from acecoder.records import DatasetRow, Inference, Pair

# Pass rates are ratios of small counts (passed / kept tests), computed in floating
# point: 0.7 - 0.3 is 0.39999999999999997. Every threshold is compared with this
# slack, so a boundary case behaves as the rule is written (a gap of exactly 0.4
# qualifies, a rejected pass rate of exactly 0 does not). Two distinct pass rates of
# questions with up to thousands of tests differ by far more than 1e-9.
EPSILON = 1e-9

MAX_PROBLEMS = 50  # skipped-row messages kept for the summary (the count is complete)


@dataclass(kw_only=True)
class PairSettings:
    min_chosen: float = 0.8
    """The chosen program's pass rate is at least this (paper: 0.8)."""
    min_gap: float = 0.4
    """chosen pass rate - rejected pass rate is at least this (paper: 0.4)."""
    min_rejected: float = 0.0
    """The rejected program's pass rate is strictly above this (paper: 0, excluding zero-pass programs)."""
    max_per_question: int | None = None
    """Keep at most this many pairs per question: the largest margins first (see `make_pairs`); None keeps all."""
    cross_model: bool = False
    """Also pair programs of different models of the same question (the paper pairs within one model: on-policy)."""
    models: list[str] | None = None
    """Use only these models' samples (`Inference.model_name`); None uses all."""

    def check(self) -> None:
        for name in ("min_chosen", "min_gap", "min_rejected"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} is {value}: pass-rate thresholds lie in [0, 1]")
        if self.max_per_question is not None and self.max_per_question < 1:
            raise ConfigError(
                f"max_per_question is {self.max_per_question}: give at least 1, or none for no cap"
            )
        if self.models is not None and not self.models:
            raise ConfigError("models is empty: name at least one model, or none for all")


@dataclass(kw_only=True)
class PairsSummary:
    rows: int = 0  # questions read
    skipped: int = 0  # malformed rows passed over (strict=False)
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS skipped rows' messages
    questions_with_pairs: int = 0
    pairs: int = 0
    duplicate_programs: int = 0  # samples dropped as the same program text as an earlier sample
    duplicate_pairs: int = 0  # cross-model pairs of the same two program texts as an earlier pair
    dropped_by_cap: int = 0  # pairs beyond max_per_question
    by_source: Counter = field(default_factory=Counter)  # pairs per question source
    by_models: Counter = field(default_factory=Counter)  # pairs per "chosen model>rejected model"
    models_seen: list[str] = field(default_factory=list)
    models_missing: list[str] = field(default_factory=list)  # asked for, but in no row
    format: str = "pairs"
    output: str = ""
    dataset_info: str | None = None  # llama-factory: the dataset_info.json holding the file's entry
    seconds: float = 0.0

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["by_source"] = dict(sorted(self.by_source.items()))
        data["by_models"] = dict(sorted(self.by_models.items()))
        return data


# ---------------------------------------------------------------- reading (shared with hard-subset)


# ---------------------------------------------------------------- ALGO LOGIC


@dataclass(slots=True)
class _Candidate:
    model: str
    completion_id: int
    program: str
    pass_rate: float


@dataclass(slots=True)
class _Counts:
    duplicate_programs: int = 0
    duplicate_pairs: int = 0
    dropped_by_cap: int = 0


def make_pairs(row: DatasetRow, settings: PairSettings) -> list[Pair]:
    """Every preference pair of one question, in a deterministic order.

    Steps:
    1. Group the samples by model (only `settings.models`, if given), in
       completion_id order, and drop a sample whose extracted program text equals
       an earlier one of the same model (the first by completion_id stays).
    2. Pair within each model; with `cross_model`, also across models.
    3. Never pair two identical programs, and keep one pair per (chosen text,
       rejected text): within-model pairs come first, so they win over
       cross-model duplicates.
    4. Order by (-margin, chosen model, chosen completion_id, rejected model,
       rejected completion_id) and, with `max_per_question`, keep the first N: the
       largest pass-rate gaps, the clearest signal; ties go to the earlier samples.

    Pair ids: "{question_id}/{chosen_model}/{i}>{rejected_model}/{j}", i and j the
    completion_ids.
    """
    return _make_pairs(row, settings, _Counts())


def _make_pairs(row: DatasetRow, settings: PairSettings, counts: _Counts) -> list[Pair]:
    by_model = _candidates(row.inferences, settings.models, counts)
    chosen_ok = [
        c for group in by_model.values() for c in group if c.pass_rate >= settings.min_chosen - EPSILON
    ]
    rejected_ok = [
        c for group in by_model.values() for c in group if c.pass_rate > settings.min_rejected + EPSILON
    ]

    found: list[tuple[_Candidate, _Candidate]] = []
    for same_model in (True, False) if settings.cross_model else (True,):
        for good in chosen_ok:
            for bad in rejected_ok:
                if (good.model == bad.model) != same_model or good.program == bad.program:
                    continue
                if good.pass_rate - bad.pass_rate >= settings.min_gap - EPSILON:
                    found.append((good, bad))

    seen: set[tuple[str, str]] = set()
    unique = []
    for good, bad in found:
        if (good.program, bad.program) in seen:
            counts.duplicate_pairs += 1
            continue
        seen.add((good.program, bad.program))
        unique.append((good, bad))

    unique.sort(
        key=lambda p: (
            -round(p[0].pass_rate - p[1].pass_rate, 9),  # rounded: float noise must not break ties
            p[0].model,
            p[0].completion_id,
            p[1].model,
            p[1].completion_id,
        )
    )
    if settings.max_per_question is not None and len(unique) > settings.max_per_question:
        counts.dropped_by_cap += len(unique) - settings.max_per_question
        unique = unique[: settings.max_per_question]
    return [_pair(row, good, bad) for good, bad in unique]


def _candidates(
    inferences: list[Inference], models: list[str] | None, counts: _Counts
) -> dict[str, list[_Candidate]]:
    """The distinct programs of each model, first by completion_id kept."""
    wanted = set(models) if models is not None else None
    groups: dict[str, list[_Candidate]] = {}
    seen: dict[str, set[str]] = {}
    for inference in sorted(inferences, key=lambda i: (i.model_name, i.completion_id)):
        if wanted is not None and inference.model_name not in wanted:
            continue
        program = _program(inference.completion)
        texts = seen.setdefault(inference.model_name, set())
        if program in texts:
            counts.duplicate_programs += 1
            continue
        texts.add(program)
        groups.setdefault(inference.model_name, []).append(
            _Candidate(inference.model_name, inference.completion_id, program, inference.pass_rate)
        )
    return groups


def _program(completion: str) -> str:
    """The completion itself when it is already a program, else the code in it."""
    try:
        ast.parse(completion)
    except (SyntaxError, ValueError):  # ValueError: a null byte
        return extract_code(completion)
    return completion


def _pair(row: DatasetRow, good: _Candidate, bad: _Candidate) -> Pair:
    return Pair(
        id=f"{row.id}/{good.model}/{good.completion_id}>{bad.model}/{bad.completion_id}",
        question_id=row.id,
        question=row.question,
        tests=copy.deepcopy(row.test_cases),  # asserts, or a suite's dict (filter on stdio/call/pytest tests)
        chosen=good.program,
        rejected=bad.program,
        chosen_pass_rate=good.pass_rate,
        rejected_pass_rate=bad.pass_rate,
        chosen_model=good.model,
        rejected_model=bad.model,
    )


# ---------------------------------------------------------------- the stage


def run(
    dataset_path: str | Path,
    output_path: str | Path,
    *,
    settings: PairSettings,
    format: str = "pairs",
    style: str = "acecoder",
    strict: bool = False,
    progress=None,
) -> PairsSummary:
    """Write the pairs of every question of `dataset_path` to `output_path`.

    Rows are streamed (the dataset is never held in memory). With `strict=False` a
    malformed row (or a repeated question id) is skipped and counted; with
    `strict=True` the first one stops the run (InputError naming file and line) and
    no output is left behind.

    `style` (`acecoder.prompts.STYLES`) renders the prompts and answers of the
    trainers' formats; with `llama-factory`, the file's entry is also written to the
    `dataset_info.json` beside it.

    `progress`, if given, gets `advance(row)` after each question (the row count is
    not known before reading, so no `total`).
    """
    # validate: settings, format and output before reading anything
    settings.check()
    check_style(style)
    if format not in PAIR_FORMATS:
        raise ConfigError(f"unknown pairs format {format!r}: use one of {', '.join(PAIR_FORMATS)}")
    check_output(output_path, dataset_path)
    require_for(output_path)

    summary = PairsSummary(format=format, output=str(output_path))
    counts = _Counts()
    started = time.monotonic()
    skipped: list[InputError] = []
    models_seen: set[str] = set()

    def pairs():
        for row in read_records(dataset_path, DatasetRow, strict=strict, skipped=skipped, unique="id"):
            summary.rows += 1
            models_seen.update(inference.model_name for inference in row.inferences)
            found = _make_pairs(row, settings, counts)
            if found:
                summary.questions_with_pairs += 1
                summary.pairs += len(found)
                summary.by_source[row.source] += len(found)
            for pair in found:
                summary.by_models[f"{pair.chosen_model}>{pair.rejected_model}"] += 1
                yield export_pair(pair, format, style=style)
            if progress:
                progress.advance(row)

    write_export(output_path, pairs())
    if format == "llama-factory" and Path(output_path).suffix in (".jsonl", ".json", ".parquet"):
        summary.dataset_info = str(write_llama_factory_info(output_path, style))  # what LLaMA-Factory reads it by

    summary.skipped = len(skipped)
    summary.problems = [str(problem) for problem in skipped[:MAX_PROBLEMS]]
    summary.duplicate_programs = counts.duplicate_programs
    summary.duplicate_pairs = counts.duplicate_pairs
    summary.dropped_by_cap = counts.dropped_by_cap
    summary.models_seen = sorted(models_seen)
    summary.models_missing = sorted(set(settings.models or ()) - models_seen)
    summary.seconds = time.monotonic() - started
    return summary
