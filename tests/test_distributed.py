"""acecoder._distributed: gathering across real processes (gloo), and whole-model loading
while DeepSpeed ZeRO-3 is switched on in the process."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

from acecoder._distributed import gather_floats, rank_and_world  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gather_worker(rank: int, port: int, shares: list, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=len(shares))
    try:
        result = {"gathered": gather_floats(shares[rank]), "rank_and_world": rank_and_world()}
    finally:
        dist.destroy_process_group()
    with open(f"{out}/{rank}.json", "w") as handle:
        json.dump(result, handle)


def test_one_process_gathers_its_own_values():
    assert gather_floats([1.5, 2.0]) == [[1.5, 2.0]] and rank_and_world() == (0, 1)


def test_two_processes_gather_shares_of_different_lengths(tmp_path):
    shares = [[0.1, 2.0, -3.25], [1e-12]]  # unequal lengths; float64 keeps every digit
    torch.multiprocessing.spawn(_gather_worker, args=(free_port(), shares, str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        result = json.loads((tmp_path / f"{rank}.json").read_text())
        assert result == {"gathered": shares, "rank_and_world": [rank, 2]}


def test_a_reward_model_loads_whole_while_zero3_is_on(classifier):
    """With transformers' ZeRO-3 switch on in the process (what accelerate's DeepSpeed plugin
    leaves on for a whole launch), RewardModel.load still builds whole weights and scores as
    it does alone; before, the load went through deepspeed.zero.Init and the first forward
    failed on partitioned weights ("'weight' must be 2-D"). Needs deepspeed (requirements/dev.txt)."""
    from acecoder.rm import RewardModel

    args = (["Write add(a, b)."], ["def add(a, b):\n    return a + b"])
    alone = RewardModel.load(classifier, device="cpu").score(*args)
    script = textwrap.dedent(f"""
        import json, os, sys
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT="{free_port()}")
        import deepspeed
        from transformers.integrations import HfDeepSpeedConfig
        from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled
        from acecoder.rm import RewardModel
        deepspeed.init_distributed(dist_backend="gloo")
        config = HfDeepSpeedConfig({{"zero_optimization": {{"stage": 3}}, "train_micro_batch_size_per_gpu": 1}})
        assert is_deepspeed_zero3_enabled()
        model = RewardModel.load(sys.argv[1], device="cpu")
        assert is_deepspeed_zero3_enabled()  # switched off for the load only
        print("SCORES", json.dumps(model.score(*json.loads(sys.argv[2]))))
    """)
    result = subprocess.run([sys.executable, "-c", script, str(classifier), json.dumps(args)], capture_output=True,
                            text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    scores = json.loads(result.stdout.split("SCORES", 1)[1])
    assert scores == pytest.approx(alone, abs=1e-6)
