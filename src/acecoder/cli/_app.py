"""The one typer application; the modules of this package add their commands to it."""

import os
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="Reward signal for code models from synthesized tests (ACECODER).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the installed version."""
    from acecoder import __version__

    typer.echo(__version__)


@app.callback()
def options(
    max_bad_fraction: Annotated[Optional[float], typer.Option(
        min=0.0, max=1.0,
        help="Stop when more than this share of an input file's rows are bad (default 0.5, or "
             "ACECODER_MAX_BAD_FRACTION); a file with no usable row always stops. --strict stops at the first.",
    )] = None,
) -> None:
    """Reward signal for code models from synthesized tests (ACECODER)."""
    if max_bad_fraction is not None:  # the environment carries it to every process the command starts
        os.environ["ACECODER_MAX_BAD_FRACTION"] = str(max_bad_fraction)
