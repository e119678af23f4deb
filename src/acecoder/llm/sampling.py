"""Programs for questions: n per question from a policy model, or the oracle's one greedy program (§3).

The `sample` stage, and `eval` and `bon` when they sample a benchmark's problems, all
sample through `sample_questions`.

In:  a questions file (`Question` records: .jsonl, .parquet, a datasets folder or hf:NAME).
Out: one `Sample` record per program (`question_id`, `model`, `sample_index`,
     `completion` (the raw model output), `program` (the code extracted from it, without
     the asserts and prints models append: `acecoder.data.code.strip_test_code`)), as
     JSONL only: lines are appended and flushed as each question's answer arrives, so a
     kill loses nothing written, and `resume` continues. Convert the file afterwards with
     `acecoder.data.tables.write_records` if another format is wanted. Lines follow the
     order in which answers arrive, not the input order (every later stage groups by
     `question_id`).

The method (ACECODER, arXiv 2502.01718, §3): the policy model samples 16 programs per
question at temperature 0.7, top_p 1.0, at most 1,024 new tokens; the oracle
(Qwen2.5-Coder-32B-Instruct there) writes one greedy program per question, at most
1,024 new tokens. `SampleSettings` defaults to the policy setting; `oracle=True` is the
oracle's.

The prompt is `acecoder.prompts.chat(question, tests)`: the question and its first test,
the one template that preference pairs and the reward model use too. (The original
showed two tests and pre-filled the assistant turn with a sentence ending in
"```python"; we ask for a fenced block and extract the code, see `acecoder.data.code`.)

Resuming and paying once: every sample goes through the LLM backend's disk cache
(`<output>.cache.sqlite` by default), so a rerun, with or without `resume`, asks the
endpoint only for samples it never answered. With `resume` the output is kept and a
question whose samples 0..n-1 of this model are all in it is not even sent; samples
already written are not written twice. Several models can share one output file: run
each with `resume` (ids are `question_id/model/sample_index`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from acecoder import prompts
from acecoder.data.code import extract_code, strip_test_code
from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.data.tables import check_output, read_records
from acecoder.errors import ConfigError, InputError
from acecoder.records import Question, Sample

__all__ = ["SampleSettings", "SampleSummary", "sample_questions"]

MAX_PROBLEMS = 50  # skipped-row messages kept for the summary (the count is complete)


@dataclass(kw_only=True)
class SampleSettings:
    model: str
    """The model's name as the endpoint serves it; also the `model` of every Sample written."""
    base_url: str | None = None
    """The OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1 (needed unless a backend is passed)."""
    api_key: str | None = None
    """Bearer token; None reads OPENAI_API_KEY (and sends none when that is unset)."""
    n: int = 16
    """Samples per question (paper: 16). Ignored with `oracle` (1)."""
    temperature: float = 0.7
    """Sampling temperature (paper: 0.7; its best-of-N used 1.0). Ignored with `oracle` (0.0)."""
    top_p: float = 1.0
    """Nucleus sampling (paper: 1.0)."""
    max_tokens: int = 1024
    """New tokens per sample (paper: 1,024 for policy and oracle)."""
    seed: int | None = None
    """Sample i is requested alone with seed + i (reproducible, one request per sample); None: n per request."""
    concurrency: int = 16
    """Requests in flight at most."""
    timeout: float = 300.0
    """Seconds one request may take (connect, and the wait for each read)."""
    max_retries: int = 6
    """Retries of a request after timeouts, 429 and 5xx (with backoff); 0 fails at the first."""
    prompt_price: float = 0.0
    """Price per million prompt tokens, for the summary's cost (0: unknown)."""
    completion_price: float = 0.0
    """Price per million completion tokens, for the summary's cost (0: unknown)."""
    cache_path: str | Path | None = None
    """The sqlite response cache; None: `<output>.cache.sqlite`."""
    oracle: bool = False
    """The method's oracle: one greedy program per question. Overrides `n` to 1 and
    `temperature` to 0.0 (top_p, max_tokens and seed are used as given)."""
    pick: Literal["last", "longest"] = "last"
    """Which fenced python block of a completion is the program (`extract_code`)."""
    limit: int | None = None
    """Sample only the first `limit` valid questions of the file; None: all."""
    retry_failed: bool = False
    """Ask again for the questions whose request the server refused for good on an earlier run
    (kept in the cache); by default a rerun asks again only for those that failed transiently."""

    def sampling(self) -> dict:
        """The ChatRequest fields this run sends: the policy's settings, or the oracle's greedy ones."""
        n, temperature = (1, 0.0) if self.oracle else (self.n, self.temperature)
        return {
            "n": n,
            "temperature": temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }

    def check(self, *, has_backend: bool) -> None:
        if not self.model:
            raise ConfigError("model is empty: name the model the endpoint serves")
        if not has_backend and not self.base_url:
            raise ConfigError(
                "base_url is missing: give the endpoint's API root, e.g. http://127.0.0.1:8000/v1"
            )
        if self.n < 1:
            raise ConfigError(f"n is {self.n}: ask for at least 1 sample per question")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature is {self.temperature}: give a value in [0, 2]")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"top_p is {self.top_p}: give a value in (0, 1]")
        if self.max_tokens < 1:
            raise ConfigError(f"max_tokens is {self.max_tokens}: give at least 1")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency is {self.concurrency}: give at least 1")
        if self.timeout <= 0 or self.max_retries < 0:
            raise ConfigError("timeout must be positive and max_retries at least 0")
        if self.pick not in ("last", "longest"):
            raise ConfigError(f"pick is {self.pick!r}: give 'last' or 'longest'")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit is {self.limit}: give at least 1, or none for all questions")


