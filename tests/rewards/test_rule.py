"""The rule reward on the real execution engine: values pinned by hand, hostile programs bounded."""

import asyncio
import subprocess
import sys
import time

import pytest

from acecoder.errors import ConfigError
from acecoder.rewards import TestReward, format_ok, program_of

TESTS = ["assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(-1, 1) == 0", "assert add(0, 5) == 5"]
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
HALF = "```python\ndef add(a, b):\n    return 3 if a == 1 else a * b\n```"  # passes tests 1 and 2 only
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"  # passes no test
HANG = "```python\ndef add(a, b):\n    while True:\n        pass\n```"
CRASH = "```python\nimport os\ndef add(a, b):\n    os._exit(3)\n```"
SYNTAX = "```python\ndef add(a, b)\n    return a + b\n```"


@pytest.fixture(scope="module")
def engine():
    from acecoder.execution import Engine

    with Engine(workers=2, timeout=1.5) as engine:
        yield engine


def test_the_three_kinds_by_hand(engine):
    completions = [RIGHT, HALF, WRONG, SYNTAX]
    tests = [TESTS] * 4
    # HALF: add(1,2)=3 pass, add(2,2)=4 pass, add(-1,1)=-1 fail, add(0,5)=0 fail -> 2/4
    # WRONG: -1, 0, -2, -5 -> 0/4; SYNTAX: no test runs -> 0/4
    assert TestReward(engine=engine, kind="binary").score(completions, tests) == [1.0, 0.0, 0.0, 0.0]
    assert TestReward(engine=engine, kind="pass_rate").score(completions, tests) == [1.0, 0.5, 0.0, 0.0]
    assert TestReward(engine=engine, kind="signed").score(completions, tests) == [1.0, -1.0, -1.0, -1.0]
    with pytest.raises(ConfigError, match="reward kind 'exact' is unknown"):
        TestReward(kind="exact")


def test_each_completion_on_its_own_tests_and_duplicates_run_once(engine):
    reward = TestReward(engine=engine)
    scores = reward.evaluate([RIGHT, RIGHT, RIGHT, WRONG], [TESTS, TESTS, ["assert add(1, 1) == 3"], TESTS])
    assert scores.rewards == [1.0, 1.0, 0.0, 0.0]
    assert scores.programs_run == 3  # the two identical (program, tests) pairs ran once
    with pytest.raises(ValueError, match="2 completions but 1 test lists"):
        reward.score([RIGHT, RIGHT], [TESTS])


def test_a_hanging_and_a_crashing_program_cost_only_their_limit(engine):
    reward = TestReward(engine=engine)
    started = time.monotonic()
    scores = reward.evaluate([HANG, CRASH, RIGHT, HANG], [TESTS[:2], TESTS, TESTS, TESTS[:2]])
    elapsed = time.monotonic() - started
    assert scores.rewards == [0.0, 0.0, 1.0, 0.0]
    assert scores.results[0].outcomes == ["timeout"] * 2 and scores.results[1].outcomes[0] == "crashed"
    # one hang: 2 tests x 1.5 s on one of two workers (the duplicate runs once); generous bound for a loaded machine
    assert elapsed < 15


def test_a_rows_limits_bound_each_test(engine):
    """Limits from the dataset (the oracle's times): a loop pays its row's limit, not the
    engine's 1.5 s; the same program under other limits is another job."""
    reward = TestReward(engine=engine)
    started = time.monotonic()
    scores = reward.evaluate([HANG, HANG, RIGHT], [TESTS[:2]] * 3, [[0.1, 0.1], None, [0.1, 0.1]])
    assert scores.rewards == [0.0, 0.0, 1.0] and scores.programs_run == 3
    assert all(t < 1.0 for t in scores.results[0].test_cpu_seconds)
    assert all(t > 1.4 for t in scores.results[1].test_cpu_seconds)
    assert time.monotonic() - started < 15


def test_async_scoring_lets_other_work_go_on(engine):
    reward = TestReward(engine=engine)

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        rewards = await reward.ascore([HANG, RIGHT], [TESTS[:1], TESTS])
        task.cancel()
        return rewards, ticks

    rewards, ticks = asyncio.run(main())
    assert rewards == [0.0, 1.0] and ticks >= 10  # the loop ran during the 1.5 s hang


def test_r1_format_and_extraction():
    r1 = "<think>\nadd the numbers\n</think>\n```python\ndef add(a, b):\n    return a + b\n```"
    assert format_ok(r1) and format_ok("reasoning</think>\n<answer>\n```python\nx = 1\n```\n</answer>")
    assert not format_ok(RIGHT)  # no reasoning
    assert not format_ok("<think></think>```python\nx = 1\n```")  # empty reasoning
    assert not format_ok("<think>a</think>\n```python\nx = 1\n```\nmore words")  # text after the answer
    assert not format_ok("<think>a</think><think>b</think>```python\nx = 1\n```")
    # the reasoning's own code blocks are not the answer
    tricky = "<think>maybe\n```python\ndef add(a, b):\n    return 0\n```\n</think>\n" + RIGHT
    assert program_of(tricky) == "def add(a, b):\n    return a + b"
    assert program_of("<think>x</think><answer>def f():\n    return 1</answer>") == "def f():\n    return 1"
    assert program_of([{"role": "assistant", "content": RIGHT}]) == "def add(a, b):\n    return a + b"
    # a reasoning cut off by the length limit holds draft code, not an answer
    truncated = "<think>first a draft\n" + RIGHT + "\nthen check it"
    assert program_of(truncated) == "" and not format_ok(truncated)
    assert program_of("<think>a</think>" + RIGHT + "<think>more") == ""  # a second reasoning left open


def test_an_unclosed_think_scores_0(engine):
    reward = TestReward(engine=engine, kind="binary", format_weight=0.1)
    assert reward.score(["<think>draft\n" + RIGHT, "<think>done</think>\n" + RIGHT], [TESTS] * 2) == [0.0, 1.1]


def test_format_term_adds_its_weight(engine):
    r1_right = "<think>sum</think>\n" + RIGHT
    reward = TestReward(engine=engine, kind="binary", format_weight=0.1)
    assert reward.score([r1_right, RIGHT, "<think>sum</think>\n" + WRONG], [TESTS] * 3) == [1.1, 1.0, 0.1]


def test_a_broken_sandbox_is_restarted_and_the_batch_retried():
    reward = TestReward(workers=1, timeout=1.0)
    assert reward.score([RIGHT], [TESTS]) == [1.0]
    reward.engine.close()  # as if the sandbox died under the run
    assert reward.score([RIGHT], [TESTS]) == [1.0]
    reward.close()


def test_importing_rewards_loads_nothing_heavy():
    probe = (
        "import sys, acecoder.rewards, acecoder.rewards.trl, acecoder.rewards.verl, acecoder.rewards.openrlhf, "
        "acecoder.stages.rl; print(sorted(m for m in ('torch', 'transformers', 'trl', 'fastapi', 'uvicorn', "
        "'numpy', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_public_names():
    import acecoder.rewards

    assert set(acecoder.rewards.__all__) == {
        "KINDS", "R1_SYSTEM_PROMPT", "CombinedReward", "ModelReward", "RuleScores", "RunningStats", "TestReward",
        "combine", "completion_text", "format_ok", "parse_tests", "program_of", "question_from_prompt",
    }
    assert all(hasattr(acecoder.rewards, name) for name in acecoder.rewards.__all__)
