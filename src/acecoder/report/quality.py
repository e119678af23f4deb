"""The filter's quality report: what keeping only the oracle-passed tests did to the data.

`summarise(judged)` turns the filter's per-question verdicts (`Judged`) into plain
statistics; `write(report_dir, summary)` writes them as `filter_summary.json` (pretty,
sorted keys) and draws three PNG histograms from that JSON alone:
`tests_per_question.png`, `oracle_pass_rates.png` and `sample_pass_rates.png`.

The sections `summarise` returns (means are null where there is nothing to average):

- `tests_per_question`: `before` (every question read) and `after` (kept questions,
  kept tests), each `{total, mean, histogram}`; `histogram[k]` = questions with k tests.
- `oracle_pass_rates`: the oracle over the original tests, every question it ran on.
- `sample_pass_rates`: per model, the samples of kept questions over kept tests (the
  one oracle program of each question excluded; it passes every kept test by rule).
  A pass-rate distribution is `{count, mean, zero, one, histogram}`: `zero` and `one`
  count exact 0.0 and 1.0, `histogram` has 10 bins of width 0.1 ([0.9, 1.0] closed).
- `sources`: per source (evol, oss, stack, ...): questions in and kept, drops by
  reason, mean tests before and after, mean sample pass rate.
- `reference` (null unless some question has a reference program): synthesized tests
  the reference fails (false rejections), how many of those the oracle passed (so
  the filter kept them), the questions affected, and the converse: tests the
  reference passes that the filter dropped.
- `reference_tests` (null unless some kept question has reference tests): weak tests,
  i.e. samples that pass every kept synthesized test yet fail a reference test.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.files import write_atomic

BINS = 10  # pass-rate histogram bins of width 0.1


@dataclass(slots=True, kw_only=True)
class SampleScore:
    """One sample of a kept question, scored on the kept tests."""

    model: str
    pass_rate: float  # passed kept tests / kept tests
    passes_reference_tests: bool | None = None  # None when the question has no reference tests


@dataclass(slots=True, kw_only=True)
class Judged:
    """The filter's verdict on one question: what the report is computed from."""

    id: str
    source: str
    tests: int  # synthesized tests before filtering
    kept_tests: int = 0  # tests the oracle passed (in the output when the question is kept)
    reason: str | None = None  # why the question was dropped; None when kept
    oracle_pass_rate: float | None = None  # over the original tests; None when the oracle did not run
    samples: list[SampleScore] = field(default_factory=list)  # kept questions only
    # With a reference program (None without): tests it fails, those of them the
    # oracle passed, and tests it passes that the oracle failed.
    reference_failed: int | None = None
    reference_failed_kept: int | None = None
    reference_passed_dropped: int | None = None
    oracle_passes_reference_tests: bool | None = None  # None without reference tests

    @property
    def kept(self) -> bool:
        return self.reason is None


def summarise(judged: Iterable[Judged]) -> dict:
    """Every section of the report, as plain JSON-ready data."""
    judged = list(judged)
    kept = [q for q in judged if q.kept]
    by_model: dict[str, list[float]] = defaultdict(list)
    for question in kept:
        for sample in question.samples:
            by_model[sample.model].append(sample.pass_rate)
    return {
        "tests_per_question": {
            "before": _counts([q.tests for q in judged]),
            "after": _counts([q.kept_tests for q in kept]),
        },
        "oracle_pass_rates": _rates([q.oracle_pass_rate for q in judged if q.oracle_pass_rate is not None]),
        "sample_pass_rates": {model: _rates(rates) for model, rates in sorted(by_model.items())},
        "sources": _sources(judged),
        "reference": _reference(judged),
        "reference_tests": _reference_tests(kept),
    }


# ---------------------------------------------------------------- the sections


def _sources(judged: list[Judged]) -> dict:
    groups: dict[str, list[Judged]] = defaultdict(list)
    for question in judged:
        groups[question.source].append(question)
    sources = {}
    for source, questions in sorted(groups.items()):
        kept = [q for q in questions if q.kept]
        rates = [s.pass_rate for q in kept for s in q.samples]
        sources[source] = {
            "questions": len(questions),
            "kept": len(kept),
            "dropped": dict(sorted(Counter(q.reason for q in questions if not q.kept).items())),
            "mean_tests_before": _mean([q.tests for q in questions]),
            "mean_tests_after": _mean([q.kept_tests for q in kept]),
            "mean_sample_pass_rate": _mean(rates),
        }
    return sources


