"""Commands of evaluation: eval (pass@k on benchmarks) and bon (best-of-N)."""

from __future__ import annotations

import contextlib
import enum
from pathlib import Path
from typing import Annotated

import typer

from acecoder.cli._app import app
from acecoder.cli.data import BACKEND_HELP, Backend


class Selector(str, enum.Enum):
    reward_model = "reward_model"
    agreement = "agreement"
    combined = "combined"


def _paths(items: list[str] | None, benchmarks: list[str]) -> dict[str, str]:
    """--path NAME=FILE (or FILE alone with one benchmark)."""
    from acecoder.errors import ConfigError

    paths = {}
    for item in items or []:
        name, sep, file = item.partition("=")
        if not sep:
            if len(benchmarks) != 1:
                raise ConfigError(f"--path {item}: with several benchmarks write NAME=FILE")
            name, file = benchmarks[0], item
        paths[name] = file
    return paths


def _lcb(start_date: str | None, end_date: str | None) -> dict:
    window = {"start_date": start_date, "end_date": end_date}
    return {"livecodebench": {k: v for k, v in window.items() if v}} if any(window.values()) else {}


GpuMemory = Annotated[float, typer.Option(help="With --backend vllm: share of the GPU vLLM takes (weights and KV cache); it is given back before a reward model loads.", min=0.05, max=1.0)]
TensorParallel = Annotated[int, typer.Option(help="With --backend vllm: GPUs one model is split over.", min=1)]
MaxModelLen = Annotated[int | None, typer.Option(help="With --backend vllm: context in tokens (prompt + new tokens) [default: the model's].", min=16)]


@contextlib.contextmanager
def _sampling(wanted, model, base_url, backend, batch_size, n, temperature, top_p, max_tokens, seed, concurrency,
              vllm=None):
    """(SampleSettings, LLM backend or None) to sample with; (None, None) when not `wanted`.
    `vllm`: the engine's settings with --backend vllm."""
    from acecoder.errors import ConfigError
    from acecoder.llm import open_backend
    from acecoder.stages.sample import SampleSettings

    if not wanted:
        yield None, None
        return
    if not model:
        raise ConfigError("no samples file: give --model (and --base-url, or --backend local) to sample")
    with open_backend(backend.value, model, base_url=base_url, batch_size=batch_size, concurrency=concurrency,
                      vllm=vllm) as (engine, url):
        settings = SampleSettings(model=model, base_url=url, n=n, temperature=temperature, top_p=top_p,
                                  max_tokens=max_tokens, seed=seed, concurrency=concurrency)
        yield settings, engine


def _vllm(gpu_memory_utilization: float, tensor_parallel_size: int, max_model_len: int | None) -> dict:
    return {"gpu_memory_utilization": gpu_memory_utilization, "tensor_parallel_size": tensor_parallel_size,
            "max_model_len": max_model_len}


