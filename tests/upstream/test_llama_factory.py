"""`pairs --format llama-factory` read by LLaMA-Factory 0.9.5's own dataset code
(requirements/upstream.txt): the entry we write in `dataset_info.json`, its parser
(`get_dataset_list`) and its loader and ranking converter (`_load_single_dataset`),
as `llamafactory-cli train` with `stage: rm` and `dataset_dir` that folder runs them.

LLaMA-Factory imports torchaudio at module level (audio inputs only) and checks its
pinned versions at import (transformers <= 5.6 at 0.9.5); the fixture stands in for
the first and sets LLaMA-Factory's own switch for the second, DISABLE_VERSION_CHECK=1.
"""

import importlib.machinery
import json
import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from acecoder.stages.pairs import PairSettings, run

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def llama_factory():
    saved_env = os.environ.get("DISABLE_VERSION_CHECK")
    os.environ["DISABLE_VERSION_CHECK"] = "1"
    stub = None
    if "torchaudio" not in sys.modules:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub
    from llamafactory.data.loader import _load_single_dataset
    from llamafactory.data.parser import get_dataset_list
    from llamafactory.hparams import DataArguments

    yield SimpleNamespace(load=_load_single_dataset, dataset_list=get_dataset_list, DataArguments=DataArguments)
    if stub is not None:
        sys.modules.pop("torchaudio", None)
    if saved_env is None:
        os.environ.pop("DISABLE_VERSION_CHECK", None)
    else:
        os.environ["DISABLE_VERSION_CHECK"] = saved_env


@pytest.fixture
def dataset(tmp_path):
    """A small filtered dataset: two questions with passing and failing programs."""
    rows = []
    for k, name in enumerate(["add", "sub"]):
        sign = "+" if name == "add" else "-"
        right = f"def {name}(a, b):\n    return a {sign} b\n"
        wrong = f"def {name}(a, b):\n    return a * b\n"
        half = f"def {name}(a, b):\n    return a {sign} b if a > 0 else 0\n"
        rows.append({
            "id": f"oss_{k}", "source": "oss", "question": f"Write {name}(a, b).",
            "test_cases": [f"assert {name}(1, 2) == {1 + 2 if sign == '+' else 1 - 2}", f"assert {name}(0, 0) == 0"],
            "inferences": [
                {"model_name": "policy", "completion_id": 0, "completion": right, "pass_rate": 1.0},
                {"model_name": "policy", "completion_id": 1, "completion": wrong, "pass_rate": 0.0},
                {"model_name": "policy", "completion_id": 2, "completion": half, "pass_rate": 0.5},
            ],
            "context_messages": [{"role": "user", "content": f"Write {name}(a, b)."}],
        })
    path = tmp_path / "dataset.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_llama_factory_reads_our_ranking_export_through_our_entry(llama_factory, dataset, tmp_path):
    out = tmp_path / "lf" / "acecode_pairs.jsonl"
    out.parent.mkdir()
    (out.parent / "dataset_info.json").write_text(json.dumps({"theirs": {"file_name": "other.json"}}))
    summary = run(dataset, out, settings=PairSettings(), format="llama-factory")
    assert summary.pairs == 2 and summary.dataset_info == str(out.parent / "dataset_info.json")
    info = json.loads((out.parent / "dataset_info.json").read_text())
    assert set(info) == {"theirs", "acecode_pairs"}  # an existing entry is kept

    (attr,) = llama_factory.dataset_list(["acecode_pairs"], str(out.parent))
    assert attr.ranking and attr.formatting == "alpaca"
    data_args = llama_factory.DataArguments(dataset_dir=str(out.parent), dataset="acecode_pairs")
    loaded = llama_factory.load(attr, SimpleNamespace(cache_dir=str(tmp_path / "cache"), hf_hub_token=None), data_args,
                                SimpleNamespace(local_process_index=0, dataloader_num_workers=0))
    ours = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(loaded) == len(ours) == 2
    for example, pair in zip(loaded, ours):
        assert example["_prompt"] == [{"role": "user", "content": pair["instruction"]}]  # input is empty
        assert example["_response"] == [{"role": "assistant", "content": pair["chosen"]},
                                        {"role": "assistant", "content": pair["rejected"]}]
        assert "return a * b" not in pair["chosen"] and pair["chosen"] != pair["rejected"]


