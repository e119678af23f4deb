"""The OpenAI-compatible client against a stub server on 127.0.0.1 (real sockets), and httpx fakes."""

import asyncio
import json
import subprocess
import sys
import time

import httpx
import pytest

import acecoder.llm
from acecoder.errors import AcecoderError
from acecoder.llm import ChatRequest, Fault, LLMBackend, LLMError, OpenAIClient, StubServer

USER = [{"role": "user", "content": "write add two numbers"}]  # 4 prompt "tokens" for the stub
FAST = {"backoff_base": 0.001, "backoff_max": 1.0}  # retries without real waits


@pytest.fixture
def server():
    with StubServer() as stub:
        yield stub


def generate(client: OpenAIClient, requests: list[ChatRequest]):
    async def go():
        async with client:
            return await client.generate(requests)

    return asyncio.run(go())


def test_request_body_and_greedy_default(server):
    client = OpenAIClient(server.base_url, "qwen-7b", api_key="k", extra_body={"top_k": 20})
    request = ChatRequest(messages=USER, max_tokens=64, stop=("```",), json_mode=True)
    [result] = generate(client, [request])
    assert result.texts == ["sample 0"] and result.choices[0].finish_reason == "stop"
    assert server.requests == [
        {
            "model": "qwen-7b",
            "messages": USER,
            "n": 1,
            "temperature": 0.0,
            "top_p": 1.0,
            "max_tokens": 64,
            "stop": ["```"],
            "response_format": {"type": "json_object"},
            "top_k": 20,
        }
    ]
    assert isinstance(client, LLMBackend)


def test_n_samples_in_one_request_and_results_in_order(server):
    requests = [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}], n=4, temperature=0.7) for i in range(5)]
    results = generate(OpenAIClient(server.base_url, "m"), requests)
    assert [r.request for r in results] == requests
    assert all(r.texts == [f"sample {i}" for i in range(4)] for r in results)
    assert sorted(body["n"] for body in server.requests) == [4] * 5


def test_cache_answers_a_rerun_without_any_request(server, tmp_path):
    cache = tmp_path / "cache.sqlite"
    requests = [ChatRequest(messages=USER, n=3, temperature=0.7), ChatRequest(messages=USER)]
    first = generate(OpenAIClient(server.base_url, "m", cache_path=cache), requests)
    assert len(server.requests) == 2
    # Another endpoint address, same model: the cache still answers, and nothing is sent.
    again = OpenAIClient("http://127.0.0.1:9/v1", "m", cache_path=cache, max_retries=0)
    second = generate(again, requests)
    assert [r.texts for r in second] == [r.texts for r in first]
    assert all(choice.cached for r in second for choice in r.choices)
    assert again.usage.requests == 0 and again.usage.cache_hits == 4
    # A different setting or model is a different key.
    generate(OpenAIClient(server.base_url, "m", cache_path=cache), [ChatRequest(messages=USER, temperature=0.5)])
    generate(OpenAIClient(server.base_url, "other", cache_path=cache), [ChatRequest(messages=USER)])
    assert len(server.requests) == 4


def test_larger_n_requests_only_the_missing_samples(server, tmp_path):
    cache = tmp_path / "cache.sqlite"
    generate(OpenAIClient(server.base_url, "m", cache_path=cache), [ChatRequest(messages=USER, n=2, temperature=1.0)])
    client = OpenAIClient(server.base_url, "m", cache_path=cache)
    [result] = generate(client, [ChatRequest(messages=USER, n=5, temperature=1.0)])
    assert [body["n"] for body in server.requests] == [2, 3]
    assert [c.cached for c in result.choices] == [True, True, False, False, False]
    assert result.texts == ["sample 0", "sample 1", "sample 0", "sample 1", "sample 2"]
    assert client.usage.cache_hits == 2 and client.usage.samples == 3


def test_seeded_samples_are_requested_one_by_one_with_seed_plus_index(server):
    generate(OpenAIClient(server.base_url, "m"), [ChatRequest(messages=USER, n=3, temperature=0.7, seed=10)])
    assert sorted((body["n"], body["seed"]) for body in server.requests) == [(1, 10), (1, 11), (1, 12)]


def test_a_server_that_ignores_n_is_asked_for_the_rest_one_by_one():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:  # llama.cpp's server: always one choice
        seen.append(json.loads(request.content)["n"])
        choice = {"index": 0, "message": {"content": f"s{len(seen)}"}, "finish_reason": "length"}
        return httpx.Response(200, json={"choices": [choice]})

    client = OpenAIClient("http://fake/v1", "m", transport=httpx.MockTransport(handler))
    [result] = generate(client, [ChatRequest(messages=USER, n=4, temperature=0.7)])
    assert seen == [4, 1, 1, 1] and len(result.texts) == 4 and len(set(result.texts)) == 4
    assert client.supports_n is False and client.usage.samples == 4


