"""Verdicts that do not follow the load: the same CPU-bound workload on an idle machine
and on one with more sandbox workers than cores and busy loops beside them.

Run from the repository root:

    python speed/bench_load.py                  # 48 programs x 3 tests of ~0.45 s CPU, 1 s limit
    python speed/bench_load.py --busy 6 --workers 8 --rounds 3

The workload (as in the issue that asked for CPU-time limits): 48 programs whose 3
tests each burn about 0.45 s of CPU (calibrated here first), `timeout=1.0`. Run once
with 2 workers on the idle machine, then `--rounds` times with `--workers` workers and
`--busy` processes spinning beside them on the same cores. With wall-clock limits,
the earlier engine flipped 2-19 of the 144 verdicts with 8 workers and 2 busy loops,
and all 144 with 6. Printed: verdicts that differ from the idle run, each test's CPU
and wall seconds (median, max), and the wall time of each run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from acecoder.execution import Engine, ExecutionJob  # noqa: E402

PROGRAM = "def burn(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return n\n"


def calibrate(cpu_seconds: float) -> int:
    """Loop iterations that take `cpu_seconds` of CPU here."""
    scope: dict = {}
    exec(PROGRAM, scope)
    n, spent = 100_000, 0.0
    while spent < 0.2:
        start = time.process_time()
        scope["burn"](n)
        spent = time.process_time() - start
        n *= 2
    return int(n / 2 * cpu_seconds / spent)


def spin() -> None:
    while True:
        pass


def run(jobs, workers: int, timeout: float):
    started = time.monotonic()
    with Engine(workers=workers, timeout=timeout) as engine:
        results = engine.run(jobs)
    return results, time.monotonic() - started


def describe(results) -> str:
    cpu = [c for r in results for c in r.test_cpu_seconds]
    wall = [w for r in results for w in r.test_wall_seconds]
    return (f"test CPU median {statistics.median(cpu):.2f} s (max {max(cpu):.2f}), "
            f"wall median {statistics.median(wall):.2f} s (max {max(wall):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=48)
    parser.add_argument("--cpu", type=float, default=0.45, help="CPU seconds each test burns")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--busy", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    n = calibrate(args.cpu)
    jobs = [ExecutionJob(id=str(i), program=PROGRAM, tests=[f"assert burn({n + i * 7 + t}) == {n + i * 7 + t}" for t in range(3)])
            for i in range(args.programs)]
    tests = sum(len(j.tests) for j in jobs)
    print(f"{os.cpu_count()} CPUs; {args.programs} programs x 3 tests of ~{args.cpu} s CPU ({n:,} iterations); "
          f"limit {args.timeout} s CPU, backstop 5x in wall time")
    idle, seconds = run(jobs, 2, args.timeout)
    baseline = [o for r in idle for o in r.outcomes]
    print(f"idle, 2 workers: {baseline.count(baseline[0])}/{tests} {baseline[0].value} in {seconds:.1f} s; {describe(idle)}")
    for round_ in range(args.rounds):
        loops = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
        for p in loops:
            p.start()
        try:
            loaded, seconds = run(jobs, args.workers, args.timeout)
        finally:
            for p in loops:
                p.kill()
        outcomes = [o for r in loaded for o in r.outcomes]
        flipped = sum(a != b for a, b in zip(baseline, outcomes))
        print(f"round {round_ + 1}, {args.workers} workers + {args.busy} busy loops: {flipped}/{tests} verdicts differ "
              f"from the idle run, in {seconds:.1f} s; {describe(loaded)}")


if __name__ == "__main__":
    main()
