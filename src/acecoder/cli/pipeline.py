"""Commands of the whole pipeline: run, validate, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from acecoder.cli._app import app

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "pipeline" / "demo.yaml"

Overrides = Annotated[Optional[list[str]], typer.Option("--set", help="Override a setting: KEY=VALUE (repeatable), e.g. sample.policies.0.n=4.")]


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="The run's config (YAML); see configs/pipeline.yaml.")],
    set_: Overrides = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Start at this stage (the earlier ones must be done).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Stop after this stage.")] = None,
    report: Annotated[bool, typer.Option(help="Write RUN_DIR/report.html at the end.")] = True,
) -> None:
    """Run the method's stages in order; a finished stage is skipped unless its inputs or settings changed."""
    _run(config, set_ or [], from_, until, report)


@app.command()
def validate(config: Annotated[Path, typer.Argument(help="The run's config (YAML).")], set_: Overrides = None) -> None:
    """Check a config without running anything."""
    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError
    from acecoder.pipeline import load_config
    from acecoder.pipeline.steps import build_steps

    try:
        loaded, _ = load_config(config, set_ or [])
        steps = [step.name for step in build_steps(loaded, Path(loaded.run_dir)) if step.name in loaded.stages]
    except AcecoderError as error:
        fail(error)
    console.print(f"{config}: valid; stages {' -> '.join(steps)}; run folder {loaded.run_dir}", highlight=False)


@app.command()
def demo(
    run_dir: Annotated[Path, typer.Option(help="The run folder.")] = Path("runs/demo"),
    set_: Overrides = None,
) -> None:
    """The whole method on this machine, no network, no GPU: embedded small models, shipped seeds, then the report."""
    _run(DEMO_CONFIG, [f"run_dir={run_dir}", *(set_ or [])], None, None, True)


def _run(config: Path, overrides: list[str], first: str | None, last: str | None, report: bool) -> None:
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.pipeline import load_config, run_pipeline

    def show(outcome) -> None:
        took = "unchanged" if outcome.action == "skipped" else f"{outcome.action} in {outcome.seconds:.1f} s"
        console.print(f"[bold]{outcome.name}[/]: {took}  {_brief(outcome.summary)}", highlight=False)

    try:
        loaded, raw = load_config(config, overrides)
        run_pipeline(loaded, raw, first=first, last=last, progress=progress_bar, on_outcome=show)
        if report:
            from acecoder.report.run import write_report

            html = write_report(Path(loaded.run_dir))
            console.print(f"report: {html}", highlight=False)
    except AcecoderError as error:
        fail(error)
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to continue where it stopped", highlight=False)
        raise SystemExit(130)


def _brief(summary: dict, limit: int = 6) -> str:
    """The first few counts of a stage's summary, for its one line."""
    shown = [f"{key} {value}" for key, value in summary.items() if isinstance(value, int) and not isinstance(value, bool)]
    return ", ".join(shown[:limit])
