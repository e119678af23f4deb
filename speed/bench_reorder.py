"""Hanging programs against an ordered stream: the engine's `map` with the old window (the
next jobs wait while a hanging one holds the head) against the reorder buffer (they run).

    python speed/bench_reorder.py [--programs 2000] [--hang-share 0.05] [--timeout 1] [--workers 2]

Light programs of 4 asserts each, a share of which sleep past the limit on their first
test (the others pass); the same jobs, interleaved rounds. Prints, per mode, the wall time and the
utilisation: sandbox seconds (each result's `seconds`) over wall time x workers, i.e.
how busy the workers were kept. `buffer=0` reproduces the old stream: at most `ahead`
jobs submitted past the oldest unyielded one.
"""

from __future__ import annotations

import argparse
import random
import time

from acecoder.execution import Engine, ExecutionJob


def workload(programs: int, hang_share: float, seed: int = 0) -> list[ExecutionJob]:
    rng = random.Random(seed)
    jobs = []
    for i in range(programs):
        hang = rng.random() < hang_share
        # a hanging program loops on its first test only: one limit's worth of sandbox time
        body = ("import time\ndef f(x):\n    if x == 0:\n        time.sleep(60)\n    return x * 2\n" if hang
                else "def f(x):\n    return x * 2\n")
        jobs.append(ExecutionJob(id=str(i), program=body, tests=[f"assert f({k}) == {2 * k}" for k in range(4)]))
    return jobs


def run(jobs, *, workers: int, timeout: float, buffer: int | None, ahead: int) -> tuple[float, float]:
    with Engine(workers=workers, timeout=timeout) as engine:
        start = time.perf_counter()
        busy = sum(result.seconds for result in engine.map(jobs, ahead=ahead, buffer=buffer))
        wall = time.perf_counter() - start
    return wall, busy / (wall * workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=2000)
    parser.add_argument("--hang-share", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ahead", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    jobs = workload(args.programs, args.hang_share)
    hanging = sum("sleep" in job.program for job in jobs)
    print(f"{args.programs} programs x 4 asserts, {hanging} hang ({args.hang_share:.0%}), limit {args.timeout:g} s, "
          f"{args.workers} workers, ahead {args.ahead}; floor: {hanging * args.timeout / args.workers:.1f} s of hangs")
    modes = {"old window (buffer 0)": 0, "reorder buffer (default)": None}
    walls: dict[str, list[float]] = {name: [] for name in modes}
    for round_ in range(args.rounds):
        for name, buffer in modes.items():
            wall, used = run(jobs, workers=args.workers, timeout=args.timeout, buffer=buffer, ahead=args.ahead)
            walls[name].append(wall)
            print(f"  round {round_ + 1}  {name:26s} {wall:6.2f} s wall, workers busy {used:5.1%}")
    best = {name: min(values) for name, values in walls.items()}
    old, new = best.values()
    print(f"  best: old {old:.2f} s, new {new:.2f} s: {old / new:.2f}x")


if __name__ == "__main__":
    main()
