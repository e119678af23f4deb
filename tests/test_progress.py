"""Progress where no terminal shows it (CI logs, nohup, a pipe): a plain line at a fixed
interval from a timer, so a stage that stops advancing still prints, and the same lines in
the `acecoder.progress` log (the pipeline's stage logs)."""

import json
import logging
import os
import re
import subprocess
import sys
import time

from acecoder.cli._support import progress_bar


def test_a_piped_command_prints_progress_lines_while_nothing_finishes(tmp_path):
    programs = tmp_path / "programs.jsonl"
    programs.write_text(json.dumps({"id": "slow", "program": "import time\ntime.sleep(1.5)\n", "tests": ["assert True"]}) + "\n")
    env = {**os.environ, "ACECODER_PROGRESS_INTERVAL": "0.3"}
    run = subprocess.run([sys.executable, "-m", "acecoder.cli", "execute", str(programs), "-o", str(tmp_path / "out.jsonl"),
                          "--timeout", "5"], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    waiting = re.findall(r"^execute: 0/1 programs, 0 programs/s, ETA unknown \(\d+ s so far\)$", run.stderr, re.M)
    assert len(waiting) >= 2, run.stderr  # while the one program sleeps, the count stands still, visibly
    assert re.search(r"^execute: 1/1 programs, .* tests passed", run.stderr, re.M), run.stderr  # the closing line


def test_the_lines_go_to_the_log_too(monkeypatch, caplog):
    monkeypatch.setenv("ACECODER_PROGRESS_INTERVAL", "0.1")
    with caplog.at_level(logging.INFO, logger="acecoder.progress"):
        with progress_bar("synth", unit="seeds") as bar:
            bar.total(4)
            bar.advance(None)
            time.sleep(0.35)
    lines = [r.getMessage() for r in caplog.records if r.name == "acecoder.progress"]
    assert len(lines) >= 3 and all(line.startswith("synth: 1/4 seeds, ") for line in lines), lines
    assert "ETA" in lines[0]


def test_a_new_phase_counts_again_in_its_own_unit(monkeypatch, caplog):
    monkeypatch.setenv("ACECODER_PROGRESS_INTERVAL", "60")
    with caplog.at_level(logging.INFO, logger="acecoder.progress"):
        with progress_bar("bon", unit="programs") as bar:
            bar.phase("problems sampled")
            bar.total(2)
            bar.advance(None)
            bar.advance(None)
            bar.phase("programs run")
            bar.total(16)
            bar.advance(None)
    lines = [r.getMessage() for r in caplog.records if r.name == "acecoder.progress"]
    assert lines[0].startswith("bon: 2/2 problems sampled, ") and lines[-1].startswith("bon: 1/16 programs run, "), lines
