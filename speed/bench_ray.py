"""The single-machine engine against the same engine on a local Ray, on the same jobs.

Run from the repository root (needs `pip install ray==2.60.0`):

    python speed/bench_ray.py             # 600 programs, 3 rounds: about 2 minutes
    python speed/bench_ray.py --quick     # 300 programs, 1 round: about 40 s
    python speed/bench_ray.py --programs 2000 --batches 32,128,512 --rounds 5

Ray runs locally with as many CPUs as the engine has workers (2 by default), so both
sides have the same cores and every difference is Ray's overhead. Contenders, in
interleaved rounds (the machine's speed drifts; the median round is shown):

1. engine: `Engine(workers=2)`, as `acecoder execute` runs without --ray.
2. ray actors, B programs a batch: `RayExecutor(pool="actors")`, one long-lived
   engine (1 sandbox worker) per CPU, a batch per method call.
3. ray tasks, 64 a batch: `RayExecutor(pool="tasks")`, a fresh engine per batch.

The workload is speed/execution_workload.py's realistic one (LeetCode-like
generated programs, 16 asserts each, ~3% correct but slow). Every Ray run's verdicts
are compared with the engine's (all fields but `seconds`).

Then the overhead of one Ray call is measured alone: trivial one-program batches
(one assert each), Ray against the engine on the same jobs; the difference times the
CPUs, divided by the batches, is the CPU time Ray costs per batch. With it and the
engine's CPU time per program, the cost model of docs/scaling.md,

    wall = (programs x cpu_per_program + batches x cpu_per_batch) / cpus

(batches handed to whichever CPU frees first, so that an uneven last wave counts)
predicts each Ray run's wall time; the last table sets prediction against measurement.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from execution_workload import clean_workload, slow_workload  # noqa: E402

from acecoder.execution import Engine, ExecutionJob  # noqa: E402

TRIVIAL = 400  # one-program batches in the overhead measurement


def jobs_of(programs) -> list[ExecutionJob]:
    return [ExecutionJob(id=p.id, program=p.program, tests=list(p.tests)) for p in programs]


def comparable(results) -> list[dict]:
    out = []
    for result in results:
        row = result.to_dict()
        del row["seconds"]
        out.append(row)
    return out


def run_engine(jobs, workers, timeout):
    started = time.perf_counter()
    with Engine(workers=workers, timeout=timeout) as engine:
        startup = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        results = engine.run(jobs)
        return time.perf_counter() - started, startup, results, time.process_time() - cpu


def run_ray(jobs, timeout, *, pool, batch):
    from acecoder.execution.ray import RayExecutor

    started = time.perf_counter()
    with RayExecutor(pool=pool, programs_per_task=batch, timeout=timeout) as executor:
        startup = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        results = executor.run(jobs)
        return time.perf_counter() - started, startup, results, time.process_time() - cpu


def predict(programs: int, batch: int, slots: int, cpu_per_program: float, cpu_per_batch: float) -> float:
    """Wall seconds: batches of `batch` programs go, in order, to whichever of `slots`
    one-CPU engines frees first (so the last, uneven wave counts)."""
    free = [0.0] * slots
    for start in range(0, programs, batch):
        size = min(batch, programs - start)
        slot = free.index(min(free))
        free[slot] += size * cpu_per_program + cpu_per_batch
    return max(free)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=600, help="programs before the slow ones are added")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=2, help="engine workers = local Ray CPUs")
    parser.add_argument("--batches", default="16,64,256", help="programs per Ray call, comma-separated")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per test")
    parser.add_argument("--quick", action="store_true", help="300 programs, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.programs, args.rounds = 300, 1
    args.batches = [int(b) for b in args.batches.split(",")]
    return args


def main() -> None:
    import ray

    args = parse_args()
    programs = slow_workload(clean_workload(args.programs))
    jobs = jobs_of(programs)
    asserts = sum(len(job.tests) for job in jobs)
    print(f"workload: {len(jobs)} programs, {asserts} asserts (realistic: ~3% slow); "
          f"{args.cpus} CPUs; ray {ray.__version__}; python {sys.version.split()[0]}")

    started = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="warning")
    print(f"ray.init (a local cluster): {time.perf_counter() - started:.1f} s\n")

    contenders = [("engine", None, None)] + [(f"ray actors, {b} a batch", "actors", b) for b in args.batches]
    contenders.append(("ray tasks, 64 a batch", "tasks", 64))
    walls = {name: [] for name, _, _ in contenders}
    startups = {name: [] for name, _, _ in contenders}
    mismatches = {name: 0 for name, _, _ in contenders}
    driver = {name: [] for name, _, _ in contenders}  # CPU seconds of this process
    reference = None
    for _ in range(args.rounds):
        for name, pool, batch in contenders:
            if pool is None:
                wall, startup, results, cpu = run_engine(jobs, args.cpus, args.timeout)
            else:
                wall, startup, results, cpu = run_ray(jobs, args.timeout, pool=pool, batch=batch)
            driver[name].append(cpu)
            rows = comparable(results)
            reference = reference or rows
            mismatches[name] += sum(a != b for a, b in zip(rows, reference)) + abs(len(rows) - len(reference))
            walls[name].append(wall)
            startups[name].append(startup)

    engine_wall = statistics.median(walls["engine"])
    print(f"{'contender':<26}{'start s':>8}{'wall s':>8}{'programs/s':>12}{'tests/s':>10}{'vs engine':>11}"
          f"{'caller ms/prog':>16}{'verdicts differ':>17}")
    for name, _, _ in contenders:
        wall = statistics.median(walls[name])
        caller = statistics.median(driver[name]) * 1000 / len(jobs)
        print(f"{name:<26}{statistics.median(startups[name]):>8.2f}{wall:>8.2f}{len(jobs) / wall:>12,.0f}"
              f"{asserts / wall:>10,.0f}{wall / engine_wall:>10.2f}x{caller:>16.3f}{mismatches[name]:>17}")
    print("(caller ms/prog: CPU of this process per program; for the engine it includes judging the tests)")

    # ---------------------------------------------------------------- overhead per Ray call
    overheads = {}
    for pool, count, tries in (("actors", TRIVIAL, 3), ("tasks", TRIVIAL // 4, 1)):  # a task is slow: fewer
        trivial = [ExecutionJob(id=str(i), program="x = 1\n", tests=["assert x == 1"]) for i in range(count)]
        engine_trivial = min(run_engine(trivial, args.cpus, args.timeout)[0] for _ in range(3))
        ray_trivial = min(run_ray(trivial, args.timeout, pool=pool, batch=1)[0] for _ in range(tries))
        overheads[pool] = (ray_trivial - engine_trivial) * args.cpus / count
        print(f"\n{count} one-program batches, {pool}: {ray_trivial:.2f} s against the engine's "
              f"{engine_trivial:.2f} s: {overheads[pool] * 1000:.1f} ms of CPU per Ray call")

    # ---------------------------------------------------------------- the cost model, checked
    cpu_per_program = engine_wall * args.cpus / len(jobs)
    print(f"\nengine CPU per program: {cpu_per_program * 1000:.2f} ms ({asserts / len(jobs):.1f} asserts a program)")
    print(f"{'ray run':<26}{'batches':>8}{'predicted s':>13}{'measured s':>12}{'error':>8}")
    for name, pool, batch in contenders[1:]:
        batches = -(-len(jobs) // batch)
        predicted = predict(len(jobs), batch, args.cpus, cpu_per_program, overheads[pool])
        measured = statistics.median(walls[name])
        print(f"{name:<26}{batches:>8}{predicted:>13.2f}{measured:>12.2f}{(measured - predicted) / predicted:>+8.0%}")
    ray.shutdown()


if __name__ == "__main__":
    main()
