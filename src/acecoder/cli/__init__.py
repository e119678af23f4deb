"""The `acecoder` command: one subcommand per stage, each a thin layer over `acecoder.stages`.

One module per concern adds its commands to the shared app. Heavy modules (torch,
transformers, the engines) are imported inside the commands, so `acecoder --help`
starts fast. `main` is the one error path around every command.
"""

import os

from acecoder.cli import data, evaluate, pipeline, report, rl, rm  # noqa: F401  (each registers its commands)
from acecoder.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line; whatever escapes a command ends here, never as a traceback:
    an AcecoderError prints as `error: ...` (exit 2, or 1 for a failed component), Ctrl-C
    as `interrupted` (130: every output is appended line by line or replaced whole, so the
    same command continues), anything else as an internal error (exit 1) whose traceback
    `ACECODER_DEBUG=1` shows."""
    import click
    import typer

    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError, InputError

    # typer (0.20+) raises the exceptions of its own vendored click, where it has one
    usage_errors = (click.ClickException, getattr(getattr(typer, "_click", None), "ClickException", click.ClickException))
    aborts = (click.exceptions.Abort, getattr(getattr(typer, "exceptions", None), "Abort", click.exceptions.Abort))

    def interrupted():
        console.print("interrupted: what was written is kept; run the same command again (with --resume where "
                      "it has one) to continue", markup=False, highlight=False)
        raise SystemExit(130) from None

    try:
        code = app(standalone_mode=False)
    except usage_errors as error:  # click's own message and code (2)
        error.show()
        raise SystemExit(error.exit_code) from None
    except (*aborts, KeyboardInterrupt):
        interrupted()
    except AcecoderError as error:
        fail(error)
    except Exception as error:
        if isinstance(error, OSError) and error.filename:  # a path the user gave: missing, a folder, read-only
            fail(InputError(f"cannot use this path: {error.strerror or error}", path=str(error.filename)))
        if os.environ.get("ACECODER_DEBUG"):
            raise
        console.print(f"error: internal error, a bug: {type(error).__name__}: {error}\n"
                      "(ACECODER_DEBUG=1 shows the traceback; please report it)", markup=False, highlight=False)
        raise SystemExit(1) from None
    if code == 130:  # typer turns a KeyboardInterrupt inside a command into this exit code
        interrupted()
    raise SystemExit(code if isinstance(code, int) else 0)
