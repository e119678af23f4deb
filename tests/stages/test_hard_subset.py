"""The hard-subset rule of the method (§9) pinned by hand, and the `hard-subset` stage on files."""

import importlib.util
import json
import math
import random
from dataclasses import asdict

import pytest

from acecoder.errors import ConfigError, InputError
from acecoder.prompts import chat
from acecoder.records import DatasetRow, Inference
from acecoder.stages.hard_subset import HardSubsetSettings, pass_rate_stats, quantile, run, select_hard


def question(qid, rates, *, model="m", source="oss", more=()):
    samples = [
        Inference(model_name=model, completion_id=k, completion=f"```python\nx = {k}\n```", pass_rate=rate)
        for k, rate in enumerate(rates)
    ] + list(more)
    return DatasetRow(
        id=qid,
        source=source,
        question=f"Question {qid}.",
        test_cases=[f"assert {qid!r}", "assert 1"],
        inferences=samples,
        context_messages=[{"role": "user", "content": f"Question {qid}."}],
    )


# ---------------------------------------------------------------- quantiles


def test_quantile_is_linear_interpolation_between_order_statistics():
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5  # the mean of the two middle values
    assert quantile([0.0, 10.0], 0.25) == 2.5
    assert quantile([5.0, 1.0], 0.0) == 1.0 and quantile([5.0, 1.0], 1.0) == 5.0
    assert quantile([7.0], 0.3) == 7.0


def test_quantile_agrees_with_numpy_default():
    numpy = pytest.importorskip("numpy")
    rng = random.Random(3)
    for _ in range(200):
        values = [
            rng.choice([0.0, 0.25, 0.5, 1 / 3, 0.8, 1.0, rng.random()]) for _ in range(rng.randint(1, 40))
        ]
        level = rng.choice([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, rng.random()])
        assert quantile(values, level) == pytest.approx(float(numpy.quantile(values, level)), abs=1e-15)


# ---------------------------------------------------------------- the rule, by hand

#   question  pass rates        mean   population std
#   q1        0.0 0.0           0.0    0.0
#   q2        0.0 1.0           0.5    0.5
#   q3        0.2 0.6           0.4    0.2
#   q4        1.0 1.0           1.0    0.0
#   q5        0.5 0.9           0.7    0.2
#   q6        0.1 0.3 0.5       0.3    sqrt((0.04 + 0 + 0.04) / 3) = 0.163299...
#   q7        (no samples)      -      -            skipped
#   q8        0.25 0.45         0.35   0.1
#
# means sorted: 0, 0.3, 0.35, 0.4, 0.5, 0.7, 1.0 -> median (7 values) = 0.4
# mean <= 0.4: q1, q3 (0.4, at the threshold: kept), q6, q8
# their stds sorted: 0, 0.1, 0.163299, 0.2 -> median = (0.1 + 0.163299) / 2 = 0.131650
# std >= 0.131650: q3, q6.  (A lower median, 0.1, would also keep q8; an upper mean
# median, 0.5, would keep q2: the interpolation is what this pins.)
HAND = {
    "q1": [0.0, 0.0],
    "q2": [0.0, 1.0],
    "q3": [0.2, 0.6],
    "q4": [1.0, 1.0],
    "q5": [0.5, 0.9],
    "q6": [0.1, 0.3, 0.5],
    "q7": [],
    "q8": [0.25, 0.45],
}
STD_Q6 = math.sqrt(0.08 / 3)


def hand_rows():
    return [question(qid, rates, source="evol" if qid == "q6" else "oss") for qid, rates in HAND.items()]


def test_stats_by_hand():
    assert pass_rate_stats(question("q6", HAND["q6"])) == (0.3, round(STD_Q6, 12))
    assert pass_rate_stats(question("q3", HAND["q3"])) == (0.4, 0.2)
    assert pass_rate_stats(question("q7", [])) is None


def test_select_hard_pinned_by_hand():
    assert [row.id for row in select_hard(hand_rows(), HardSubsetSettings())] == ["q3", "q6"]


def test_other_quantile_levels_by_hand():
    # mean <= the 0.25 quantile (h = 1.5 between 0.3 and 0.35: 0.325): q1, q6; std >= median of (0, 0.1633): q6
    assert [r.id for r in select_hard(hand_rows(), HardSubsetSettings(mean_quantile=0.25))] == ["q6"]
    # every question, then std >= 0 keeps all with samples
    assert len(select_hard(hand_rows(), HardSubsetSettings(mean_quantile=1.0, std_quantile=0.0))) == 7


