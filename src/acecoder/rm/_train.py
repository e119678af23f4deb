"""Bradley-Terry training on TRL's RewardTrainer, with what it lacks added around it.

TRL 1.16's `RewardTrainer` already does the method's loss: the model is
`AutoModelForSequenceClassification(num_labels=1)`, whose score is read at the last
token that is not the pad token, chosen and rejected sequences go through one
forward pass, and the loss is -log sigmoid(r+ - r- - margin) (the `margin` column,
optional) + `center_rewards_coefficient` * mean((r+ + r-)^2). Its engine is
transformers' Trainer, so `accelerate launch` with a DeepSpeed or FSDP config scales
it past one GPU with no code here. We add, by hand, only:

- tokenization through `_render.encode` (the one rendering that scoring uses), done
  before the trainer sees the data; pairs longer than `max_length` are dropped and
  counted (TRL would drop them silently);
- a pad token that never ends a sequence: the classifier finds the score position
  as the last non-pad token, so a pad token equal to a sequence's last token (the
  end-of-turn token doubling as pad, in some tokenizers) would move the score off
  the end that `RewardModel` reads;
- `metrics.jsonl` and the progress callback, resume from the last checkpoint, and
  LoRA adapters merged into a full checkpoint at the end (so every consumer loads
  one layout).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from acecoder._distributed import barrier, full_weights
from acecoder._transformers_args import warmup
from acecoder.data.files import write_atomic
from acecoder.errors import ConfigError
from acecoder.rm._render import encode


@dataclass(kw_only=True)
class PreferenceRow:
    """One preference as chats: the prompt messages and each program's assistant turn."""

    prompt: list[dict]
    chosen: list[dict]
    rejected: list[dict]
    margin: float | None = None  # the pass-rate gap, if known


@dataclass(kw_only=True)
class TrainResult:
    steps: int
    pairs: int  # pairs trained on (after dropping long ones)
    dropped_long: int  # pairs over max_length, left out
    resumed_from: int | None  # the checkpoint step a run resumed from
    seconds: float
    pairs_per_second: float
    loss: float | None  # the last logged training loss
    accuracy: float | None
    margin: float | None
    pad_token: str


def tokenize(tokenizer, rows: Sequence[PreferenceRow], *, max_length: int, margin_scale: float,
             style: str = "acecoder"):
    """(columns for a datasets.Dataset, dropped count): chosen_ids, rejected_ids and,
    with margin_scale > 0, margin = margin_scale * pass-rate gap."""
    chosen_ids, rejected_ids, margins, dropped = [], [], [], 0
    for row in rows:
        chosen = encode(tokenizer, row.prompt + row.chosen, style=style)
        rejected = encode(tokenizer, row.prompt + row.rejected, style=style)
        if len(chosen) > max_length or len(rejected) > max_length:
            dropped += 1
            continue
        chosen_ids.append(chosen)
        rejected_ids.append(rejected)
        margins.append(margin_scale * (row.margin or 0.0))
    columns = {"chosen_ids": chosen_ids, "rejected_ids": rejected_ids}
    if margin_scale > 0:
        columns["margin"] = margins
    return columns, dropped


