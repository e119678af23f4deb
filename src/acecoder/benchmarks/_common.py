"""What the benchmark loaders share: reading released files, and turning a model's
program into the code the sandbox runs.

Released benchmark files come as JSONL (optionally gzipped, as EvalPlus ships them),
a JSON list, or Parquet (a hub dataset's shard). Rows are plain dicts here; each
loader maps its own fields to `Problem`.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from acecoder.errors import InputError


def read_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line or row number from 1, row) of a released benchmark file."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=str(path))
    name = path.name
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield number, row
        return
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        if name.endswith((".json", ".json.gz")):
            try:
                rows = json.load(handle)
            except json.JSONDecodeError as error:
                raise InputError(f"not JSON: {error}", path=str(path)) from None
            if isinstance(rows, dict):  # {"task_id": row, ...}
                rows = list(rows.values())
            yield from enumerate(rows, start=1)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"not a JSON object: {error.msg}", path=str(path), line=number) from None
            if not isinstance(row, dict):
                raise InputError("not a JSON object", path=str(path), line=number)
            yield number, row


def hub_rows(name: str, split: str, *, config: str | None = None, hint: str) -> Iterator[tuple[int, dict]]:
    """Rows of a hub dataset (or its local cache); offline, an error saying which file to pass."""
    try:
        import datasets

        table = datasets.load_dataset(name, config, split=split) if config else datasets.load_dataset(name, split=split)
    except Exception as error:  # noqa: BLE001  (offline, missing package, unknown split: all mean the same)
        raise InputError(
            f"cannot load {name} ({type(error).__name__}); pass the released file with path= (--path): {hint}",
            path=f"hf:{name}:{split}",
        ) from None
    yield from enumerate(table, start=1)


def field(row: dict, name: str, path, line: int, *, kind=str):
    """A required field of a row, of the given type."""
    value = row.get(name)
    if not isinstance(value, kind):
        what = "missing" if value is None else f"a {type(value).__name__}, not a {kind.__name__}"
        raise InputError(f"field '{name}' is {what}", path=str(path), line=line)
    return value


# ---------------------------------------------------------------- programs


def defines(program: str, name: str) -> bool:
    """Whether `program` defines `name` (a function or class) at top level."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name
        for node in tree.body
    )


def header_imports(code: str) -> str:
    """The top-level import lines of a prompt (`from typing import List`, ...)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return ""
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def assemble(program: str, code_prompt: str | None, name: str | None) -> str:
    """The code to run for a model's program on a completion-style benchmark.

    A chat model usually writes the whole function: it runs as is, after the prompt's
    imports (models drop `from typing import List` and the annotations then fail). A
    completion model writes only the body: it runs after the prompt it continues.
    """
    if not code_prompt or not name:
        return program
    if defines(program, name):
        imports = header_imports(code_prompt)
        return f"{imports}\n{program}" if imports else program
    return code_prompt.rstrip("\n") + "\n" + program


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(id=self.new, ctx=node.ctx) if node.id == self.old else node


def check_tests(test_code: str, entry_point: str) -> list[str]:
    """A `def check(candidate)` test suite as test snippets for the engine.

    When the body of `check` is only asserts (and docstrings), each assert is one test
    with `candidate` renamed to the entry point: every assert gets its own verdict, and
    `assert f(x) == literal` is judged by the engine, out of the program's reach.
    Otherwise the whole suite is one test that defines and calls `check`. Code outside
    `check` (helpers, constants) is kept in front of every split assert.
    """
    try:
        module = ast.parse(test_code)
    except SyntaxError:
        return [test_code + f"\ncheck({entry_point})\n"]
    check = next((s for s in module.body if isinstance(s, ast.FunctionDef) and s.name == "check"), None)
    if check is None:  # a flat suite calling the entry point itself (MBPP+)
        return [test_code]
    body = [s for s in check.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    others = [s for s in module.body if s is not check and not _is_metadata(s)]
    if body and all(isinstance(s, ast.Assert) for s in body) and not others:
        rename = _Rename(check.args.args[0].arg if check.args.args else "candidate", entry_point)
        return [ast.unparse(rename.visit(s)) for s in body]
    return [test_code + f"\ncheck({entry_point})\n"]


def _is_metadata(node: ast.stmt) -> bool:
    """HumanEval's `METADATA = {...}` and docstrings carry nothing the tests need."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True
    return isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["METADATA"]
