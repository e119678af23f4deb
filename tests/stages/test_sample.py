"""The `sample` stage against a stub OpenAI-compatible server on 127.0.0.1 (real sockets), and an in-memory backend."""

import json
import socket

import pytest

from acecoder import prompts
from acecoder.errors import ConfigError, InputError
from acecoder.llm import ChatResult, Choice, LLMBackend, LLMError, StubServer, Usage
from acecoder.stages.sample import SampleSettings, run

# What chat models really write, one shape per sample index (index % 5), and the
# program that must come out of each (by hand, not by the extractor).
COMPLETIONS = [
    # a chat preamble, the block, an explanation
    "Here is a solution:\n```python\ndef add(a, b):\n    return a + b\n```\nIt returns the sum.",
    # several blocks: a wrong try, the fix, an untagged example (python-tagged blocks win, the last one)
    (
        "First try:\n```python\ndef add(a, b):\n    return a - b\n```\nFixed:\n```python\ndef add(a, b):\n"
        "    return b + a\n```\nExample:\n```\n>>> add(1, 2)\n3\n```"
    ),
    # reasoning in think tags, holding a block of its own
    (
        "<think>Maybe\n```python\ndef add(a, b): pass\n```\nno, return the sum.</think>\n```python\n"
        "def add(a, b):\n    return sum((a, b))\n```"
    ),
    # cut at max_tokens inside the block: an unterminated fence
    "Sure.\n```python\ndef add(a, b):\n    return a +",
    # an empty block
    "I cannot solve this.\n```python\n```",
]
PROGRAMS = [
    "def add(a, b):\n    return a + b",
    "def add(a, b):\n    return b + a",
    "def add(a, b):\n    return sum((a, b))",
    "def add(a, b):\n    return a +",
    "",
]

QUESTIONS = [
    {
        "id": "q1",
        "source": "oss",
        "question": "Write add(a, b) returning a + b.",
        "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
    },
    {
        "id": "q2",
        "source": "evol",
        "question": "Write add(a, b), the sum of two integers.",
        "tests": ["assert add(-1, 1) == 0"],
    },
    {"id": "q3", "source": "stack", "question": "Write add(a, b) for floats too.", "tests": []},
]


def reply(body, index):
    return COMPLETIONS[index % len(COMPLETIONS)]


@pytest.fixture
def server():
    with StubServer(reply=reply) as stub:
        yield stub


