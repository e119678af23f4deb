"""Stage train-rm on the tiny Qwen2: outputs, held-out evaluation, resume, formats, errors."""

import json
import math
import shutil
import subprocess
import os
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("trl")

from acecoder.errors import ConfigError, InputError  # noqa: E402
from acecoder.prompts import chat, program_response  # noqa: E402
from acecoder.rm import RewardModel, encode, pair_messages  # noqa: E402
from acecoder.stages import train_rm  # noqa: E402


def write_pairs(path, n=16):
    with path.open("w") as handle:
        for i in range(n):
            q = i // 2  # two pairs per question
            handle.write(json.dumps({
                "id": f"q{q}/m/{i}>m/9", "question_id": f"q{q}",
                "question": f"Write a python function add_{q} that adds two numbers.",
                "tests": [f"assert add_{q}(1, 2) == 3", f"assert add_{q}(0, 0) == 0"],
                "chosen": f"def add_{q}(x, y):\n    return x + y",
                "rejected": f"def add_{q}(x, y):\n    return x - y * {i}",
                "chosen_pass_rate": 1.0, "rejected_pass_rate": 0.5, "chosen_model": "m", "rejected_model": "m",
                "margin": 0.5,
            }) + "\n")
    return path


def settings(**overrides):
    base = dict(batch_size=4, micro_batch_size=2, learning_rate=1e-3, logging_steps=1, save_steps=2,
                eval_fraction=0.25, max_length=256, device="cpu")
    return train_rm.TrainRMSettings(**{**base, **overrides})


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    pairs = write_pairs(folder / "pairs.jsonl")
    out = folder / "rm"
    summary = train_rm.run(pairs, out, model=str(tiny_model), settings=settings())
    return pairs, out, summary


def test_defaults_are_the_methods_recipe():
    recipe = train_rm.TrainRMSettings()
    assert (recipe.learning_rate, recipe.lr_scheduler, recipe.warmup_ratio, recipe.epochs) == (1e-5, "cosine", 0.1, 1.0)
    assert (recipe.batch_size, recipe.max_length, recipe.eval_fraction, recipe.lora_rank) == (128, 2048, 0.005, 0)


def test_training_writes_the_model_metrics_and_held_out_evaluation(trained):
    pairs, out, summary = trained
    # 16 pairs of 8 questions; 25% held out by whole questions: 4 pairs; 12 trained in 3 steps of 4
    assert (summary.pairs, summary.eval_pairs, summary.train_pairs, summary.steps) == (16, 4, 12, 3)
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2, 3]
    for line in metrics:
        assert set(line) == {"step", "epoch", "loss", "accuracy", "margin", "learning_rate", "grad_norm",
                             "mean_reward", "pairs_per_second"}
        assert 0 <= line["accuracy"] <= 1 and line["loss"] > 0
    assert metrics[0]["learning_rate"] == 0.0  # warm-up starts at 0 (10% of 3 steps rounds up to 1)
    assert metrics[-1]["epoch"] == pytest.approx(1.0)

    # eval.json: the held-out pairs scored by the final model, accuracy and margin by hand
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["pairs"] == 4 and evaluation["train_pairs"] == 12 and evaluation["steps"] == 3
    assert evaluation["settings"]["learning_rate"] == 1e-3 and evaluation["settings"]["batch_size"] == 4
    model = RewardModel.load(out, device="cpu")
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    _, held = train_rm.split([r["question_id"] for r in rows], 0.25, 42)
    gaps = []
    for i in held:
        r = rows[i]
        good, bad = model.score([r["question"]] * 2, [r["chosen"], r["rejected"]], [r["tests"]] * 2)
        gaps.append(good - bad)
    assert evaluation["accuracy"] == sum(g > 0 for g in gaps) / 4
    assert evaluation["mean_margin"] == pytest.approx(sum(gaps) / 4, abs=1e-6)
    assert evaluation["loss"] == pytest.approx(sum(math.log1p(math.exp(-g)) for g in gaps) / 4, abs=1e-6)


