"""Stage score: Score records for samples of questions or benchmark problems, streamed and resumable."""

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from acecoder.errors import ConfigError, InputError  # noqa: E402
from acecoder.rm import RewardModel  # noqa: E402
from acecoder.stages import score  # noqa: E402


def write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


QUESTIONS = [
    {"id": "q1", "source": "oss", "question": "Write add(a, b).", "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]},
    {"id": "q2", "source": "evol", "question": "Reverse a string.", "tests": ["assert rev('ab') == 'ba'"]},
]
PROGRAMS = {
    "q1": ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b", "def add(a, b):\n    return 3"],
    "q2": ["def rev(s):\n    return s[::-1]", "def rev(s):\n    return s"],
}


def samples():
    return [
        {"question_id": qid, "model": "policy", "sample_index": i, "completion": f"```python\n{p}\n```", "program": p}
        for qid, programs in PROGRAMS.items() for i, p in enumerate(programs)
    ]


def test_scores_equal_the_models_own_scores_in_input_order(classifier, tmp_path):
    questions = write(tmp_path / "questions.jsonl", QUESTIONS)
    rows = write(tmp_path / "samples.jsonl", samples())
    out = tmp_path / "scores.jsonl"
    summary = score.run(rows, out, questions_path=questions, model=str(classifier),
                        settings=score.ScoreSettings(batch_size=2, device="cpu"))
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["question_id"], r["sample_index"]) for r in written] == [("q1", 0), ("q1", 1), ("q1", 2), ("q2", 0), ("q2", 1)]
    assert set(written[0]) == {"question_id", "model", "sample_index", "reward_model", "score"}
    assert {r["reward_model"] for r in written} == {classifier.name}
    model = RewardModel.load(classifier, device="cpu")
    by_id = {q["id"]: q for q in QUESTIONS}
    expected = [
        model.score([by_id[s["question_id"]]["question"]], [s["program"]], [by_id[s["question_id"]]["tests"]], batch_size=1)[0]
        for s in samples()
    ]
    assert [r["score"] for r in written] == pytest.approx(expected, abs=1e-5)
    assert summary.scored == 5 and summary.already_done == 0
    assert summary.mean_score == pytest.approx(sum(expected) / 5, abs=1e-5)


def test_resume_scores_only_what_is_missing(classifier, tmp_path):
    questions = write(tmp_path / "questions.jsonl", QUESTIONS)
    rows = write(tmp_path / "samples.jsonl", samples())
    out = tmp_path / "scores.jsonl"
    model = RewardModel.load(classifier, device="cpu")
    score.run(rows, out, questions_path=questions, model=model, settings=score.ScoreSettings())
    full = out.read_text().splitlines()
    out.write_text("\n".join(full[:2]) + "\n" + full[2][:15])  # a kill: two lines and a torn third
    summary = score.run(rows, out, questions_path=questions, model=model, settings=score.ScoreSettings(), resume=True)
    assert (summary.already_done, summary.scored) == (2, 3)
    again = out.read_text().splitlines()
    assert [json.loads(line)["sample_index"] for line in again] == [0, 1, 2, 0, 1]
    assert [json.loads(a)["score"] for a in again] == pytest.approx([json.loads(f)["score"] for f in full], abs=1e-6)


def test_benchmark_problems_show_the_prompt_and_no_test(classifier, tmp_path):
    problems = write(tmp_path / "problems.jsonl", [
        {"id": "HumanEval/0", "benchmark": "humaneval", "prompt": "def add(a, b):\n    \"\"\"Add.\"\"\"\n", "tests": ["assert add(1, 2) == 3"]},
    ])
    rows = write(tmp_path / "samples.jsonl", [
        {"question_id": "HumanEval/0", "model": "p", "sample_index": 0, "completion": "", "program": "def add(a, b):\n    return a + b"},
    ])
    out = tmp_path / "scores.jsonl"
    model = RewardModel.load(classifier, device="cpu")
    score.run(rows, out, questions_path=problems, model=model, settings=score.ScoreSettings())
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["score"] == pytest.approx(model.score(["def add(a, b):\n    \"\"\"Add.\"\"\"\n"], ["def add(a, b):\n    return a + b"], [None])[0], abs=1e-6)


def test_bad_inputs_are_named(classifier, tmp_path):
    questions = write(tmp_path / "questions.jsonl", QUESTIONS)
    orphan = write(tmp_path / "samples.jsonl", samples() + [
        {"question_id": "q9", "model": "p", "sample_index": 0, "completion": "", "program": "x"}
    ])
    with pytest.raises(InputError, match="samples.jsonl:6: .*question 'q9' is not in"):
        score.run(orphan, tmp_path / "s.jsonl", questions_path=questions, model=str(classifier), settings=score.ScoreSettings())
    odd = write(tmp_path / "odd.jsonl", [{"id": "x", "text": "?"}])
    with pytest.raises(InputError, match="Question records"):
        score.run(orphan, tmp_path / "s.jsonl", questions_path=odd, model=str(classifier), settings=score.ScoreSettings())
    with pytest.raises(ConfigError, match="also an input"):
        score.run(orphan, orphan, questions_path=questions, model=str(classifier), settings=score.ScoreSettings())
    with pytest.raises(ConfigError, match="batch_size"):
        score.run(orphan, tmp_path / "s.jsonl", questions_path=questions, model=str(classifier), settings=score.ScoreSettings(batch_size=0))


def test_the_command(classifier, tmp_path):
    questions = write(tmp_path / "questions.jsonl", QUESTIONS)
    rows = write(tmp_path / "samples.jsonl", samples())
    out = tmp_path / "scores.jsonl"
    command = [sys.executable, "-m", "acecoder.cli", "score", str(rows), "--questions", str(questions),
               "--model", str(classifier), "-o", str(out), "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "5 programs scored" in result.stderr and len(out.read_text().splitlines()) == 5
    command[command.index("--model") + 1] = str(tmp_path)  # not a model folder
    command[command.index("-o") + 1] = str(tmp_path / "x.jsonl")
    result = subprocess.run(command,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "no config.json" in result.stderr and "Traceback" not in result.stderr


def test_the_filtered_dataset_shows_the_first_kept_test_as_training_did(classifier, tmp_path):
    """The dataset's test_cases are the kept tests: its first is the one train-rm's pairs show."""
    kept = ["assert add(0, 0) == 0"]  # the oracle dropped the first synthesized test
    rows = [{"id": "q1", "source": "oss", "question": "Write add(a, b).", "test_cases": kept, "inferences": [],
             "context_messages": []}]
    dataset = write(tmp_path / "dataset.jsonl", rows)
    program = PROGRAMS["q1"][0]
    samples_path = write(tmp_path / "samples.jsonl", [s for s in samples() if s["question_id"] == "q1"][:1])
    score.run(samples_path, tmp_path / "scores.jsonl", questions_path=dataset, model=str(classifier),
              settings=score.ScoreSettings(batch_size=1, device="cpu"))
    written = json.loads((tmp_path / "scores.jsonl").read_text().splitlines()[0])
    model = RewardModel.load(classifier, device="cpu")
    assert written["score"] == pytest.approx(model.score(["Write add(a, b)."], [program], [kept])[0], abs=1e-5)
    assert written["score"] != pytest.approx(model.score(["Write add(a, b)."], [program], [QUESTIONS[0]["tests"]])[0],
                                             abs=1e-5)
