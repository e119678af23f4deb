"""The `acecoder` command: one subcommand per stage, each a thin layer over `acecoder.stages`.

One module per concern adds its commands to the shared app. Heavy modules (torch,
transformers, the engines) are imported inside the commands, so `acecoder --help`
starts fast.
"""

from acecoder.cli import data, evaluate, pipeline, report, rl, rm  # noqa: F401  (each registers its commands)
from acecoder.cli._app import app

__all__ = ["app"]