def _record_style(folder: Path, style: str) -> None:
    from acecoder.rm._model import STYLE_KEY

    config = json.loads((folder / "config.json").read_text())
    config[STYLE_KEY] = style
    write_atomic(folder / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")


def choose_pad_token(tokenizer, sequences: Sequence[list[int]]) -> str:
    """The tokenizer's pad token unless some sequence ends with it; then the first
    special token that ends none."""
    last = {ids[-1] for ids in sequences if ids}
    candidates = [tokenizer.pad_token, "<|endoftext|>", tokenizer.unk_token, tokenizer.bos_token,
                  *tokenizer.all_special_tokens, tokenizer.eos_token]
    vocab = tokenizer.get_vocab()
    for token in candidates:
        if token and token in vocab and vocab[token] not in last:
            return token
    raise ConfigError("every special token of the tokenizer ends some sequence: no safe pad token; add one")


def build_trainer(
    rows: Sequence[PreferenceRow],
    *,
    model: str,
    output_dir: Path,
    settings,
    progress=None,
):
    """(TRL RewardTrainer ready to train `model` on `rows`, pairs dropped as too long,
    the metrics logger, the checkpoint to resume from or None). `settings` is a
    `acecoder.stages.train_rm.TrainRMSettings`."""
    import datasets
    import torch
    from transformers import AutoTokenizer, PrinterCallback, TrainerCallback
    from transformers.trainer_utils import get_last_checkpoint
    from trl import RewardConfig, RewardTrainer

    from acecoder.llm._models import loading

    with loading(model, what="base model"):  # the first file fetched: a hub that cannot serve it says so here
        tokenizer = AutoTokenizer.from_pretrained(model)
    columns, dropped = tokenize(tokenizer, rows, max_length=settings.max_length, margin_scale=settings.margin_scale,
                                style=settings.prompt_style)
    if not columns["chosen_ids"]:
        raise ConfigError(
            f"no pair fits max_length {settings.max_length} tokens ({dropped} dropped): raise --max-length"
        )
    tokenizer.pad_token = choose_pad_token(tokenizer, columns["chosen_ids"] + columns["rejected_ids"])
    dataset = datasets.Dataset.from_dict(columns)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = settings.micro_batch_size * world
    if settings.batch_size % per_step:
        raise ConfigError(
            f"batch_size {settings.batch_size} is not a multiple of micro_batch_size {settings.micro_batch_size}"
            f" x {world} processes: change one of them"
        )
    bf16 = settings.bf16
    if bf16 is None:  # bf16 where the hardware has it (the method trained in bf16)
        bf16 = settings.device != "cpu" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()

    output_dir.mkdir(parents=True, exist_ok=True)
    last = get_last_checkpoint(str(output_dir))
    metrics_path = output_dir / "metrics.jsonl"
    _keep_metrics_until(metrics_path, _step_of(last))

    args = RewardConfig(
        # TRL's own defaults are gradient checkpointing and bf16 on: both set here
        gradient_checkpointing=settings.gradient_checkpointing,
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler,
        **warmup(settings.warmup_ratio),  # a share of the steps, however this transformers spells it
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        per_device_train_batch_size=settings.micro_batch_size,
        gradient_accumulation_steps=settings.batch_size // per_step,
        max_length=settings.max_length,
        center_rewards_coefficient=settings.center_rewards or None,
        bf16=bf16,
        logging_steps=settings.logging_steps,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=2,
        report_to=["tensorboard"] if settings.tensorboard else "none",
        seed=settings.seed,
        data_seed=settings.seed,
        disable_tqdm=progress is not None,
        dataloader_num_workers=0,
        use_cpu=settings.device == "cpu",
    )
    peft_config = None
    if settings.lora_rank:
        from peft import LoraConfig

        # SEQ_CLS keeps the new score head fully trainable (peft adds it to modules_to_save).
        peft_config = LoraConfig(
            task_type="SEQ_CLS", r=settings.lora_rank, lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout, target_modules="all-linear",
        )
    logger = _MetricsLog(metrics_path, effective_batch=settings.batch_size, pairs=len(dataset), progress=progress)
    trainer = RewardTrainer(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
        peft_config=peft_config, callbacks=[_callback(TrainerCallback, logger)],
    )
    if progress is not None:  # our bar and metrics.jsonl report; its printer would put dicts on the terminal
        trainer.remove_callback(PrinterCallback)
    return trainer, dropped, logger, last


def train(
    rows: Sequence[PreferenceRow],
    *,
    model: str,
    output_dir: Path,
    settings,
    progress=None,
) -> TrainResult:
    """Train `model` (a causal LM or classifier checkpoint folder) on `rows`; write the
    final classifier to `output_dir`, checkpoints under it, `metrics.jsonl` beside.
    A run finding checkpoints in `output_dir` resumes from the last."""
    started = time.monotonic()
    trainer, dropped, logger, last = build_trainer(
        rows, model=model, output_dir=output_dir, settings=settings, progress=progress
    )
    trainer.train(resume_from_checkpoint=last)

    # The final checkpoint, in transformers' classification layout with full weights.
    # save_model gathers weights that ZeRO-3 or FSDP sharded (every process must call it).
    # LoRA: the adapters are saved that way, then merged from the files on one process;
    # merge_and_unload on the trainer's own model would add to sharded weights (empty on
    # each rank under ZeRO-3) and save an empty checkpoint without a word.
    if settings.lora_rank:
        adapter = output_dir / "adapter"
        trainer.save_model(str(adapter))
    else:
        trainer.save_model(str(output_dir))
    result = TrainResult(
        steps=trainer.state.global_step, pairs=len(trainer.train_dataset), dropped_long=dropped,
        resumed_from=_step_of(last) or None, seconds=time.monotonic() - started,
        pairs_per_second=logger.pairs_per_second(), loss=logger.last.get("loss"),
        accuracy=logger.last.get("accuracy"), margin=logger.last.get("margin"),
        pad_token=trainer.processing_class.pad_token,
    )
    tokenizer, main = trainer.processing_class, trainer.is_world_process_zero()
    _free(trainer)  # the optimizer state and the sharded model go before any whole model loads
    if main:
        if settings.lora_rank:
            _merge_adapter(model, adapter, output_dir, tokenizer)
        _check_saved(output_dir)
        _record_style(output_dir, settings.prompt_style)  # the style scoring renders in (RewardModel.load)
    barrier()  # the other processes read the final model only once it is whole
    return result


def _free(trainer) -> None:
    import gc

    import torch

    trainer.accelerator.free_memory()
    trainer.model = trainer.model_wrapped = trainer.optimizer = trainer.lr_scheduler = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _merge_adapter(base: str, adapter: Path, output_dir: Path, tokenizer) -> None:
    """Merge the saved LoRA adapters into a fresh, whole copy of the base classifier (in
    float32, as RewardTrainer trained it) and save it to `output_dir`."""
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    with full_weights():  # this process alone: no sharded load waiting for the others
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=torch.float32)
        model.config.pad_token_id = tokenizer.pad_token_id
        merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    shutil.rmtree(adapter)  # one layout in OUT_DIR: the merged model


