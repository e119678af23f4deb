"""The reward model over HTTP: a FastAPI app and its client.

Endpoints of `create_app(model, max_batch=...)` (served by `acecoder serve-rm`):

- `GET /health` -> `{"status": "ok", "model": name}`.
- `POST /score` `{"items": [{"question": str, "program": str, "tests": [str]?}]}`
  -> `{"scores": [float], "model": name}`, one score per item, in order. What
  `RemoteRewardModel.score` sends, and what the RL issue's verl and TRL reward
  adapters call.
- `POST /get_reward`: OpenRLHF's remote reward model (`--reward.remote_url
  http://HOST:PORT/get_reward`; `--remote_rm_url` before 0.10.2). OpenRLHF posts `{"query": [str], "prompts": [str],
  "labels": [...]}` (older versions: `query` only); each query is the prompt and the
  policy's response as one text, rendered by the policy's chat template. It reads
  `{"rewards": [float]}`. A query becomes a (question, program) pair so that it is
  scored in the same rendering the reward model was trained on:
    - the response: the query after its prompt (when `prompts[i]` is given and the
      query starts with it), else the query after the end of our prompt's question;
    - the program: the code in the response (`acecoder.data.code.extract_code`: the
      last python block; the reasoning of R1-style answers is dropped);
    - the question: the text between our instruction line (`acecoder.prompts`) and
      "Your code should pass this test:" (or the end of the user turn, the first
      special token), or inside the triple-quoted block of the released AceCodePair wording;
      a prompt of neither style counts whole, special tokens removed;
    - the tests: `labels[i]` when it is a list of asserts or a JSON-encoded one (what
      `acecoder hard-subset` exports), else the test the prompt shows.

Bad requests get a 4xx that says what is wrong: malformed or mistyped JSON 422 (with
the field), more than `max_batch` items 413, lists of different lengths 422. The
model runs one request at a time (a lock), in FastAPI's thread pool, so the event
loop keeps answering `/health` during a long batch.
"""

# No `from __future__ import annotations`: FastAPI must see the request models of
# create_app as classes, not as names it cannot resolve.

import json
import re
import threading
from collections.abc import Sequence

from acecoder.errors import AcecoderError
from acecoder.prompts import ACECODEPAIR_INSTRUCTION, INSTRUCTION, question_of

DEFAULT_MAX_BATCH = 512  # items per request


class RemoteRewardModel:
    """`RewardModel.score` over HTTP (POST /score of `acecoder serve-rm`)."""

    def __init__(self, url: str, *, timeout: float = 300.0, transport=None):
        """`url`: the server's base, e.g. http://127.0.0.1:8000. `timeout`: seconds per
        request. `transport`: an httpx transport (tests pass httpx.MockTransport)."""
        import httpx

        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._name: str | None = None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = self._call("GET", "/health")["model"]
        return self._name

    def score(self, questions: Sequence[str], programs: Sequence[str],
              tests: Sequence[list[str] | None] | None = None, *, batch_size: int | None = None) -> list[float]:
        """One score per (question, program); `batch_size` items per request [default: all in one]."""
        if len(questions) != len(programs) or (tests is not None and len(tests) != len(questions)):
            raise AcecoderError("score: give one question, program (and test list) per item")
        items = [
            {"question": q, "program": p, **({"tests": list(tests[i])} if tests is not None and tests[i] else {})}
            for i, (q, p) in enumerate(zip(questions, programs))
        ]
        step = batch_size or max(len(items), 1)
        scores: list[float] = []
        for start in range(0, len(items), step):
            answer = self._call("POST", "/score", {"items": items[start:start + step]})
            self._name = answer.get("model", self._name)
            scores.extend(float(s) for s in answer["scores"])
        return scores

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        import httpx

        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise AcecoderError(f"reward server {self.url}: {error}") from None
        if response.status_code >= 400:
            raise AcecoderError(f"reward server {self.url}{path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "RemoteRewardModel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- OpenRLHF queries


def split_query(query: str, prompt: str | None = None, label=None, special_tokens: Sequence[str] = ()) -> tuple[str, str, list[str] | None]:
    """(question, program, tests) of one OpenRLHF query (see the module docstring)."""
    from acecoder.data.code import extract_code

    specials = [t for t in special_tokens if t]
    pattern = re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True))) if specials else None
    if prompt and query.startswith(prompt):
        head, response = prompt, query[len(prompt):]
    else:  # the response follows the first special token after the instruction
        start, length = query.find(INSTRUCTION), len(INSTRUCTION)
        if start < 0:
            start, length = query.find(ACECODEPAIR_INSTRUCTION), len(ACECODEPAIR_INSTRUCTION)
        head = query
        match = pattern.search(query, start + length) if (pattern is not None and start >= 0) else None
        response = query[match.end():] if match else query
    question, shown = question_of(head, turn_ends=specials)
    if INSTRUCTION not in head and pattern is not None:  # a prompt of another shape, whole
        question = pattern.sub("", question).strip()
    tests = _tests(label)
    if tests is None and shown:
        tests = [shown]
    if pattern is not None:
        response = pattern.sub("", response)
    return question, extract_code(response), tests


