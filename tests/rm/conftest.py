"""Reward-model checkpoints built from the tiny Qwen2 of tests/conftest.py."""

import json

import pytest

BIAS = 0.7


@pytest.fixture(scope="session")
def acecoderm(tiny_model, tmp_path_factory):
    """The released AceCodeRM layout on the tiny body: the causal LM's weights plus
    `v_head.summary.weight` [1, hidden] and `v_head.summary.bias` [1] (= BIAS)."""
    import shutil

    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("acecoderm")
    for item in tiny_model.iterdir():
        shutil.copy2(item, folder / item.name)
    hidden = json.loads((tiny_model / "config.json").read_text())["hidden_size"]
    generator = torch.Generator().manual_seed(1)
    head = {
        "v_head.summary.weight": torch.randn(1, hidden, generator=generator),
        "v_head.summary.bias": torch.tensor([BIAS]),
    }
    save_file(head, str(folder / "v_head.safetensors"), metadata={"format": "pt"})
    # an index over both files, as a sharded release has
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        body = list(handle.keys())
    weight_map = {**dict.fromkeys(body, "model.safetensors"), **dict.fromkeys(head, "v_head.safetensors")}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder


ITEMS = [
    ("Write add(a, b) returning the sum.", "def add(a, b):\n    return a + b", ["assert add(1, 2) == 3"]),
    ("Sort a list of numbers.", "def sort(xs):\n    return sorted(xs)\n" * 3, None),
    ("Count the words of a string.", "def count(s):\n    return len(s.split())", ["assert count('a b') == 2", "assert count('') == 0"]),
    ("Merge two lists.", "def merge(x, y):\n    return x + y", []),
]


@pytest.fixture
def items():
    questions, programs, tests = zip(*ITEMS)
    return list(questions), list(programs), list(tests)


@pytest.fixture
def head_bias():
    return BIAS
