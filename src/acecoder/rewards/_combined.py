"""One reward for frameworks that take a single score: the rule reward, the
reward-model reward, or their weighted sum; and reading tests from any column.

TRL combines several reward functions itself (`reward_weights`), so its adapter
passes the parts separately; verl's `compute_score` and OpenRLHF's remote reward
take one number per completion, which `CombinedReward` gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from acecoder.data.suites import read_suite
from acecoder.errors import ConfigError, InputError
from acecoder.records import TestSuite
from acecoder.rewards._model import ModelReward, combine
from acecoder.rewards._rule import RuleScores, TestReward


def parse_tests(value, *, where: str = "tests") -> list[str] | TestSuite:
    """A question's tests from a column (see `parse_suite`), without their limits."""
    return parse_suite(value, where=where)[0]


def parse_suite(value, *, where: str = "tests", rule=None) -> tuple[list[str] | TestSuite, list[float] | None]:
    """(tests, seconds per test or None) from a column, in any layout
    `acecoder.data.suites.read_suite` reads: a list of assert strings (returned as it is),
    {"tests": [...], "limits": [...]}, APPS/TACO's {"inputs", "outputs"[, "fn_name"]},
    KodCode's pytest file, or the JSON text of any (verl's `reward_model.ground_truth`)."""
    return read_suite(value, where=where, rule=rule)


class CombinedReward:
    """test_weight * rule reward + model_weight * normalised reward-model reward.

        reward = CombinedReward(test=TestReward(), model=ModelReward(rm), test_weight=1.0, model_weight=0.5)
        rewards = reward.score(prompts, completions, tests)
    """

    def __init__(
        self,
        *,
        test: TestReward | None = None,
        model: ModelReward | None = None,
        test_weight: float = 1.0,
        model_weight: float = 1.0,
    ):
        if test is None and model is None:
            raise ConfigError("a reward needs the test reward, the reward model, or both")
        self.test, self.model = test, model
        self.test_weight, self.model_weight = float(test_weight), float(model_weight)

    def score(self, prompts: Sequence, completions: Sequence, tests: Sequence[Sequence[str]] | None,
              limits=None) -> list[float | None]:
        parts = []
        if self.test is not None:
            if tests is None:
                raise InputError("the test reward needs each completion's tests")
            parts.append((self.test_weight, self.test.evaluate(completions, tests, limits).rewards))
        if self.model is not None:
            parts.append((self.model_weight, self.model.score(prompts, completions, tests)))
        return combine(parts)

    async def aevaluate(self, prompts: Sequence, completions: Sequence, tests,
                        limits=None) -> tuple[list[float | None], RuleScores | None]:
        """The rewards and the rule reward's verdicts (None without a test reward),
        for asyncio callers: the programs run while the model scores. `limits`: each
        completion's test limits, or None (see `TestReward.evaluate`)."""
        jobs = []
        if self.test is not None:
            if tests is None:
                raise InputError("the test reward needs each completion's tests")
            jobs.append(self.test.aevaluate(completions, tests, limits))
        if self.model is not None:
            jobs.append(self.model.ascore(prompts, completions, tests))
        done = list(await asyncio.gather(*jobs))
        parts, rule = [], None
        if self.test is not None:
            rule = done.pop(0)
            parts.append((self.test_weight, rule.rewards))
        if self.model is not None:
            parts.append((self.model_weight, done.pop(0)))
        return combine(parts), rule

    async def ascore(self, prompts: Sequence, completions: Sequence, tests) -> list[float | None]:
        return (await self.aevaluate(prompts, completions, tests))[0]

    def close(self) -> None:
        if self.test is not None:
            self.test.close()
