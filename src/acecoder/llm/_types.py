"""What a backend is asked for and what it answers, and the one interface every backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from acecoder.errors import AcecoderError, ComponentError


class LLMError(AcecoderError):
    """A model endpoint refused a request, or could not be reached after every retry.

    `reason` names what failed (`http_400`, `timeout`, `connection`, `http_503`, ...);
    `kind` says what a stage does about it:
    - "item": the server will refuse this request again (a 4xx other than 401/403/404/408/
      409/429: a prompt over the context, a content filter). The stage records it for its
      item and goes on; a rerun does not ask again (unless told to retry failed requests).
    - "transient": timeouts, resets, 429 and 5xx that outlasted the retries. The stage
      records it and goes on while other requests succeed; a rerun asks again.
    - "endpoint": the endpoint itself is unusable (401, 403, 404: key, URL or model name;
      a supervised server that died): the stage stops.
    `recorded`: an "item" failure read from the response cache; no request was sent.
    """

    def __init__(self, message: str, *, endpoint: str, model: str, status: int | None = None,
                 reason: str = "error", kind: str = "endpoint", recorded: bool = False):
        where = f"{endpoint} (model {model!r})"
        super().__init__(f"{where}: {message}")
        self.endpoint, self.model, self.status = endpoint, model, status
        self.reason, self.kind, self.recorded = reason, kind, recorded
        self.detail = message  # without the endpoint: for per-item records


class ServerDied(LLMError, ComponentError):
    """The model server this process started and supervises has died: asking it again is pointless.

    The message says how it died (the exit code or signal) and quotes the end of its log.
    """


@dataclass(slots=True, kw_only=True, frozen=True)
class ChatRequest:
    """One prompt and how to sample from it; `n` samples, indexed 0..n-1.

    The defaults are greedy decoding (the method's oracle program, §3); its policy
    samples are n=16, temperature=0.7, top_p=1.0, max_tokens=1024.
    """

    messages: tuple[dict, ...] | list[dict]  # [{"role": "user", "content": "..."}]
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024  # new tokens per sample
    seed: int | None = None  # sample i uses seed + i, so each sample is reproducible alone
    stop: tuple[str, ...] | None = None
    json_mode: bool = False  # ask for a JSON object (response_format) where the server supports it


@dataclass(slots=True, frozen=True)
class Choice:
    """One sample: its text, why it ended ("stop", "length", ...), and whether it came from the cache."""

    text: str
    finish_reason: str | None
    cached: bool = False


@dataclass(slots=True, kw_only=True)
class ChatResult:
    """The samples of one request, `choices[i]` being sample index i."""

    request: ChatRequest
    choices: list[Choice]

    @property
    def texts(self) -> list[str]:
        return [choice.text for choice in self.choices]


@dataclass(slots=True, kw_only=True)
class Usage:
    """Counters of one run. Prices are in currency units per million tokens; 0 means unknown."""

    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    prompt_tokens: int = 0  # as the server's `usage` reports them
    completion_tokens: int = 0
    samples: int = 0  # samples received from the model
    cache_hits: int = 0  # samples answered from the cache, with no request
    prompt_price: float = 0.0
    completion_price: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)  # retried failures by reason
    failed: dict[str, int] = field(default_factory=dict)  # requests that failed for good, by reason

    @property
    def cost(self) -> float:
        return (self.prompt_tokens * self.prompt_price + self.completion_tokens * self.completion_price) / 1e6

    def summary(self) -> str:
        retried = "".join(f", {reason} {n}" for reason, n in sorted(self.errors.items()))
        text = (
            f"{self.requests} requests ({self.retries} retries{retried}), {self.samples} samples, "
            f"{self.cache_hits} from cache, tokens {self.prompt_tokens} in / {self.completion_tokens} out"
        )
        if self.prompt_price or self.completion_price:
            text += f", cost {self.cost:.4f}"
        return text


@runtime_checkable
class LLMBackend(Protocol):
    """A model that answers chat requests: an HTTP endpoint, vLLM offline, transformers, ...

    `generate` returns one result per request, in order, each with `request.n` choices.
    """

    model: str
    usage: Usage

    async def generate(self, requests: list[ChatRequest]) -> list[ChatResult]: ...

    async def aclose(self) -> None: ...
