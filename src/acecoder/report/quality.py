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
from fractions import Fraction
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

    def add_reference(self, passed: list[bool], kept: list[int]) -> None:
        """The reference program's verdicts (passed or not, per original test): a test a
        known-correct program fails is a wrong test (a false rejection)."""
        failed = {i for i, ok in enumerate(passed) if not ok}
        self.reference_failed = len(failed)
        self.reference_failed_kept = len(failed.intersection(kept))
        self.reference_passed_dropped = len(set(range(len(passed))) - failed - set(kept))


def summarise(judged: Iterable[Judged]) -> dict:
    """Every section of the report, as plain JSON-ready data."""
    tally = Tally()
    for question in judged:
        tally.add(question)
    return tally.summary()


class Tally:
    """`summarise` one question at a time, in any order: memory grows with the distinct
    values (test counts, models, sources), never with the questions. Sums of pass rates
    are exact (fractions), so the order questions come in changes no digit."""

    def __init__(self):
        self.before, self.after = Counter(), Counter()  # tests per question -> questions
        self.oracle = _Rates()
        self.models: dict[str, _Rates] = defaultdict(_Rates)
        self.sources: dict[str, dict] = defaultdict(
            lambda: {"questions": 0, "kept": 0, "dropped": Counter(), "before": Counter(), "after": Counter(),
                     "rates": _Rates()}
        )
        self.reference: Counter | None = None
        self.reference_tests: Counter | None = None
        self.reference_tests_sources: dict[str, Counter] = defaultdict(Counter)

    def add(self, question: Judged) -> None:
        source = self.sources[question.source]
        source["questions"] += 1
        self.before[question.tests] += 1
        source["before"][question.tests] += 1
        if question.oracle_pass_rate is not None:
            self.oracle.add(question.oracle_pass_rate)
        if question.reference_failed is not None:
            self.reference = self.reference if self.reference is not None else Counter()
            self.reference.update(_reference(question))
        if not question.kept:
            source["dropped"][question.reason] += 1
            return
        source["kept"] += 1
        self.after[question.kept_tests] += 1
        source["after"][question.kept_tests] += 1
        for sample in question.samples:
            self.models[sample.model].add(sample.pass_rate)
            source["rates"].add(sample.pass_rate)
        if question.oracle_passes_reference_tests is not None:
            self.reference_tests = self.reference_tests if self.reference_tests is not None else Counter()
            counts = _reference_tests(question)
            self.reference_tests.update(counts)
            self.reference_tests_sources[question.source].update(counts)

    def summary(self) -> dict:
        return {
            "tests_per_question": {"before": _counts(self.before), "after": _counts(self.after)},
            "oracle_pass_rates": self.oracle.summary(),
            "sample_pass_rates": {model: rates.summary() for model, rates in sorted(self.models.items())},
            "sources": {
                name: {
                    "questions": source["questions"],
                    "kept": source["kept"],
                    "dropped": dict(sorted(source["dropped"].items())),
                    "mean_tests_before": _counts(source["before"])["mean"],
                    "mean_tests_after": _counts(source["after"])["mean"],
                    "mean_sample_pass_rate": source["rates"].summary()["mean"],
                }
                for name, source in sorted(self.sources.items())
            },
            "reference": None if self.reference is None else {key: self.reference[key] for key in REFERENCE_KEYS},
            "reference_tests": None if self.reference_tests is None else {
                **{key: self.reference_tests[key] for key in REFERENCE_TESTS_KEYS},
                "sources": {
                    name: {key: counter[key] for key in REFERENCE_TESTS_KEYS}
                    for name, counter in sorted(self.reference_tests_sources.items())
                },
            },
        }


# ---------------------------------------------------------------- the sections

REFERENCE_KEYS = (
    "questions",
    "tests",
    "failed_tests",
    "failed_tests_kept",
    "questions_with_failed_tests",
    "questions_with_failed_tests_kept",
    "passed_tests_dropped",
)
REFERENCE_TESTS_KEYS = (
    "questions",
    "samples",
    "samples_passing_kept_tests",
    "weak_samples",
    "questions_with_weak_samples",
    "oracle_fails_reference_tests",
)


def _reference(question: Judged) -> Counter:
    """False rejections: synthesized tests a known-correct program fails are wrong tests."""
    return Counter(
        questions=1,
        tests=question.tests,
        failed_tests=question.reference_failed,
        failed_tests_kept=question.reference_failed_kept,
        questions_with_failed_tests=int(question.reference_failed > 0),
        questions_with_failed_tests_kept=int(question.reference_failed_kept > 0),
        passed_tests_dropped=question.reference_passed_dropped,
    )


def _reference_tests(question: Judged) -> Counter:
    """Weak tests: a sample that passes every kept test yet fails an independent test."""
    weak = sum(s.pass_rate == 1.0 and s.passes_reference_tests is False for s in question.samples)
    return Counter(
        questions=1,
        samples=len(question.samples),
        samples_passing_kept_tests=sum(s.pass_rate == 1.0 for s in question.samples),
        weak_samples=weak,
        questions_with_weak_samples=int(weak > 0),
        oracle_fails_reference_tests=int(not question.oracle_passes_reference_tests),
    )


def _counts(values: Counter) -> dict:
    """{total, mean, histogram} of integer values given as value -> how many."""
    histogram = [values[k] for k in range(max(values, default=-1) + 1)]
    total, count = sum(k * n for k, n in values.items()), sum(values.values())
    return {"total": total, "mean": round(total / count, 6) if count else None, "histogram": histogram}


class _Rates:
    """A pass-rate distribution, value by value: {count, mean, zero, one, histogram}."""

    def __init__(self):
        self.count = self.zero = self.one = 0
        self.total = Fraction(0)
        self.histogram = [0] * BINS

    def add(self, value: float) -> None:
        self.count += 1
        self.total += Fraction(value)
        self.zero += value == 0.0
        self.one += value == 1.0
        self.histogram[min(int(value * BINS), BINS - 1)] += 1

    def summary(self) -> dict:
        mean = round(float(self.total / self.count), 6) if self.count else None
        return {"count": self.count, "mean": mean, "zero": self.zero, "one": self.one,
                "histogram": list(self.histogram)}


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
