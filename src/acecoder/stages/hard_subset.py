"""Stage `hard-subset`: the questions RL learns most from, in an RL framework's format.

Input: a dataset of `DatasetRow` records (AceCode-87K layout; .jsonl, .parquet, a
datasets folder or hf:NAME). Output: the selected questions, in input order, in a
format of `acecoder.data.exports.ROW_FORMATS`.

The rule (the RL data of ACECODER, arXiv 2502.01718): per question, the mean and
the population standard deviation of its samples' pass rates. Keep the questions
whose mean is at or below the median of all means (hard), then among those the
ones whose standard deviation is at or above the median of their standard
deviations (the samples disagree, so the reward separates good rollouts from bad
ones). The paper's 22 K questions come from the Qwen and Llama samples of
AceCode-87K. Not done here: the paper also dropped prompts over 2,000 tokens,
which needs the policy's tokenizer.

A question id that appears twice is a malformed row, as in `pairs`: skipped and
counted, or under `strict` an InputError naming file and line. When no question has
a sample (of the chosen models) nothing is ranked and both thresholds are None
(null in the JSON summary).

Quantiles are linear interpolation between order statistics, numpy's default
(Hyndman & Fan type 7): for the sorted values v[0..n-1] and a level p, h = (n-1)p
and q = v[floor h] + (h - floor h) (v[floor h + 1] - v[floor h]). At p = 0.5 it is
the usual median (the mean of the two middle values when n is even).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.exports import ROW_FORMATS, export_row, write_export
from acecoder.prompts import RL_PROMPTS
from acecoder.data.tables import check_output, read_records, require_for
from acecoder.errors import ConfigError, InputError
from acecoder.records import DatasetRow

MAX_PROBLEMS = 50  # skipped-row messages kept for the summary (the count is complete)
# Means and standard deviations are rounded to this many decimals before they are
# compared, so that two questions with the same pass rates in a different order (or
# count) cannot land on opposite sides of a threshold by float noise alone.
DECIMALS = 12


@dataclass(kw_only=True)
class HardSubsetSettings:
    mean_quantile: float = 0.5
    """Keep questions whose mean pass rate is at or below this quantile of all means (paper: the median)."""
    std_quantile: float = 0.5
    """Then keep those whose std is at or above this quantile of their stds (paper: the median)."""
    models: list[str] | None = None
    """Use only these models' samples (`Inference.model_name`); None uses all."""

    def check(self) -> None:
        for name in ("mean_quantile", "std_quantile"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} is {value}: a quantile level lies in [0, 1]")
        if self.models is not None and not self.models:
            raise ConfigError("models is empty: name at least one model, or none for all")


@dataclass(kw_only=True)
class HardSubsetSummary:
    rows: int = 0  # questions read
    skipped: int = 0  # malformed rows passed over (strict=False)
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS skipped rows' messages
    no_samples: int = 0  # questions without a sample of the chosen models: not ranked
    mean_threshold: float | None = None  # the mean_quantile of all means; None when nothing is ranked
    hard: int = 0  # questions with mean <= mean_threshold
    std_threshold: float | None = None  # the std_quantile of the hard questions' stds; None likewise
    selected: int = 0
    by_source: Counter = field(default_factory=Counter)  # selected questions per source
    models_seen: list[str] = field(default_factory=list)
    models_missing: list[str] = field(default_factory=list)  # asked for, but in no row
    format: str = "rows"
    output: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)  # thresholds stay None (JSON null) when nothing is ranked
        data["by_source"] = dict(sorted(self.by_source.items()))
        return data


# ---------------------------------------------------------------- ALGO LOGIC


