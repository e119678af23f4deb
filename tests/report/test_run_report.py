"""`acecoder report RUN_DIR`: the run's numbers (report.json) and page (report.html),
from a run folder written here in the layouts the stages write."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acecoder.report import quality
from acecoder.report.html import write_report
from acecoder.report.run import collect

ROOT = Path(__file__).resolve().parents[2]
DEMO_SEEDS = ROOT / "src" / "acecoder" / "pipeline" / "data" / "demo_seeds.jsonl"

# questions: id -> tests written by synth; the dataset keeps some of them (kept tests)
QUESTIONS = {"evol_a": 4, "evol_b": 6, "oss_a": 5, "oss_b": 7, "oss_c": 3, "stack_a": 6}
KEPT = {"evol_b": 5, "oss_a": 5, "oss_b": 6, "stack_a": 5}
PAIRS = {"evol_b": 2, "oss_a": 3, "oss_b": 1}
DROPS = {"evol_a": "too_few_tests_kept", "oss_c": "oracle_passes_too_few"}


def _lines(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def make_run(run: Path, *, stages=("synth", "sample", "filter", "pairs", "train-rm", "bon", "hard-subset", "rl")) -> Path:
    """A finished run folder (the parts the report reads) with small, known numbers."""
    run.mkdir(parents=True, exist_ok=True)
    order = ["synth", "sample", "filter", "pairs", "train-rm", "bon", "hard-subset", "rl"]
    state = {"order": order, "stages": {
        name: {"status": "done", "fingerprint": "f" * 16, "started": "2026-11-26T05:00:00+00:00",
               "finished": "2026-11-26T05:01:00+00:00", "seconds": 10.0 + i, "summary": {"written": i}}
        for i, name in enumerate(stages)}}
    (run / "state.json").write_text(json.dumps(state))
    (run / "config.yaml").write_text(f"run_dir: {run}\nseeds: {DEMO_SEEDS}\nsynth:\n  model: smollm2-135m\n  limit: 9\n"
                                     "sample:\n  policies: [{model: smollm2-135m, n: 4}]\n  oracle: {model: qwen2.5-coder-0.5b}\n")
    _lines(run / "questions.jsonl", [
        {"id": qid, "source": qid.split("_")[0], "question": f"Q {qid}", "tests": [f"assert f({k}) == {k}" for k in range(n)]}
        for qid, n in QUESTIONS.items()])
    if "filter" not in stages:
        return run
    _lines(run / "dataset.jsonl", [
        {"id": qid, "source": qid.split("_")[0], "question": f"Q {qid}", "test_cases": ["assert True"] * n,
         "inferences": [], "context_messages": [{"role": "user", "content": f"Q {qid}"}]}
        for qid, n in KEPT.items()])
    judged = [quality.Judged(id=qid, source=qid.split("_")[0], tests=n, kept_tests=KEPT.get(qid, 0), reason=DROPS.get(qid),
                             oracle_pass_rate=KEPT.get(qid, 1) / n,
                             samples=[quality.SampleScore(model="smollm2-135m", pass_rate=r) for r in (0.0, 0.4, 1.0)] if qid in KEPT else [])
              for qid, n in QUESTIONS.items()]
    quality.write(run / "filter", quality.summarise(judged))
    _lines(run / "pairs.jsonl", [
        {"id": f"{qid}/{k}", "question_id": qid, "question": "Q", "tests": ["assert True"], "chosen": "a", "rejected": "b",
         "chosen_pass_rate": 1.0, "rejected_pass_rate": 0.4, "chosen_model": "m", "rejected_model": "m"}
        for qid, n in PAIRS.items() for k in range(n)])
    if "train-rm" not in stages:
        return run
    metrics = [{"step": s, "epoch": s / 4, "loss": 0.7 - 0.1 * s, "accuracy": 0.5 + 0.1 * s, "margin": 0.2 * s,
                "learning_rate": 1e-5, "grad_norm": None, "pairs_per_second": 3.0} for s in (1, 2, 3)]
    metrics.insert(1, {**metrics[1], "loss": 9.9})  # step 2 logged twice: before a kill, then after the resume
    _lines(run / "rm" / "metrics.jsonl", metrics)
    (run / "rm" / "eval.json").write_text(json.dumps({"pairs": 8, "accuracy": 0.75, "mean_margin": 1.25, "loss": 0.41,
                                                      "train_pairs": 40, "steps": 3, "base_model": "smollm2-135m"}))
    (run / "bon").mkdir()
    (run / "bon" / "bon.json").write_text(json.dumps({
        "benchmark": "humaneval", "model": "smollm2-135m", "n": [1, 2, 4, 8],
        "pass@1": {"reward_model": [0.10, 0.14, 0.17, 0.19], "greedy": [0.12] * 4, "average": [0.10] * 4,
                   "oracle": [0.10, 0.18, 0.25, 0.31]},
        "selectors": ["reward_model"], "problems": 20, "samples_per_problem": 8}))
    _lines(run / "rl" / "metrics.jsonl", [
        {"step": s, "rollout": s, "reward": 0.1 * s, "reward_std": 0.3, "pass_rate": 0.2 + 0.05 * s, "all_pass": 0.1 * s,
         "all_pass_groups": 0.0, "all_fail_groups": 0.5 - 0.1 * s, "completion_length": 120 + s, "kl": None}
        for s in (1, 2, 3, 4)])
    return run


# ---------------------------------------------------------------- the numbers


def test_dataset_table_matches_a_hand_count(tmp_path):
    data = collect(make_run(tmp_path / "run"))
    table = data["dataset"]
    # the demo seeds interleave evol, oss, stack: the first 9 (synth.limit) are 3 of each
    assert {s: table["sources"][s]["seeds"] for s in ("evol", "oss", "stack")} == {"evol": 3, "oss": 3, "stack": 3}
    assert table["sources"]["evol"] == {"seeds": 3, "questions": 2, "tests_before": 10, "mean_tests_before": 5.0,
                                        "questions_kept": 1, "tests_after": 5, "mean_tests_after": 5.0,
                                        "pairs": 2, "questions_with_pairs": 1}
    assert table["sources"]["oss"]["mean_tests_before"] == 5.0 and table["sources"]["oss"]["mean_tests_after"] == 5.5
    assert table["sources"]["stack"]["pairs"] == 0
    assert table["total"] == {"seeds": 9, "questions": 6, "tests_before": 31, "mean_tests_before": round(31 / 6, 4),
                              "questions_kept": 4, "tests_after": 21, "mean_tests_after": 5.25,
                              "pairs": 6, "questions_with_pairs": 3}
    assert list(table["sources"]) == ["evol", "oss", "stack"]
    assert data["filter"]["drop_totals"] == {"oracle_passes_too_few": 1, "too_few_tests_kept": 1}
    assert data["filter"]["drops"]["oss"] == {"oracle_passes_too_few": 1}
    assert data["missing"] == [] and data["warnings"] == []


def test_training_bon_and_rl_sections(tmp_path):
    data = collect(make_run(tmp_path / "run"))
    rm = data["reward_model"]
    assert [line["step"] for line in rm["metrics"]] == [1, 2, 3]
    assert rm["metrics"][1]["loss"] == pytest.approx(0.5)  # the line written after the resume wins
    assert rm["eval"]["accuracy"] == 0.75 and rm["eval"]["mean_margin"] == 1.25
    assert data["best_of_n"]["pass@1"]["reward_model"][-1] == 0.19
    assert [line["rollout"] for line in data["rl"]["metrics"]] == [1, 2, 3, 4]
    overview = data["overview"]
    assert [s["name"] for s in overview["stages"]][:2] == ["synth", "sample"]
    assert overview["seconds"] == sum(10.0 + i for i in range(8))
    assert overview["config"]["synth"]["limit"] == 9
    assert overview["stages"][0]["headline"] == "questions 0"  # synth's few numbers: `written` as questions


def test_the_overview_shows_a_stage_s_few_numbers_rounded_and_the_rest_behind_a_click(tmp_path):
    from acecoder.report.run import headline

    summary = {"rows": 20, "seeds": 20, "already_done": 0, "written": 9, "tests_written": 120,
               "seconds": 1.1435422899999708, "output": "/tmp/x/questions.jsonl", "failed": {"too_few_tests": 4}}
    assert headline("synth", summary) == "questions 9, of seeds 20, tests 120"
    assert headline("train-rm", {"loss": 0.6931471, "eval_accuracy": 0.75, "steps": 3}) == (
        "steps 3, loss 0.693, held-out accuracy 0.75")
    run = make_run(tmp_path / "run")
    state = json.loads((run / "state.json").read_text())
    state["stages"]["synth"]["summary"] = summary
    (run / "state.json").write_text(json.dumps(state))
    page = write_report(run).html.read_text()
    cell = page[page.index("questions 9, of seeds 20, tests 120"):]
    cell = cell[:cell.index("</details>")]
    assert "<details><summary>all 8</summary>" in cell
    assert "1.14<" in cell and "1.1435" not in cell and "too_few_tests 4" in cell  # rounded, nested counters readable


def test_a_partial_run_reports_what_it_has(tmp_path):
    run = make_run(tmp_path / "run", stages=("synth", "sample"))
    state = json.loads((run / "state.json").read_text())
    state["stages"]["filter"] = {"status": "failed", "seconds": 1.5}
    (run / "state.json").write_text(json.dumps(state))
    summary = write_report(run)
    assert summary.sections == ["Overview", "Dataset"]
    assert summary.missing == [
        "filter: no filter/filter_summary.json (stage filter: failed)",
        "reward_model: no rm/metrics.jsonl or rm/eval.json (stage train-rm: not run)",
        "best_of_n: no bon/bon.json (stage bon: not run)",
        "rl: no rl/metrics.jsonl (stage rl: not run)",
    ]
    data = json.loads(summary.json.read_text())
    assert data["dataset"]["total"]["questions"] == 6 and data["dataset"]["total"]["questions_kept"] is None
    page = summary.html.read_text()
    assert "Not in this run" in page and "stage filter: failed" in page and "<img" not in page


def test_broken_lines_and_files_are_passed_over_with_a_warning(tmp_path):
    run = make_run(tmp_path / "run")
    with (run / "rl" / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 5, "rew')  # a torn last line from a kill
    (run / "bon" / "bon.json").write_text("{not json")
    data = collect(run)
    assert len(data["rl"]["metrics"]) == 4 and data["best_of_n"] is None
    assert any("rl/metrics.jsonl: skipped 1 broken lines" in w for w in data["warnings"])
    assert any("bon.json: not readable JSON" in w for w in data["warnings"])
    assert data["missing"] == ["best_of_n: no bon/bon.json (stage bon: done)"]


# ---------------------------------------------------------------- the page


def test_the_page_is_self_contained_and_carries_the_json_numbers(tmp_path):
    run = make_run(tmp_path / "run")
    summary = write_report(run)
    page = summary.html.read_text()
    assert summary.sections == ["Overview", "Dataset", "Filter", "Reward model", "Best-of-N", "RL"]
    # 3 filter histograms + drops + reward-model curves + best-of-N + RL curves
    assert summary.figures == 7 == page.count('src="data:image/png;base64,')
    assert "<script" not in page and not re.search(r'(src|href)="(https?:|//|file:)', page)
    assert "5.17" in page and "5.25" in page  # Table 1's mean tests before / after, in total
    assert json.loads((run / "report.json").read_text())["dataset"] == collect(run)["dataset"]


def test_filter_figures_are_redrawn_when_only_the_json_is_there(tmp_path):
    run = make_run(tmp_path / "run")
    for png in (run / "filter").glob("*.png"):
        png.unlink()
    from acecoder.report.run import write_report as write_from_run  # the pipeline's import

    summary = write_from_run(run, output=tmp_path / "elsewhere" / "r.html")
    assert summary.figures == 7 and (tmp_path / "elsewhere" / "r.json").is_file()
    assert str(summary) == str(tmp_path / "elsewhere" / "r.html")


def test_command(tmp_path):
    run = make_run(tmp_path / "run")
    probe = "import acecoder.cli.report; from acecoder.cli import app; app()"
    result = subprocess.run([sys.executable, "-c", probe, "report", str(run)], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "6 sections, 7 figures" in result.stderr and (run / "report.html").is_file()
    result = subprocess.run([sys.executable, "-c", probe, "report", str(tmp_path / "nope")], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a run folder" in result.stderr and "Traceback" not in result.stderr


def test_import_is_light():
    probe = ("import sys, acecoder.report.run, acecoder.report.html, acecoder.cli.report; "
             "print(sorted(m for m in ('torch', 'transformers', 'numpy', 'matplotlib') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True).stdout.strip() == "[]"


# ---------------------------------------------------------------- in a real browser

CHECK = """<script>
window.addEventListener('load', () => {
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}));
  const headings = [...document.querySelectorAll('h2')].map(h => h.textContent);
  const out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({images, headings});
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary (CI installs it with .ci/browser)")
def test_the_figures_render_in_headless_chromium(tmp_path):
    summary = write_report(make_run(tmp_path / "run"))
    # The report has no script; the test's copy adds one that reports, after load, what the browser decoded.
    page = tmp_path / "check.html"
    page.write_text(summary.html.read_text().replace("</body>", CHECK + "</body>"))
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
               "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)})
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"chromium gave no check (rc {result.returncode}): {result.stderr[-2000:]}"
    import html

    check = json.loads(html.unescape(found.group(1)))
    assert len(check["images"]) == 7
    assert all(image["complete"] and image["width"] > 0 for image in check["images"]), check["images"]
    assert check["headings"] == ["Overview", "Dataset", "Filter", "Reward model", "Best-of-N", "RL"]


def test_missing_keys_and_nulls_are_tolerated(tmp_path):
    run = make_run(tmp_path / "run")
    _lines(run / "rm" / "metrics.jsonl", [{"step": 1, "loss": 0.7}, {"step": 2, "loss": 0.6, "accuracy": None}])
    (run / "rm" / "eval.json").unlink()
    _lines(run / "rl" / "metrics.jsonl", [{"step": 1, "reward": 0.0}, {"step": 2}])
    bon = json.loads((run / "bon" / "bon.json").read_text())
    bon["pass@1"]["reward_model"][0] = None
    del bon["pass@1"]["greedy"], bon["problems"]
    (run / "bon" / "bon.json").write_text(json.dumps(bon))
    summary = write_report(run)
    assert summary.sections == ["Overview", "Dataset", "Filter", "Reward model", "Best-of-N", "RL"]
    assert summary.figures == 7 and summary.warnings == []
    data = json.loads(summary.json.read_text())
    assert data["reward_model"]["eval"] is None and data["rl"]["metrics"][-1] == {"step": 2}
