"""Stage `bon`: best-of-N on a benchmark, the method's main result (§8).

Sample N programs per problem, pick one with a selector, measure pass@1 of the picks,
for N = 1, 2, 4, ... up to the number of samples, from one set of samples (see
`acecoder.evaluation.bestofn` for the selectors and how the curves are computed).

In:
- a benchmark (`acecoder.benchmarks`), and its samples: a `Sample` file, or a backend
  to sample with (the `sample` stage; method: temperature 1.0);
- for the reward-model selector: `Score` records (`acecoder score`), and/or a reward
  model (`acecoder.rm.RewardModel`) that scores the samples lacking one;
- for the agreement selector (CodeT): generated tests per problem, a file of
  `Question` records (id = problem id, tests = asserts on the entry point), or asserts
  the backend writes (`generate_tests` per problem, parsed by `acecoder.synth.parse`);
- greedy: the programs of `greedy_model` (in the samples file or a greedy file); when
  sampling, one greedy program per problem of `greedy_model` (by default the sampled
  model) into `greedy.jsonl`, the paper's baseline. Given a samples file and no greedy
  model, there is no greedy line (a temperature sample is not a greedy program).

Out, in the output folder (what the pipeline report reads):
- `bon.json`: {"benchmark", "model", "n": [1, 2, 4, ...], "pass@1": {"reward_model":
  [...], "agreement": [...], "combined": [...], "greedy": [...], "average": [...],
  "oracle": [...]} (one value per N, fractions in [0, 1]), "interval95" (the same names:
  [low, high] per N, a 95% bootstrap interval over problems), "difference" ({"reward_model
  - average": {"mean": [...], "interval95": [...]}}: paired per problem), "selectors", "draws",
  "seed", "problems" (used), "problems_total", "excluded" (fewer samples than N's
  maximum, or none), "samples_per_problem", "greedy" (its source), "reward_model",
  "tests" (where generated tests came from), "seconds", "seconds_by_step"}.
- `bon.png`: pass@1 against N, one line per selector and baseline.
- `executions.jsonl` (verdicts on the benchmark's tests, as `eval` writes them),
  `greedy_executions.jsonl`, `agreement.jsonl` (verdicts on the generated tests),
  `scores.jsonl` (scores this run computed), `generated_tests.jsonl`: all resumable
  with `resume` (rerun without it after changing the tests or the reward model).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.data.tables import read_records, write_records
from acecoder.errors import ConfigError, InputError
from acecoder.evaluation.problems import (
    Continued,
    execute_samples,
    load_problems,
    read_samples,
    sample_problems,
)
from acecoder.records import Problem, Question, Score

__all__ = ["BonSettings", "BonSummary", "generate_tests", "run"]

TEST_PROMPT = (
    "{prompt}\n\nDo not solve the problem. Write {count} assert statements that call `{entry}` on "
    "different inputs and check the expected outputs, in one ```python code block."
)


@dataclass(kw_only=True)
class BonSettings:
    benchmark: str
    """The benchmark (see `acecoder.benchmarks.BENCHMARKS`)."""
    path: str | None = None
    """Its released file; None: the shipped copy (HumanEval) or the hub."""
    benchmark_settings: dict = field(default_factory=dict)
    """The loader's settings, e.g. {"start_date": "2024-08-01"} for livecodebench."""
    limit: int | None = None
    """Only the first `limit` problems."""
    model: str | None = None
    """The policy model whose samples are chosen from; None: the samples file's only model."""
    selectors: list[str] | None = None
    """Selectors to report; None: every one the inputs allow (reward_model with scores,
    agreement with generated tests, combined with both)."""
    n: int | None = None
    """Use samples 0..n-1 of each problem; None: as many as every used problem has (the most common count)."""
    draws: int = 200
    """Random N-subsets per problem and N for the agreement selectors (all subsets when fewer)."""
    seed: int = 0
    """Seed of those draws."""
    greedy_model: str | None = None
    """The model name of the greedy programs; None: when sampling, the sampled model's; else no greedy line."""
    generate_tests: int = 0
    """Asserts to ask the backend for per problem (agreement), when no tests file is given; 0: none."""
    test_max_tokens: int = 384
    """New tokens of the answer holding the generated tests (an assert is ~20-30 tokens)."""
    timeout: float | None = None
    """Seconds per test; None: the benchmark's own limit."""
    workers: int | None = None
    """Sandbox processes (default: one per CPU core)."""
    memory_mb: int = 2048
    """Address-space limit of each program, MiB."""
    batch_size: int | None = None
    """Sequences per reward-model batch (None: the model's default)."""

    def check(self) -> None:
        from acecoder.evaluation import SELECTORS

        for selector in self.selectors or []:
            if selector not in SELECTORS:
                raise ConfigError(f"unknown selector {selector!r}: use one of {', '.join(SELECTORS)}")
        if self.n is not None and self.n < 1:
            raise ConfigError(f"n is {self.n}: give at least 1")
        if self.draws < 1:
            raise ConfigError(f"draws is {self.draws}: give at least 1")
        if self.generate_tests < 0:
            raise ConfigError(f"generate_tests is {self.generate_tests}: give 0 or more")
        if self.test_max_tokens < 1:
            raise ConfigError(f"test_max_tokens is {self.test_max_tokens}: give at least 1")


