"""Local batched generation with Hugging Face transformers, on CPU or one GPU.

    from acecoder.llm import TransformersBackend, embedded_model

    llm = TransformersBackend(embedded_model("smollm2-135m"), name="smollm2-135m")
    [result] = asyncio.run(llm.generate([ChatRequest(messages=[...], n=4, temperature=0.8, seed=1)]))

Behaviour:
- the model loads on the first `generate` (in the worker thread), so building a backend is cheap;
- every request becomes `n` rows (one per sample index); concurrent `generate` calls are
  coalesced into batches of at most `batch_size` rows (the sample stage sends one request
  per call, many calls in flight), so a GPU sees full batches without the caller batching;
- rows are batched with others of the same `max_tokens`, left-padded, and run with
  `model.generate` in a worker thread (`asyncio.to_thread`): the event loop stays free;
- sampling is done row by row by `_RowSampler` with its own `torch.Generator`: sample i of a
  request with `seed` uses seed + i (as the OpenAI client asks servers for), so a sample is
  the same whatever else shares its batch, up to floating-point effects of padding; rows
  without a seed draw their generator seed from torch's global RNG (`torch.manual_seed`
  makes a whole run reproducible). temperature == 0 is greedy;
- `stop` strings end a row when its decoded text contains one; the text is cut before it;
- `json_mode` is not enforced (no constrained decoding): the prompt must ask for JSON;
- usage: prompt tokens once per request (as OpenAI counts them), completion tokens as
  generated (up to and including the end-of-turn token), one "request" per ChatRequest.

torch and transformers are imported inside the methods: `import acecoder.llm` stays light.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.errors import ConfigError
from acecoder.llm._types import ChatRequest, ChatResult, Choice, LLMError, Usage

_DTYPES = ("auto", "float32", "bfloat16", "float16")
_INSTALL = 'pip install "acecoder[local]"  (or: pip install torch==2.13.0 transformers gguf accelerate)'


@dataclass(slots=True, eq=False)
class _Row:
    """One sample to generate: sample `index` of `request`."""

    request: ChatRequest
    index: int
    future: asyncio.Future
    seed: int | None = None  # the generator seed (request.seed + index, or drawn)


@dataclass(slots=True)
class _Answer:
    choice: Choice
    prompt_tokens: int
    completion_tokens: int


@dataclass(slots=True)
class _Loaded:
    model: object
    tokenizer: object
    device: object
    eos_ids: list[int] = field(default_factory=list)


class TransformersBackend:
    """An `LLMBackend` that runs a causal LM with transformers in this process."""

    def __init__(
        self,
        model_path_or_name: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        gguf_file: str | None = None,
        cache_dir: str | Path | None = None,
        name: str | None = None,
    ):
        """
        model_path_or_name: a checkpoint folder, or a hub name already in the local HF cache.
        device: "cpu", "cuda", "cuda:N" or "auto" (cuda when available).
        dtype: "auto" (float32 on CPU, bfloat16 on GPUs that have it, else float16) or a dtype name.
        batch_size: rows (samples) per forward batch.
        gguf_file: a GGUF file inside `model_path_or_name` to load (dequantized; slow, see embedded_model).
        cache_dir: the transformers download cache, passed to from_pretrained.
        name: the model name in results and records (default: `model_path_or_name`).
        """
        if dtype not in _DTYPES:
            raise ConfigError(f"dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
        if not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
            raise ConfigError(f"device {device!r}: use cpu, cuda, cuda:N or auto")
        self.path = str(model_path_or_name)
        self.model = name or self.path
        self.device, self.dtype, self.batch_size = device, dtype, batch_size
        self.gguf_file, self.cache_dir = gguf_file, cache_dir
        self.usage = Usage()
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()
        self._pending: list[_Row] = []
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ the LLMBackend interface

    async def generate(self, requests: list[ChatRequest]) -> list[ChatResult]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new asyncio.run: what the old loop left is gone
            self._loop, self._worker, self._pending = loop, None, []
        rows_of = []
        for request in requests:
            if request.n < 1:
                raise ConfigError(f"n must be at least 1, not {request.n}")
            rows = [_Row(request, i, loop.create_future()) for i in range(request.n)]
            self._pending.extend(rows)
            rows_of.append(rows)
        self.usage.requests += len(requests)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        results = []
        for request, rows in zip(requests, rows_of):
            answers = await asyncio.gather(*(row.future for row in rows))
            results.append(ChatResult(request=request, choices=[answer.choice for answer in answers]))
        return results

    async def aclose(self) -> None:
        """Stop the batching task and free the model (and its GPU memory)."""
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for row in self._pending:
            row.future.cancel()
        self._pending, self._worker = [], None
        if self._loaded is not None:
            self._loaded = None
            gc.collect()
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    async def __aenter__(self) -> TransformersBackend:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # ------------------------------------------------------------ batching (plumbing)

    async def _drain(self) -> None:
        """Run batches while rows are pending. Rows of calls made while a batch runs join the next."""
        await asyncio.sleep(0)  # let the calls launched together enqueue before the first batch
        while True:
            self._pending = [row for row in self._pending if not row.future.done()]  # cancelled callers
            if not self._pending:
                return
            max_tokens = self._pending[0].request.max_tokens
            batch = [row for row in self._pending if row.request.max_tokens == max_tokens][: self.batch_size]
            taken = set(map(id, batch))
            self._pending = [row for row in self._pending if id(row) not in taken]
            try:
                answers = await asyncio.to_thread(self._run_batch, batch)
            except Exception as error:  # any failure goes to the callers waiting on this batch
                if not isinstance(error, (ConfigError, LLMError)):
                    error = LLMError(
                        f"generation failed: {error!r}", endpoint=self._endpoint(), model=self.model
                    )
                for row in batch:
                    if not row.future.done():
                        row.future.set_exception(error)
                continue
            for row, answer in zip(batch, answers):
                self.usage.prompt_tokens += answer.prompt_tokens
                self.usage.completion_tokens += answer.completion_tokens
                self.usage.samples += 1
                if not row.future.done():
                    row.future.set_result(answer)

    def _endpoint(self) -> str:
        return f"transformers:{self.path}"

    # ------------------------------------------------------------ loading

    def load(self) -> None:
        """Load the tokenizer and model now (generate does it on first use). Blocking."""
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()

    def _load(self) -> _Loaded:
        try:
            import torch
            import transformers
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as error:
            raise ConfigError(f"the transformers backend needs torch and transformers ({error}): {_INSTALL}")
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(
                f"device {device!r} asked for, but torch sees no GPU: use device='cpu' or 'auto'"
            )
        if self.dtype == "auto":
            if device == "cpu":
                dtype = torch.float32  # bfloat16 matmuls are slow on most CPUs
            else:
                dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = getattr(torch, self.dtype)
        options = {"cache_dir": self.cache_dir}
        if self.gguf_file:
            options["gguf_file"] = self.gguf_file
        # transformers 4.56 renamed torch_dtype to dtype (the old name warns in 5.x).
        dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.path, **options)
            model = AutoModelForCausalLM.from_pretrained(self.path, **options, **{dtype_key: dtype})
        except OSError as error:
            raise ConfigError(
                f"cannot load model {self.path!r}: {error}. Give a checkpoint folder (config.json, weights, "
                "tokenizer) or a name already in the local Hugging Face cache"
            ) from error
        if not tokenizer.chat_template:
            raise ConfigError(f"the tokenizer of {self.path!r} has no chat template: use an instruct model")
        tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        eos = model.generation_config.eos_token_id
        eos_ids = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
        if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos_ids:
            eos_ids.append(tokenizer.eos_token_id)
        if not eos_ids:
            raise ConfigError(f"model {self.path!r} names no end-of-sequence token")
        model.to(device)
        model.eval()
        return _Loaded(model=model, tokenizer=tokenizer, device=torch.device(device), eos_ids=eos_ids)

    # ------------------------------------------------------------ one batch (worker thread)

    def _run_batch(self, batch: list[_Row]) -> list[_Answer]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        self.load()
        loaded = self._loaded
        tokenizer, model = loaded.tokenizer, loaded.model
        for row in batch:
            if row.request.temperature > 0:
                # Drawn here, in batch order, so torch.manual_seed before a run fixes every sample.
                row.seed = (
                    row.request.seed + row.index
                    if row.request.seed is not None
                    else int(torch.randint(0, 2**62, (1,)).item())
                )
        prompts = [
            tokenizer.apply_chat_template(
                list(row.request.messages), tokenize=False, add_generation_prompt=True
            )
            for row in batch
        ]
        # The template already holds the special tokens it wants (no second BOS).
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        inputs = {key: value.to(loaded.device) for key, value in inputs.items()}
        width = inputs["input_ids"].shape[1]
        sampler = _RowSampler(batch, width, loaded.device)
        stopper = _StopStrings(batch, width, tokenizer)
        config = GenerationConfig(
            max_new_tokens=batch[0].request.max_tokens,
            do_sample=False,  # _RowSampler picks the token of sampled rows; argmax then takes it
            eos_token_id=loaded.eos_ids,
            pad_token_id=tokenizer.pad_token_id,
        )
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                generation_config=config,
                logits_processor=LogitsProcessorList([sampler]),
                stopping_criteria=StoppingCriteriaList([stopper]),
            )
        new = output[:, width:].tolist()
        prompt_lengths = inputs["attention_mask"].sum(dim=1).tolist()
        answers = []
        for i, row in enumerate(batch):
            tokens = new[i]
            if i in stopper.stopped_at:
                kept = tokens[: stopper.stopped_at[i]]
                count, reason = len(kept), "stop"
            else:
                end = next((k for k, token in enumerate(tokens) if token in loaded.eos_ids), None)
                kept = tokens if end is None else tokens[:end]
                count, reason = (len(tokens), "length") if end is None else (end + 1, "stop")
            text = tokenizer.decode(kept, skip_special_tokens=True)
            for stop in row.request.stop or ():
                if stop in text:
                    text, reason = text[: text.index(stop)], "stop"
            prompt_tokens = int(prompt_lengths[i]) if row.index == 0 else 0  # once per request
            answers.append(_Answer(Choice(text, reason), prompt_tokens, count))
        return answers


class _RowSampler:
    """A logits processor that samples each row with its own generator, temperature and top_p.

    It runs under greedy decoding: for a sampled row it leaves only the drawn token
    finite, so argmax takes it; greedy rows (temperature 0) pass through unchanged.
    """

    def __init__(self, batch: list[_Row], width: int, device):
        import torch

        self.rows = [
            (
                i,
                row.request.temperature,
                row.request.top_p,
                torch.Generator(device=device).manual_seed(row.seed),
            )
            for i, row in enumerate(batch)
            if row.request.temperature > 0
        ]

    def __call__(self, input_ids, scores):
        import torch

        for i, temperature, top_p, generator in self.rows:
            probs = torch.softmax(scores[i].float() / temperature, dim=-1)
            if top_p < 1.0:
                # Nucleus: the smallest set of most likely tokens whose mass reaches top_p.
                sorted_probs, order = torch.sort(probs, descending=True)
                outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= top_p
                sorted_probs[outside] = 0.0
                probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
            token = torch.multinomial(probs, 1, generator=generator)
            chosen = scores[i, token].clone()
            scores[i] = float("-inf")
            scores[i, token] = chosen if torch.isfinite(chosen).all() else 0.0
        return scores


class _StopStrings:
    """A stopping criterion: row i ends once its new text contains one of its request's stop strings."""

    def __init__(self, batch: list[_Row], width: int, tokenizer):
        self.width, self.tokenizer = width, tokenizer
        self.stops = {i: tuple(row.request.stop) for i, row in enumerate(batch) if row.request.stop}
        # Enough trailing tokens to hold the longest stop string (a token is at least one character,
        # or part of one), so each step decodes a short tail, not the whole answer.
        self.tail = {i: 4 + 4 * max(map(len, stops)) for i, stops in self.stops.items()}
        self.stopped_at: dict[int, int] = {}  # row -> new tokens kept (the stop string's token included)

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        generated = input_ids.shape[1] - self.width
        if generated == 0:
            return done
        for i, stops in self.stops.items():
            if i in self.stopped_at:
                done[i] = True
                continue
            tail = self.tokenizer.decode(
                input_ids[i, -min(generated, self.tail[i]) :], skip_special_tokens=True
            )
            if any(stop in tail for stop in stops):
                self.stopped_at[i] = generated
                done[i] = True
        return done
