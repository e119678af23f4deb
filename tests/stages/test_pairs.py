"""The pair rule of the method (§6) pinned by hand, and the `pairs` stage on files."""

import importlib.util
import json
import random

import pytest

from acecoder.errors import ConfigError, InputError
from acecoder.prompts import program_response, question_prompt
from acecoder.records import DatasetRow, Inference
from acecoder.stages.pairs import PairSettings, make_pairs, run


def program(model, cid):
    return f"def f():\n    return {model!r}, {cid}"


def sample(model, cid, rate, code=None):
    code = program(model, cid) if code is None else code
    return Inference(
        model_name=model,
        completion_id=cid,
        pass_rate=rate,
        completion=f"Here you go:\n```python\n{code}\n```\nIt returns a tuple.",
    )


def question(qid, samples, *, source="oss"):
    return DatasetRow(
        id=qid,
        source=source,
        question=f"Write f for {qid}.",
        test_cases=["assert f() == 1", "assert f() != 2"],
        inferences=samples,
        context_messages=[{"role": "user", "content": f"Write f for {qid}."}],
    )


def one_model(rates, model="m"):
    return question("q", [sample(model, cid, rate) for cid, rate in enumerate(rates)])


def summary_of(pairs):
    return [(p.id, round(p.margin, 9)) for p in pairs]


# ---------------------------------------------------------------- the rule, by hand

PINNED = [1.0, 0.8, 0.5, 0.4, 0.3, 0.0]
# chosen needs >= 0.8: cids 0 (1.0) and 1 (0.8).
# 1.0 beats 0.5, 0.4, 0.3 (gaps 0.5, 0.6, 0.7); not 0.8 (gap 0.2) nor 0.0 (zero-pass).
# 0.8 beats 0.4, 0.3 (gaps 0.4 - the boundary, kept - and 0.5); not 0.5 (gap 0.3).
# Order: -margin, then chosen cid, then rejected cid.
PINNED_PAIRS = [
    ("q/m/0>m/4", 0.7),
    ("q/m/0>m/3", 0.6),
    ("q/m/0>m/2", 0.5),
    ("q/m/1>m/4", 0.5),
    ("q/m/1>m/3", 0.4),
]


def test_pinned_by_hand():
    pairs = make_pairs(one_model(PINNED), PairSettings())
    assert summary_of(pairs) == PINNED_PAIRS
    first = pairs[0]
    assert first.chosen == program("m", 0) and first.rejected == program("m", 4)  # programs, not completions
    assert (first.chosen_pass_rate, first.rejected_pass_rate) == (1.0, 0.3)
    assert (first.chosen_model, first.rejected_model, first.question_id) == ("m", "m", "q")
    assert first.question == "Write f for q." and first.tests == ["assert f() == 1", "assert f() != 2"]


def test_order_does_not_depend_on_the_row_order():
    row = one_model(PINNED)
    random.Random(7).shuffle(row.inferences)
    assert summary_of(make_pairs(row, PairSettings())) == PINNED_PAIRS


def test_float_boundaries_behave_as_the_rule_is_written():
    # 0.85 - 0.45 == 0.39999999999999997 in floating point: the gap is 0.4, kept.
    # 0.1 + 0.7 == 0.7999999999999999: a pass rate of 0.8, a valid chosen program.
    assert [p.id for p in make_pairs(one_model([0.85, 0.45]), PairSettings())] == ["q/m/0>m/1"]
    assert [p.id for p in make_pairs(one_model([0.1 + 0.7, 0.3]), PairSettings())] == ["q/m/0>m/1"]
    # 0.8 chosen vs 0.41: gap 0.39 < 0.4, not a pair.
    assert make_pairs(one_model([0.8, 0.41]), PairSettings()) == []
    # rejected must be strictly above min_rejected, also at a non-zero threshold.
    assert make_pairs(one_model([1.0, 0.2]), PairSettings(min_rejected=0.2)) == []
    assert len(make_pairs(one_model([1.0, 0.2000001]), PairSettings(min_rejected=0.2))) == 1


