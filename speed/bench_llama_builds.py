"""Generation speed of two llama.cpp builds on this machine, same model, same prompts, greedy,
interleaved in one run: the installed llama-server (requirements/llama-cpp.txt: AVX2, FMA,
F16C; runs on any x86-64 CPU with AVX2) against another build unpacked in a folder
(typically the default -march=native build, which may use AVX-512 or AMX and faults on CPUs
without them), both with one slot.

    grep -o 'LLAMA_[A-Z_]*=[A-Z]*\|CMAKE_INSTALL_[A-Z]*=[^ ]*' requirements/llama-cpp.txt | sed 's/^/-D/' | tr '\n' ' ' > /tmp/server-flags
    CMAKE_ARGS="$(cat /tmp/server-flags)" pip wheel --no-deps --no-cache-dir llama-cpp-python==0.3.36 -w /tmp/native
    mkdir /tmp/native-site && unzip -q /tmp/native/llama_cpp_python-*.whl -d /tmp/native-site
    python speed/bench_llama_builds.py --other /tmp/native-site [--model qwen2.5-coder-0.5b] [--rounds 2]

(the first line keeps the server's flags and drops the CPU ones: the build is native).

Prints, per build and round, completion tokens per second (the server's count; prompts
are evaluated too, as in the demo), then the mean of each build and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from pathlib import Path

from acecoder.llm import ChatRequest, LlamaCppServer, OpenAIClient
from acecoder.prompts import chat

QUESTIONS = Path(__file__).resolve().parents[1] / "examples" / "questions.jsonl"


def requests(count: int, max_tokens: int) -> list[ChatRequest]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = (rows * (count // len(rows) + 1))[:count]
    return [ChatRequest(messages=chat(row["question"], row["tests"]), max_tokens=max_tokens) for row in rows]


@contextlib.contextmanager
def server_from(folder: str | None):
    """LlamaCppServer starts `folder`'s llama-server (None: the installed build)."""
    before = os.environ.pop("ACECODER_LLAMA_SERVER", None)
    if folder:
        os.environ["ACECODER_LLAMA_SERVER"] = str(Path(folder) / "llama_cpp" / "bin" / "llama-server")
    try:
        yield
    finally:
        os.environ.pop("ACECODER_LLAMA_SERVER", None)
        if before is not None:
            os.environ["ACECODER_LLAMA_SERVER"] = before


def tokens_per_second(model: str, folder: str | None, batch: list[ChatRequest], threads: int | None) -> float:
    with server_from(folder), LlamaCppServer(model, threads=threads) as server:

        async def go() -> float:
            async with OpenAIClient(server.base_url, server.model, concurrency=1) as client:
                start = time.perf_counter()
                for request in batch:  # one at a time: the build's speed, not batching's
                    await client.generate([request])
                return client.usage.completion_tokens / (time.perf_counter() - start)

        return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--other", required=True, help="A folder holding another build's llama_cpp package.")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if not (Path(args.other) / "llama_cpp" / "bin" / "llama-server").is_file():
        raise SystemExit(f"{args.other}: no llama_cpp/bin/llama-server inside: unpack a llama-cpp-python wheel built with it there")
    batch = requests(args.questions, args.max_tokens)
    print(f"{args.model}: {args.questions} prompts, up to {args.max_tokens} new tokens each, greedy; {args.rounds} rounds")
    rates: dict[str, list[float]] = {"installed (AVX2)": [], f"other ({args.other})": []}
    for round_ in range(args.rounds):
        for (name, folder) in zip(rates, (None, args.other)):
            rate = tokens_per_second(args.model, folder, batch, args.threads)
            rates[name].append(rate)
            print(f"  round {round_ + 1}  {name:40s} {rate:6.1f} tokens/s")
    means = [statistics.mean(values) for values in rates.values()]
    for name, mean in zip(rates, means):
        print(f"  mean  {name:40s} {mean:6.1f} tokens/s")
    print(f"  installed / other: {means[0] / means[1]:.2f}x")


if __name__ == "__main__":
    main()
