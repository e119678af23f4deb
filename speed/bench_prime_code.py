"""One verl reward step on stdin/stdout data: our verl adapter against verl 0.9.1's own
`prime_code.compute_score`, as verl's reward workers call it.

Run from the repository root (verl from requirements/upstream.txt):

    python speed/bench_prime_code.py                  # 1,024 programs, 128 problems x 20 cases, 2% loop
    python speed/bench_prime_code.py --problems 8 --programs 32 --cases 5   # a quick check

The step (seeded, nothing downloaded): `--problems` stdin/stdout problems in the APPS/TACO
layout with `--cases` cases each (a few shapes: sums, per-line output, floats, text), and
`--programs` completions spread over them: correct (~55%), wrong on every case (~20%),
wrong on a few cases (~13%), crashing (~10%), and `--loop-percent` (2%) that loop forever.
Every completion text is distinct (a comment carries its index).

- prime_code: `compute_score(completion, ground_truth, continuous=True)` per completion
  (what verl's `default_compute_score` runs for apps/taco/codecontests/codeforces rows),
  in a pool of `--workers` processes (prime_code starts a multiprocessing Manager and a
  process per call inside each); with `--verl-loop 8`, as verl 0.9.1's reward loop calls
  it: 8 workers, each running its chunk's calls at once in a default thread pool
  (`verl/experimental/reward_loop/`: up to 48 calls in flight on 2 cores).
- acecoder: `acecoder.rewards.verl.compute_score` per completion, called from a pool of
  threads (verl's reward loop calls a sync custom function in its executor), one engine
  with `--workers` sandbox processes; then the same through `compute_score_batch`.

Printed: wall seconds, core-seconds (CPU of every child process, sandboxes included, as
`getrusage(RUSAGE_CHILDREN)` counts them once they have exited, plus our own process),
and whether every reward is equal.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "conformance"))


def problems(n: int, cases: int, rng: random.Random) -> list[dict]:
    shapes = [
        (lambda xs: f"{sum(xs)}\n", "xs = list(map(int, input().split()))\nprint(sum(xs))",
         "xs = list(map(int, input().split()))\nprint(sum(xs) + 1)",
         "xs = list(map(int, input().split()))\nprint(sum(xs) if len(xs) % 3 else 0)"),
        (lambda xs: "".join(f"{x * 2}\n" for x in xs), "for x in input().split():\n    print(int(x) * 2)",
         "print(' '.join(str(int(x) * 2) for x in input().split()))",
         "for x in input().split():\n    print(int(x) * 2 if int(x) % 5 else 0)"),
        (lambda xs: f"{sum(xs) / len(xs):.6f}\n", "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs))",
         "xs = list(map(int, input().split()))\nprint('%.1f' % (sum(xs) / len(xs)))",
         "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs) if xs[0] % 4 else 0)"),
        (lambda xs: ("YES" if max(xs) % 2 == 0 else "NO") + "\n", "xs = list(map(int, input().split()))\n"
         "print('YES' if max(xs) % 2 == 0 else 'NO')", "print('yes')",
         "xs = list(map(int, input().split()))\nprint('YES' if max(xs) % 2 == 0 or xs[0] % 7 == 0 else 'NO')"),
    ]
    out = []
    for p in range(n):
        solve, right, wrong, partly = shapes[p % len(shapes)]
        inputs = [[rng.randint(1, 1000) for _ in range(rng.randint(1, 30))] for _ in range(cases)]
        truth = {"inputs": [" ".join(map(str, xs)) + "\n" for xs in inputs], "outputs": [solve(xs) for xs in inputs]}
        out.append({"truth": json.dumps(truth), "right": right, "wrong": wrong, "partly": partly})
    return out


def completions(probs: list[dict], n: int, loop_percent: float, rng: random.Random) -> list[tuple[int, str]]:
    rows = []
    loops = set(rng.sample(range(n), round(n * loop_percent / 100)))
    for i in range(n):
        p = probs[i % len(probs)]
        draw = rng.random()
        if i in loops:
            code = "while True:\n    pass"
        elif draw < 0.55:
            code = p["right"]
        elif draw < 0.75:
            code = p["wrong"]
        elif draw < 0.88:
            code = p["partly"]
        else:
            code = "xs = input().split()\nprint(xs[100])"
        rows.append((i % len(probs), f"Solution:\n```python\n# sample {i}\n{code}\n```"))
    return rows


_PRIME = None


def prime_score(args: tuple[str, str]) -> float:
    global _PRIME
    if _PRIME is None:
        from test_prime_code import load_prime_code

        _PRIME = load_prime_code()
    completion, truth = args
    return float(_PRIME.compute_score(completion, truth, continuous=True)[0])


def prime_chunk(chunk: list[tuple[str, str]]) -> list[float]:
    """One of verl 0.9.1's `RewardLoopWorker`s: it gathers its whole chunk at once, and a sync
    compute_score runs in the event loop's default executor, min(32, cores + 4) threads."""
    import os

    with ThreadPoolExecutor(min(32, (os.cpu_count() or 1) + 4)) as pool:
        return list(pool.map(prime_score, chunk))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=128)
    parser.add_argument("--programs", type=int, default=1024)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--loop-percent", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=None, help="reward worker processes / sandboxes (default: cores)")
    parser.add_argument("--timeout", type=float, default=3.0, help="our CPU seconds per case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-prime", action="store_true", help="time ours only")
    parser.add_argument("--verl-loop", type=int, default=0, metavar="WORKERS",
                        help="run prime_code as verl 0.9.1's reward loop does: the batch cut into WORKERS chunks "
                             "(reward.num_workers, 8 by default in verl), each chunk's calls all at once in a "
                             "thread pool of min(32, cores + 4); default: a pool of --workers processes")
    args = parser.parse_args()
    import os

    workers = args.workers or os.cpu_count() or 1
    rng = random.Random(args.seed)
    probs = problems(args.problems, args.cases, rng)
    rows = completions(probs, args.programs, args.loop_percent, rng)
    items = [(c, probs[p]["truth"]) for p, c in rows]
    print(f"{len(rows)} completions over {len(probs)} problems x {args.cases} cases, "
          f"{round(len(rows) * args.loop_percent / 100)} looping; {workers} workers", flush=True)

    from acecoder.rewards import verl

    options = {"timeout": args.timeout, "workers": workers}
    cpu0, own0 = children_cpu(), own_cpu()
    verl.compute_score("apps", items[0][0], items[0][1], **options)  # start the engine: verl's workers are warm too
    t0 = time.monotonic()
    with ThreadPoolExecutor(64) as pool:
        ours = [r["score"] for r in pool.map(lambda it: verl.compute_score("apps", it[0], it[1], **options), items)]
    ours_wall = time.monotonic() - t0
    verl.close()  # the sandboxes exit: their CPU time is counted now
    ours_cpu = children_cpu() - cpu0 + own_cpu() - own0
    t1 = time.monotonic()
    batch = [r["score"] for r in verl.compute_score_batch(["apps"] * len(items), [c for c, _ in items],
                                                          [t for _, t in items], **options)]
    batch_wall = time.monotonic() - t1
    verl.close()
    print(f"acecoder compute_score  : {ours_wall:8.1f} s wall, {ours_cpu:8.1f} core-s; compute_score_batch "
          f"{batch_wall:.1f} s wall (engine start included); mean reward {sum(ours) / len(ours):.4f}", flush=True)
    assert batch == ours, "the batch form gave other rewards"
    if args.skip_prime:
        return
    cpu0, t0 = children_cpu(), time.monotonic()
    if args.verl_loop:
        size = -(-len(items) // args.verl_loop)  # contiguous chunks, as DataProto.chunk cuts them
        with ProcessPoolExecutor(args.verl_loop) as pool:
            theirs = [r for chunk in pool.map(prime_chunk, [items[i : i + size] for i in range(0, len(items), size)])
                      for r in chunk]
    else:
        with ProcessPoolExecutor(workers) as pool:
            theirs = list(pool.map(prime_score, items, chunksize=1))
    prime_wall, prime_cpu = time.monotonic() - t0, children_cpu() - cpu0
    print(f"prime_code compute_score: {prime_wall:8.1f} s wall, {prime_cpu:8.1f} core-s; "
          f"mean reward {sum(theirs) / len(theirs):.4f}")
    differ = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    print(f"rewards equal: {not differ} ({len(differ)} differ{': ' + str(differ[:10]) if differ else ''}); "
          f"speed-up {prime_wall / ours_wall:.1f}x wall, {prime_cpu / max(ours_cpu, 1e-9):.1f}x core-s")


if __name__ == "__main__":
    main()
