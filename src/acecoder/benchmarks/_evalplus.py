"""HumanEval+ and MBPP+ from EvalPlus's release files, judged as EvalPlus 0.3.1 judges them.

A release row gives inputs, not asserts: `base_input` (the original benchmark's) and
`plus_input` (EvalPlus's extra ones), with `canonical_solution`, `entry_point` and
`atol`. The expected output of each input is whatever the canonical solution returns
on it, and its time limit is max(1 s, 4 x the canonical solution's time on it). Both
come from one run of the canonical solution in our engine (never in this process),
cached in acecoder's cache folder under the file's hash: a file is run once per user.

Each input becomes one test, `assert __evalplus__(f(*inputs), expected, atol, oracle,
inputs)`: the sandbox computes `f(*inputs)`; the engine compares it to the expected
value as EvalPlus does (`acecoder.execution._judges`), special oracles included. The
base inputs come first; a sample passes the base suite when every base test passes,
and the plus suite (what EvalPlus reports as HumanEval+ / MBPP+) when every test does.
A test that runs past its limit ends the run (EvalPlus stops at a suite's first
failure), so a program that loops costs one limit, not one per input.

Where we differ from EvalPlus, and why:
- EvalPlus runs the plus inputs in a second process; ours run after the base inputs
  in the same one (state a program keeps between calls carries over), and a wrong
  base answer does not stop the run (every verdict is kept).
- Outputs are compared as plain data: an output of a type with its own `__eq__` (a
  numpy array, a custom class) is not equal to anything but itself, where EvalPlus
  would call its `__eq__`; a numpy float close to the expected float passes, where
  EvalPlus's type check fails it.
- EvalPlus also caps a whole suite at min(60 s, the sum of its limits) + 1 s, runs
  the program with `os.system`, `subprocess` and the like disabled, and allows 4 GiB;
  ours has no cap past the per-input limits and keeps the engine's own sandbox.
- An input whose expected output is larger than the engine passes back (1 MiB of
  JSON) is left out; one on which the canonical solution runs out of 4 GiB fails every
  sample (EvalPlus's samples run under 4 GiB too). In the MBPP+ file shipped here: 6
  inputs left out (Mbpp/255, 630), 1 failing (Mbpp/255); eval.json lists them.
- Limits count CPU time (ours always do: see `acecoder.execution`), from the canonical
  solution's CPU time on each input measured in our engine, the inputs' construction
  included; EvalPlus's count wall time, against the canonical's wall time in its own
  process. The 1 s floor decides all but the slowest inputs either way, and ours do
  not shrink when the machine is busy (EvalPlus timed out MBPP/392's n = 10^6 with 2
  processes on 2 cores; we did not).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

from acecoder.benchmarks._common import field
from acecoder.data.files import file_sha256
from acecoder.errors import InputError

log = logging.getLogger(__name__)

MIN_LIMIT, LIMIT_FACTOR = 1.0, 4.0  # EvalPlus's DEFAULT_MIN_TIME_LIMIT and DEFAULT_GT_TIME_LIMIT_FACTOR
TRUTH_LIMIT = 60.0  # seconds the canonical solution may take on one input
FLOAT_ATOL = 1e-6  # what EvalPlus raises an atol of 0 to once an expected output is a float

# Entry points whose outputs EvalPlus judges by a rule of their own (evalplus/eval/_special_oracle.py).
ORACLES = {
    "humaneval": {"find_zero": "poly"},
    "mbpp": {
        "are_equivalent": "always", "sum_div": "zero", "surface_Area": "surface_area",
        "digit_distance_nums": "digit_distance",
        **dict.fromkeys(["similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                         "larg_nnum", "intersection_array", "find_dissimilar", "Diff"], "set"),
        **dict.fromkeys(["check_str", "text_match_three", "text_starta_endb"], "not_none"),
    },
}
NEEDS_INPUTS = {"poly", "surface_area", "digit_distance"}


def is_release_row(row: dict) -> bool:
    return "base_input" in row or "plus_input" in row


@dataclass(frozen=True, slots=True)
class Suite:
    """The judged tests of one task: base tests first, then the plus ones."""

    tests: list[str]
    limits: list[float]
    base: int  # how many of the tests are the base suite's


def suites(path, rows: list[tuple[int, dict]], *, dataset: str) -> tuple[dict[str, Suite], dict]:
    """Task id -> its Suite, for the release rows of `path` (dataset "humaneval" or
    "mbpp"), and what eval.json records of the file: name, EvalPlus version (from the
    name), tasks, inputs, the inputs left out, hash."""
    tasks = [_task(row, path, line, dataset) for line, row in rows]
    digest = file_sha256(path)
    truth = _ground_truth(path, digest, tasks, dataset)
    found = re.search(r"v\d+\.\d+\.\d+", Path(path).name)
    marks = [(f"{t.id}#{i}", e) for t in tasks for i, e in enumerate(truth[t.id]["expected"])]
    left_out = [where for where, e in marks if e is None]
    info = {"file": Path(path).name, "version": found.group(0) if found else None, "tasks": len(tasks),
            "inputs": len(marks) - len(left_out), "inputs_left_out": left_out,
            "inputs_failing_every_sample": [where for where, e in marks if e == OUT_OF_MEMORY], "sha256": digest}
    return {task.id: _suite(task, truth[task.id], dataset) for task in tasks}, info


# ---------------------------------------------------------------- rows


@dataclass(slots=True)
class _Task:
    id: str
    entry: str
    program: str  # prompt + canonical solution, as EvalPlus runs it
    inputs: list  # base inputs, then plus inputs, deserialized
    base: int
    atol: float


def _task(row: dict, path, line: int, dataset: str) -> _Task:
    task_id = field(row, "task_id", path, line)
    base = field(row, "base_input", path, line, kind=list)
    plus = row.get("plus_input")
    plus = [] if plus == {} else field(row, "plus_input", path, line, kind=list)  # MBPP+'s Mbpp/793 has {}
    atol = row.get("atol", 0)
    if not isinstance(atol, (int, float)) or isinstance(atol, bool):
        raise InputError("field 'atol' is not a number", path=str(path), line=line)
    if dataset == "mbpp":
        base, plus = mbpp_inputs(task_id, base), mbpp_inputs(task_id, plus)
    return _Task(
        id=task_id, entry=field(row, "entry_point", path, line),
        program=field(row, "prompt", path, line) + field(row, "canonical_solution", path, line),
        inputs=list(base) + list(plus), base=len(base), atol=atol,
    )


# MBPP+ stores every input as JSON; EvalPlus turns these tasks' lists back into the
# tuples, sets and complex numbers their functions take (evalplus/data/mbpp.py,
# mbpp_deserialize_inputs).
_EACH_ARG_TUPLE = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726,
                   740, 744, 809}
_EACH_ARG_LIST_OF_TUPLES = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_FIRST_LIST_OF_TUPLES = {75, 413, 444, 753}
_SECOND_TUPLE = {106, 750}
_FIRST_TUPLE_OF_TWO = {250, 405, 446, 617, 720, 763, 808}
_EACH_ARG_TUPLE_OF_TUPLES = {259, 401, 445}
_ALL_TUPLES = {580, 615, 791}


def mbpp_inputs(task_id: str, inputs: list) -> list:
    """The inputs of MBPP+ task `task_id` as its function takes them."""
    try:
        number = int(str(task_id).rsplit("/", 1)[-1])
    except ValueError:
        return inputs
    if number in _EACH_ARG_TUPLE:
        return [[tuple(arg) for arg in inp] for inp in inputs]
    if number in _EACH_ARG_LIST_OF_TUPLES:
        return [[[tuple(x) for x in arg] for arg in inp] for inp in inputs]
    if number in _FIRST_LIST_OF_TUPLES:
        return [[[tuple(x) for x in inp[0]], inp[1]] for inp in inputs]
    if number in _SECOND_TUPLE:
        return [[inp[0], tuple(inp[1])] for inp in inputs]
    if number in _FIRST_TUPLE_OF_TWO:  # EvalPlus keeps two arguments here
        return [[tuple(inp[0]), inp[1]] for inp in inputs]
    if number in _EACH_ARG_TUPLE_OF_TUPLES:
        return [[tuple(tuple(x) for x in arg) for arg in inp] for inp in inputs]
    if number in _ALL_TUPLES:
        return [_tuples(inp) for inp in inputs]
    if number == 115:  # an empty list becomes {}, a dict, as EvalPlus has it
        return [[[set(x) if isinstance(x, list) and x else {} for x in inp[0]]] for inp in inputs]
    if number == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if number == 252:
        return [[complex(inp[0])] for inp in inputs]
    if number == 278:
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])] for inp in inputs]
    if number == 307:
        return [[tuple(inp[0]), inp[1], inp[2]] for inp in inputs]
    if number == 722:
        return [[{key: tuple(value) for key, value in inp[0].items()}, *inp[1:]] for inp in inputs]
    return inputs


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


# ---------------------------------------------------------------- the canonical solution's outputs


def _ground_truth(path, digest: str, tasks: list[_Task], dataset: str) -> dict:
    from acecoder.data.files import write_atomic
    from acecoder.paths import cache_root

    cache = cache_root() / "evalplus" / f"{Path(path).name}.{digest[:16]}.json"
    if cache.exists():
        try:
            truth = json.loads(cache.read_text())
            if all(task.id in truth and "cpu_seconds" in truth[task.id] for task in tasks):
                return truth
        except (OSError, ValueError):
            pass  # computed again below
    log.warning("%s: first use: running the canonical solutions on %d inputs for the expected outputs "
                "(about 1 min per 40 K inputs; cached in %s)", Path(path).name, sum(len(t.inputs) for t in tasks), cache)
    truth = _run_canonical(path, tasks, dataset)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(cache, json.dumps(truth))
    return truth


def _run_canonical(path, tasks: list[_Task], dataset: str) -> dict:
    from acecoder.execution import Engine, ExecutionJob, ProgramStatus, TestOutcome, encode_value

    jobs = [
        ExecutionJob(id=task.id, program=task.program, limits=[TRUTH_LIMIT] * len(task.inputs),
                     tests=[f"assert {task.entry}(*{source(inp)}) is None" for inp in task.inputs], capture=True)
        for task in tasks
    ]
    truth = {}
    with Engine(memory_mb=4096, timeout=TRUTH_LIMIT) as engine:
        for task, result in zip(tasks, engine.map(jobs)):
            if result.status is not ProgramStatus.OK:
                raise InputError(f"task {task.id}: the canonical solution does not run ({result.error})", path=str(path))
            not_none = ORACLES[dataset].get(task.entry) == "not_none"
            expected = []
            for index, (outcome, value) in enumerate(zip(result.outcomes, result.values)):
                message = result.messages[index] or outcome.value
                if outcome not in (TestOutcome.PASS, TestOutcome.FAIL) and not _too_big(message):
                    raise InputError(f"task {task.id}: the canonical solution fails on input {index} ({message})",
                                     path=str(path))
                if outcome not in (TestOutcome.PASS, TestOutcome.FAIL):  # PASS: it returned None
                    memory = message.startswith("MemoryError")
                    log.warning("%s: %s: input %d %s (%s)", Path(path).name, task.id, index,
                                "fails every sample" if memory else "left out", message)
                    expected.append(OUT_OF_MEMORY if memory else None)
                    continue
                if not_none:
                    value = outcome is TestOutcome.FAIL  # EvalPlus keeps only `output is not None`
                try:
                    expected.append(encode_value(value))
                except (TypeError, ValueError):
                    raise InputError(f"task {task.id}: the canonical solution returns {value!r} on input {index}, "
                                     "which cannot be compared as data", path=str(path)) from None
            truth[task.id] = {"expected": expected, "cpu_seconds": result.test_cpu_seconds}
    return truth


def _too_big(message: str) -> bool:
    """An output past what the sandbox may send back (or build), which no sample's could pass either."""
    return message.startswith(("result too large", "MemoryError", "killed by", "the process")) or message == "crashed"


