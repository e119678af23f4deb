"""Console plumbing shared by the commands: progress bars, summaries, error exits."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

console = Console(stderr=True)


def fail(error: Exception) -> None:
    """Print the error as plain text (a message may hold brackets: ids, paths, values) and exit:
    1 when a component failed (a server died, the sandbox broke), 2 for the user's input."""
    from acecoder.errors import ComponentError

    console.print("error:", style="bold red", end=" ")
    console.print(str(error), markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(1 if isinstance(error, ComponentError) else 2)


class _Bar:
    """Progress over items (programs, questions): done/total, tests passed when the items
    are execution results, rate and ETA.

    On a terminal: a live bar. Elsewhere (CI logs, nohup, a pipe) a plain line every
    `ACECODER_PROGRESS_INTERVAL` seconds (30) and one at the end. Either way the same line goes
    to the `acecoder.progress` logger at that interval (the pipeline's stage log), from a
    timer rather than from `advance`, so that a stage that stops advancing still shows, with
    its count standing still. Shown from `total(n)` on, so input errors found before it print alone.
    """

    def __init__(self, description: str, unit: str = "programs"):
        self._description, self._unit = description, unit
        self._live = console.is_terminal
        self._progress = self._task = None
        self._total: int | None = None
        self._passed = self._done = 0
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def total(self, n: int | None) -> None:
        self._total = n
        if self._started():
            if self._task is not None:
                self._progress.update(self._task, total=n)
            return
        self._start = time.monotonic()
        if self._live:
            columns = (
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[tests]}"),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
            )
            self._progress = Progress(*columns, console=console)
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=n, tests="", rate="")
        self._timer = threading.Thread(target=self._report_every, args=(_interval(),), daemon=True)
        self._timer.start()

    def phase(self, unit: str) -> None:
        """A new pass of the same stage (bon: problems sampled, then programs run): the
        count, rate and ETA start again in the new unit; the finished pass stays in the log."""
        if self._started():
            _log.info(self.line())
            self._start = time.monotonic()
        self._unit, self._done, self._passed, self._total = unit, 0, 0, None
        if self._task is not None:
            self._progress.reset(self._task, total=None, tests="", rate="")

    def advance(self, item) -> None:
        if not self._started():
            self.total(None)
        self._done += 1
        if hasattr(item, "passed"):  # an ExecutionResult
            self._passed += item.passed
        if self._task is not None:
            elapsed = time.monotonic() - self._start
            rate = f"{self._done / elapsed:,.0f} {self._unit}/s" if elapsed > 0 else ""
            tests = f"{self._passed:,} tests passed" if self._passed else ""
            self._progress.update(self._task, advance=1, tests=tests, rate=rate)

    def line(self) -> str:
        """`synth: 5/16 seeds, 0.41 seeds/s, ETA 27 s (12 s so far)`."""
        elapsed = time.monotonic() - self._start
        rate = self._done / elapsed if elapsed > 0 else 0.0
        count = f"{self._done:,}/{self._total:,}" if self._total is not None else f"{self._done:,}"
        parts = [f"{self._description}: {count} {self._unit}", f"{_rate(rate)} {self._unit}/s"]
        if self._passed:
            parts.append(f"{self._passed:,} tests passed")
        if self._total is not None and self._done < self._total:
            parts.append(f"ETA {_duration((self._total - self._done) / rate)}" if rate > 0 else "ETA unknown")
        return ", ".join(parts) + f" ({_duration(elapsed)} so far)"

    def close(self) -> None:
        if not self._started():
            return
        self._stop.set()
        if self._progress is not None:
            self._progress.stop()
        else:
            console.print(self.line(), markup=False, highlight=False)
        _log.info(self.line())

    def _started(self) -> bool:
        return self._timer is not None

    def _report_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            line = self.line()
            _log.info(line)
            if not self._live:
                console.print(line, markup=False, highlight=False)


