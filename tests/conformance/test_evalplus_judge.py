"""HumanEval+ and MBPP+ from EvalPlus's release files, judged as EvalPlus 0.3.1 judges
them: `acecoder eval`'s base and plus verdicts equal those of `evalplus.evaluate.evaluate`
(installed from PyPI by requirements/upstream.txt, run in a child process) on every
sample, and so does pass@1 of both suites.

Data: the HumanEval+ release-layout file (tests/conformance/data, all 164 tasks) and the
MBPP+ one acecoder ships (a slice: the tasks with special oracles or inputs EvalPlus
rebuilds as tuples, sets and complex numbers, and the first 40). Samples: the canonical
solutions and their mutants (`evalplus_samples.py`: wrong on plus inputs only, floats
near the tolerance, tuples for lists, loops, deep recursion, ...).

One known difference, kept on purpose: EvalPlus 0.3.1 fails every sample of
HumanEval/32 (`find_zero`), the canonical solution included: its special oracle checks
the root and then `continue`s past the line that records a passed input (see the
evalplus/evalplus pull request #201 thread). acecoder passes a sample whose root is
within the tolerance. The test checks that this is the only difference.
"""

import gzip
import json
from pathlib import Path

import pytest
from evalplus_samples import SET_TASKS, NOT_NONE_TASKS, evalplus_verdicts, samples_for

from acecoder.benchmarks import _evalplus, load_benchmark
from acecoder.benchmarks.mbpp import SHIPPED_PLUS
from acecoder.errors import InputError
from acecoder.stages.eval import EvalSettings, run
HUMANEVAL_PLUS = Path(__file__).parent / "data" / "HumanEvalPlus-reconstructed.jsonl.gz"
KNOWN_EVALPLUS_BUG = "HumanEval/32"


def read(path) -> list[dict]:
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def mbpp_slice() -> list[dict]:
    rows = read(SHIPPED_PLUS)
    special = set(_evalplus.ORACLES["mbpp"]) | SET_TASKS | NOT_NONE_TASKS
    rebuilt = {115, 124, 252, 278, 307, 722} | _evalplus._EACH_ARG_TUPLE | _evalplus._EACH_ARG_LIST_OF_TUPLES | \
        _evalplus._FIRST_LIST_OF_TUPLES | _evalplus._SECOND_TUPLE | _evalplus._FIRST_TUPLE_OF_TWO | \
        _evalplus._EACH_ARG_TUPLE_OF_TUPLES | _evalplus._ALL_TUPLES
    return [r for i, r in enumerate(rows)
            if i < 40 or r["entry_point"] in special or int(r["task_id"].split("/")[1]) in rebuilt]


def both_verdicts(tmp_path, dataset: str, rows: list[dict]):
    """Per sample: (task, variant, ours (base, plus), theirs (base, plus)); and our eval.json."""
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = [(r["task_id"], variant, code) for r in rows for variant, code in samples_for(r).items()]
    theirs, _ = evalplus_verdicts(dataset, data, [{"task_id": t, "solution": c} for t, _, c in samples], tmp_path)
    index: dict[str, int] = {}
    records = []
    for task, _, code in samples:
        records.append({"question_id": task, "model": "m", "sample_index": index.setdefault(task, 0),
                        "completion": code, "program": code})
        index[task] += 1
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in records))
    name = "humaneval+" if dataset == "humaneval" else "mbpp+"
    summary = run(tmp_path / "eval", settings=EvalSettings(benchmarks=[name], paths={name: str(data)}, k=[1], workers=2),
                  samples_path=tmp_path / "samples.jsonl")
    ours = {}
    for line in (tmp_path / "eval" / "executions.jsonl").read_text().splitlines():
        row = json.loads(line)
        ours[(row["question_id"], row["sample_index"])] = (row["correct_base"], row["correct"])
    keys = [(r["question_id"], r["sample_index"]) for r in records]
    return [(task, variant, ours[key], theirs[key]) for (task, variant, _), key in zip(samples, keys)], summary


def pass_at_1(verdicts, which: int) -> float:
    """pass@1 of (task, (base passed, plus passed)) rows: suite `which` (0 base, 1 plus)."""
    by_task: dict[str, list[bool]] = {}
    for task, pair in verdicts:
        by_task.setdefault(task, []).append(pair[which])
    return sum(sum(v) / len(v) for v in by_task.values()) / len(by_task)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACECODER_CACHE", str(tmp_path / "acecoder-cache"))


