"""The whole run in one file: `acecoder run CONFIG.yaml`.

Typed sections with help on every field; an unknown key, a wrong type or a value out of
range is a ConfigError naming its path (`sample.policies.0.n: ...`). `--set key=value`
overrides any field (`--set sample.policies.0.n=4`, `--set llm.base_url=http://h:8000/v1`),
the value read as YAML.

Where models run: `llm.backend` for every model, unless a model names its own `backend`.
One setting moves the whole run to a real endpoint: `llm.base_url`. When it is set,
every model without a backend of its own is asked through that OpenAI-compatible
endpoint (the model names must then be ones the endpoint serves).

The sections of the reward-model, best-of-N and RL stages are those stages' own
settings, validated by them (`train_rm`, `bon`, `rl`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from acecoder.errors import ConfigError

Backend = Literal["openai", "local", "vllm", "llama-cpp", "auto"]
STAGES = ("synth", "sample", "filter", "pairs", "train-rm", "bon", "hard-subset", "rl")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLM(Section):
    backend: Backend = Field("auto", description="Where models run: openai (an endpoint), local (transformers), vllm (GPU), llama-cpp (a llama.cpp server started here; fastest on CPU), auto (llama-cpp for GGUF and embedded models when installed, else local).")
    base_url: str | list[str] | None = Field(None, description="An OpenAI-compatible endpoint for every model without a backend of its own; setting it moves the whole run there. Several replicas of one server: a list.")
    concurrency: int = Field(16, ge=1, description="Requests in flight per model (openai, llama-cpp).")
    batch_size: int = Field(8, ge=1, description="Sequences generated together (local).")
    context: int = Field(4096, ge=256, description="Context window in tokens (llama-cpp).")
    threads: int | None = Field(None, ge=1, description="CPU threads of a llama.cpp server (llama-cpp) [default: one per core]; 1 when other work shares the cores (its threads wait on each other, spinning, when one is descheduled).")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="Share of the GPU vLLM's engine takes (vllm); given back when its stage ends and, in bon, before the reward model loads.")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs one model is split over (vllm).")
    max_model_len: int | None = Field(None, ge=256, description="vLLM's context in tokens, prompt + new tokens (vllm) [default: the model's].")
    retry_failed: bool = Field(False, description="Ask again for requests a server refused for good on an earlier run (kept in the run's caches); by default a rerun asks again only for those that failed transiently.")


class ModelChoice(Section):
    model: str = Field(description="A model: what the endpoint serves, a checkpoint folder, a .gguf file (llama-cpp) or an embedded one (qwen2.5-coder-0.5b, smollm2-135m).")
    backend: Backend | None = Field(None, description="This model's own backend [default: llm.backend, or openai when llm.base_url is set].")
    base_url: str | list[str] | None = Field(None, description="This model's own endpoint, or a list of replicas [default: llm.base_url].")
    name: str | None = Field(None, description="Its name in the records [default: model]; lets one local model play two roles (a sampled policy and the greedy oracle).")

    @property
    def label(self) -> str:
        return self.name or self.model


class Synth(ModelChoice):
    model: str = Field("gpt-4o-mini", description="The model that writes questions and tests (the method: gpt-4o-mini).")
    temperature: float = Field(0.7, ge=0, description="Sampling temperature (the method: 0.7).")
    sampling_seed: int | None = Field(None, description="The sampling seed of every request (the same answers again on the same server); null: the server's own.")
    max_tokens: int = Field(2048, ge=1, description="New tokens per answer.")
    min_tests: int = Field(1, ge=1, description="Drop a question with fewer valid tests.")
    expected_from_reference: bool = Field(False, description="Rewrite each failed `assert f(x) == value` with the seed program's f(x) (acecoder.synth.expected): for right seed programs and a writer too weak to compute outputs; false: the method's.")
    limit: int | None = Field(None, ge=1, description="Only the first N seeds.")
    json_mode: bool = Field(True, description="Ask the endpoint for a JSON object.")
    template: str | None = Field(None, description="A prompt template file ({instruction}, {code}); default: ours.")


class Policy(ModelChoice):
    n: int = Field(16, ge=1, description="Programs per question (the method: 16).")
    temperature: float = Field(0.7, ge=0, description="Sampling temperature (the method: 0.7).")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling.")
    max_tokens: int = Field(1024, ge=1, description="New tokens per program (the method: 1,024).")


class Oracle(ModelChoice):
    max_tokens: int = Field(1024, ge=1, description="New tokens of the one greedy program per question.")


class Sample(Section):
    policies: list[Policy] = Field(description="The models whose programs are scored and paired (the method: Qwen2.5-Coder-7B-Instruct).")
    oracle: Oracle | None = Field(description="The stronger model whose greedy program decides which tests are kept (the method: Qwen2.5-Coder-32B-Instruct); null: each question's seed program (its `reference`), for seeds known to be right.")
    seed: int | None = Field(None, description="Sample i uses seed + i, reproducibly.")


class Filter(Section):
    min_oracle_passes: int = Field(4, ge=0, description="Drop a question whose oracle passes fewer tests (the method drops at 3 or fewer).")
    min_tests: int = Field(5, ge=1, description="Drop a question with fewer tests left (the method: 5).")
    timeout: float = Field(3.0, gt=0, description="CPU seconds each test may run (5x that in wall time at most).")
    limit_floor: float | None = Field(0.1, gt=0, description="Limits from the oracle: a sample's test may take max(limit_floor, limit_factor x the oracle's CPU time on it), at most timeout; null: timeout for every test.")
    limit_factor: float = Field(10.0, ge=1, description="See limit_floor.")
    memory_mb: int = Field(2048, ge=64, description="Address-space limit per program, MiB.")
    workers: int | None = Field(None, ge=1, description="Sandbox processes [default: CPU cores; with ray: every CPU of the cluster].")
    ray: str | None = Field(None, description="Run the programs on a Ray cluster: local, auto (the cluster of this node) or ray://HOST:PORT; the verdicts are the same.")


class Pairs(Section):
    min_chosen: float = Field(0.8, ge=0, le=1, description="The chosen program passes at least this share (the method: 0.8).")
    min_gap: float = Field(0.4, ge=0, le=1, description="Chosen minus rejected pass rate, at least (the method: 0.4).")
    min_rejected: float = Field(0.0, ge=0, le=1, description="The rejected program passes more than this share (the method: 0).")
    max_per_question: int | None = Field(None, ge=1, description="At most this many pairs per question (largest gaps first).")
    cross_model: bool = Field(False, description="Also pair programs of different policies (the method pairs within one model: on-policy for the reward model's backbone).")


class HardSubset(Section):
    mean_quantile: float = Field(0.5, ge=0, le=1, description="Keep questions whose mean pass rate is at most this quantile (the method: the median).")
    std_quantile: float = Field(0.5, ge=0, le=1, description="Of those, keep the ones whose spread is at least this quantile.")


class Config(Section):
    run_dir: str = Field("runs/acecoder", description="The run folder: every stage's output, state.json, logs and the report.")
    seeds: str = Field(description="Seed code: .jsonl, .parquet, a datasets folder, hf:NAME, or benchmark:NAME (a benchmark's problems and reference programs, e.g. benchmark:mbpp+) (relative paths: to the config file).")
    stages: list[Literal[STAGES]] = Field(list(STAGES), description="The stages to run, in the pipeline's order.")  # type: ignore[valid-type]
    llm: LLM = LLM()
    synth: Synth = Synth()
    sample: Sample
    filter: Filter = Filter()
    pairs: Pairs = Pairs()
    train_rm: dict[str, Any] = Field(default_factory=dict, description="The train-rm stage's settings (acecoder train-rm --help).")
    bon: dict[str, Any] = Field(default_factory=dict, description="The bon stage's settings (acecoder bon --help).")
    hard_subset: HardSubset = HardSubset()
    rl: dict[str, Any] = Field(default_factory=dict, description="The rl stage's settings (acecoder rl --help).")

    def where(self, choice: ModelChoice) -> tuple[Backend, str | list[str] | None]:
        """(backend, base_url) of a model: its own, else the run's (see the module docstring)."""
        base_url = choice.base_url or (self.llm.base_url if choice.backend in (None, "openai") else None)
        return choice.backend or ("openai" if base_url else self.llm.backend), base_url


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> tuple[Config, dict]:
    """The validated config, and the raw mapping it came from (overrides applied; relative
    paths resolved against the config's folder), for recording in the run folder."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file")
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping of sections")
    for item in overrides:
        _override(raw, item)
    if isinstance(raw.get("seeds"), str) and not raw["seeds"].startswith(("hf:", "benchmark:")):
        seeds = Path(raw["seeds"]).expanduser()
        raw["seeds"] = str(seeds if seeds.is_absolute() else (path.parent / seeds).resolve())
    try:
        return Config.model_validate(raw), raw
    except ValidationError as error:
        raise ConfigError(f"{path}: " + "; ".join(_problem(e) for e in error.errors()))


def _override(raw: dict, item: str) -> None:
    """Apply `a.b.0.c=value` (the value read as YAML) to the raw mapping."""
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: use KEY=VALUE, e.g. sample.policies.0.n=4")
    node: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i]) or 'the config'} has no item {part}")
            part = int(part)
        elif not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i])} is not a section")
        if last:
            node[part] = yaml.safe_load(value)
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]


def _problem(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "the config"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown setting"
    if error["type"] == "missing":
        return f"{where}: missing"
    return f"{where}: {error['msg']}"
