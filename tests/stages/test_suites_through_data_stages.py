"""Questions with stdin/stdout, call-based and pytest tests (TACO-style, KodCode-style) through
filter -> pairs -> hard-subset, as asserts go: the reference program is the oracle, a case it
fails is dropped from the suite, pass rates are over the kept cases, and the RL exports carry
the kept suite in a form the reward adapters read back. Pass rates, pairs and the selection
are pinned by hand (comments give the counts)."""

import json
from pathlib import Path

import pytest

from acecoder.data.suites import read_suite
from acecoder.data.tables import read_records
from acecoder.errors import InputError
from acecoder.records import DatasetRow, SuiteKind, TestSuite
from acecoder.stages import filter as filter_stage
from acecoder.stages import hard_subset, pairs

SETTINGS = {"oracle": "reference", "workers": 2, "timeout": 2.0}

# ---------------------------------------------------------------- TACO-style: stdin/stdout, call-based
# Six cases each; the last expects a wrong answer, which the reference fails: five are kept.
SUM = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_TESTS = {"inputs": ["1 2\n", "3 4\n", "0 0\n", "-5 2\n", "10 20\n", "2 2\n"],
             "outputs": ["3\n", "7\n", "0\n", "-3\n", "30\n", "5\n"]}
SUM_SAMPLES = [
    SUM,  # 5/5
    "a, b = map(int, input().split())\nprint(a + b if a >= 0 else 0)\n",  # fails -5 2: 4/5
    "a, b = map(int, input().split())\nprint(a * b)\n",  # only 0 0: 1/5
    "a, b = map(int input().split())\n",  # a syntax error: 0/5
]
BIGGEST = "def biggest(xs):\n    return max(xs)\n"
# TACO's call-based layout: each input the list of arguments, each output the value returned
BIGGEST_TESTS = {"fn_name": "biggest", "inputs": [[[1, 5, 2]], [[3]], [[-1, -2]], [[0, 0]], [[7, 8]], [[4, 4]]],
                 "outputs": [5, 3, -1, 0, 8, 5]}
BIGGEST_SAMPLES = [
    BIGGEST,  # 5/5
    "def biggest(xs):\n    return xs[0]\n",  # fails [1, 5, 2] and [7, 8]: 3/5
    "def biggest(xs):\n    return sorted(xs)[-1] if len(xs) > 1 else 0\n",  # fails [3]: 4/5
]

# ---------------------------------------------------------------- KodCode-style: pytest files
ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = {"test": "import pytest\nfrom solution import add\n\n\n"
                     "@pytest.mark.parametrize('a, b, total', [(1, 2, 3), (2, 2, 4), (0, 0, 0), (5, 5, 10), (-1, 1, 0),"
                     " (2, 3, 6)])\ndef test_add(a, b, total):\n    assert add(a, b) == total\n"}
ADD_SAMPLES = [
    ADD,  # 5/5
    "def add(a, b):\n    return a + b if a > 1 else 0\n",  # fails (1, 2): 4/5
    "def add(a, b):\n    return a * b\n",  # passes (2, 2) and (0, 0): 2/5
]
REVERSE = "def reverse(s):\n    return s[::-1]\n"
REVERSE_TESTS = {"test": "from solution import reverse\n\n\n"
                         "def test_empty():\n    assert reverse('') == ''\n\n\n"
                         "def test_one():\n    assert reverse('a') == 'a'\n\n\n"
                         "def test_word():\n    assert reverse('abc') == 'cba'\n\n\n"
                         "def test_wrong():\n    assert reverse('xy') == 'xy'\n\n\n"  # wrong: dropped
                         "def test_palindrome():\n    assert reverse('aba') == 'aba'\n\n\n"
                         "class TestPairs:\n    def test_two(self):\n        assert reverse('ab') == 'ba'\n"}
REVERSE_SAMPLES = [REVERSE, "def reverse(s):\n    return s\n"]  # 5/5; empty, one, palindrome: 3/5

