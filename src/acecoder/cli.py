"""The `acecoder` command: one subcommand per stage, each a thin layer over `acecoder.stages`.

Heavy modules are imported inside the commands, so `acecoder --help` starts fast.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="Reward signal for code models from synthesized tests (ACECODER).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Pick(str, enum.Enum):
    last = "last"
    longest = "longest"


@app.command()
def execute(
    input: Annotated[Path, typer.Argument(help="JSONL: one {id, program, tests} per line.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL of verdicts, one per program.")],
    timeout: Annotated[float, typer.Option(help="Seconds each test may run (wall clock).", min=0.01)] = 3.0,
    workers: Annotated[Optional[int], typer.Option(help="Sandbox processes in parallel [default: CPU cores].", min=1)] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.", min=64)] = 2048,
    extract: Annotated[bool, typer.Option(help="Lines carry 'completion' (raw model output): pull the code out of it.")] = False,
    pick: Annotated[Pick, typer.Option(help="With --extract: which fenced python block.")] = Pick.last,
    resume: Annotated[bool, typer.Option(help="Keep OUTPUT and skip the ids it already has.")] = False,
) -> None:
    """Run every program against its tests in the sandbox; write per-test verdicts."""
    from acecoder.cli_support import fail, progress_bar, print_execute_summary
    from acecoder.errors import AcecoderError
    from acecoder.stages import execute as stage

    try:
        with progress_bar("execute") as bar:
            summary = stage.run(
                input, output, timeout=timeout, workers=workers, memory_mb=memory_mb,
                extract=pick.value if extract else None, resume=resume, progress=bar,
            )
    except AcecoderError as error:
        fail(error)
    print_execute_summary(summary, output)


@app.command()
def version() -> None:
    """Print the installed version."""
    from acecoder import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
