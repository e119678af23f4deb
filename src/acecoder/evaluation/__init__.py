"""Evaluation: the unbiased pass@k, best-of-N selectors and their curves, the figure.

    from acecoder.evaluation import Candidates, curves, pass_at_k

    pass_at_k(n=10, c=3, k=1)        # 0.3
    table = curves(problems, selectors=["reward_model", "agreement"], draws=200)

Pure Python; `plot_curves` imports matplotlib only when called.
"""

from acecoder.evaluation.bestofn import BASELINES, SELECTORS, Candidates, curves, ns_for, pick
from acecoder.evaluation.passk import mean_pass_at_k, pass_at_k
from acecoder.evaluation.plot import plot_curves

__all__ = [
    "BASELINES",
    "SELECTORS",
    "Candidates",
    "curves",
    "mean_pass_at_k",
    "ns_for",
    "pass_at_k",
    "pick",
    "plot_curves",
]