@dataclass(kw_only=True)
class SampleSummary:
    """What the run did; `to_dict()` is the JSON summary."""

    questions: int = 0  # valid questions read (up to `limit`)
    skipped: int = 0  # malformed question rows passed over (strict=False)
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS skipped rows' messages
    already_done: int = 0  # questions whose n samples were all in the output (resume): not sent
    sampled: int = 0  # questions answered by this run
    samples: int = 0  # samples written by this run
    empty_programs: int = 0  # of those, programs empty after extraction
    truncated: int = 0  # of those, completions that hit max_tokens (finish_reason "length")
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    retried: dict = field(default_factory=dict)  # the faults that were retried, by reason (http_429, timeout, ...)
    prompt_tokens: int = 0  # as the server reports them
    completion_tokens: int = 0
    cache_hits: int = 0  # samples answered from the cache, with no request
    failed: dict = field(default_factory=dict)  # questions whose request failed, by reason (http_400, timeout, ...)
    failed_examples: list = field(default_factory=list)  # the first MAX_PROBLEMS: id, reason, kind, message
    cost: float = 0.0  # from the configured prices; 0 when unknown
    settings: dict = field(default_factory=dict)  # model and the sampling fields sent
    output: str = ""
    cache: str = ""  # the cache file ("" when a backend was passed in)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def sample_questions(
    questions_path: str | Path,
    output_path: str | Path,
    *,
    settings: SampleSettings,
    backend=None,
    strict: bool = False,
    resume: bool = False,
    progress=None,
) -> SampleSummary:
    """Sample programs for every question of `questions_path` into `output_path` (.jsonl).

    backend: an `acecoder.llm.LLMBackend`; None builds an `OpenAIClient` from the
        settings (and closes it at the end). A backend passed in stays open, and its
        own cache is used (`settings.cache_path` does not apply to it).
    strict: a malformed question row (bad JSON, a missing field, a repeated id) raises
        InputError naming file and line; otherwise it is skipped and counted.
    resume: keep the output and skip the questions whose samples are all there.
    progress: gets `total(n)` (questions to send) and `advance(result)` per question.

    Every question is read and checked before the first request. A request the server
    refuses for good (kind "item": a prompt over the context) or that still fails after its
    retries (kind "transient") is counted in `failed` by reason and the run goes on; a rerun
    with `resume` asks again for the transient ones (and, with `retry_failed`, the others).
    The run stops with the LLMError when the endpoint is unusable (kind "endpoint"), when
    many requests in a row failed transiently (`acecoder.llm.FailureGuard`), or when every
    request failed; the samples written until then stay.
    Runs its own event loop (`asyncio.run`): call it from synchronous code.
    """
    started = time.monotonic()
    settings.check(has_backend=backend is not None)
    output_path = Path(output_path)
    if output_path.suffix != ".jsonl":
        raise ConfigError(
            f"output {output_path}: sample writes .jsonl (streamed, resumable); "
            "convert it afterwards with acecoder.data.tables.write_records"
        )
    check_output(output_path, questions_path)
    cache_path = None
    if backend is None:
        cache_path = Path(settings.cache_path or f"{output_path}.cache.sqlite")
        check_output(cache_path, questions_path, output_path)

    summary = SampleSummary(
        settings={"model": settings.model, **settings.sampling(), "pick": settings.pick},
        output=str(output_path),
        cache=str(cache_path or ""),
    )
    skipped: list[InputError] = []
    n = settings.sampling()["n"]
    with JsonlWriter(output_path, resume=resume, key=None) as writer:  # resume: cuts a torn last line
        written = _written_ids(output_path, settings.model) if resume else set()

        def done(question: Question) -> bool:
            return all(f"{question.id}/{settings.model}/{i}" in written for i in range(n))

        # Two passes over the questions, none held: one counts (and checks) them, the
        # other feeds the requests' sliding window.
        for question in _read_questions(questions_path, strict=strict, skipped=skipped, limit=settings.limit):
            summary.questions += 1
            summary.already_done += done(question)
        summary.skipped = len(skipped)
        summary.problems = [str(problem) for problem in skipped[:MAX_PROBLEMS]]
        if progress:
            progress.total(summary.questions - summary.already_done)
        todo = (question for question in _read_questions(questions_path, strict=False, skipped=[], limit=settings.limit)
                if not done(question))
        asyncio.run(_sample(todo, settings, backend, cache_path, writer, written, summary, progress))
    summary.seconds = time.monotonic() - started
    return summary


