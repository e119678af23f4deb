"""Stage `synth` end to end against a local OpenAI-compatible stub server (real sockets, no model)."""

import json
import socket

import pytest

from acecoder.errors import ConfigError, InputError
from acecoder.llm import ChatResult, Choice, LLMError, StubServer, Usage
from acecoder.stages import synth
from acecoder.stages.synth import SynthSettings

AREA = "def area(w, h):\n    return w * h"
REVERSE = "def reverse_words(s):\n    return ' '.join(s.split()[::-1])"
CLAMP = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))"
STACK = "def chunk(items, size):\n    # split a list into pieces of at most `size` items\n    return [items[i:i + size] for i in range(0, len(items), size)]\n"

# What the "model" answers, chosen by the function name in the prompt.
ANSWERS = {
    "def area": json.dumps(
        {"question": "Write area(w, h).", "tests": ["assert area(2, 3) == 6", "assert area(0, 5) == 0", "assert area(1, 1) == 1"]}
    ),
    "def reverse_words": "Sure! Here is the exercise.\n```json\n"
    + json.dumps(
        {
            "question": "Write reverse_words(s).",
            "tests": ["assert reverse_words('a b') == 'b a'", "assert reverse_words('a  b') == 'b a'", "print(reverse_words('x'))",
                      "assert reverse_words('a b')=='b a'"],
        }
    )
    + "\n```\nThe tests cover spacing.",
    "def clamp": '{"question": "Write clamp(x, lo, hi).", "tests": ["assert clamp(5, 0, 3) == 3", "assert clamp(-1, 0, 3) == 0", "assert clamp(2, 0',
    "def chunk": "I'm sorry, I can't produce that format.",
}


def reply(body: dict, index: int) -> str:
    prompt = body["messages"][-1]["content"]
    return next(text for marker, text in ANSWERS.items() if marker in prompt)


def fence(code: str) -> str:
    return f"Here is a solution.\n```python\n{code}\nprint('done')\n```"


@pytest.fixture
def seeds(tmp_path):
    path = tmp_path / "seeds.jsonl"
    rows = [
        {"instruction": "Compute the area.", "response": fence(AREA)},
        {"instruction": "Reverse the words.", "response": fence(REVERSE)},
        {"lang": "python", "problem": "Clamp a value.", "solution": fence(CLAMP)},
        {"content": STACK},
        {"instruction": "Explain recursion.", "response": "Recursion is when a function calls itself."},
    ]
    lines = [json.dumps(row) for row in rows]
    lines.insert(4, "{broken")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def server():
    with StubServer(reply=reply) as stub:
        yield stub


