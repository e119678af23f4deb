"""A benchmark's problems, programs sampled for them, and those programs judged on its tests.

    problems = load_problems(["humaneval+"])
    samples_path = sample_problems(problems, out, SampleSettings(model="qwen2.5-coder-0.5b", n=8))
    samples, model = read_samples(samples_path, model=None, skipped=[])
    correct, _ = execute_samples(problems, samples, out / "executions.jsonl")

What the `eval` and `bon` stages share: each is a recipe over these. Judging goes
through the execution engine (untrusted programs never run in this process), one
engine per time limit, with each benchmark's own limit per test.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

from acecoder.data.jsonl import JsonlWriter
from acecoder.data.tables import read_records, write_records
from acecoder.errors import ConfigError, InputError
from acecoder.records import Problem, Question, Sample

__all__ = ["Continued", "execute_samples", "load_problems", "read_samples", "sample_problems"]



def load_problems(
    names: list[str], *, paths: dict | None = None, limit: int | None = None, benchmark_settings: dict | None = None
) -> dict[str, list[Problem]]:
    """Benchmark name -> its problems; ids must be unique within a benchmark."""
    from acecoder.benchmarks import load_benchmark

    loaded = {}
    for name in dict.fromkeys(names):
        found = load_benchmark(name, path=(paths or {}).get(name), limit=limit, **(benchmark_settings or {}).get(name, {}))
        ids = [p.id for p in found]
        if len(set(ids)) != len(ids):
            raise InputError(f"benchmark {name} repeats problem ids", path=(paths or {}).get(name))
        loaded[name] = found
    return loaded


def sample_problems(problems: dict[str, list[Problem]], output_dir: Path, sample_settings, *, backend=None,
                    resume: bool = False, name: str = "samples.jsonl", progress=None) -> Path:
    """Sample programs for the problems (`acecoder.llm.sampling`); the samples file.

    The problems become Question records (the prompt as the question, no tests shown:
    a benchmark's tests are not the model's to see); problems sharing an id across
    benchmarks (HumanEval and HumanEval+) are sampled once.
    """
    from acecoder.llm.sampling import sample_questions

    questions = {}
    for found in problems.values():
        for p in found:
            questions.setdefault(p.id, Question(id=p.id, source=p.benchmark, question=p.prompt, tests=[]))
    output_dir.mkdir(parents=True, exist_ok=True)
    questions_path = output_dir / "questions.jsonl"
    write_records(questions_path, questions.values())
    samples_path = output_dir / name
    sample_settings = dataclasses.replace(sample_settings, limit=None)
    sample_questions(questions_path, samples_path, settings=sample_settings, backend=backend, resume=resume, progress=progress)
    return samples_path


def read_samples(path, *, model: str | None, skipped: list) -> tuple[dict[str, list[Sample]], str]:
    """question_id -> that model's samples (by sample index), and the model's name."""
    by_model: dict[str, dict[str, dict[int, Sample]]] = defaultdict(lambda: defaultdict(dict))
    for s in read_records(path, Sample, strict=False, skipped=skipped):
        s.completion = ""  # only the program runs; the raw text would double what is held
        by_model[s.model][s.question_id].setdefault(s.sample_index, s)
    if model is None:
        if len(by_model) > 1:
            raise ConfigError(f"{path} holds samples of several models ({', '.join(sorted(by_model))}): name one")
        if not by_model:
            raise InputError("no samples", path=str(path))
        model = next(iter(by_model))
    elif model not in by_model:
        raise ConfigError(f"{path} has no samples of model {model!r} (it has: {', '.join(sorted(by_model)) or 'none'})")
    return {q: [found[i] for i in sorted(found)] for q, found in by_model[model].items()}, model


def execute_samples(
    problems: dict[str, list[Problem]],
    samples: dict[str, list[Sample]],
    path: Path,
    *,
    timeout: float | None = None,
    workers: int | None = None,
    memory_mb: int = 2048,
    resume: bool = False,
    progress=None,
) -> tuple[dict[tuple[str, str], list[bool]], int]:
    """Run every sample on its problem's tests; (benchmark, problem id) -> correct per
    sample (sample-index order), and the number of programs run now.

    Verdicts stream into `path` (see the module docstring); with `resume` the ones
    already there are read back instead of run. One engine per time limit: a
    benchmark's tests all run under its own limit.
    """
    from acecoder.benchmarks import to_job
    from acecoder.data.jsonl import read_jsonl
    from acecoder.execution import Engine, ProgramStatus, TestOutcome

    known: dict[str, tuple[bool, bool | None]] = {}  # id -> correct, and correct on the base suite (if any)
    if resume and path.exists():
        for _, row in read_jsonl(path, bad_lines=[]):
            known[str(row.get("id"))] = bool(row.get("correct")), row.get("correct_base")
    todo: dict[float, list] = defaultdict(list)  # time limit -> (benchmark, problem, sample); jobs built as run
    for name, found in problems.items():
        for problem in found:
            for s in samples.get(problem.id, []):
                if f"{name}:{s.id}" not in known:
                    todo[timeout or problem.timeout].append((name, problem, s))
    if progress:
        progress.total(sum(len(v) for v in todo.values()))
    with JsonlWriter(path, resume=resume) as writer:
        for limit, items in todo.items():
            with Engine(workers=workers, timeout=limit, memory_mb=memory_mb, verdict_cache=True) as engine:
                jobs = (to_job(problem, s.program, id=f"{name}:{s.id}", timeout=timeout) for name, problem, s in items)
                for (name, problem, s), result in zip(items, engine.map(jobs)):
                    row = result.to_dict()
                    row.update(benchmark=name, question_id=s.question_id, model=s.model,
                               sample_index=s.sample_index, correct=result.all_passed)
                    base = problem.metadata.get("base_tests")
                    if base is not None:
                        row["correct_base"] = result.status is ProgramStatus.OK and \
                            all(o is TestOutcome.PASS for o in result.outcomes[:base])
                    writer.write(row)
                    known[result.id] = row["correct"], row.get("correct_base")
                    if progress:
                        progress.advance(result)
    correct = {}
    for name, found in problems.items():
        for problem in found:
            verdicts = [known[f"{name}:{s.id}"] for s in samples.get(problem.id, [])]
            if verdicts:
                correct[(name, problem.id)] = [full for full, _ in verdicts]
            if verdicts and "base_tests" in problem.metadata:
                correct[(f"{name}/base", problem.id)] = [bool(base) for _, base in verdicts]
    return correct, sum(len(v) for v in todo.values())


class Continued:
    """One progress bar over several passes (sampling, benchmark tests, generated tests)."""

    def __init__(self, bar):
        self.bar, self.done = bar, 0

    def phase(self, unit: str) -> None:
        """The next pass counts `unit` (a bar without phases keeps one running count)."""
        if hasattr(self.bar, "phase"):
            self.bar.phase(unit)
            self.done = 0

    def total(self, n: int) -> None:
        self.bar.total(self.done + n)

    def advance(self, item) -> None:
        self.done += 1
        self.bar.advance(item)
