"""scripts/gpu_smoke.py, the GPU paths in one run, runs its checks on the CPU here (`--cpu`):
ZeRO-3 through `accelerate launch` on DeepSpeed's CPU accelerator, the RL stage's reward
model, a GRPO step at lr 5e-7 on float32 weights. On a GPU machine run it without --cpu."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_smoke.py"


def test_the_gpu_smoke_script_passes_its_checks_on_the_cpu(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--keep", str(tmp_path)], capture_output=True,
                            text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok ", "FAIL "))]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [line.split()[1] for line in lines] == ["generate", "train-rm-zero3", "rl-reward-model", "rl-grpo"]
    assert all(line.startswith("ok ") for line in lines) and "4 of 4 checks passed" in result.stdout
    assert (tmp_path / "rm" / "eval.json").exists() and (tmp_path / "rl" / "final" / "model.safetensors").exists()
