"""`pip install acecoder` alone, as a new user does it: every module the CLI imports must
come from the base install's declared dependencies (typer 0.29 no longer brings click; a
`pip install -r requirements/dev.txt` hides such a gap, since other packages bring it)."""

import json
import subprocess
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_base_install_runs_the_cli(tmp_path):
    venv.create(tmp_path / "venv", with_pip=True)
    bin_ = tmp_path / "venv" / "bin"
    install = subprocess.run([bin_ / "pip", "install", "-q", "--disable-pip-version-check", str(REPO)],
                             capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert install.returncode == 0, install.stderr[-3000:]
    helped = subprocess.run([bin_ / "acecoder", "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert helped.returncode == 0 and "Traceback" not in helped.stderr, helped.stderr[-3000:]
    assert "execute" in helped.stdout
    out = tmp_path / "results.jsonl"
    ran = subprocess.run([bin_ / "acecoder", "execute", str(REPO / "examples/programs.jsonl"), "-o", str(out),
                          "--timeout", "1"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    expected = [json.loads(line)["id"] for line in (REPO / "examples/programs.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == expected
    assert sum(row["pass_rate"] == 1.0 for row in rows) >= 4
    # and nothing of the extras came with it
    listed = subprocess.run([bin_ / "pip", "list", "--format", "json"], capture_output=True, text=True, timeout=120)
    names = {package["name"].lower() for package in json.loads(listed.stdout)}
    assert not names & {"click", "torch", "transformers", "datasets"}, names & {"click", "torch", "transformers"}