def test_the_final_model_loads_in_transformers_with_the_same_scores(trained):
    _, out, _ = trained
    ours = RewardModel.load(out, device="cpu")
    assert ours.layout == "score"
    theirs = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    ids = torch.tensor([encode(ours.tokenizer, pair_messages("Write add.", "def add(a, b):\n    return a + b", ["assert add(1, 1) == 2"]))])
    with torch.no_grad():
        expected = float(theirs(input_ids=ids).logits[0, 0])
    assert ours.score(["Write add."], ["def add(a, b):\n    return a + b"], [["assert add(1, 1) == 2"]]) == pytest.approx([expected], abs=1e-5)


def test_a_killed_run_resumes_from_its_last_checkpoint(tiny_model, trained, tmp_path):
    pairs, first, _ = trained
    out = tmp_path / "rm"
    shutil.copytree(first, out)
    # what a kill after step 2's checkpoint leaves: checkpoint-2, metrics up to step 3, no final model
    shutil.rmtree(out / "checkpoint-3")
    for name in ("model.safetensors", "eval.json", "config.json"):
        (out / name).unlink()
    summary = train_rm.run(pairs, out, model=str(tiny_model), settings=settings())
    assert summary.resumed_from == 2 and summary.steps == 3
    metrics = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert metrics == [1, 2, 3]  # step 3 logged once, again
    args = (["Write add."], ["def add(a, b):\n    return a + b"])
    resumed = RewardModel.load(out, device="cpu").score(*args)
    assert resumed == pytest.approx(RewardModel.load(first, device="cpu").score(*args), abs=1e-4)


def test_trl_preference_rows_and_lora(tiny_model, tmp_path):
    pairs = tmp_path / "trl.jsonl"
    with pairs.open("w") as handle:
        for i in range(6):
            handle.write(json.dumps({
                "prompt": chat(f"Question {i}: return one.", None),
                "chosen": [{"role": "assistant", "content": program_response("def one():\n    return 1")}],
                "rejected": [{"role": "assistant", "content": program_response(f"def one():\n    return {i + 2}")}],
                "margin": 0.6,
            }) + "\n")
    out = tmp_path / "rm"
    summary = train_rm.run(pairs, out, model=str(tiny_model),
                           settings=settings(lora_rank=4, eval_fraction=0.2, margin_scale=3.0, max_steps=1))
    assert summary.format == "trl" and summary.steps == 1 and summary.eval_pairs == 2
    model = RewardModel.load(out, device="cpu")  # the adapters merged into a full checkpoint
    assert model.layout == "score" and len(model.score(["q"], ["x = 1"])) == 1


def test_bad_inputs_are_named(tiny_model, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "x", "chosen": "a", "rejected": "b"}\n')
    with pytest.raises(InputError, match="bad.jsonl.*expected Pair records"):
        train_rm.run(bad, tmp_path / "o", model=str(tiny_model), settings=settings())
    broken = write_pairs(tmp_path / "broken.jsonl", 4)
    broken.write_text(broken.read_text() + '{"id": "x", "question": 3}\n')
    with pytest.raises(InputError, match="broken.jsonl:5"):
        train_rm.run(broken, tmp_path / "o", model=str(tiny_model), settings=settings())
    good = write_pairs(tmp_path / "good.jsonl", 4)
    with pytest.raises(ConfigError, match="base model"):
        train_rm.run(good, tmp_path / "o", model=str(tmp_path / "nowhere"), settings=settings())
    with pytest.raises(ConfigError, match="multiple of micro_batch_size"):
        train_rm.run(good, tmp_path / "o", model=str(tiny_model), settings=settings(batch_size=3))
    with pytest.raises(ConfigError, match="max_length"):
        train_rm.run(good, tmp_path / "o", model=str(tiny_model), settings=settings(max_length=10))


def command(pairs, model, out):
    return [sys.executable, "-m", "acecoder.cli", "train-rm", str(pairs), "--model", str(model), "-o", str(out),
            "--batch-size", "4", "--micro-batch-size", "4", "--learning-rate", "1e-3", "--max-length", "256",
            "--eval-fraction", "0.25", "--logging-steps", "1", "--cpu"]


