"""Stage `train-rm`: a Bradley-Terry reward model from preference pairs.

Input: pairs in our `Pair` format (what `acecoder pairs` writes by default) or in
TRL's preference format (`prompt` / `chosen` / `rejected` message lists, optional
`margin`: `acecoder pairs --format trl` or `openrlhf`), as .jsonl, .parquet or a
datasets folder. Base: a causal LM checkpoint folder (an instruct coder model in the
method), or `smollm2-135m` / `qwen2.5-coder-0.5b` (the project's embedded models).

Defaults are the method's recipe (ACECODER §3.3 and its release): full fine-tuning,
lr 1e-5, cosine schedule with 10% warm-up, one epoch, effective batch 128, max
length 2,048 tokens, bf16 where the hardware has it, 0.5% of pairs held out.
Training runs on TRL's RewardTrainer (`acecoder.rm._train`); for several GPUs or
nodes, launch the same command with `accelerate launch --config_file
configs/accelerate/zero3.yaml -m acecoder.cli train-rm ...`.

OUT_DIR afterwards holds:

- the final model in transformers' sequence-classification layout (config.json,
  model.safetensors, tokenizer files): `RewardModel.load(OUT_DIR)` and
  `AutoModelForSequenceClassification.from_pretrained(OUT_DIR)` both load it;
- `checkpoint-STEP/` folders (the last two): running the same command again after a
  kill resumes from the last one;
- `metrics.jsonl`, one JSON object per logging step:
  `{"step": int, "epoch": float, "loss": float, "accuracy": float (share of the
  step's pairs with r+ > r-), "margin": float (mean r+ - r-), "learning_rate":
  float, "grad_norm": float|null, "mean_reward": float|null, "pairs_per_second":
  float|null (pairs trained per second since the previous line; null on the first
  line after a resume)}`;
- `eval.json`, the held-out pairs scored by the final model through `RewardModel`:
  `{"pairs": int, "accuracy": float|null (share with r+ > r-; ties count as wrong),
  "mean_margin": float|null (mean r+ - r-), "loss": float|null (mean -log
  sigmoid(r+ - r-)), "train_pairs": int, "dropped_long": int, "steps": int,
  "seconds": float, "pairs_per_second": float, "base_model": str, "settings":
  {every TrainRMSettings field}}` (nulls when nothing is held out);
- `runs/` with TensorBoard event files when `tensorboard` is on.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import NotRequired, TypedDict  # pydantic needs this TypedDict before Python 3.12

from acecoder._distributed import gather_floats, rank_and_world
from acecoder.data.files import write_atomic
from acecoder.data.tables import read_records
from acecoder.errors import ConfigError, InputError
from acecoder.prompts import chat, check_style, program_response
from acecoder.records import Pair
from acecoder.rm._train import PreferenceRow


@dataclass(kw_only=True)
class TrainRMSettings:
    learning_rate: float = 1e-5
    """Peak learning rate (the method: 1e-5 for full fine-tuning; LoRA wants ~1e-4)."""
    lr_scheduler: str = "cosine"
    """transformers scheduler name (the method: cosine)."""
    warmup_ratio: float = 0.1
    """Share of the steps spent warming up linearly (the method: 10%)."""
    epochs: float = 1.0
    """Passes over the training pairs (the method: 1)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides epochs); None trains the epochs."""
    batch_size: int = 128
    """Effective batch: pairs per optimizer step over all processes (the method: 128)."""
    micro_batch_size: int = 1
    """Pairs per process per forward pass; gradient accumulation makes up the rest."""
    max_length: int = 2048
    """Tokens per rendered (prompt, program); longer pairs are left out (the method: 2,048)."""
    prompt_style: str = "acecoder"
    """How a (question, program) pair is shown: acecoder (ours) or acecodepair (the released AceCodePair-300K and AceCodeRM); recorded in the model's config.json, which scoring follows."""
    margin_scale: float = 0.0
    """>0 adds a margin term: -log sigmoid(r+ - r- - margin_scale * pass-rate gap) (TRL/OpenRLHF style; the RL fork used 3)."""
    center_rewards: float = 0.0
    """>0 adds center_rewards * mean((r+ + r-)^2), keeping scores near 0 (TRL's center_rewards_coefficient)."""
    eval_fraction: float = 0.005
    """Share of pairs held out for validation, whole questions at a time (the method: 0.5%)."""
    bf16: bool | None = None
    """bfloat16 mixed precision; None: on when the GPU has it (the method trained in bf16)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, ~30% slower (on for 7B models)."""
    lora_rank: int = 0
    """>0 trains LoRA adapters of this rank (peft) instead of all weights, merged at the end."""
    lora_alpha: int = 32
    """LoRA scaling numerator."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA path."""
    logging_steps: int = 10
    """Optimizer steps between metrics.jsonl lines."""
    save_steps: int = 200
    """Optimizer steps between resumable checkpoints (the last two are kept)."""
    tensorboard: bool = False
    """Also log to TensorBoard under OUT_DIR/runs."""
    seed: int = 42
    """Seeds the held-out split, the head's initialisation and the data order."""
    device: str | None = None
    """"cpu" forces the CPU; None lets the trainer pick (GPU when there is one)."""

    def check(self) -> None:
        check_style(self.prompt_style)
        positive = ("learning_rate", "epochs", "batch_size", "micro_batch_size", "max_length", "logging_steps", "save_steps")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} is {getattr(self, name)}: give a positive value")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"warmup_ratio is {self.warmup_ratio}: give a share in [0, 1)")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ConfigError(f"eval_fraction is {self.eval_fraction}: give a share in [0, 1)")
        for name in ("margin_scale", "center_rewards", "lora_rank"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} is {getattr(self, name)}: give 0 (off) or more")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps is {self.max_steps}: give at least 1, or none for the epochs")


