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

import json
import logging
from collections import Counter
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.errors import ConfigError
from acecoder.pipeline.config import Config, ModelChoice
from acecoder.pipeline.runner import Step

log = logging.getLogger("acecoder.pipeline")

NO_PAIRS = ("no pair in {pairs}: no reward model was trained, and bon reports its baselines only "
            "(more seeds, synth.limit, or lower pairs.min_chosen / pairs.min_gap give pairs)")


def build_steps(config: Config, run: Path) -> list[Step]:
    _check_names(config)
    return [
        _synth(config, run),
        _sample(config, run),
        _filter(config, run),
        _pairs(config, run),
        *_later_stages(config, run),
    ]


def _vllm(config: Config) -> dict:
    """The vLLM engine's settings from the llm section (used with backend vllm only)."""
    llm = config.llm
    return {"gpu_memory_utilization": llm.gpu_memory_utilization, "tensor_parallel_size": llm.tensor_parallel_size,
            "max_model_len": llm.max_model_len}


def _where(config: Config, choice: ModelChoice) -> dict:
    backend, base_url = config.where(choice)
    return {"model": choice.model, "name": choice.label, "backend": backend, "base_url": base_url}


def _synth(config: Config, run: Path) -> Step:
    from acecoder.llm import open_backend, resolve_kind
    from acecoder.stages import synth
    from acecoder.synth.prompt import LLAMA_CPP_JSON

    section = config.synth
    where = _where(config, section)
    output = run / "questions.jsonl"

    def go(resume: bool, progress):
        settings = synth.SynthSettings(
            model=section.model, temperature=section.temperature, max_tokens=section.max_tokens,
            sampling_seed=section.sampling_seed,
            concurrency=config.llm.concurrency, json_mode=section.json_mode, template=section.template,
            min_tests=section.min_tests, limit=section.limit, cache_path=run / "cache" / "synth.sqlite",
            retry_failed=config.llm.retry_failed, expected_from_reference=section.expected_from_reference,
        )
        if section.json_mode and resolve_kind(where["backend"], section.model) == "llama-cpp":
            settings.extra_body = LLAMA_CPP_JSON  # a grammar: even small models answer in the right shape
        with open_backend(where["backend"], section.model, base_url=where["base_url"],
                          batch_size=config.llm.batch_size,
                          concurrency=config.llm.concurrency, context=config.llm.context, threads=config.llm.threads,
                          vllm=_vllm(config)) as (backend, settings.base_url):
            return synth.run(config.seeds, output, settings=settings, backend=backend, resume=resume, progress=progress)

    seeds = [] if config.seeds.startswith(("hf:", "benchmark:")) else [Path(config.seeds)]
    settings = {**section.model_dump(exclude={"backend", "base_url"}), **where, "seeds": config.seeds}
    return Step(name="synth", inputs=seeds, outputs=[output], settings=settings, run=go, unit="seeds")


def _sample(config: Config, run: Path) -> Step:
    from acecoder.llm import open_backend
    from acecoder.stages import sample

    section = config.sample
    questions, output = run / "questions.jsonl", run / "samples.jsonl"
    jobs = [(policy, False) for policy in section.policies] + ([(section.oracle, True)] if section.oracle else [])

    def go(resume: bool, progress):
        summaries = {}
        progress = _Phases(progress) if progress else None  # one count over every model's questions
        for number, (choice, oracle) in enumerate(jobs):
            where = config.where(choice)
            settings = sample.SampleSettings(
                model=choice.label, oracle=oracle, max_tokens=choice.max_tokens, seed=section.seed,
                concurrency=config.llm.concurrency, cache_path=run / "cache" / f"sample-{number}.sqlite",
                retry_failed=config.llm.retry_failed,
                **({} if oracle else {"n": choice.n, "temperature": choice.temperature, "top_p": choice.top_p}),
            )
            with open_backend(where[0], choice.model, base_url=where[1], batch_size=config.llm.batch_size,
                              concurrency=config.llm.concurrency, context=config.llm.context, threads=config.llm.threads,
                              vllm=_vllm(config), name=choice.label) as (backend, settings.base_url):
                # one output file for every model: each later model appends (resume keeps the others')
                summary = sample.run(questions, output, settings=settings, backend=backend,
                                     resume=resume or number > 0, progress=progress)
            summaries[f"{choice.label}{' (oracle)' if oracle else ''}"] = _counts(summary)
            if progress:
                progress.next_phase()
        total = {key: sum(counts.get(key, 0) for counts in summaries.values())
                 for key in ("samples", "empty_programs", "truncated", "requests", "cache_hits")}
        # requests that failed for good or outlasted their retries, by reason
        total["failed"] = dict(sum((Counter(counts["failed"]) for counts in summaries.values()), Counter()))
        return {**total, "by_model": summaries}  # totals first: the one-line summary and the report show them

    settings = {
        "policies": [{**p.model_dump(exclude={"backend", "base_url"}), **_where(config, p)} for p in section.policies],
        "oracle": section.oracle and {**section.oracle.model_dump(exclude={"backend", "base_url"}),
                                      **_where(config, section.oracle)},
        "seed": section.seed,
    }
    return Step(name="sample", inputs=[questions], outputs=[output], settings=settings, run=go, unit="questions")