def test_the_command_names_a_bad_base_model(tmp_path):
    pairs = write_pairs(tmp_path / "pairs.jsonl", 8)
    result = subprocess.run(command(pairs, tmp_path / "nowhere", tmp_path / "rm"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "base model" in result.stderr and "nowhere" in result.stderr


@pytest.mark.slow  # a fresh process imports torch, transformers and TRL: ~10 s on an idle 2-core machine
def test_the_command_trains(tiny_model, tmp_path):
    pairs = write_pairs(tmp_path / "pairs.jsonl", 8)
    result = subprocess.run(command(pairs, tiny_model, tmp_path / "rm"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "done" in result.stderr and "held out 2 pairs" in result.stderr
    assert (tmp_path / "rm" / "eval.json").exists()


@pytest.mark.slow  # two processes, each importing torch and TRL
def test_two_processes_train_one_model(tiny_model, tmp_path):
    """The multi-process path (what accelerate launch / torchrun start) on the CPU, with gloo:
    the effective batch is split over the processes and the main process writes the outputs."""
    pairs = write_pairs(tmp_path / "pairs.jsonl", 8)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29537"]
    args = command(pairs, tiny_model, tmp_path / "rm")[1:]
    args[args.index("--micro-batch-size") + 1] = "2"
    result = subprocess.run(torchrun + args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("held out 2 pairs") == 1  # one report
    evaluation = json.loads((tmp_path / "rm" / "eval.json").read_text())
    assert evaluation["train_pairs"] == 6 and evaluation["steps"] == 2  # 6 pairs, 4 a step over 2 processes


def test_a_hub_name_reaches_transformers_hub_loading_and_offline_says_so(tmp_path):
    """`--model ORG/NAME` is a hub name, not refused up front: transformers' own hub
    loading runs, and with the hub offline (HF_HUB_OFFLINE=1, an empty cache) the error
    names the model and HF_HUB_OFFLINE, with no traceback."""
    pairs = write_pairs(tmp_path / "pairs.jsonl", 8)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    result = subprocess.run(command(pairs, "Qwen/Qwen2.5-Coder-7B-Instruct", tmp_path / "rm"), capture_output=True,
                            text=True, timeout=180, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "Qwen/Qwen2.5-Coder-7B-Instruct" in result.stderr and "HF_HUB_OFFLINE" in result.stderr
    assert "local cache" in result.stderr and "OSError" in result.stderr  # transformers' own error, quoted


# In the default run (issue 24's check): two processes under DeepSpeed, each importing torch, TRL and DeepSpeed: ~30 s a run
@pytest.mark.parametrize("lora_rank", [0, 4])
def test_zero3_on_two_processes_writes_a_whole_model_and_its_evaluation(tiny_model, zero3_cpu_launch, tmp_path,
                                                                       lora_rank):
    """ZeRO-3 with the weights sharded over two CPU processes. Before: the held-out evaluation
    loaded the model on rank 0 alone, through deepspeed.zero.Init, whose broadcast waited
    for rank 1, which had left (the NCCL timeout on GPUs; here gloo's "Connection closed
    by peer"), and eval.json was never written; with LoRA, merge_and_unload added the
    adapters to empty shards and rank 0 saved a model of empty tensors."""
    pairs = write_pairs(tmp_path / "pairs.jsonl", 8)
    out = tmp_path / "rm"
    args = command(pairs, tiny_model, out)[3:]  # from "train-rm" on
    args[args.index("--micro-batch-size") + 1] = "2"
    result = subprocess.run([*zero3_cpu_launch, "--main_process_port", str(29540 + lora_rank), "-m", "acecoder.cli",
                             *args, "--lora-rank", str(lora_rank)],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (out / "adapter").exists()  # LoRA: merged into the one layout
    model = RewardModel.load(out, device="cpu")  # whole: no empty tensor in the checkpoint
    base = transformers.AutoModel.from_pretrained(tiny_model)
    changed = [name for name, p in base.named_parameters()
               if not torch.equal(p, model.body.get_parameter(name).to(p.dtype))]
    assert any("proj" in name for name in changed)  # trained (LoRA: its merged updates)
    # eval.json: both processes' shares, as one process scores the held-out pairs
    evaluation = json.loads((out / "eval.json").read_text())
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    _, held = train_rm.split([r["question_id"] for r in rows], 0.25, 42)
    gaps = [model.score([rows[i]["question"]] * 2, [rows[i]["chosen"], rows[i]["rejected"]], [rows[i]["tests"]] * 2)
            for i in held]
    gaps = [good - bad for good, bad in gaps]
    assert evaluation["pairs"] == len(held) == 2 and evaluation["train_pairs"] == 6
    assert evaluation["mean_margin"] == pytest.approx(sum(gaps) / len(gaps), abs=1e-5)
