"""The adapters on small batches, as each engine calls them: TRL reward functions,
verl's compute_score and its batch form, OpenRLHF's remote reward endpoint."""

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from acecoder.prompts import chat, question_prompt
from acecoder.rewards import CombinedReward, ModelReward, TestReward

TESTS = ["assert add(1, 2) == 3", "assert add(2, 2) == 4"]
RIGHT = "Here:\n```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"
HANG = "```python\ndef add(a, b):\n    while True:\n        pass\n```"
CRASH = "```python\nimport os\nos._exit(1)\n```"


class LengthModel:
    """A reward model stand-in: the score is the program's length (the contract of acecoder.rm)."""

    def __init__(self):
        self.calls = []

    def score(self, questions, programs, tests=None, batch_size=None):
        self.calls.append((questions, programs, tests))
        return [float(len(p)) for p in programs]


# ---------------------------------------------------------------- TRL


def test_trl_reward_function_reads_the_tests_column_and_logs_metrics():
    from acecoder.rewards.trl import test_reward_func

    with TestReward(workers=2, timeout=2.0) as reward:
        func = test_reward_func(reward)
        logged = {}
        prompts = [chat("q1", TESTS)] * 3 + [chat("q2", TESTS)] * 3
        completions = [[{"role": "assistant", "content": c}] for c in (RIGHT, RIGHT, RIGHT, WRONG, HANG, CRASH)]
        started = time.monotonic()
        rewards = func(
            prompts=prompts, completions=completions, completion_ids=None, tests=[TESTS] * 6,
            id=["q1"] * 3 + ["q2"] * 3, trainer_state=None, log_metric=logged.__setitem__,
        )
        assert time.monotonic() - started < 10  # the hang costs its 2 x 0.5 s, not the step
    assert rewards == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert func.__name__ == "test_reward"
    assert logged["acecoder/pass_rate"] == 0.5 and logged["acecoder/all_pass"] == 0.5
    assert logged["acecoder/all_pass_groups"] == 0.5 and logged["acecoder/all_fail_groups"] == 0.5
    assert logged["acecoder/zero_std_groups"] == 1.0  # rewards 1,1,1 and 0,0,0: no signal in either group
    assert logged["acecoder/reward_seconds"] > 0

    with TestReward(workers=2, timeout=2.0) as reward:  # a `limits` column (hard-subset --format trl) bounds each test
        func = test_reward_func(reward)
        func(prompts=prompts[:2], completions=[[{"role": "assistant", "content": HANG}]] * 2, completion_ids=None,
             tests=[TESTS] * 2, limits=[[0.1] * len(TESTS), None])
        bounded, unbounded = func.last.results
        assert max(bounded.test_cpu_seconds) < 1.0 < min(unbounded.test_cpu_seconds)


def test_trl_async_functions_are_awaitable_and_trl_sees_them_as_async():
    import inspect

    def is_async_callable(func):  # what trl.trainer.utils.is_async_callable checks for callable instances
        return inspect.iscoroutinefunction(type(func).__call__)

    from acecoder.rewards.trl import model_reward_func, test_reward_func

    model = LengthModel()
    with TestReward(workers=1, timeout=2.0) as reward:
        test_func = test_reward_func(reward, asynchronous=True)
        model_func = model_reward_func(ModelReward(model, normalize="none", clip=None))
        assert is_async_callable(test_func) and is_async_callable(model_func)
        prompts = [chat("Add two numbers.", TESTS)] * 2

        async def both():
            import asyncio

            return await asyncio.gather(
                test_func(prompts=prompts, completions=[RIGHT, WRONG], tests=[TESTS, TESTS]),
                model_func(prompts=prompts, completions=[RIGHT, WRONG], tests=[TESTS, TESTS]),
            )

        import asyncio

        test_rewards, model_rewards = asyncio.run(both())
    assert test_rewards == [1.0, 0.0]
    program = "def add(a, b):\n    return a + b"
    assert model_rewards == [float(len(program))] * 2  # a - b has the same length
    questions, programs, tests = model.calls[0]
    assert questions == ["Add two numbers."] * 2 and programs[0] == program and tests == [TESTS, TESTS]


# ---------------------------------------------------------------- verl


