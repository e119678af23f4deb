"""A tiny OpenAI-compatible server on 127.0.0.1, for tests and benchmarks: no model, no network.

    with StubServer(latency=0.05) as server:          # its own thread and event loop
        client = OpenAIClient(server.base_url, "stub")
    server.faults.append(Fault(status=429, headers={"Retry-After": "0.2"}))  # next answer

It answers POST /v1/chat/completions with `n` choices whose text `reply(body, index)`
makes ("sample {index}" by default), and usage counts of whitespace-separated words
(prompt: all message contents; completion: each choice's text), so token counts can
be checked by hand. Faults queued in `faults` are served first, one per request. It
records every request body and the most requests it saw in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True, kw_only=True)
class Fault:
    """One scripted answer: wait `delay` seconds, then answer `status` with `body` (JSON if not str)."""

    status: int = 500
    body: object = field(default_factory=lambda: {"error": {"message": "injected fault"}})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _default_reply(body: dict, index: int) -> str:
    return f"sample {index}"


class StubServer:
    def __init__(self, *, latency: float = 0.0, reply: Callable[[dict, int], str] = _default_reply, port: int = 0):
        self.latency, self.reply, self.port = latency, reply, port
        self.faults: deque[Fault] = deque()
        self.requests: list[dict] = []  # bodies, in arrival order (kept only when record=True)
        self.record = True
        self.in_flight = self.max_in_flight = self.served = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------ running it

    async def serve(self, ready: Callable[[int], None] | None = None) -> None:
        """Serve until cancelled (in the caller's event loop)."""
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        if ready is not None:
            ready(self.port)
        try:
            await asyncio.Event().wait()
        finally:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()

    def start(self) -> StubServer:
        """Serve from a daemon thread with its own event loop; returns once listening."""
        started = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._main = self._loop.create_task(self.serve(lambda port: started.set()))
            try:
                self._loop.run_until_complete(self._main)
            except asyncio.CancelledError:
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="stub-openai-server", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the stub server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._main.cancel)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ HTTP/1.1, just enough

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    status, headers, payload = await self._answer(head, body)
                finally:
                    self.in_flight -= 1
                self.served += 1
                lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", f"Content-Length: {len(payload)}"]
                lines += [f"{name}: {value}" for name, value in headers.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, head: bytes, raw: bytes) -> tuple[int, dict, bytes]:
        if not head.startswith(b"POST ") or b"/chat/completions " not in head.split(b"\r\n", 1)[0]:
            return 404, {}, b'{"error": {"message": "not found"}}'
        body = json.loads(raw)
        if self.record:
            self.requests.append(body)
        if self.faults:
            fault = self.faults.popleft()
            await asyncio.sleep(fault.delay)
            payload = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            return fault.status, fault.headers, payload.encode()
        if self.latency:
            await asyncio.sleep(self.latency)
        texts = [self.reply(body, index) for index in range(int(body.get("n", 1)))]
        prompt_tokens = sum(len(str(message.get("content", "")).split()) for message in body["messages"])
        answer = {
            "id": f"stub-{self.served}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                for i, text in enumerate(texts)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": sum(len(text.split()) for text in texts),
                "total_tokens": 0,
            },
        }
        return 200, {}, json.dumps(answer).encode()