def settings(server, **overrides) -> SynthSettings:
    return SynthSettings(model="stub-4o", base_url=server.base_url, **overrides)


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_end_to_end(seeds, server, tmp_path):
    out = tmp_path / "questions.jsonl"
    events = []

    class Progress:
        def total(self, n):
            events.append(("total", n))

        def advance(self, item):
            events.append(("advance", item.id))

    summary = synth.run(seeds, out, settings=settings(server, concurrency=2), progress=Progress())

    rows = read(out)
    assert [row["id"] for row in rows] == ["evol_0", "evol_1", "oss_2"]  # the garbage answer gave none
    first = rows[0]
    assert first["source"] == "evol" and first["question"] == "Write area(w, h)."
    assert first["tests"] == ["assert area(2, 3) == 6", "assert area(0, 5) == 0", "assert area(1, 1) == 1"]
    assert first["reference"] == AREA  # the print line dropped (§1)
    assert first["metadata"] == {
        "seed_instruction": "Compute the area.",
        "model": "stub-4o",
        "temperature": 0.7,
        "finish_reason": "stop",
        "dropped_tests": {},
        "repairs": [],
    }
    assert rows[1]["tests"] == ["assert reverse_words('a b') == 'b a'", "assert reverse_words('a  b') == 'b a'"]
    assert rows[1]["metadata"]["dropped_tests"] == {"duplicate": 1, "no_assert": 1}
    assert rows[1]["metadata"]["repairs"] == ["fence"]
    assert rows[2]["source"] == "oss" and rows[2]["tests"] == ["assert clamp(5, 0, 3) == 3", "assert clamp(-1, 0, 3) == 0"]
    assert rows[2]["metadata"]["dropped_tests"] == {"truncated": 1}

    assert summary.rows == 6 and summary.seeds == 4
    assert summary.to_dict()["seed_drops"] == {"bad_row": 1, "no_code_block": 1}
    assert summary.skipped_rows == [f"{seeds}:5: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"]
    assert summary.requested == 4 and summary.written == 3 and summary.tests_written == 7
    assert summary.mean_tests == pytest.approx(7 / 3)
    assert summary.failed == {"no_json": 1} and summary.failed_examples[0]["id"] == "stack_3"
    assert summary.test_drops == {"duplicate": 1, "no_assert": 1, "truncated": 1}
    assert summary.to_dict()["repairs"] == {"fence": 1, "truncated": 1}
    assert summary.usage["requests"] == 4 and summary.usage["cache_hits"] == 0
    assert summary.usage["completion_tokens"] > 0
    assert events[0] == ("total", 4) and [e[1] for e in events[1:]] == ["evol_0", "evol_1", "oss_2", "stack_3"]

    # the request: the prompt with the seed, JSON mode, the paper's temperature
    body = next(b for b in server.requests if "def area" in b["messages"][0]["content"])
    assert body["temperature"] == 0.7 and body["max_tokens"] == 2048 and "seed" not in body
    assert body["response_format"] == {"type": "json_object"} and "Compute the area." in body["messages"][0]["content"]
    assert (tmp_path / "questions.jsonl.cache.sqlite").exists()
    json.dumps(summary.to_dict())  # serialisable


def test_a_sampling_seed_goes_with_every_request(seeds, server, tmp_path):
    synth.run(seeds, tmp_path / "questions.jsonl", settings=settings(server, sampling_seed=7))
    assert server.requests and all(body["seed"] == 7 for body in server.requests)


def test_resume_and_rerun_send_no_request(seeds, server, tmp_path):
    out = tmp_path / "questions.jsonl"
    synth.run(seeds, out, settings=settings(server))
    first = out.read_bytes()
    sent = len(server.requests)

    again = synth.run(seeds, out, settings=settings(server), resume=True)
    assert len(server.requests) == sent  # written ones skipped, the failed one from the cache
    assert again.already_done == 3 and again.requested == 1 and again.written == 0
    assert again.usage["cache_hits"] == 1 and again.usage["requests"] == 0
    assert out.read_bytes() == first

    # a torn last line (a kill in the middle of a write) is redone, from the cache
    out.write_bytes(first[:-20])
    synth.run(seeds, out, settings=settings(server), resume=True)
    assert out.read_bytes() == first and len(server.requests) == sent

    # without resume the output is rewritten, still from the cache, byte for byte
    synth.run(seeds, out, settings=settings(server, concurrency=1))
    assert out.read_bytes() == first and len(server.requests) == sent


def test_min_tests_limit_and_forced_source(seeds, server, tmp_path):
    out = tmp_path / "q.jsonl"
    summary = synth.run(seeds, out, settings=settings(server, min_tests=3, limit=3))
    assert [row["id"] for row in read(out)] == ["evol_0"]
    assert summary.failed == {"too_few_tests": 2} and summary.seeds == 3