def write_questions(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def read_samples(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def settings_for(server, **overrides):
    return SampleSettings(model="policy-7b", base_url=server.base_url, **overrides)


class Recorder:
    def __init__(self):
        self.totals, self.items = [], []

    def total(self, n):
        self.totals.append(n)

    def advance(self, item):
        self.items.append(item)


def test_defaults_are_the_papers_and_oracle_is_greedy():
    policy = SampleSettings(model="m")
    assert policy.sampling() == {"n": 16, "temperature": 0.7, "top_p": 1.0, "max_tokens": 1024, "seed": None}
    oracle = SampleSettings(model="m", oracle=True, n=16, temperature=0.9)
    assert oracle.sampling() == {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 1024, "seed": None}


def test_request_bodies_samples_and_summary(server, tmp_path):
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS)
    output = tmp_path / "out" / "samples.jsonl"
    bar = Recorder()
    summary = run(questions, output, settings=settings_for(server, n=5, max_tokens=256), progress=bar)

    # one request per question: the shared prompt template (question + first test) and the sampling fields
    bodies = sorted(server.requests, key=lambda body: body["messages"][0]["content"])
    expected = [
        {
            "model": "policy-7b",
            "messages": prompts.chat(q["question"], q["tests"]),
            "n": 5,
            "temperature": 0.7,
            "top_p": 1.0,
            "max_tokens": 256,
        }
        for q in QUESTIONS
    ]
    assert bodies == sorted(expected, key=lambda body: body["messages"][0]["content"])
    first = next(b for b in bodies if "returning a + b" in b["messages"][0]["content"])["messages"][0][
        "content"
    ]
    assert "assert add(1, 2) == 3" in first and "assert add(0, 0) == 0" not in first

    rows = read_samples(output)
    assert len(rows) == 15
    assert sorted((r["question_id"], r["sample_index"]) for r in rows) == [
        (q, i) for q in ("q1", "q2", "q3") for i in range(5)
    ]
    for row in rows:
        assert set(row) == {"question_id", "model", "sample_index", "completion", "program"}
        assert row["model"] == "policy-7b"
        assert row["completion"] == COMPLETIONS[row["sample_index"]]  # raw, untouched
        assert row["program"] == PROGRAMS[row["sample_index"]]

    assert (summary.questions, summary.skipped, summary.already_done, summary.sampled) == (3, 0, 0, 3)
    assert (summary.samples, summary.empty_programs, summary.truncated) == (15, 3, 0)
    assert (summary.requests, summary.retries, summary.cache_hits) == (3, 0, 0)
    # the stub counts whitespace-separated words
    prompt_words = sum(len(prompts.question_prompt(q["question"], q["tests"]).split()) for q in QUESTIONS)
    assert summary.prompt_tokens == prompt_words
    assert summary.completion_tokens == 3 * sum(len(text.split()) for text in COMPLETIONS)
    assert summary.settings == {
        "model": "policy-7b",
        "n": 5,
        "temperature": 0.7,
        "top_p": 1.0,
        "max_tokens": 256,
        "seed": None,
        "pick": "last",
    }
    assert (
        summary.cache == f"{output}.cache.sqlite"
        and (tmp_path / "out" / "samples.jsonl.cache.sqlite").exists()
    )
    assert bar.totals == [3] and len(bar.items) == 3
    json.dumps(summary.to_dict())  # the summary is plain JSON


def test_oracle_mode_is_one_greedy_program(server, tmp_path):
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS[:2])
    output = tmp_path / "oracle.jsonl"
    settings = SampleSettings(
        model="oracle-32b", base_url=server.base_url, oracle=True, n=16, temperature=0.9
    )
    summary = run(questions, output, settings=settings)
    assert [(b["n"], b["temperature"], b["top_p"], b["max_tokens"]) for b in server.requests] == [
        (1, 0.0, 1.0, 1024)
    ] * 2
    rows = read_samples(output)
    assert sorted((r["question_id"], r["model"], r["sample_index"], r["program"]) for r in rows) == [
        ("q1", "oracle-32b", 0, PROGRAMS[0]),
        ("q2", "oracle-32b", 0, PROGRAMS[0]),
    ]
    assert summary.samples == 2 and summary.settings["n"] == 1


def test_resume_sends_nothing_for_finished_questions(server, tmp_path):
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS)
    output = tmp_path / "samples.jsonl"
    run(questions, output, settings=settings_for(server, n=3))
    full = output.read_text()
    assert len(server.requests) == 3

    # finished: nothing is sent, even without the cache, and the file is unchanged
    summary = run(
        questions,
        output,
        settings=settings_for(server, n=3, cache_path=tmp_path / "fresh.sqlite"),
        resume=True,
    )
    assert len(server.requests) == 3
    assert (summary.already_done, summary.sampled, summary.samples, summary.requests) == (3, 0, 0, 0)
    assert output.read_text() == full

    # killed mid-question (two whole lines and a torn one lost): the cut question is
    # answered from the cache, and only its missing samples are written
    lines = full.splitlines(keepends=True)
    output.write_text("".join(lines[:-2]) + lines[-1][:10])
    summary = run(questions, output, settings=settings_for(server, n=3), resume=True)
    assert len(server.requests) == 3
    assert (summary.already_done, summary.sampled, summary.samples, summary.cache_hits) == (2, 1, 2, 3)
    assert sorted(output.read_text().splitlines()) == sorted(full.splitlines())

    # a larger n asks only for the new samples; another model appends to the same file
    summary = run(questions, output, settings=settings_for(server, n=4), resume=True)
    assert [b["n"] for b in server.requests[3:]] == [1, 1, 1] and summary.samples == 3
    run(questions, output, settings=SampleSettings(model="other", base_url=server.base_url, n=1), resume=True)
    rows = read_samples(output)
    assert len(rows) == 15 and sum(r["model"] == "other" for r in rows) == 3