def _reference(judged: list[Judged]) -> dict | None:
    """False rejections: synthesized tests a known-correct program fails are wrong tests."""
    checked = [q for q in judged if q.reference_failed is not None]
    if not checked:
        return None
    return {
        "questions": len(checked),
        "tests": sum(q.tests for q in checked),
        "failed_tests": sum(q.reference_failed for q in checked),
        "failed_tests_kept": sum(q.reference_failed_kept for q in checked),
        "questions_with_failed_tests": sum(q.reference_failed > 0 for q in checked),
        "questions_with_failed_tests_kept": sum(q.reference_failed_kept > 0 for q in checked),
        "passed_tests_dropped": sum(q.reference_passed_dropped for q in checked),
    }


def _reference_tests(kept: list[Judged]) -> dict | None:
    """Weak tests: a sample that passes every kept test yet fails an independent test."""
    checked = [q for q in kept if q.oracle_passes_reference_tests is not None]
    if not checked:
        return None
    sources: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for question in checked:
        weak = sum(s.pass_rate == 1.0 and s.passes_reference_tests is False for s in question.samples)
        counts = Counter(
            samples=len(question.samples),
            samples_passing_kept_tests=sum(s.pass_rate == 1.0 for s in question.samples),
            weak_samples=weak,
            questions_with_weak_samples=weak > 0,
            oracle_fails_reference_tests=not question.oracle_passes_reference_tests,
        )
        for counter in (totals, sources[question.source]):
            counter["questions"] += 1
            counter.update(counts)
    keys = (
        "questions",
        "samples",
        "samples_passing_kept_tests",
        "weak_samples",
        "questions_with_weak_samples",
        "oracle_fails_reference_tests",
    )
    return {
        **{key: totals[key] for key in keys},
        "sources": {
            source: {key: counter[key] for key in keys} for source, counter in sorted(sources.items())
        },
    }


def _counts(values: list[int]) -> dict:
    histogram = [0] * (max(values, default=-1) + 1)
    for value in values:
        histogram[value] += 1
    return {"total": sum(values), "mean": _mean(values), "histogram": histogram}


def _rates(values: list[float]) -> dict:
    histogram = [0] * BINS
    for value in values:
        histogram[min(int(value * BINS), BINS - 1)] += 1
    return {
        "count": len(values),
        "mean": _mean(values),
        "zero": sum(value == 0.0 for value in values),
        "one": sum(value == 1.0 for value in values),
        "histogram": histogram,
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


# ---------------------------------------------------------------- files


def write(report_dir: str | Path, summary: dict) -> list[Path]:
    """Write `filter_summary.json` and the three histograms; return their paths."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "filter_summary.json"
    write_atomic(path, json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return [path, *_plot(report_dir, summary)]


def _plot(report_dir: Path, summary: dict) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    bins = [f"{i / BINS:.1f}" for i in range(BINS)]
    paths = []

    def save(figure, name: str) -> None:
        figure.tight_layout()
        figure.savefig(report_dir / name, dpi=100)
        plt.close(figure)
        paths.append(report_dir / name)

    tests = summary["tests_per_question"]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for offset, (label, counts) in zip((-0.2, 0.2), (("before", tests["before"]), ("after", tests["after"]))):
        histogram = counts["histogram"]
        axes.bar(
            [k + offset for k in range(len(histogram))],
            histogram,
            width=0.4,
            label=f"{label} (mean {_show(counts['mean'])})",
        )
    axes.set(title="Tests per question, before and after filtering", xlabel="tests", ylabel="questions")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend()
    save(figure, "tests_per_question.png")

    oracle = summary["oracle_pass_rates"]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.bar(bins, oracle["histogram"], align="edge", width=0.9)
    axes.set(
        title=f"Oracle pass rates over the original tests ({oracle['count']} questions)",
        xlabel="pass rate (bin start)",
        ylabel="questions",
    )
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    save(figure, "oracle_pass_rates.png")

    models = summary["sample_pass_rates"]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(len(models), 1)
    for number, (model, rates) in enumerate(models.items()):
        shares = (
            [count / rates["count"] for count in rates["histogram"]] if rates["count"] else rates["histogram"]
        )
        axes.bar(
            [i + number * width for i in range(BINS)],
            shares,
            width=width,
            align="edge",
            label=f"{model} ({rates['count']} samples, mean {_show(rates['mean'])})",
        )
    axes.set_xticks(range(BINS), bins)
    axes.set(
        title="Sample pass rates over the kept tests",
        xlabel="pass rate (bin start)",
        ylabel="share of the model's samples",
    )
    if models:
        axes.legend()
    save(figure, "sample_pass_rates.png")
    return paths


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