def test_float_noise_cannot_split_ties():
    # the same pass rates in another order or repeated: the same mean and std, to the last bit we compare
    rates = [0.1, 0.7, 0.2, 1 / 3, 0.9]
    base = pass_rate_stats(question("a", rates))
    assert pass_rate_stats(question("b", list(reversed(rates)))) == base
    assert pass_rate_stats(question("c", rates * 3)) == base
    assert pass_rate_stats(question("d", [0.1] * 3)) == (0.1, 0.0)


def test_models_filter():
    other = [Inference(model_name="big", completion_id=0, completion="", pass_rate=1.0)]
    rows = [question("a", [0.0, 0.5], more=other), question("b", [0.2, 0.2]), question("c", [], more=other)]
    # all models: a (0, .5, 1) mean .5 std .408; b .2/0; c 1/0 -> median mean .5: a, b; median std .204: a
    assert [r.id for r in select_hard(rows, HardSubsetSettings())] == ["a"]
    # only "m": a mean .25 std .25, b .2/0, c has no samples -> median mean .225: b; its std 0: b
    assert [r.id for r in select_hard(rows, HardSubsetSettings(models=["m"]))] == ["b"]


@pytest.mark.parametrize(
    "settings",
    [
        HardSubsetSettings(mean_quantile=1.5),
        HardSubsetSettings(std_quantile=-0.1),
        HardSubsetSettings(models=[]),
    ],
)
def test_bad_settings_fail_before_reading(tmp_path, settings):
    with pytest.raises(ConfigError):
        run(tmp_path / "missing.jsonl", tmp_path / "out.jsonl", settings=settings)


# ---------------------------------------------------------------- the stage


