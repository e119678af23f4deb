"""What the processes of one launch (torchrun, `accelerate launch`) share, for the stages
that train: which process this is, one list of numbers gathered from all of them, and
loading a whole model while a trainer shards its own.

Nothing here imports torch until it is needed; with one process (or torch.distributed
not started) every helper is the single-process answer, so callers need no branches.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence


def _group_started() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, number of processes); (0, 1) outside a launch."""
    if not _group_started():
        return 0, 1
    import torch.distributed as dist

    return dist.get_rank(), dist.get_world_size()


def barrier() -> None:
    """Wait until every process gets here (nothing to wait for with one)."""
    if _group_started():
        import torch.distributed as dist

        dist.barrier()


def gather_floats(values: Sequence[float]) -> list[list[float]]:
    """Each process's `values`, in rank order, on every process (`[list(values)]` alone).

    Lengths may differ between processes. The tensors live on this process's own GPU under
    NCCL (cuda:LOCAL_RANK, named explicitly: the caller may be a worker thread, whose
    current device is not the one accelerate set on the main thread), on the CPU otherwise.
    """
    if not _group_started():
        return [list(values)]
    import torch
    import torch.distributed as dist

    device = torch.device("cpu")
    if dist.get_backend() == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    world = dist.get_world_size()
    length = torch.tensor([len(values)], dtype=torch.long, device=device)
    lengths = [torch.zeros_like(length) for _ in range(world)]
    dist.all_gather(lengths, length)
    longest = max(int(n) for n in lengths)
    # float64: scores keep every digit they had, so each rank computes the same statistics
    padded = torch.zeros(longest, dtype=torch.float64, device=device)
    padded[: len(values)] = torch.tensor(list(values), dtype=torch.float64)
    pieces = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(pieces, padded)
    return [piece[: int(n)].tolist() for piece, n in zip(pieces, lengths)]


@contextlib.contextmanager
def full_weights() -> Iterator[None]:
    """Inside this block `from_pretrained` builds the whole model in this process, even
    while a trainer of this process runs DeepSpeed ZeRO-3 or FSDP.

    Why: transformers asks two globals whether to shard a model as it loads. ZeRO-3: a weak
    reference to the DeepSpeed config, which accelerate's DeepSpeed plugin keeps alive for
    the whole process; while it is set, every load goes through `deepspeed.zero.Init`,
    whose weights are partitioned (a plain forward fails: "'weight' must be 2-D") and
    whose broadcasts wait for every rank (a load on one rank hangs until the NCCL timeout).
    FSDP with `fsdp_cpu_ram_efficient_loading`: environment variables that make every rank
    but the first load empty (meta) weights. Models we score with (a reward model, the
    trained one for its held-out evaluation) are run outside the trainer's engine, so they
    must be whole. Not thread-safe: load on the main thread.
    """
    from transformers.integrations import deepspeed as hf_deepspeed

    saved_ref = hf_deepspeed._hf_deepspeed_config_weak_ref
    saved_env = {key: os.environ.get(key) for key in ("ACCELERATE_USE_FSDP", "FSDP_CPU_RAM_EFFICIENT_LOADING")}
    hf_deepspeed._hf_deepspeed_config_weak_ref = None
    for key in saved_env:
        os.environ[key] = "false"
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = saved_ref
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