@app.command("eval")
def eval_(
    samples: Annotated[Path | None, typer.Argument(help="Samples (Sample records, question_id = problem id); omit to sample with --model.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder: eval.json, executions.jsonl (and samples.jsonl when sampling).")] = Path("eval"),
    benchmark: Annotated[list[str] | None, typer.Option("--benchmark", "-b", help="A benchmark (repeat): humaneval, humaneval+, mbpp, mbpp+, livecodebench, bigcodebench-[hard-]complete|instruct [default: humaneval].")] = None,
    path: Annotated[list[str] | None, typer.Option(help="NAME=FILE: a benchmark's released file (FILE alone with one benchmark).")] = None,
    k: Annotated[list[int] | None, typer.Option("--k", help="k of pass@k (repeat) [default: 1, 10, 100].", min=1)] = None,
    model: Annotated[str | None, typer.Option(help="Whose samples to evaluate; without SAMPLES, the model to sample (a checkpoint or qwen2.5-coder-0.5b / smollm2-135m with --backend local).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems of each benchmark.", min=1)] = None,
    start_date: Annotated[str | None, typer.Option(help="LiveCodeBench: problems from this contest date (YYYY-MM-DD).")] = None,
    end_date: Annotated[str | None, typer.Option(help="LiveCodeBench: problems up to this date (YYYY-MM-DD).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per test for all benchmarks [default: each benchmark's own].", min=0.01)] = None,
    workers: Annotated[int | None, typer.Option(help="Sandbox processes in parallel [default: CPU cores].", min=1)] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.", min=64)] = 2048,
    backend: Annotated[Backend, typer.Option(help="Sampling: " + BACKEND_HELP)] = Backend.openai,
    base_url: Annotated[str | None, typer.Option(help="Sampling: an OpenAI-compatible endpoint.")] = None,
    batch_size: Annotated[int, typer.Option(help="Sampling with --backend local: sequences generated together.", min=1)] = 8,
    n: Annotated[int, typer.Option(help="Sampling: programs per problem (at least the largest k).", min=1)] = 10,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.", min=0)] = 0.8,
    top_p: Annotated[float, typer.Option(help="Sampling: nucleus.", min=0, max=1)] = 0.95,
    max_tokens: Annotated[int, typer.Option(help="Sampling: new tokens per program.", min=1)] = 512,
    seed: Annotated[int | None, typer.Option(help="Sampling: sample i uses seed + i.")] = None,
    concurrency: Annotated[int, typer.Option(help="Sampling: requests in flight.", min=1)] = 16,
    gpu_memory_utilization: GpuMemory = 0.9,
    tensor_parallel_size: TensorParallel = 1,
    max_model_len: MaxModelLen = None,
    resume: Annotated[bool, typer.Option(help="Keep what OUTPUT has (samples, verdicts) and do only the rest.")] = False,
) -> None:
    """pass@k (unbiased estimator) per benchmark and overall, from samples or by sampling."""
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import eval as stage

    benchmark = benchmark or ["humaneval"]
    try:
        settings = stage.EvalSettings(
            benchmarks=benchmark, paths=_paths(path, benchmark), benchmark_settings=_lcb(start_date, end_date),
            k=k or [1, 10, 100], model=model, limit=limit, timeout=timeout, workers=workers, memory_mb=memory_mb,
        )
        vllm = _vllm(gpu_memory_utilization, tensor_parallel_size, max_model_len)
        with _sampling(samples is None, model, base_url, backend, batch_size, n, temperature, top_p, max_tokens,
                       seed, concurrency, vllm) as (sampling, engine), progress_bar("eval") as bar:
            summary = stage.run(output, settings=settings, samples_path=samples, sample_settings=sampling,
                                backend=engine, resume=resume, progress=bar)
    except AcecoderError as error:
        fail(error)
    _print_eval(summary, console)


def _print_eval(summary, console) -> None:
    from rich.table import Table

    table = Table(title=f"pass@k of {summary.model}")
    table.add_column("benchmark")
    table.add_column("problems", justify="right")
    for k in summary.k:
        table.add_column(f"pass@{k}", justify="right")
    rows = [*summary.benchmarks.items()] + ([("overall", summary.overall)] if len(summary.benchmarks) > 1 else [])
    for name, row in rows:
        values = [f"{100 * v:.1f}" if v is not None else "-" for v in row["pass@k"].values()]
        table.add_row(name, f"{row['evaluated']}/{row['problems']}", *values)
    console.print(table)
    console.print(
        f"[bold green]done[/] in {summary.seconds:.1f} s (execution {summary.seconds_execution:.1f} s, "
        f"{summary.executed} programs run); wrote {summary.output}/eval.json",
        highlight=False,
    )


