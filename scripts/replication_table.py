"""Print the README's replication tables from a finished run of configs/replication.yaml.

    python scripts/replication_table.py [runs/replication]

Reads the run's own files (state.json, bon/bon.json, rm/eval.json) and prints, as
markdown: best-of-N pass@1 on HumanEval+ at each N with 95% bootstrap intervals over
problems, the paired difference "reward model - average", and each stage's time and
counts. Nothing is computed here that the stages did not write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAMES = {"reward_model": "reward model", "agreement": "test vote (CodeT)", "combined": "test vote + reward model",
         "average": "sample average", "greedy": "greedy", "oracle": "oracle (any of N right)"}


def percent(value: float) -> str:
    return f"{100 * value:.1f}"


def cell(value: float, interval: list[float] | None) -> str:
    if not interval:
        return percent(value)
    return f"{percent(value)} ({percent(interval[0])}–{percent(interval[1])})"


def best_of_n(bon: dict) -> list[str]:
    ns, curves, intervals = bon["n"], bon["pass@1"], bon.get("interval95", {})
    order = [name for name in ("reward_model", "agreement", "combined", "average", "greedy", "oracle") if name in curves]
    lines = ["| N | " + " | ".join(NAMES[name] for name in order) + " |",
             "| --- |" + " --- |" * len(order)]
    for i, n in enumerate(ns):
        cells = [cell(curves[name][i], (intervals.get(name) or [None] * len(ns))[i]) for name in order]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", "| N | " + " | ".join(bon.get("difference", {})) + " |",
              "| --- |" + " --- |" * len(bon.get("difference", {}))]
    for i, n in enumerate(ns):
        cells = [f"{100 * d['mean'][i]:+.1f} ({100 * d['interval95'][i][0]:+.1f} to {100 * d['interval95'][i][1]:+.1f})"
                 for d in bon.get("difference", {}).values()]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"{bon['problems']} of {bon['problems_total']} problems, {bon['samples_per_problem']} samples each "
                 f"(percent, 95% bootstrap intervals over problems, {bon.get('resamples', 2000)} resamples; "
                 "differences paired per problem).")
    return lines


def stages(state: dict) -> list[str]:
    lines = ["| stage | seconds (sittings) | what it did |", "| --- | --- | --- |"]
    for name in state.get("order", []):
        record = state["stages"].get(name, {})
        summary = record.get("summary") or {}
        lines.append(f"| {name} | {record.get('seconds', 0):.0f} ({record.get('sittings', 1)}) | {_what(name, summary)} |")
    return lines


def _what(name: str, s: dict) -> str:
    if name == "synth":
        return (f"{s.get('seeds')} seeds; failed {json.dumps(s.get('failed', {}))}; "
                f"failed requests {json.dumps(s.get('failed_requests', {}))}; mean tests {s.get('mean_tests')}")
    if name == "filter":
        return f"{s.get('questions')} questions, kept {s.get('kept')}; dropped {json.dumps(s.get('dropped', {}))}"
    if name == "pairs":
        return f"{s.get('pairs')} pairs from {s.get('questions_with_pairs')} questions"
    if name == "train-rm":
        return ", ".join(f"{k} {s[k]}" for k in ("pairs", "train_pairs", "eval_pairs", "eval_accuracy", "steps") if k in s)
    if name == "bon":
        return f"{s.get('problems')} problems, {s.get('samples_per_problem')} samples each"
    return ", ".join(f"{k} {v}" for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool))[:200]


def main(run_dir: Path) -> None:
    state = json.loads((run_dir / "state.json").read_text())
    bon_path = run_dir / "bon" / "bon.json"
    if bon_path.is_file():
        print("\n".join(best_of_n(json.loads(bon_path.read_text()))), end="\n\n")
    evaluation = run_dir / "rm" / "eval.json"
    if evaluation.is_file():
        print("reward model, held-out pairs:", evaluation.read_text().strip(), end="\n\n")
    print("\n".join(stages(state)))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/replication"))
