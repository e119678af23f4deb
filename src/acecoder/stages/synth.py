"""Stage `synth`: seeds -> (question, tests) with a language model (method §1–2).

In:  seeds in any format `read_records` takes (.jsonl, .parquet, a datasets folder,
     hf:NAME), in one of the three seed families (`acecoder.synth.seeds`).
Out: `Question` records, one JSON line per question, appended as each is parsed:
     `id` (the seed's), `source`, `question`, `tests`, `reference` (the seed's code:
     a program that was written for the task, which the filter's report runs against
     the tests), `metadata` (`seed_instruction`, `model`, `temperature`,
     `finish_reason`, `dropped_tests` by reason, `repairs`).
     The model's answers are cached in `<output>.cache.sqlite` (or `cache_path`).

Resume: `resume=True` keeps the output and skips the seed ids already in it; every
answer already received, whether it was written, failed to parse or belongs to a
chunk a failure interrupted, comes back from the cache without a request. A seed whose
answer gave no question is not written, so a rerun asks the cache again (free) and
the model again only when the settings changed.

A request that fails (refused for good: a prompt over the context, a content filter;
or still failing after its retries) is counted in `failed_requests` by reason and the run
goes on; a rerun asks again for the transient ones, and with `retry_failed` for the
refused ones too. A down endpoint (`acecoder.llm.FailureGuard`) stops the run with an
LLMError that says how much was written; the output and the cache keep everything done
until then.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.jsonl import JsonlWriter
from acecoder.data.tables import check_output
from acecoder.errors import ConfigError
from acecoder.llm import FailureGuard, LLMBackend, LLMError, record_failure
from acecoder.records import Question
from acecoder.synth.expected import with_expected_from
from acecoder.synth.parse import Failure, parse_response
from acecoder.synth.prompt import build_request, load_templates
from acecoder.synth.seeds import FAMILIES, Seed, iter_seeds

__all__ = ["SynthSettings", "SynthSummary", "run", "validate"]

MAX_EXAMPLES = 20  # failed responses and malformed rows listed in the summary (the counts are complete)
# Chunks of `concurrency` seeds, 8 in flight: the next ones are sent while the first finish, so no
# lane idles, and progress (and the output, in seed order) moves every `concurrency` answers.
CHUNKS_IN_FLIGHT = 8


@dataclass(kw_only=True)
class SynthSettings:
    model: str  # the model name the endpoint serves (the method: gpt-4o-mini)
    base_url: str | None = None  # the OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1
    api_key: str | None = None  # None: OPENAI_API_KEY, or no key
    temperature: float = 0.7  # the paper's (§2)
    sampling_seed: int | None = None  # the sampling seed of every request; None: the server's own (random)
    max_tokens: int = 2048  # per answer; about 20 tests fit well within it
    concurrency: int = 16  # requests in flight
    json_mode: bool = True  # ask for a JSON object (response_format) where the server supports it
    extra_body: dict | None = None  # more request fields, e.g. a llama.cpp JSON schema (see synth.prompt)
    template: str | Path | None = None  # a prompt template file (acecoder.synth.prompt); None: ours
    retry_failed: bool = False  # ask again for seeds whose request was refused for good on an earlier run
    cache_path: str | Path | None = None  # None: <output>.cache.sqlite
    min_tests: int = 1  # drop a question with fewer valid tests (counted as too_few_tests)
    # Expected values from the seed's program (acecoder.synth.expected): for seeds whose programs
    # are right and a question writer too weak to compute outputs. Off: the method's.
    expected_from_reference: bool = False
    source: str | None = None  # force a seed family: evol, oss or stack; None: detect from the fields
    limit: int | None = None  # synthesize from the first `limit` seeds only
    max_retries: int = 6  # retries of one request (timeouts, 429, 5xx) before the run stops
    timeout: float = 300.0  # seconds for one request
    prompt_price: float = 0.0  # per million tokens, for the summary's cost; 0: unknown
    completion_price: float = 0.0


@dataclass(kw_only=True)
class SynthSummary:
    """What the run did; `to_dict()` is its JSON form."""

    rows: int = 0  # seed rows read
    seeds: int = 0  # rows that became seeds
    seed_drops: Counter = field(default_factory=Counter)  # SeedDrop -> rows
    skipped_rows: list[str] = field(default_factory=list)  # first MAX_EXAMPLES malformed rows, with file:line
    already_done: int = 0  # seeds whose question the output already held (resume)
    requested: int = 0  # seeds sent to the model by this run (cache hits included)
    failed: Counter = field(default_factory=Counter)  # parse.Failure -> responses that gave no question
    failed_examples: list[dict] = field(default_factory=list)  # id, reason, the answer's start
    failed_requests: dict = field(default_factory=dict)  # requests that failed (no answer), by reason: http_400, ...
    failed_request_examples: list[dict] = field(default_factory=list)  # id, reason, kind, status, message
    test_drops: Counter = field(default_factory=Counter)  # parse.TestDrop -> tests, over written questions
    repairs: Counter = field(default_factory=Counter)  # parse.Repair -> responses that needed it
    expected_from_reference: Counter = field(default_factory=Counter)  # tests rewritten / dropped (see the setting)
    cut_by_token_limit: int = 0  # answers that ended at max_tokens (finish_reason "length")
    written: int = 0  # questions written by this run
    tests_written: int = 0
    usage: dict = field(default_factory=dict)  # acecoder.llm.Usage of the run, with its cost
    output: str = ""
    cache: str = ""
    seconds: float = 0.0

    @property
    def mean_tests(self) -> float:
        """Tests per written question (the paper: 18.27 before filtering, §2)."""
        return self.tests_written / self.written if self.written else 0.0

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for name in ("seed_drops", "failed", "test_drops", "repairs", "expected_from_reference"):
            data[name] = {str(key): count for key, count in sorted(getattr(self, name).items())}
        data["mean_tests"] = round(self.mean_tests, 3)
        return data


def validate(settings: SynthSettings, *, need_endpoint: bool = True) -> None:
    if not isinstance(settings.model, str) or not settings.model:
        raise ConfigError("model: name the model the endpoint serves (e.g. gpt-4o-mini)")
    if need_endpoint and not settings.base_url:
        raise ConfigError("base_url: give the OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    if not 0 <= settings.temperature <= 2:
        raise ConfigError(f"temperature must be between 0 and 2, not {settings.temperature}")
    if settings.max_tokens < 1:
        raise ConfigError(f"max_tokens must be 1 or more, not {settings.max_tokens}")
    if settings.concurrency < 1:
        raise ConfigError(f"concurrency must be 1 or more, not {settings.concurrency}")
    if settings.min_tests < 1:
        raise ConfigError(f"min_tests must be 1 or more (a question needs a test), not {settings.min_tests}")
    if settings.source is not None and settings.source not in FAMILIES:
        raise ConfigError(f"source must be one of {', '.join(FAMILIES)} or unset (detect), not {settings.source!r}")
    if settings.limit is not None and settings.limit < 1:
        raise ConfigError(f"limit must be 1 or more (or unset for all seeds), not {settings.limit}")
    if settings.max_retries < 0 or not settings.timeout > 0:
        raise ConfigError("max_retries must be 0 or more and timeout a positive number of seconds")


def run(
    seeds_path: str | Path,
    output_path: str | Path,
    *,
    settings: SynthSettings,
    backend: LLMBackend | None = None,
    strict: bool = False,
    resume: bool = False,
    progress=None,
) -> SynthSummary:
    """Synthesize a question and tests for every seed of `seeds_path` into `output_path` (.jsonl).

    `backend`: any LLMBackend (used as given, not closed); None builds an OpenAIClient
    from the settings, with the response cache. `strict`: a malformed seed row stops
    the run (InputError with file and line) before any request; otherwise it is
    skipped and counted. `progress` gets `total(n)` once the seeds are read and
    `advance(item)` per seed answered (the Question, or the Seed when it gave none).
    """
    # ---- validate: everything that can be refused is refused before a request
    validate(settings, need_endpoint=backend is None)
    output_path = Path(output_path)
    if output_path.suffix != ".jsonl":
        raise ConfigError(f"output {output_path}: synth writes JSON lines, so name a .jsonl file")
    check_output(output_path, seeds_path)
    cache_path = Path(settings.cache_path or f"{output_path}.cache.sqlite")
    check_output(cache_path, seeds_path, output_path)
    templates = load_templates(settings.template)
    summary = SynthSummary(output=str(output_path), cache=str(cache_path))
    started = time.monotonic()

    # ---- set up: every seed read (and checked) before any request
    skipped: list = []
    seeds = list(
        iter_seeds(
            seeds_path,
            source=settings.source,
            strict=strict,
            drops=summary.seed_drops,
            skipped=skipped,
            limit=settings.limit,
        )
    )
    summary.seeds = len(seeds)
    summary.rows = summary.seeds + sum(summary.seed_drops.values())
    summary.skipped_rows = [str(problem) for problem in skipped[:MAX_EXAMPLES]]

    # ---- run and write
    with JsonlWriter(output_path, resume=resume) as writer:
        todo = [seed for seed in seeds if seed.id not in writer.done]
        summary.already_done = len(seeds) - len(todo)
        if progress:
            progress.total(len(todo))
        if todo:
            own = backend is None
            if own:
                from acecoder.llm import OpenAIClient

                backend = OpenAIClient.from_settings(settings, cache_path=cache_path)
            engine = None
            if settings.expected_from_reference:
                from acecoder.execution import Engine

                engine = Engine()
            try:
                asyncio.run(_synthesize(todo, backend, own, writer, settings, templates, summary, progress, engine))
            except LLMError as error:
                error.args = (
                    f"{error.args[0]}\nstopped after {summary.written} new questions (kept in {output_path}; "
                    f"answers received are cached in {cache_path}): rerun with resume to continue",
                )
                raise
            finally:
                if engine is not None:
                    engine.close()
                usage = backend.usage
                summary.usage = {**dataclasses.asdict(usage), "cost": usage.cost}
    summary.seconds = time.monotonic() - started
    return summary


async def _synthesize(todo, backend, own, writer, settings, templates, summary, progress, engine) -> None:
    """Send the seeds in chunks, at most CHUNKS_IN_FLIGHT at once; write in seed order."""
    size = settings.concurrency

    async def answer(chunk: list[Seed]):
        requests = [
            build_request(
                seed,
                templates,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                json_mode=settings.json_mode,
                sampling_seed=settings.sampling_seed,
            )
            for seed in chunk
        ]
        # One call per request: a request that fails is that seed's, not its neighbours'.
        answers = await asyncio.gather(*(backend.generate([request]) for request in requests), return_exceptions=True)
        return chunk, [answer if isinstance(answer, BaseException) else answer[0] for answer in answers]

    in_flight: deque[asyncio.Task] = deque()
    guard = FailureGuard()
    try:
        for begin in range(0, len(todo), size):
            in_flight.append(asyncio.create_task(answer(todo[begin : begin + size])))
            summary.requested += len(todo[begin : begin + size])
            if len(in_flight) >= CHUNKS_IN_FLIGHT:
                _write(*await in_flight.popleft(), backend.model, writer, settings, summary, progress, guard, engine)
        while in_flight:
            _write(*await in_flight.popleft(), backend.model, writer, settings, summary, progress, guard, engine)
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        if own:
            await backend.aclose()


def _write(chunk, results, model, writer, settings, summary, progress, guard, engine=None) -> None:
    for seed, result in zip(chunk, results):
        if isinstance(result, BaseException):
            guard.failed(result)  # raises when the endpoint, not this request, is the problem
            record_failure(summary.failed_requests, summary.failed_request_examples, seed.id, result)
            if progress:
                progress.advance(seed)
            continue
        guard.ok()
        choice = result.choices[0]
        if choice.finish_reason == "length":
            summary.cut_by_token_limit += 1
        parsed = parse_response(choice.text)
        summary.repairs.update(set(parsed.repairs))
        if parsed.ok and engine is not None and seed.code:
            parsed.tests, counts = with_expected_from(seed.code, parsed.tests, engine)
            summary.expected_from_reference.update(counts)
        if parsed.ok and len(parsed.tests) < settings.min_tests:
            parsed.failure = Failure.TOO_FEW_TESTS
        if not parsed.ok:
            summary.failed[parsed.failure] += 1
            if len(summary.failed_examples) < MAX_EXAMPLES:
                summary.failed_examples.append(
                    {"id": seed.id, "reason": str(parsed.failure), "answer": choice.text[:300]}
                )
            if progress:
                progress.advance(seed)
            continue
        question = Question(
            id=seed.id,
            source=seed.source,
            question=parsed.question,
            tests=parsed.tests,
            reference=seed.code,
            metadata={
                "seed_instruction": seed.instruction,
                "model": model,
                "temperature": settings.temperature,
                "finish_reason": choice.finish_reason,
                "dropped_tests": {str(reason): count for reason, count in sorted(parsed.dropped.items())},
                "repairs": [str(repair) for repair in parsed.repairs],
            },
        )
        writer.write(dataclasses.asdict(question))
        summary.written += 1
        summary.tests_written += len(question.tests)
        summary.test_drops.update(parsed.dropped)
        if progress:
            progress.advance(question)