def _check_saved(folder: Path) -> None:
    """A final checkpoint with empty tensors is what ZeRO-3 saves when it is not told to
    gather the weights at save: refuse it here, not at the first load."""
    from safetensors import safe_open

    from acecoder.rm._model import weight_files

    for file in weight_files(folder):
        with safe_open(str(file), framework="pt") as handle:
            empty = [name for name in handle.keys() if 0 in handle.get_slice(name).get_shape()]
        if empty:
            raise ConfigError(
                f"{folder}: the saved model has empty weights ({empty[0]}, ...): under DeepSpeed ZeRO-3 set "
                "zero3_save_16bit_model: true (stage3_gather_16bit_weights_on_model_save) in the accelerate config"
            )


def _step_of(checkpoint: str | None) -> int:
    return int(Path(checkpoint).name.split("-")[-1]) if checkpoint else 0


# ---------------------------------------------------------------- plumbing: metrics and progress


class _MetricsLog:
    """Writes one metrics.jsonl line per logging step (main process only) and drives
    the progress bar."""

    FIELDS = ("loss", "accuracy", "margin", "learning_rate", "grad_norm", "mean_reward")

    def __init__(self, path: Path, *, effective_batch: int, pairs: int, progress):
        self.path, self.effective_batch, self.progress = path, effective_batch, progress
        self.pairs = pairs
        self.last: dict = {}
        self._mark: tuple[float, int] | None = None
        self._timed = (0.0, 0)  # seconds, steps measured (from this run's first step on)

    def begin(self, state) -> None:
        if self.progress is not None:
            self.progress.total(state.max_steps)
            for _ in range(state.global_step):  # a resumed run starts where it stopped
                self.progress.advance(None)
        self._mark = (time.monotonic(), state.global_step)

    def step(self, state) -> None:
        if self.progress is not None:
            self.progress.advance(None)

    def log(self, state, logs: dict) -> None:
        if "loss" not in logs or not state.is_world_process_zero:
            return
        now = time.monotonic()
        since, step0 = self._mark or (now, state.global_step)
        done = self._pairs_done(state.global_step) - self._pairs_done(step0)
        rate = done / (now - since) if now > since and done else None
        seconds, counted = self._timed
        self._timed = (seconds + (now - since), counted + done)
        self._mark = (now, state.global_step)
        row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 6)}
        row.update({key: _number(logs.get(key)) for key in self.FIELDS})
        row["pairs_per_second"] = rate
        self.last = row
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def _pairs_done(self, step: int) -> int:
        """Pairs trained after `step` optimizer steps (an epoch's last batch may be short)."""
        per_epoch = max(1, math.ceil(self.pairs / self.effective_batch))
        epochs, rest = divmod(step, per_epoch)
        return epochs * self.pairs + min(rest * self.effective_batch, self.pairs)

    def pairs_per_second(self) -> float:
        seconds, pairs = self._timed
        return pairs / seconds if seconds > 0 else 0.0


def _callback(base, log: _MetricsLog):
    class Callback(base):
        def on_train_begin(self, args, state, control, **kwargs):
            log.begin(state)

        def on_step_end(self, args, state, control, **kwargs):
            log.step(state)

        def on_log(self, args, state, control, logs=None, **kwargs):
            log.log(state, logs or {})

    return Callback()


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _keep_metrics_until(path: Path, step: int) -> None:
    """On resume, drop metric lines logged after the checkpoint (they will be logged again)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    write_atomic(path, "".join(item + "\n" for item in kept))
