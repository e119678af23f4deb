"""The sandbox stays auditable in one sitting (issue 25): small modules, each saying what it
guarantees and what it does not, on the standard library alone."""

import ast
import pathlib
import sys

import acecoder.execution

HERE = pathlib.Path(acecoder.execution.__file__).parent
SANDBOX = [HERE / "_worker.py", *sorted((HERE / "_sandbox").glob("*.py"))]
MOST_LINES = 420


def test_no_module_of_the_engine_or_its_sandbox_is_over_420_lines():
    sizes = {str(p.relative_to(HERE)): len(p.read_text().splitlines())
             for p in [*HERE.glob("*.py"), *SANDBOX]}
    assert {name: n for name, n in sizes.items() if n > MOST_LINES} == {}


def test_each_sandbox_module_says_what_it_guarantees_and_what_it_does_not():
    for path in SANDBOX:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if path.name == "__init__.py":  # the overview: what holds, and the order to read
            assert "What holds" in doc and "What does not hold" in doc and "How to audit" in doc
        else:
            assert "Guarantees" in doc and "Does not" in doc, path.name


def test_the_sandbox_imports_the_standard_library_and_itself_only():
    """The worker runs as `python -S -I`: it cannot import acecoder, nor anything installed."""
    for path in SANDBOX:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "_sandbox", f"{path.name} imports {name}"
