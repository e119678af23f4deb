"""The engine of this checkout against the engine of another git revision, on the light
workload, in interleaved rounds: how a change to the fork path is measured.

Run from the repository root:

    python speed/bench_engine_ab.py --base 2449f25            # 2,400 programs, 5 rounds
    python speed/bench_engine_ab.py --base HEAD~3 --rounds 9 --user-namespace

The base revision is checked out into a temporary git worktree; each round runs both
engines, one after the other, each in a fresh process (`PYTHONPATH` set to its `src`),
on the same seeded light programs (`execution_workload.clean_workload`, 16 asserts
each), with 2 workers. Printed per engine: the median and fastest wall time per
program, and the CPU per program of everything (the engine's process and its sandbox
workers), with the verdicts checked equal. This machine's speed drifts by tens of
percent over minutes: only interleaved medians compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One measurement, run in a fresh interpreter with PYTHONPATH at one engine's src.
MEASURE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from execution_workload import clean_workload
from acecoder.execution import Engine, ExecutionJob
programs, user_namespace = int(sys.argv[2]), sys.argv[3] == "1"
jobs = [ExecutionJob(id=p.id, program=p.program, tests=list(p.tests)) for p in clean_workload(programs)]
with Engine(workers=2, timeout=3.0, user_namespace=user_namespace) as engine:
    engine.run(jobs[:50])  # warm
    own, waited = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    results = engine.run(jobs)
    wall = time.perf_counter() - started
    own_after = resource.getrusage(resource.RUSAGE_SELF)
after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once the engine closed
cpu = lambda u: u.ru_utime + u.ru_stime
print(json.dumps({
    "wall": wall / programs,
    "engine": (cpu(own_after) - cpu(own)) / programs,
    "all": (cpu(own_after) - cpu(own) + cpu(after) - cpu(waited)) / (programs + 50),
    "verdicts": [[str(o) for o in r.outcomes] for r in results],
}))
"""


def measure(src: Path, programs: int, user_namespace: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-c", MEASURE, str(ROOT / "speed"), str(programs), "1" if user_namespace else "0"]
    return json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--programs", type=int, default=2400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--user-namespace", action="store_true", help="both engines as an ordinary user would run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as folder:
        base = Path(folder) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.base], check=True)
        try:
            engines = {f"base ({args.base})": base / "src", "this checkout": ROOT / "src"}
            runs: dict[str, list[dict]] = {name: [] for name in engines}
            for _ in range(args.rounds):
                for name, src in engines.items():
                    runs[name].append(measure(src, args.programs, args.user_namespace))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True)
    reference = runs[next(iter(runs))][0]["verdicts"]
    same = all(run["verdicts"] == reference for name in runs for run in runs[name])
    print(f"{args.programs} light programs, 2 workers{', user namespace' if args.user_namespace else ''}; "
          f"{args.rounds} interleaved rounds; verdicts {'identical' if same else 'DIFFERENT'} in every run")
    print(f"  {'engine':<28} {'wall µs/program':>16} {'(fastest)':>10} {'CPU µs/program':>15} {'engine CPU':>11}")
    medians = {}
    for name, measured in runs.items():
        def median(key):
            values = sorted(run[key] for run in measured)
            return values[len(values) // 2] * 1e6

        medians[name] = median("all")
        fastest = min(run["wall"] for run in measured) * 1e6
        print(f"  {name:<28} {median('wall'):>16,.0f} {fastest:>10,.0f} {median('all'):>15,.0f} {median('engine'):>11,.0f}")
    before, after = medians.values()
    print(f"  CPU per program, this checkout against the base: {after / before:.3f}x")


if __name__ == "__main__":
    main()
