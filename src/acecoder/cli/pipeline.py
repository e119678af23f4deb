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
    from acecoder.pipeline.steps import build_steps, check_models

    try:
        loaded, _ = load_config(config, set_ or [])
        steps = [step.name for step in build_steps(loaded, Path(loaded.run_dir)) if step.name in loaded.stages]
        check_models(loaded, set(steps))  # every stage of the config (a run checks those it will run)
    except AcecoderError as error:
        fail(error)
    console.print(f"{config}: valid; stages {' -> '.join(steps)}; run folder {loaded.run_dir}", highlight=False)


# `acecoder demo --quick`: every stage, on the same embedded models and backend, in a few
# minutes (CI runs it on every landing). Each setting only shrinks a size of demo.yaml.
QUICK = {
    "synth.limit": 6,                 # seeds (of 40)
    "synth.max_tokens": 400,
    "sample.policies.0.n": 3,
    "sample.policies.1.n": 3,
    "sample.policies.0.max_tokens": 256,  # fewer programs cut off before their end
    "sample.policies.1.max_tokens": 256,
    "pairs.min_chosen": 0.3,          # a handful of questions: any program better than another
    "pairs.min_gap": 0.15,

    "train_rm.epochs": 1,
    "bon.limit": 2,                   # HumanEval problems
    "bon.n": 2,
    "bon.max_tokens": 160,
    "rl.rollout_prompts": 1,
    "rl.samples_per_prompt": 2,
    "rl.train_batch": 2,
    "rl.micro_batch": 2,
    "rl.max_completion_tokens": 48,
    "rl.episodes": 1,
}


@app.command()
def demo(
    run_dir: Annotated[Optional[Path], typer.Option(help="The run folder [default: runs/demo, runs/demo-quick with --quick].")] = None,
    quick: Annotated[bool, typer.Option(help="Every stage at the smallest sizes: a few minutes (the front door's check).")] = False,
    set_: Overrides = None,
) -> None:
    """The whole method on this machine, no network, no GPU: embedded small models, shipped seeds, then the report."""
    folder = run_dir or Path("runs/demo-quick" if quick else "runs/demo")
    sizes = [f"{key}={value}" for key, value in QUICK.items()] if quick else []
    _run(DEMO_CONFIG, [f"run_dir={folder}", *sizes, *(set_ or [])], None, None, True)


def _run(config: Path, overrides: list[str], first: str | None, last: str | None, report: bool) -> None:
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.pipeline import load_config, run_pipeline
    from acecoder.report.run import headline

    def show(outcome) -> None:
        took = "unchanged" if outcome.action == "skipped" else f"{outcome.action} in {outcome.seconds:.1f} s"
        console.print(f"{outcome.name}: {took}  {headline(outcome.name, outcome.summary)}", markup=False, highlight=False)

    try:
        loaded, raw = load_config(config, overrides)
        run_pipeline(loaded, raw, first=first, last=last, progress=progress_bar, on_outcome=show)
        if report:
            from acecoder.report.run import write_report

            html = write_report(Path(loaded.run_dir))
            console.print(f"report: {html}", highlight=False)
    except AcecoderError as error:
        fail(error)
