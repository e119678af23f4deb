"""Our reward models and rewards handed to OpenRLHF 0.11.2's own code (requirements/upstream.txt).

- `convert-rm` outputs loaded by OpenRLHF's `get_llm_for_sequence_regression` score what
  `RewardModel` scores (a head bias, which mainline's head lacks, shifts by that constant);
- OpenRLHF's rollout reward client (`SingleTurnAgentExecutor`, the code its vLLM actors
  run) gets the right rewards and per-sample logs from `acecoder serve-reward`, and loads
  and calls our Python-file reward (`--reward.remote_url FILE.py`).

OpenRLHF's modules import flash_attn and deepspeed at the top, which need CUDA to
install; the `gpu_only_imports` fixture stands in for them with empty modules (only its
packed-sequence and ZeRO-3 paths, not used here, touch them). Everything else is
OpenRLHF's real code.
"""

import asyncio
import importlib.machinery
import json
import socket
import subprocess
import sys
import time
import types

import httpx
import pytest
import torch
import transformers

from acecoder.rm import RewardModel, convert, encode, pair_messages
from acecoder.rm._model import weight_names

TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"
ITEMS = [
    ("Write add(a, b) returning the sum.", "def add(a, b):\n    return a + b", TESTS),
    ("Sort a list of numbers.", "def sort(xs):\n    return sorted(xs)\n" * 3, None),
    ("Count the words of a string.", "def count(s):\n    return len(s.split())", ["assert count('') == 0"]),
]


@pytest.fixture(scope="module")
def gpu_only_imports():
    """Empty stand-ins for the CUDA-only packages OpenRLHF imports at module level."""
    names = {
        "deepspeed": {},
        "flash_attn": {},
        "flash_attn.bert_padding": dict.fromkeys(("index_first_axis", "pad_input", "rearrange", "unpad_input")),
        "flash_attn.utils": {},
        "flash_attn.utils.distributed": {"all_gather": None},
    }
    saved = {name: sys.modules.get(name) for name in names}
    for name, attributes in names.items():
        if saved[name] is None:
            module = types.ModuleType(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)  # found, but no distribution: not "installed"
            module.__dict__.update(attributes)
            sys.modules[name] = module
    yield
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def bf16_classifier(classifier, tmp_path_factory):
    """The classifier with weights rounded to bfloat16 (OpenRLHF loads in bf16 or fp16 only),
    kept in float32: both sides then compute on the same weights, in float32."""
    folder = tmp_path_factory.mktemp("bf16-classifier")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(classifier)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.to(torch.bfloat16).to(torch.float32))
    model.save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(classifier).save_pretrained(folder)
    return folder


def openrlhf_scores(folder) -> list[float]:
    from openrlhf.models import get_llm_for_sequence_regression

    model = get_llm_for_sequence_regression(str(folder), "reward", attn_implementation="sdpa").float().eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    scores = []
    for question, program, tests in ITEMS:
        ids = torch.tensor([encode(tokenizer, pair_messages(question, program, tests))])
        with torch.no_grad():
            scores.append(float(model(ids, attention_mask=torch.ones_like(ids))))
    return scores


def ours(folder) -> list[float]:
    return RewardModel.load(folder, device="cpu").score(*map(list, zip(*ITEMS)))


@pytest.mark.parametrize("layout", ["value_head", "score"])
def test_openrlhf_loads_our_conversions_with_the_same_scores(gpu_only_imports, bf16_classifier, tmp_path, layout):
    out = tmp_path / layout
    convert(bf16_classifier, out, layout=layout)
    assert json.loads((out / "config.json").read_text())["value_head_prefix"] == layout
    assert openrlhf_scores(out) == pytest.approx(ours(bf16_classifier), abs=1e-5)


