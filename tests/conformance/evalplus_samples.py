"""Samples that tell EvalPlus's judging apart from a looser one, and the upstream side of
the comparison: `evalplus.evaluate.evaluate` itself, in a child process.

Used by tests/conformance/test_evalplus_judge.py, test_humaneval_harness.py (`flip`) and
speed/bench_evalplus.py.
Every sample is a whole program (EvalPlus's `solution`): the canonical solution, or
the canonical solution under another name wrapped by a function that changes what it
returns on some inputs only:

- flip: the first `+`/`-`, comparison or int constant of the solution changed (AST)
- plus_only: a wrong answer on inputs whose repr is longer than the task's longest
  base input (most plus inputs, no base input)
- near / far: float outputs moved by 3e-7 relative plus 5e-7 (within EvalPlus's
  tolerance on small values) or by 1e-5 (outside it)
- retype: a list returned as a tuple and a tuple as a list
- loops: an endless loop on the longest inputs (a time limit per input)
- deep: 3,000 levels of recursion before answering (RecursionError in both)
- shuffled / truthy: for MBPP's set-compared tasks, the output reversed; for its
  not-None tasks, an object in place of a match
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

VARIANTS = ("canonical", "flip", "plus_only", "near", "far", "retype", "loops", "deep", "shuffled", "truthy")
SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
         ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
SET_TASKS = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
             "intersection_array", "find_dissimilar", "Diff"}
NOT_NONE_TASKS = {"check_str", "text_match_three", "text_starta_endb"}


class _Flip(ast.NodeTransformer):
    def __init__(self):
        self.done = False

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not self.done and type(node.op) in SWAPS:
            node.op, self.done = SWAPS[type(node.op)](), True
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if not self.done and type(node.ops[0]) in SWAPS:
            node.ops[0], self.done = SWAPS[type(node.ops[0])](), True
        return node

    def visit_Constant(self, node):
        if not self.done and type(node.value) is int:
            self.done = True
            return ast.Constant(node.value + 1)
        return node


def flip(solution: str, entry: str) -> str | None:
    """The solution with the first `+`/`-`, comparison or int constant of `entry` changed; None if none."""
    try:
        tree = ast.parse(solution)
    except SyntaxError:
        return None
    target = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry), None)
    if target is None:
        return None
    flip = _Flip()
    flip.visit(target)
    return ast.unparse(tree) if flip.done else None


def _wrapped(solution: str, entry: str, body: str) -> str:
    """The solution with `entry` renamed, and a new `entry` whose body gets `out` (the
    canonical answer) and `args`."""
    renamed = solution.replace(f"def {entry}(", f"def _canonical_{entry}(")
    renamed = renamed.replace(f"{entry}(", f"_canonical_{entry}(").replace(f"_canonical__canonical_{entry}(", f"_canonical_{entry}(")
    return (f"{renamed}\n\ndef {entry}(*args):\n    out = _canonical_{entry}(*args)\n"
            + "".join(f"    {line}\n" for line in body.splitlines()) + "    return out\n")


def samples_for(row: dict) -> dict[str, str]:
    """Variant name -> program, for one release row (the variants that apply to it)."""
    entry = row["entry_point"]
    solution = row["prompt"] + row["canonical_solution"]
    longest = max((len(repr(tuple(i))) for i in row["base_input"]), default=0)
    out = {"canonical": solution}
    flipped = flip(solution, entry)
    if flipped:
        out["flip"] = flipped
    out["plus_only"] = _wrapped(solution, entry, f"if len(repr(args)) > {longest}:\n    out = (out, 'wrong')")
    out["near"] = _wrapped(solution, entry, "if type(out) is float:\n    out = out * (1 + 3e-7) + 5e-7")
    out["far"] = _wrapped(solution, entry, "if type(out) is float:\n    out = out + 1e-5")
    out["retype"] = _wrapped(solution, entry, "if type(out) is list:\n    out = tuple(out)\n"
                                              "elif type(out) is tuple:\n    out = list(out)")
    out["loops"] = _wrapped(solution, entry, f"while len(repr(args)) >= {max(longest, 1) * 4}:\n    pass")
    out["deep"] = _wrapped(solution, entry, "def _down(n):\n    return 0 if n == 0 else 1 + _down(n - 1)\n_down(3000)")
    if entry in SET_TASKS:
        out["shuffled"] = _wrapped(solution, entry, "out = type(out)(reversed(list(out)))")
    if entry in NOT_NONE_TASKS:
        out["truthy"] = _wrapped(solution, entry, "out = object() if out is not None else None")
    return out


def evalplus_verdicts(dataset: str, data: Path, samples: list[dict], folder: Path) -> dict:
    """(task_id, index within the task) -> (base passed, plus passed), from
    `evalplus.evaluate.evaluate` (0.3.1) on `samples` ({"task_id", "solution"}), with
    `data` as its dataset (HUMANEVAL_OVERRIDE_PATH / MBPP_OVERRIDE_PATH) and its
    ground-truth cache under `folder`."""
    path = folder / f"{dataset}-samples.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    env = dict(os.environ, XDG_CACHE_HOME=str(folder / "cache"),
               **{"HUMANEVAL_OVERRIDE_PATH" if dataset == "humaneval" else "MBPP_OVERRIDE_PATH": str(data)})
    driver = ("import os, sys\nfrom evalplus.evaluate import evaluate\n"
              "evaluate(sys.argv[1], samples=sys.argv[2], parallel=2, i_just_wanna_run=True)\n"
              "os._exit(0)  # its 'stuck' watcher thread would hold the exit for up to 20 s\n")
    done = subprocess.run([sys.executable, "-c", driver, dataset, str(path)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"evalplus failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    results = json.loads((folder / f"{dataset}-samples_eval_results.json").read_text())
    return {(task_id, i): (r["base_status"] == "pass", r["base_status"] == r["plus_status"] == "pass")
            for task_id, rows in results["eval"].items() for i, r in enumerate(rows)}, done.stdout
