"""Best-of-N selection and its curves: which of N programs to submit, and how often
the pick is correct as N grows.

Each problem is a `Candidates`: for each of its n samples, whether it is correct on
the benchmark's own tests, and what the selectors may look at: a reward-model score
and a pass vector on generated tests (not the benchmark's). Selectors (the method's
§8 and its peers):

- `reward_model`: the highest score (ties: the lower sample index). ACECODER's
  best-of-N.
- `agreement`: CodeT's dual agreement (Chen et al. 2022): samples with the same pass
  vector on the generated tests form a group; a group scores (samples in it) x
  (generated tests it passes); the pick is from the best group (ties: the larger
  group, then the lower index), its lowest sample index.
- `combined`: the agreement groups, ties between groups and the pick inside the best
  group decided by the reward model (the highest score), so that the reward model
  chooses among programs the tests cannot tell apart.

Baselines, as the method reports them: `average` (the mean correctness of the N
samples, c/n in expectation), `oracle` (any of the N correct: pass@N) and `greedy`
(one separate greedy program, the same for every N).

Curves: pass@1 of the pick for N = 1, 2, 4, ... up to n (and n itself), from one set
of samples without resampling: the expectation over N-subsets drawn without
replacement. `average`, `oracle` and `reward_model` are exact (for the reward model:
the sample of rank r is picked when it is in the subset and none of the r above it
is, probability C(n-1-r, N-1) / C(n, N)). `agreement` and `combined` average over
`draws` random subsets per problem (a fixed seed), or over every subset when there
are no more than `draws` of them.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from acecoder.errors import ConfigError
from acecoder.evaluation.passk import pass_at_k

SELECTORS = ("reward_model", "agreement", "combined")
BASELINES = ("greedy", "average", "oracle")


@dataclass(slots=True, kw_only=True)
class Candidates:
    """One problem's n samples, in sample-index order."""

    id: str
    correct: list[bool]  # on the benchmark's tests
    scores: list[float] | None = None  # reward-model scores
    vectors: list[tuple[bool, ...]] | None = None  # pass vectors on the generated tests
    greedy: bool | None = None  # the greedy program's correctness, where known

    @property
    def n(self) -> int:
        return len(self.correct)


