"""Console plumbing shared by the commands: progress bars, summaries, error exits."""

from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

console = Console(stderr=True)


def fail(error: Exception) -> None:
    console.print(f"[bold red]error:[/] {error}", highlight=False)
    raise SystemExit(2)


class _Bar:
    """Progress of a stage over programs: done/total, tests passed, rate and ETA."""

    def __init__(self, progress: Progress, description: str):
        self._progress = progress
        self._task = progress.add_task(description, total=None, tests=0, rate="")
        self._passed = 0
        self._started = time.monotonic()
        self._done = 0

    def total(self, n: int) -> None:
        self._progress.update(self._task, total=n)

    def advance(self, result) -> None:
        self._passed += result.passed
        self._done += 1
        elapsed = time.monotonic() - self._started
        rate = f"{self._done / elapsed:,.0f} programs/s" if elapsed > 0 else ""
        self._progress.update(self._task, advance=1, tests=self._passed, rate=rate)


@contextlib.contextmanager
def progress_bar(description: str):
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tests]:,} tests passed"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        yield _Bar(progress, description)


def print_execute_summary(summary, output) -> None:
    statuses = ", ".join(f"{name} {count}" for name, count in summary.statuses.most_common())
    rate = summary.tests / summary.seconds if summary.seconds else 0.0
    console.print(
        f"[bold green]done[/] {summary.programs} programs ({summary.skipped} already done) in "
        f"{summary.seconds:.1f} s, {rate:,.0f} tests/s\n"
        f"  tests passed {summary.passed}/{summary.tests}; all tests passed: {summary.all_passed}\n"
        f"  status: {statuses or '-'}\n"
        f"  sandbox: {', '.join(summary.isolation) or '-'}\n"
        f"  wrote {output}",
        highlight=False,
    )