def test_a_server_that_refuses_n_is_asked_one_by_one():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:  # llama-server: n at most its slots
        n = json.loads(request.content)["n"]
        seen.append(n)
        if n > 2:
            return httpx.Response(400, json={"error": {"message": "Field 'n': Value must be between 1 <= value <= 2"}})
        choices = [{"index": i, "message": {"content": f"s{len(seen)}.{i}"}, "finish_reason": "stop"} for i in range(n)]
        return httpx.Response(200, json={"choices": choices})

    client = OpenAIClient("http://fake/v1", "m", transport=httpx.MockTransport(handler))
    [result] = generate(client, [ChatRequest(messages=USER, n=4, temperature=0.7)])
    assert seen == [4, 1, 1, 1, 1] and len(set(result.texts)) == 4
    assert client.supports_n is False and client.usage.failed == {}


def test_429_and_500_are_retried_honouring_retry_after(server):
    server.faults.extend([Fault(status=429, headers={"Retry-After": "0.3"}), Fault(status=503)])
    client = OpenAIClient(server.base_url, "m", **FAST)
    start = time.monotonic()
    [result] = generate(client, [ChatRequest(messages=USER)])
    assert time.monotonic() - start >= 0.3
    assert result.texts == ["sample 0"]
    assert (client.usage.requests, client.usage.retries) == (3, 2)
    assert client.usage.errors == {"http_429": 1, "http_503": 1}


def test_400_raises_llm_error_with_the_server_message_and_no_retry(server):
    server.faults.append(Fault(status=400, body={"error": {"message": "max_tokens is too large: 99999"}}))
    client = OpenAIClient(server.base_url, "qwen-7b", **FAST)
    with pytest.raises(LLMError) as caught:
        generate(client, [ChatRequest(messages=USER, max_tokens=99999)])
    error = caught.value
    assert isinstance(error, AcecoderError) and error.status == 400 and error.model == "qwen-7b"
    assert error.endpoint == server.base_url + "/chat/completions"
    assert "max_tokens is too large: 99999" in str(error) and "qwen-7b" in str(error)
    assert "127.0.0.1" in str(error) and "HTTP 400" in str(error)
    assert server.served == 1 and client.usage.retries == 0


def test_timeouts_are_retried(server):
    server.faults.append(Fault(status=200, delay=2.0))  # would answer, but too late
    client = OpenAIClient(server.base_url, "m", timeout=0.2, **FAST)
    start = time.monotonic()
    [result] = generate(client, [ChatRequest(messages=USER)])
    assert time.monotonic() - start < 1.5 and result.texts == ["sample 0"]
    assert client.usage.errors == {"timeout": 1} and client.usage.retries == 1


def test_retries_exhausted_give_a_clear_error(server):
    server.faults.extend(Fault(status=500, body={"error": {"message": "CUDA out of memory"}}) for _ in range(3))
    client = OpenAIClient(server.base_url, "m", max_retries=2, **FAST)
    with pytest.raises(LLMError, match=r"gave up after 3 attempts in \d+ s; the last: HTTP 500: CUDA out of memory") as caught:
        generate(client, [ChatRequest(messages=USER)])
    assert caught.value.status == 500 and server.served == 3
    assert caught.value.kind == "transient" and caught.value.reason == "http_500" and client.usage.failed == {"http_500": 1}


def test_an_endpoint_that_is_down_gives_llm_error_not_an_httpx_traceback():
    client = OpenAIClient("http://127.0.0.1:9/v1", "m", max_retries=1, **FAST)  # port 9: nothing listens
    with pytest.raises(LLMError, match="cannot reach the server") as caught:
        generate(client, [ChatRequest(messages=USER)])
    assert caught.value.status is None and caught.value.__cause__ is None


def test_an_answer_that_is_not_json_or_has_no_choices_is_asked_again(server):
    truncated = '{"choices": [{"index": 0, "message": {"content": "sam'
    server.faults.extend([Fault(status=200, body="<html>proxy</html>"), Fault(status=200, body={"object": "x"}),
                          Fault(status=200, body=truncated)])
    client = OpenAIClient(server.base_url, "m", **FAST)
    [result] = generate(client, [ChatRequest(messages=USER)])
    assert result.texts == ["sample 0"] and client.usage.errors == {"bad_answer": 3}
    server.faults.extend([Fault(status=200, body="<html>proxy</html>")] * 2)
    with pytest.raises(LLMError, match="not JSON: <html>proxy") as caught:
        generate(OpenAIClient(server.base_url, "m", max_retries=1, **FAST), [ChatRequest(messages=[{"role": "user", "content": "x"}])])
    assert caught.value.kind == "transient" and caught.value.reason == "bad_answer"


def test_a_refused_request_is_recorded_and_not_paid_for_again(server, tmp_path):
    cache = tmp_path / "cache.sqlite"
    server.faults.append(Fault(status=400, body={"error": {"message": "prompt is longer than max_model_len"}}))
    with pytest.raises(LLMError, match="max_model_len") as caught:
        generate(OpenAIClient(server.base_url, "m", cache_path=cache), [ChatRequest(messages=USER)])
    assert caught.value.kind == "item" and caught.value.reason == "http_400" and not caught.value.recorded
    again = OpenAIClient(server.base_url, "m", cache_path=cache)
    with pytest.raises(LLMError, match="max_model_len") as caught:
        generate(again, [ChatRequest(messages=USER)])
    assert caught.value.recorded and server.served == 1 and again.usage.failed == {"http_400": 1}  # no request
    [result] = generate(OpenAIClient(server.base_url, "m", cache_path=cache, retry_failed=True), [ChatRequest(messages=USER)])
    assert result.texts == ["sample 0"] and server.served == 2
    [result] = generate(OpenAIClient(server.base_url, "m", cache_path=cache), [ChatRequest(messages=USER)])
    assert result.choices[0].cached and server.served == 2  # the answer replaced the refusal