def test_zero_pass_programs_are_never_rejected():
    assert make_pairs(one_model([1.0, 0.0, 0.0]), PairSettings()) == []
    assert [p.id for p in make_pairs(one_model([1.0, 0.0, 0.5]), PairSettings())] == ["q/m/0>m/2"]


def test_duplicate_programs_count_once_first_by_completion_id():
    same = "def f():\n    return 1"
    row = question(
        "q",
        [
            sample("m", 3, 1.0, same),  # same program, listed first, but a later completion_id
            sample("m", 0, 0.9, same),  # the one kept: first by completion_id
            sample("m", 1, 0.3),
            sample("m", 2, 0.3, program("m", 1)),  # a copy of cid 1: gone too
        ],
    )
    pairs = make_pairs(row, PairSettings())
    assert [(p.id, p.chosen_pass_rate) for p in pairs] == [("q/m/0>m/1", 0.9)]
    # the copy is found on the extracted program, not the completion text
    row.inferences[0].completion = f"Another preamble\n```python\n{same}\n```"
    assert [p.id for p in make_pairs(row, PairSettings())] == ["q/m/0>m/1"]


def test_a_completion_that_is_a_program_is_taken_as_is():
    # Two programs whose docstrings quote the same fenced example: extracting code from them
    # would give that example for both, one "duplicate" and no pair.
    def documented(result):
        return (
            f'def f():\n    """Use it so:\n\n    ```python\n    f()\n    ```\n    """\n    return {result}\n'
        )

    good, bad = documented(1), documented(2)
    row = question(
        "q",
        [
            Inference(model_name="m", completion_id=0, completion=good, pass_rate=1.0),
            Inference(model_name="m", completion_id=1, completion=bad, pass_rate=0.5),
        ],
    )
    [pair] = make_pairs(row, PairSettings())
    assert (pair.chosen, pair.rejected) == (good, bad)
    # a raw completion (chat around a fence) does not parse: its code is extracted, as before
    assert make_pairs(one_model([1.0, 0.5]), PairSettings())[0].chosen == program("m", 0)


def test_first_by_completion_id_even_when_that_copy_scored_lower():
    same = "def f():\n    return 1"
    row = question("q", [sample("m", 1, 1.0, same), sample("m", 0, 0.5, same), sample("m", 2, 0.3)])
    assert make_pairs(row, PairSettings()) == []  # the kept copy has 0.5: no chosen program


def two_models():
    return question("q", [sample("a", 0, 1.0), sample("a", 1, 0.5), sample("b", 0, 0.9), sample("b", 1, 0.3)])


def test_cross_model_off_and_on():
    assert summary_of(make_pairs(two_models(), PairSettings())) == [("q/b/0>b/1", 0.6), ("q/a/0>a/1", 0.5)]
    assert summary_of(make_pairs(two_models(), PairSettings(cross_model=True))) == [
        ("q/a/0>b/1", 0.7),
        ("q/b/0>b/1", 0.6),
        ("q/a/0>a/1", 0.5),
        ("q/b/0>a/1", 0.4),  # 0.9 - 0.5 == 0.4 exactly: kept
    ]


def test_cross_model_never_pairs_identical_programs_and_drops_repeated_pairs():
    same, wrong = "def f():\n    return 1", "def f():\n    return 2"
    row = question(
        "q",
        [
            sample("a", 0, 1.0, same),
            sample("a", 1, 0.25, wrong),
            sample(
                "b", 0, 0.5, same
            ),  # the same program, scored lower (a flaky run): never paired with a's copy
            sample("b", 1, 0.25, wrong),
        ],
    )
    pairs = make_pairs(row, PairSettings(cross_model=True))
    # a/0 > a/1 and a/0 > b/1 have the same two texts: the within-model one stays
    assert [p.id for p in pairs] == ["q/a/0>a/1"]


def test_models_filter():
    assert [p.id for p in make_pairs(two_models(), PairSettings(models=["b"]))] == ["q/b/0>b/1"]
    assert [p.id for p in make_pairs(two_models(), PairSettings(models=["a"], cross_model=True))] == [
        "q/a/0>a/1"
    ]
    assert make_pairs(two_models(), PairSettings(models=["c"])) == []