def test_verl_compute_score_and_batch_form():
    from acecoder.rewards import verl

    truth = json.dumps(TESTS)
    try:
        single = verl.compute_score("acecoder/oss", RIGHT, truth, {"id": "x", "index": 0}, timeout=2.0, workers=2)
        assert single == {"score": 1.0, "pass_rate": 1.0, "all_passed": 1.0, "format_ok": 0.0}
        started = time.monotonic()
        batch = verl.compute_score_batch(
            data_sources=["acecoder/oss"] * 4, solution_strs=[RIGHT, WRONG, HANG, CRASH],
            ground_truths=[truth] * 4, extra_infos=[{}] * 4, timeout=2.0, workers=2, kind="signed",
        )
        assert time.monotonic() - started < 10
        assert [item["score"] for item in batch] == [1.0, -1.0, -1.0, -1.0]
        r1 = verl.compute_score("s", "<think>easy</think>\n" + RIGHT.removeprefix("Here:\n"), truth, None,
                                timeout=2.0, workers=2, format_weight=0.5)
        assert r1["score"] == 1.5 and r1["format_ok"] == 1.0
        from acecoder.errors import InputError

        with pytest.raises(InputError, match="ground_truth is not a JSON list"):
            verl.compute_score("s", RIGHT, "assert add(1, 2) == 3", None)
    finally:
        verl.close()


def test_verl_reads_the_hard_subset_export(tmp_path):
    """The column verl hands over is exactly what `hard-subset --format verl` writes."""
    from acecoder.data.exports import row_verl
    from acecoder.records import DatasetRow
    from acecoder.rewards import verl

    row = row_verl(DatasetRow(id="q", source="oss", question="Add.", test_cases=TESTS, inferences=[],
                              context_messages=[]), 0)
    timed = row_verl(DatasetRow(id="q", source="oss", question="Add.", test_cases=TESTS, inferences=[],
                                context_messages=[], test_seconds=[0.0] * len(TESTS)), 0)
    try:
        assert verl.compute_score(row["data_source"], RIGHT, row["reward_model"]["ground_truth"],
                                  row["extra_info"], workers=1)["score"] == 1.0
        started = time.monotonic()  # the timed row's limits (0.1 s each) bound the loop, not the 3 s timeout
        assert verl.compute_score(timed["data_source"], HANG, timed["reward_model"]["ground_truth"],
                                  timed["extra_info"], workers=1)["score"] == 0.0
        assert time.monotonic() - started < 0.5 * len(TESTS) + 2
    finally:
        verl.close()


# ---------------------------------------------------------------- OpenRLHF


def _request(prompt_text, completions, tests):
    return {"query": [prompt_text + c for c in completions], "prompts": [prompt_text] * len(completions),
            "labels": [tests] * len(completions)}


