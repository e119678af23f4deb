"""Reward-model scoring throughput: one pair at a time vs batches, with and without length sorting.

Run from the repository root:

    python speed/bench_rm_scoring.py                          # SmolLM2-135M body, 96 programs
    python speed/bench_rm_scoring.py --model tiny --items 256 # the 2-layer test model

The same model (a classifier head on the body, random: speed does not depend on
the weights) scores the same (question, program) pairs three ways, in one process:

- one at a time: `RewardModel.score(..., batch_size=1)`, no padding at all;
- batched in input order: batches of `--batch-size` as the items come, padded to the
  longest of each batch (what a plain loop over batches does);
- batched and length-sorted: `RewardModel.score(..., batch_size=B)` (the library's way).

The programs are real-looking solutions of very different lengths (4 to 35
lines), so padding matters. Each way runs `--repeats` times, alternating,
and the best time counts (the machine is shared). The issue's target: sorted
batches at least 2x one-at-a-time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from acecoder.rm import RewardModel, encode, pair_messages


def programs(count: int, seed: int = 0) -> tuple[list[str], list[str], list[list[str]]]:
    """`count` (question, program, tests) triples with program lengths from 4 to 35 lines."""
    rng = random.Random(seed)
    questions, codes, tests = [], [], []
    for i in range(count):
        lines = rng.choice([1, 2, 4, 8, 16, 32])
        body = [f"def solve_{i}(values):", "    total = 0"]
        for j in range(lines):
            body.append(f"    total += values[{j}] * {rng.randint(1, 9)}")
        body.append("    return total")
        questions.append(f"Write solve_{i}(values) returning a weighted sum of the first items of a list of {lines} numbers.")
        codes.append("\n".join(body))
        tests.append([f"assert solve_{i}([1, 2, 3]) >= 0"])
    return questions, codes, tests


def build(model: str, folder: Path) -> Path:
    """A classifier-layout reward model on the chosen body, saved to `folder`."""
    import torch
    import transformers

    if model == "tiny":
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import conftest

        class Factory:
            def mktemp(self, name):
                path = folder / name
                path.mkdir()
                return path

        base = conftest.tiny_model.__wrapped__(Factory())
    else:
        from acecoder.llm import embedded_model

        base = embedded_model(model)
    torch.manual_seed(0)
    classifier = transformers.AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    tokenizer = transformers.AutoTokenizer.from_pretrained(base)
    classifier.config.pad_token_id = tokenizer.pad_token_id
    out = folder / "rm"
    classifier.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def unsorted(model: RewardModel, sequences: list[list[int]], batch_size: int) -> list[float]:
    import torch

    scores = []
    for start in range(0, len(sequences), batch_size):
        with torch.inference_mode():
            scores += model.forward(*model.collate(sequences[start:start + batch_size])).tolist()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="tiny, smollm2-135m or qwen2.5-coder-0.5b")
    parser.add_argument("--items", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        model = RewardModel.load(build(args.model, Path(tmp)), device="cpu", dtype="float32")
        questions, codes, tests = programs(args.items)
        sequences = [encode(model.tokenizer, pair_messages(q, p, t)) for q, p, t in zip(questions, codes, tests)]
        lengths = sorted(len(s) for s in sequences)
        print(f"model {args.model} ({sum(p.numel() for p in model.body.parameters()) / 1e6:.1f} M parameters), "
              f"{args.items} programs, tokens min/median/max {lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}, "
              f"batch {args.batch_size}, torch {torch.__version__} with {torch.get_num_threads()} threads on "
              f"{os.cpu_count()} cores ({platform.processor() or platform.machine()})")
        ways = {
            "one at a time": lambda: model.score(questions, codes, tests, batch_size=1),
            "batched, input order": lambda: unsorted(model, sequences, args.batch_size),
            "batched, length-sorted": lambda: model.score(questions, codes, tests, batch_size=args.batch_size),
        }
        model.score(questions[:4], codes[:4], tests[:4], batch_size=2)  # warm-up: first calls allocate
        best = {name: float("inf") for name in ways}
        results = {}
        for _ in range(args.repeats):
            for name, way in ways.items():
                started = time.perf_counter()
                results[name] = way()
                best[name] = min(best[name], time.perf_counter() - started)
        reference = results["one at a time"]
        for name, scores in results.items():  # the same scores whichever way (float tolerance)
            assert max(abs(a - b) for a, b in zip(scores, reference)) < 1e-3, name
        base = best["one at a time"]
        for name, seconds in best.items():
            print(f"  {name:24s} {seconds:7.2f} s  {args.items / seconds:8.1f} programs/s  {base / seconds:5.2f}x one at a time")


if __name__ == "__main__":
    main()
