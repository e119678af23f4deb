"""OpenRLHF adapter: a reward server for `--remote_rm_url`.

OpenRLHF posts each batch as JSON `{"query": [prompt + response, ...], "prompts":
[prompt, ...], "labels": [label, ...]}` (labels from `--label_key`) and reads the
`rewards` list from the answer (newer versions also `scores` and `extra_logs`).
With the data of `acecoder hard-subset --format openrlhf`, run

    acecoder serve-reward --port 5000                        # the rule reward
    acecoder serve-reward --port 5000 --reward-model RM_DIR  # plus the reward model
    ... openrlhf.cli.train_ppo_ray --remote_rm_url http://HOST:5000/get_reward \\
        --input_key context_messages --apply_chat_template --label_key tests

Each request is scored asynchronously on the shared engine, so concurrent requests
from several actors keep every sandbox worker busy, and a hanging program costs at
most its time limit (OpenRLHF's HTTP timeout is 180 s; the original design's
server ran past it on large rollouts, §9). FastAPI and uvicorn are imported only
by `create_app` and `serve`.
"""

from __future__ import annotations

from pydantic import BaseModel

from acecoder.rewards._combined import CombinedReward, parse_tests

ROUTES = ("/get_reward", "/")


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


def _labels(labels) -> list[list[str]]:
    out = []
    for i, label in enumerate(labels):
        if isinstance(label, dict):  # a label_key column holding {"tests": [...], ...}
            label = label.get("tests")
        out.append(parse_tests(label, where=f"labels[{i}]"))
    return out


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

    async def get_reward(request: RewardRequest) -> dict:
        prompts = request.prompts or [None] * len(request.query)
        if len(prompts) != len(request.query) or (request.labels is not None and len(request.labels) != len(request.query)):
            raise HTTPException(422, "query, prompts and labels must have one entry per sample")
        try:
            tests = _labels(request.labels) if request.labels is not None else None
            responses = [response_of(q, p) for q, p in zip(request.query, prompts)]
            rewards, rule = await reward.aevaluate([p or q for p, q in zip(prompts, request.query)], responses, tests)
        except AcecoderError as error:
            raise HTTPException(422, f"{error} (send the tests as labels: --label_key tests)") from None
        rewards = [0.0 if r is None else r for r in rewards]  # an unscorable program gets 0
        logs = {}
        if rule is not None:
            n = max(len(rule.results), 1)
            logs = {
                "pass_rate": sum(rule.pass_rates) / n,
                "all_passed": sum(rule.all_passed) / n,
                "reward_seconds": rule.seconds,
            }
        return {"rewards": rewards, "scores": rewards, "extra_logs": logs}

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
