"""The GPU paths of acecoder in one short run on one GPU, with no network: a tiny model
built here, each check one line of output.

    python scripts/gpu_smoke.py              # a CUDA GPU: bf16, ZeRO-3, the reward model on the GPU
    python scripts/gpu_smoke.py --cpu        # what a CPU runs of it (the test suite does: tests/test_gpu_smoke.py)
    python scripts/gpu_smoke.py --keep DIR   # keep the models and logs in DIR

Checks, in order (a line each: `ok NAME (S s): what was seen` or `FAIL NAME (S s): why`):

1. generate: transformers generation (TransformersBackend) on CUDA gives the CPU's greedy
   text in float32, and samples in the GPU's default dtype (bf16).
2. train-rm-zero3: `acecoder train-rm` launched by `accelerate launch` under DeepSpeed ZeRO-3
   (the shipped configs/accelerate/zero3.yaml's settings, bf16 on a GPU, parameters sharded
   however small: `stage3_param_persistence_threshold` 0, as a 7B's are), two optimizer
   steps: the process exits, eval.json holds the held-out evaluation, the saved model is whole.
3. rl-reward-model: the reward model the RL stage builds sits on the GPU and scores.
4. rl-grpo: one GRPO optimizer step (`acecoder.stages.rl.run`, transformers generation,
   the reward model's reward at weight 1) at the paper's lr 5e-7 with bf16 on: the
   optimizer steps float32 weights and most of them move.

With --cpu every check runs on the CPU (no CUDA comparison, float32, DeepSpeed's CPU
accelerator over gloo). The exit status is the number of failed checks. About 2 minutes
on one GPU, mostly imports; nothing is downloaded.

What it needs beside torch: the package's train extra (transformers, accelerate, TRL,
peft, datasets), pydantic and deepspeed (a pure-Python wheel, ops unbuilt: they compile on
first use where nvcc is, and ZeRO-3 with torch's AdamW needs none). A machine that has
torch, transformers, accelerate and peft but not the rest (the lent GPU machines: Python
3.12) gets them as wheels that travel with the working tree, prepared where pip works:

    echo /.whl/ >> .git/info/exclude
    pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 -d .whl trl==1.16.0 datasets==5.2.0 dill==0.4.1 \
        multiprocess==0.70.19 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
        typing-inspection==0.4.5 hjson==3.1.0
    pip wheel --no-deps deepspeed==0.19.8 -w .whl          # builds without torch: ops unbuilt

and there, before the run (the package itself from src/, nothing installed from a network):

    pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    PYTHONPATH=/tmp/site:src python3 scripts/gpu_smoke.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QUESTIONS = [
    {"id": "add", "source": "smoke", "question": "Implement `add(a, b)` returning a + b.",
     "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]},
    {"id": "neg", "source": "smoke", "question": "Implement `neg(x)` returning -x.", "tests": ["assert neg(1) == -1"]},
]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# ---------------------------------------------------------------- inputs, built here


def build_tiny_model(folder: Path) -> Path:
    """A 2-layer Qwen2 (hidden 64, random weights) with a BPE tokenizer trained on a small
    corpus of code-like lines and a ChatML template: a real checkpoint, made in a second."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = []
    for i in range(300):
        name = ["add", "solve", "count", "merge", "parse", "sort"][i % 6]
        corpus += [f"def {name}_{i % 17}(x, y):\n    return x + y * {i}", f"assert {name}_{i % 17}({i}, 1) == {i + i}",
                   f"Write a python function {name} that returns the {name}ed list."]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.mul_(12.0)  # peaked next-token distributions: stable greedy argmaxes
    model.save_pretrained(folder)
    return folder


def write_pairs(path: Path, n: int = 8) -> Path:
    with path.open("w") as out:
        for i in range(n):
            q = i // 2
            out.write(json.dumps({
                "id": f"q{q}/m/{i}>m/9", "question_id": f"q{q}", "question": f"Write a python function add_{q} that adds two numbers.",
                "tests": [f"assert add_{q}(1, 2) == 3"], "chosen": f"def add_{q}(x, y):\n    return x + y",
                "rejected": f"def add_{q}(x, y):\n    return x - y * {i}", "chosen_pass_rate": 1.0, "rejected_pass_rate": 0.0,
                "chosen_model": "m", "rejected_model": "m", "margin": 1.0,
            }) + "\n")
    return path


