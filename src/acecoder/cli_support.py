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
    """Progress over programs: done/total, tests passed, rate and ETA.

    Shown from `total(n)` on, so that input errors found before it print alone.
    """

    def __init__(self, description: str):
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[tests]:,} tests passed"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        self._progress = Progress(*columns, console=console)
        self._description = description
        self._task = None
        self._passed = self._done = 0

    def total(self, n: int) -> None:
        self._started = time.monotonic()
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=n, tests=0, rate="")

    def advance(self, result) -> None:
        self._passed += result.passed
        self._done += 1
        elapsed = time.monotonic() - self._started
        rate = f"{self._done / elapsed:,.0f} programs/s" if elapsed > 0 else ""
        self._progress.update(self._task, advance=1, tests=self._passed, rate=rate)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()


@contextlib.contextmanager
def progress_bar(description: str):
    bar = _Bar(description)
    try:
        yield bar
    finally:
        bar.close()


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
        soft_wrap=True,
    )
