"""HumanEval+ and MBPP+ judged by `acecoder eval` against EvalPlus's own `evalplus.evaluate`
(0.3.1, from requirements/upstream.txt) on the same samples, in one run: wall time of
each, and how many base and plus verdicts agree.

Run from the repository root:

    python speed/bench_evalplus.py                       # both files, every task
    python speed/bench_evalplus.py --tasks 40 --variants canonical,plus_only

Data: the HumanEval+ release-layout file of tests/conformance/data (164 tasks, 16.7 K
inputs) and the MBPP+ one acecoder ships (396 tasks, 43 K inputs). Samples: per task,
the variants of tests/conformance/evalplus_samples.py (default: the canonical solution,
a mutant, wrong-on-plus-only, floats moved within and beyond the tolerance, tuples for
lists: about 6 per task; `loops` adds a program that loops on the longest inputs and
costs each harness one time limit, 1 s or more, per such sample).

Both sides start cold: EvalPlus computes its ground truth (the canonical solution on
every input, in its own process) and acecoder its expected outputs (in its engine),
each into an empty cache; the figures say how long that share took. EvalPlus runs
`parallel` processes, each running a sample's inputs one after another in one child
process per suite; acecoder runs `workers` sandbox workers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

from evalplus_samples import evalplus_verdicts, samples_for  # noqa: E402

from acecoder.benchmarks.mbpp import SHIPPED_PLUS  # noqa: E402
from acecoder.stages.eval import EvalSettings, run  # noqa: E402

FILES = {"humaneval": ROOT / "tests" / "conformance" / "data" / "HumanEvalPlus-reconstructed.jsonl.gz",
         "mbpp": SHIPPED_PLUS}
DEFAULT_VARIANTS = "canonical,flip,plus_only,near,far,retype"


def bench(dataset: str, tasks: int | None, variants: set[str], workers: int, folder: Path) -> dict:
    with gzip.open(FILES[dataset], "rt") as handle:
        rows = [json.loads(line) for line in handle][:tasks]
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = [(r["task_id"], code) for r in rows for v, code in samples_for(r).items() if v in variants]

    clock = time.monotonic()
    theirs, printed = evalplus_verdicts(dataset, data, [{"task_id": t, "solution": c} for t, c in samples], folder)
    theirs_seconds = time.monotonic() - clock
    truth_line = next((line for line in printed.splitlines() if "Expected outputs computed" in line), "")

    index: dict[str, int] = {}
    records = []
    for task, code in samples:
        records.append({"question_id": task, "model": "m", "sample_index": index.setdefault(task, 0),
                        "completion": code, "program": code})
        index[task] += 1
    (folder / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in records))
    name = "humaneval+" if dataset == "humaneval" else "mbpp+"
    os.environ["ACECODER_CACHE"] = str(folder / "acecoder-cache")
    os.environ["ACECODER_VERDICTS"] = "0"  # judge every sample now, as EvalPlus does
    clock = time.monotonic()
    summary = run(folder / "eval", settings=EvalSettings(benchmarks=[name], paths={name: str(data)}, k=[1],
                                                         workers=workers), samples_path=folder / "samples.jsonl")
    ours_seconds = time.monotonic() - clock
    ours = {}
    for line in (folder / "eval" / "executions.jsonl").read_text().splitlines():
        row = json.loads(line)
        ours[(row["question_id"], row["sample_index"])] = (row["correct_base"], row["correct"])
    differ = [key for key in ours if ours[key] != theirs.get(key)]
    return {
        "benchmark": name, "tasks": len(rows), "samples": len(records), "differ": differ,
        "evalplus_s": theirs_seconds, "evalplus_truth": truth_line.strip(),
        "acecoder_s": ours_seconds, "acecoder_truth_s": ours_seconds - summary.seconds_execution - summary.seconds_scoring,
        "pass@1": summary.benchmarks[name]["pass@k"]["1"], "base pass@1": summary.benchmarks[f"{name}/base"]["pass@k"]["1"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="humaneval,mbpp")
    parser.add_argument("--tasks", type=int, default=None, help="the first N tasks of each file")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS)
    parser.add_argument("--workers", type=int, default=2, help="acecoder's workers and EvalPlus's parallel (it uses 2)")
    args = parser.parse_args()
    variants = set(args.variants.split(","))
    print(f"variants: {', '.join(sorted(variants))}; {os.cpu_count()} CPUs")
    for dataset in args.datasets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            r = bench(dataset, args.tasks, variants, args.workers, Path(tmp))
        print(f"\n{r['benchmark']}: {r['tasks']} tasks, {r['samples']} samples")
        print(f"  evalplus.evaluate  {r['evalplus_s']:7.1f} s   ({r['evalplus_truth'] or 'ground truth: see its output'})")
        print(f"  acecoder eval      {r['acecoder_s']:7.1f} s   (expected outputs and loading {r['acecoder_truth_s']:.1f} s)"
              f"   {r['evalplus_s'] / r['acecoder_s']:.2f}x evalplus")
        print(f"  verdicts (base, plus) that differ: {len(r['differ'])} of {r['samples']}"
              + (f": {sorted({k[0] for k in r['differ']})}" if r["differ"] else ""))
        print(f"  pass@1: plus {r['pass@1']:.4f}, base {r['base pass@1']:.4f}")
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
