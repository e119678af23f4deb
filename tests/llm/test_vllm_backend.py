"""VLLMBackend's own logic (coalescing, sample order, usage, options, errors) against a
stand-in `vllm` module shaped like vLLM's `LLM.chat` API (RequestOutput/CompletionOutput)
and behaving like vLLM where it matters: the engine refuses to start off the main thread
(as releases before ~0.10.2 did), holds `gpu_memory_utilization` of a pretend GPU until
it is shut down, and fails a whole `LLM.chat` batch when one prompt reaches
`max_model_len` (prompt tokens here: one per character of the last message). vLLM itself
needs a CUDA GPU; the real engine is exercised on GPU machines only."""

import asyncio
import subprocess
import sys

import pytest
from _fake_vllm import GPU, FakeLLM, install

from acecoder.errors import ConfigError
from acecoder.llm import ChatRequest, LLMBackend, LLMError, VLLMBackend


@pytest.fixture
def fake_vllm(monkeypatch):
    return install(monkeypatch)


def user(text):
    return [{"role": "user", "content": text}]


def test_samples_come_back_in_index_order_with_usage(fake_vllm):
    backend = VLLMBackend("some/model", tensor_parallel_size=2, name="m")
    assert isinstance(backend, LLMBackend)
    [a, b] = asyncio.run(backend.generate([ChatRequest(messages=user("ab"), n=3, temperature=0.7, seed=5),
                                           ChatRequest(messages=user("xyz"))]))
    assert a.texts == ["ab#0", "ab#1", "ab#2"] and b.texts == ["xyz#0"]
    [llm] = fake_vllm
    assert llm.kwargs["model"] == "some/model" and llm.kwargs["tensor_parallel_size"] == 2
    params = llm.calls[0][1]
    assert (params[0].n, params[0].temperature, params[0].seed) == (3, 0.7, 5)
    assert backend.usage.samples == 4 and backend.usage.requests == 2
    assert backend.usage.prompt_tokens == 5 and backend.usage.completion_tokens == (1 + 2 + 3) + 1


def test_concurrent_calls_are_coalesced_into_one_engine_call(fake_vllm):
    backend = VLLMBackend("m")

    async def many():
        return await asyncio.gather(*(backend.generate([ChatRequest(messages=user(f"q{i}"))]) for i in range(10)))

    results = asyncio.run(many())
    assert [r.texts for [r] in results] == [[f"q{i}#0"] for i in range(10)]
    [llm] = fake_vllm
    assert len(llm.calls) == 1 and len(llm.calls[0][0]) == 10


def test_requests_arriving_during_a_call_go_together_into_the_next(fake_vllm):
    backend = VLLMBackend("m", max_batch=4)

    async def waves():
        first = asyncio.ensure_future(backend.generate([ChatRequest(messages=user("first"))]))
        await asyncio.sleep(0.05)  # the engine is now busy with "first"
        later = [backend.generate([ChatRequest(messages=user(f"l{i}"))]) for i in range(6)]
        return await asyncio.gather(first, *later)

    backend._llm = FakeLLM({}, delay=0.2)  # loaded, and slow enough for the second wave to queue up
    asyncio.run(waves())
    llm = backend._llm
    assert [len(conversations) for conversations, _ in llm.calls] == [1, 4, 2]  # bounded by max_batch


def test_json_mode_and_greedy_options(fake_vllm):
    backend = VLLMBackend("m")
    asyncio.run(backend.generate([ChatRequest(messages=user("j"), json_mode=True, top_p=0.5, stop=("```",))]))
    [params] = fake_vllm[0].calls[0][1]
    assert params.structured_outputs == ("json_object", True)
    assert params.top_p == 1.0  # greedy: top_p is irrelevant and vLLM warns about it
    assert params.stop == ["```"]


def test_an_engine_failure_fails_the_batch_with_an_llm_error_and_the_next_call_works(fake_vllm):
    backend = VLLMBackend("m")
    asyncio.run(backend.generate([ChatRequest(messages=user("warm"))]))
    fake_vllm[0].fail = True
    with pytest.raises(LLMError, match="CUDA out of memory"):
        asyncio.run(backend.generate([ChatRequest(messages=user("x"))]))
    fake_vllm[0].fail = False
    [ok] = asyncio.run(backend.generate([ChatRequest(messages=user("y"))]))
    assert ok.texts == ["y#0"]


