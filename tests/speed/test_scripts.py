"""The speed scripts the README and docs/scaling.md name exist under speed/ and start
(`--help`): a move or a rename cannot leave a command in the docs that no longer runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "docs" / "scaling.md"]


def _named_scripts() -> set[str]:
    names = set()
    for doc in DOCS:
        names |= set(re.findall(r"\b(?:speed/)?((?:bench_[a-z_]+|peak_rss|execution_workload)\.py)\b", doc.read_text()))
    return names


def test_every_speed_script_the_docs_name_exists_and_starts():
    names = _named_scripts()
    assert {"bench_llama_server.py", "bench_execution.py", "peak_rss.py"} <= names  # the scan sees them
    missing = sorted(name for name in names if not (ROOT / "speed" / name).is_file())
    assert missing == []
    for name in sorted(names - {"execution_workload.py"}):  # a module the others import, not a command
        run = subprocess.run([sys.executable, str(ROOT / "speed" / name), "--help"], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
        assert run.returncode == 0, f"{name}: {run.stderr[-2000:]}"


def test_no_document_sends_a_user_to_the_old_folder():
    old = [f"{doc.name}:{n}" for doc in DOCS for n, line in enumerate(doc.read_text().splitlines(), 1)
           if re.search(r"(?<![\w/.])benchmarks/(bench_|peak_rss)", line)]
    assert old == []
