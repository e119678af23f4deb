"""Commands of the data stages: execute, synth, sample, filter, pairs, hard-subset."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from acecoder.data.exports import PAIR_FORMATS, ROW_FORMATS
from acecoder.prompts import RL_PROMPTS, STYLES

from acecoder.cli._app import app


class Pick(str, enum.Enum):
    last = "last"
    longest = "longest"


# The formats the exporters know, as the CLI's choices (one list, in data/exports.py).
PairFormat = enum.Enum("PairFormat", {name: name for name in PAIR_FORMATS}, type=str)
RowFormat = enum.Enum("RowFormat", {name: name for name in ROW_FORMATS}, type=str)
PromptStyle = enum.Enum("PromptStyle", {name: name for name in STYLES}, type=str)
RLPrompt = enum.Enum("RLPrompt", {name: name for name in RL_PROMPTS}, type=str)


@app.command()
def execute(
    input: Annotated[Path, typer.Argument(help="JSONL: one {id, program, tests} per line.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL of verdicts, one per program.")],
    timeout: Annotated[float, typer.Option(help="CPU seconds each test may run (5x that in wall time at most).", min=0.01)] = 3.0,
    workers: Annotated[Optional[int], typer.Option(help="Sandbox processes in parallel [default: CPU cores].", min=1)] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.", min=64)] = 2048,
    extract: Annotated[bool, typer.Option(help="Lines carry 'completion' (raw model output): pull the code out of it.")] = False,
    pick: Annotated[Pick, typer.Option(help="With --extract: which fenced python block.")] = Pick.last,
    resume: Annotated[bool, typer.Option(help="Keep OUTPUT and skip the ids it already has.")] = False,
    ray: Annotated[Optional[str], typer.Option("--ray", metavar="ADDRESS", help="Run on a Ray cluster: 'local' (Ray on this machine's CPUs), 'auto' (the cluster of this node) or ray://HOST:10001; --workers then caps the engines across it.")] = None,
) -> None:
    """Run every program against its tests in the sandbox; write per-test verdicts."""
    from acecoder.cli._support import fail, progress_bar, print_execute_summary
    from acecoder.errors import AcecoderError
    from acecoder.stages import execute as stage

    try:
        with progress_bar("execute") as bar:
            summary = stage.run(
                input, output, timeout=timeout, workers=workers, memory_mb=memory_mb,
                extract=pick.value if extract else None, resume=resume, ray_address=ray, progress=bar,
            )
    except AcecoderError as error:
        fail(error)
    print_execute_summary(summary, output)


class Backend(str, enum.Enum):
    openai = "openai"
    local = "local"
    vllm = "vllm"
    llama_cpp = "llama-cpp"
    auto = "auto"


BACKEND_HELP = (
    "openai: any OpenAI-compatible endpoint (--base-url); local: transformers on this machine; "
    "vllm: vLLM's offline engine (GPU); llama-cpp: llama.cpp's server started here on a GGUF (fast on CPU); "
    "auto: llama-cpp for embedded models when installed, else local."
)


class SeedFamily(str, enum.Enum):
    evol = "evol"
    oss = "oss"
    stack = "stack"


@app.command()
def synth(
    seeds: Annotated[str, typer.Argument(help="Seed code: .jsonl, .parquet, a datasets folder or hf:NAME (Magicoder Evol/OSS rows, Stack functions), or benchmark:NAME (a benchmark's problems and reference programs, e.g. benchmark:mbpp+).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Questions (Question records), .jsonl.")],
    model: Annotated[str, typer.Option(help="The model the endpoint serves (the method: gpt-4o-mini); with --backend local a checkpoint folder or qwen2.5-coder-0.5b / smollm2-135m.")],
    base_url: Annotated[Optional[str], typer.Option(help="An OpenAI-compatible endpoint, e.g. https://api.openai.com/v1.")] = None,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.openai,
    batch_size: Annotated[int, typer.Option(help="With --backend local: sequences generated together.", min=1)] = 8,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (the method: 0.7).", min=0)] = 0.7,
    sampling_seed: Annotated[Optional[int], typer.Option(help="The sampling seed of every request [default: the server's own].")] = None,
    max_tokens: Annotated[int, typer.Option(help="New tokens per answer.", min=1)] = 2048,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.", min=1)] = 16,
    source: Annotated[Optional[SeedFamily], typer.Option(help="Treat every row as this seed family [default: detect from the fields].")] = None,
    template: Annotated[Optional[Path], typer.Option(help="A prompt template file ({instruction}, {code}).")] = None,
    min_tests: Annotated[int, typer.Option(help="Drop a question with fewer valid tests.", min=1)] = 1,
    expected_from_reference: Annotated[bool, typer.Option(help="Rewrite each failed `assert f(x) == value` with the seed program's f(x): for right seed programs and a weak writer.")] = False,
    json_mode: Annotated[bool, typer.Option(help="Ask the endpoint for a JSON object.")] = True,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N seeds.", min=1)] = None,
    max_retries: Annotated[int, typer.Option(help="Retries per request on timeouts, 429 and 5xx.", min=0)] = 6,
    cache: Annotated[Optional[Path], typer.Option(help="Response cache [default: OUTPUT.cache.sqlite].")] = None,
    resume: Annotated[bool, typer.Option(help="Keep OUTPUT and ask only for the seeds it lacks.")] = False,
    retry_failed: Annotated[bool, typer.Option(help="Ask again for the seeds whose request was refused for good on an earlier run.")] = False,
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed row instead of skipping it.")] = False,
) -> None:
    """Rewrite each seed as a self-contained question with about 20 assert tests (key from OPENAI_API_KEY)."""
    from acecoder.cli._support import fail, print_synth_summary, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.llm import open_backend, resolve_kind
    from acecoder.stages import synth as stage
    from acecoder.synth.prompt import LLAMA_CPP_JSON

    settings = stage.SynthSettings(
        model=model, base_url=None, temperature=temperature, sampling_seed=sampling_seed, max_tokens=max_tokens,
        concurrency=concurrency, source=source.value if source else None, template=template, min_tests=min_tests, json_mode=json_mode,
        expected_from_reference=expected_from_reference,
        limit=limit, max_retries=max_retries, cache_path=cache, retry_failed=retry_failed,
    )
    if json_mode and resolve_kind(backend.value, model) == "llama-cpp":
        settings.extra_body = LLAMA_CPP_JSON  # a grammar: even small models answer in the right shape
    try:
        with open_backend(backend.value, model, base_url=base_url, batch_size=batch_size, concurrency=concurrency) as (engine, settings.base_url), \
                progress_bar("synth", unit="seeds") as bar:
            summary = stage.run(seeds, output, settings=settings, backend=engine, strict=strict, resume=resume, progress=bar)
    except AcecoderError as error:
        fail(error)
    print_synth_summary(summary)


@app.command()
def sample(
    questions: Annotated[Path, typer.Argument(help="Questions (Question records): .jsonl, .parquet or a datasets folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Samples (Sample records), .jsonl, appended as they arrive.")],
    model: Annotated[str, typer.Option(help="The model the endpoint serves; with --backend local a checkpoint folder or qwen2.5-coder-0.5b / smollm2-135m.")],
    base_url: Annotated[Optional[str], typer.Option(help="An OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (vLLM, SGLang, llama.cpp, OpenAI).")] = None,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.openai,
    batch_size: Annotated[int, typer.Option(help="With --backend local: sequences generated together.", min=1)] = 8,
    n: Annotated[int, typer.Option(help="Programs per question (the method: 16).", min=1)] = 16,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (the method: 0.7).", min=0)] = 0.7,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.", min=0, max=1)] = 1.0,
    max_tokens: Annotated[int, typer.Option(help="New tokens per program (the method: 1,024).", min=1)] = 1024,
    seed: Annotated[Optional[int], typer.Option(help="Sample i uses seed + i, reproducibly.")] = None,
    oracle: Annotated[bool, typer.Option(help="The oracle: one greedy program per question (n=1, temperature 0).")] = False,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.", min=1)] = 16,
    pick: Annotated[Pick, typer.Option(help="Which fenced python block is the program.")] = Pick.last,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N questions.", min=1)] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Response cache [default: OUTPUT.cache.sqlite].")] = None,
    resume: Annotated[bool, typer.Option(help="Keep OUTPUT and ask only for what it lacks.")] = False,
    retry_failed: Annotated[bool, typer.Option(help="Ask again for the questions whose request was refused for good on an earlier run.")] = False,
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed row instead of skipping it.")] = False,
) -> None:
    """Sample programs for every question from a model (the API key is read from OPENAI_API_KEY)."""
    from acecoder.cli._support import fail, print_sample_summary, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.llm import open_backend
    from acecoder.stages import sample as stage

    settings = stage.SampleSettings(
        model=model, base_url=None, n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
        seed=seed, oracle=oracle, concurrency=concurrency, pick=pick.value, limit=limit, cache_path=cache,
        retry_failed=retry_failed,
    )
    try:
        with open_backend(backend.value, model, base_url=base_url, batch_size=batch_size, concurrency=concurrency) as (engine, settings.base_url), \
                progress_bar("sample", unit="questions") as bar:
            summary = stage.run(questions, output, settings=settings, backend=engine, strict=strict, resume=resume, progress=bar)
    except AcecoderError as error:
        fail(error)
    print_sample_summary(summary)


@app.command("filter")
def filter_(
    questions: Annotated[Path, typer.Argument(help="Questions (Question records): .jsonl, .parquet or a datasets folder.")],
    samples: Annotated[Path, typer.Argument(help="Samples (Sample records), the oracle's among them.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The dataset: .jsonl, .parquet or a datasets folder.")],
    oracle: Annotated[str, typer.Option(help="The model whose samples are the oracle's programs.")],
    min_oracle_passes: Annotated[int, typer.Option(help="Drop a question whose oracle passes fewer tests.", min=0)] = 4,
    min_tests: Annotated[int, typer.Option(help="Drop a question with fewer tests left.", min=1)] = 5,
    timeout: Annotated[float, typer.Option(help="CPU seconds each test may run (5x that in wall time at most).", min=0.01)] = 3.0,
    limit_floor: Annotated[float, typer.Option(help="Limits from the oracle: a sample's test may take max(FLOOR, FACTOR x the oracle's CPU time on it), at most --timeout; 0: --timeout for every test.", min=0)] = 0.1,
    limit_factor: Annotated[float, typer.Option(help="See --limit-floor.", min=1)] = 10.0,
    workers: Annotated[Optional[int], typer.Option(help="Sandbox processes in parallel [default: CPU cores].", min=1)] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.", min=64)] = 2048,
    report_dir: Annotated[Optional[Path], typer.Option(help="Write the quality report (JSON and PNG figures) here.")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed row instead of skipping it.")] = False,
    resume: Annotated[bool, typer.Option(help="Reuse the verdicts already in OUTPUT.executions.jsonl.")] = False,
) -> None:
    """Keep the tests the oracle passes, drop weak questions, score every sample on the kept tests."""
    from acecoder.cli._support import fail, print_filter_summary, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import filter as stage

    settings = stage.FilterSettings(
        oracle=oracle, min_oracle_passes=min_oracle_passes, min_tests=min_tests,
        timeout=timeout, limit_floor=limit_floor or None, limit_factor=limit_factor, workers=workers, memory_mb=memory_mb,
    )
    try:
        with progress_bar("filter") as bar:
            summary = stage.run(
                questions, samples, output, settings=settings, report_dir=report_dir,
                strict=strict, resume=resume, progress=bar,
            )
    except AcecoderError as error:
        fail(error)
    print_filter_summary(summary)


@app.command()
def pairs(
    dataset: Annotated[str, typer.Argument(help="The filtered dataset: .jsonl, .parquet, a datasets folder or hf:NAME.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The pairs: .jsonl, .parquet or a datasets folder.")],
    format: Annotated[PairFormat, typer.Option(help="Our Pair records, or a trainer's format.")] = PairFormat("pairs"),
    min_chosen: Annotated[float, typer.Option(help="The chosen program passes at least this share.")] = 0.8,
    min_gap: Annotated[float, typer.Option(help="Chosen minus rejected pass rate, at least.")] = 0.4,
    min_rejected: Annotated[float, typer.Option(help="The rejected program passes more than this share.")] = 0.0,
    max_per_question: Annotated[Optional[int], typer.Option(help="Keep at most this many pairs per question (largest gaps first).", min=1)] = None,
    cross_model: Annotated[bool, typer.Option(help="Also pair programs of different models.")] = False,
    model: Annotated[Optional[list[str]], typer.Option(help="Use only this model's samples (repeatable).")] = None,
    prompt_style: Annotated[PromptStyle, typer.Option(help="How the trainers' formats show a question and a program: ours, or the released AceCodePair-300K's (AceCodeRM's).")] = PromptStyle("acecoder"),
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed row instead of skipping it.")] = False,
) -> None:
    """Preference pairs: within a question, a program passing >= 0.8 over one passing 0.4 less but > 0."""
    from acecoder.cli._support import fail, print_rows_summary, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import pairs as stage

    settings = stage.PairSettings(
        min_chosen=min_chosen, min_gap=min_gap, min_rejected=min_rejected,
        max_per_question=max_per_question, cross_model=cross_model, models=model or None,
    )
    try:
        with progress_bar("pairs", unit="questions") as bar:
            summary = stage.run(dataset, output, settings=settings, format=format.value, style=prompt_style.value,
                                strict=strict, progress=bar)
    except AcecoderError as error:
        fail(error)
    extra = [f"questions with pairs {summary.questions_with_pairs}, duplicate programs dropped {summary.duplicate_programs}"]
    if summary.dropped_by_cap:
        extra.append(f"dropped by the cap: {summary.dropped_by_cap}")
    if summary.dataset_info:
        extra.append(f"LLaMA-Factory entry {Path(output).stem!r} in {summary.dataset_info}")
    print_rows_summary("pairs", summary.pairs, summary, extra)


@app.command("hard-subset")
def hard_subset(
    dataset: Annotated[str, typer.Argument(help="The filtered dataset: .jsonl, .parquet, a datasets folder or hf:NAME.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The RL prompts: .jsonl, .parquet (verl) or a datasets folder.")],
    format: Annotated[RowFormat, typer.Option(help="Dataset rows, or an RL trainer's format.")] = RowFormat("rows"),
    prompt: Annotated[RLPrompt, typer.Option(help="What the RL formats ask the policy: the bare question (the released context_messages: the method's), or acecoder (our instruction, the question and its first test).")] = RLPrompt("question"),
    mean_quantile: Annotated[float, typer.Option(help="Keep questions whose mean pass rate is at most this quantile.", min=0, max=1)] = 0.5,
    std_quantile: Annotated[float, typer.Option(help="Of those, keep the ones whose spread is at least this quantile.", min=0, max=1)] = 0.5,
    model: Annotated[Optional[list[str]], typer.Option(help="Count only this model's samples (repeatable).")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed row instead of skipping it.")] = False,
) -> None:
    """The RL subset: hard questions (low mean pass rate) whose samples disagree (high spread)."""
    from acecoder.cli._support import fail, print_rows_summary, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import hard_subset as stage

    settings = stage.HardSubsetSettings(mean_quantile=mean_quantile, std_quantile=std_quantile, models=model or None)
    try:
        with progress_bar("hard-subset", unit="questions") as bar:
            summary = stage.run(dataset, output, settings=settings, format=format.value, prompt=prompt.value,
                                strict=strict, progress=bar)
    except AcecoderError as error:
        fail(error)
    def shown(value):
        return "n/a" if value is None else f"{value:.3f}"

    extra = [
        f"mean pass rate <= {shown(summary.mean_threshold)}: {summary.hard} questions; "
        f"of those, spread >= {shown(summary.std_threshold)}"
    ]
    print_rows_summary("questions", summary.selected, summary, extra)
