"""The house's layering: a stage is a recipe over components, never over another stage.

Stages talk through files; what two stages share lives in a component (`acecoder.data`,
`acecoder.llm`, `acecoder.evaluation`, ...). The composition layers (the pipeline, the
CLI) may import any stage.
"""

import ast
from pathlib import Path

import acecoder.stages

STAGES = Path(acecoder.stages.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:  # from . import x, from .x import y
            found.add("acecoder.stages." + (node.module or ""))
    return found


def test_no_stage_imports_another_stage():
    stages = sorted(p for p in STAGES.glob("*.py") if p.name != "__init__.py")
    assert len(stages) >= 10  # the scan sees the stages
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.startswith("acecoder.stages") and m != "acecoder.stages")
        for path in stages
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_scan_catches_an_import_of_a_stage(tmp_path):
    for line in ("from acecoder.stages.eval import run", "from acecoder.stages import sample",
                 "import acecoder.stages.pairs", "from .pairs import x"):
        module = tmp_path / "m.py"
        module.write_text(f"def f():\n    {line}\n")
        assert any(m.startswith("acecoder.stages.") for m in _imported_modules(module)), line