def _filter(config: Config, run: Path) -> Step:
    from acecoder.stages import filter as stage

    section = config.filter
    questions, samples, output = run / "questions.jsonl", run / "samples.jsonl", run / "dataset.jsonl"

    def go(resume: bool, progress):
        values = section.model_dump(exclude={"ray"})
        settings = stage.FilterSettings(oracle=_oracle(config), ray_address=section.ray, **values)
        return stage.run(questions, samples, output, settings=settings, report_dir=run / "filter",
                         resume=resume, progress=progress)

    settings = {**section.model_dump(exclude={"workers", "ray"}), "oracle": _oracle(config)}
    # dataset.jsonl.executions.jsonl (every verdict) is what a resumed filter reuses.
    return Step(name="filter", inputs=[questions, samples], outputs=[output, run / "filter"], settings=settings, run=go)


def _oracle(config: Config) -> str:
    """The oracle's name in the samples, or "reference": the seeds' own programs."""
    from acecoder.stages.filter import REFERENCE_ORACLE

    return config.sample.oracle.label if config.sample.oracle else REFERENCE_ORACLE


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
    return [_train_rm(config, run), _bon(config, run), _hard_subset(config, run), _rl(config, run)]


def _train_rm(config: Config, run: Path) -> Step:
    """The reward model's backbone defaults to the first policy: the method trains it on
    its own samples' pairs (on-policy, §6)."""
    from acecoder.stages import train_rm

    section = dict(config.train_rm)
    base = section.pop("model", config.sample.policies[0].model)
    settings = _dataclass(train_rm.TrainRMSettings, section, "train_rm")
    pairs, output = run / "pairs.jsonl", run / "rm"

    def go(resume: bool, progress):
        if not _has_rows(pairs):
            # A small run can end with no pair (a handful of questions, weak models). The stages
            # after it still run: bon reports its baselines without a reward model, RL uses tests.
            output.mkdir(parents=True, exist_ok=True)
            note = NO_PAIRS.format(pairs=pairs.name)
            write_atomic(output / "skipped.json", json.dumps({"reason": note}) + "\n")
            log.warning("train-rm: %s", note)
            return {"pairs": 0, "trained": False, "note": note}
        # train-rm resumes by itself from the last checkpoint in its folder
        return train_rm.run(pairs, output, model=base, settings=settings, progress=progress)

    return Step(name="train-rm", inputs=[pairs], outputs=[output], settings={"model": base, **section},
                run=go, unit="steps")


_BON_SAMPLING = {"n": 16, "temperature": 1.0, "top_p": 0.95, "max_tokens": 512, "seed": None}


