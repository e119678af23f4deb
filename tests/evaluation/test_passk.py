"""The unbiased pass@k against hand computations of 1 - C(n-c, k) / C(n, k)."""

import math

import pytest

from acecoder.errors import ConfigError
from acecoder.evaluation import mean_pass_at_k, pass_at_k


def test_pass_at_k_by_hand():
    assert pass_at_k(5, 2, 1) == pytest.approx(2 / 5)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # C(3,2)=3, C(5,2)=10
    assert pass_at_k(5, 2, 3) == pytest.approx(1 - 1 / 10)  # C(3,3)=1
    assert pass_at_k(5, 2, 4) == 1.0  # only 3 wrong samples: any 4 hold a correct one
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(1, 1, 1) == 1.0


def test_product_form_is_stable_where_binomials_are_huge():
    n, c, k = 200, 3, 100
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)  # Python's exact integers
    assert pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-12)
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)


def test_mean_over_problems_and_ks_beyond_the_samples():
    counts = [(3, 0), (3, 1), (3, 2), (3, 3)]
    assert mean_pass_at_k(counts, 1) == pytest.approx((0 + 1 / 3 + 2 / 3 + 1) / 4)
    assert mean_pass_at_k(counts, 2) == pytest.approx((0 + 2 / 3 + 1 + 1) / 4)  # c=1: 1 - C(2,2)/C(3,2)
    assert mean_pass_at_k(counts, 4) is None
    assert mean_pass_at_k([], 1) is None
    with pytest.raises(ConfigError, match="needs at least 4 samples"):
        pass_at_k(3, 1, 4)
    with pytest.raises(ConfigError):
        pass_at_k(3, 4, 1)