@dataclass(kw_only=True)
class TrainRMSummary:
    pairs: int = 0  # pairs read
    train_pairs: int = 0  # trained on
    eval_pairs: int = 0  # held out
    dropped_long: int = 0
    format: str = ""  # "pairs" or "trl"
    steps: int = 0
    resumed_from: int | None = None
    loss: float | None = None  # last logged training loss
    eval_accuracy: float | None = None
    eval_margin: float | None = None
    pairs_per_second: float = 0.0
    output: str = ""
    seconds: float = 0.0
    eval: dict = field(default_factory=dict)


class _Message(TypedDict):
    role: str
    content: str


class _TrlRow(TypedDict):
    """A row of TRL's explicit-prompt conversational preference format."""

    prompt: list[_Message]
    chosen: list[_Message]
    rejected: list[_Message]
    margin: NotRequired[float | None]


# ---------------------------------------------------------------- reading


def read_pairs(path: str | Path, *, style: str = "acecoder") -> tuple[list[PreferenceRow], list[str], str]:
    """(rows, group of each row, format): our Pair records (rendered in prompt `style`)
    or TRL rows (already rendered: used as they are), told apart by the first row's
    fields; a bad row is an InputError naming its file and line."""
    first = next(iter(read_records(path, dict)), None)
    if first is None:
        raise InputError("no pairs in this file", path=str(path))
    if "question" in first:
        rows, groups = [], []
        for pair in read_records(path, Pair):
            rows.append(PreferenceRow(
                prompt=chat(pair.question, pair.tests, style=style),
                chosen=[{"role": "assistant", "content": program_response(pair.chosen, style=style)}],
                rejected=[{"role": "assistant", "content": program_response(pair.rejected, style=style)}],
                margin=pair.margin,
            ))
            groups.append(pair.question_id)
        return rows, groups, "pairs"
    if {"prompt", "chosen", "rejected"} <= set(first):
        rows, groups = [], []
        for row in read_records(path, _TrlRow):
            rows.append(PreferenceRow(prompt=list(row["prompt"]), chosen=list(row["chosen"]),
                                      rejected=list(row["rejected"]), margin=row.get("margin")))
            groups.append(json.dumps(row["prompt"], sort_keys=True))  # same prompt, same question
        return rows, groups, "trl"
    raise InputError(
        f"line 1 has fields {sorted(first)}: expected Pair records (question, chosen, rejected, ...) "
        "or TRL rows (prompt, chosen, rejected)",
        path=str(path),
    )