QUESTIONS = {
    "taco_sum": ("taco", "Read two integers a and b from one line; print a + b.", SUM, SUM_TESTS, SUM_SAMPLES),
    "taco_biggest": ("taco", "Write biggest(xs): the largest number of the list xs.", BIGGEST, BIGGEST_TESTS,
                     BIGGEST_SAMPLES),
    "kodcode_add": ("kodcode", "Write add(a, b).", ADD, ADD_TESTS, ADD_SAMPLES),
    "kodcode_reverse": ("kodcode", "Write reverse(s): s backwards.", REVERSE, REVERSE_TESTS, REVERSE_SAMPLES),
}
PASS_RATES = {"taco_sum": [1.0, 0.8, 0.2, 0.0], "taco_biggest": [1.0, 0.6, 0.8], "kodcode_add": [1.0, 0.8, 0.4],
              "kodcode_reverse": [1.0, 0.6]}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def inputs(tmp_path: Path, names=QUESTIONS) -> tuple[Path, Path]:
    questions, samples = [], []
    for name in names:
        source, text, reference, tests, programs = QUESTIONS[name]
        questions.append({"id": name, "source": source, "question": text, "tests": tests, "reference": reference})
        samples += [{"question_id": name, "model": "policy", "sample_index": i, "completion": program,
                     "program": program} for i, program in enumerate(programs)]
    return write_jsonl(tmp_path / "questions.jsonl", questions), write_jsonl(tmp_path / "samples.jsonl", samples)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """The filter's dataset of the four questions (run once: the engine's time is the test's)."""
    tmp_path = tmp_path_factory.mktemp("suites")
    questions, samples = inputs(tmp_path)
    output = tmp_path / "dataset.jsonl"
    summary = filter_stage.run(questions, samples, output, settings=filter_stage.FilterSettings(**SETTINGS))
    assert (summary.questions, summary.kept) == (4, 4)
    assert summary.to_dict()["reference"]["failed_tests"] == 4  # the wrong case of each
    return output


def test_the_filter_keeps_the_cases_the_reference_passes_and_scores_over_them(dataset):
    rows = {row.id: row for row in read_records(dataset, DatasetRow)}
    assert {name: [i.pass_rate for i in row.inferences] for name, row in rows.items()} == PASS_RATES

    stdio = rows["taco_sum"].test_cases  # the wrong case (2 2 -> 5) is gone, the rest in order
    assert stdio == {"kind": "stdio", "cases": [[i, o] for i, o in zip(SUM_TESTS["inputs"], SUM_TESTS["outputs"])][:5],
                     "rule": "prime_code"}
    call = rows["taco_biggest"].test_cases
    assert call["kind"] == "call" and call["fn_name"] == "biggest" and len(call["cases"]) == 5
    assert [json.loads(expected) for _, expected in call["cases"]] == [5, 3, -1, 0, 8]
    add = rows["kodcode_add"].test_cases
    assert add["code"] == ADD_TESTS["test"]
    assert add["cases"] == ["test_add[1-2-3]", "test_add[2-2-4]", "test_add[0-0-0]", "test_add[5-5-10]",
                            "test_add[-1-1-0]"]
    assert rows["kodcode_reverse"].test_cases["cases"] == ["test_empty", "test_one", "test_word", "test_palindrome",
                                                           "TestPairs::test_two"]
    assert rows["taco_sum"].inferences[1].test_results == ["pass", "pass", "pass", "fail", "pass"]
    for row in rows.values():  # the oracle's time on each kept case, and a row read_suite reads back
        tests, _ = read_suite(row.test_cases)
        assert isinstance(tests, TestSuite) and len(tests) == len(row.test_seconds) == 5
    assert read_suite(rows["kodcode_reverse"].test_cases)[0].kind is SuiteKind.PYTEST


