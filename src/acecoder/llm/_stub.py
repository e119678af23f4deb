"""A tiny OpenAI-compatible server on 127.0.0.1, for tests and benchmarks: no model, no network.

    with StubServer(latency=0.05) as server:          # its own thread and event loop
        client = OpenAIClient(server.base_url, "stub")
    server.faults.append(Fault(status=429, headers={"Retry-After": "0.2"}))  # next answer

It answers POST /v1/chat/completions with `n` choices whose text `reply(body, index)`
makes ("sample {index}" by default), and usage counts of whitespace-separated words
(prompt: all message contents; completion: each choice's text), so token counts can
be checked by hand. Faults queued in `faults` are served first, one per request; then
`plan(body, attempt)` may give one (attempt: how often this same body came before), so
that faults depend only on the request and a killed-and-resumed run meets the same ones:
`FaultPlan` is such a plan. It records every request body and the most requests it saw
in flight at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True, kw_only=True)
class Fault:
    """One scripted answer: wait `delay` seconds, then answer `status` with `body` (JSON if
    not str); `reset`: close the connection instead of answering; `finish_reason`: answer
    normally, each text cut to half its words, with this finish reason (e.g. "length")."""

    status: int = 500
    body: object = field(default_factory=lambda: {"error": {"message": "injected fault"}})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False
    finish_reason: str | None = None


@dataclass(slots=True, kw_only=True)
class FaultPlan:
    """Faults decided by a hash of the request body and `seed`, the same on every run.

    A share `permanent` of the requests is refused with a 400 on every attempt (a prompt over
    the context); a share `transient` meets one fault on its first attempt only, in turn 429
    with Retry-After, 500, a reset connection, a hang of `hang` seconds (past a client's
    timeout), a truncated JSON body; a share `cut` is answered with finish_reason "length".
    """

    permanent: float = 0.02
    transient: float = 0.05
    cut: float = 0.0
    seed: int = 0
    hang: float = 5.0

    TRANSIENT = ("429", "500", "reset", "hang", "truncated")

    def draw(self, body: dict) -> tuple[float, int]:
        digest = hashlib.sha256(f"{self.seed}:{json.dumps(body, sort_keys=True)}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64, digest[8]

    def __call__(self, body: dict, attempt: int) -> Fault | None:
        share, pick = self.draw(body)
        if share < self.permanent:
            return Fault(status=400, body={"error": {"message": "injected: the prompt is longer than the context"}})
        if share < self.permanent + self.transient:
            if attempt > 0:
                return None
            kind = self.TRANSIENT[pick % len(self.TRANSIENT)]
            return {
                "429": Fault(status=429, headers={"Retry-After": "0.05"}, body={"error": {"message": "injected: slow down"}}),
                "500": Fault(status=500, body={"error": {"message": "injected: internal error"}}),
                "reset": Fault(reset=True),
                "hang": Fault(status=500, delay=self.hang, body={"error": {"message": "injected: hung"}}),
                "truncated": Fault(status=200, body='{"choices": [{"index": 0, "message": {"content": "sa'),
            }[kind]
        if share < self.permanent + self.transient + self.cut:
            return Fault(status=200, finish_reason="length")
        return None


def _default_reply(body: dict, index: int) -> str:
    return f"sample {index}"


class StubServer:
    def __init__(self, *, latency: float = 0.0, reply: Callable[[dict, int], str] = _default_reply, port: int = 0,
                 plan: Callable[[dict, int], Fault | None] | None = None):
        self.latency, self.reply, self.port, self.plan = latency, reply, port, plan
        self.faults: deque[Fault] = deque()
        self.seen: Counter[str] = Counter()  # attempts per request body (the plan's `attempt`)
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
                if status is None:  # a reset: no answer at all
                    return
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
        identity = json.dumps(body, sort_keys=True)
        attempt, self.seen[identity] = self.seen[identity], self.seen[identity] + 1
        fault = self.faults.popleft() if self.faults else (self.plan(body, attempt) if self.plan else None)
        if fault is not None and fault.finish_reason is None:
            await asyncio.sleep(fault.delay)
            if fault.reset:
                return None, {}, b""
            payload = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            return fault.status, fault.headers, payload.encode()
        if self.latency:
            await asyncio.sleep(self.latency)
        texts = [self.reply(body, index) for index in range(int(body.get("n", 1)))]
        finish = "stop"
        if fault is not None:  # answered, but cut short
            texts = [" ".join(text.split()[: max(1, len(text.split()) // 2)]) for text in texts]
            finish = fault.finish_reason
        prompt_tokens = sum(len(str(message.get("content", "")).split()) for message in body["messages"])
        answer = {
            "id": f"stub-{self.served}",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                for i, text in enumerate(texts)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": sum(len(text.split()) for text in texts),
                "total_tokens": 0,
            },
        }
        return 200, {}, json.dumps(answer).encode()