def _suite(task: _Task, truth: dict, dataset: str) -> Suite:
    from acecoder.execution import decode_value, encode_value

    oracle = ORACLES[dataset].get(task.entry, "")
    expected, seconds = truth["expected"], truth["cpu_seconds"]
    tests, limits = [], []
    for suite in (range(task.base), range(task.base, len(task.inputs))):
        atol = task.atol  # each suite is its own EvalPlus run: the raised atol starts over
        for i in suite:
            if expected[i] is None:  # left out (see _run_canonical)
                continue
            if expected[i] == OUT_OF_MEMORY:
                tests.append("assert False, 'the canonical solution runs out of memory here (4 GiB), as in EvalPlus'")
                limits.append(MIN_LIMIT)
                continue
            if oracle != "poly" and atol == 0 and _is_floats(decode_value(expected[i])):
                atol = FLOAT_ATOL  # EvalPlus raises it here, and keeps it for the inputs after
            inputs = encode_value(list(task.inputs[i])) if oracle in NEEDS_INPUTS else "null"
            tests.append(f"assert __evalplus__({task.entry}(*{source(task.inputs[i])}), {expected[i]!r}, "
                         f"{atol!r}, {oracle!r}, {inputs!r})")
            limits.append(max(MIN_LIMIT, LIMIT_FACTOR * seconds[i]))
    return Suite(tests=tests, limits=limits, base=task.base - expected[: task.base].count(None))


OUT_OF_MEMORY = "out of memory"  # in place of an expected output: no sample passes there


def _is_floats(value) -> bool:
    """EvalPlus's `is_floats`: a float, or a non-empty list or tuple of floats."""
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, float) for v in value)


def source(value) -> str:
    """Python source that evaluates to `value` (inputs: numbers, strings, lists, tuples,
    sets, dicts, complex, None), infinities, NaN and huge integers included."""
    t = type(value)
    if t is float:
        return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"
    if t is int:
        return repr(value) if value.bit_length() < 10_000 else hex(value)  # str() stops at 4,300 digits
    if t is list:
        return "[" + ", ".join(source(v) for v in value) + "]"
    if t is tuple:
        return "(" + ", ".join(source(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if t is set or t is frozenset:
        return "{" + ", ".join(source(v) for v in value) + "}" if value else "set()"
    if t is dict:
        return "{" + ", ".join(f"{source(k)}: {source(v)}" for k, v in value.items()) + "}"
    if t is complex:
        return f"complex({source(value.real)}, {source(value.imag)})"
    return repr(value)  # str, bytes, bool, None
