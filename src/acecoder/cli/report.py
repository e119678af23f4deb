"""Command `report`: the run folder's numbers as one self-contained HTML page and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from acecoder.cli._app import app


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="The run folder of `acecoder run` / `acecoder demo`.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The HTML file; report.json is written beside it [default: RUN_DIR/report.html].")] = None,
) -> None:
    """Write report.html (figures embedded, opens offline) and report.json: stages, the
    dataset table, pass rates and drops, reward-model curves, best-of-N, RL."""
    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError
    from acecoder.report.html import write_report

    try:
        with console.status("drawing the report"):
            summary = write_report(run_dir, output=output)
    except AcecoderError as error:
        fail(error)
    lines = [f"[bold green]done[/] {len(summary.sections)} sections, {summary.figures} figures: "
             + (", ".join(summary.sections) or "none")]
    lines += [f"  [yellow]not in this run:[/] {line}" for line in summary.missing]
    lines += [f"  [yellow]warning:[/] {line}" for line in summary.warnings]
    lines += [f"  wrote {summary.html}", f"  wrote {summary.json}"]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