def launch_config(folder: Path, *, cuda: bool) -> Path:
    """accelerate's launch config: the shipped zero3.yaml's settings, one process on a GPU (or
    the CPU), every parameter sharded (a tiny model's would all stay whole by default)."""
    import yaml

    shipped = yaml.safe_load((ROOT / "configs" / "accelerate" / "zero3.yaml").read_text())["deepspeed_config"]
    ds = {
        "zero_optimization": {
            "stage": shipped["zero_stage"], "stage3_param_persistence_threshold": 0,
            "stage3_gather_16bit_weights_on_model_save": shipped["zero3_save_16bit_model"],
        },
        "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
        "train_batch_size": "auto", "gradient_clipping": "auto",
        # the shipped config's mixed_precision: bf16 (a config file must say it itself)
        **({"bf16": {"enabled": True}} if cuda else {}),
    }
    (folder / "ds.json").write_text(json.dumps(ds))
    config = folder / "accelerate.yaml"
    config.write_text(
        "distributed_type: DEEPSPEED\n"
        f"deepspeed_config:\n  deepspeed_config_file: {folder / 'ds.json'}\n  zero3_init_flag: {str(shipped['zero3_init_flag']).lower()}\n"
        f"num_machines: 1\nnum_processes: 1\nuse_cpu: {str(not cuda).lower()}\n"
    )
    return config


# ---------------------------------------------------------------- the checks


def check_generate(work: Path, cuda: bool) -> str:
    import asyncio

    from acecoder.llm import ChatRequest, TransformersBackend

    request = ChatRequest(messages=[{"role": "user", "content": "Write a python function merge"}], max_tokens=16)
    [on_cpu] = asyncio.run(TransformersBackend(str(work / "tiny"), device="cpu").generate([request]))
    if not cuda:
        return f"greedy on the CPU, {len(on_cpu.choices[0].text)} characters"
    [on_gpu] = asyncio.run(TransformersBackend(str(work / "tiny"), device="cuda", dtype="float32").generate([request]))
    assert on_gpu.texts == on_cpu.texts, f"cuda float32 {on_gpu.texts} != cpu {on_cpu.texts}"
    sampler = TransformersBackend(str(work / "tiny"), device="cuda")  # the GPU's default dtype
    sample = ChatRequest(messages=request.messages, n=4, temperature=1.0, seed=1, max_tokens=12)
    [sampled] = asyncio.run(sampler.generate([sample]))
    assert len(sampled.choices) == 4 and sampler.usage.completion_tokens > 0
    return f"cuda float32 greedy == cpu greedy ({len(on_cpu.choices[0].text)} characters); 4 samples in the GPU's default dtype"


