"""OpenRLHF adapter: a reward server for `--reward.remote_url` (OpenRLHF 0.10.2 and later;
`--remote_rm_url` before).

OpenRLHF posts JSON `{"query": [prompt + response, ...], "prompts": [prompt, ...],
"labels": [label, ...]}` (labels from `--data.label_key`; 0.11 sends one sample per
request, from each rollout actor) and reads `rewards`, `scores` and `extra_logs` from
the answer. Every value of `extra_logs` is a list with one number per sample, as
OpenRLHF's own `serve_rm.py` sends: it turns each sample's value into a tensor and
averages them over the batch. With the data of `acecoder hard-subset --format openrlhf`, run

    acecoder serve-reward --port 5000                        # the rule reward
    acecoder serve-reward --port 5000 --reward-model RM_DIR  # plus the reward model
    ... openrlhf.cli.train_ppo_ray --reward.remote_url http://HOST:5000/get_reward \\
        --data.input_key context_messages --data.apply_chat_template --data.label_key tests

Each request is scored asynchronously on the shared engine, so concurrent requests
from several actors keep every sandbox worker busy, and a hanging program costs at
most its time limit. OpenRLHF gives up on an answer after 180 s and sends the same
request again (5 tries): a request whose body was seen in the last `RECENT_SECONDS`
waits for that evaluation, still running or just finished, instead of running the
programs a second time (the original design's server ran past the timeout on large
rollouts and evaluated each retry from scratch, §9). FastAPI and uvicorn are imported
only by `create_app` and `serve`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from acecoder.rewards._combined import CombinedReward, parse_suite

ROUTES = ("/get_reward", "/")
RECENT_REQUESTS = 4096  # answers kept for retried requests, by body
RECENT_SECONDS = 1200.0  # and for how long: past OpenRLHF's 5 tries of 180 s


class Recent:
    """Evaluations by a key (the hash of a request's body), in flight or finished within
    `seconds`, at most `size` of them: the same request again gets the same answer
    without running anything twice. A failed evaluation is forgotten (a retry runs it)."""

    def __init__(self, *, size: int = RECENT_REQUESTS, seconds: float = RECENT_SECONDS):
        self.size, self.seconds = size, seconds
        self._entries: OrderedDict[str, tuple[float, asyncio.Future]] = OrderedDict()
        self.evaluations = 0  # evaluations started (a retried request starts none)

    async def get(self, key: str, evaluate: Callable[[], Awaitable[dict]]) -> dict:
        now = time.monotonic()
        while self._entries and (now - next(iter(self._entries.values()))[0] > self.seconds
                                 or len(self._entries) >= self.size):
            self._entries.popitem(last=False)
        entry = self._entries.get(key)
        if entry is None:
            self.evaluations += 1
            future = asyncio.ensure_future(evaluate())
            future.add_done_callback(lambda done: done.cancelled() or done.exception() is None
                                     or self._entries.pop(key, None))
            entry = self._entries[key] = (now, future)
        # A client that gives up cancels its handler, not the evaluation the retry will wait for.
        return await asyncio.shield(entry[1])


def request_key(request: BaseModel) -> str:
    return hashlib.sha256(json.dumps(request.model_dump(), sort_keys=True).encode()).hexdigest()


class RewardRequest(BaseModel):
    """What OpenRLHF posts (older versions send only `query`)."""

    query: list[str]
    prompts: list[str] | None = None
    labels: list | None = None


def response_of(query: str, prompt: str | None) -> str:
    """The completion inside OpenRLHF's query (the prompt then the response)."""
    if prompt and query.startswith(prompt):
        return query[len(prompt):]
    for marker in ("<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n"):
        if marker in query:  # no prompt sent (older OpenRLHF): the last assistant turn
            return query.rsplit(marker, 1)[1]
    return query


def labels_as_suites(labels) -> tuple[list[list[str]], list[list[float] | None]]:
    """The tests of each sample, and their limits where given, from OpenRLHF's labels: a
    list of asserts, {"tests": [...], "limits": [...]}, or the JSON text of either."""
    suites = [parse_suite(label, where=f"labels[{i}]") for i, label in enumerate(labels)]
    return [tests for tests, _ in suites], [limits for _, limits in suites]


def create_app(reward: CombinedReward):
    """The FastAPI application serving `reward` on ROUTES, plus GET /health."""
    import contextlib

    from fastapi import FastAPI, HTTPException

    from acecoder.errors import AcecoderError

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        reward.close()  # the sandbox workers stop with the server

    app = FastAPI(title="acecoder reward server", lifespan=lifespan)
    app.state.recent = recent = Recent()

    async def evaluate(request: RewardRequest) -> dict:
        prompts = request.prompts or [None] * len(request.query)
        tests, limits = labels_as_suites(request.labels) if request.labels is not None else (None, None)
        responses = [response_of(q, p) for q, p in zip(request.query, prompts)]
        rewards, rule = await reward.aevaluate([p or q for p, q in zip(prompts, request.query)], responses, tests,
                                               limits)
        rewards = [0.0 if r is None else r for r in rewards]  # an unscorable program gets 0
        logs = {}
        if rule is not None:  # one number per sample, as OpenRLHF merges them
            logs = {
                "pass_rate": rule.pass_rates,
                "all_passed": [float(passed) for passed in rule.all_passed],
                "execution_seconds": [result.seconds if result is not None else 0.0 for result in rule.results],
            }
        return {"rewards": rewards, "scores": rewards, "extra_logs": logs}

    async def get_reward(request: RewardRequest) -> dict:
        n = len(request.query)
        if (request.prompts is not None and len(request.prompts) != n) or (
            request.labels is not None and len(request.labels) != n
        ):
            raise HTTPException(422, "query, prompts and labels must have one entry per sample")
        try:
            return await recent.get(request_key(request), lambda: evaluate(request))
        except AcecoderError as error:
            raise HTTPException(422, f"{error} (send the tests as labels: --data.label_key tests)") from None

    for route in ROUTES:
        app.post(route)(get_reward)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    return app


def serve(reward: CombinedReward, *, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Run the server until interrupted; the sandbox stops with it."""
    import uvicorn

    try:
        uvicorn.run(create_app(reward), host=host, port=port, log_level="warning")
    finally:
        reward.close()
