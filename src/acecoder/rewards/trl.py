"""TRL adapter: reward functions for `trl.GRPOTrainer`.

GRPOTrainer calls each reward function once per generation batch as
`fn(prompts=..., completions=..., completion_ids=..., **columns)`, where `columns`
holds every dataset column repeated per completion - here `tests` (the column
`acecoder hard-subset --format trl` writes) - plus `log_metric`, which adds a scalar
to the trainer's logs. Functions may be async; TRL awaits those together, so the
programs run while the reward model scores.

    from acecoder.rewards import TestReward
    from acecoder.rewards.trl import test_reward_func

    reward = TestReward(kind="binary")
    trainer = GRPOTrainer(model=..., reward_funcs=[test_reward_func(reward)], train_dataset=dataset, ...)

The test reward logs, per batch: `acecoder/pass_rate` (mean over completions),
`acecoder/all_pass` (fraction of completions passing every test),
`acecoder/all_pass_groups` and `acecoder/all_fail_groups` (fraction of prompts whose
completions all pass every test / of which none does: no signal for the binary reward),
`acecoder/zero_std_groups` (fraction of prompts whose test rewards are all equal), `acecoder/format_ok` and
`acecoder/reward_seconds`. `AllRanksNormalized` normalises a reward model's scores with the statistics of every
process's completions. Nothing heavy is imported here: TRL itself is not needed
to build the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from acecoder.rewards._combined import parse_suite, parse_tests
from acecoder.rewards._model import ModelReward, normalize_scores
from acecoder.rewards._rule import RuleScores, TestReward


def group_fractions(keys: Sequence, passed: Sequence[bool]) -> tuple[float, float]:
    """(fraction of groups where every completion passed, fraction where none did);
    a group is the completions of one prompt (equal keys)."""
    groups: dict = {}
    for key, ok in zip(keys, passed):
        groups.setdefault(key, []).append(ok)
    if not groups:
        return 0.0, 0.0
    all_pass = sum(all(g) for g in groups.values()) / len(groups)
    all_fail = sum(not any(g) for g in groups.values()) / len(groups)
    return all_pass, all_fail


def zero_std_fraction(keys: Sequence, rewards: Sequence[float | None]) -> float:
    """The fraction of groups whose rewards are all equal (no signal under a group baseline)."""
    groups: dict = {}
    for key, reward in zip(keys, rewards):
        groups.setdefault(key, set()).add(reward)
    return sum(len(g) == 1 for g in groups.values()) / len(groups) if groups else 0.0


def batch_metrics(scores: RuleScores, keys: Sequence) -> dict[str, float]:
    """The per-step numbers of one scored batch (see the module docstring)."""
    n = max(len(scores.results), 1)
    all_pass, all_fail = group_fractions(keys, scores.all_passed)
    return {
        "acecoder/zero_std_groups": zero_std_fraction(keys, scores.rewards),
        "acecoder/pass_rate": sum(scores.pass_rates) / n,
        "acecoder/all_pass": sum(scores.all_passed) / n,
        "acecoder/all_pass_groups": all_pass,
        "acecoder/all_fail_groups": all_fail,
        "acecoder/format_ok": sum(scores.format_ok) / n,
        "acecoder/reward_seconds": scores.seconds,
        "acecoder/unscored": float(sum(r is None for r in scores.rewards)),
    }


def _keys(prompts, kwargs) -> list:
    ids = kwargs.get("id")
    return list(ids) if ids is not None else [repr(p) for p in prompts]


def _tests(tests, column: str) -> list[list[str]]:
    return [parse_tests(t, where=f"column {column!r}, row {i}") for i, t in enumerate(tests)]


def _suites(kwargs: dict, column: str) -> tuple[list[list[str]], list | None]:
    """Each row's tests and, from the `limits` column where the dataset has one, their limits."""
    tests = _tests(kwargs[column], column)
    limits = kwargs.get("limits")
    if limits is None:
        return tests, None
    return tests, [parse_suite({"tests": t, "limits": s}, where=f"column 'limits', row {i}")[1]
                   if s is not None else None for i, (t, s) in enumerate(zip(tests, limits))]