_log = logging.getLogger("acecoder.progress")


def _interval() -> float:
    try:
        return max(0.1, float(os.environ.get("ACECODER_PROGRESS_INTERVAL", "30")))
    except ValueError:
        return 30.0


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.3g}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "programs"):
    """The stage's progress; under torchrun or accelerate only the first process shows one."""
    if int(os.environ.get("RANK", "0") or 0) != 0:
        yield None
        return
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
    lines.append(f"  wrote {_plain(output)}")
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
            f"{_plain(first['file'])}:{first['line']}: {_plain(first['message'])}"
        )
    if summary.ignored:
        lines.append("  ignored: " + ", ".join(f"{why} {n}" for why, n in sorted(summary.ignored.items())))
    lines += [f"  wrote {_plain(summary.output)}", f"  verdicts in {_plain(summary.executions)}"]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def print_rows_summary(what: str, count: int, summary, extra: list[str]) -> None:
    lines = [f"[bold green]done[/] {count} {what} from {summary.rows} questions in {summary.seconds:.1f} s"]
    lines += [f"  {line}" for line in extra]
    if summary.skipped:
        lines.append(f"  [yellow]skipped {summary.skipped} malformed rows[/], first: {_plain(summary.problems[0])}")
    if summary.models_missing:
        lines.append(f"  [yellow]models in no row:[/] {_plain(', '.join(summary.models_missing))}")
    lines.append(f"  wrote {_plain(summary.output)} ({summary.format})")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def _retries(count: int, reasons: dict) -> str:
    """"retries 17: http_429 4, reset 3, ..." (the faults met, each retried)."""
    if not reasons:
        return f"retries {count}"
    return f"retries {count}: " + ", ".join(f"{_plain(str(reason))} {n}" for reason, n in sorted(reasons.items()))


def print_sample_summary(summary) -> None:
    lines = [
        f"[bold green]done[/] {summary.samples} samples for {summary.sampled} questions in {summary.seconds:.1f} s"
        f" ({summary.already_done} questions already done)",
        f"  requests {summary.requests} ({_retries(summary.retries, summary.retried)}), cache hits {summary.cache_hits}, "
        f"tokens {summary.prompt_tokens:,} in / {summary.completion_tokens:,} out"
        + (f", cost ${summary.cost:.4f}" if summary.cost else ""),
    ]
    if summary.failed:
        lines.append(_failed_requests(summary.failed, summary.failed_examples))
    if summary.truncated or summary.empty_programs:
        lines.append(f"  [yellow]hit max tokens {summary.truncated}, empty programs {summary.empty_programs}[/]")
    if summary.skipped:
        lines.append(f"  [yellow]skipped {summary.skipped} malformed rows[/], first: {_plain(summary.problems[0])}")
    lines.append(f"  wrote {_plain(summary.output)}")
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
        f"  requests {usage.get('requests', 0)} ({_retries(usage.get('retries', 0), usage.get('errors') or {})}), "
        f"cache hits {usage.get('cache_hits', 0)}",
    ]
    if summary.failed_requests:
        lines.append(_failed_requests(summary.failed_requests, summary.failed_request_examples))
    if summary.skipped_rows:
        lines.append(f"  [yellow]skipped {len(summary.skipped_rows)} malformed rows[/], first: {_plain(summary.skipped_rows[0])}")
    lines.append(f"  wrote {_plain(summary.output)}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def _failed_requests(counts: dict, examples: list[dict]) -> str:
    """The summary line of a stage's failed requests (`acecoder.llm.record_failure`)."""
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items()))
    first = examples[0]
    return (f"  [yellow]failed requests: {reasons}[/]; first: {_plain(first['id'])}: {_plain(first['message'])} "
            "(a rerun with --resume asks again for the transient ones; --retry-failed for all)")


def _plain(text: str) -> str:
    """Text from a file or a server, safe inside a line printed with markup."""
    from rich.markup import escape

    return escape(str(text))
