"""Commands of the reward model: train-rm, score, serve-rm."""

from acecoder.cli._app import app  # noqa: F401  (commands are added below)