class TestRewardFunc:
    """A GRPOTrainer reward function: the rule reward of each completion on the
    tests of its row. Build it with `test_reward_func`."""

    __test__ = False

    def __init__(self, reward: TestReward, *, column: str = "tests", name: str = "test_reward"):
        self.reward, self.column, self.__name__ = reward, column, name
        self.last: RuleScores | None = None

    def __call__(self, prompts, completions, log_metric=None, **kwargs) -> list[float | None]:
        self.last = self.reward.evaluate(completions, *_suites(kwargs, self.column))
        if log_metric is not None:
            for name, value in batch_metrics(self.last, _keys(prompts, kwargs)).items():
                log_metric(name, value)
        return self.last.rewards


class AsyncTestRewardFunc(TestRewardFunc):
    """The same, as a coroutine: TRL runs it on its event loop beside other async
    reward functions (the reward model), so both score at once."""

    async def __call__(self, prompts, completions, log_metric=None, **kwargs) -> list[float | None]:
        self.last = await self.reward.aevaluate(completions, *_suites(kwargs, self.column))
        if log_metric is not None:
            for name, value in batch_metrics(self.last, _keys(prompts, kwargs)).items():
                log_metric(name, value)
        return self.last.rewards


class ModelRewardFunc:
    """A GRPOTrainer reward function: the normalised reward-model score (async)."""

    def __init__(self, reward: ModelReward, *, column: str = "tests", name: str = "model_reward"):
        self.reward, self.column, self.__name__ = reward, column, name

    async def __call__(self, prompts, completions, **kwargs) -> list[float]:
        tests = kwargs.get(self.column)
        tests = _tests(tests, self.column) if tests is not None else None
        return await self.reward.ascore(prompts, completions, tests)


def test_reward_func(reward: TestReward, *, column: str = "tests", asynchronous: bool = False) -> TestRewardFunc:
    """The rule reward as a GRPOTrainer reward function reading the `column` of each row."""
    return (AsyncTestRewardFunc if asynchronous else TestRewardFunc)(reward, column=column)


def model_reward_func(reward: ModelReward, *, column: str = "tests") -> ModelRewardFunc:
    """The reward-model reward as a GRPOTrainer reward function (combine it with the
    test reward through GRPOConfig's `reward_weights`)."""
    return ModelRewardFunc(reward, column=column)


test_reward_func.__test__ = False  # not a pytest function


class AllRanksNormalized:
    """A GRPOTrainer reward function: another one's raw scores, normalised by the mean and
    std of the scores of every process (running or per rollout), clipped to [-5, 5].

    GRPOTrainer calls reward functions on each process with that process's completions and
    gathers the rewards afterwards; normalising before the gather would give each process
    its own statistics, so the same score would become different rewards on different
    GPUs. Here the raw scores are gathered first: every process computes the same
    statistics from the same numbers, as one process scoring the whole rollout would."""

    CLIP = 5.0  # ModelReward's default bound: one outlier cannot dominate a batch

    def __init__(self, raw, *, normalize: str = "running"):
        from acecoder.rewards import RunningStats

        self.raw, self.normalize, self.__name__ = raw, normalize, getattr(raw, "__name__", "model_reward")
        self.stats = RunningStats()

    async def __call__(self, prompts, completions, **kwargs) -> list[float]:
        import asyncio

        from acecoder._distributed import gather_floats

        scores = list(await self.raw(prompts, completions, **kwargs))
        if self.normalize == "none":
            rewards = scores
        else:
            # in a worker thread: the event loop keeps scoring other rewards while ranks meet
            everyone = [s for share in await asyncio.to_thread(gather_floats, scores) for s in share]
            if self.normalize == "running":
                self.stats.update(everyone)
                mean, std = self.stats.mean, self.stats.std
            else:  # batch: this rollout's completions on every process
                mean = sum(everyone) / len(everyone)
                std = math.sqrt(sum((s - mean) ** 2 for s in everyone) / len(everyone))
            rewards = normalize_scores(scores, mean, std)
        return [max(-self.CLIP, min(self.CLIP, r)) for r in rewards]