def test_humaneval_plus_verdicts_equal_evalplus(tmp_path):
    compared, summary = both_verdicts(tmp_path, "humaneval", read(HUMANEVAL_PLUS))
    differ = [c for c in compared if c[2] != c[3]]
    assert {task for task, *_ in differ} <= {KNOWN_EVALPLUS_BUG}, differ
    bug = [c for c in compared if c[0] == KNOWN_EVALPLUS_BUG]
    assert all(theirs == (False, False) for *_, theirs in bug)  # upstream: even the canonical solution fails
    assert bug[0][1] == "canonical" and bug[0][2][0]  # ours: the root is found on every base input
    assert len(compared) > 1000 and {c[3] for c in compared} == {(True, True), (True, False), (False, False)}
    assert sum(c[3] == (True, False) for c in compared) > 100  # wrong on plus inputs only, in numbers

    ours_plus = summary.benchmarks["humaneval+"]["pass@k"]["1"]
    ours_base = summary.benchmarks["humaneval+/base"]["pass@k"]["1"]
    assert ours_plus < ours_base
    for which, ours in ((0, ours_base), (1, ours_plus)):
        fixed = [(t, theirs if t != KNOWN_EVALPLUS_BUG else mine) for t, _, mine, theirs in compared]
        assert ours == pytest.approx(pass_at_1(fixed, which), abs=1e-9)
    assert summary.benchmarks["humaneval+"]["dataset"]["tasks"] == 164


def test_mbpp_plus_verdicts_equal_evalplus(tmp_path):
    rows = mbpp_slice()
    compared, summary = both_verdicts(tmp_path, "mbpp", rows)
    differ = [c for c in compared if c[2] != c[3]]
    assert differ == []
    assert {c[3] for c in compared} == {(True, True), (True, False), (False, False)}
    assert {v for _, v, *_ in compared} >= {"shuffled", "near", "far", "retype", "loops"}  # no not-None task here
    theirs = [(t, pair) for t, _, _, pair in compared]
    assert summary.benchmarks["mbpp+"]["pass@k"]["1"] == pytest.approx(pass_at_1(theirs, 1), abs=1e-9)
    assert summary.benchmarks["mbpp+/base"]["pass@k"]["1"] == pytest.approx(pass_at_1(theirs, 0), abs=1e-9)


def test_mbpp_plus_inputs_are_rebuilt_as_evalplus_rebuilds_them(tmp_path, monkeypatch):
    """Every task's inputs, after our `mbpp_inputs`, equal EvalPlus's own `get_mbpp_plus`."""
    import subprocess
    import sys

    data = tmp_path / "mbpp.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in read(SHIPPED_PLUS)))
    dump = ("import pickle, sys\nfrom evalplus.data import get_mbpp_plus\n"
            "plus = get_mbpp_plus(err_incomplete=False)\n"
            "pickle.dump({k: (v['base_input'], v['plus_input']) for k, v in plus.items()}, open(sys.argv[1], 'wb'))\n")
    env = {**__import__("os").environ, "MBPP_OVERRIDE_PATH": str(data), "XDG_CACHE_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", dump, str(tmp_path / "theirs.pkl")], env=env, check=True)
    import pickle

    theirs = pickle.loads((tmp_path / "theirs.pkl").read_bytes())
    rows = read(SHIPPED_PLUS)
    assert len(rows) == len(theirs) == 396
    for row in rows:
        base, plus = theirs[row["task_id"]]
        assert _evalplus.mbpp_inputs(row["task_id"], row["base_input"]) == base, row["task_id"]
        ours_plus = _evalplus.mbpp_inputs(row["task_id"], row["plus_input"]) if row["plus_input"] != {} else []
        assert ours_plus == list(plus), row["task_id"]


def test_a_release_row_missing_what_judging_needs_is_refused_by_name(tmp_path):
    row = read(HUMANEVAL_PLUS)[0]
    for missing in ("plus_input", "canonical_solution"):
        broken = {k: v for k, v in row.items() if k != missing}
        path = tmp_path / f"no_{missing}.jsonl"
        path.write_text(json.dumps(broken) + "\n")
        with pytest.raises(InputError, match=rf":1: field '{missing}' is missing"):
            load_benchmark("humaneval+", path=path)


def test_the_shipped_mbpp_plus_loads_offline_with_its_version_and_prompt():
    problems = load_benchmark("mbpp+", limit=2)
    first = problems[0]
    assert first.id == "Mbpp/2" and first.metadata["base_tests"] == 3
    assert first.prompt.endswith("assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)")
    assert "Write a function to find the shared elements" in first.prompt
    assert len(first.tests) == len(first.limits) > 3 and min(first.limits) >= 1.0
    dataset = first.metadata["dataset"]
    assert dataset["tasks"] == 396 and dataset["version"] == "v0.1.0"
