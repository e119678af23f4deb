"""Scoring one RL step's rollout: acecoder.rewards against the in-process lower bound
and against the original design's evaluator.

Run from the repository root:

    python speed/bench_rewards.py                        # 256 prompts x 8 completions x 16 tests
    python speed/bench_rewards.py --prompts 64 --timeout 1

The batch (seeded, nothing downloaded): per prompt a function over integers and 16
assert tests; its 8 completions are drawn from a realistic mix - correct programs
(~45%), wrong ones (~25%), partly right ones (~10%), runtime errors (~8%), syntax
errors (~5%), slow but correct ones (~6%, a few ms a call), a few that hang on one
test in a Python loop (~1%), and by default 0.3% stuck on one test inside one C
call (`sum(range(10**15))`): the hang the method notes say the original checker
cannot interrupt (§4), since SIGALRM only runs between bytecodes; it waits for its
per-program join timeout instead. `--stuck-per-mille 0` leaves them out. Every
completion text is distinct (a comment carries its index), so no scorer gains from
duplicates.

Three ways, side by side, all with the same per-test time limit, then acecoder and
the lower bound again with the limits an exported dataset carries:

1. `TestReward.score` (binary reward) on a started engine with one sandbox worker
   per core: what a training step pays. Once with one limit for every test
   (`--timeout`), once with each test's limit from the reference: the prompt's
   correct program run once through the engine, as the filter runs the oracle, and
   `limits_from_reference` of its CPU seconds (10x, at least 0.1 s, at most
   `--timeout`): the `limits` column of `hard-subset --format trl`, verl's
   `ground_truth["limits"]`.
2. The in-process lower bound: `exec` of each program and its tests in this
   process, a SIGALRM per test, no isolation at all (one core). Divided by the core
   count it is the ideal a 2-core scorer could reach.
3. The original design (method notes §4 and §9): the reward server writes the batch
   to a JSON file and runs an evaluator subprocess; the evaluator runs each program
   in its own forked process (multiprocessing.Process, as evalplus's checker) with a
   4 GiB address-space limit and one alarm per test, a pool of one thread per core
   dispatching programs, verdicts written back to a JSON file that the server reads.

All three must agree on every reward (checked), so the times compare the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from acecoder.execution import Engine, ExecutionJob, limits_from_reference  # noqa: E402
from acecoder.rewards import TestReward, program_of  # noqa: E402

# ---------------------------------------------------------------- the batch

SHAPES = {  # kind: share per mille (stuck: set by --stuck-per-mille)
    "correct": 450, "wrong": 250, "partial": 100, "error": 80, "syntax": 50, "slow": 60, "hang": 10,
}


def make_batch(prompts: int, samples: int, tests_per: int, *, stuck_per_mille: int = 3, seed: int = 0):
    """(completions, their tests, their prompt's correct program)."""
    rng = random.Random(seed)
    completions, tests, references = [], [], []
    shares = {**SHAPES, "stuck": stuck_per_mille}
    kinds = [k for k, w in shares.items() for _ in range(w)]
    for p in range(prompts):
        a, b = rng.randint(2, 9), rng.randint(-50, 50)
        name = f"f{p}"
        inputs = [rng.randint(-1000, 1000) for _ in range(tests_per)]
        cases = [f"assert {name}({x}) == {a * x + b}" for x in inputs]
        hang_on = inputs[rng.randrange(tests_per)]
        for s in range(samples):
            kind = rng.choice(kinds)
            body = {
                "correct": f"    return {a} * x + {b}",
                "wrong": f"    return {a} * x - {b + 1}",
                "partial": f"    return {a} * x + {b} if x >= 0 else 0",
                "error": f"    if x < 0:\n        raise ValueError(x)\n    return {a} * x + {b}",
                "syntax": f"    return {a} * x + {b} +",
                "slow": f"    for _ in range(20000):\n        pass\n    return {a} * x + {b}",
                "hang": f"    while x == {hang_on}:\n        pass\n    return {a} * x + {b}",
                # a loop inside one C call: no bytecode boundary, so SIGALRM waits for it (days)
                "stuck": f"    if x == {hang_on}:\n        return sum(range(10**15))\n    return {a} * x + {b}",
            }[kind]
            program = f"# completion {p}/{s} ({kind})\ndef {name}(x):\n{body}\n"
            completions.append(f"Here is my solution:\n```python\n{program}```")
            tests.append(cases)
            references.append(f"def {name}(x):\n    return {a} * x + {b}\n")
    return completions, tests, references


def reference_limits(references: list[str], tests: list[list[str]], timeout: float, workers: int) -> list[list[float]]:
    """Each completion's test limits from its prompt's correct program, run once per prompt."""
    unique = {reference: cases for reference, cases in zip(references, tests)}
    jobs = [ExecutionJob(id=str(i), program=r, tests=c) for i, (r, c) in enumerate(unique.items())]
    with Engine(workers=workers, timeout=timeout) as engine:
        seconds = {job.program: result.test_cpu_seconds for job, result in zip(jobs, engine.run(jobs))}
    return [limits_from_reference(seconds[reference], cap=timeout) for reference in references]


# ---------------------------------------------------------------- 2. in-process lower bound


class _Alarm(Exception):
    pass


def _raise_alarm(signum, frame):
    raise _Alarm()


def in_process(completions, tests, timeout: float, limits=None) -> tuple[list[float], float]:
    """Rewards, and the seconds to charge for the stuck programs: they cannot be run
    in-process (no alarm stops them), so each is skipped and charged one time limit
    (its shortest test's, with `limits`), the least any scorer with that limit pays."""
    signal.signal(signal.SIGALRM, _raise_alarm)
    rewards, charged = [], 0.0
    limits = limits or [[timeout] * len(cases) for cases in tests]
    for completion, cases, seconds in zip(completions, tests, limits):
        if "(stuck)" in completion:
            rewards.append(0.0)
            charged += min(seconds)
            continue
        namespace: dict = {}
        passed = 0
        try:
            exec(compile(program_of(completion), "<program>", "exec"), namespace)
        except BaseException:  # noqa: BLE001 - the program did not load
            rewards.append(0.0)
            continue
        for case, limit in zip(cases, seconds):
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                exec(case, namespace)
                passed += 1
            except BaseException:  # noqa: BLE001 - a failed test
                pass
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        rewards.append(1.0 if passed == len(cases) else 0.0)
    return rewards, charged


# ---------------------------------------------------------------- 3. the original design

EVALUATOR = textwrap.dedent(
    '''
    import json, multiprocessing, os, resource, signal, sys
    from concurrent.futures import ThreadPoolExecutor

    class TimeoutException(Exception):
        pass

    def handler(signum, frame):
        raise TimeoutException()

    def unsafe_execute(program, tests, timeout, results):
        # in the forked child: memory limit, then the program and one alarm per test
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        signal.signal(signal.SIGALRM, handler)
        namespace = {}
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            exec(program, namespace)
            signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException:
            return  # syntax error, missing dependency, error or timeout at load: every test fails
        for i, test in enumerate(tests):
            try:
                signal.setitimer(signal.ITIMER_REAL, timeout)
                exec(test, namespace)
                signal.setitimer(signal.ITIMER_REAL, 0)
                results[i] = 1
            except BaseException:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def check(item, timeout):
        results = multiprocessing.Array("i", len(item["tests"]))
        process = multiprocessing.Process(target=unsafe_execute, args=(item["program"], item["tests"], timeout, results))
        process.start()
        process.join(timeout=timeout * (len(item["tests"]) + 1) + 1)
        if process.is_alive():
            process.kill()
            process.join()
        return list(results)

    def main(src, dst, timeout):
        batch = json.load(open(src))
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            verdicts = list(pool.map(lambda item: check(item, timeout), batch))
        json.dump(verdicts, open(dst, "w"))

    if __name__ == "__main__":
        multiprocessing.set_start_method("fork")
        main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
    '''
)


def original_design(completions, tests, timeout: float) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        script, src, dst = (Path(folder) / name for name in ("evaluator.py", "batch.json", "verdicts.json"))
        script.write_text(EVALUATOR)
        # the server's side: extract the programs, write the batch, run the evaluator, read the verdicts
        batch = [{"program": program_of(c), "tests": t} for c, t in zip(completions, tests)]
        src.write_text(json.dumps(batch))
        subprocess.run([sys.executable, str(script), str(src), str(dst), str(timeout)], check=True)
        verdicts = json.loads(dst.read_text())
    return [1.0 if all(v) and v else 0.0 for v in verdicts]


# ---------------------------------------------------------------- the comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--tests", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per test, for all three")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--stuck-per-mille", type=int, default=3,
                        help="completions stuck in one C call on one test (no alarm interrupts them); 0: none")
    args = parser.parse_args()

    completions, tests, references = make_batch(args.prompts, args.samples, args.tests,
                                                stuck_per_mille=args.stuck_per_mille)
    kinds = [c.split("(", 1)[1].split(")", 1)[0] for c in completions]
    n = len(completions)
    print(f"batch: {args.prompts} prompts x {args.samples} completions x {args.tests} tests = {n} programs, "
          f"{n * args.tests:,} tests; timeout {args.timeout} s a test; {os.cpu_count()} cores")
    print("mix: " + ", ".join(f"{k} {kinds.count(k)}" for k in [*SHAPES, "stuck"]))
    limits = reference_limits(references, tests, args.timeout, args.workers)  # offline, in the filter: not timed
    flat = sorted(t for row in limits for t in row)
    print(f"the dataset's limits: median {flat[len(flat) // 2]:.2f} s, max {flat[-1]:.2f} s a test")

    with TestReward(kind="binary", workers=args.workers, timeout=args.timeout) as reward:
        reward.score(completions[:8], tests[:8])  # the engine is started and warm, as in a training run
        started = time.monotonic()
        ours = reward.score(completions, tests)
        t_ours = time.monotonic() - started
        started = time.monotonic()
        ours_limited = reward.score(completions, tests, limits)
        t_limited = time.monotonic() - started

    started = time.monotonic()
    lower, charged = in_process(completions, tests, args.timeout)
    t_lower = time.monotonic() - started + charged
    started = time.monotonic()
    lower_limited, charged = in_process(completions, tests, args.timeout, limits)
    t_lower_limited = time.monotonic() - started + charged

    started = time.monotonic()
    original = original_design(completions, tests, args.timeout)
    t_original = time.monotonic() - started

    assert ours == lower == original == ours_limited == lower_limited, "the scorers disagree"
    cores = os.cpu_count() or 1
    print(f"mean reward {sum(ours) / n:.3f} (all scorers agree on every completion)")
    print(f"{'scorer':<58}{'seconds':>9}{'programs/s':>12}{'vs acecoder':>13}")
    rows = [
        ("acecoder.rewards (engine, sandboxed), one limit", t_ours),
        ("acecoder.rewards, the dataset's limits", t_limited),
        ("in-process lower bound (1 core, no isolation)*", t_lower),
        (f"in-process ideal on {cores} cores (above / {cores})", t_lower / cores),
        ("in-process lower bound, the dataset's limits*", t_lower_limited),
        ("original design (file + subprocess + fork), one limit", t_original),
    ]
    for name, seconds in rows:
        print(f"{name:<58}{seconds:>9.2f}{n / seconds:>12,.0f}{seconds / t_ours:>12.2f}x")
    print("* stuck programs skipped in-process and charged one time limit each")
    print(f"speed-up over the original design: {t_original / t_ours:.1f}x with one limit (target: at least 5x), "
          f"{t_original / t_limited:.1f}x with the dataset's limits")
    print(f"the dataset's limits against one limit: {t_ours / t_limited:.1f}x")


if __name__ == "__main__":
    main()
