"""A reward model in any of the three checkpoint layouts, scoring in length-sorted batches.

The layouts (see `_convert.py` for moving between them) share the transformer body
(`model.*` weights) and differ in the scalar head:

- `score`: transformers' sequence classification (`score.weight` [1, hidden]): what
  `acecoder train-rm` writes (no bias) and mainline OpenRLHF's default head; a bias
  carried over from another layout is `score.bias`, which AceCoder's OpenRLHF fork
  reads too (older conversions kept it in `config.acecoder_score_bias`: added back).
- `v_head`: the released AceCodeRM checkpoints: a causal LM (`model.*`, `lm_head.*`)
  plus `v_head.summary.weight` [1, hidden] and `v_head.summary.bias` [1].
- `value_head`: an OpenRLHF head named `value_head` (`config.value_head_prefix`), with
  its bias if it has one; `config.normalize_reward` with `config.mean` / `config.std`
  standardises the score, as OpenRLHF does.

A checkpoint's prompt style (`acecoder.prompts`) is `config.acecoder_prompt_style`;
a `v_head` checkpoint without one is the released AceCodeRM: `acecodepair`.

Whatever the layout, the score is head(hidden state of the last non-padding token),
the token that ends the rendering of `_render.encode`. We run the bare transformer
(`AutoModel`) and apply the head ourselves, so one code path scores all three.
Batches are right-padded and position ids are computed from the attention mask, so
a sequence scores the same alone or in any batch (left padding works too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from acecoder._distributed import full_weights
from acecoder.errors import ConfigError
from acecoder.prompts import check_style
from acecoder.rm._render import encode, pair_messages

LAYOUTS = ("score", "v_head", "value_head")
HEAD_KEYS = {"score": "score", "v_head": "v_head.summary", "value_head": "value_head"}
DEFAULT_BATCH_SIZE = 16  # sequences per forward pass
MAX_BATCH_TOKENS = 32_768  # padded tokens per forward pass: long sequences go in smaller batches


# ---------------------------------------------------------------- checkpoint files (no torch needed)


def weight_files(path: Path) -> list[Path]:
    """The safetensors files of a checkpoint folder, in shard order."""
    index = path / "model.safetensors.index.json"
    if index.exists():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [path / name for name in names]
    files = sorted(path.glob("*.safetensors"))
    if not files:
        if (path / "pytorch_model.bin").exists() or list(path.glob("pytorch_model*.bin")):
            raise ConfigError(
                f"{path} holds .bin weights only: load and re-save it with safetensors "
                "(model.save_pretrained(..., safe_serialization=True))"
            )
        raise ConfigError(f"{path}: no model weights (*.safetensors) in this folder")
    return files


def weight_names(path: Path) -> set[str]:
    from safetensors import safe_open

    names: set[str] = set()
    for file in weight_files(path):
        with safe_open(str(file), framework="pt") as handle:
            names.update(handle.keys())
    return names


STYLE_KEY = "acecoder_prompt_style"  # in config.json: the prompt style a checkpoint was trained on


def style_of(config, layout: str) -> str:
    """The prompt style a checkpoint scores in: the one its config records, else the
    released AceCodeRM's for its `v_head` layout, else ours."""
    recorded = config.get(STYLE_KEY) if isinstance(config, dict) else getattr(config, STYLE_KEY, None)
    return recorded or ("acecodepair" if layout == "v_head" else "acecoder")


def detect_layout(path: str | Path) -> str:
    """Which head the checkpoint at `path` has: "score", "v_head" or "value_head"."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise ConfigError(f"{path}: not a model folder (no config.json)")
    names = weight_names(path)
    for layout in ("v_head", "value_head", "score"):
        if f"{HEAD_KEYS[layout]}.weight" in names:
            return layout
    raise ConfigError(
        f"{path} has no reward head (score.weight, v_head.summary.weight or value_head.weight): "
        "it is a plain language model; train one with `acecoder train-rm`"
    )


def read_tensors(path: Path, prefix: str) -> dict:
    """The tensors whose names start with `prefix`, from whichever shard holds them."""
    from safetensors import safe_open

    found = {}
    for file in weight_files(path):
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                if name.startswith(prefix):
                    found[name] = handle.get_tensor(name)
    return found


@contextmanager
def quiet_transformers():
    """Loading a body from a checkpoint with a head reports the head's keys as unused:
    expected here, so not shown."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


# ---------------------------------------------------------------- the model