@pytest.mark.parametrize("status, kind", [(401, "endpoint"), (404, "endpoint"), (413, "item"), (422, "item")])
def test_which_refusals_stop_a_stage_and_which_are_the_item_s(server, status, kind):
    server.faults.append(Fault(status=status))
    with pytest.raises(LLMError) as caught:
        generate(OpenAIClient(server.base_url, "m"), [ChatRequest(messages=USER)])
    assert caught.value.kind == kind and caught.value.status == status


def test_concurrency_bound_is_respected():
    with StubServer(latency=0.05) as server:
        requests = [ChatRequest(messages=[{"role": "user", "content": str(i)}]) for i in range(40)]
        generate(OpenAIClient(server.base_url, "m", concurrency=4), requests)
        assert server.max_in_flight == 4 and server.served == 40


def test_usage_and_cost_counted_by_hand(server):
    # Stub tokens are words: the prompt has 4, each choice "sample i" has 2.
    client = OpenAIClient(server.base_url, "m", prompt_price=2.0, completion_price=10.0)
    generate(client, [ChatRequest(messages=USER, n=3, temperature=0.7), ChatRequest(messages=USER)])
    usage = client.usage
    assert (usage.requests, usage.samples, usage.prompt_tokens, usage.completion_tokens) == (2, 4, 8, 8)
    assert usage.cost == pytest.approx((8 * 2.0 + 8 * 10.0) / 1e6)
    assert "2 requests (0 retries), 4 samples, 0 from cache" in usage.summary()


def test_public_names_and_the_cli_does_not_import_the_llm_layer():
    assert sorted(acecoder.llm.__all__) == [
        "ChatRequest", "ChatResult", "Choice", "FailureGuard", "Fault", "FaultPlan", "LLMBackend", "LLMError", "LlamaCppServer",
        "OpenAIClient", "ResponseCache", "ServerDied", "StubServer", "TransformersBackend", "Usage", "VLLMBackend",
        "check_model", "embedded_model", "open_backend", "record_failure", "request_key", "resolve_kind", "resolve_model",
    ]  # fmt: skip
    code = "import sys, acecoder.cli; assert 'acecoder.llm' not in sys.modules and 'httpx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_replicas_share_the_requests_and_a_dead_one_is_routed_around():
    import socket

    with StubServer(latency=0.05) as a, StubServer(latency=0.05) as b:
        requests = [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}]) for i in range(40)]

        async def ask(urls):
            async with OpenAIClient(urls, "m", concurrency=4, backoff_base=0.01) as client:
                return await client.generate(requests), client.usage

        results, _ = asyncio.run(ask(f"{a.base_url},{b.base_url}"))
        assert [r.texts for r in results] == [["sample 0"]] * 40
        assert a.served >= 10 and b.served >= 10 and a.served + b.served == 40
        assert max(a.max_in_flight, b.max_in_flight) <= 4

        with socket.socket() as closed:  # a port nobody listens on: a replica that is down
            closed.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
        results, usage = asyncio.run(ask([dead, a.base_url]))
        assert len(results) == 40 and usage.errors.get("connection", 0) >= 1


def _closed_port_url() -> str:
    import socket

    with socket.socket() as probe:  # bound, never listening, closed: connections are refused
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def test_a_dead_supervised_server_stops_the_request_at_once_with_its_own_account():
    from acecoder.errors import ComponentError
    from acecoder.llm import ServerDied, _children

    url = _closed_port_url()
    _children.register(url, lambda: "the server was killed by SIGSEGV. Last lines of its log: boom")
    try:
        client = OpenAIClient(url, "m", max_retries=50, backoff_base=1.0)
        started = time.monotonic()
        with pytest.raises(ServerDied, match="SIGSEGV(.|\n)*boom") as caught:
            generate(client, [ChatRequest(messages=USER)])
        assert time.monotonic() - started < 2  # no backoff, no 50 retries
        assert isinstance(caught.value, ComponentError) and isinstance(caught.value, LLMError)
    finally:
        _children.unregister(url)


def test_an_endpoint_that_refuses_connections_is_given_up_on_after_the_timeout():
    client = OpenAIClient(_closed_port_url(), "m", timeout=1.0, max_retries=1000, backoff_base=0.05, backoff_max=0.2)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"cannot reach the server(.|\n)*for over 1 s") as caught:
        generate(client, [ChatRequest(messages=USER)])
    assert 1.0 <= time.monotonic() - started < 3
    assert not isinstance(caught.value, acecoder.llm.ServerDied)