def test_down_endpoint_is_a_clean_llm_error(seeds, tmp_path):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "q.jsonl"
    down = SynthSettings(model="m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(LLMError, match="cannot reach the server") as caught:
        synth.run(seeds, out, settings=down)
    assert "stopped after 0 new questions" in str(caught.value) and "resume" in str(caught.value)
    assert out.exists() and out.read_text() == ""


def test_a_refused_request_is_the_seed_s_and_the_run_goes_on(seeds, server, tmp_path):
    from acecoder.llm import Fault

    out = tmp_path / "q.jsonl"
    # a 400 (a prompt over the context, say) is recorded for its seed; the others are written
    server.faults.append(Fault(status=400, body={"error": {"message": "too long"}}))
    summary = synth.run(seeds, out, settings=settings(server, concurrency=1))
    assert summary.failed_requests == {"http_400": 1} and summary.written == 2
    assert summary.failed_request_examples[0]["id"] == "evol_0" and "too long" in summary.failed_request_examples[0]["message"]
    sent = len(server.requests)
    again = synth.run(seeds, out, settings=settings(server, concurrency=1), resume=True)
    assert len(server.requests) == sent and again.failed_requests == {"http_400": 1}  # not paid for twice
    retried = synth.run(seeds, out, settings=settings(server, concurrency=1, retry_failed=True), resume=True)
    assert len(server.requests) == sent + 1 and retried.written == 1
    assert [row["id"] for row in read(out)] == ["evol_1", "oss_2", "evol_0"]


def test_markdown_and_a_fenced_block_of_asserts_is_a_question_too(tmp_path):
    from acecoder.synth.parse import parse_response

    answer = (
        "### Question\n\nWrite a function `add(a, b)` that returns the sum of two integers.\n\n"
        "### Tests\n\n```python\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n"
        "assert add(0, 0) == 0\n```\n"
    )
    parsed = parse_response(answer)
    assert parsed.ok and parsed.tests == ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]
    assert parsed.question == "Write a function `add(a, b)` that returns the sum of two integers."


class FakeBackend:
    """Any LLMBackend works: no HTTP at all."""

    model = "fake"

    def __init__(self):
        self.usage = Usage()

    async def generate(self, requests):
        return [ChatResult(request=r, choices=[Choice(reply({"messages": r.messages}, 0), "length")]) for r in requests]

    async def aclose(self):
        pass


def test_any_backend(seeds, tmp_path):
    summary = synth.run(seeds, tmp_path / "q.jsonl", settings=SynthSettings(model="fake"), backend=FakeBackend())
    assert summary.written == 3 and summary.cut_by_token_limit == 4


def test_refusals_before_any_request(seeds, server, tmp_path):
    with pytest.raises(ConfigError, match="jsonl"):
        synth.run(seeds, tmp_path / "q.parquet", settings=settings(server))
    with pytest.raises(ConfigError, match="also an input"):
        synth.run(seeds, seeds, settings=settings(server))
    with pytest.raises(ConfigError, match="base_url"):
        synth.run(seeds, tmp_path / "q.jsonl", settings=SynthSettings(model="m"))
    with pytest.raises(ConfigError, match="source"):
        synth.run(seeds, tmp_path / "q.jsonl", settings=settings(server, source="github"))
    with pytest.raises(ConfigError, match="min_tests"):
        synth.run(seeds, tmp_path / "q.jsonl", settings=settings(server, min_tests=0))
    with pytest.raises(InputError, match=r"seeds.jsonl:5"):
        synth.run(seeds, tmp_path / "q.jsonl", settings=settings(server), strict=True)
    assert server.requests == []


def test_expected_values_from_the_seed_program(tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"instruction": "Compute the area.", "response": fence(AREA)}) + "\n")
    wrong = {"question": "Write area(w, h).",
             "tests": ["assert area(2, 3) == 6", "assert area(2, 5) == 12", "assert area('a', 'b') == 1"]}
    with StubServer(reply=lambda body, index: json.dumps(wrong)) as stub:
        out = tmp_path / "questions.jsonl"
        summary = synth.run(seeds, out, settings=settings(stub, expected_from_reference=True, min_tests=2))
    (row,) = read(out)
    # the wrong value takes the seed program's; the test it cannot run (str * str) is dropped
    assert row["tests"] == ["assert area(2, 3) == 6", "assert area(2, 5) == 10"]
    assert summary.to_dict()["expected_from_reference"] == {"dropped": 1, "rewritten": 1}
