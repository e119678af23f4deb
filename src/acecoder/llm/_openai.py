"""An async client for OpenAI-compatible chat-completions endpoints (OpenAI, vLLM, SGLang, llama.cpp).

    async with OpenAIClient("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-Coder-7B-Instruct",
                            concurrency=64, cache_path="runs/x/llm-cache.sqlite") as llm:
        results = await llm.generate([ChatRequest(messages=[...], n=16, temperature=0.7)])
    print(llm.usage.summary())

Behaviour:
- at most `concurrency` requests in flight (a queue of connections; backoff sleeps hold none);
- timeouts, connection errors, malformed answers, 408, 429 and 5xx are retried with
  exponential backoff and full jitter, or after the server's Retry-After (capped at
  `backoff_max`), for at most `max_retries` retries and `retry_seconds` in all; then
  LLMError (kind "transient"; "endpoint" when no request of the run ever got an answer)
  says what failed last. An endpoint that refuses connections is given up on once it
  has refused one request for longer than `timeout`;
- 401, 403 and 404 raise LLMError (kind "endpoint": key, URL or model) at once; other 4xx
  (a prompt over the context, a content filter) raise kind "item", and the refusal is
  kept in the cache: asking again gives it back without a request (`retry_failed` asks);
- a server this process started and supervises (llama.cpp's, see `_children`) that has
  died is not retried: the failed request raises ServerDied with the server's exit signal
  and log at once;
- samples are cached on disk one by one (see `_cache.py`): a rerun, or a rerun with a
  larger n, requests only the samples it lacks.

n samples: without a seed the missing samples are asked for in one request (`n=k`);
a server that returns fewer choices than asked, or refuses `n` (llama.cpp's server
takes at most as many as it has slots), is asked for the rest one by one, and
`supports_n` turns off for the run. With a seed, sample i is
requested alone with seed + i, so each sample is reproducible whatever n a run asks for.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
import time
from pathlib import Path

import certifi
import httpx

from acecoder.llm import _children
from acecoder.llm._cache import ResponseCache, request_key
from acecoder.llm._types import ChatRequest, ChatResult, Choice, LLMError, ServerDied, Usage

_RETRIED_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
_ENDPOINT_STATUSES = frozenset({401, 403, 404})  # the key, the URL or the model: no request can succeed

_HINTS = {
    400: "the server rejected the request: check the sampling settings and that the prompt fits the context",
    401: "check the API key (api_key, or the OPENAI_API_KEY environment variable)",
    403: "check the API key and that it may use this model",
    404: "check base_url (it usually ends in /v1) and the model name the server serves",
    422: "the server rejected a field of the request: check the sampling settings",
}


class OpenAIClient:
    """A chat-completions client with bounded concurrency, retries, usage counters and a disk cache."""

    def __init__(
        self,
        base_url: str | list[str],
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout: float = 300.0,
        max_retries: int = 6,
        retry_seconds: float = 900.0,
        retry_failed: bool = False,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        cache_path: str | Path | None = None,
        prompt_price: float = 0.0,
        completion_price: float = 0.0,
        supports_n: bool = True,
        extra_body: dict | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        """
        base_url: the API root, e.g. "https://api.openai.com/v1" or "http://127.0.0.1:8000/v1"; or
            several replicas serving the same model (a list, or one string with commas), each
            with `concurrency` requests in flight: a request goes to whichever replica has a
            free slot first, so faster replicas take more, and a retry may go to another.
        api_key: sent as a bearer token; None reads OPENAI_API_KEY, and sends nothing when unset.
        concurrency: requests in flight at most (per replica).
        timeout: seconds for one request (connect, and the wait for each read).
        max_retries: retries of one request after its first attempt.
        retry_seconds: the most time one request may spend failing and being retried.
        retry_failed: ask again for requests the cache holds as refused for good.
        backoff_base, backoff_max: the k-th retry waits a random time in [0, min(max, base * 2**k)] s.
        cache_path: a sqlite file of samples; None caches nothing.
        prompt_price, completion_price: per million tokens, for `usage.cost`.
        supports_n: False for servers that ignore `n` (found out on the way when left True).
        extra_body: more fields for every request body (e.g. {"top_k": 20}); they enter the cache key.
        transport: an httpx transport in place of the network (httpx.MockTransport in tests).
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        urls = base_url.split(",") if isinstance(base_url, str) else list(base_url)
        self.base_urls = [url.strip().rstrip("/") for url in urls if url.strip()]
        if not self.base_urls:
            raise ValueError("base_url is empty")
        self.base_url, self.model = self.base_urls[0], model
        self.endpoints = [url + "/chat/completions" for url in self.base_urls]
        self.endpoint = ", ".join(self.endpoints)  # for messages
        self.concurrency, self.timeout, self.max_retries = concurrency, timeout, max_retries
        self.retry_seconds, self.retry_failed = retry_seconds, retry_failed
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.supports_n, self.extra_body = supports_n, dict(extra_body or {})
        self.usage = Usage(prompt_price=prompt_price, completion_price=completion_price)
        self.cache = ResponseCache(cache_path) if cache_path is not None else None
        api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._transport = transport
        self._idle: asyncio.Queue[tuple[httpx.AsyncClient, str]] | None = None  # see _lanes
        self._unreachable: dict[str, int] = {}  # endpoint -> connection failures in a row
        self._answered = False  # any HTTP answer yet: a request that cannot connect before one is the endpoint's fault

    # ------------------------------------------------------------ plumbing: lifetime

    @classmethod
    def from_settings(cls, settings, *, cache_path=None) -> "OpenAIClient":
        """A client from a stage's settings: the endpoint fields synth and sample share
        (base_url, model, api_key, concurrency, timeout, max_retries, prices)."""
        return cls(
            settings.base_url,
            settings.model,
            api_key=settings.api_key,
            concurrency=settings.concurrency,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            retry_failed=getattr(settings, "retry_failed", False),
            cache_path=cache_path,
            prompt_price=settings.prompt_price,
            completion_price=settings.completion_price,
            extra_body=getattr(settings, "extra_body", None),
        )

    def _lanes(self) -> asyncio.Queue[tuple[httpx.AsyncClient, str]]:
        # One single-connection client per slot in flight, with its replica's endpoint,
        # taken from a queue (the concurrency bound). Not one client with `concurrency`
        # connections: httpcore's pool scans its connections for each connection on every
        # request (O(C^2), ~9 ms of CPU per request at C=64; speed/bench_llm_client.py).
        if self._idle is None:
            self._idle = asyncio.Queue()
            verify = ssl.create_default_context(cafile=certifi.where())  # one context shared by all lanes
            for _ in range(self.concurrency):
                for endpoint in self.endpoints:  # interleaved: the first requests spread over replicas
                    client = httpx.AsyncClient(
                        timeout=httpx.Timeout(self.timeout),
                        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                        transport=self._transport,
                        verify=verify,
                    )
                    self._idle.put_nowait((client, endpoint))
        return self._idle

    async def aclose(self) -> None:
        if self._idle is not None:
            while not self._idle.empty():
                client, _ = self._idle.get_nowait()
                await client.aclose()
            self._idle = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # ------------------------------------------------------------ samples and the cache

    async def generate(self, requests: list[ChatRequest]) -> list[ChatResult]:
        """One result per request, in order. The first LLMError cancels the rest (finished samples stay cached)."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.complete(request)) for request in requests]
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None
        return [task.result() for task in tasks]

    async def complete(self, request: ChatRequest) -> ChatResult:
        """The `request.n` samples of one request, from the cache where it has them."""
        key = request_key(self.model, request, self.extra_body)
        if self.cache is not None and (refused := self.cache.failure(key)) is not None:
            if not self.retry_failed:
                reason, status, message = refused
                self._count_failure(reason)
                raise self._error(message, status, reason=reason, kind="item", recorded=True)
            self.cache.forget_failure(key)
        try:
            return await self._complete(request, key)
        except LLMError as error:
            if error.kind == "item" and self.cache is not None:
                self.cache.put_failure(key, error.reason, error.status, error.detail)
            if error.kind in ("item", "transient"):
                self._count_failure(error.reason)
            raise

    def _count_failure(self, reason: str) -> None:
        self.usage.failed[reason] = self.usage.failed.get(reason, 0) + 1

    async def _complete(self, request: ChatRequest, key: str) -> ChatResult:
        choices = self.cache.get(key, request.n) if self.cache is not None else {}
        self.usage.cache_hits += len(choices)
        missing = [index for index in range(request.n) if index not in choices]
        if len(missing) > 1 and request.seed is None and self.supports_n:
            try:
                got = await self._fetch(request, key, missing)
            except LLMError as error:
                if error.kind != "item" or error.status not in (400, 422):
                    raise
                got = {}  # refused n > 1 (llama.cpp's server: more than its slots): ask one by one
            choices.update(got)
            if len(got) < len(missing):
                self.supports_n = False  # the server ignores n: ask for the rest one by one
            missing = missing[len(got) :]
        if missing:
            for got in await asyncio.gather(*(self._fetch(request, key, [index]) for index in missing)):
                choices.update(got)
        return ChatResult(request=request, choices=[choices[index] for index in range(request.n)])

    async def _fetch(self, request: ChatRequest, key: str, indices: list[int]) -> dict[int, Choice]:
        """Ask for len(indices) samples in one request; cache and return those that came back."""
        body = {
            "model": self.model,
            "messages": list(request.messages),
            "n": len(indices),
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed + indices[0]  # alone in its request when seeded
        if request.stop:
            body["stop"] = list(request.stop)
        if request.json_mode:
            body["response_format"] = {"type": "json_object"}
        body.update(self.extra_body)
        data, received = await self._post(body)
        usage = data.get("usage") or {}
        self.usage.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        self.usage.completion_tokens += int(usage.get("completion_tokens") or 0)
        self.usage.samples += min(len(received), len(indices))
        got = {index: Choice(text, finish) for index, (text, finish) in zip(indices, received)}
        if self.cache is not None:
            self.cache.put(key, got)
        return got

    # ------------------------------------------------------------ plumbing: HTTP with retries

    async def _post(self, body: dict) -> tuple[dict, list[tuple[str, str | None]]]:
        """The answer and its (text, finish_reason) choices, after retries (see the module docstring)."""
        payload = json.dumps(body, ensure_ascii=False).encode()
        lanes = self._lanes()
        started = time.monotonic()
        refused_since = None  # when this request first failed to connect
        for attempt in range(self.max_retries + 1):
            retry_after = None
            endpoint = self.endpoints[0]
            try:
                lane = await lanes.get()
                client, endpoint = lane
                try:
                    self.usage.requests += 1
                    response = await client.post(endpoint, content=payload, headers=self._headers)
                except httpx.TransportError:
                    # A replica that cannot be reached or times out keeps this slot out of the queue for a
                    # while (longer after each failure in a row), so that the retry, and the
                    # other requests, go to the replicas that answer.
                    failures = self._unreachable[endpoint] = self._unreachable.get(endpoint, 0) + 1
                    hold = min(self.backoff_max, self.backoff_base * 2 ** (failures - 1))
                    asyncio.get_running_loop().call_later(hold, lanes.put_nowait, lane)
                    raise
                self._unreachable.pop(endpoint, None)
                self._answered = True
                lanes.put_nowait(lane)
            except httpx.TimeoutException:
                reason, problem = "timeout", f"no answer within {self.timeout:g} s"
            except httpx.TransportError as error:
                reason, problem = "connection", f"cannot reach the server ({type(error).__name__}: {error})"
            else:
                status = response.status_code
                if status == 200:
                    answer = _choices(response)
                    if isinstance(answer, tuple):
                        return answer
                    reason, problem = "bad_answer", answer  # truncated or malformed: asked again
                else:
                    message = f"HTTP {status}: {_server_message(response)}"
                    if status not in _RETRIED_STATUSES:
                        hint = _HINTS.get(status, "the server refused the request")
                        kind = "endpoint" if status in _ENDPOINT_STATUSES else "item"
                        raise self._error(f"{message} ({hint})", status, reason=f"http_{status}", kind=kind)
                    reason, problem = f"http_{status}", message
                    retry_after = _seconds(response.headers.get("retry-after"))
            self.usage.errors[reason] = self.usage.errors.get(reason, 0) + 1
            death = _children.death(endpoint)
            if death is not None:
                raise ServerDied(death, endpoint=endpoint, model=self.model, status=None)
            if reason == "connection":
                refused_since = refused_since or time.monotonic()
                if time.monotonic() - refused_since > self.timeout:
                    problem += f" for over {self.timeout:g} s (timeout)"
                    break
            if attempt == self.max_retries or time.monotonic() - started > self.retry_seconds:
                break
            self.usage.retries += 1
            ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
            delay = min(retry_after, self.backoff_max) if retry_after is not None else random.uniform(0, ceiling)
            await asyncio.sleep(delay)
        status = int(reason[5:]) if reason.startswith("http_") else None
        # Never reached at all in this run: the endpoint is down or wrong, not this request.
        kind = "endpoint" if reason in ("connection", "timeout") and not self._answered else "transient"
        raise self._error(
            f"gave up after {attempt + 1} attempts in {time.monotonic() - started:.0f} s; the last: {problem} "
            "(check that the server is up, or raise max_retries / retry_seconds / timeout)",
            status, reason=reason, kind=kind,
        )

    def _error(self, message: str, status: int | None = None, *, reason: str = "error", kind: str = "endpoint",
               recorded: bool = False) -> LLMError:
        return LLMError(message, endpoint=self.endpoint, model=self.model, status=status, reason=reason, kind=kind,
                        recorded=recorded)


def _choices(response: httpx.Response) -> tuple[dict, list[tuple[str, str | None]]] | str:
    """(data, [(text, finish_reason), ...]) of a 200 answer, or what is wrong with it."""
    try:
        data = json.loads(response.content)
        answers = sorted(data["choices"], key=lambda choice: choice.get("index", 0))
        received = [(answer["message"].get("content") or "", answer.get("finish_reason")) for answer in answers]
    except ValueError:
        return f"the answer is not JSON: {_clip(response.text)}"
    except (KeyError, TypeError, AttributeError):
        return f"the answer has no choices[].message: {_clip(response.text)}"
    if not received:
        return "the answer has no choices"
    return data, received


def _server_message(response: httpx.Response) -> str:
    """The `error.message` of an OpenAI-style error body, else the body itself, clipped."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return _clip(response.text) or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return _clip(error if isinstance(error, str) else json.dumps(error))
    return _clip(json.dumps(data))


def _seconds(value: str | None) -> float | None:
    """Retry-After as seconds (the HTTP-date form is rare from model servers and is ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _clip(text: str, limit: int = 500) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."
