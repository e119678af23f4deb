"""`acecoder rl` on TRL's GRPOTrainer: settings, prompts, and real GRPO steps on the tiny model."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acecoder.errors import ConfigError, InputError
from acecoder.stages import rl

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    {"id": "add", "source": "t", "question": "Implement `add(a, b)` returning a + b.",
     "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]},
    {"id": "neg", "source": "t", "question": "Implement `neg(x)` returning -x.",
     "tests": ["assert neg(1) == -1", "assert neg(-2) == 2"]},
    {"id": "sq", "source": "t", "question": "Implement `sq(x)` returning x * x.",
     "tests": ["assert sq(3) == 9"]},
    {"id": "one", "source": "t", "question": "Implement `one()` returning 1.",
     "tests": ["assert one() == 1"]},
]


def write_questions(path):
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def test_defaults_are_the_papers_numbers():
    s = rl.RLSettings()
    assert (s.rollout_prompts, s.samples_per_prompt, s.train_batch) == (256, 8, 128)
    assert (s.learning_rate, s.temperature, s.episodes, s.kl_coef, s.reward) == (5e-7, 1.0, 1, 0.01, "binary")
    assert rl.check(s.model_copy(update={"data": "x"}), processes=1) == {"grad_accum": 16, "steps_per_rollout": 16}
    for name, spec in rl.RLSettings.model_fields.items():
        assert spec.description, name


def test_bad_settings_name_the_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("learning_rat: 1e-6\n")
    with pytest.raises(ConfigError, match="learning_rat: unknown setting"):
        rl.load_settings(config)
    config.write_text("rl:\n  samples_per_prompt: 1\n")
    with pytest.raises(ConfigError, match="samples_per_prompt"):
        rl.load_settings(config)
    with pytest.raises(ConfigError, match="key=value"):
        rl.load_settings(None, ["oops"])
    s = rl.load_settings(None, ["learning_rate=1e-6", "report_to=[tensorboard]", "data=q.jsonl"])
    assert s.learning_rate == 1e-6 and s.report_to == ["tensorboard"]
    with pytest.raises(ConfigError, match="not a multiple of train_batch"):
        rl.check(s.model_copy(update={"rollout_prompts": 3, "samples_per_prompt": 5}))


def test_command_rejects_a_bad_key_and_checks_a_config(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "acecoder.cli", "rl", "--set", "temprature=1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "temprature: unknown setting" in bad.stderr and "Traceback" not in bad.stderr
    ok = subprocess.run([sys.executable, "-m", "acecoder.cli", "rl", str(ROOT / "configs/rl/reinforce_pp.yaml"),
                         "--set", "data=x.jsonl", "--check"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "16 optimizer steps of 128" in ok.stderr


def test_shipped_configs_validate():
    for path in sorted((ROOT / "configs" / "rl").glob("*.yaml")):
        settings = rl.load_settings(path)
        rl.check(settings.model_copy(update={"data": settings.data or "x"}))


def test_prompts_for_each_input_shape(tmp_path):
    q = write_questions(tmp_path / "q.jsonl")
    rows = rl.read_questions(rl.RLSettings(data=str(q), style="r1"))
    assert [r["id"] for r in rows] == ["add", "neg", "sq", "one"]
    assert rows[0]["prompt"][0] == {"role": "system", "content": rl.R1_SYSTEM_PROMPT}
    assert "Implement `add(a, b)`" in rows[0]["prompt"][1]["content"] and rows[0]["tests"] == QUESTIONS[0]["tests"]
    trl = tmp_path / "trl.jsonl"
    trl.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}], "tests": ["assert 1"], "id": "x"}) + "\n")
    assert rl.read_questions(rl.RLSettings(data=str(trl)))[0]["prompt"] == [{"role": "user", "content": "hi"}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "no tests"}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl:1: a row needs"):
        rl.read_questions(rl.RLSettings(data=str(bad)))


def test_metrics_trimmed_to_the_resumed_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 3)) + '{"step": 4, "rew')
    rl.trim_metrics(path, 2)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2]


def tiny_settings(tiny_model, tmp_path, **changes):
    settings = dict(
        model=str(tiny_model), data=str(write_questions(tmp_path / "q.jsonl")), output_dir=str(tmp_path / "run"),
        rollout_prompts=2, samples_per_prompt=4, train_batch=4, micro_batch=2, max_completion_tokens=16,
        learning_rate=1e-4, test_timeout=1.0, sandbox_workers=2, save_every_rollouts=1, max_prompt_tokens=2000,
    )
    settings.update(changes)
    return rl.RLSettings(**settings)


def test_grpo_steps_on_the_tiny_model_write_metrics_and_resume(tiny_model, tmp_path):
    settings = tiny_settings(tiny_model, tmp_path, max_rollouts=1)
    summary = rl.run(settings)
    # 4 questions / 2 a rollout -> at most 2 rollouts; capped at 1; 8 completions / 4 per step = 2 steps
    assert (summary.questions, summary.steps, summary.rollouts) == (4, 2, 1)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["step"] == 2 and lines[0]["rollout"] == 1
    line = lines[0]
    # a random tiny model writes no working program: every group fails every test
    assert line["reward"] == 0.0 and line["pass_rate"] == 0.0 and line["all_fail_groups"] == 1.0
    assert line["zero_std_groups"] == 1.0 and line["all_pass_groups"] == 0.0
    assert line["reward_seconds"] > 0 and line["generation_seconds"] > 0 and line["completion_length"] > 0
    assert (tmp_path / "run" / "final" / "config.json").exists()
    assert (tmp_path / "run" / "checkpoint-2" / "trainer_state.json").exists()
    # a rerun resumes from checkpoint-2 and does the second rollout only
    summary = rl.run(settings.model_copy(update={"max_rollouts": 2}))
    assert summary.resumed_from.endswith("checkpoint-2") and summary.steps == 4
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4]


@pytest.mark.slow
def test_the_command_resumes_after_a_kill(tiny_model, tmp_path):
    """`acecoder rl` killed (SIGKILL) after its first checkpoint; the same command finishes the run."""
    settings = tiny_settings(tiny_model, tmp_path, episodes=3, max_questions=4)
    config = tmp_path / "rl.yaml"
    config.write_text(json.dumps(settings.model_dump()))  # JSON is YAML
    command = [sys.executable, "-m", "acecoder.cli", "rl", str(config)]
    run = tmp_path / "run"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (run / "checkpoint-2" / "trainer_state.json").exists() and time.monotonic() < deadline:
            assert process.poll() is None, f"acecoder rl exited with {process.returncode} before its checkpoint"
            time.sleep(0.2)
        time.sleep(0.5)  # let it write the rest of the checkpoint
    finally:
        process.kill()
        process.wait()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resumed from" in result.stderr and "done 12 steps (6 rollouts)" in result.stderr
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 12


def test_settings_reach_grpo_config(tmp_path):
    """What the settings say reaches TRL: gradient checkpointing off stays off (TRL's default
    is on), vLLM's knobs under TRL's names, the context sized for RL, float32 weights."""
    settings = rl.RLSettings(data="q.jsonl", output_dir=str(tmp_path), gradient_checkpointing=False,
                             vllm_gpu_memory_utilization=0.25, vllm_tensor_parallel_size=2,
                             vllm_enable_sleep_mode=True, vllm_server_host="10.0.0.2", vllm_server_port=8123,
                             max_prompt_tokens=1000, max_completion_tokens=512)
    args = rl.grpo_args(settings, rl.check(settings), bf16=False, use_vllm=False, max_steps=1, cuda=False)
    assert args.gradient_checkpointing is False
    assert (args.vllm_gpu_memory_utilization, args.vllm_tensor_parallel_size) == (0.25, 2)
    assert args.vllm_enable_sleep_mode is True and args.vllm_max_model_length == 1512
    assert (args.vllm_server_host, args.vllm_server_port) == ("10.0.0.2", 8123)
    on = rl.grpo_args(settings.model_copy(update={"gradient_checkpointing": True, "vllm_max_model_length": 4096}),
                      rl.check(settings), bf16=True, use_vllm=False, max_steps=1, cuda=False)
    assert on.gradient_checkpointing is True and on.vllm_max_model_length == 4096
    # bf16 is autocast over float32 weights, never bf16 weights (see test_ddp_...)
    assert on.model_init_kwargs == {"dtype": "float32"} == args.model_init_kwargs
    with pytest.raises(ConfigError, match="vllm_gpu_memory_utilization"):
        rl.validate_settings({"vllm_gpu_memory_utilization": 1.5})


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


# In the default run (issue 24's check), though two processes import torch and TRL: ~1 min on 2 cores
def test_ddp_keeps_float32_weights_that_move_at_the_papers_learning_rate(tiny_model, classifier, tmp_path):
    """Two CPU processes under torchrun (DDP over gloo), bf16 on, the paper's lr 5e-7, one
    optimizer step with the reward model's reward (its scores differ, so advantages do):
    the optimizer steps float32 weights on both processes, and the step moves most of
    them. bf16 weights (what the stage loaded before) keep nearly all of them: a weight
    near 0.02 moves in steps of 1.2e-4 in bf16, 400 times the update."""
    settings = tiny_settings(tiny_model, tmp_path, bf16=True, learning_rate=5e-7, reward_model=str(classifier),
                             reward_model_normalize="batch", rollout_prompts=2, samples_per_prompt=4,
                             train_batch=8, micro_batch=2, max_rollouts=1)
    config = tmp_path / "settings.json"
    config.write_text(settings.model_dump_json())
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29538"]
    probe = Path(__file__).with_name("_rl_probe.py")
    result = subprocess.run([*torchrun, str(probe), str(config), str(tmp_path)], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    for rank in (0, 1):
        record = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert record == {"dtypes": ["torch.float32"], "optimizer_steps": 1}
    before, after = _weights(tiny_model), _weights(tmp_path / "run" / "final")
    assert {str(t.dtype) for t in after.values()} == {"torch.float32"}
    moved = sum(int((after[k] != before[k].to(after[k].dtype)).sum()) for k in before)
    total = sum(t.numel() for t in before.values())
    # measured on 2 CPU processes: 0.856 of the weights moved (embedding rows of tokens in no
    # prompt or completion get no gradient); with bf16 weights, 0.009 of them
    assert moved / total > 0.5, moved / total


def _reward_worker(rank: int, port: int, classifier: str, out: str) -> None:
    """One of two processes: the stage's reward functions scoring this process's completions,
    two rollouts of them, under each normalisation."""
    import asyncio

    import torch.distributed as dist

    from acecoder.rewards import ModelReward
    from acecoder.rm import RewardModel

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    unnormalised = ModelReward(RewardModel.load(classifier, device="cpu"), normalize="none", clip=None)
    record = {}
    for normalize, rollout in [("batch", 0), ("batch", 1), ("running", 0), ("running", 1)]:
        if rollout == 0:
            settings = rl.RLSettings(data="q.jsonl", reward_model=classifier, reward_model_normalize=normalize,
                                     sandbox_workers=1)
            funcs, _, test = rl.build_rewards(settings, device="cpu")
            test.close()
        n = len(QUESTIONS) - rank  # 4 completions on rank 0, 3 on rank 1
        prompts = [[{"role": "user", "content": q["question"]}] for q in QUESTIONS[:n]]
        completions = [[{"role": "assistant", "content": f"```python\ndef f(x):\n    return x * {rollout} + {rank * 7 + i}\n```"}]
                       for i in range(n)]
        tests = [q["tests"] for q in QUESTIONS[:n]]
        rewards = asyncio.run(funcs[1](prompts, completions, tests=tests))
        record.setdefault(normalize, []).append({"rewards": rewards, "raw": unnormalised.raw(prompts, completions, tests)})
    dist.destroy_process_group()
    with open(f"{out}/{rank}.json", "w") as handle:
        json.dump(record, handle)


def test_reward_model_rewards_are_normalised_over_every_process(classifier, tmp_path):
    """GRPOTrainer scores each process's completions on that process; the reward model's
    normalisation must still use every process's scores (one set of statistics), or the
    same score becomes different rewards on different GPUs. By hand: (score - mean) / std
    over the 7 completions of both processes (batch), or over both rollouts' 14 (running)."""
    import socket

    import torch

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    torch.multiprocessing.spawn(_reward_worker, args=(port, str(classifier), str(tmp_path)), nprocs=2)
    ranks = [json.loads((tmp_path / f"{rank}.json").read_text()) for rank in (0, 1)]
    for normalize in ("batch", "running"):
        seen: list[float] = []
        for rollout in range(2):
            batch = ranks[0][normalize][rollout]["raw"] + ranks[1][normalize][rollout]["raw"]
            seen = seen + batch if normalize == "running" else batch
            mean = sum(seen) / len(seen)
            std = (sum((s - mean) ** 2 for s in seen) / len(seen)) ** 0.5
            for rank in ranks:
                expected = [(s - mean) / std for s in rank[normalize][rollout]["raw"]]
                assert rank[normalize][rollout]["rewards"] == pytest.approx(expected, abs=1e-5), (normalize, rollout)


