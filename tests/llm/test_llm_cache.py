"""The response cache: keys, persistence, and first-answer-wins."""

from acecoder.llm import ChatRequest, Choice, ResponseCache, request_key

USER = [{"role": "user", "content": "q"}]


def test_key_depends_on_what_changes_the_answer_and_not_on_n():
    base = ChatRequest(messages=USER, n=1, temperature=0.7)
    assert request_key("m", base) == request_key("m", ChatRequest(messages=tuple(USER), n=16, temperature=0.7))
    others = [
        request_key("m2", base),
        request_key("m", ChatRequest(messages=USER, temperature=1.0)),
        request_key("m", ChatRequest(messages=USER, temperature=0.7, seed=1)),
        request_key("m", ChatRequest(messages=USER, temperature=0.7, max_tokens=10)),
        request_key("m", ChatRequest(messages=[{"role": "user", "content": "q2"}], temperature=0.7)),
        request_key("m", base, {"top_k": 20}),
    ]
    assert len({request_key("m", base), *others}) == 7


def test_samples_persist_and_the_first_answer_stays(tmp_path):
    path = tmp_path / "sub" / "cache.sqlite"
    cache = ResponseCache(path)
    cache.put("k", {0: Choice("a", "stop"), 2: Choice("c", "length")})
    cache.put("k", {0: Choice("other", "stop")})
    cache.close()
    again = ResponseCache(path)
    assert again.get("k", 3) == {0: Choice("a", "stop", cached=True), 2: Choice("c", "length", cached=True)}
    assert again.get("k", 1) == {0: Choice("a", "stop", cached=True)} and again.get("x", 5) == {}
    assert len(again) == 2
