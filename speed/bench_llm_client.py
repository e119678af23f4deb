"""Throughput and CPU overhead of acecoder's OpenAI-compatible client against a fixed-latency server.

Run from the repository root:

    python speed/bench_llm_client.py                       # 3,000 requests, concurrency 64, 0.5 s
    python speed/bench_llm_client.py --requests 4000 --latency 0.05   # where the client's CPU binds

The server (`acecoder.llm.StubServer`, asyncio) runs in a separate process, so this
process's CPU time (time.process_time) is the client's alone. The ideal throughput is
concurrency / latency; the targets (issue 3) are >= 95% of it and < 1 ms of client
CPU per request. A warm-up of one request per connection runs first and is not counted;
no cache is used (a cache hit sends no request at all).

Why 0.5 s by default: a fixed latency sends every response of a wave back at once, and
one event loop handles them one after another at the client's CPU cost per request
(about 0.75 ms here, mostly httpx). The share of the ideal therefore falls as
concurrency x CPU cost approaches the latency: 83% at 64 x 50 ms (the client alone
would need 96% of a core), 92% at 200 ms, 97% at 500 ms. Real completions take
seconds, where the client is far from binding.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import time

from acecoder.llm import ChatRequest, OpenAIClient, StubServer


def serve(latency: float, port_queue) -> None:
    server = StubServer(latency=latency)
    server.record = False  # keep the server's memory flat
    asyncio.run(server.serve(port_queue.put))


async def run(base_url: str, args) -> tuple[float, float, OpenAIClient]:
    client = OpenAIClient(base_url, "stub", concurrency=args.concurrency, max_retries=0)
    message = "Write a function that returns the sum of a list of integers. " * 8  # a realistic body size
    warmup = [ChatRequest(messages=[{"role": "user", "content": f"warm {i}"}]) for i in range(args.concurrency)]
    await client.generate(warmup)
    requests = [
        ChatRequest(messages=[{"role": "user", "content": f"{message} #{i}"}], temperature=0.7, max_tokens=1024)
        for i in range(args.requests)
    ]
    cpu, wall = time.process_time(), time.perf_counter()
    results = await client.generate(requests)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert len(results) == args.requests and all(r.texts == ["sample 0"] for r in results)
    await client.aclose()
    return wall, cpu, client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.5, help="server seconds per request")
    args = parser.parse_args()

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.latency, ports), daemon=True)
    server.start()
    try:
        base_url = f"http://127.0.0.1:{ports.get(timeout=20)}/v1"
        wall, cpu, client = asyncio.run(run(base_url, args))
    finally:
        server.terminate()
        server.join()

    ideal = args.concurrency / args.latency
    achieved = args.requests / wall
    import httpx

    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, httpx {httpx.__version__}"
    )
    print(f"requests {args.requests}, concurrency {args.concurrency}, server latency {args.latency * 1000:g} ms")
    print(f"wall {wall:.2f} s (ideal {args.requests / ideal:.2f} s)")
    print(f"throughput {achieved:.0f} req/s of ideal {ideal:.0f} req/s: {achieved / ideal:.1%} (target >= 95%)")
    print(f"client CPU {cpu:.2f} s: {cpu / args.requests * 1000:.3f} ms per request (target < 1 ms)")
    print(f"usage: {client.usage.summary()}")


if __name__ == "__main__":
    main()
