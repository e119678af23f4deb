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
oracle's time on it), or a plain list of tests (older exports: `timeout` for each).
The verl datasets of stdin/stdout and call-based problems (APPS, TACO, CodeContests,
Codeforces; PRIME's Eurus-2 code, DeepCoder, Skywork-OR1) work as they are: their
`ground_truth` (JSON {"inputs", "outputs"[, "fn_name"]}) is judged as verl's own
`prime_code` judges it and scored as verl's default reward scores it (1 when every
case passes, else the pass rate of the first 10 cases); LiveCodeBench rows (a
`data_source` naming it) by LiveCodeBench's rule; a KodCode pytest file by pytest.
See docs/test_suites.md for where the graders disagree. Options (verl's `reward_kwargs`):
`kind` ("binary", "pass_rate", "signed", "prime_code"; default: "prime_code" for stdio
and call suites, "binary" for the others), `format_weight` (the R1 format term), `timeout` (seconds per test),
`workers` (sandbox processes). One engine per set of options serves every call of
the process (each reward-loop actor has its own) and is closed at exit.
"""

from __future__ import annotations

import atexit
import threading

from acecoder.errors import ConfigError
from acecoder.records import SuiteKind, SuiteRule, TestSuite
from acecoder.rewards._combined import parse_suite
from acecoder.rewards._rule import KINDS, PRIME_CODE_FIRST, TestReward

_REWARDS: dict[tuple, TestReward] = {}
_LOCK = threading.Lock()


def _reward(format_weight: float = 0.0, timeout: float = 3.0, workers: int | None = None) -> TestReward:
    key = (float(format_weight), float(timeout), workers)
    with _LOCK:
        if key not in _REWARDS:
            _REWARDS[key] = TestReward(format_weight=format_weight, timeout=timeout, workers=workers)
        return _REWARDS[key]


@atexit.register
def close() -> None:
    """Stop the sandbox workers (also done at interpreter exit)."""
    with _LOCK:
        rewards = list(_REWARDS.values())
        _REWARDS.clear()
    for reward in rewards:
        reward.close()


def _suite(data_source, ground_truth, where: str):
    # LiveCodeBench's rows are judged by LiveCodeBench's rule, every other stdio or call
    # row by prime_code's (what verl's default reward routes apps/taco/codecontests to).
    rule = SuiteRule.LIVECODEBENCH if "livecodebench" in str(data_source).lower() else None
    return parse_suite(ground_truth, where=where, rule=rule)


def _kind(kind: str | None, tests) -> str:
    """The reward kind asked for, else prime_code's score for stdio and call suites (what
    verl returns for them) and the method's binary reward for the others."""
    if kind is not None:
        return kind
    if isinstance(tests, TestSuite) and tests.kind in (SuiteKind.STDIO, SuiteKind.CALL):
        return "prime_code"
    return "binary"


def _details(reward: TestReward, scores, i: int, kind: str, tests) -> dict:
    result = scores.results[i]
    value = reward.value(result, bool(scores.format_ok[i]) if scores.format_ok else False, kind,
                         tests.kind if isinstance(tests, TestSuite) else None)
    return {
        "score": 0.0 if value is None else value,  # verl needs a number; an unscorable program gets 0
        "pass_rate": result.pass_rate if result is not None else 0.0,
        "all_passed": float(result is not None and result.all_passed),
        "format_ok": float(scores.format_ok[i]) if scores.format_ok else 0.0,
    }


def compute_score(data_source, solution_str, ground_truth, extra_info=None, *, kind: str | None = None,
                  **options) -> dict:
    """One completion's reward: {"score", "pass_rate", "all_passed", "format_ok"}
    (verl logs the extra keys). `options`: see the module docstring."""
    _check_kind(kind)
    tests, limits = _suite(data_source, ground_truth, "reward_model.ground_truth")
    reward = _reward(**options)
    scores = reward.evaluate([solution_str], [tests], [limits], [_stop(_kind(kind, tests), tests)])
    return _details(reward, scores, 0, _kind(kind, tests), tests)


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, *, kind: str | None = None,
                        **options) -> list[dict]:
    """The rewards of a whole batch in one call (verl's `batch` reward manager)."""
    _check_kind(kind)
    suites = [_suite(d, g, f"reward_model.ground_truth of item {i}")
              for i, (d, g) in enumerate(zip(data_sources, ground_truths))]
    tests = [t for t, _ in suites]
    reward = _reward(**options)
    stops = [_stop(_kind(kind, t), t) for t in tests]
    scores = reward.evaluate(list(solution_strs), tests, [limits for _, limits in suites], stops)
    return [_details(reward, scores, i, _kind(kind, tests[i]), tests[i]) for i in range(len(tests))]


def _stop(kind: str, tests) -> bool | int:
    """What the prime_code score never reads is not run: after a timeout or crash, the cases
    from the 10th on (a call suite: all the rest). A program that loops on every input then
    costs 10 limits, not one per case. Other kinds run every test, as before."""
    if kind != "prime_code":
        return False
    return True if isinstance(tests, TestSuite) and tests.kind is SuiteKind.CALL else PRIME_CODE_FIRST


def _check_kind(kind) -> None:
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"reward kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
