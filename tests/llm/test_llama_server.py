"""LlamaCppServer's process handling (start, wait until ready, serve, stop, report a failed
start) against a stand-in `llama-server`: a small OpenAI-compatible HTTP server that takes
llama-server's command line, chosen through $ACECODER_LLAMA_SERVER. The real server is
tested in tests/llm/test_llama_server_real.py."""

import asyncio
import importlib.util
import sys
import textwrap

import httpx
import pytest

from acecoder.errors import ComponentError, ConfigError
from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient

FAKE_SERVER = textwrap.dedent(
    """
    import argparse, json, os, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

    parser = argparse.ArgumentParser()
    for flag in ("--model", "--alias", "--host", "--port", "--ctx-size", "--parallel", "--threads", "--cache-ram", "--spec-type"):
        parser.add_argument(flag)
    for flag in ("--no-kv-unified", "--no-webui"):
        parser.add_argument(flag, action="store_true")
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
            self.reply({"data": [{"id": args.alias}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = body["model"] + ":" + body["messages"][-1]["content"]
            # like llama.cpp's server: one choice, whatever n asks
            self.reply({"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 2}})

    ThreadingHTTPServer((args.host, int(args.port)), Handler).serve_forever()
    """
)


@pytest.fixture
def fake_llama(tmp_path, monkeypatch):
    binary = tmp_path / "llama-server"
    binary.write_text(f"#!{sys.executable}\n{FAKE_SERVER}")
    binary.chmod(0o755)
    monkeypatch.setenv("ACECODER_LLAMA_SERVER", str(binary))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    return gguf


def test_it_starts_serves_the_openai_protocol_and_stops(fake_llama, tmp_path):
    server = LlamaCppServer(fake_llama, context=2048, parallel=3, threads=2, log_path=tmp_path / "server.log")
    command = server.command()
    assert server.model == "tiny" and command[command.index("--ctx-size") + 1] == str(3 * 2048)  # split over 3 slots
    assert command[command.index("--parallel") + 1] == "3"
    assert command[command.index("--spec-type") + 1] == "ngram-simple"  # prompt lookup, by default
    assert "--spec-type" not in LlamaCppServer(fake_llama, prompt_lookup=False).command()
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


def test_a_server_that_dies_while_loading_is_reported_with_its_log(fake_llama, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_FAIL", "1")
    with pytest.raises(ComponentError, match="exited with code 3(.|\n)*failed to load model"):
        LlamaCppServer(fake_llama).start()


def test_bad_models_are_config_errors(fake_llama, tmp_path):
    with pytest.raises(ConfigError, match="not a .gguf file"):
        LlamaCppServer(tmp_path / "missing.gguf")
    with pytest.raises(ConfigError, match="not a .gguf file"):
        LlamaCppServer(tmp_path)


def test_without_llama_server_the_error_says_how_to_install(monkeypatch, fake_llama, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    monkeypatch.delenv("ACECODER_LLAMA_SERVER")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(ConfigError, match=r"pip install -r requirements/llama-cpp.txt"):
        LlamaCppServer(fake_llama)
    monkeypatch.setenv("ACECODER_LLAMA_SERVER", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"ACECODER_LLAMA_SERVER=.*missing: not an executable"):
        LlamaCppServer(fake_llama)