def test_cap_keeps_the_largest_margins_deterministically():
    assert summary_of(make_pairs(one_model(PINNED), PairSettings(max_per_question=2))) == PINNED_PAIRS[:2]
    # a tie at margin 0.5: the earlier chosen completion wins
    assert summary_of(make_pairs(one_model(PINNED), PairSettings(max_per_question=3))) == PINNED_PAIRS[:3]
    row = one_model(PINNED)
    row.inferences.reverse()
    assert summary_of(make_pairs(row, PairSettings(max_per_question=3))) == PINNED_PAIRS[:3]


def test_margins():
    pairs = make_pairs(one_model(PINNED), PairSettings())
    assert [p.margin for p in pairs] == pytest.approx([0.7, 0.6, 0.5, 0.5, 0.4], abs=1e-12)
    assert all(p.margin == p.chosen_pass_rate - p.rejected_pass_rate for p in pairs)


@pytest.mark.parametrize(
    "settings",
    [
        PairSettings(min_chosen=1.5),
        PairSettings(min_gap=-0.1),
        PairSettings(max_per_question=0),
        PairSettings(models=[]),
    ],
)
def test_bad_settings_fail_before_reading(tmp_path, settings):
    with pytest.raises(ConfigError):
        run(tmp_path / "missing.jsonl", tmp_path / "out.jsonl", settings=settings)


# ---------------------------------------------------------------- the stage


def write_dataset(path, rows, *, extra_lines=()):
    from dataclasses import asdict

    lines = [json.dumps(asdict(row)) for row in rows] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def dataset_rows():
    return [
        one_model(PINNED),
        question("evol_1", [sample("m", 0, 1.0), sample("m", 1, 0.0)], source="evol"),  # no pair
        question("evol_2", [sample("m", 0, 0.9), sample("m", 1, 0.25), sample("n", 0, 0.2)], source="evol"),
    ]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_writes_pairs_and_summarises(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows())
    out = tmp_path / "pairs.jsonl"
    summary = run(data, out, settings=PairSettings(models=["m", "x"]))
    rows = read_jsonl(out)
    assert [row["id"] for row in rows] == [pair_id for pair_id, _ in PINNED_PAIRS] + ["evol_2/m/0>m/1"]
    assert rows[0] == {
        "id": "q/m/0>m/4",
        "question_id": "q",
        "question": "Write f for q.",
        "tests": ["assert f() == 1", "assert f() != 2"],
        "chosen": program("m", 0),
        "rejected": program("m", 4),
        "chosen_pass_rate": 1.0,
        "rejected_pass_rate": 0.3,
        "chosen_model": "m",
        "rejected_model": "m",
        "margin": 0.7,
    }
    assert summary.to_dict() == {
        "rows": 3,
        "skipped": 0,
        "problems": [],
        "questions_with_pairs": 2,
        "pairs": 6,
        "duplicate_programs": 0,
        "duplicate_pairs": 0,
        "dropped_by_cap": 0,
        "by_source": {"evol": 1, "oss": 5},
        "by_models": {"m>m": 6},
        "models_seen": ["m", "n"],
        "models_missing": ["x"],
        "format": "pairs",
        "dataset_info": None,
        "output": str(out),
        "seconds": summary.seconds,
    }


def test_run_counts_duplicates_and_the_cap(tmp_path):
    same = "def f():\n    return 1"
    rows = [
        one_model(PINNED),
        question("d", [sample("m", 0, 1.0, same), sample("m", 1, 1.0, same), sample("m", 2, 0.5)]),
    ]
    data = write_dataset(tmp_path / "data.jsonl", rows)
    summary = run(data, tmp_path / "out.jsonl", settings=PairSettings(max_per_question=2))
    assert (summary.pairs, summary.duplicate_programs, summary.dropped_by_cap) == (3, 1, 3)


@pytest.mark.parametrize("format", ["pairs", "trl", "llama-factory", "openrlhf"])
def test_every_format_is_deterministic(tmp_path, format):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows())
    run(data, tmp_path / "one.jsonl", settings=PairSettings(), format=format)
    run(data, tmp_path / "two.jsonl", settings=PairSettings(), format=format)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert len(read_jsonl(tmp_path / "one.jsonl")) == 6


