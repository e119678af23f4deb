"""Stage `rl`: RL of a coder model with test rewards, on TRL's GRPOTrainer.

Input: questions with tests - `DatasetRow` records (the hard subset's `rows`
format), `Question` records, or the `trl` export of `acecoder hard-subset`
(`prompt` messages + `tests`). Output, in `output_dir`:

- `checkpoint-<step>/`: TRL checkpoints (model, optimizer, RNG, trainer state); a
  rerun of the same command resumes from the latest one after a kill.
- `final/`: the trained policy and its tokenizer.
- `metrics.jsonl`: one JSON object per logged step, fields (null when absent):
  `step` (optimizer steps so far), `rollout` (rollout iterations so far; the paper's
  "steps"), `reward` (mean total reward), `reward_std`, `pass_rate` (mean fraction
  of tests passed), `all_pass` (fraction of completions passing every test),
  `all_pass_groups` / `all_fail_groups` (fraction of prompts whose completions all
  pass every test / of which none does: no signal for the binary reward under a
  group baseline), `zero_std_groups` (fraction of prompts whose test rewards are
  all equal: no signal for any kind of test reward), `format_ok` (R1 format rate), `completion_length` (mean tokens), `kl`, `loss`, `learning_rate`,
  `reward_seconds` (scoring the rollout), `generation_seconds` (generating it),
  `step_seconds` (wall time since the previous line), `elapsed_seconds`.
- `settings.json`: the settings of the run.

The method (ACECODER, arXiv 2502.01718, §9 of our method notes): REINFORCE++ with
the binary test reward, rollout 256 prompts x 8 samples, train batch 128, learning
rate 5e-7, temperature 1.0, one episode over the hard subset. Those are the defaults.
How the two algorithms map onto GRPOTrainer (an approximation; see `grpo_args`):

- `grpo`: group-mean baseline, rewards scaled by the group's std, KL to the
  reference in the loss with weight `kl_coef`.
- `reinforce_pp`: no critic; advantages scaled by the std of the whole batch
  (`scale_rewards="batch"`), KL weight 0.01. REINFORCE++ subtracts the batch mean
  and folds a k1 KL estimate into the per-token reward; TRL subtracts the group
  mean and adds a k3 KL term to the loss. Same gradient direction at small KL;
  the group baseline is a lower-variance variant of the batch one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from acecoder._transformers_args import warmup
from acecoder.data.files import write_atomic
from acecoder.data.tables import read_records
from acecoder.errors import ConfigError, InputError
from acecoder.prompts import rl_prompt
from acecoder.rewards._rule import R1_SYSTEM_PROMPT

log = logging.getLogger(__name__)

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class RLSettings(BaseModel):
    """Settings of `acecoder rl`; the defaults are the paper's (§9)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field("Qwen/Qwen2.5-Coder-7B-Instruct", description="Policy: a checkpoint folder, a hub name in the local cache, or an embedded model (smollm2-135m, qwen2.5-coder-0.5b).")
    data: str | None = Field(None, description="Questions with tests: DatasetRow or Question records, or the trl export of hard-subset (.jsonl, .parquet, datasets folder).")
    output_dir: str = Field("runs/rl", description="Checkpoints, metrics.jsonl and the final model.")
    algorithm: Literal["grpo", "reinforce_pp"] = Field("reinforce_pp", description="grpo: group-std scaled advantages; reinforce_pp: batch-std scaled (the paper's REINFORCE++, approximated on GRPOTrainer).")
    style: Literal["instruct", "r1"] = Field("instruct", description="instruct: the question as the user turn; r1: a system prompt asking for reasoning in <think> tags, then the program in a fenced block (for base models).")
    prompt: Literal["question", "acecoder", "acecodepair"] = Field("question", description="What the policy is asked: the bare question (the released AceCode-87K's context_messages: the method's), or a prompt style's user turn with the question's first test (acecoder: ours; acecodepair: the released AceCodePair wording).")
    system_prompt: str | None = Field(None, description="Overrides the system prompt (default: none for instruct, the R1 prompt for r1).")
    reward: Literal["binary", "pass_rate", "signed"] = Field("binary", description="Test reward: 1 when all tests pass else 0 (the paper's), the pass rate, or +1/-1.")
    format_weight: float = Field(0.0, ge=0.0, description="Added when the completion has the R1 format (think block, then a fenced block); 0 disables.")
    test_weight: float = Field(1.0, ge=0.0, description="Weight of the test reward in the total; 0 drops it (reward model only).")
    reward_model: str | None = Field(None, description="A reward-model checkpoint, or the URL of `acecoder serve-rm`; none: test reward only.")
    reward_model_weight: float = Field(1.0, ge=0.0, description="Weight of the normalised reward-model reward.")
    reward_model_normalize: Literal["running", "batch", "none"] = Field("running", description="How reward-model scores are normalised.")
    test_timeout: float = Field(3.0, gt=0, description="Seconds each test may run in the sandbox.")
    sandbox_workers: int | None = Field(None, ge=1, description="Sandbox processes scoring rollouts (default: CPU cores).")
    sandbox_memory_mb: int = Field(2048, ge=64, description="Address-space limit per program, MiB.")
    rollout_prompts: int = Field(256, ge=1, description="Prompts per rollout (paper: 256).")
    samples_per_prompt: int = Field(8, ge=2, description="Completions per prompt (paper: 8); the group of the baseline.")
    train_batch: int = Field(128, ge=1, description="Completions per optimizer step (paper: 128); a rollout gives rollout_prompts*samples_per_prompt/train_batch steps.")
    micro_batch: int = Field(8, ge=1, description="Completions per device per forward/backward pass; gradient accumulation makes up train_batch.")
    learning_rate: float = Field(5e-7, gt=0, description="Peak learning rate (paper: 5e-7).")
    warmup_ratio: float = Field(0.0, ge=0, le=1, description="Fraction of steps of linear warm-up.")
    kl_coef: float = Field(0.01, ge=0, description="Weight of the KL to the reference policy (paper: 0.01); 0 loads no reference model.")
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo"] = Field("dapo", description="TRL's token aggregation of the loss (dapo: mean over the batch's tokens, as REINFORCE++'s token mean).")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature of rollouts (paper: 1.0).")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling of rollouts.")
    max_prompt_tokens: int = Field(2000, ge=16, description="Questions whose prompt is longer are dropped (paper: 2,000 tokens).")
    max_completion_tokens: int = Field(1024, ge=8, description="Tokens generated per completion.")
    episodes: int = Field(1, ge=1, description="Passes over the questions (paper: one).")
    max_rollouts: int | None = Field(None, ge=1, description="Stop after this many rollouts (none: all episodes).")
    max_questions: int | None = Field(None, ge=1, description="Use only the first N questions (smoke runs).")
    save_every_rollouts: int = Field(5, ge=1, description="Checkpoint every N rollouts (resume point after a kill).")
    save_total_limit: int | None = Field(2, ge=1, description="Keep this many checkpoints (none: all).")
    use_vllm: bool | None = Field(None, description="Generate with vLLM (none: when vllm is installed and a GPU is present).")
    vllm_mode: Literal["colocate", "server"] = Field("colocate", description="vLLM inside the trainer's processes, or a `trl vllm-serve` server.")
    # vLLM's knobs, named as TRL 1.16's GRPOConfig names them (colocate: what each GPU lends vLLM)
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0, le=1, description="colocate: share of each GPU vLLM takes for its weights and KV cache (TRL's default 0.3; the trainer gets the rest).")
    vllm_max_model_length: int | None = Field(None, ge=16, description="colocate: vLLM's context in tokens (none: max_prompt_tokens + max_completion_tokens, so the KV cache is sized for what RL asks, not the model's 32K).")
    vllm_tensor_parallel_size: int = Field(1, ge=1, description="colocate: GPUs one vLLM copy of the policy is split over (2 halves its weights per GPU).")
    vllm_enable_sleep_mode: bool = Field(False, description="colocate: vLLM frees its weights and KV cache while the trainer steps (less memory, slower wake-ups).")
    vllm_server_host: str = Field("0.0.0.0", description="server: host of the `trl vllm-serve` server.")
    vllm_server_port: int = Field(8000, ge=1, le=65535, description="server: its port.")
    bf16: bool | None = Field(None, description="bfloat16 compute, autocast over float32 weights (none: when a GPU supports it).")
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory on large models.")
    deepspeed: str | None = Field(None, description="A DeepSpeed config JSON (multi-GPU; or launch with `accelerate launch --config_file configs/accelerate/zero3.yaml`).")
    report_to: list[str] = Field(default_factory=list, description="Extra loggers: tensorboard, wandb, ... (metrics.jsonl is always written).")
    seed: int = Field(42, description="Seed of sampling and of the data order.")

    @property
    def completions_per_rollout(self) -> int:
        return self.rollout_prompts * self.samples_per_prompt