def test_without_vllm_a_config_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    backend = VLLMBackend("m")
    with pytest.raises(ConfigError, match=r"pip install 'acecoder\[vllm\]'"):
        asyncio.run(backend.generate([ChatRequest(messages=user("x"))]))


def test_the_engine_starts_on_the_callers_thread(fake_vllm):
    """Before, the engine started inside the worker thread that runs batches, which vLLM
    releases before ~0.10.2 refuse ("signal only works in main thread")."""
    [result] = asyncio.run(VLLMBackend("m").generate([ChatRequest(messages=user("hi"))]))
    assert result.texts == ["hi#0"] and len(fake_vllm) == 1


def test_a_failed_start_is_remembered_not_retried(fake_vllm, monkeypatch):
    starts = []

    def no_memory(**kwargs):
        starts.append(kwargs)
        raise RuntimeError("CUDA out of memory while loading the weights")

    monkeypatch.setattr(sys.modules["vllm"], "LLM", no_memory)
    backend = VLLMBackend("m")
    for _ in range(3):  # every later batch fails at once with the same error
        with pytest.raises(LLMError, match="did not start: RuntimeError: CUDA out of memory"):
            asyncio.run(backend.generate([ChatRequest(messages=user("x"))]))
    assert len(starts) == 1


def test_a_prompt_over_max_model_len_fails_alone(fake_vllm):
    """vLLM refuses a whole LLM.chat batch for one prompt with no room left for a token; the
    backend fails that request alone (kind "item", as an endpoint's 400) and runs the rest."""
    backend = VLLMBackend("m", max_model_len=8)

    async def batch():
        return await asyncio.gather(*(backend.generate([ChatRequest(messages=user(text))])
                                      for text in ("short", "far too long", "1234567")), return_exceptions=True)

    [short], error, [edge] = asyncio.run(batch())
    assert short.texts == ["short#0"] and edge.texts == ["1234567#0"]  # 7 tokens: room for one more
    assert isinstance(error, LLMError) and error.kind == "item" and "12 tokens, max_model_len is 8" in str(error)
    assert [len(conversations) for conversations, _ in fake_vllm[0].calls] == [2]  # one call, without it


def test_aclose_shuts_the_engine_down_and_frees_its_memory(fake_vllm):
    backend = VLLMBackend("m", gpu_memory_utilization=0.6)
    asyncio.run(backend.generate([ChatRequest(messages=user("x"))]))
    assert list(GPU.values()) == [0.6]
    asyncio.run(backend.aclose())
    assert GPU == {}  # the card is free for what comes next (a reward model)
    asyncio.run(backend.generate([ChatRequest(messages=user("y"))]))  # starts again when asked
    assert len(fake_vllm) == 2 and list(GPU.values()) == [0.6]


def test_open_backend_passes_the_engine_settings_and_frees_the_engine(fake_vllm):
    from acecoder.llm import open_backend

    with open_backend("vllm", "some/model", vllm={"gpu_memory_utilization": 0.5, "tensor_parallel_size": 2,
                                                   "max_model_len": 4096}) as (backend, url):
        assert url is None
        asyncio.run(backend.generate([ChatRequest(messages=user("x"))]))
        assert GPU
    [llm] = fake_vllm
    assert (llm.kwargs["gpu_memory_utilization"], llm.kwargs["tensor_parallel_size"], llm.kwargs["max_model_len"]) \
        == (0.5, 2, 4096)
    assert GPU == {}  # closed on leaving the block


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="tensor_parallel_size"):
        VLLMBackend("m", tensor_parallel_size=0)
    with pytest.raises(ConfigError, match="gpu_memory_utilization"):
        VLLMBackend("m", gpu_memory_utilization=1.5)


def test_importing_the_llm_package_does_not_import_vllm():
    code = "import sys, acecoder.llm; assert 'vllm' not in sys.modules and 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