def test_pairs_and_the_hard_subset_take_the_suite_rows(dataset, tmp_path):
    output = tmp_path / "pairs.jsonl"
    summary = pairs.run(dataset, output, settings=pairs.PairSettings())
    written = [json.loads(line) for line in output.read_text().splitlines()]
    # chosen >= 0.8, gap >= 0.4, rejected > 0: sum 1.0>0.2, 0.8>0.2; biggest 1.0>0.6; add 1.0>0.4, 0.8>0.4;
    # reverse 1.0>0.6
    assert sorted((p["question_id"], p["chosen_pass_rate"], p["rejected_pass_rate"]) for p in written) == [
        ("kodcode_add", 0.8, 0.4), ("kodcode_add", 1.0, 0.4), ("kodcode_reverse", 1.0, 0.6),
        ("taco_biggest", 1.0, 0.6), ("taco_sum", 0.8, 0.2), ("taco_sum", 1.0, 0.2)]
    assert summary.pairs == 6 and all(p["tests"]["kind"] in ("stdio", "call", "pytest") for p in written)
    trl = tmp_path / "pairs-trl.jsonl"
    pairs.run(dataset, trl, settings=pairs.PairSettings(), format="trl")
    prompt = json.loads(trl.read_text().splitlines()[0])["prompt"][-1]["content"]
    assert "Your code should pass this test" not in prompt  # no suite case shown as if it were an assert

    # means 0.5, 0.8, 0.7333, 0.8: median 0.7667 keeps sum and add; their stds 0.4123 and 0.2494: median 0.3309
    selected = tmp_path / "hard.jsonl"
    summary = hard_subset.run(dataset, selected, settings=hard_subset.HardSubsetSettings())
    assert (summary.hard, summary.selected) == (2, 1)
    (row,) = read_records(selected, DatasetRow)
    assert row.id == "taco_sum" and row.test_cases["kind"] == "stdio" and len(row.test_cases["cases"]) == 5


def test_the_rl_exports_carry_the_kept_suite_as_the_reward_adapters_read_it(dataset, tmp_path):
    from acecoder.rewards._combined import parse_suite

    every = hard_subset.HardSubsetSettings(mean_quantile=1.0, std_quantile=0.0)  # all four rows
    kept = {row.id: read_suite(row.test_cases)[0] for row in read_records(dataset, DatasetRow)}
    for format in ("verl", "trl", "openrlhf"):
        output = tmp_path / f"{format}.jsonl"
        hard_subset.run(dataset, output, settings=every, format=format)
        for line in output.read_text().splitlines():
            row = json.loads(line)
            if format == "verl":
                name, label = row["extra_info"]["id"], row["reward_model"]["ground_truth"]
            elif format == "trl":
                name, label = row["id"], {"tests": row["tests"], "limits": row["limits"]}
            else:
                name, label = row["id"], row["suite"]
                assert parse_suite(row["tests"])[0] == kept[name]
            tests, limits = parse_suite(label)
            assert tests == kept[name] and len(limits) == 5, (format, name)


def test_a_reward_adapter_scores_a_suite_from_the_export(dataset, tmp_path):
    """TRL's reward function on the `trl` export's columns: the kept cases, run again."""
    from acecoder.rewards import TestReward
    from acecoder.rewards.trl import test_reward_func

    output = tmp_path / "trl.jsonl"
    hard_subset.run(dataset, output, settings=hard_subset.HardSubsetSettings(mean_quantile=1.0, std_quantile=0.0),
                    format="trl")
    rows = {row["id"]: row for row in map(json.loads, output.read_text().splitlines())}
    chosen = [("taco_sum", SUM_SAMPLES[2]), ("kodcode_add", ADD), ("kodcode_add", ADD_SAMPLES[2]),
              ("taco_biggest", BIGGEST_SAMPLES[1])]
    with TestReward(kind="pass_rate", timeout=2.0, workers=2) as reward:
        func = test_reward_func(reward)
        scores = func(prompts=[rows[name]["prompt"] for name, _ in chosen],
                      completions=[f"```python\n{program}```" for _, program in chosen],
                      tests=[rows[name]["tests"] for name, _ in chosen],
                      limits=[rows[name]["limits"] for name, _ in chosen])
    assert scores == [0.2, 1.0, 0.4, 0.6]  # the pass rates the filter gave them


def test_a_suite_the_layouts_cannot_read_is_a_malformed_row(tmp_path):
    questions, samples = inputs(tmp_path, ["taco_sum"])
    with questions.open("a") as handle:
        handle.write(json.dumps({"id": "bad", "source": "taco", "question": "?", "reference": SUM,
                                 "tests": {"inputs": ["1 2\n"], "outputs": []}}) + "\n")
    settings = filter_stage.FilterSettings(**SETTINGS)
    summary = filter_stage.run(questions, samples, tmp_path / "out.jsonl", settings=settings)
    assert summary.kept == 1 and summary.skipped == 1
    assert summary.skipped_rows[0]["line"] == 2 and "inputs and outputs" in summary.skipped_rows[0]["message"]
    with pytest.raises(InputError, match=r"questions\.jsonl:2: field 'tests': inputs and outputs must be two lists"):
        filter_stage.run(questions, samples, tmp_path / "strict.jsonl", settings=settings, strict=True)
