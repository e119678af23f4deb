"""Local generation on a CPU: transformers (batched) against llama.cpp's server, same model,
same prompts, same sampling settings, one after the other in one run.

    python speed/bench_local_generation.py [--model smollm2-135m] [--questions 4] [--n 2] [--max-tokens 128]

Needs the `local` and `llama-cpp` extras and the embedded model's package. Prints, per
backend, the wall time, completion tokens and tokens per second (completion tokens as
each backend counts them), and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient, TransformersBackend, embedded_model
from acecoder.prompts import chat

QUESTIONS = Path(__file__).resolve().parents[1] / "examples" / "questions.jsonl"


def requests(count: int, n: int, max_tokens: int) -> list[ChatRequest]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = (rows * (count // len(rows) + 1))[:count]
    return [
        ChatRequest(messages=chat(row["question"], row["tests"]), n=n, temperature=0.7, max_tokens=max_tokens, seed=i)
        for i, row in enumerate(rows)
    ]


async def run(backend, batch) -> tuple[float, int]:
    start = time.perf_counter()
    await asyncio.gather(*(backend.generate([request]) for request in batch))  # as the sample stage sends them
    return time.perf_counter() - start, backend.usage.completion_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    batch = requests(args.questions, args.n, args.max_tokens)
    print(f"{args.model}: {args.questions} questions x {args.n} samples, up to {args.max_tokens} new tokens, temperature 0.7")

    transformers = TransformersBackend(embedded_model(args.model), name=args.model, batch_size=args.questions * args.n)
    asyncio.run(transformers.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=2)]))  # load
    transformers.usage.completion_tokens = 0
    t_seconds, t_tokens = asyncio.run(run(transformers, batch))

    with LlamaCppServer(args.model, parallel=4) as server:

        async def llama():
            async with OpenAIClient(server.base_url, server.model, concurrency=4) as client:
                return await run(client, batch)

        l_seconds, l_tokens = asyncio.run(llama())

    t_rate, l_rate = t_tokens / t_seconds, l_tokens / l_seconds
    print(f"  transformers (batch {args.questions * args.n}): {t_seconds:6.1f} s, {t_tokens:5d} tokens, {t_rate:6.1f} tokens/s")
    print(f"  llama.cpp server:            {l_seconds:6.1f} s, {l_tokens:5d} tokens, {l_rate:6.1f} tokens/s")
    print(f"  llama.cpp / transformers: {l_rate / t_rate:.1f}x tokens/s")


if __name__ == "__main__":
    main()