@app.command()
def bon(
    samples: Annotated[Path | None, typer.Argument(help="Samples (Sample records); omit to sample with --model.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder: bon.json, bon.png, verdicts.")] = Path("bon"),
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="The benchmark (see acecoder eval).")] = "humaneval",
    path: Annotated[Path | None, typer.Option(help="The benchmark's released file.")] = None,
    model: Annotated[str | None, typer.Option(help="Whose samples to choose from; without SAMPLES, the model to sample.")] = None,
    scores: Annotated[Path | None, typer.Option(help="Reward-model scores (Score records, from acecoder score).")] = None,
    reward_model: Annotated[Path | None, typer.Option(help="A reward-model checkpoint: scores the samples --scores lacks.")] = None,
    tests: Annotated[Path | None, typer.Option(help="Generated tests for the agreement selector (Question records, id = problem id).")] = None,
    generate_tests: Annotated[int, typer.Option(help="Without --tests: asserts per problem to ask the sampling model for (0: no agreement).", min=0)] = 0,
    test_max_tokens: Annotated[int, typer.Option(help="New tokens for the answer holding the generated tests.", min=1)] = 384,
    selector: Annotated[list[Selector] | None, typer.Option(help="A selector (repeat) [default: all the inputs allow].")] = None,
    n: Annotated[int | None, typer.Option(help="Samples per problem: the first N of the file, or how many to sample [default: all / 16].", min=1)] = None,
    draws: Annotated[int, typer.Option(help="Random N-subsets per problem and N for the agreement selectors.", min=1)] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the draws.")] = 0,
    greedy_model: Annotated[str | None, typer.Option(help="Model name of the greedy programs (in SAMPLES or --greedy; sampled when sampling) [default: sample 0].")] = None,
    greedy: Annotated[Path | None, typer.Option(help="A samples file holding the greedy programs.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.", min=1)] = None,
    start_date: Annotated[str | None, typer.Option(help="LiveCodeBench: problems from this date (YYYY-MM-DD).")] = None,
    end_date: Annotated[str | None, typer.Option(help="LiveCodeBench: problems up to this date.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per test [default: the benchmark's own].", min=0.01)] = None,
    workers: Annotated[int | None, typer.Option(help="Sandbox processes in parallel [default: CPU cores].", min=1)] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.", min=64)] = 2048,
    backend: Annotated[Backend, typer.Option(help="Sampling: " + BACKEND_HELP)] = Backend.openai,
    base_url: Annotated[str | None, typer.Option(help="Sampling: an OpenAI-compatible endpoint.")] = None,
    batch_size: Annotated[int, typer.Option(help="Sampling with --backend local: sequences generated together.", min=1)] = 8,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (the method's best-of-N: 1.0).", min=0)] = 1.0,
    top_p: Annotated[float, typer.Option(help="Sampling: nucleus.", min=0, max=1)] = 0.95,
    max_tokens: Annotated[int, typer.Option(help="Sampling: new tokens per program.", min=1)] = 512,
    sample_seed: Annotated[int | None, typer.Option(help="Sampling: sample i uses seed + i.")] = None,
    concurrency: Annotated[int, typer.Option(help="Sampling: requests in flight.", min=1)] = 16,
    gpu_memory_utilization: GpuMemory = 0.9,
    tensor_parallel_size: TensorParallel = 1,
    max_model_len: MaxModelLen = None,
    resume: Annotated[bool, typer.Option(help="Keep what OUTPUT has (samples, verdicts, scores) and do only the rest.")] = False,
) -> None:
    """Best-of-N: pass@1 of the pick against N for each selector, with greedy, average and oracle."""
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import bon as stage

    try:
        settings = stage.BonSettings(
            benchmark=benchmark, path=str(path) if path else None,
            benchmark_settings=_lcb(start_date, end_date).get(benchmark, {}), limit=limit, model=model,
            selectors=[s.value for s in selector] if selector else None, n=None if samples is None else n,
            draws=draws, seed=seed, greedy_model=greedy_model, generate_tests=generate_tests,
            test_max_tokens=test_max_tokens, timeout=timeout,
            workers=workers, memory_mb=memory_mb,
        )
        vllm = _vllm(gpu_memory_utilization, tensor_parallel_size, max_model_len)
        with _sampling(samples is None or generate_tests > 0, model, base_url, backend, batch_size, n or 16,
                       temperature, top_p, max_tokens, sample_seed, concurrency, vllm) as (sampling, engine), \
                progress_bar("bon") as bar:
            summary = stage.run(
                output, settings=settings, samples_path=samples, sample_settings=sampling,
                backend=engine, greedy_path=greedy, scores_path=scores,
                reward_model=str(reward_model) if reward_model else None, tests_path=tests, resume=resume, progress=bar,
            )
    except AcecoderError as error:
        fail(error)
    _print_bon(summary, console)


def _with_interval(value: float, bounds: list | None) -> str:
    text = f"{100 * value:.1f}"
    return text + (f"\n[{100 * bounds[0]:.1f}, {100 * bounds[1]:.1f}]" if bounds else "")


def _print_bon(summary, console) -> None:
    from rich.table import Table

    # One row per selector, baseline and difference, one column per N: the names stay
    # whole in a narrow terminal; each cell is the value over its 95% interval.
    table = Table(title=f"best-of-N pass@1 (%) on {summary.benchmark}: {summary.model}, {summary.problems} problems")
    table.add_column("N", no_wrap=True)
    for size in summary.n:
        table.add_column(str(size), justify="right")
    for name, values in summary.pass_at_1.items():
        bounds = summary.interval95.get(name) or [None] * len(values)
        table.add_row(name, *[_with_interval(v, b) for v, b in zip(values, bounds)])
    for name, difference in summary.difference.items():
        table.add_row(name, *[_with_interval(v, b) for v, b in zip(difference["mean"], difference["interval95"])])
    console.print(table)
    if summary.interval95:
        console.print("[low, high]: 95% bootstrap interval over problems; differences paired per problem",
                      highlight=False, soft_wrap=True)
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.seconds_by_step.items())
    console.print(f"[bold green]done[/] in {summary.seconds:.1f} s ({steps}); wrote {summary.output}/bon.json and bon.png",
                  highlight=False, soft_wrap=True)