RELEASED_INSTRUCTION = (
    'Please provide a self-contained Python script that solves the following problem in a markdown code block:\n'
    '```\n"""\nWrite add(a, b).\nassert add(1, 2) == 3\n"""\n\n```\n'
)
RELEASED_ANSWER = (
    "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:\n"
    "```python\ndef add(a, b):\n    return a + b\n```"
)


def test_acecodepair_is_the_released_text_in_llama_factorys_qwen_template(llama_factory, tiny_model):
    """The `acecodepair` style: AceCodePair-300K's instruction and answer byte for byte (as
    AceCoder's convert_dataset_for_llama_factory.py writes them for this question), and
    the token ids LLaMA-Factory's own `qwen` template gives them, with the system prompt
    of the commit AceCoder trained with."""
    import transformers
    from llamafactory.data.template import TEMPLATES

    from acecoder.prompts import ACECODEPAIR_SYSTEM
    from acecoder.rm import encode, pair_messages

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    messages = pair_messages("Write add(a, b).", "def add(a, b):\n    return a + b\n", ["assert add(1, 2) == 3  "],
                             style="acecodepair")
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == ACECODEPAIR_SYSTEM == "You are a helpful assistant."
    assert messages[1]["content"] == RELEASED_INSTRUCTION and messages[2]["content"] == RELEASED_ANSWER
    prompt_ids, answer_ids = TEMPLATES["qwen"].encode_oneturn(tokenizer, messages[1:], messages[0]["content"])
    ours = encode(tokenizer, messages, style="acecodepair")
    assert ours == prompt_ids + answer_ids
    assert tokenizer.decode(ours) == (
        f"<|im_start|>system\n{ACECODEPAIR_SYSTEM}<|im_end|>\n<|im_start|>user\n{RELEASED_INSTRUCTION}<|im_end|>\n"
        f"<|im_start|>assistant\n{RELEASED_ANSWER}<|im_end|>\n"
    )


def test_an_acecodepair_export_trains_on_what_we_score(llama_factory, dataset, tiny_model, tmp_path):
    """pairs --format llama-factory --prompt-style acecodepair, read by LLaMA-Factory and
    encoded by its `qwen` template as its reward-model stage does (prompt + chosen), is
    the token sequence our reward model scores for that program."""
    import transformers
    from llamafactory.data.template import TEMPLATES

    from acecoder.rm import encode, pair_messages

    out = tmp_path / "lf" / "pairs.jsonl"
    out.parent.mkdir()
    run(dataset, out, settings=PairSettings(), format="llama-factory", style="acecodepair")
    (attr,) = llama_factory.dataset_list(["pairs"], str(out.parent))
    data_args = llama_factory.DataArguments(dataset_dir=str(out.parent), dataset="pairs")
    loaded = llama_factory.load(attr, SimpleNamespace(cache_dir=str(tmp_path / "cache"), hf_hub_token=None), data_args,
                                SimpleNamespace(local_process_index=0, dataloader_num_workers=0))
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    rows = [json.loads(line) for line in dataset.read_text().splitlines()]
    for example, row in zip(loaded, rows):
        assert example["_system"] == "You are a helpful assistant."
        prompt_ids, chosen_ids = TEMPLATES["qwen"].encode_oneturn(
            tokenizer, example["_prompt"] + example["_response"][:1], example["_system"])
        best = max(row["inferences"], key=lambda inference: inference["pass_rate"])
        ours = encode(tokenizer, pair_messages(row["question"], best["completion"], row["test_cases"],
                                               style="acecodepair"), style="acecodepair")
        assert prompt_ids + chosen_ids == ours