def ns_for(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    values = [2**i for i in range(n.bit_length()) if 2**i <= n]
    return values + ([n] if values[-1] != n else []) if n >= 1 else []


# ---------------------------------------------------------------- selectors: one subset, one pick


def pick(selector: str, problem: Candidates, subset: Sequence[int]) -> int:
    """The sample index `selector` submits from the samples `subset` (indices, ascending)."""
    if selector == "reward_model":
        scores = problem.scores
        return min(subset, key=lambda i: (-scores[i], i))
    if selector in ("agreement", "combined"):
        groups: dict[tuple, list[int]] = {}
        for i in subset:
            groups.setdefault(problem.vectors[i], []).append(i)
        use_rm = selector == "combined"

        def rank(item):
            vector, members = item
            best_score = max(problem.scores[i] for i in members) if use_rm else 0.0
            return (-len(members) * sum(vector), -best_score if use_rm else -len(members), members[0])

        _, members = min(groups.items(), key=rank)
        if use_rm:
            return min(members, key=lambda i: (-problem.scores[i], i))
        return members[0]
    raise ConfigError(f"unknown selector {selector!r}: use one of {', '.join(SELECTORS)}")


# ---------------------------------------------------------------- curves: expectations over subsets


def expected_oracle(problem: Candidates, size: int) -> float:
    return pass_at_k(problem.n, sum(problem.correct), size)


def expected_average(problem: Candidates, size: int) -> float:
    return sum(problem.correct) / problem.n  # every sample is in a random N-subset equally often


def expected_reward_model(problem: Candidates, size: int) -> float:
    """Exact: the chance that each sample is the top-scored one of a random N-subset."""
    n = problem.n
    order = sorted(range(n), key=lambda i: (-problem.scores[i], i))
    total = math.comb(n, size)
    return sum(
        math.comb(n - 1 - rank, size - 1) / total for rank, i in enumerate(order) if problem.correct[i]
    )


def expected_by_draws(selector: str, problem: Candidates, size: int, *, draws: int, rng: random.Random) -> float:
    """The mean correctness of the pick over `draws` random N-subsets, or over all of
    them when there are at most `draws`."""
    n = problem.n
    if math.comb(n, size) <= draws:
        subsets = itertools.combinations(range(n), size)
    else:
        subsets = (sorted(rng.sample(range(n), size)) for _ in range(draws))
    hits = count = 0
    for subset in subsets:
        hits += problem.correct[pick(selector, problem, subset)]
        count += 1
    return hits / count


def curves(
    problems: list[Candidates], *, selectors: Sequence[str], draws: int = 200, seed: int = 0, resamples: int = 2000
) -> dict:
    """pass@1 against N for each selector and baseline, averaged over problems, with 95%
    bootstrap intervals over problems (`resamples` draws, seeded).

    Returns {"n": [1, 2, 4, ...], "pass@1": {name: [value per N]}, "draws": draws,
    "interval95": {name: [[low, high] per N]}, "difference": {"<selector> - average":
    {"mean": [per N], "interval95": [[low, high] per N]}} (paired per problem), "resamples"}.
    Every problem must have the same number of samples n, and the data the selectors
    need (scores, vectors); `greedy` appears when every problem has it.
    """
    if not problems:
        raise ConfigError("no problems with samples: nothing to select from")
    sizes = {p.n for p in problems}
    if len(sizes) != 1:
        raise ConfigError(
            f"problems have different numbers of samples ({', '.join(map(str, sorted(sizes)))}): "
            "best-of-N curves need the same n for every problem"
        )
    if draws < 1:
        raise ConfigError(f"draws is {draws}: give at least 1")
    for selector in selectors:
        if selector not in SELECTORS:
            raise ConfigError(f"unknown selector {selector!r}: use one of {', '.join(SELECTORS)}")
        needs = ["scores"] if selector == "reward_model" else ["vectors"] + (["scores"] if selector == "combined" else [])
        for problem in problems:
            for attribute in needs:
                if getattr(problem, attribute) is None:
                    raise ConfigError(f"selector {selector} needs {attribute} for every problem; {problem.id} has none")
    ns = ns_for(sizes.pop())
    rng = random.Random(seed)
    per_problem: dict[str, list[list[float]]] = {}  # name -> for each N, the value of each problem
    for name, expect in (("average", expected_average), ("oracle", expected_oracle)):
        per_problem[name] = [[expect(p, size) for p in problems] for size in ns]
    if all(p.greedy is not None for p in problems):
        per_problem["greedy"] = [[float(p.greedy) for p in problems]] * len(ns)
    for selector in selectors:
        if selector == "reward_model":
            per_problem[selector] = [[expected_reward_model(p, size) for p in problems] for size in ns]
        else:
            per_problem[selector] = [
                [expected_by_draws(selector, p, size, draws=draws, rng=rng) for p in problems] for size in ns
            ]
    table = {name: [sum(values) / len(values) for values in by_n] for name, by_n in per_problem.items()}
    # Each selector against the sample average, problem by problem: the method's claim.
    differences = {
        f"{selector} - average": [[a - b for a, b in zip(mine, base)]
                                  for mine, base in zip(per_problem[selector], per_problem["average"])]
        for selector in selectors
    }
    intervals = bootstrap_intervals({**per_problem, **differences}, resamples=resamples, seed=seed)
    return {
        "n": ns, "pass@1": table, "draws": draws,
        "interval95": {name: intervals[name] for name in per_problem},
        "difference": {name: {"mean": [sum(v) / len(v) for v in by_n], "interval95": intervals[name]}
                       for name, by_n in differences.items()},
        "resamples": resamples,
    }


def bootstrap_intervals(series: dict[str, list[list[float]]], *, resamples: int = 2000, seed: int = 0
                        ) -> dict[str, list[list[float]]]:
    """95% percentile-bootstrap intervals of the mean over problems, for each series and N:
    {name: [[low, high] per N]}. Every series is resampled with the same draws of problems,
    so that a difference of two series is paired problem by problem."""
    count = len(next(iter(series.values()))[0])
    rng = random.Random(seed)
    means: dict[str, list[list[float]]] = {name: [[] for _ in by_n] for name, by_n in series.items()}
    for _ in range(resamples):
        draw = rng.choices(range(count), k=count)
        for name, by_n in series.items():
            for column, values in zip(means[name], by_n):
                column.append(sum(values[i] for i in draw) / count)
    low, high = int(0.025 * resamples), max(0, math.ceil(0.975 * resamples) - 1)
    for columns in means.values():
        for column in columns:
            column.sort()
    return {name: [[round(column[low], 6), round(column[high], 6)] for column in columns]
            for name, columns in means.items()}