def test_llama_factory_rows_render_through_the_shared_prompt(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows())
    run(data, tmp_path / "lf.jsonl", settings=PairSettings(), format="llama-factory")
    first = read_jsonl(tmp_path / "lf.jsonl")[0]
    assert first == {
        "instruction": question_prompt("Write f for q.", ["assert f() == 1", "assert f() != 2"]),
        "input": "",
        "chosen": program_response(program("m", 0)),
        "rejected": program_response(program("m", 4)),
        "id": "q/m/0>m/4",
    }


def test_parquet_output(tmp_path):
    import pyarrow.parquet as pq

    data = write_dataset(tmp_path / "data.jsonl", dataset_rows())
    run(data, tmp_path / "pairs.parquet", settings=PairSettings(), format="trl")
    table = pq.read_table(tmp_path / "pairs.parquet").to_pylist()
    assert len(table) == 6 and table[0]["chosen"][0]["role"] == "assistant" and table[0]["margin"] == 0.7


BAD_LINES = [
    '{"id": "bad", "source": "oss"}',  # line 4: fields missing
    json.dumps(
        {
            "id": "q",
            "source": "oss",
            "question": "again",
            "test_cases": [],
            "inferences": [],
            "context_messages": [],
        }
    ),  # line 5: a second "q"
]


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows(), extra_lines=BAD_LINES)
    summary = run(data, tmp_path / "out.jsonl", settings=PairSettings())
    assert (summary.rows, summary.skipped, summary.pairs) == (3, 2, 6)
    assert summary.problems[0].startswith(f"{data}:4: field 'question'")
    assert (
        summary.problems[1]
        == f"{data}:5: id 'q' also on line 1: ids must be unique"
    )


def test_strict_names_the_line_of_a_repeated_id(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows(), extra_lines=BAD_LINES[1:])
    with pytest.raises(InputError, match=r"data\.jsonl:4: id 'q' also on line 1"):
        run(data, tmp_path / "out.jsonl", settings=PairSettings(), strict=True)
    assert list(tmp_path.iterdir()) == [data]


def test_strict_stops_at_the_first_bad_row_and_leaves_no_output(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows(), extra_lines=BAD_LINES)
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=r"data\.jsonl:4: field 'question'"):
        run(data, out, settings=PairSettings(), strict=True)
    assert list(tmp_path.iterdir()) == [data]


def test_progress_sees_every_question(tmp_path):
    class Progress:
        def __init__(self):
            self.calls = []

        def total(self, n):
            self.calls.append(("total", n))

        def advance(self, row):
            self.calls.append(("advance", row.id))

    data = write_dataset(tmp_path / "data.jsonl", dataset_rows())
    progress = Progress()
    run(data, tmp_path / "out.jsonl", settings=PairSettings(), progress=progress)
    # no total(None) before reading: a bar shown then would sit above an input error
    assert progress.calls == [("advance", "q"), ("advance", "evol_1"), ("advance", "evol_2")]


def test_an_unsafe_output_is_refused_before_reading(tmp_path):
    data = write_dataset(tmp_path / "data.jsonl", dataset_rows())
    before = data.read_bytes()
    with pytest.raises(ConfigError, match="is also an input"):
        run(data, data, settings=PairSettings())
    assert data.read_bytes() == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a datasets folder"):  # not InputError: nothing was read
        run(tmp_path / "missing.jsonl", tmp_path / "mine", settings=PairSettings())
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_missing_package_fails_before_reading(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else find_spec(name, *a)
    )
    with pytest.raises(ConfigError, match="needs the 'pyarrow' package"):
        run(tmp_path / "missing.jsonl", tmp_path / "pairs.parquet", settings=PairSettings())


def test_parquet_input_gives_the_same_pairs(tmp_path):
    from acecoder.data.tables import write_records

    write_records(tmp_path / "data.parquet", dataset_rows())
    write_dataset(tmp_path / "data.jsonl", dataset_rows())
    run(tmp_path / "data.parquet", tmp_path / "a.jsonl", settings=PairSettings())
    run(tmp_path / "data.jsonl", tmp_path / "b.jsonl", settings=PairSettings())
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