def split(groups: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) row indices: whole questions are held out, in a seeded random
    order, until at least `fraction` of the pairs (and at least one, when fraction > 0
    and there are two questions or more) are held out. Holding out by question keeps a
    question's programs from being on both sides."""
    by_group: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        by_group.setdefault(group, []).append(index)
    if fraction <= 0 or len(by_group) < 2:
        return list(range(len(groups))), []
    names = sorted(by_group)
    random.Random(seed).shuffle(names)
    wanted = max(1, math.ceil(fraction * len(groups)))
    held: list[int] = []
    for name in names[:-1]:  # never all of them
        if len(held) >= wanted:
            break
        held.extend(by_group[name])
    held_set = set(held)
    return [i for i in range(len(groups)) if i not in held_set], sorted(held)


# ---------------------------------------------------------------- the stage


def run(pairs_path: str | Path, output_dir: str | Path, *, model: str, settings: TrainRMSettings,
        progress=None) -> TrainRMSummary:
    """Train on `pairs_path`, write OUT_DIR (see the module docstring); rerunning with
    the same `output_dir` after a kill resumes from its last checkpoint."""
    from acecoder.rm._train import train

    settings.check()
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"output {output_dir} is a file: name a folder")
    base = _base_model(model)
    started = time.monotonic()
    rows, groups, format = read_pairs(pairs_path, style=settings.prompt_style)
    train_index, eval_index = split(groups, settings.eval_fraction, settings.seed)
    if not train_index:
        raise ConfigError("no pairs left to train on after holding out: lower eval_fraction")

    result = train([rows[i] for i in train_index], model=base, output_dir=output_dir,
                   settings=settings, progress=progress)
    summary = TrainRMSummary(
        pairs=len(rows), train_pairs=result.pairs, eval_pairs=len(eval_index), dropped_long=result.dropped_long,
        format=format, steps=result.steps, resumed_from=result.resumed_from, loss=result.loss,
        pairs_per_second=result.pairs_per_second, output=str(output_dir),
    )
    # Every process scores its share of the held-out pairs and the main one writes the
    # report: no process loads a model alone while the others have left (under ZeRO-3
    # that load waited for them until the NCCL timeout).
    held = [rows[i] for i in eval_index]
    evaluation = evaluate(output_dir, held, max_length=settings.max_length)
    summary.seconds = time.monotonic() - started
    if rank_and_world()[0] != 0:  # one process writes the report
        return summary
    evaluation.update(
        train_pairs=result.pairs, dropped_long=result.dropped_long, steps=result.steps,
        seconds=round(summary.seconds, 3), pairs_per_second=result.pairs_per_second, base_model=str(model),
        settings=dataclasses.asdict(settings),
    )
    write_atomic(output_dir / "eval.json", json.dumps(evaluation, indent=2) + "\n")
    summary.eval_accuracy, summary.eval_margin, summary.eval = evaluation["accuracy"], evaluation["mean_margin"], evaluation
    return summary


def evaluate(model_dir: Path, rows: list[PreferenceRow], *, max_length: int) -> dict:
    """Held-out pairwise accuracy, mean margin and BT loss of the model at `model_dir`.

    Under a launch of several processes every process must call it: each loads the whole
    model (`RewardModel.load` never shards) and scores every world-th pair; the margins
    are gathered back into the pairs' order, so the numbers are those of one process."""
    if not rows:
        return {"pairs": 0, "accuracy": None, "mean_margin": None, "loss": None}
    from acecoder.rm._model import RewardModel

    rank, world = rank_and_world()
    mine = rows[rank::world]
    reward_model = RewardModel.load(model_dir, max_length=max_length)
    chosen = reward_model.score_messages([row.prompt + row.chosen for row in mine])
    rejected = reward_model.score_messages([row.prompt + row.rejected for row in mine])
    shares = gather_floats([c - r for c, r in zip(chosen, rejected)])
    gaps = [shares[i % world][i // world] for i in range(len(rows))]  # back in the pairs' order
    loss = sum(math.log1p(math.exp(-g)) if g > -30 else -g for g in gaps) / len(gaps)  # -log sigmoid(g)
    return {
        "pairs": len(rows),
        "accuracy": sum(g > 0 for g in gaps) / len(gaps),
        "mean_margin": sum(gaps) / len(gaps),
        "loss": loss,
    }


def _base_model(model: str) -> str:
    """An embedded model's name, a checkpoint folder or a hub name (acecoder.llm.resolve_model)."""
    from acecoder.llm import resolve_model

    return resolve_model(model, what="base model")