@dataclass(kw_only=True)
class RLSummary:
    questions: int = 0  # questions trained on
    dropped_long: int = 0  # prompts over max_prompt_tokens
    steps: int = 0  # optimizer steps done (all runs together)
    rollouts: int = 0
    resumed_from: str | None = None
    first: dict = field(default_factory=dict)  # the first metrics line of this run
    last: dict = field(default_factory=dict)  # the last one
    output: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- settings from YAML


def load_settings(path: str | Path | None = None, overrides: list[str] | None = None) -> RLSettings:
    """Settings from a YAML file (a mapping, or one with an `rl:` section, as in the
    pipeline config) and `key=value` overrides (values parsed as YAML)."""
    import yaml

    data: dict = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
        if set(data) == {"rl"}:
            data = data["rl"] or {}
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: write key=value, e.g. learning_rate=1e-6")
        data[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return validate_settings(data, where=str(path) if path else "settings")


def validate_settings(data: dict, *, where: str = "settings") -> RLSettings:
    try:
        return RLSettings.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors()[:5]:
            key = ".".join(str(p) for p in item["loc"]) or "(top)"
            message = "unknown setting" if item["type"] == "extra_forbidden" else item["msg"].lower()
            problems.append(f"{key}: {message}")
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None


def check(settings: RLSettings, *, processes: int = 1) -> dict:
    """Fail fast on settings that cannot form batches; the derived batch shape."""
    per_step = settings.micro_batch * processes
    if settings.train_batch % per_step:
        raise ConfigError(
            f"train_batch {settings.train_batch} is not a multiple of micro_batch x processes "
            f"({settings.micro_batch} x {processes}): change train_batch or micro_batch"
        )
    if settings.completions_per_rollout % settings.train_batch:
        raise ConfigError(
            f"a rollout of {settings.rollout_prompts} x {settings.samples_per_prompt} completions is not "
            f"a multiple of train_batch {settings.train_batch}: change rollout_prompts or train_batch"
        )
    if settings.data is None:
        raise ConfigError("data is not set: give the questions, e.g. --set data=hard.jsonl")
    return {
        "grad_accum": settings.train_batch // per_step,
        "steps_per_rollout": settings.completions_per_rollout // settings.train_batch,
    }


# ---------------------------------------------------------------- prompts


def system_prompt(settings: RLSettings) -> str | None:
    if settings.system_prompt is not None:
        return settings.system_prompt or None
    return R1_SYSTEM_PROMPT if settings.style == "r1" else None


def read_questions(settings: RLSettings) -> list[dict]:
    """Rows {prompt (messages), tests, id} from any accepted input shape."""
    rows, system = [], system_prompt(settings)
    for number, row in enumerate(read_records(settings.data, dict), start=1):
        if "test_cases" in row and "question" in row:  # DatasetRow
            tests = row["test_cases"]
            messages = rl_prompt(row["question"], tests, prompt=settings.prompt)
        elif "question" in row and "tests" in row:  # Question
            tests, messages = row["tests"], rl_prompt(row["question"], row["tests"], prompt=settings.prompt)
        elif "prompt" in row and "tests" in row:  # the trl export
            tests, messages = row["tests"], [m for m in row["prompt"] if m.get("role") != "system"]
        else:
            raise InputError(
                "a row needs question + test_cases (DatasetRow), question + tests (Question) "
                f"or prompt + tests (trl export); it has {', '.join(sorted(row)) or 'nothing'}",
                path=settings.data, line=number,
            )
        if not tests or not all(isinstance(t, str) for t in tests):
            raise InputError("tests must be a non-empty list of assert strings", path=settings.data, line=number)
        if system:
            messages = [{"role": "system", "content": system}, *messages]
        rows.append({"prompt": messages, "tests": list(tests), "id": str(row.get("id", number))})
        if settings.max_questions and len(rows) >= settings.max_questions:
            break
    if not rows:
        raise InputError("no questions", path=settings.data)
    return rows


# ---------------------------------------------------------------- ALGO LOGIC: the TRL mapping


def grpo_args(settings: RLSettings, shape: dict, *, bf16: bool, use_vllm: bool, max_steps: int, cuda: bool = True):
    """GRPOConfig for the settings. The rollout is TRL's generation batch
    (rollout_prompts x samples_per_prompt completions), consumed in optimizer steps
    of train_batch completions; `num_iterations=1`: each rollout is used once."""
    from trl import GRPOConfig

    reinforce = settings.algorithm == "reinforce_pp"
    return GRPOConfig(
        output_dir=settings.output_dir,
        num_generations=settings.samples_per_prompt,
        generation_batch_size=settings.completions_per_rollout,
        per_device_train_batch_size=settings.micro_batch,
        gradient_accumulation_steps=shape["grad_accum"],
        num_iterations=1,
        learning_rate=settings.learning_rate,
        **warmup(settings.warmup_ratio),  # a share of the steps, however this transformers spells it
        lr_scheduler_type="constant_with_warmup",
        beta=settings.kl_coef,
        # REINFORCE++ normalises advantages over the batch; GRPO over each group.
        scale_rewards="batch" if reinforce else "group",
        loss_type=settings.loss_type,
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_completion_length=settings.max_completion_tokens,
        num_train_epochs=settings.episodes,
        max_steps=max_steps,
        logging_steps=shape["steps_per_rollout"],  # one metrics line per rollout
        save_strategy="steps",
        save_steps=shape["steps_per_rollout"] * settings.save_every_rollouts,
        save_total_limit=settings.save_total_limit,
        use_vllm=use_vllm,
        vllm_mode=settings.vllm_mode,
        vllm_gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
        vllm_max_model_length=settings.vllm_max_model_length or settings.max_prompt_tokens + settings.max_completion_tokens,
        vllm_tensor_parallel_size=settings.vllm_tensor_parallel_size,
        vllm_enable_sleep_mode=settings.vllm_enable_sleep_mode,
        vllm_server_host=settings.vllm_server_host,
        vllm_server_port=settings.vllm_server_port,
        bf16=bf16,
        gradient_checkpointing=settings.gradient_checkpointing,  # always passed: TRL's default is on
        deepspeed=settings.deepspeed,
        report_to=settings.report_to or "none",
        seed=settings.seed,
        # float32 weights whatever bf16 says (bf16 is autocast). Under plain data parallelism the
        # optimizer steps the weights as loaded: bf16 weights round most updates at lr 5e-7 to
        # nothing (a bf16 weight near 0.02 moves in steps of 1.2e-4). DeepSpeed and FSDP keep
        # float32 master weights themselves, so this costs memory only without them.
        model_init_kwargs={"dtype": "float32"},
        disable_tqdm=True,
        shuffle_dataset=True,
        # on a machine without a GPU the launch's processes talk over gloo (DeepSpeed's CPU
        # accelerator included); accelerate takes that route only when told it is on the CPU
        use_cpu=not cuda,
    )


def _timed_trainer_class():
    """GRPOTrainer that also logs the seconds spent generating each rollout (TRL
    times it only for wandb/trackio)."""
    from trl import GRPOTrainer

    class TimedGRPOTrainer(GRPOTrainer):
        def _generate(self, prompts):
            started = time.monotonic()
            try:
                return super()._generate(prompts)
            finally:
                mode = "train" if self.model.training else "eval"
                self._metrics[mode]["acecoder/generation_seconds"].append(time.monotonic() - started)

    return TimedGRPOTrainer


METRIC_KEYS = {
    "reward": "reward",
    "reward_std": "reward_std",
    "pass_rate": "acecoder/pass_rate",
    "all_pass": "acecoder/all_pass",
    "all_pass_groups": "acecoder/all_pass_groups",
    "all_fail_groups": "acecoder/all_fail_groups",
    "zero_std_groups": "acecoder/zero_std_groups",
    "format_ok": "acecoder/format_ok",
    "completion_length": "completions/mean_length",
    "kl": "kl",
    "loss": "loss",
    "learning_rate": "learning_rate",
    "reward_seconds": "acecoder/reward_seconds",
    "generation_seconds": "acecoder/generation_seconds",
}


def metrics_callback(path: Path, *, steps_per_rollout: int, progress=None):
    """A TrainerCallback writing metrics.jsonl (format in the module docstring) and
    moving the progress bar."""
    from transformers import TrainerCallback

    class MetricsCallback(TrainerCallback):
        def __init__(self):
            self.started = self.previous = time.monotonic()
            self.first: dict = {}
            self.last: dict = {}

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = self.previous = time.monotonic()  # model loading is not a step
            if progress is not None:
                progress.total(state.max_steps)
                for _ in range(state.global_step):  # resumed: the steps already done
                    progress.advance(None)

        def on_step_end(self, args, state, control, **kwargs):
            if progress is not None:
                progress.advance(None)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return  # the end-of-training summary has train_loss, not loss
            now = time.monotonic()
            line = {"step": state.global_step, "rollout": math.ceil(state.global_step / steps_per_rollout)}
            for name, key in METRIC_KEYS.items():
                value = logs.get(key)
                line[name] = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
            line["step_seconds"] = round(now - self.previous, 3)
            line["elapsed_seconds"] = round(now - self.started, 3)
            self.previous = now
            with path.open("a") as out:
                out.write(json.dumps(line) + "\n")
            self.first = self.first or line
            self.last = line

    return MetricsCallback()


def latest_checkpoint(output_dir: Path) -> Path | None:
    steps = [(int(m.group(1)), p) for p in output_dir.glob("checkpoint-*") if (m := re.fullmatch(r"checkpoint-(\d+)", p.name))]
    complete = [(s, p) for s, p in steps if (p / "trainer_state.json").exists()]
    return max(complete)[1] if complete else None


def trim_metrics(path: Path, step: int) -> None:
    """Drop metrics lines past `step` (written after the checkpoint a rerun resumes from)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by the kill
    write_atomic(path, "".join(line + "\n" for line in keep))


# ---------------------------------------------------------------- the recipe


def _policy_path(model: str) -> str:
    from acecoder.llm import resolve_model

    return resolve_model(model, what="rl.model")


def build_rewards(settings: RLSettings, *, device: str | None = None):
    """The reward functions and their weights, and the TestReward to close at the end.
    `device`: where a local reward model goes (this process's own GPU under a launch)."""
    from acecoder.rewards import ModelReward, TestReward
    from acecoder.rewards.trl import AllRanksNormalized, model_reward_func, test_reward_func

    test = TestReward(
        kind=settings.reward, format_weight=settings.format_weight, workers=settings.sandbox_workers,
        timeout=settings.test_timeout, memory_mb=settings.sandbox_memory_mb,
    )
    funcs, weights = [], []
    # The test reward always runs: it gives the pass-rate metrics even when its weight is 0.
    use_async = settings.reward_model is not None
    funcs.append(test_reward_func(test, asynchronous=use_async))
    weights.append(settings.test_weight)
    if settings.reward_model is not None:
        from acecoder.rm import RemoteRewardModel, RewardModel

        # A local reward model: a whole bf16 copy on each process's GPU (RewardModel.load never
        # shards, so it scores outside ZeRO-3's engine), each scoring its own completions.
        rm = (
            RemoteRewardModel(settings.reward_model)
            if settings.reward_model.startswith(("http://", "https://"))
            else RewardModel.load(settings.reward_model, device=device)
        )
        raw = model_reward_func(ModelReward(rm, normalize="none", clip=None))
        funcs.append(AllRanksNormalized(raw, normalize=settings.reward_model_normalize))
        weights.append(settings.reward_model_weight)
    return funcs, weights, test


def run(settings: RLSettings, *, progress=None, callbacks: list | None = None) -> RLSummary:
    """Train; resumes from the latest checkpoint in `output_dir` when there is one.
    `callbacks`: more transformers TrainerCallbacks for the trainer."""
    import importlib.util

    for package in ("trl", "datasets", "accelerate"):
        if importlib.util.find_spec(package) is None:
            raise ConfigError(f"acecoder rl trains on TRL's GRPOTrainer: pip install 'acecoder[train,data]' (no {package})")

    import torch
    from accelerate import PartialState
    from datasets import Dataset
    from transformers import AutoTokenizer, PrinterCallback

    started = time.monotonic()
    state = PartialState(cpu=not torch.cuda.is_available())  # CPU processes of a launch meet over gloo
    shape = check(settings, processes=state.num_processes)
    output = Path(settings.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    summary = RLSummary(output=str(output))

    # -- data: prompts rendered by the project's template, long ones dropped (§9)
    from acecoder.llm._models import loading

    policy = _policy_path(settings.model)
    with loading(policy, what="rl.model"):  # the first file fetched: a hub that cannot serve it says so here
        tokenizer = AutoTokenizer.from_pretrained(policy)
    if tokenizer.chat_template is None:  # a base model: ChatML, which the R1 prompt needs
        tokenizer.chat_template = CHATML
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = []
    for row in read_questions(settings):
        ids = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True)
        ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
        if len(ids) > settings.max_prompt_tokens:
            summary.dropped_long += 1
            continue
        rows.append(row)
    if len(rows) < settings.rollout_prompts:
        raise ConfigError(
            f"{len(rows)} questions fit, fewer than rollout_prompts {settings.rollout_prompts}: "
            "lower rollout_prompts or give more questions"
        )
    summary.questions = len(rows)
    dataset = Dataset.from_list(rows)

    # -- set-up: engine choices, the step budget, resume
    cuda = torch.cuda.is_available()
    bf16 = settings.bf16 if settings.bf16 is not None else bool(cuda and torch.cuda.is_bf16_supported())
    use_vllm = settings.use_vllm if settings.use_vllm is not None else bool(cuda and importlib.util.find_spec("vllm"))
    rollouts_per_episode = len(rows) // settings.rollout_prompts
    rollouts = rollouts_per_episode * settings.episodes
    if settings.max_rollouts:
        rollouts = min(rollouts, settings.max_rollouts)
    max_steps = rollouts * shape["steps_per_rollout"]
    args = grpo_args(settings, shape, bf16=bf16, use_vllm=use_vllm, max_steps=max_steps, cuda=cuda)
    resume = latest_checkpoint(output)
    metrics_path = output / "metrics.jsonl"
    if resume is not None:
        summary.resumed_from = str(resume)
    if state.is_main_process:  # one writer of the metrics, whatever the number of processes
        if resume is not None:
            trim_metrics(metrics_path, json.loads((resume / "trainer_state.json").read_text())["global_step"])
        elif metrics_path.exists():
            metrics_path.unlink()  # a fresh run: no lines of an earlier one
        write_atomic(output / "settings.json", settings.model_dump_json(indent=2) + "\n")

    funcs, weights, test_reward = build_rewards(settings, device=str(state.device))
    callback = metrics_callback(metrics_path, steps_per_rollout=shape["steps_per_rollout"], progress=progress)
    args.reward_weights = weights
    try:
        trainer = _timed_trainer_class()(
            model=policy, reward_funcs=funcs, args=args, train_dataset=dataset,
            processing_class=tokenizer, callbacks=[callback, *(callbacks or [])],
        )
        trainer.remove_callback(PrinterCallback)  # metrics.jsonl and the bar report; it prints dicts
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        trainer.save_model(str(output / "final"))
        if state.is_main_process:
            tokenizer.save_pretrained(output / "final")
    finally:
        test_reward.close()  # the sandbox workers go with the run, even on a kill or an error
    summary.steps = trainer.state.global_step
    summary.rollouts = math.ceil(summary.steps / shape["steps_per_rollout"])
    summary.first, summary.last = callback.first, callback.last
    summary.seconds = time.monotonic() - started
    return summary
