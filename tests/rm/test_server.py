"""The reward server on a real socket: /score, OpenRLHF's /get_reward, /health, 4xx errors."""

import json
import socket
import threading
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
import httpx  # noqa: E402

from acecoder.errors import AcecoderError  # noqa: E402
from acecoder.prompts import INSTRUCTION  # noqa: E402
from acecoder.rm import RemoteRewardModel, RewardModel, create_app  # noqa: E402
from acecoder.rm._server import split_query  # noqa: E402


@pytest.fixture(scope="module")
def reward_model(acecoderm):
    return RewardModel.load(acecoderm, device="cpu")


@pytest.fixture(scope="module")
def server(reward_model):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(reward_model, max_batch=4), host="127.0.0.1", port=port, log_level="error")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_remote_scores_equal_local_scores(server, reward_model, items):
    with RemoteRewardModel(server, timeout=30) as remote:
        assert remote.name == reward_model.name
        # float32 sums over differently padded batches: equal to 1e-5
        assert remote.score(*items) == pytest.approx(reward_model.score(*items), abs=1e-5)
        assert remote.score(*items, batch_size=3) == pytest.approx(reward_model.score(*items), abs=1e-5)
        assert remote.score([], []) == []


def test_health_and_clear_client_errors(server):
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok" and health["model"].startswith("acecoderm")

    too_many = {"items": [{"question": "q", "program": "p"}] * 5}
    answer = httpx.post(f"{server}/score", json=too_many)
    assert answer.status_code == 413 and "at most 4" in answer.json()["detail"]

    answer = httpx.post(f"{server}/score", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422 and "json" in answer.text.lower()

    answer = httpx.post(f"{server}/score", json={"items": [{"question": "q"}]})
    assert answer.status_code == 422 and "program" in answer.text

    answer = httpx.post(f"{server}/score", json={"items": [{"question": "q", "program": 3}]})
    assert answer.status_code == 422 and "program" in answer.text

    answer = httpx.post(f"{server}/get_reward", json={"query": ["a", "b"], "prompts": ["a"]})
    assert answer.status_code == 422 and "'prompts' has 1 entries" in answer.text

    with pytest.raises(AcecoderError, match="HTTP 413"):
        RemoteRewardModel(server).score(["q"] * 5, ["p"] * 5)
    with pytest.raises(AcecoderError, match="reward server"):
        RemoteRewardModel("http://127.0.0.1:9", timeout=2).score(["q"], ["p"])


def openrlhf_request(tokenizer, items, *, with_prompts=True, labels=True):
    """What OpenRLHF posts: each query is prompt + response, rendered by the policy's chat template."""
    from acecoder.prompts import chat

    queries, prompts, label_list = [], [], []
    for question, program, tests in zip(*items):
        prompt = tokenizer.apply_chat_template(chat(question, tests), tokenize=False, add_generation_prompt=True)
        response = f"Sure.\n```python\n{program}\n```<|im_end|>"
        queries.append(prompt + response)
        prompts.append(prompt)
        label_list.append(json.dumps(tests or []))
    body = {"query": queries}
    if with_prompts:
        body["prompts"] = prompts
    if labels:
        body["labels"] = label_list
    return body


def test_get_reward_speaks_openrlhfs_protocol(server, reward_model, items):
    expected = reward_model.score(*items)
    for with_prompts in (True, False):  # newer OpenRLHF sends prompts and labels, older ones only queries
        body = openrlhf_request(reward_model.tokenizer, items, with_prompts=with_prompts)
        answer = httpx.post(f"{server}/get_reward", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["rewards"] == pytest.approx(expected, abs=1e-6)
    # without labels the test the prompt shows is the one the model sees anyway
    body = openrlhf_request(reward_model.tokenizer, items, labels=False)
    assert httpx.post(f"{server}/get_reward", json=body).json()["rewards"] == pytest.approx(expected, abs=1e-6)


def test_split_query_recovers_question_program_and_tests():
    prompt = f"<|im_start|>user\n{INSTRUCTION}\n\nAdd two numbers.\n\nYour code should pass this test:\n\nassert add(1, 2) == 3<|im_end|>\n<|im_start|>assistant\n"
    response = "<think>easy</think>Here:\n```python\ndef add(a, b):\n    return a + b\n```<|im_end|>"
    specials = ["<|im_start|>", "<|im_end|>"]
    question, program, tests = split_query(prompt + response, prompt, None, specials)
    assert question == "Add two numbers."
    assert program == "def add(a, b):\n    return a + b"
    assert tests == ["assert add(1, 2) == 3"]
    assert split_query(prompt + response, None, ["assert add(0, 0) == 0"], specials)[2] == ["assert add(0, 0) == 0"]
    # a prompt that is not ours counts whole, special tokens removed
    question, program, _ = split_query("<|im_start|>user\nDo X<|im_end|>\nx = 1", "<|im_start|>user\nDo X<|im_end|>\n", None, specials)
    assert (question, program) == ("user\nDo X", "x = 1")