def write_dataset(path, rows, *, extra_lines=()):
    lines = [json.dumps(asdict(row)) for row in rows] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_rows_and_summary(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", hand_rows())
    out = tmp_path / "hard.jsonl"
    summary = run(data, out, settings=HardSubsetSettings(models=["m", "absent"]))
    assert read_jsonl(out) == [asdict(row) for row in hand_rows() if row.id in ("q3", "q6")]
    expected = {
        "rows": 8,
        "skipped": 0,
        "problems": [],
        "no_samples": 1,
        "mean_threshold": 0.4,
        "hard": 4,
        "std_threshold": pytest.approx((0.1 + STD_Q6) / 2, abs=1e-12),
        "selected": 2,
        "by_source": {"evol": 1, "oss": 1},
        "models_seen": ["m"],
        "models_missing": ["absent"],
        "format": "rows",
        "output": str(out),
        "seconds": summary.seconds,
    }
    assert summary.to_dict() == expected


def test_run_trl_and_openrlhf(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", hand_rows())
    run(data, tmp_path / "trl.jsonl", settings=HardSubsetSettings(), format="trl")
    run(data, tmp_path / "orl.jsonl", settings=HardSubsetSettings(), format="openrlhf", prompt="acecoder")
    tests = ["assert 'q3'", "assert 1"]
    assert read_jsonl(tmp_path / "trl.jsonl")[0] == {  # the method's RL prompt: the bare question
        "prompt": [{"role": "user", "content": "Question q3."}],
        "tests": tests,
        "id": "q3",
    }
    assert read_jsonl(tmp_path / "orl.jsonl")[0] == {
        "context_messages": chat("Question q3.", tests),
        "tests": tests,
        "id": "q3",
    }
    with pytest.raises(ConfigError, match="RL prompt 'first_test'"):
        run(data, tmp_path / "x.jsonl", settings=HardSubsetSettings(), format="trl", prompt="first_test")


def test_run_verl_parquet_reads_back(tmp_path):
    import pyarrow.parquet as pq

    data = write_dataset(tmp_path / "data.jsonl", hand_rows())
    out = tmp_path / "train.parquet"
    run(data, out, settings=HardSubsetSettings(), format="verl")
    table = pq.read_table(out)
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    rows = table.to_pylist()
    assert [row["extra_info"] for row in rows] == [{"id": "q3", "index": 0}, {"id": "q6", "index": 1}]
    assert [row["data_source"] for row in rows] == ["acecoder/oss", "acecoder/evol"]
    assert rows[1]["reward_model"] == {
        "style": "rule",
        "ground_truth": json.dumps(["assert 'q6'", "assert 1"]),
    }
    assert json.loads(rows[0]["reward_model"]["ground_truth"]) == ["assert 'q3'", "assert 1"]
    assert (
        rows[0]["prompt"] == [{"role": "user", "content": "Question q3."}]
        and rows[0]["ability"] == "code"
    )


@pytest.mark.parametrize("name", ["hard.jsonl", "hard.parquet"])
@pytest.mark.parametrize("format", ["rows", "trl", "verl", "openrlhf"])
def test_two_runs_give_identical_bytes(tmp_path, format, name):
    data = write_dataset(tmp_path / "data.jsonl", hand_rows())
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    run(data, tmp_path / "a" / name, settings=HardSubsetSettings(), format=format)
    run(data, tmp_path / "b" / name, settings=HardSubsetSettings(), format=format)
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


BAD_LINES = [
    json.dumps(
        {
            "id": "bad",
            "source": "oss",
            "question": "x",
            "test_cases": "not a list",
            "inferences": [],
            "context_messages": [],
        }
    ),
]


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", hand_rows()[:4], extra_lines=BAD_LINES)
    data.write_text(data.read_text() + "".join(json.dumps(asdict(row)) + "\n" for row in hand_rows()[4:]))
    summary = run(data, tmp_path / "out.jsonl", settings=HardSubsetSettings())
    assert (summary.rows, summary.skipped, summary.selected) == (8, 1, 2)
    assert summary.problems == [f"{data}:5: field 'test_cases': input should be a valid list"]
    # the selection is made on the valid rows only, and their order is kept on the second pass
    assert [row["id"] for row in read_jsonl(tmp_path / "out.jsonl")] == ["q3", "q6"]


def test_strict_names_file_and_line_and_leaves_no_output(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", hand_rows(), extra_lines=BAD_LINES)
    with pytest.raises(InputError, match=r"data\.jsonl:9: field 'test_cases'"):
        run(data, tmp_path / "out.jsonl", settings=HardSubsetSettings(), strict=True)
    assert list(tmp_path.iterdir()) == [data]


def test_repeated_ids_are_malformed_rows(tmp_path):
    # Another q1 (line 9), mean 0.3, std 0.3: counted, it would move the mean median to 0.375 (dropping q3)
    # and be selected itself, as "q1".
    again = asdict(question("q1", [0.0, 0.6]))
    data = write_dataset(tmp_path / "data.jsonl", hand_rows(), extra_lines=[json.dumps(again)])
    summary = run(data, tmp_path / "out.jsonl", settings=HardSubsetSettings())
    assert (summary.rows, summary.skipped, summary.selected) == (8, 1, 2)
    assert summary.problems == [
        f"{data}:9: id 'q1' also on line 1: ids must be unique"
    ]
    assert [row["id"] for row in read_jsonl(tmp_path / "out.jsonl")] == ["q3", "q6"]

    with pytest.raises(InputError, match=r"data\.jsonl:9: id 'q1' also on line 1"):
        run(data, tmp_path / "strict.jsonl", settings=HardSubsetSettings(), strict=True)
    assert not (tmp_path / "strict.jsonl").exists()


def test_an_unsafe_output_is_refused_before_reading(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", hand_rows())
    before = data.read_bytes()
    with pytest.raises(ConfigError, match="is also an input"):
        run(data, data, settings=HardSubsetSettings())
    assert data.read_bytes() == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a datasets folder"):  # not InputError: nothing was read
        run(tmp_path / "missing.jsonl", tmp_path / "mine", settings=HardSubsetSettings())
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_missing_package_fails_before_reading(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else find_spec(name, *a)
    )
    with pytest.raises(ConfigError, match="needs the 'pyarrow' package"):
        run(
            tmp_path / "missing.jsonl",
            tmp_path / "train.parquet",
            settings=HardSubsetSettings(),
            format="verl",
        )


def test_an_empty_dataset_is_an_input_error_and_writes_nothing(tmp_path):
    from acecoder.errors import InputError

    data = tmp_path / "data.jsonl"
    data.write_text("")
    with pytest.raises(InputError, match=r"data\.jsonl: no usable row \(the file has no rows\)"):
        run(data, tmp_path / "out.jsonl", settings=HardSubsetSettings())
    assert not (tmp_path / "out.jsonl").exists()


def test_nothing_ranked_leaves_the_thresholds_null(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", [question("a", []), question("b", [])])
    summary = run(data, tmp_path / "out.jsonl", settings=HardSubsetSettings())
    data = summary.to_dict()
    assert (data["rows"], data["no_samples"], data["hard"], data["selected"]) == (2, 2, 0, 0)
    assert data["mean_threshold"] is None and data["std_threshold"] is None
    assert "None" not in json.dumps(data) and '"mean_threshold": null' in json.dumps(data)


def test_progress_counts_the_second_pass(tmp_path):
    calls = []

    class Progress:
        def total(self, n):
            calls.append(("total", n))

        def advance(self, row):
            calls.append(row.id)

    data = write_dataset(tmp_path / "data.jsonl", hand_rows())
    run(data, tmp_path / "out.jsonl", settings=HardSubsetSettings(), progress=Progress())
    assert calls == [("total", 8), *HAND]
