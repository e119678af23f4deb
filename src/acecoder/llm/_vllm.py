"""Offline generation with vLLM's engine in this process, for GPU machines.

    from acecoder.llm import VLLMBackend

    llm = VLLMBackend("Qwen/Qwen2.5-Coder-7B-Instruct", tensor_parallel_size=2)
    [result] = asyncio.run(llm.generate([ChatRequest(messages=[...], n=16, temperature=0.7)]))

Why offline and not vLLM's server: no HTTP, no second process to start and watch, and all
`n` samples of a prompt share one prefill (`SamplingParams.n`). The sample stage sends one
request per question with many in flight; `generate` calls that arrive while the engine is
busy are coalesced, and the next `LLM.chat` call takes them all at once, so vLLM's
scheduler sees the whole backlog (it batches far better than any window we could pick).

Differences from the HTTP client, stated so nothing surprises:
- `seed`: vLLM's V1 engine (every release `acecoder[vllm]` allows) runs a request's `n`
  samples as `n` requests of one sample, the i-th seeded with seed + i
  (`vllm/v1/engine/parallel_sampling.py`): sample i is seed + i, as with the OpenAI
  client and the transformers backend, reproducible up to the GPU's batch nondeterminism;
- `json_mode` uses vLLM's structured outputs (a JSON object) where this vLLM has them;
- usage counts vLLM's own prompt and completion token ids; there is no cache (the stage's
  resumption works on its output file) and no cost;
- a prompt of `max_model_len` tokens or more fails alone (an LLMError of kind "item", as
  an endpoint's 400 would), before the batch goes to vLLM, which would fail every request
  of the `LLM.chat` call for it.

The engine starts on the thread that first calls `generate` (the event loop's, normally
the main thread: vLLM releases before ~0.10.2 refused to start elsewhere, "signal only
works in main thread"); batches then run in a worker thread so the loop keeps taking
requests. A failed start is remembered: later calls fail with the same error at once
instead of loading the model again. `aclose()` shuts the engine down and frees its GPU
memory (it reserves `gpu_memory_utilization` of the card until then).

vllm is imported on first use: `import acecoder.llm` never imports it, and a machine
without it gets a ConfigError with the install command.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from acecoder.errors import ConfigError
from acecoder.llm._types import ChatRequest, ChatResult, Choice, LLMError, Usage

_INSTALL = "pip install 'acecoder[vllm]'  (on a machine with a CUDA GPU; vLLM brings its own torch)"


@dataclass(slots=True, eq=False)
class _Pending:
    request: ChatRequest
    future: asyncio.Future


class VLLMBackend:
    """An `LLMBackend` over `vllm.LLM`, loaded on the first `generate`."""

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        max_batch: int = 1024,
        name: str | None = None,
        engine_args: dict | None = None,
    ):
        """
        model: a checkpoint folder or a hub name (vLLM loads it; offline machines need a folder).
        tensor_parallel_size: GPUs one model is split over.
        gpu_memory_utilization: share of GPU memory vLLM may take for weights and KV cache.
        max_model_len: context length (prompt + new tokens); default: the model's.
        max_batch: requests handed to one `LLM.chat` call at most (each with its n samples).
        name: the model name in results and records (default: `model`).
        engine_args: any other `vllm.LLM` keyword arguments (e.g. {"enable_prefix_caching": True}).
        """
        if tensor_parallel_size < 1:
            raise ConfigError(f"tensor_parallel_size must be at least 1, not {tensor_parallel_size}")
        if not 0 < gpu_memory_utilization <= 1:
            raise ConfigError(f"gpu_memory_utilization must be in (0, 1], not {gpu_memory_utilization}")
        if max_batch < 1:
            raise ConfigError(f"max_batch must be at least 1, not {max_batch}")
        self.path = model
        self.model = name or model
        self.max_batch = max_batch
        self.usage = Usage()
        self._engine_args = {
            "model": model,
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "gpu_memory_utilization": gpu_memory_utilization,
            **({"max_model_len": max_model_len} if max_model_len else {}),
            **(engine_args or {}),
        }
        self._llm = None
        self._failed: Exception | None = None  # a failed start, raised again instead of retrying
        self._load_lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ the LLMBackend interface

    async def generate(self, requests: list[ChatRequest]) -> list[ChatResult]:
        # Started here, on the caller's thread, not in the worker thread that runs batches.
        # It blocks the loop while the model loads: nothing could be generated meanwhile anyway.
        self._load()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new asyncio.run: what the old loop left is gone
            self._loop, self._worker, self._pending = loop, None, []
        pending = []
        for request in requests:
            if request.n < 1:
                raise ConfigError(f"n must be at least 1, not {request.n}")
            pending.append(_Pending(request, loop.create_future()))
        self._pending.extend(pending)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return list(await asyncio.gather(*(item.future for item in pending)))

    async def aclose(self) -> None:
        """Shuts the engine down and frees its GPU memory (the next `generate` starts it again)."""
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._worker = None
        with self._load_lock:
            llm, self._llm = self._llm, None
        if llm is not None:
            _shut_down(llm)

    # ------------------------------------------------------------ batching

    async def _drain(self) -> None:
        # One call at a time: while it runs, new requests pile up in _pending and go
        # together into the next call.
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                results = await asyncio.to_thread(self._run, [item.request for item in batch])
            except Exception as error:
                failure = error if isinstance(error, ConfigError) else LLMError(
                    f"vLLM failed: {type(error).__name__}: {error}", endpoint="vllm", model=self.model
                )
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(failure)
                continue
            for item, result in zip(batch, results):
                if item.future.done():
                    continue
                if isinstance(result, Exception):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)

    def _run(self, requests: list[ChatRequest]) -> list[ChatResult | LLMError]:
        """One result per request: a ChatResult, or the LLMError of a prompt too long to run."""
        llm = self._load()
        results: list[ChatResult | LLMError | None] = [self._too_long(llm, request) for request in requests]
        fit = [i for i, result in enumerate(results) if result is None]
        if not fit:
            return results
        params = [self._sampling_params(requests[i]) for i in fit]
        outputs = llm.chat([list(requests[i].messages) for i in fit], params, use_tqdm=False)
        for i, output in zip(fit, outputs):
            completions = sorted(output.outputs, key=lambda o: o.index)
            choices = [Choice(o.text, o.finish_reason) for o in completions]
            self.usage.requests += 1
            self.usage.samples += len(choices)
            self.usage.prompt_tokens += len(output.prompt_token_ids or ())
            self.usage.completion_tokens += sum(len(o.token_ids) for o in completions)
            results[i] = ChatResult(request=requests[i], choices=choices)
        return results

    def _too_long(self, llm, request: ChatRequest) -> LLMError | None:
        """The error of a prompt vLLM would refuse (its length reaches `max_model_len`:
        no room for one new token), else None. vLLM checks this per request while adding
        a `LLM.chat` batch and raises for the whole batch; checked here, it fails alone."""
        limit = _max_model_len(llm)
        if limit is None:
            return None  # a vLLM whose engine does not say: let it check
        ids = llm.get_tokenizer().apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=True)
        length = len(ids["input_ids"] if hasattr(ids, "keys") else ids)
        if length < limit:
            return None
        return LLMError(
            f"the prompt has {length} tokens, max_model_len is {limit}: raise max_model_len "
            "(the model's context at most) or shorten the prompt",
            endpoint="vllm", model=self.model, reason="context_length", kind="item",
        )

    def _sampling_params(self, request: ChatRequest):
        from vllm import SamplingParams

        options = dict(
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p if request.temperature > 0 else 1.0,
            max_tokens=request.max_tokens,
            seed=request.seed,
            stop=list(request.stop) if request.stop else None,
        )
        if request.json_mode:
            options.update(_json_object_option())
        return SamplingParams(**options)

    def _load(self):
        with self._load_lock:
            if self._failed is not None:
                raise self._failed
            if self._llm is None:
                try:
                    import vllm
                except ImportError as error:
                    self._failed = ConfigError(f"the vllm backend needs vLLM ({error}): {_INSTALL}")
                    raise self._failed from None
                try:
                    self._llm = vllm.LLM(**self._engine_args)
                except Exception as error:  # out of memory, a bad model folder, a refused thread, ...
                    self._failed = LLMError(
                        f"vLLM's engine did not start: {type(error).__name__}: {error}",
                        endpoint="vllm", model=self.model, reason="engine_start",
                    )
                    raise self._failed from error
            return self._llm


def _max_model_len(llm) -> int | None:
    config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
    return getattr(config, "max_model_len", None)


def _shut_down(llm) -> None:
    """Stop vLLM's engine and give its GPU memory back. V1 runs the engine core in a child
    process: `shutdown` ends it (and its memory) now rather than at garbage collection."""
    import gc

    engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    if engine_core is not None and hasattr(engine_core, "shutdown"):
        engine_core.shutdown()
    del llm
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _json_object_option() -> dict:
    """vLLM's way to force a JSON object, which moved between releases."""
    try:  # vLLM >= 0.10
        from vllm.sampling_params import StructuredOutputsParams

        return {"structured_outputs": StructuredOutputsParams(json_object=True)}
    except ImportError:
        pass
    try:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(json_object=True)}
    except ImportError:
        return {}  # an old vLLM: the prompt asks for JSON, and the parser copes
