"""Rewards for RL on code: the rule reward from synthesized tests, run in the
sandboxed execution engine, and the reward-model reward, normalised; plus thin
adapters for TRL (`acecoder.rewards.trl`), verl (`acecoder.rewards.verl`) and
OpenRLHF (`acecoder.rewards.openrlhf`).

    from acecoder.rewards import TestReward

    with TestReward(kind="binary", timeout=3.0) as reward:
        rewards = reward.score(completions, tests)   # tests[i]: the asserts of completion i

Importing this package loads no heavy dependency (the adapters import theirs
inside their functions).
"""

from acecoder.rewards._combined import CombinedReward, parse_tests
from acecoder.rewards._model import ModelReward, RunningStats, combine, question_from_prompt
from acecoder.rewards._rule import (
    KINDS,
    R1_SYSTEM_PROMPT,
    RuleScores,
    TestReward,
    completion_text,
    format_ok,
    program_of,
)

__all__ = [
    "KINDS",
    "R1_SYSTEM_PROMPT",
    "CombinedReward",
    "ModelReward",
    "RuleScores",
    "RunningStats",
    "TestReward",
    "combine",
    "completion_text",
    "format_ok",
    "parse_tests",
    "program_of",
    "question_from_prompt",
]