def test_openrlhf_endpoint_rule_and_model_rewards():
    from fastapi.testclient import TestClient

    from acecoder.rewards.openrlhf import create_app

    prompt = f"<|im_start|>user\n{question_prompt('Add two numbers.', TESTS)}<|im_end|>\n<|im_start|>assistant\n"
    model = LengthModel()
    reward = CombinedReward(
        test=TestReward(workers=2, timeout=2.0), model=ModelReward(model, normalize="batch", clip=None),
        test_weight=1.0, model_weight=0.5,
    )
    with TestClient(create_app(reward)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        started = time.monotonic()
        answer = client.post("/get_reward", json=_request(prompt, [RIGHT, "```python\nx = 1\n```", HANG, CRASH], TESTS))
        assert time.monotonic() - started < 15
        assert answer.status_code == 200, answer.text
        body = answer.json()
        # model scores = program lengths 31, 5, 43, 21: batch mean 25, population std sqrt((36 + 400 + 324 + 16) / 4) = sqrt(194)
        lengths = [31.0, 5.0, 43.0, 21.0]
        mean, std = 25.0, 194**0.5
        assert sum((x - mean) ** 2 for x in lengths) / 4 == 194
        expected = [t + 0.5 * (x - mean) / std for t, x in zip([1.0, 0.0, 0.0, 0.0], lengths)]
        assert body["rewards"] == pytest.approx(expected)
        assert body["extra_logs"]["pass_rate"] == [1.0, 0.0, 0.0, 0.0]  # per sample, as OpenRLHF merges them
        assert body["extra_logs"]["all_passed"] == [1.0, 0.0, 0.0, 0.0]
        assert len(body["extra_logs"]["execution_seconds"]) == 4
        assert model.calls[0][0] == ["Add two numbers."] * 4  # the question, recovered from the templated prompt
        # labels may come JSON-encoded; bad labels are a clear 422, not a crash
        ok = client.post("/", json={**_request(prompt, [RIGHT], TESTS), "labels": [json.dumps(TESTS)]})
        assert ok.json()["rewards"][0] == pytest.approx(1.0 + 0.5 * 0.0)
        bad = client.post("/get_reward", json={**_request(prompt, [RIGHT], TESTS), "labels": [3]})
        assert bad.status_code == 422 and "list of assert strings" in bad.text
        missing = client.post("/get_reward", json={"query": [prompt + RIGHT], "prompts": [prompt]})
        assert missing.status_code == 422 and "--data.label_key tests" in missing.text


def test_openrlhf_retried_request_runs_its_programs_once():
    """OpenRLHF gives up on an answer after its timeout and posts the same body again: the
    retry waits for the evaluation still running (and later ones reuse it), the programs
    run once, and a changed body is a new evaluation."""
    import asyncio

    import httpx as client_lib
    import uvicorn

    from acecoder.rewards.openrlhf import create_app

    slow = "```python\nimport time\ntime.sleep(1.5)\ndef add(a, b):\n    return a + b\n```"
    rule = TestReward(workers=2, timeout=5.0)
    executed = []
    evaluate = rule.aevaluate

    async def counted(completions, tests, limits=None):  # every call runs programs in the sandbox
        executed.extend(completions)
        return await evaluate(completions, tests, limits)

    rule.aevaluate = counted
    reward = CombinedReward(test=rule)
    app = create_app(reward)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))

    async def scenario():
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{port}/get_reward"
        body = _request("PROMPT", [slow], TESTS)
        async with client_lib.AsyncClient() as http:
            with pytest.raises(client_lib.ReadTimeout):  # the trainer's timeout, well before the program ends
                await http.post(url, json=body, timeout=0.3)
            retried = await http.post(url, json=body, timeout=30)
            again = await http.post(url, json=body, timeout=30)
            other = await http.post(url, json=_request("PROMPT", [RIGHT], TESTS), timeout=30)
        server.should_exit = True
        await serving
        return retried.json(), again.json(), other.json()

    retried, again, other = asyncio.run(scenario())
    assert retried["rewards"] == again["rewards"] == [1.0] and other["rewards"] == [1.0]
    assert app.state.recent.evaluations == 2 and len(executed) == 2  # the slow program once, the other once


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_reward_command_answers_openrlhf_requests():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "acecoder.cli", "serve-reward", "--port", str(port), "--timeout", "2", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.poll() is not None:  # a server that died at start says why, at once
                pytest.fail(f"serve-reward exited with {server.returncode}: {server.communicate()[1][-2000:]}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        answer = httpx.post(url + "/get_reward", json=_request("PROMPT", [RIGHT, WRONG, HANG], TESTS), timeout=30)
        assert answer.json()["rewards"] == [1.0, 0.0, 0.0]
    finally:
        server.terminate()
        server.wait(timeout=10)


# ---------------------------------------------------------------- other datasets' layouts


APPS_SUM = json.dumps({"inputs": ["1 2\n", "2 2\n", "5 5\n"], "outputs": ["3\n", "4\n", "10\n"]})  # verl's ground_truth
KODCODE = {"test": "from solution import add\n\ndef test_small():\n    assert add(1, 2) == 3\n\n"
                   "def test_same():\n    assert add(2, 2) == 4\n"}
STDIN_RIGHT = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
STDIN_PARTLY = "```python\na, b = map(int, input().split())\nprint(a + b if a != 2 else 0)\n```"


def test_every_adapter_reads_stdio_and_pytest_suites_from_its_column():
    from fastapi.testclient import TestClient

    from acecoder.rewards import verl
    from acecoder.rewards.openrlhf import create_app
    from acecoder.rewards.trl import test_reward_func

    with TestReward(workers=2, timeout=2.0, kind="prime_code") as reward:
        func = test_reward_func(reward)
        rewards = func(prompts=["q"] * 4, completions=[STDIN_RIGHT, STDIN_PARTLY, WRONG, RIGHT], completion_ids=None,
                       tests=[APPS_SUM, APPS_SUM, APPS_SUM, KODCODE], trainer_state=None, log_metric=lambda *a: None)
    assert rewards == [1.0, pytest.approx(2 / 3), 0.0, 1.0]  # prime_code's score: the pass rate when one fails
    try:
        scores = [verl.compute_score("apps", c, APPS_SUM, None, workers=2)["score"] for c in (STDIN_RIGHT, STDIN_PARTLY)]
        assert scores == [1.0, pytest.approx(2 / 3)]
        assert verl.compute_score("kodcode", WRONG, json.dumps(KODCODE), None, workers=2)["score"] == 0.0
    finally:
        verl.close()
    with TestClient(create_app(CombinedReward(test=TestReward(workers=2, timeout=2.0)))) as client:
        answer = client.post("/get_reward", json={"query": ["p" + STDIN_RIGHT, "p" + STDIN_PARTLY], "prompts": ["p"] * 2,
                                                  "labels": [APPS_SUM, APPS_SUM]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rewards"] == [1.0, 0.0]  # binary, the server's default
