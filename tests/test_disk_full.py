"""A full disk is the machine's problem, not a bug: `acecoder execute` onto a 32 KiB tmpfs
says which file it could not write and how to go on (exit 1, no traceback), and after
space is freed `--resume` finishes with the same verdicts as a run that never stopped.

The tmpfs is mounted in a private mount namespace (`unshare -m` as root, `unshare -rm` as
an ordinary user with user namespaces), so the test touches no mount of the machine."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "programs.jsonl"

SCRIPT = """
set -u
mount -t tmpfs -o size=32k tmpfs "$DISK" || exit 99
"$PY" -m acecoder.cli execute "$IN" -o "$DISK/out.jsonl" --workers 2 > "$LOG/full.out" 2>&1
echo $? > "$LOG/full.rc"
mount -o remount,size=16m "$DISK"
"$PY" -m acecoder.cli execute "$IN" -o "$DISK/out.jsonl" --workers 2 --resume > "$LOG/resume.out" 2>&1
echo $? > "$LOG/resume.rc"
cp "$DISK/out.jsonl" "$LOG/out.jsonl"
"""


def _unshare() -> list[str] | None:
    tool = shutil.which("unshare")
    if tool is None:
        return None
    flags = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    probe = subprocess.run([tool, *flags, "true"], capture_output=True)
    return [tool, *flags] if probe.returncode == 0 else None


def _verdicts(path: Path) -> dict:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {row["id"]: (row["status"], row["outcomes"]) for row in rows}


def test_a_full_disk_names_the_file_and_resume_finishes_the_run(tmp_path):
    unshare = _unshare()
    if unshare is None:
        pytest.skip("no mount namespace here (unshare -m / -rm refused): cannot make a small disk")
    # ~50 KiB of verdicts: 11 copies of the example's programs under new ids.
    rows = [json.loads(line) for line in EXAMPLE.read_text().splitlines()]
    rows = [row for row in rows if "hangs" not in row["id"]]  # its 5 timeouts cost most of the run's time
    programs = tmp_path / "programs.jsonl"
    programs.write_text("".join(json.dumps({**row, "id": f"{row['id']}#{k}"}) + "\n" for k in range(11) for row in rows))
    whole = tmp_path / "whole.jsonl"
    subprocess.run([sys.executable, "-m", "acecoder.cli", "execute", programs, "-o", whole, "--workers", "2"],
                   check=True, capture_output=True, cwd=ROOT)
    assert whole.stat().st_size > 40_000  # more than the disk holds

    disk, log = tmp_path / "disk", tmp_path / "log"
    disk.mkdir(), log.mkdir()
    env = {**os.environ, "DISK": str(disk), "LOG": str(log), "PY": sys.executable, "IN": str(programs)}
    done = subprocess.run([*unshare, "sh", "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode != 99, done.stderr

    said = (log / "full.out").read_text()
    assert (log / "full.rc").read_text().strip() == "1", said
    assert f"error: cannot write {disk}/out.jsonl: no space left on the device" in said
    assert "--resume" in said and "Traceback" not in said and "a bug" not in said
    assert (log / "resume.rc").read_text().strip() == "0", (log / "resume.out").read_text()
    assert _verdicts(log / "out.jsonl") == _verdicts(whole)
    assert len((log / "out.jsonl").read_text().splitlines()) == len(rows) * 11  # each once, none torn


LIBRARY_SCRIPT = """
mount -t tmpfs -o size=64k tmpfs "$DISK" || exit 99
"$PY" -c "$CODE"
"""

LIBRARY_CODE = """
import os, torch, safetensors.torch
from acecoder.cli import _disk_full
try:
    safetensors.torch.save_file({"x": torch.zeros(1 << 18)}, os.environ["DISK"] + "/model.safetensors")
except Exception as error:
    print(type(error).__name__, _disk_full(error))
else:
    print("saved")
"""


def test_a_full_disk_said_by_a_library_in_its_own_words_is_still_a_full_disk(tmp_path):
    """safetensors (Rust, train-rm's checkpoints) reports a full disk as `SafetensorError: ... No
    space left on device (os error 28)`, not an OSError: it used to print as "a bug"."""
    unshare = _unshare()
    if unshare is None:
        pytest.skip("no mount namespace here (unshare -m / -rm refused): cannot make a small disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    env = {**os.environ, "DISK": str(disk), "PY": sys.executable, "CODE": LIBRARY_CODE}
    done = subprocess.run([*unshare, "sh", "-c", LIBRARY_SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 99, done.stderr
    assert done.stdout.split() == ["SafetensorError", "True"], (done.stdout, done.stderr)