def check_train_rm_zero3(work: Path, cuda: bool) -> str:
    out, pairs = work / "rm", write_pairs(work / "pairs.jsonl")
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(launch_config(work, cuda=cuda)),
        "--main_process_port", "29517", "-m", "acecoder.cli", "train-rm", str(pairs), "--model", str(work / "tiny"),
        "-o", str(out), "--batch-size", "2", "--micro-batch-size", "1", "--learning-rate", "1e-3", "--max-length", "256",
        "--eval-fraction", "0.25", "--logging-steps", "1", "--max-steps", "2",
        *(["--bf16"] if cuda else ["--cpu", "--no-bf16"]),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=420, env={**os.environ, "OMP_NUM_THREADS": "1"})
    (work / "train-rm.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr.strip().splitlines()[-1:]} (log: {work / 'train-rm.log'})"
    evaluation = json.loads((out / "eval.json").read_text())
    from safetensors import safe_open

    with safe_open(str(out / "model.safetensors"), framework="pt") as weights:
        shapes = [weights.get_slice(name).get_shape() for name in weights.keys()]
        dtypes = {str(weights.get_slice(name).get_dtype()) for name in weights.keys()}
    assert all(0 not in shape for shape in shapes), "the saved model has empty tensors"
    assert evaluation["steps"] == 2 and evaluation["pairs"] == 2, evaluation
    return (f"2 steps, exit 0, eval.json: {evaluation['pairs']} held-out pairs, accuracy {evaluation['accuracy']}; "
            f"saved whole in {', '.join(sorted(dtypes))}")


def check_rl_reward_model(work: Path, cuda: bool) -> str:
    from acecoder.stages import rl

    settings = rl.RLSettings(data=str(work / "q.jsonl"), reward_model=str(work / "rm"), sandbox_workers=1)
    funcs, _, test = rl.build_rewards(settings, device="cuda:0" if cuda else "cpu")
    test.close()
    model = funcs[1].raw.reward.model
    expected = "cuda" if cuda else "cpu"
    assert model.device.type == expected, f"the reward model is on {model.device}"
    scores = model.score(["Write add."], ["def add(a, b):\n    return a + b"])
    return f"whole on {model.device} in {model.head.weight.dtype}, scores {scores[0]:+.4f}"


def check_rl_grpo(work: Path, cuda: bool) -> str:
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from acecoder.stages import rl

    class Probe(TrainerCallback):
        dtypes: set = set()

        def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            Probe.dtypes |= {str(p.dtype) for group in optimizer.param_groups for p in group["params"]}

    settings = rl.RLSettings(
        model=str(work / "tiny"), data=str(work / "q.jsonl"), output_dir=str(work / "rl"), reward_model=str(work / "rm"),
        rollout_prompts=2, samples_per_prompt=4, train_batch=8, micro_batch=4, max_completion_tokens=16,
        learning_rate=5e-7, bf16=cuda, use_vllm=False, reward_model_normalize="batch", max_rollouts=1,
        sandbox_workers=1, test_timeout=1.0,
    )
    summary = rl.run(settings, callbacks=[Probe()])
    before, after = load_file(str(work / "tiny" / "model.safetensors")), load_file(str(work / "rl" / "final" / "model.safetensors"))
    moved = sum(int((after[k] != before[k].to(after[k].dtype)).sum()) for k in before) / sum(t.numel() for t in before.values())
    assert Probe.dtypes == {"torch.float32"}, f"the optimizer stepped {Probe.dtypes}"
    assert summary.steps == 1 and moved > 0.5, f"{summary.steps} steps, {moved:.3f} of the weights moved"
    return f"1 step at lr 5e-7 (bf16 {'on' if cuda else 'off'}): optimizer on float32 weights, {moved:.3f} of them moved"


CHECKS = [
    ("generate", check_generate),
    ("train-rm-zero3", check_train_rm_zero3),
    ("rl-reward-model", check_rl_reward_model),
    ("rl-grpo", check_rl_grpo),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", action="store_true", help="run every check on the CPU (no GPU needed)")
    parser.add_argument("--keep", type=Path, help="a folder for the models and logs (default: a temporary one)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing from the network
    import torch

    cuda = not args.cpu
    if cuda and not torch.cuda.is_available():
        print("FAIL setup: no CUDA GPU visible (run with --cpu on a machine without one)")
        return len(CHECKS)
    device = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"gpu_smoke on {device}: torch {torch.__version__}", flush=True)
    with tempfile.TemporaryDirectory(prefix="acecoder-gpu-smoke-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        build_tiny_model(work / "tiny")
        (work / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
        failed = 0
        for name, check in CHECKS:
            started = time.monotonic()
            try:
                verdict, detail = "ok", check(work, cuda)
            except Exception as error:  # noqa: BLE001 - each check reports, the next one runs
                failed += 1
                verdict, detail = "FAIL", f"{type(error).__name__}: {error}"
                if os.environ.get("ACECODER_DEBUG"):
                    traceback.print_exc()
            print(f"{verdict} {name} ({time.monotonic() - started:.0f} s): {detail}", flush=True)
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} checks passed")
    return failed


if __name__ == "__main__":
    sys.exit(main())