def _bon(config: Config, run: Path) -> Step:
    """Samples the benchmark with `bon.model` (default: the first policy; the method: 1.0
    temperature, top-p 0.95) and picks with the reward model trained by train-rm."""
    from acecoder.llm import open_backend
    from acecoder.pipeline.config import ModelChoice
    from acecoder.stages import bon, sample

    section = dict(config.bon)
    choice = ModelChoice(model=section.pop("model", config.sample.policies[0].model),
                         backend=section.pop("backend", None), base_url=section.pop("base_url", None))
    sampling = {key: section.pop(key, default) for key, default in _BON_SAMPLING.items()}
    section.setdefault("benchmark", "humaneval")
    settings = _dataclass(bon.BonSettings, {**section, "model": choice.model}, "bon")
    model_dir, output = run / "rm", run / "bon"
    where = config.where(choice)

    def go(resume: bool, progress):
        with open_backend(where[0], choice.model, base_url=where[1], batch_size=config.llm.batch_size,
                          concurrency=config.llm.concurrency, context=config.llm.context, threads=config.llm.threads,
                          vllm=_vllm(config)) as (backend, url):
            sample_settings = sample.SampleSettings(
                model=choice.model, base_url=url, concurrency=config.llm.concurrency,
                cache_path=run / "cache" / "bon.sqlite", **sampling,
            )
            trained = (model_dir / "config.json").is_file()  # else train-rm had no pair (see _train_rm)
            return bon.run(output, settings=settings, sample_settings=sample_settings, backend=backend,
                           reward_model=str(model_dir) if trained else None, resume=resume, progress=progress)

    step_settings = {**section, **sampling, **_where(config, choice)}
    return Step(name="bon", inputs=[model_dir], outputs=[output], settings=step_settings, run=go)


def _rl(config: Config, run: Path) -> Step:
    """RL from the first policy (the method: the instruct model) on the hard subset."""
    from acecoder.stages import rl

    section = dict(config.rl)
    for fixed in ("data", "output_dir"):
        if fixed in section:
            raise ConfigError(f"rl.{fixed}: set by the pipeline (the run folder's hard.jsonl and rl/)")
    section.setdefault("model", config.sample.policies[0].model)
    data, output = run / "hard.jsonl", run / "rl"
    settings = rl.validate_settings({**section, "data": str(data), "output_dir": str(output)}, where="rl")

    def go(resume: bool, progress):
        return rl.run(settings, progress=progress)  # resumes by itself from its last checkpoint

    return Step(name="rl", inputs=[data], outputs=[output], settings=section, run=go, unit="steps")


# ---------------------------------------------------------------- checks


def check_models(config: Config, stages: set[str]) -> None:
    """The models of the stages that will run (`stages`), checked before the first one runs:
    a name no resolver takes would otherwise stop the run after synthesis, sampling and
    filtering. A stage left out (`--until pairs`) needs no model now."""
    from acecoder.llm import check_model

    if "train-rm" in stages:
        check_model(config.train_rm.get("model", config.sample.policies[0].model), what="train_rm.model")
    if "rl" in stages:
        from acecoder.stages.rl import RLSettings

        check_model(config.rl.get("model", RLSettings.model_fields["model"].default), what="rl.model")


def _check_names(config: Config) -> None:
    """Samples are keyed by model name: no two policies, nor a policy and the oracle, may share one."""
    names = [policy.label for policy in config.sample.policies]
    if len(set(names)) != len(names):
        raise ConfigError(f"sample.policies: a model is listed twice ({', '.join(names)}): give each one n samples")
    if config.sample.oracle and config.sample.oracle.label in names:
        raise ConfigError(
            f"sample.oracle {config.sample.oracle.label!r} is also a policy: samples are keyed by model name, "
            "so the oracle must be another model (the method: a stronger one), or the same one under "
            "another name (sample.oracle.name)"
        )


def _dataclass(settings_type, values: dict, where: str):
    """A stage's settings dataclass from a config section; unknown keys name themselves."""
    import dataclasses

    known = {f.name for f in dataclasses.fields(settings_type)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting (known: {', '.join(sorted(known))})")
    try:
        settings = settings_type(**values)
        if hasattr(settings, "check"):
            settings.check()
    except TypeError as error:
        raise ConfigError(f"{where}: {error}")
    return settings


class _Phases:
    """One progress count over phases that each call `total(n)` for their own part."""

    def __init__(self, progress):
        self.progress, self.before, self.current = progress, 0, 0

    def total(self, n: int | None) -> None:
        self.current = n or 0
        self.progress.total(self.before + self.current)

    def advance(self, item) -> None:
        self.progress.advance(item)

    def next_phase(self) -> None:
        self.before += self.current
        self.current = 0


def _counts(summary) -> dict:
    import dataclasses

    values = dataclasses.asdict(summary)
    return {**{k: v for k, v in values.items() if isinstance(v, (int, float))}, "failed": values.get("failed", {})}


def _has_rows(path: Path) -> bool:
    with path.open("rb") as handle:
        return any(line.strip() for line in handle)