def test_a_head_bias_shifts_mainline_openrlhf_by_that_constant(gpu_only_imports, bf16_classifier, tmp_path):
    biased = tmp_path / "biased"
    biased.mkdir()
    for item in bf16_classifier.iterdir():
        (biased / item.name).write_bytes(item.read_bytes())
    config = json.loads((biased / "config.json").read_text())
    (biased / "config.json").write_text(json.dumps({**config, "acecoder_score_bias": 0.75}))
    out = tmp_path / "value_head"
    convert(biased, out, layout="value_head")
    assert "value_head.bias" in weight_names(out)  # AceCoder's fork reads it; mainline has no bias
    theirs, mine = openrlhf_scores(out), ours(out)
    assert [m - 0.75 for m in mine] == pytest.approx(theirs, abs=1e-5)


# ---------------------------------------------------------------- rewards


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openrlhf_reward_client_against_serve_reward(gpu_only_imports):
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "acecoder.cli", "serve-reward", "--port", str(port), "--timeout", "2", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        for _ in range(200):
            if server.poll() is not None:
                pytest.fail(f"serve-reward exited with {server.returncode}: {server.communicate()[1][-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        executor = SingleTurnAgentExecutor(f"http://127.0.0.1:{port}/get_reward")
        prompt = "<|im_start|>user\nWrite add(a, b).<|im_end|>\n<|im_start|>assistant\n"

        async def rollout():  # as OpenRLHF's actor does: one request per sample, gathered
            return await asyncio.gather(*(
                executor._fetch_rewards_via_http([prompt + answer], [prompt], [TESTS]) for answer in (RIGHT, WRONG)
            ))

        (right,), (wrong,) = asyncio.run(rollout())
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert (right["rewards"], wrong["rewards"]) == ([1.0], [0.0])
    assert right["extra_logs"]["pass_rate"] == [1.0] and wrong["extra_logs"]["pass_rate"] == [0.0]
    for value in [*right["extra_logs"].values(), *wrong["extra_logs"].values()]:
        assert torch.tensor([value]).numel() == 1  # OpenRLHF makes a one-number tensor of each sample's log


def test_openrlhf_loads_and_calls_our_python_file_reward(gpu_only_imports, monkeypatch):
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    path = subprocess.run([sys.executable, "-m", "acecoder.rewards.openrlhf_func"], capture_output=True, text=True,
                          check=True).stdout.strip()
    monkeypatch.setenv("ACECODER_WORKERS", "2")
    executor = SingleTurnAgentExecutor(path)
    prompt = "<|im_start|>user\nWrite add(a, b).<|im_end|>\n<|im_start|>assistant\n"
    answers = asyncio.run(executor._fetch_rewards_via_func(
        [prompt + RIGHT, prompt + WRONG], [prompt, prompt], [TESTS, json.dumps(TESTS)]
    ))
    assert [float(a["rewards"]) for a in answers] == [1.0, 0.0]
    assert [a["extra_logs"]["pass_rate"].flatten()[0].item() for a in answers] == [1.0, 0.0]


def test_openrlhf_reward_client_against_serve_rm(gpu_only_imports, classifier):
    """serve-rm's /get_reward, asked by OpenRLHF's own client with a query in the policy's
    chat rendering, scores the (question, program, tests) the reward model scores directly."""
    import threading

    import uvicorn
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    from acecoder.prompts import chat
    from acecoder.rm import create_app

    model = RewardModel.load(classifier, device="cpu")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(model), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        tokenizer = transformers.AutoTokenizer.from_pretrained(classifier)
        question, program = "Write add(a, b).", "def add(a, b):\n    return a + b"
        prompt = tokenizer.apply_chat_template(chat(question, TESTS), tokenize=False, add_generation_prompt=True)
        query = prompt + f"Sure.\n```python\n{program}\n```<|im_end|>"
        executor = SingleTurnAgentExecutor(f"http://127.0.0.1:{port}/get_reward")
        (answer,) = asyncio.run(executor._fetch_rewards_via_http([query], [prompt], [TESTS]))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert answer["rewards"] == pytest.approx(model.score([question], [program], [TESTS]), abs=1e-5)