def test_rerun_without_resume_rewrites_from_the_cache(server, tmp_path):
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS)
    output = tmp_path / "samples.jsonl"
    run(questions, output, settings=settings_for(server, n=2))
    summary = run(questions, output, settings=settings_for(server, n=2))
    assert len(server.requests) == 3 and summary.requests == 0 and summary.cache_hits == 6
    assert len(read_samples(output)) == 6


def test_down_endpoint_is_a_clean_error_and_keeps_what_was_written(server, tmp_path):
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS[:2])
    output = tmp_path / "samples.jsonl"
    run(questions, output, settings=settings_for(server, n=2))
    before = output.read_text()

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = SampleSettings(model="policy-7b", base_url=f"http://127.0.0.1:{port}/v1", n=2, max_retries=0)
    write_questions(questions, QUESTIONS)  # one more question to sample
    with pytest.raises(LLMError) as caught:
        run(questions, output, settings=down, resume=True)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "cannot reach the server" in message
    assert "rerun with resume" in message
    assert output.read_text() == before


class FakeBackend:
    """An in-memory LLMBackend: every sample is cut at max_tokens, and every other one is empty."""

    def __init__(self):
        self.model = "served-name"
        self.usage = Usage()
        self.seen = []

    async def generate(self, requests):
        self.seen += requests
        self.usage.requests += len(requests)
        return [
            ChatResult(
                request=r,
                choices=[
                    Choice(
                        "```python\ndef f():\n    return [" if i % 2 == 0 else "<think>hmm, maybe", "length"
                    )
                    for i in range(r.n)
                ],
            )
            for r in requests
        ]

    async def aclose(self):
        raise AssertionError("a backend passed in is the caller's to close")


def test_backend_passed_in_truncation_and_limit(tmp_path):
    backend = FakeBackend()
    assert isinstance(backend, LLMBackend)
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS)
    output = tmp_path / "samples.jsonl"
    summary = run(
        questions, output, settings=SampleSettings(model="policy-7b", n=4, limit=2), backend=backend
    )
    assert [r.messages for r in backend.seen] == [
        prompts.chat(q["question"], q["tests"]) for q in QUESTIONS[:2]
    ]
    rows = read_samples(output)
    assert {r["model"] for r in rows} == {"policy-7b"}
    code = "def f():\n    return ["  # the unterminated fence runs to the end
    assert sorted((r["question_id"], r["sample_index"], r["program"]) for r in rows) == [
        (q, i, code if i % 2 == 0 else "") for q in ("q1", "q2") for i in range(4)
    ]
    assert (summary.questions, summary.samples, summary.truncated, summary.empty_programs) == (2, 8, 8, 4)
    assert summary.requests == 2 and summary.cache == ""
    assert not (tmp_path / "samples.jsonl.cache.sqlite").exists()


