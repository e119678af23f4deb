"""Time limits from the oracle against one fixed limit: sandbox core-seconds and verdicts
on a realistic mix, in one run.

Run from the repository root:

    python speed/bench_limits.py                       # 300 programs, 16 tests each
    python speed/bench_limits.py --programs 1000 --floors 0.05,0.1,0.25 --factors 4,10,20
    python speed/bench_limits.py --through-filter      # the same mix through `acecoder filter`

The mix (seeded): questions whose oracle spends 0.05-20 ms of CPU per test (log-uniform);
per question 10 programs: 95% as fast as the oracle (right or wrong), 3% right but
slower by a factor uniform in 1-20x, 2% looping on every input. First the oracle runs
on every test (its CPU seconds per test, as the filter records them), then the programs
run under: the fixed limit of today (`--timeout`, 3 s), each floor x factor choice
(limit max(floor, factor x oracle), at most the fixed limit), and a generous 30 s limit
as the reference for the verdicts (the looping programs are left out of that run:
they time out under any limit, and 30 s per test would take hours).

Printed per run: sandbox core-seconds (CPU of the sandbox processes, from the engine's
children) per 1,000 programs, the ratio to the fixed limit, and the verdicts that
differ from the generous run, each listed (a slow program that a limit cut short).

`--through-filter` runs the stage instead: the mix written as questions and samples
(the oracle's among them), then `acecoder filter` as a user runs it, once with
`--limit-floor 0` (today's fixed `--timeout` on every test) and once with its defaults
(limits from the oracle), each with an empty verdict cache. Printed: the CPU of each
command's whole process tree per 1,000 programs (the oracle's phase and the
command's own start-up included, the same in both), and every sample whose pass rate
differs between the two datasets.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from acecoder.execution import Engine, ExecutionJob, limits_from_reference  # noqa: E402

GENEROUS = 30.0
TESTS = 16


def program(work: int, *, wrong: bool = False, loops: bool = False) -> str:
    if loops:
        return "def f(x):\n    while True:\n        pass\n"
    answer = "x + 1" if wrong else "x"
    return f"def f(x):\n    s = 0\n    for i in range({work} * x):\n        s += i\n    return {answer}\n"


def iterations_per_second() -> float:
    scope: dict = {}
    exec(program(1), scope)
    start = time.process_time()
    scope["f"](2_000_000)
    return 2_000_000 / (time.process_time() - start)


def workload(programs: int, seed: int) -> tuple[list[ExecutionJob], list[ExecutionJob], list[str]]:
    """(oracle jobs, program jobs, kind of each program)"""
    rng = random.Random(seed)
    rate = iterations_per_second()
    oracles, jobs, kinds = [], [], []
    tests = [f"assert f({x}) == {x}" for x in range(1, TESTS + 1)]
    for q in range(math.ceil(programs / 10)):
        per_test = math.exp(rng.uniform(math.log(0.05e-3), math.log(20e-3)))  # the oracle's seconds at the mean x
        work = max(1, int(per_test * rate / (TESTS / 2)))
        oracles.append(ExecutionJob(id=f"q{q}/oracle", program=program(work), tests=tests))
        for i in range(10):
            draw = rng.random()
            if draw < 0.02:
                kind, code = "loops", program(work, loops=True)
            elif draw < 0.05:
                kind, code = "slow", program(int(work * rng.uniform(1, 20)))
            else:
                kind, code = "light", program(work, wrong=rng.random() < 0.4)
            jobs.append(ExecutionJob(id=f"q{q}/{i}", program=code, tests=tests))
            kinds.append(kind)
    return oracles, jobs[:programs], kinds[:programs]


def run(jobs: list[ExecutionJob], *, workers: int, timeout: float):
    """(results, sandbox core-seconds): the CPU of the engine's process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Engine(workers=workers, timeout=timeout) as engine:
        results = engine.run(jobs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return results, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def through_filter(oracles: list[ExecutionJob], jobs: list[ExecutionJob], kinds: list[str], timeout: float,
                   workers: int) -> None:
    """The mix through `acecoder filter`, fixed limits against limits from the oracle."""
    kind_of = {job.id: kind for job, kind in zip(jobs, kinds)}
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as folder:
        root = Path(folder)
        with open(root / "questions.jsonl", "w") as f:
            for oracle in oracles:
                q = oracle.id.split("/")[0]
                f.write(json.dumps({"id": q, "source": "bench", "question": f"Question {q}", "tests": oracle.tests}) + "\n")
        with open(root / "samples.jsonl", "w") as f:
            for job in oracles + jobs:
                q, index = job.id.split("/")
                model, index = ("oracle", 0) if index == "oracle" else ("policy", int(index))
                f.write(json.dumps({"question_id": q, "model": model, "sample_index": index,
                                    "completion": f"```python\n{job.program}```", "program": job.program}) + "\n")
        runs = {}
        for name, extra in ((f"fixed {timeout:g} s (--limit-floor 0)", ["--limit-floor", "0"]),
                            ("limits from the oracle (defaults)", [])):
            output = root / f"dataset-{len(runs)}.jsonl"
            command = [str(Path(sys.executable).with_name("acecoder")), "filter", str(root / "questions.jsonl"),
                       str(root / "samples.jsonl"), "-o", str(output), "--oracle", "oracle", "--timeout", str(timeout),
                       "--workers", str(workers), *extra]
            env = {**os.environ, "ACECODER_CACHE": str(root / f"cache-{len(runs)}")}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            subprocess.run(command, check=True, env=env, capture_output=True)
            wall = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            core = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            with open(output) as f:
                rates = {(row["id"], inference["completion_id"]): inference["pass_rate"]
                         for row in map(json.loads, f) for inference in row["inferences"]}
            runs[name] = (core, wall, rates)
    (fixed_name, (fixed_core, _, fixed_rates)), (limited_name, (limited_core, _, limited_rates)) = runs.items()
    per_thousand = 1000 / len(jobs)
    print(f"through `acecoder filter` ({workers} workers), CPU of the command's process tree:")
    for name, (core, wall, rates) in runs.items():
        print(f"  {name:40s} {core * per_thousand:8.1f} core-s / 1,000 programs, {wall:6.1f} s wall, "
              f"{len(rates)} samples scored")
    print(f"  {fixed_core / limited_core:.1f}x fewer core-seconds with limits from the oracle")
    differ = sorted(key for key in fixed_rates if fixed_rates[key] != limited_rates.get(key))
    print(f"  samples whose pass rate differs: {len(differ)} of {len(fixed_rates)}"
          + "".join(f"\n    {q}/{i} ({kind_of.get(f'{q}/{i}', '?')}): {fixed_rates[(q, i)]:.3f} -> "
                    f"{limited_rates.get((q, i))}" for q, i in differ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=3.0, help="today's fixed limit, and the cap")
    parser.add_argument("--floors", default="0.05,0.1,0.25,0.5")
    parser.add_argument("--factors", default="4,10,20")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--through-filter", action="store_true", help="run the mix through `acecoder filter`")
    args = parser.parse_args()
    oracles, jobs, kinds = workload(args.programs, args.seed)
    print(f"{len(jobs)} programs x {TESTS} tests: " + ", ".join(f"{k} {kinds.count(k)}" for k in ("light", "slow", "loops")))
    if args.through_filter:
        through_filter(oracles, jobs, kinds, args.timeout, args.workers)
        return
    oracle_results, _ = run(oracles, workers=args.workers, timeout=GENEROUS)
    seconds = {job.id.split("/")[0]: r.test_cpu_seconds for job, r in zip(oracles, oracle_results)}
    assert all(r.all_passed for r in oracle_results)
    flat = sorted(t for r in oracle_results for t in r.test_cpu_seconds)
    print(f"oracle CPU per test: median {flat[len(flat) // 2] * 1e3:.2f} ms, max {flat[-1] * 1e3:.1f} ms")

    clean = [(j, k) for j, k in zip(jobs, kinds) if k != "loops"]
    reference, _ = run([j for j, _ in clean], workers=args.workers, timeout=GENEROUS)
    truth = {j.id: r.outcomes for (j, _), r in zip(clean, reference)}
    per_thousand = 1000 / len(jobs)

    def report(name: str, results, core_seconds: float, base: float | None) -> float:
        differ = []
        for job, kind, result in zip(jobs, kinds, results):
            expected = truth.get(job.id, ["timeout"] * TESTS)
            differ += [(job.id, kind, i) for i, (a, b) in enumerate(zip(result.outcomes, expected)) if a != b]
        ratio = f", {base / core_seconds:5.1f}x fewer than fixed" if base else ""
        share = 1 - len(differ) / (len(jobs) * TESTS)
        print(f"{name:32s} {core_seconds * per_thousand:8.1f} core-s / 1,000 programs{ratio}; "
              f"verdicts equal to the 30 s run: {share:.4%} ({len(differ)} differ"
              + (f": {differ[:6]}{' ...' if len(differ) > 6 else ''})" if differ else ")"))
        return core_seconds

    fixed, core = run(jobs, workers=args.workers, timeout=args.timeout)
    base = report(f"fixed {args.timeout:g} s", fixed, core, None)
    for floor in (float(f) for f in args.floors.split(",")):
        for factor in (float(f) for f in args.factors.split(",")):
            limited = [ExecutionJob(id=j.id, program=j.program, tests=j.tests,
                                    limits=limits_from_reference(seconds[j.id.split("/")[0]], floor=floor,
                                                                 factor=factor, cap=args.timeout))
                       for j in jobs]
            results, core = run(limited, workers=args.workers, timeout=args.timeout)
            report(f"floor {floor:g} s, factor {factor:g}", results, core, base)


if __name__ == "__main__":
    main()
