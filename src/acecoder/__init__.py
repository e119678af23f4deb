"""acecoder: reward signal for code models from synthesized tests (ACECODER, arXiv 2502.01718)."""

__version__ = "0.1.0"
