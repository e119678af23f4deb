"""Commands of reinforcement learning: rl, serve-reward."""

from acecoder.cli._app import app  # noqa: F401  (commands are added below)