@pytest.mark.slow  # two processes under DeepSpeed: ~40 s on 2 cores
def test_zero3_on_two_processes_with_the_reward_model_reward(tiny_model, classifier, zero3_cpu_launch, tmp_path):
    """The policy sharded by ZeRO-3 over two CPU processes and the reward model's reward on.
    Before: the reward model was loaded after GRPOConfig had switched ZeRO-3 on, so through
    deepspeed.zero.Init, and the first reward failed on its partitioned embedding ("'weight'
    must be 2-D"); now it is whole on each process and the rollout trains."""
    settings = tiny_settings(tiny_model, tmp_path, reward_model=str(classifier), learning_rate=5e-7,
                             rollout_prompts=2, samples_per_prompt=4, train_batch=4, micro_batch=1, max_rollouts=1)
    config = tmp_path / "rl.yaml"
    config.write_text(settings.model_dump_json())  # JSON is YAML
    result = subprocess.run([*zero3_cpu_launch, "--main_process_port", "29539", "-m", "acecoder.cli", "rl", str(config)],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("done 2 steps") == 1  # one report, from the main process
    [line] = [json.loads(text) for text in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert line["step"] == 2 and line["reward_std"] > 0  # the reward model's scores differ between completions
    final = _weights(tmp_path / "run" / "final")  # gathered at save: whole tensors
    assert all(t.numel() for t in final.values()) and final.keys() == _weights(tiny_model).keys()
