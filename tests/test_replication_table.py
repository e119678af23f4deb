"""scripts/replication_table.py prints the README's replication tables from a run's own files."""

import json
import random
import subprocess
import sys
from pathlib import Path

from acecoder.evaluation.bestofn import Candidates, curves

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "replication_table.py"


def test_tables_from_a_run_folder(tmp_path):
    rng = random.Random(0)
    problems = [Candidates(id=str(i), correct=[rng.random() < 0.5 for _ in range(8)],
                           scores=[rng.random() for _ in range(8)], greedy=rng.random() < 0.5) for i in range(20)]
    bon = curves(problems, selectors=["reward_model"], resamples=100)
    bon.update(problems=20, problems_total=164, samples_per_problem=8)
    (tmp_path / "bon").mkdir()
    (tmp_path / "bon" / "bon.json").write_text(json.dumps(bon))
    (tmp_path / "rm").mkdir()
    (tmp_path / "rm" / "eval.json").write_text(json.dumps({"pairs": 15, "accuracy": 0.8}))
    state = {"order": ["filter", "pairs", "bon"], "stages": {
        "filter": {"seconds": 2.1, "summary": {"questions": 175, "kept": 36, "dropped": {"oracle_passes_too_few": 117}}},
        "pairs": {"seconds": 0.0, "summary": {"pairs": 94, "questions_with_pairs": 14}},
        "bon": {"seconds": 900, "sittings": 3, "summary": {"problems": 20, "samples_per_problem": 8}}}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith("| 8 |")]
    average = 100 * bon["pass@1"]["average"][-1]
    assert f"{average:.1f}" in rows[0]  # the best-of-N row at N = 8, with its interval
    low, high = bon["difference"]["reward_model - average"]["interval95"][-1]
    assert f"to {100 * high:+.1f})" in rows[1]  # the paired difference's interval
    assert "| filter | 2 (1) | 175 questions, kept 36" in out and "| bon | 900 (3) |" in out and "94 pairs from 14 questions" in out
    assert '"accuracy": 0.8' in out
