"""The pipeline's stages as Steps: which files of the run folder each reads and writes,
which settings decide its result, and how it calls its stage module.

Run folder layout (the report reads the same names):

    config.yaml  state.json  logs/
    questions.jsonl   synth
    samples.jsonl     sample (policies, then the oracle)
    dataset.jsonl     filter (+ dataset.jsonl.executions.jsonl, every verdict), filter/ (its report)
    pairs.jsonl       pairs
    rm/               train-rm (checkpoint, metrics.jsonl, eval.json)
    bon/              bon (bon.json, bon.png, samples and scores)
    hard.jsonl        hard-subset
    rl/               rl (metrics.jsonl, checkpoints)
    cache/            LLM response caches (kept across fresh starts: they are keyed by request)
"""

from __future__ import annotations

from pathlib import Path

from acecoder.errors import ConfigError
from acecoder.pipeline.config import Config, ModelChoice
from acecoder.pipeline.runner import Step


def build_steps(config: Config, run: Path) -> list[Step]:
    _check_models(config)
    return [
        _synth(config, run),
        _sample(config, run),
        _filter(config, run),
        _pairs(config, run),
        *_later_stages(config, run),
    ]


def _where(config: Config, choice: ModelChoice) -> dict:
    backend, base_url = config.where(choice)
    return {"model": choice.model, "backend": backend, "base_url": base_url}


def _synth(config: Config, run: Path) -> Step:
    from acecoder.llm import open_backend
    from acecoder.stages import synth

    section = config.synth
    where = _where(config, section)
    output = run / "questions.jsonl"

    def go(resume: bool, progress):
        settings = synth.SynthSettings(
            model=section.model, temperature=section.temperature, max_tokens=section.max_tokens,
            concurrency=config.llm.concurrency, json_mode=section.json_mode, template=section.template,
            min_tests=section.min_tests, limit=section.limit, cache_path=run / "cache" / "synth.sqlite",
        )
        with open_backend(where["backend"], section.model, base_url=where["base_url"],
                          batch_size=config.llm.batch_size, context=config.llm.context) as (backend, settings.base_url):
            return synth.run(config.seeds, output, settings=settings, backend=backend, resume=resume, progress=progress)

    seeds = [] if config.seeds.startswith("hf:") else [Path(config.seeds)]
    settings = {**section.model_dump(exclude={"backend", "base_url"}), **where, "seeds": config.seeds}
    return Step(name="synth", inputs=seeds, outputs=[output], settings=settings, run=go, unit="seeds")


def _sample(config: Config, run: Path) -> Step:
    from acecoder.llm import open_backend
    from acecoder.stages import sample

    section = config.sample
    questions, output = run / "questions.jsonl", run / "samples.jsonl"
    jobs = [(policy, False) for policy in section.policies] + [(section.oracle, True)]

    def go(resume: bool, progress):
        summaries = {}
        for number, (choice, oracle) in enumerate(jobs):
            where = config.where(choice)
            settings = sample.SampleSettings(
                model=choice.model, oracle=oracle, max_tokens=choice.max_tokens, seed=section.seed,
                concurrency=config.llm.concurrency, cache_path=run / "cache" / f"sample-{number}.sqlite",
                **({} if oracle else {"n": choice.n, "temperature": choice.temperature, "top_p": choice.top_p}),
            )
            with open_backend(where[0], choice.model, base_url=where[1], batch_size=config.llm.batch_size,
                              context=config.llm.context) as (backend, settings.base_url):
                # one output file for every model: each later model appends (resume keeps the others')
                summary = sample.run(questions, output, settings=settings, backend=backend,
                                     resume=resume or number > 0, progress=progress)
            summaries[f"{choice.model}{' (oracle)' if oracle else ''}"] = _counts(summary)
        return summaries

    settings = {
        "policies": [{**p.model_dump(exclude={"backend", "base_url"}), **_where(config, p)} for p in section.policies],
        "oracle": {**section.oracle.model_dump(exclude={"backend", "base_url"}), **_where(config, section.oracle)},
        "seed": section.seed,
    }
    return Step(name="sample", inputs=[questions], outputs=[output], settings=settings, run=go, unit="questions")


def _filter(config: Config, run: Path) -> Step:
    from acecoder.stages import filter as stage

    section = config.filter
    questions, samples, output = run / "questions.jsonl", run / "samples.jsonl", run / "dataset.jsonl"

    def go(resume: bool, progress):
        settings = stage.FilterSettings(oracle=config.sample.oracle.model, **section.model_dump())
        return stage.run(questions, samples, output, settings=settings, report_dir=run / "filter",
                         resume=resume, progress=progress)

    settings = {**section.model_dump(exclude={"workers"}), "oracle": config.sample.oracle.model}
    # dataset.jsonl.executions.jsonl (every verdict) is what a resumed filter reuses.
    return Step(name="filter", inputs=[questions, samples], outputs=[output, run / "filter"], settings=settings, run=go)


def _pairs(config: Config, run: Path) -> Step:
    from acecoder.stages import pairs

    section, dataset, output = config.pairs, run / "dataset.jsonl", run / "pairs.jsonl"

    def go(resume: bool, progress):
        return pairs.run(dataset, output, settings=pairs.PairSettings(**section.model_dump()), progress=progress)

    return Step(name="pairs", inputs=[dataset], outputs=[output], settings=section.model_dump(), run=go, unit="questions")


def _hard_subset(config: Config, run: Path) -> Step:
    from acecoder.stages import hard_subset

    section, dataset, output = config.hard_subset, run / "dataset.jsonl", run / "hard.jsonl"

    def go(resume: bool, progress):
        settings = hard_subset.HardSubsetSettings(**section.model_dump())
        return hard_subset.run(dataset, output, settings=settings, progress=progress)

    return Step(name="hard-subset", inputs=[dataset], outputs=[output], settings=section.model_dump(), run=go,
                unit="questions")


def _later_stages(config: Config, run: Path) -> list[Step]:
    return [_hard_subset(config, run)]


# ---------------------------------------------------------------- checks


def _check_models(config: Config) -> None:
    names = [policy.model for policy in config.sample.policies]
    if len(set(names)) != len(names):
        raise ConfigError(f"sample.policies: a model is listed twice ({', '.join(names)}): give each one n samples")
    if config.sample.oracle.model in names:
        raise ConfigError(
            f"sample.oracle.model {config.sample.oracle.model!r} is also a policy: samples are keyed by model, "
            "so the oracle must be another model (the method: a stronger one)"
        )


def _counts(summary) -> dict:
    import dataclasses

    return {k: v for k, v in dataclasses.asdict(summary).items() if isinstance(v, (int, float))}
