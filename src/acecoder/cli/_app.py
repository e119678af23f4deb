"""The one typer application; the modules of this package add their commands to it."""

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
