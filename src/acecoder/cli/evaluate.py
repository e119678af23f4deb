"""Commands of evaluation: eval (pass@k on benchmarks) and bon (best-of-N)."""

from acecoder.cli._app import app  # noqa: F401  (commands are added below)