def _tests(label) -> list[str] | None:
    if isinstance(label, str):
        try:
            label = json.loads(label)
        except ValueError:
            return None
    if isinstance(label, list) and label and all(isinstance(t, str) for t in label):
        return label
    return None


# ---------------------------------------------------------------- the app


def create_app(model, *, max_batch: int = DEFAULT_MAX_BATCH):
    """A FastAPI app serving `model` (a `RewardModel`, or anything with `.name` and
    `.score(questions, programs, tests)`); at most `max_batch` items a request."""
    from fastapi import FastAPI, HTTPException
    from pydantic import BaseModel, ConfigDict, Field

    class Item(BaseModel):
        model_config = ConfigDict(extra="forbid")
        question: str
        program: str
        tests: list[str] | None = None

    class ScoreRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[Item] = Field(description=f"at most {max_batch} items")

    class RewardRequest(BaseModel):  # OpenRLHF sends more keys in some versions: allowed
        query: list[str]
        prompts: list[str] | None = None
        labels: list | None = None

    app = FastAPI(title="acecoder reward model", version="1")
    lock = threading.Lock()
    specials = list(getattr(getattr(model, "tokenizer", None), "all_special_tokens", []) or [])

    def check_size(count: int) -> None:
        if count > max_batch:
            raise HTTPException(413, f"{count} items in one request; this server takes at most {max_batch} (--max-batch): split the batch")

    def run(questions, programs, tests) -> list[float]:
        with lock:
            try:
                return [float(s) for s in model.score(questions, programs, tests)]
            except AcecoderError as error:
                raise HTTPException(422, str(error)) from None

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": model.name}

    @app.post("/score")
    def score(request: ScoreRequest) -> dict:
        check_size(len(request.items))
        items = request.items
        scores = run([i.question for i in items], [i.program for i in items], [i.tests for i in items]) if items else []
        return {"scores": scores, "model": model.name}

    @app.post("/get_reward")
    def get_reward(request: RewardRequest) -> dict:
        count = len(request.query)
        check_size(count)
        for key in ("prompts", "labels"):
            given = getattr(request, key)
            if given is not None and len(given) != count:
                raise HTTPException(422, f"'{key}' has {len(given)} entries and 'query' {count}: give one per query")
        split = [
            split_query(
                query,
                request.prompts[i] if request.prompts is not None else None,
                request.labels[i] if request.labels is not None else None,
                specials,
            )
            for i, query in enumerate(request.query)
        ]
        rewards = run([s[0] for s in split], [s[1] for s in split], [s[2] for s in split]) if split else []
        return {"rewards": rewards}

    return app
