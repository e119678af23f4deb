"""Console plumbing shared by the commands: progress bars, summaries, error exits."""

from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

console = Console(stderr=True)


def fail(error: Exception) -> None:
    console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    raise SystemExit(2)


class _Bar:
    """Progress over items (programs, questions): done/total, tests passed when the
    items are execution results, rate and ETA.

    Shown from `total(n)` on, so that input errors found before it print alone.
    """

    def __init__(self, description: str, unit: str = "programs"):
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[tests]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        self._progress = Progress(*columns, console=console)
        self._description, self._unit = description, unit
        self._task = None
        self._passed = self._done = 0

    def total(self, n: int | None) -> None:
        if self._task is not None:
            self._progress.update(self._task, total=n)
            return
        self._started = time.monotonic()
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=n, tests="", rate="")

    def advance(self, item) -> None:
        if self._task is None:
            self.total(None)
        self._done += 1
        tests = ""
        if hasattr(item, "passed"):  # an ExecutionResult
            self._passed += item.passed
            tests = f"{self._passed:,} tests passed"
        elapsed = time.monotonic() - self._started
        rate = f"{self._done / elapsed:,.0f} {self._unit}/s" if elapsed > 0 else ""
        self._progress.update(self._task, advance=1, tests=tests, rate=rate)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "programs"):
    bar = _Bar(description, unit)
    try:
        yield bar
    finally:
        bar.close()


def print_execute_summary(summary, output) -> None:
    statuses = ", ".join(f"{name} {count}" for name, count in summary.statuses.most_common())
    rate = summary.tests / summary.seconds if summary.seconds else 0.0
    lines = [
        f"[bold green]done[/] {summary.programs} programs ({summary.skipped} already done) in "
        f"{summary.seconds:.1f} s, {rate:,.0f} tests/s",
        f"  tests passed {summary.passed}/{summary.tests}; all tests passed: {summary.all_passed}",
        f"  status: {statuses or '-'}",
        f"  sandbox: {', '.join(summary.isolation) or '-'}",
    ]
    if any(part.startswith(("no namespaces", "no mount", "stdlib out")) for part in summary.isolation):
        lines.append("  [yellow]warning: the sandbox is degraded here (see the README's Isolation section)[/]")
    lines.append(f"  wrote {output}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def print_filter_summary(summary) -> None:
    drops = ", ".join(f"{reason} {n}" for reason, n in summary.dropped.items() if n) or "none"
    lines = [
        f"[bold green]done[/] kept {summary.kept} of {summary.questions} questions in {summary.seconds:.1f} s",
        f"  dropped: {drops}",
        f"  programs run {summary.programs}, verdicts reused {summary.reused}",
    ]
    if summary.skipped_rows:
        first = summary.skipped_rows[0]
        lines.append(
            f"  [yellow]skipped {summary.skipped} malformed rows[/], first: "
            f"{first['file']}:{first['line']}: {first['message']}"
        )
    if summary.ignored:
        lines.append("  ignored: " + ", ".join(f"{why} {n}" for why, n in sorted(summary.ignored.items())))
    lines += [f"  wrote {summary.output}", f"  verdicts in {summary.executions}"]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def print_rows_summary(what: str, count: int, summary, extra: list[str]) -> None:
    lines = [f"[bold green]done[/] {count} {what} from {summary.rows} questions in {summary.seconds:.1f} s"]
    lines += [f"  {line}" for line in extra]
    if summary.skipped:
        lines.append(f"  [yellow]skipped {summary.skipped} malformed rows[/], first: {summary.problems[0]}")
    if summary.models_missing:
        lines.append(f"  [yellow]models in no row:[/] {', '.join(summary.models_missing)}")
    lines.append(f"  wrote {summary.output} ({summary.format})")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def print_sample_summary(summary) -> None:
    lines = [
        f"[bold green]done[/] {summary.samples} samples for {summary.sampled} questions in {summary.seconds:.1f} s"
        f" ({summary.already_done} questions already done)",
        f"  requests {summary.requests} (retries {summary.retries}), cache hits {summary.cache_hits}, "
        f"tokens {summary.prompt_tokens:,} in / {summary.completion_tokens:,} out"
        + (f", cost ${summary.cost:.4f}" if summary.cost else ""),
    ]
    if summary.truncated or summary.empty_programs:
        lines.append(f"  [yellow]hit max tokens {summary.truncated}, empty programs {summary.empty_programs}[/]")
    if summary.skipped:
        lines.append(f"  [yellow]skipped {summary.skipped} malformed rows[/], first: {summary.problems[0]}")
    lines.append(f"  wrote {summary.output}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def print_synth_summary(summary) -> None:
    def counts(counter) -> str:
        return ", ".join(f"{reason} {n}" for reason, n in sorted(dict(counter).items()) if n) or "none"

    usage = summary.usage if isinstance(summary.usage, dict) else summary.usage.__dict__
    lines = [
        f"[bold green]done[/] {summary.written} questions, {summary.tests_written} tests "
        f"({summary.mean_tests:.1f} a question) from {summary.seeds} seeds ({summary.already_done} already done)",
        f"  seeds dropped: {counts(summary.seed_drops)}",
        f"  answers failed: {counts(summary.failed)}",
        f"  tests dropped: {counts(summary.test_drops)}",
        f"  requests {usage.get('requests', 0)}, cache hits {usage.get('cache_hits', 0)}",
    ]
    if summary.skipped_rows:
        lines.append(f"  [yellow]skipped {len(summary.skipped_rows)} malformed rows[/], first: {summary.skipped_rows[0]}")
    lines.append(f"  wrote {summary.output}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
