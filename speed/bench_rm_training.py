"""Reward-model training throughput: `acecoder train-rm`'s trainer vs TRL's RewardTrainer used directly.

Run from the repository root:

    python speed/bench_rm_training.py                      # the tiny 2-layer Qwen2, 256 pairs
    python speed/bench_rm_training.py --model smollm2-135m --pairs 64 --max-length 512

Both sides train the same model on the same pairs with the same settings (lr, batch,
micro batch, max length, fp32 on the CPU, no gradient checkpointing, no dropout, one
epoch), in this process, alternating `--repeats` times; the best of each counts
(the machine is shared):

- ours: `acecoder.rm._train.build_trainer` (our rendering and tokenization up front,
  then TRL's RewardTrainer) and `trainer.train()`;
- TRL: `RewardTrainer` given TRL's conversational preference rows (prompt / chosen /
  rejected messages, what `acecoder pairs --format trl` writes), tokenizing them itself.

Figures: pairs per second of `trainer.train()` (the training loop alone) and of the
whole run (setup and tokenization included). The issue's target: ours no lower than TRL's.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from acecoder.prompts import chat, program_response
from acecoder.rm._train import PreferenceRow, build_trainer
from acecoder.stages.train_rm import TrainRMSettings


def preference_rows(count: int) -> list[PreferenceRow]:
    rows = []
    for i in range(count):
        good = f"def f_{i}(xs):\n    return sum(x * {i % 7 + 1} for x in xs)"
        bad = f"def f_{i}(xs):\n    total = 0\n    for x in xs[1:]:\n        total += x\n    return total * {i % 5}"
        rows.append(PreferenceRow(
            prompt=chat(f"Write f_{i}(xs) returning {i % 7 + 1} times the sum of a list.", [f"assert f_{i}([1, 2]) == {3 * (i % 7 + 1)}"]),
            chosen=[{"role": "assistant", "content": program_response(good)}],
            rejected=[{"role": "assistant", "content": program_response(bad)}],
            margin=0.5,
        ))
    return rows


def settings(args) -> TrainRMSettings:
    return TrainRMSettings(learning_rate=1e-5, batch_size=args.batch_size, micro_batch_size=args.micro_batch_size,
                           max_length=args.max_length, logging_steps=10_000, save_steps=10_000, device="cpu",
                           bf16=False, gradient_checkpointing=False, seed=0)


def ours(base: str, rows, args, out: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    trainer, _, _, _ = build_trainer(rows, model=base, output_dir=out, settings=settings(args))
    loop = time.perf_counter()
    trainer.train()
    done = time.perf_counter()
    return done - loop, done - started, len(trainer.train_dataset)


def trl_direct(base: str, rows, args, out: Path) -> tuple[float, float, int]:
    import datasets
    from trl import RewardConfig, RewardTrainer

    started = time.perf_counter()
    dataset = datasets.Dataset.from_list(
        [{"prompt": r.prompt, "chosen": r.chosen, "rejected": r.rejected} for r in rows]
    )
    config = RewardConfig(
        output_dir=str(out), learning_rate=1e-5, lr_scheduler_type="cosine", warmup_steps=0.1, num_train_epochs=1,
        per_device_train_batch_size=args.micro_batch_size,
        gradient_accumulation_steps=args.batch_size // args.micro_batch_size, max_length=args.max_length,
        bf16=False, gradient_checkpointing=False, logging_steps=10_000, save_strategy="no", report_to="none",
        seed=0, data_seed=0, use_cpu=True, dataloader_num_workers=0,
    )
    trainer = RewardTrainer(model=base, args=config, train_dataset=dataset)
    loop = time.perf_counter()
    trainer.train()
    done = time.perf_counter()
    return done - loop, done - started, len(trainer.train_dataset)


def tiny_base(folder: Path) -> str:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import conftest

    class Factory:
        def mktemp(self, name):
            path = folder / name
            path.mkdir()
            return path

    return str(conftest.tiny_model.__wrapped__(Factory()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny, smollm2-135m or a checkpoint folder")
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--micro-batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.model == "tiny":
            base = tiny_base(tmp)
        elif (Path(args.model) / "config.json").exists():
            base = args.model
        else:
            from acecoder.llm import embedded_model

            base = str(embedded_model(args.model))
        rows = preference_rows(args.pairs)
        print(f"model {args.model}, {args.pairs} pairs, batch {args.batch_size} (micro {args.micro_batch_size}), "
              f"max length {args.max_length}, torch {torch.__version__} with {torch.get_num_threads()} threads on "
              f"{os.cpu_count()} cores ({platform.processor() or platform.machine()})")
        best = {"ours (acecoder train-rm)": (float("inf"), float("inf"), 0), "TRL RewardTrainer directly": (float("inf"), float("inf"), 0)}
        for repeat in range(args.repeats):
            for name, fn in (("ours (acecoder train-rm)", ours), ("TRL RewardTrainer directly", trl_direct)):
                out = tmp / f"{repeat}-{name[:4]}"
                loop, total, pairs = fn(base, rows, args, out)
                shutil.rmtree(out, ignore_errors=True)
                best[name] = (min(best[name][0], loop), min(best[name][1], total), pairs)
        trl_loop, trl_total, _ = best["TRL RewardTrainer directly"]
        for name, (loop, total, pairs) in best.items():
            print(f"  {name:28s} train() {pairs / loop:7.2f} pairs/s ({trl_loop / loop:4.2f}x TRL)   "
                  f"whole run {pairs / total:7.2f} pairs/s ({trl_total / total:4.2f}x TRL)   [{pairs} pairs]")


if __name__ == "__main__":
    main()