def quantile(values: list[float], level: float) -> float:
    """Linear interpolation between order statistics (numpy's default, type 7)."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    h = (len(ordered) - 1) * level
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    fraction = h - low
    if fraction == 0:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def pass_rate_stats(row: DatasetRow, models: list[str] | None = None) -> tuple[float, float] | None:
    """(mean, population std) of the samples' pass rates, rounded to DECIMALS; None
    when the question has no sample of `models`."""
    wanted = set(models) if models is not None else None
    rates = [i.pass_rate for i in row.inferences if wanted is None or i.model_name in wanted]
    if not rates:
        return None
    mean = math.fsum(rates) / len(rates)
    std = math.sqrt(math.fsum((rate - mean) ** 2 for rate in rates) / len(rates))
    return round(mean, DECIMALS), round(std, DECIMALS)


def choose(
    stats: list[tuple[float, float] | None], settings: HardSubsetSettings
) -> tuple[list[int], float | None, float | None, int]:
    """The positions of the selected questions (ascending), the mean and std
    thresholds, and how many questions passed the mean step."""
    ranked = [(k, s) for k, s in enumerate(stats) if s is not None]
    if not ranked:
        return [], None, None, 0
    mean_threshold = quantile([mean for _, (mean, _) in ranked], settings.mean_quantile)
    hard = [(k, s) for k, s in ranked if s[0] <= mean_threshold]
    std_threshold = quantile([std for _, (_, std) in hard], settings.std_quantile)
    selected = [k for k, (_, std) in hard if std >= std_threshold]
    return selected, mean_threshold, std_threshold, len(hard)


def select_hard(rows: list[DatasetRow], settings: HardSubsetSettings) -> list[DatasetRow]:
    """The hard subset of `rows`, in their order. Questions without samples (of
    `settings.models`) are never selected."""
    selected, *_ = choose([pass_rate_stats(row, settings.models) for row in rows], settings)
    return [rows[k] for k in selected]


# ---------------------------------------------------------------- the stage


def run(
    dataset_path: str | Path,
    output_path: str | Path,
    *,
    settings: HardSubsetSettings,
    format: str = "rows",
    prompt: str = "question",
    strict: bool = False,
    progress=None,
) -> HardSubsetSummary:
    """Write the hard subset of `dataset_path` to `output_path`.

    Two passes over the input, so the dataset is never held in memory: the first
    computes each question's statistics (and finds malformed rows and repeated ids:
    skipped and counted, or with `strict=True` an InputError naming file and line),
    the second writes the selected rows. A failed run leaves no output behind.

    `progress`, if given, gets `total(n)` with the number of valid rows once the
    first pass is done and `advance(row)` for each row of the second.
    """
    # validate: settings, format and output before reading anything
    settings.check()
    if format not in ROW_FORMATS:
        raise ConfigError(f"unknown hard-subset format {format!r}: use one of {', '.join(ROW_FORMATS)}")
    if prompt not in RL_PROMPTS:
        raise ConfigError(f"RL prompt {prompt!r}: use one of {', '.join(RL_PROMPTS)}")
    check_output(output_path, dataset_path)
    require_for(output_path)

    summary = HardSubsetSummary(format=format, output=str(output_path))
    started = time.monotonic()

    # pass 1: statistics
    skipped: list[InputError] = []
    stats: list[tuple[float, float] | None] = []
    models_seen: set[str] = set()
    for row in read_records(dataset_path, DatasetRow, strict=strict, skipped=skipped, unique="id"):
        models_seen.update(inference.model_name for inference in row.inferences)
        stats.append(pass_rate_stats(row, settings.models))
    summary.rows = len(stats)
    summary.skipped = len(skipped)
    summary.problems = [str(problem) for problem in skipped[:MAX_PROBLEMS]]
    summary.no_samples = sum(s is None for s in stats)
    summary.models_seen = sorted(models_seen)
    summary.models_missing = sorted(set(settings.models or ()) - models_seen)

    selected, summary.mean_threshold, summary.std_threshold, summary.hard = choose(stats, settings)
    summary.selected = len(selected)
    wanted = set(selected)

    # pass 2: write the selected rows; the valid rows (first of each id) come in the same order again
    def rows():
        index = 0
        for position, row in enumerate(read_records(dataset_path, DatasetRow, strict=False, skipped=[], unique="id")):
            if progress:
                progress.advance(row)
            if position in wanted:
                summary.by_source[row.source] += 1
                yield export_row(row, format, index=index, prompt=prompt)
                index += 1

    if progress:
        progress.total(summary.rows)
    write_export(output_path, rows())
    summary.seconds = time.monotonic() - started
    return summary
