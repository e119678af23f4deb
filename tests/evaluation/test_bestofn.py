"""Selectors and curves against hand-worked examples; exact expectations against
enumeration of every subset."""

import itertools
import random

import pytest

from acecoder.errors import ConfigError
from acecoder.evaluation import Candidates, curves, ns_for, pick, plot_curves
from acecoder.evaluation.bestofn import bootstrap_intervals, expected_by_draws, expected_reward_model


def example():
    # Samples 0 and 3 are correct. Scores rank 1 > 3 > 0 > 2. On two generated tests,
    # samples 0 and 1 pass the first only (group of 2, score 2 x 1 = 2), sample 3 passes
    # both (group of 1, score 1 x 2 = 2), sample 2 passes none (score 0).
    return Candidates(
        id="p", correct=[True, False, False, True], scores=[1.0, 5.0, 0.0, 2.0],
        vectors=[(True, False), (True, False), (False, False), (True, True)], greedy=False,
    )


def test_ns():
    assert ns_for(16) == [1, 2, 4, 8, 16]
    assert ns_for(10) == [1, 2, 4, 8, 10]
    assert ns_for(1) == [1]


def test_picks_by_hand():
    p = example()
    assert pick("reward_model", p, [0, 1, 2, 3]) == 1
    assert pick("reward_model", p, [0, 2, 3]) == 3
    # agreement: groups {0,1} and {3} tie at 2; the larger group wins, its first sample
    assert pick("agreement", p, [0, 1, 2, 3]) == 0
    assert pick("agreement", p, [1, 2, 3]) == 3  # {1}: 1 x 1 = 1 < {3}: 1 x 2 = 2
    # combined: the tie goes to the group holding the best score (sample 1), and inside it the best score
    assert pick("combined", p, [0, 1, 2, 3]) == 1
    assert pick("combined", p, [0, 2, 3]) == 3  # {0}: 1 < {3}: 2
    assert pick("agreement", p, [2]) == 2
    with pytest.raises(ConfigError, match="unknown selector"):
        pick("vote", p, [0])


def test_curves_by_hand():
    table = curves([example()], selectors=["reward_model", "agreement", "combined"], draws=1000)
    assert table["n"] == [1, 2, 4]
    values = table["pass@1"]
    assert values["average"] == [0.5, 0.5, 0.5]
    assert values["oracle"] == pytest.approx([0.5, 5 / 6, 1.0])  # 1 - C(2,2)/C(4,2)
    assert values["greedy"] == [0.0, 0.0, 0.0]
    # Pairs (6): rm picks correct in {0,2}, {0,3}, {2,3} -> 3/6; at N=4 it picks sample 1 (wrong)
    assert values["reward_model"] == pytest.approx([0.5, 0.5, 0.0])
    # agreement over pairs: {0,1}->0 ok, {0,2}->0 ok, {0,3}->3 ok ({3} scores 2 > {0} 1),
    # {1,2}->1 no, {1,3}->3 ok, {2,3}->3 ok -> 5/6; N=4 -> sample 0, correct
    assert values["agreement"] == pytest.approx([0.5, 5 / 6, 1.0])
    # combined over pairs: {0,1}->1 no (same group, best score), others as agreement -> 4/6; N=4 -> 1, wrong
    assert values["combined"] == pytest.approx([0.5, 4 / 6, 0.0])


def test_exact_reward_model_expectation_equals_every_subset():
    rng = random.Random(1)
    for _ in range(20):
        n = rng.randint(1, 9)
        p = Candidates(id="r", correct=[rng.random() < 0.4 for _ in range(n)],
                       scores=[float(rng.randint(0, 4)) for _ in range(n)])  # ties on purpose
        for size in range(1, n + 1):
            subsets = list(itertools.combinations(range(n), size))
            brute = sum(p.correct[pick("reward_model", p, s)] for s in subsets) / len(subsets)
            assert expected_reward_model(p, size) == pytest.approx(brute)


def test_drawn_subsets_approach_the_exact_mean():
    rng = random.Random(2)
    n = 16
    p = Candidates(id="d", correct=[i % 3 == 0 for i in range(n)], scores=[0.0] * n,
                   vectors=[(i % 3 == 0, i % 2 == 0) for i in range(n)])
    exact = expected_by_draws("agreement", p, 4, draws=10**6, rng=rng)  # 1,820 subsets: all of them
    drawn = expected_by_draws("agreement", p, 4, draws=3000, rng=random.Random(0))
    assert drawn == pytest.approx(exact, abs=0.03)
    again = expected_by_draws("agreement", p, 4, draws=3000, rng=random.Random(0))
    assert again == drawn  # a fixed seed reproduces


def test_curves_refuse_what_they_cannot_compute():
    p = example()
    short = Candidates(id="q", correct=[True, False], scores=[1.0, 0.0])
    with pytest.raises(ConfigError, match="different numbers of samples"):
        curves([p, short], selectors=[])
    with pytest.raises(ConfigError, match="needs vectors for every problem; q has none"):
        curves([Candidates(id="q", correct=[True], scores=[1.0])], selectors=["agreement"])
    with pytest.raises(ConfigError, match="no problems"):
        curves([], selectors=[])
    table = curves([p, Candidates(id="q", correct=[True] * 4, scores=[0.0] * 4)], selectors=["reward_model"])
    assert "greedy" not in table["pass@1"]  # q has no greedy program


def test_plot_writes_a_png(tmp_path):
    table = curves([example()], selectors=["reward_model"], draws=10)
    path = plot_curves(table, tmp_path / "bon.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_bootstrap_intervals_hold_the_mean_and_pair_the_difference():
    rng = random.Random(3)
    skill = [rng.random() for _ in range(120)]  # problems differ a lot in difficulty ...
    base = [s for s in skill]
    better = [min(1.0, s + 0.05) for s in skill]  # ... and one selector is a little better on each
    gap = [b - a for a, b in zip(base, better)]
    intervals = bootstrap_intervals({"base": [base], "better": [better], "gap": [gap], "flat": [[0.5] * 120]},
                                    resamples=1000, seed=0)
    for name, values in (("base", base), ("better", better), ("gap", gap)):
        [[low, high]] = intervals[name]
        assert low <= sum(values) / len(values) <= high
    assert intervals["flat"] == [[0.5, 0.5]]
    # unpaired, the two intervals overlap; paired per problem, the gap is clearly above zero
    assert intervals["better"][0][0] < intervals["base"][0][1]
    assert intervals["gap"][0][0] > 0.03
    # the same seed gives the same intervals
    assert bootstrap_intervals({"base": [base]}, resamples=1000, seed=0)["base"] == intervals["base"]


def test_curves_carry_intervals_and_the_paired_difference():
    problems = [Candidates(id=str(i), correct=[i % 2 == 0, False, True, i % 3 == 0], scores=[1.0, 0.0, 2.0, 0.5])
                for i in range(30)]
    table = curves(problems, selectors=["reward_model"], resamples=200)
    assert set(table["interval95"]) == {"average", "oracle", "reward_model"}
    difference = table["difference"]["reward_model - average"]
    for i, _ in enumerate(table["n"]):
        low, high = difference["interval95"][i]
        assert low <= difference["mean"][i] <= high
        assert difference["mean"][i] == pytest.approx(table["pass@1"]["reward_model"][i] - table["pass@1"]["average"][i])
