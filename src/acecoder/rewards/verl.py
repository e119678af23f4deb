"""verl adapter: a `compute_score` module for verl's custom reward function.

verl imports a module and calls a function in it. verl 0.7 and later (tested with 0.9.1:
its reward loop calls `compute_score` once per sample, in `reward.num_workers` actors):

    reward.custom_reward_function.path=pkg://acecoder.rewards.verl
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.kind=binary    # options below, all optional

verl 0.4 to 0.6 (the legacy managers; `batch` scores a whole rollout in one call):

    reward_model.reward_manager=batch
    custom_reward_function.path=$(python -c 'import acecoder.rewards.verl as m; print(m.__file__)')
    custom_reward_function.name=compute_score_batch

The data is what `acecoder hard-subset --format verl` writes: the tests travel
JSON-encoded in `reward_model.ground_truth`, which verl hands over as
`ground_truth`: {"tests": [...], "limits": [...]} (each test's CPU seconds, from the
oracle's time on it), or a plain list of tests (older exports: `timeout` for each). Options (verl's `reward_kwargs`): `kind` ("binary", "pass_rate",
"signed"), `format_weight` (the R1 format term), `timeout` (seconds per test),
`workers` (sandbox processes). One engine per set of options serves every call of
the process (each reward-loop actor has its own) and is closed at exit.
"""

from __future__ import annotations

import atexit
import threading

from acecoder.rewards._combined import parse_suite
from acecoder.rewards._rule import TestReward

_REWARDS: dict[tuple, TestReward] = {}
_LOCK = threading.Lock()


def _reward(kind: str = "binary", format_weight: float = 0.0, timeout: float = 3.0, workers: int | None = None) -> TestReward:
    key = (kind, float(format_weight), float(timeout), workers)
    with _LOCK:
        if key not in _REWARDS:
            _REWARDS[key] = TestReward(kind=kind, format_weight=format_weight, timeout=timeout, workers=workers)
        return _REWARDS[key]


@atexit.register
def close() -> None:
    """Stop the sandbox workers (also done at interpreter exit)."""
    with _LOCK:
        rewards = list(_REWARDS.values())
        _REWARDS.clear()
    for reward in rewards:
        reward.close()


def _details(scores, i: int) -> dict:
    result = scores.results[i]
    reward = scores.rewards[i]
    return {
        "score": 0.0 if reward is None else reward,  # verl needs a number; an unscorable program gets 0
        "pass_rate": result.pass_rate if result is not None else 0.0,
        "all_passed": float(result is not None and result.all_passed),
        "format_ok": float(scores.format_ok[i]) if scores.format_ok else 0.0,
    }


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **options) -> dict:
    """One completion's reward: {"score", "pass_rate", "all_passed", "format_ok"}
    (verl logs the extra keys). `options`: see the module docstring."""
    tests, limits = parse_suite(ground_truth, where="reward_model.ground_truth")
    scores = _reward(**options).evaluate([solution_str], [tests], [limits])
    return _details(scores, 0)


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, **options) -> list[dict]:
    """The rewards of a whole batch in one call (verl's `batch` reward manager)."""
    suites = [parse_suite(g, where=f"reward_model.ground_truth of item {i}") for i, g in enumerate(ground_truths)]
    tests = [t for t, _ in suites]
    scores = _reward(**options).evaluate(list(solution_strs), tests, [limits for _, limits in suites])
    return [_details(scores, i) for i in range(len(tests))]