@dataclass(kw_only=True)
class BonSummary:
    """bon.json, as a record."""

    benchmark: str = ""
    model: str = ""
    n: list[int] = field(default_factory=list)
    pass_at_1: dict = field(default_factory=dict)
    interval95: dict = field(default_factory=dict)  # name -> [[low, high] per N], bootstrap over problems
    difference: dict = field(default_factory=dict)  # "<selector> - average" -> {"mean", "interval95"}, paired
    selectors: list[str] = field(default_factory=list)
    draws: int = 0
    seed: int = 0
    problems: int = 0
    problems_total: int = 0
    excluded: int = 0
    samples_per_problem: int = 0
    greedy: str = ""
    reward_model: str | None = None
    tests: str | None = None
    output: str = ""
    seconds: float = 0.0
    seconds_by_step: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        row = dataclasses.asdict(self)
        row["pass@1"] = row.pop("pass_at_1")
        return row


def run(
    output_dir: str | Path,
    *,
    settings: BonSettings,
    samples_path: str | Path | None = None,
    sample_settings=None,
    backend=None,
    greedy_path: str | Path | None = None,
    scores_path: str | Path | None = None,
    reward_model=None,
    tests_path: str | Path | None = None,
    resume: bool = False,
    progress=None,
) -> BonSummary:
    """Best-of-N curves for the benchmark; writes bon.json and bon.png into `output_dir`.

    sample_settings / backend: sample when `samples_path` is None (the method:
        temperature 1.0); the same model writes the generated tests when
        `settings.generate_tests` asks for them.
    reward_model: a checkpoint folder (loaded with `acecoder.rm.RewardModel.load`) or a
        loaded model with `.name` and `.score(questions, programs, ...)`.
    progress: gets `total(n)` and `advance(item)` for each problem sampled, program run,
        problem given tests and program scored, and `phase(unit)` as each pass begins.
    """
    from acecoder.evaluation import SELECTORS, Candidates, curves, plot_curves

    started = time.monotonic()
    settings.check()
    if samples_path is None and sample_settings is None:
        raise ConfigError("give a samples file, or sampling settings (a backend to sample with)")
    progress = Continued(progress) if progress else None
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    clock = time.monotonic()

    def step(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        steps[name] = steps.get(name, 0.0) + now - clock
        clock = now

    problems = load_problems([settings.benchmark], paths={settings.benchmark: settings.path} if settings.path else {},
                             limit=settings.limit, benchmark_settings={settings.benchmark: settings.benchmark_settings})
    found = problems[settings.benchmark]
    if samples_path is None:
        _phase(progress, "problems sampled")
        samples_path = sample_problems(problems, output_dir, sample_settings, backend=backend, resume=resume,
                                       progress=progress)
        # The paper's greedy baseline is a real greedy program per problem: of the sampled
        # model unless another is named.
        settings.greedy_model = settings.greedy_model or sample_settings.model
        greedy_settings = dataclasses.replace(sample_settings, model=settings.greedy_model, oracle=True)
        _phase(progress, "greedy programs")
        greedy_path = sample_problems(problems, output_dir, greedy_settings, backend=backend, resume=resume,
                                      name="greedy.jsonl", progress=progress)
        settings.model = settings.model or sample_settings.model
        step("sampling")
    samples, model = read_samples(samples_path, model=settings.model, skipped=[])

    # Which samples take part: the first n of each problem that has n.
    counts = [len(samples.get(p.id, [])) for p in found]
    n = settings.n or (max({c for c in counts if c}, key=counts.count) if any(counts) else 0)
    if n == 0:
        raise InputError(f"no samples of model {model} for any problem of {settings.benchmark}", path=str(samples_path))
    used = [p for p in found if len(samples.get(p.id, [])) >= n]
    samples = {p.id: samples[p.id][:n] for p in used}
    problems = {settings.benchmark: used}

    _phase(progress, "programs run")
    correct, _ = execute_samples(problems, samples, output_dir / "executions.jsonl", timeout=settings.timeout,
                                 workers=settings.workers, memory_mb=settings.memory_mb, resume=resume,
                                 progress=progress)
    greedy, greedy_source = _greedy(settings, problems, samples, correct, samples_path, greedy_path, output_dir, resume)
    step("execution")

    tests, tests_source = _generated_tests(used, tests_path, backend, sample_settings, settings, output_dir, resume,
                                           progress)
    step("test generation")
    if backend is not None and isinstance(reward_model, (str, Path)):
        # The sampling engine is done: its GPU memory goes back before the reward model loads
        # (vLLM keeps gpu_memory_utilization of the card, 90% by default, until shut down).
        asyncio.run(backend.aclose())
    scores, rm_name = _scores(used, samples, model, scores_path, reward_model, settings, output_dir, resume, progress)
    step("scoring")
    selectors = settings.selectors
    if selectors is None:  # every selector the inputs allow
        needs = {"reward_model": scores is not None, "agreement": tests is not None,
                 "combined": scores is not None and tests is not None}
        selectors = [s for s in SELECTORS if needs[s]]
    vectors = None
    if tests is not None and {"agreement", "combined"} & set(selectors):
        _phase(progress, "programs run on generated tests")
        vectors = _agreement(used, samples, tests, settings, output_dir, resume, progress)
    step("agreement")
    candidates = [
        Candidates(
            id=p.id,
            correct=correct[(settings.benchmark, p.id)],
            scores=[scores[s.id] for s in samples[p.id]] if scores else None,
            vectors=vectors.get(p.id) if vectors else None,
            greedy=greedy.get(p.id),
        )
        for p in used
    ]
    table = curves(candidates, selectors=selectors, draws=settings.draws, seed=settings.seed)
    order = [*selectors, "greedy", "average", "oracle"]
    table["pass@1"] = {name: table["pass@1"][name] for name in order if name in table["pass@1"]}
    plot_curves(table, output_dir / "bon.png", title=f"best-of-N on {settings.benchmark} ({model})")
    step("selection")

    summary = BonSummary(
        benchmark=settings.benchmark, model=model, n=table["n"], pass_at_1=table["pass@1"],
        interval95=table["interval95"], difference=table["difference"], selectors=list(selectors),
        draws=settings.draws, seed=settings.seed, problems=len(used), problems_total=len(found),
        excluded=len(found) - len(used), samples_per_problem=n, greedy=greedy_source, reward_model=rm_name,
        tests=tests_source, output=str(output_dir), seconds_by_step=steps,
    )
    summary.seconds = time.monotonic() - started
    write_atomic(output_dir / "bon.json", json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


# ---------------------------------------------------------------- the baselines' and selectors' inputs


def _greedy(settings, problems, samples, correct, samples_path, greedy_path, output_dir, resume):
    """problem id -> the greedy program's correctness, and where it came from."""
    name = settings.benchmark
    if not settings.greedy_model:  # no greedy program: no greedy line (a temperature sample is not one)
        return {}, "none (no greedy program: set greedy_model, or let bon sample)"
    greedy_samples, _ = read_samples(greedy_path or samples_path, model=settings.greedy_model, skipped=[])
    greedy_samples = {pid: found[:1] for pid, found in greedy_samples.items() if pid in samples}
    # A file of their own: a greedy run of the same model has the same sample ids.
    verdicts, _ = execute_samples(problems, greedy_samples, output_dir / "greedy_executions.jsonl",
                                  timeout=settings.timeout, workers=settings.workers, memory_mb=settings.memory_mb,
                                  resume=resume)
    missing = [pid for pid in samples if (name, pid) not in verdicts]
    if missing:
        raise InputError(f"no greedy program of {settings.greedy_model} for {len(missing)} problems, e.g. {missing[0]}",
                         path=str(greedy_path or samples_path))
    # verdicts also holds the base suite's ("humaneval+/base"): the greedy line is the benchmark's own suite
    return {pid: verdicts[(name, pid)][0] for pid in samples}, f"model {settings.greedy_model}"


def _scores(problems: list[Problem], samples, model, scores_path, reward_model, settings, output_dir, resume,
            progress=None):
    """Sample id -> reward-model score (or None when no scores are asked for), and the RM's name."""
    scores: dict[str, float] = {}
    names: set[str] = set()
    if scores_path is not None:
        for record in read_records(scores_path, Score, strict=False, skipped=[]):
            if record.model == model:
                scores[record.id] = record.score
                names.add(record.reward_model)
        if len(names) > 1:
            raise InputError(f"scores of several reward models ({', '.join(sorted(names))}): keep one", path=str(scores_path))
    wanted = [(p, s) for p in problems for s in samples[p.id]]
    missing = [(p, s) for p, s in wanted if s.id not in scores]
    if reward_model is None:
        if scores_path is None:
            return None, None
        if missing:
            raise InputError(f"{len(missing)} samples have no score, e.g. {missing[0][1].id}: "
                             "score them (acecoder score) or give a reward model", path=str(scores_path))
        return scores, names.pop() if names else None
    if isinstance(reward_model, (str, Path)):
        from acecoder.rm import RewardModel

        reward_model = RewardModel.load(reward_model)
    path = output_dir / "scores.jsonl"
    with JsonlWriter(path, resume=resume) as writer:
        for row in (r for _, r in read_jsonl(path, bad_lines=[])) if resume and path.exists() else ():
            if row.get("reward_model") == reward_model.name and row.get("model") == model:
                scores.setdefault(f"{row['question_id']}/{row['model']}/{row['sample_index']}", row["score"])
        missing = [(p, s) for p, s in wanted if s.id not in scores]
        _phase(progress, "programs scored")
        if progress:
            progress.total(len(missing))
        for start in range(0, len(missing), 64):  # written as they come: a kill keeps what was scored
            chunk = missing[start : start + 64]
            values = reward_model.score([p.prompt for p, _ in chunk], [s.program for _, s in chunk],
                                        batch_size=settings.batch_size)
            for (_, s), value in zip(chunk, values):
                scores[s.id] = float(value)
                writer.write(dataclasses.asdict(Score(question_id=s.question_id, model=model, sample_index=s.sample_index,
                                                      reward_model=reward_model.name, score=float(value))))
                if progress:
                    progress.advance(s)
    return scores, reward_model.name


def _generated_tests(problems, tests_path, backend, sample_settings, settings, output_dir, resume, progress=None):
    """problem id -> generated asserts (None when agreement is not asked for), and their source."""
    if tests_path is not None:
        tests = {q.id: q.tests for q in read_records(tests_path, Question, strict=False, skipped=[])}
        return {p.id: tests.get(p.id, []) for p in problems}, str(tests_path)
    if not settings.generate_tests:
        return None, None
    if backend is None and sample_settings is None:
        raise ConfigError("generate_tests needs a model to ask: give sampling settings or a backend")
    path = output_dir / "generated_tests.jsonl"
    done = ({q.id: q.tests for q in read_records(path, Question, strict=False, skipped=[], allow_empty=True)}
            if resume and path.exists() else {})
    todo = [p for p in problems if p.id not in done]
    if todo:
        _phase(progress, "problems given tests")
        done.update(asyncio.run(_ask_for_tests(todo, backend, sample_settings, settings, output_dir, progress)))
        write_records(path, [Question(id=p.id, source=p.benchmark, question=p.prompt, tests=done[p.id]) for p in problems])
    model = getattr(backend, "model", None) or sample_settings.model
    return {p.id: done.get(p.id, []) for p in problems}, f"generated by {model}"


async def _ask_for_tests(problems, backend, sample_settings, settings, output_dir, progress):
    own = backend is None
    if own:  # the endpoint the samples came from, with a cache of its own
        from acecoder.llm import OpenAIClient

        backend = OpenAIClient.from_settings(sample_settings, cache_path=output_dir / "generated_tests.cache.sqlite")
    try:
        return await generate_tests(problems, backend, count=settings.generate_tests,
                                    max_tokens=settings.test_max_tokens, progress=progress)
    finally:
        if own:
            await backend.aclose()


async def generate_tests(
    problems: list[Problem], backend, *, count: int = 10, max_tokens: int = 384, progress=None
) -> dict[str, list[str]]:
    """Problem id -> the valid asserts the backend writes for it (CodeT's generated
    tests: one greedy answer per problem, parsed by `acecoder.synth.parse`).
    progress: gets `total(n)` and `advance(problem)` as each answer comes back."""
    from acecoder.data.code import extract_code
    from acecoder.llm import ChatRequest
    from acecoder.synth.parse import clean_tests, split_statements

    requests = [
        ChatRequest(messages=[{"role": "user", "content": TEST_PROMPT.format(
            prompt=p.prompt, count=count, entry=p.entry_point or "the solution")}], n=1, temperature=0.0,
            max_tokens=max_tokens)
        for p in problems
    ]
    from acecoder.llm import FailureGuard

    # One call per request: a problem whose request fails gets no generated tests (the
    # agreement selector then has nothing to go on for it); a dead endpoint stops the stage.
    async def ask(problem, request):
        try:
            return await backend.generate([request])
        finally:
            if progress:
                progress.advance(problem)

    if progress:
        progress.total(len(requests))
    results = await asyncio.gather(*(ask(p, r) for p, r in zip(problems, requests)), return_exceptions=True)
    guard, tests = FailureGuard(), {}
    for problem, result in zip(problems, results):
        if isinstance(result, BaseException):
            guard.failed(result)
            tests[problem.id] = []
            continue
        found, _, _ = clean_tests(split_statements(extract_code(result[0].texts[0])))
        tests[problem.id] = [t for t in found if not problem.entry_point or problem.entry_point in t][:count]
    return tests


def _phase(progress, unit: str) -> None:
    if progress:
        progress.phase(unit)


def _agreement(problems, samples, tests, settings, output_dir, resume, progress):
    """problem id -> each sample's pass vector on the generated tests."""
    # The generated asserts replace the benchmark's suite, and with it what belongs to that
    # suite: its per-test limits and where its base part ends (EvalPlus); each assert is judged alone.
    suite_only = ("base_tests", "stop_at_timeout")
    generated = {p.id: dataclasses.replace(p, tests=tests.get(p.id, []), limits=None,
                                           metadata={k: v for k, v in p.metadata.items() if k not in suite_only})
                 for p in problems}
    verdicts_path = output_dir / "agreement.jsonl"
    execute_samples({settings.benchmark: list(generated.values())}, samples, verdicts_path, timeout=settings.timeout,
                    workers=settings.workers, memory_mb=settings.memory_mb, resume=resume, progress=progress)
    outcomes = {str(row["id"]): row["outcomes"] for _, row in read_jsonl(verdicts_path, bad_lines=[])}
    return {
        p.id: [tuple(o == "pass" for o in outcomes[f"{settings.benchmark}:{s.id}"]) for s in samples[p.id]]
        for p in problems
    }

