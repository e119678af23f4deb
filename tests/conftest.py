"""Shared fixtures. Nothing in the tests may reach a model or dataset hub."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _own_verdict_cache(tmp_path_factory, monkeypatch):
    """Each test its own verdict cache (acecoder.execution.VerdictCache), in its own and
    its subprocesses' environment: no verdict carries over from another test or the user's."""
    monkeypatch.setenv("ACECODER_VERDICTS", str(tmp_path_factory.mktemp("verdicts") / "verdicts.sqlite"))

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _corpus() -> list[str]:
    lines = []
    for i in range(300):
        name = ["add", "solve", "count", "merge", "parse", "sort"][i % 6]
        lines.append(f"def {name}_{i % 17}(x, y):\n    return x + y * {i}  # {name} numbers")
        lines.append(f"assert {name}_{i % 17}({i}, {i % 7}) == {i + (i % 7) * i}")
        lines.append(f"Write a python function {name} that takes a list and returns the {name}ed list.")
    return lines


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A folder with a 2-layer Qwen2 causal LM (hidden 64, random weights) and a BPE tokenizer
    trained on the corpus, with a ChatML template: a real checkpoint that loads in a second."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("tiny-qwen")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_corpus(), trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = transformers.Qwen2ForCausalLM(config)
    # Random weights of this size give near-uniform next-token distributions (greedy would hang
    # on near-ties); a larger output head makes them peaked enough for stable argmaxes
    # (top token ~0.1-0.2) while sampling at temperature 1 still varies.
    with torch.no_grad():
        model.lm_head.weight.mul_(12.0)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def classifier(tiny_model, tmp_path_factory):
    """transformers' sequence-classification layout: the tiny body with a random `score` head."""
    import torch
    import transformers

    folder = tmp_path_factory.mktemp("classifier")
    torch.manual_seed(2)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=1)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def zero3_cpu_launch(tmp_path_factory):
    """`accelerate launch` arguments for DeepSpeed ZeRO-3 on two CPU processes (DeepSpeed's CPU
    accelerator, over gloo): what configs/accelerate/zero3.yaml sets, less bf16 (CPUs run it
    slowly), plus `stage3_param_persistence_threshold: 0`. DeepSpeed keeps a parameter under
    that many elements whole on every rank (10 x hidden size under `auto`, 1e5 by default):
    all of a tiny model's weights, none of a 7B's. At 0 the tiny model is sharded as a 7B is."""
    import json
    import sys

    folder = tmp_path_factory.mktemp("zero3-cpu")
    (folder / "ds.json").write_text(json.dumps({
        "zero_optimization": {"stage": 3, "stage3_param_persistence_threshold": 0,
                              "stage3_gather_16bit_weights_on_model_save": True},
        "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
        "train_batch_size": "auto", "gradient_clipping": "auto",
    }))
    (folder / "accelerate.yaml").write_text(
        "distributed_type: DEEPSPEED\n"
        f"deepspeed_config:\n  deepspeed_config_file: {folder / 'ds.json'}\n  zero3_init_flag: true\n"
        "num_machines: 1\nnum_processes: 2\nuse_cpu: true\n"
    )
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(folder / "accelerate.yaml")]
