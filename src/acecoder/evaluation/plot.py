"""The best-of-N figure: pass@1 against N, one line per selector and baseline."""

from __future__ import annotations

from pathlib import Path

STYLE = {  # baselines dashed, selectors solid
    "oracle": {"linestyle": "--", "color": "0.4"},
    "average": {"linestyle": ":", "color": "0.4"},
    "greedy": {"linestyle": "-.", "color": "0.2"},
}


def plot_curves(curves: dict, path: str | Path, *, title: str = "") -> Path:
    """Write `curves` (from `bestofn.curves`) as a PNG; matplotlib loads only here."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    ns = curves["n"]
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    intervals = curves.get("interval95", {})
    for name, values in curves["pass@1"].items():
        [line] = axes.plot(ns, [100 * v for v in values], marker="o", markersize=3, label=name, **STYLE.get(name, {}))
        if name in intervals:  # the 95% bootstrap interval over problems
            low, high = zip(*intervals[name])
            axes.fill_between(ns, [100 * v for v in low], [100 * v for v in high], color=line.get_color(), alpha=0.12)
    axes.set_xscale("log", base=2)
    axes.set_xticks(ns, [str(n) for n in ns])
    axes.set_xlabel("N (samples to choose from)")
    axes.set_ylabel("pass@1 of the pick (%)")
    axes.set_title(title or "best-of-N")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
