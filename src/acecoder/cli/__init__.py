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
    same command continues) and SIGTERM the same way (143), anything else as an internal error (exit 1) whose traceback
    `ACECODER_DEBUG=1` shows."""
    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError, InputError

    usage_errors, aborts = _click_exceptions()
    _wide_help_in_pipes()
    stopped = _stop_on_sigterm()

    def interrupted():
        console.print(f"{'terminated (SIGTERM)' if stopped else 'interrupted'}: what was written is kept; run the "
                      "same command again (with --resume where it has one) to continue", markup=False, highlight=False)
        raise SystemExit(143 if stopped else 130) from None

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
        if _disk_full(error):
            where = f"cannot write {error.filename}: " if getattr(error, "filename", None) else ""
            console.print(f"error: {where}no space left on the device (the disk is full). What was written is kept: "
                          "free some space, then run the same command again (with --resume where it has one) to "
                          "continue", markup=False, highlight=False, soft_wrap=True)
            raise SystemExit(1) from None
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


def _stop_on_sigterm() -> list:
    """SIGTERM (`kill`, a scheduler's preemption, `docker stop`, the way a job started with
    nohup is stopped) takes Ctrl-C's path: the stage records that it was interrupted, the
    servers it started are stopped, the same message. Returns a list that is non-empty
    once SIGTERM came."""
    import signal
    import threading

    came, main_pid = [], os.getpid()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return came

    def stop(signum, frame):
        if os.getpid() != main_pid:  # a forked child inherited this handler: die as SIGTERM asks
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if not came:  # a second SIGTERM while stopping does not cut the stop short
            came.append(signum)
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    return came


def _disk_full(error: BaseException) -> bool:
    """A full disk or quota: the machine's problem, not a bug. Libraries say so their own way:
    an OSError's errno, sqlite in words, Rust code (safetensors' SafetensorError, when
    train-rm saves a checkpoint) as the system's text, sometimes in a cause or context."""
    import errno

    texts, seen = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT)), set()
    while error is not None and id(error) not in seen:  # `raise a from b` can make a cycle
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if type(error).__module__ == "sqlite3" and "disk is full" in str(error):
            return True
        if any(text in str(error) for text in texts):
            return True
        error = error.__cause__ or error.__context__
    return False


def _wide_help_in_pipes() -> None:
    """`--help` piped or in a CI log: rich falls back to 80 columns, which folds every
    option's help into a word or two a line; give it a terminal's width instead.
    TERMINAL_WIDTH (typer's own setting) still wins; a real terminal keeps its own width."""
    import sys

    if not sys.stdout.isatty() and not os.environ.get("TERMINAL_WIDTH"):
        import typer.rich_utils

        typer.rich_utils.MAX_WIDTH = HELP_WIDTH


HELP_WIDTH = 140  # columns of `--help` when stdout is not a terminal


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """The usage-error and abort classes of the click that typer raises: its vendored copy
    (typer 0.29+, which no longer depends on click, so click may be absent) and click itself
    (older typer, or both where a version has both)."""
    usage, aborts = [], []
    try:
        from typer._click.exceptions import ClickException
        from typer.exceptions import Abort

        usage.append(ClickException)
        aborts.append(Abort)
    except ImportError:
        pass
    try:
        import click

        usage.append(click.ClickException)
        aborts.append(click.exceptions.Abort)
    except ImportError:
        pass
    return tuple(usage), tuple(aborts)