class RewardModel:
    """A scalar reward for (question, program) pairs; higher is better, unbounded."""

    def __init__(self, body, head, tokenizer, *, name: str, layout: str, max_length: int = 2048,
                 offset: float = 0.0, scale: float = 1.0, style: str = "acecoder"):
        """Prefer `RewardModel.load`. `body` is a transformers base model returning
        `last_hidden_state` [batch, seq, hidden]; `head` a `torch.nn.Linear(hidden, 1)`;
        the score is (head(h) - offset) / scale (OpenRLHF's normalisation; 0 and 1
        otherwise). `style`: the prompt style it was trained on (`acecoder.prompts`)."""
        self.body, self.head, self.tokenizer = body, head, tokenizer
        self.name, self.layout, self.max_length = name, layout, max_length
        self.style = check_style(style)
        self.offset, self.scale = offset, scale
        self.truncated = 0  # sequences cut to their last max_length tokens so far

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None, dtype: str | None = None,
             max_length: int = 2048) -> RewardModel:
        """Load a checkpoint folder in any of the three layouts.

        `device`: "cuda", "cpu", ... [default: this process's current GPU when there is
        one, so each rank of a launch loads onto its own]. `dtype`:
        "bfloat16", "float16" or "float32" [default: bfloat16 on a GPU that has it,
        else float32]. `max_length`: tokens per sequence; a longer one keeps its last
        `max_length` tokens (the program's end, where the score is read).

        The model is always loaded whole, even in a process whose trainer shards its own
        model with ZeRO-3 or FSDP (`acecoder._distributed.full_weights`): it is run
        outside the trainer's engine, which alone would gather sharded weights.
        """
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = Path(path)
        layout = detect_layout(path)
        device = device or (f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu")
        if dtype is None:
            cuda_bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
            dtype = "bfloat16" if cuda_bf16 else "float32"
        if dtype not in ("bfloat16", "float16", "float32"):
            raise ConfigError(f"dtype {dtype!r}: use bfloat16, float16 or float32")
        torch_dtype = getattr(torch, dtype)

        config = AutoConfig.from_pretrained(path)
        with quiet_transformers(), full_weights():
            body = AutoModel.from_pretrained(path, dtype=torch_dtype)
        tensors = read_tensors(path, HEAD_KEYS[layout] + ".")
        weight = tensors[HEAD_KEYS[layout] + ".weight"]
        bias = tensors.get(HEAD_KEYS[layout] + ".bias")
        head = torch.nn.Linear(weight.shape[1], 1, bias=True)
        with torch.no_grad():
            head.weight.copy_(weight.float())
            head.bias.fill_(float(bias.reshape(-1)[0]) if bias is not None else 0.0)
            if layout == "score":  # a bias carried over from another layout (see _convert.py)
                head.bias.add_(float(getattr(config, "acecoder_score_bias", 0.0) or 0.0))
        offset, scale = 0.0, 1.0
        if layout == "value_head" and getattr(config, "normalize_reward", False):
            offset, scale = float(getattr(config, "mean", 0.0)), float(getattr(config, "std", 1.0))
        tokenizer = AutoTokenizer.from_pretrained(path)
        body.to(device).eval()
        head.to(device=device, dtype=torch_dtype).eval()
        return cls(body, head, tokenizer, name=path.name, layout=layout, max_length=max_length,
                   offset=offset, scale=scale, style=style_of(config, layout))

    @property
    def device(self):
        return self.head.weight.device

    # ---------------------------------------------------------------- scoring

    def score(self, questions: Sequence[str], programs: Sequence[str],
              tests: Sequence[list[str] | None] | None = None, *, batch_size: int | None = None) -> list[float]:
        """One score per (question, program), in order; `tests[i]` (optional) are
        question i's tests, of which the prompt shows the first, as in training."""
        if len(questions) != len(programs) or (tests is not None and len(tests) != len(questions)):
            raise ConfigError(
                f"score: {len(questions)} questions, {len(programs)} programs"
                + (f", {len(tests)} test lists" if tests is not None else "") + ": give one of each per item"
            )
        chats = [
            pair_messages(q, p, tests[i] if tests is not None else None, style=self.style)
            for i, (q, p) in enumerate(zip(questions, programs))
        ]
        return self.score_messages(chats, batch_size=batch_size)

    def score_messages(self, chats: Sequence[list[dict]], *, batch_size: int | None = None) -> list[float]:
        """One score per chat (message lists, the last the program's turn)."""
        return self.score_ids([encode(self.tokenizer, messages, style=self.style) for messages in chats],
                              batch_size=batch_size)

    def score_ids(self, sequences: Sequence[list[int]], *, batch_size: int | None = None) -> list[float]:
        """One score per token-id sequence. Sequences are sorted by length and cut into
        batches of at most `batch_size` sequences and MAX_BATCH_TOKENS padded tokens,
        so little compute goes to padding; scores come back in input order."""
        import torch

        batch_size = batch_size or DEFAULT_BATCH_SIZE
        if batch_size < 1:
            raise ConfigError(f"batch_size is {batch_size}: give at least 1")
        cut = []
        for ids in sequences:
            if len(ids) > self.max_length:
                self.truncated += 1
                ids = ids[-self.max_length:]
            cut.append(ids)
        order = sorted(range(len(cut)), key=lambda i: len(cut[i]))
        scores: list[float] = [math.nan] * len(cut)
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and stop - start < batch_size and (
                (stop - start + 1) * len(cut[order[stop]]) <= MAX_BATCH_TOKENS
            ):
                stop += 1
            batch = [cut[i] for i in order[start:stop]]
            with torch.inference_mode():
                values = self.forward(*self.collate(batch)).float().tolist()
            for i, value in zip(order[start:stop], values):
                scores[i] = value
            start = stop
        return scores

    def collate(self, batch: list[list[int]], *, left: bool = False):
        """(input_ids, attention_mask) [batch, longest], padded on the right (or left)."""
        import torch

        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        longest = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), longest), dtype=torch.long)
        for row, seq in enumerate(batch):
            span = slice(longest - len(seq), longest) if left else slice(0, len(seq))
            ids[row, span] = torch.tensor(seq, dtype=torch.long)
            mask[row, span] = 1
        return ids.to(self.device), mask.to(self.device)

    def forward(self, input_ids, attention_mask):
        """Scores [batch] of padded sequences: the head at each sequence's last real token."""
        # Positions count real tokens only, so left padding does not shift them.
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask,
                           position_ids=position_ids, use_cache=False).last_hidden_state
        last = last_token_index(attention_mask)
        pooled = hidden[last.new_tensor(range(len(last))), last]
        return (self.head(pooled).squeeze(-1) - self.offset) / self.scale


def last_token_index(attention_mask):
    """The index [batch] of each row's last real token (the last 1 of its mask),
    whether the batch is padded on the right or on the left."""
    width = attention_mask.shape[-1]
    return width - 1 - attention_mask.flip(-1).argmax(-1)
