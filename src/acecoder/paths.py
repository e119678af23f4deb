"""Where acecoder keeps what outlives a run: converted models, GGUF files, verdicts."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """`cache_dir`, else $ACECODER_CACHE, else ~/.cache/acecoder."""
    root = cache_dir or os.environ.get("ACECODER_CACHE") or Path.home() / ".cache" / "acecoder"
    return Path(root).expanduser()
