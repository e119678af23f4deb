"""Each export's exact shape, rendered through the one prompt template, and all-or-nothing writing."""

import dataclasses
import json

import pytest

from acecoder.data import exports
from acecoder.data.exports import PAIR_FORMATS, ROW_FORMATS, export_pair, export_row, write_export
from acecoder.errors import ConfigError, InputError
from acecoder.prompts import INSTRUCTION
from acecoder.records import DatasetRow, Inference, Pair

PAIR = Pair(
    id="oss_1/qwen/0>qwen/5",
    question_id="oss_1",
    question="Add two numbers.",
    tests=["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
    chosen="def add(a, b):\n    return a + b",
    rejected="def add(a, b):\n    return a - b",
    chosen_pass_rate=0.7,
    rejected_pass_rate=0.3,
    chosen_model="qwen",
    rejected_model="qwen",
)
ROW = DatasetRow(
    id="oss_1",
    source="oss",
    question="Add two numbers.",
    test_cases=["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
    inferences=[Inference(model_name="qwen", completion_id=0, completion="```python\nx\n```", pass_rate=0.5)],
    context_messages=[{"role": "user", "content": "Add two numbers."}],
)

# What the shared template renders, written out once by hand: a change to prompts.py shows up here.
PROMPT = f"{INSTRUCTION}\n\nAdd two numbers.\n\nYour code should pass this test:\n\nassert add(1, 2) == 3"
CHOSEN = "Here is a solution:\n```python\ndef add(a, b):\n    return a + b\n```"
REJECTED = "Here is a solution:\n```python\ndef add(a, b):\n    return a - b\n```"
TESTS = ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]


def test_margin_is_rounded_past_float_noise():
    assert PAIR.margin == 0.39999999999999997
    assert exports.margin(PAIR) == 0.4


def test_pairs_format():
    assert export_pair(PAIR, "pairs") == {
        "id": "oss_1/qwen/0>qwen/5",
        "question_id": "oss_1",
        "question": "Add two numbers.",
        "tests": TESTS,
        "chosen": PAIR.chosen,
        "rejected": PAIR.rejected,
        "chosen_pass_rate": 0.7,
        "rejected_pass_rate": 0.3,
        "chosen_model": "qwen",
        "rejected_model": "qwen",
        "margin": 0.4,
    }


def test_trl_pair_format():
    row = export_pair(PAIR, "trl")
    assert row == {
        "prompt": [{"role": "user", "content": PROMPT}],
        "chosen": [{"role": "assistant", "content": CHOSEN}],
        "rejected": [{"role": "assistant", "content": REJECTED}],
        "margin": 0.4,
    }
    assert list(row) == ["prompt", "chosen", "rejected", "margin"]


def test_llama_factory_pair_format():
    row = export_pair(PAIR, "llama-factory")
    assert row == {"instruction": PROMPT, "input": "", "chosen": CHOSEN, "rejected": REJECTED, "id": PAIR.id}
    assert list(row) == ["instruction", "input", "chosen", "rejected", "id"]


def test_openrlhf_pair_format():
    # message lists, for --apply_chat_template: the chat template scoring will use too
    row = export_pair(PAIR, "openrlhf")
    assert row == {
        "prompt": [{"role": "user", "content": PROMPT}],
        "chosen": [{"role": "assistant", "content": CHOSEN}],
        "rejected": [{"role": "assistant", "content": REJECTED}],
        "margin": 0.4,
    }


def test_rows_format_is_the_row_unchanged():
    from dataclasses import asdict

    assert export_row(ROW, "rows", index=3) == asdict(ROW)


def test_trl_row_format():
    assert export_row(ROW, "trl", index=0, prompt="acecoder") == {
        "prompt": [{"role": "user", "content": PROMPT}],
        "tests": TESTS,
        "id": "oss_1",
    }


def test_verl_row_format():
    row = export_row(ROW, "verl", index=7, prompt="acecoder")
    assert row == {
        "data_source": "acecoder/oss",
        "prompt": [{"role": "user", "content": PROMPT}],
        "ability": "code",
        "reward_model": {"style": "rule", "ground_truth": json.dumps(TESTS)},
        "extra_info": {"id": "oss_1", "index": 7},
    }
    assert json.loads(row["reward_model"]["ground_truth"]) == TESTS


def test_rows_the_filter_timed_carry_limits_to_trl_and_verl():
    """Each test's limit, max(0.1 s, 10 x the oracle's CPU time), at most 3 s; verl's
    ground_truth becomes an object, which the reward reads as it reads the list."""
    from acecoder.rewards import parse_tests
    from acecoder.rewards._combined import parse_suite

    timed = dataclasses.replace(ROW, test_seconds=[0.001, 0.05])
    assert export_row(timed, "trl", index=0)["limits"] == [0.1, 0.5]
    truth = export_row(timed, "verl", index=0)["reward_model"]["ground_truth"]
    assert json.loads(truth) == {"tests": TESTS, "limits": [0.1, 0.5]}
    assert parse_suite(truth) == (TESTS, [0.1, 0.5]) and parse_tests(truth) == TESTS
    assert parse_suite(json.dumps(TESTS)) == (TESTS, None)
    from acecoder.rewards.openrlhf import labels_as_suites

    suite = export_row(timed, "openrlhf", index=0)["suite"]  # OpenRLHF's --data.label_key suite
    assert labels_as_suites([suite, TESTS]) == ([TESTS, TESTS], [[0.1, 0.5], None])
    assert "suite" not in export_row(ROW, "openrlhf", index=0)
    with pytest.raises(InputError, match="limits must be a positive number of seconds for each of its 2 tests"):
        parse_suite({"tests": TESTS, "limits": [1.0]})


def test_openrlhf_row_format():
    assert export_row(ROW, "openrlhf", index=0, prompt="acecoder") == {
        "context_messages": [{"role": "user", "content": PROMPT}],
        "tests": TESTS,
        "id": "oss_1",
    }


def test_the_rl_prompt_is_the_bare_question_by_default():
    """The method's RL prompt: the released AceCode-87K's context_messages, the question alone."""
    for format, key in (("trl", "prompt"), ("verl", "prompt"), ("openrlhf", "context_messages")):
        assert export_row(ROW, format, index=0)[key] == [{"role": "user", "content": ROW.question}]


def test_exports_do_not_share_lists_with_the_records():
    row = export_row(ROW, "trl", index=0)
    row["tests"].append("assert False")
    assert ROW.test_cases == TESTS


def test_unknown_formats_name_the_choices():
    with pytest.raises(ConfigError, match="pairs, trl, llama-factory, openrlhf"):
        export_pair(PAIR, "dpo")
    with pytest.raises(ConfigError, match="rows, trl, verl, openrlhf"):
        export_row(ROW, "llama-factory", index=0)
    assert PAIR_FORMATS == ("pairs", "trl", "llama-factory", "openrlhf")
    assert ROW_FORMATS == ("rows", "trl", "verl", "openrlhf")


# ---------------------------------------------------------------- writing


def test_write_export_is_all_or_nothing(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"old": true}\n')

    def failing():
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_export(out, failing())
    assert out.read_text() == '{"old": true}\n'  # the previous output is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no partial file left

    assert write_export(out, [{"a": 1}, {"b": "é"}]) == 2
    assert out.read_text(encoding="utf-8") == '{"a": 1}\n{"b": "é"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_write_export_parquet_and_datasets_folder(tmp_path):
    import datasets
    import pyarrow.parquet as pq

    rows = [export_row(ROW, "verl", index=0)]
    write_export(tmp_path / "train.parquet", rows)
    assert pq.read_table(tmp_path / "train.parquet").to_pylist() == rows

    folder = tmp_path / "train_ds"
    write_export(folder, rows)
    write_export(folder, rows + rows)  # an existing folder is replaced whole
    assert len(datasets.load_from_disk(str(folder))) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet", "train_ds"]


def test_public_surface():
    assert set(exports.__all__) == {
        "PAIR_FORMATS",
        "ROW_FORMATS",
        "export_pair",
        "export_row",
        "margin",
        "write_export",
    }


def test_an_output_never_replaces_what_it_should_not(tmp_path):
    import pytest

    from acecoder.data.exports import write_export
    from acecoder.errors import ConfigError

    precious = tmp_path / "victim"
    precious.mkdir()
    (precious / "notes.txt").write_text("precious")
    for bad in (precious, tmp_path / ".", tmp_path / ".."):
        with pytest.raises(ConfigError):
            write_export(bad, [{"id": "x"}])
    assert (precious / "notes.txt").read_text() == "precious"
    folder = tmp_path / "out"
    write_export(folder, [{"id": "a"}])
    write_export(folder, [])  # an earlier datasets folder may be replaced, and may end up empty
    from acecoder.data.tables import _rows

    assert list(_rows(str(folder), None)) == []


STDIO = {"kind": "stdio", "cases": [["1 2\n", "3\n"], ["0 0\n", "0\n"]], "rule": "prime_code"}


def test_a_suite_row_exports_its_suite_where_each_adapter_reads_it():
    """A row whose tests are a suite of another kind (the filter on stdin/stdout or pytest
    tests): `trl` and `openrlhf` write it as JSON text, `verl` inside its ground truth, and
    each reads back as the same TestSuite with its limits; no case shown in the prompt."""
    from acecoder.data.suites import read_suite
    from acecoder.rewards._combined import parse_suite
    from acecoder.rewards.openrlhf import labels_as_suites

    row = dataclasses.replace(ROW, test_cases=STDIO, test_seconds=[0.001, 0.05])
    suite = read_suite(STDIO)[0]
    trl = export_row(row, "trl", index=0, prompt="acecoder")
    assert trl["prompt"][0]["content"] == f"{INSTRUCTION}\n\nAdd two numbers."
    assert json.loads(trl["tests"]) == STDIO and trl["limits"] == [0.1, 0.5]
    assert parse_suite({"tests": parse_suite(trl["tests"])[0], "limits": trl["limits"]}) == (suite, [0.1, 0.5])
    truth = export_row(row, "verl", index=0)["reward_model"]["ground_truth"]
    assert json.loads(truth) == {"tests": STDIO, "limits": [0.1, 0.5]} and parse_suite(truth) == (suite, [0.1, 0.5])
    openrlhf = export_row(row, "openrlhf", index=0)
    assert labels_as_suites([openrlhf["suite"], openrlhf["tests"]]) == ([suite, suite], [[0.1, 0.5], None])
    assert export_row(row, "rows", index=0)["test_cases"] == STDIO
    pair = dataclasses.replace(PAIR, tests=STDIO)
    assert export_pair(pair, "pairs")["tests"] == STDIO and export_pair(pair, "pairs")["tests"] is not STDIO
    assert "should pass" not in export_pair(pair, "llama-factory")["instruction"]


def test_a_table_cannot_mix_test_layouts_and_says_which_column(tmp_path):
    rows = [DatasetRow(id="a", source="s", question="q", test_cases=["assert True"], inferences=[], context_messages=[]),
            DatasetRow(id="b", source="s", question="q", test_cases={"kind": "stdio", "cases": [["1\n", "2\n"]]},
                       inferences=[], context_messages=[])]
    path = tmp_path / "mixed.parquet"
    with pytest.raises(InputError, match=r"mixed\.parquet: .*column 'test_cases' holds both lists and dict") as caught:
        write_export(path, rows, record_type=DatasetRow)
    assert caught.value.path == str(path) and not list(tmp_path.iterdir())  # nothing left behind
    assert write_export(tmp_path / "mixed.jsonl", rows, record_type=DatasetRow) == 2  # JSON lines hold any mix