def test_malformed_rows_are_skipped_and_counted_or_strict(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ACECODER_MAX_BAD_FRACTION", "1")  # 3 of 5 rows bad, on purpose
    rows = [
        QUESTIONS[0],
        "{not json",
        {"id": "q9", "source": "oss", "question": "no tests field"},
        dict(QUESTIONS[0], question="the same id again"),
        QUESTIONS[1],
    ]
    questions = write_questions(tmp_path / "questions.jsonl", rows)
    output = tmp_path / "samples.jsonl"
    summary = run(questions, output, settings=settings_for(server, n=1))
    assert (summary.questions, summary.skipped, summary.samples) == (2, 3, 2)
    assert [p.split(": ", 1)[0] for p in summary.problems] == [f"{questions}:{n}" for n in (2, 3, 4)]
    assert "tests" in summary.problems[1] and "unique" in summary.problems[2]

    with pytest.raises(InputError, match=r"questions\.jsonl:2: not valid JSON"):
        run(questions, tmp_path / "strict.jsonl", settings=settings_for(server, n=1), strict=True)
    assert len(server.requests) == 2  # nothing sent: every row is checked first


def test_settings_and_paths_are_checked_before_anything_runs(server, tmp_path):
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS)
    with pytest.raises(ConfigError, match=r"write .*\.jsonl|writes \.jsonl"):
        run(questions, tmp_path / "samples.parquet", settings=settings_for(server))
    with pytest.raises(ConfigError, match="also an input"):
        run(questions, questions, settings=settings_for(server))
    with pytest.raises(ConfigError, match="base_url"):
        run(questions, tmp_path / "s.jsonl", settings=SampleSettings(model="m"))
    for bad in (
        {"n": 0},
        {"top_p": 0.0},
        {"temperature": -1.0},
        {"pick": "first"},
        {"limit": 0},
        {"max_tokens": 0},
    ):
        with pytest.raises(ConfigError):
            run(questions, tmp_path / "s.jsonl", settings=settings_for(server, **bad))
    assert server.requests == [] and not (tmp_path / "s.jsonl").exists()


def test_faults_of_one_request_are_counted_and_the_stage_goes_on(tmp_path):
    """The fault-injecting stand-in (faults decided by each request, so the rerun meets the same
    ones): refused prompts are counted by reason and not asked again; transient faults (429,
    500, resets, hangs past the timeout, truncated JSON) are retried and lose nothing."""
    from acecoder.llm import FaultPlan

    plan = FaultPlan(permanent=0.15, transient=0.5, seed=3, hang=1.5)
    rows = [{"id": f"q{i}", "source": "oss", "question": f"Write add{i}(a, b).", "tests": []} for i in range(40)]
    questions = write_questions(tmp_path / "questions.jsonl", rows)
    output = tmp_path / "samples.jsonl"
    with StubServer(reply=reply, plan=plan) as stub:
        settings = settings_for(stub, n=1, timeout=0.5, concurrency=8)
        summary = run(questions, output, settings=settings)
        refused = {b["messages"][-1]["content"] for b in stub.requests if plan.draw(b)[0] < plan.permanent}
        assert refused and summary.failed == {"http_400": len(refused)}
        assert summary.sampled == 40 - len(refused) and len(read_samples(output)) == summary.sampled
        assert {e["reason"] for e in summary.failed_examples} == {"http_400"}
        assert summary.retries > 0 and stub.served > 40

        sent = stub.served
        again = run(questions, output, settings=settings, resume=True)
        assert stub.served == sent  # the refusals are recorded: not paid for twice
        assert again.failed == {"http_400": len(refused)} and again.already_done == 40 - len(refused)
        retried = run(questions, output, settings=settings_for(stub, n=1, timeout=0.5, retry_failed=True), resume=True)
        assert stub.served == sent + len(refused) and retried.failed == {"http_400": len(refused)}


def test_an_endpoint_that_keeps_failing_stops_the_stage(server, tmp_path):
    from acecoder.llm import Fault

    rows = [{"id": f"q{i}", "source": "oss", "question": f"Write add{i}(a, b).", "tests": []} for i in range(40)]
    questions = write_questions(tmp_path / "questions.jsonl", rows)
    server.faults.extend(Fault(status=503) for _ in range(1000))
    with pytest.raises(LLMError, match="requests in a row failed like this") as caught:
        run(questions, tmp_path / "samples.jsonl", settings=settings_for(server, n=1, max_retries=0))
    assert caught.value.kind == "transient" and "rerun with resume" in str(caught.value)


def test_a_bad_key_stops_the_stage_at_once(server, tmp_path):
    from acecoder.llm import Fault

    server.faults.append(Fault(status=401, body={"error": {"message": "invalid api key"}}))
    questions = write_questions(tmp_path / "questions.jsonl", QUESTIONS[:1])
    with pytest.raises(LLMError, match="invalid api key") as caught:
        run(questions, tmp_path / "samples.jsonl", settings=settings_for(server, n=1))
    assert caught.value.kind == "endpoint" and server.served == 1