# ---------------------------------------------------------------- plumbing: input and resume


def _read_questions(path, *, strict: bool, skipped: list[InputError], limit: int | None) -> Iterator[Question]:
    """The valid questions, each id once (a repeated id would give colliding sample ids)."""
    for count, question in enumerate(read_records(path, Question, strict=strict, skipped=skipped, unique="id"), 1):
        yield question
        if limit is not None and count == limit:
            return


def _written_ids(path: Path, model: str) -> set[str]:
    """Ids of the samples of `model` already in the output (other models sharing the
    file are not this run's business); a garbled line counts as not written."""
    ids = set()
    for _, row in read_jsonl(path, bad_lines=[]):
        if row.get("model") == model:
            ids.add(f"{row.get('question_id')}/{model}/{row.get('sample_index')}")
    return ids


# ---------------------------------------------------------------- the run


async def _sample(todo, settings, backend, cache_path, writer, written, summary, progress) -> None:
    own = backend is None
    if own:
        from acecoder.llm import OpenAIClient  # loads httpx: only when sampling

        backend = OpenAIClient.from_settings(settings, cache_path=cache_path)
    before = dataclasses.replace(backend.usage, errors=dict(backend.usage.errors))  # a snapshot, not the live counts
    try:
        await _stream(todo, settings, backend, writer, written, summary, progress)
    except Exception as error:
        from acecoder.llm import LLMError

        if isinstance(error, LLMError):  # say what is safe and how to go on
            error.args = (
                (
                    f"{error} [{summary.samples} samples of {summary.sampled} questions were written to "
                    f"{writer.path}; rerun with resume to continue]"
                ),
            )
        raise
    finally:
        _count_usage(summary, before, backend.usage)
        if own:
            await backend.aclose()


async def _stream(todo, settings, backend, writer, written, summary, progress) -> None:
    """One request per question (n samples), `2 * concurrency` questions in flight: a
    sliding window, so the backend never idles while a slow answer is awaited. Each
    answer is written as it arrives."""
    from acecoder.llm import ChatRequest, FailureGuard, record_failure

    sampling = settings.sampling()
    window = 2 * settings.concurrency
    queue = iter(enumerate(todo))
    pending: dict[asyncio.Task, tuple[int, Question]] = {}

    def launch() -> None:
        while len(pending) < window:
            item = next(queue, None)
            if item is None:
                return
            question = item[1]
            request = ChatRequest(messages=prompts.chat(question.question, question.tests), **sampling)
            pending[asyncio.ensure_future(backend.generate([request]))] = item

    guard, first_failure = FailureGuard(), None
    launch()
    try:
        while pending:
            finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            failure = None
            for task in sorted(finished, key=lambda t: pending[t][0]):
                _, question = pending.pop(task)
                if task.exception() is not None:
                    try:
                        guard.failed(task.exception())
                    except BaseException as fatal:
                        failure = failure or fatal
                        continue
                    first_failure = first_failure or task.exception()
                    record_failure(summary.failed, summary.failed_examples, question.id, task.exception())
                else:
                    guard.ok()
                    [result] = task.result()
                    _write(question, result, settings, writer, written, summary)
                if progress:
                    progress.advance(question)
            if failure is not None:  # the answers that did arrive are written first
                raise failure
            launch()
        if first_failure is not None and summary.sampled == 0 and summary.already_done == 0:
            first_failure.args = (f"{first_failure.args[0]}\nevery request failed ({summary.failed})",)
            raise first_failure
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _write(question: Question, result, settings: SampleSettings, writer, written: set[str], summary) -> None:
    summary.sampled += 1
    for index, choice in enumerate(result.choices):
        sample = Sample(
            question_id=question.id,
            model=settings.model,
            sample_index=index,
            completion=choice.text,
            program=strip_test_code(extract_code(choice.text, pick=settings.pick)),
        )
        if sample.id in written:  # resume of a question cut short: its earlier lines stay
            continue
        writer.write(dataclasses.asdict(sample))
        summary.samples += 1
        summary.empty_programs += not sample.program.strip()
        summary.truncated += choice.finish_reason == "length"


def _count_usage(summary: SampleSummary, before, after) -> None:
    for name in ("requests", "retries", "prompt_tokens", "completion_tokens", "cache_hits"):
        setattr(summary, name, getattr(after, name) - getattr(before, name))
    summary.retried = {reason: n - before.errors.get(reason, 0) for reason, n in sorted(after.errors.items())
                       if n > before.errors.get(reason, 0)}
    summary.cost = after.cost - before.cost
