"""Commands of reinforcement learning: rl, serve-reward."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from acecoder.cli._app import app


class Normalize(str, enum.Enum):
    running = "running"
    batch = "batch"
    none = "none"


class RewardKind(str, enum.Enum):
    binary = "binary"
    pass_rate = "pass_rate"
    signed = "signed"


@app.command()
def rl(
    config: Annotated[Optional[Path], typer.Argument(help="YAML settings (see configs/rl/); a pipeline config's rl: section works too.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a setting: key=value (value as YAML), repeatable.")] = None,
    check_only: Annotated[bool, typer.Option("--check", help="Validate the settings and stop.")] = False,
) -> None:
    """RL of a coder model with test rewards on TRL's GRPOTrainer (GRPO or REINFORCE++-style).

    Resumes from the latest checkpoint in output_dir; writes metrics.jsonl per rollout.
    Multi-GPU: accelerate launch -m acecoder.cli rl CONFIG.
    """
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import rl as stage

    try:
        settings = stage.load_settings(config, set_ or [])
        if check_only:
            shape = stage.check(settings)
            console.print(
                f"[bold green]ok[/] {settings.algorithm}, {settings.rollout_prompts} x {settings.samples_per_prompt} "
                f"completions a rollout, {shape['steps_per_rollout']} optimizer steps of {settings.train_batch}",
                highlight=False,
            )
            return
        with progress_bar("rl", unit="steps") as bar:
            summary = stage.run(settings, progress=bar)
    except AcecoderError as error:
        fail(error)
    if int(os.environ.get("RANK", "0")) != 0:  # under accelerate/torchrun, the main process reports
        return  # (the others have no metrics lines: only the main process writes them)
    first, last = summary.first, summary.last

    def figures(line: dict) -> str:
        if not line:
            return "-"
        return ", ".join(
            f"{name} {line[name]:.3g}" for name in ("reward", "pass_rate", "all_fail_groups", "completion_length")
            if line.get(name) is not None
        )

    lines = [
        f"[bold green]done[/] {summary.steps} steps ({summary.rollouts} rollouts) on {summary.questions} questions "
        f"in {summary.seconds:.1f} s" + (f", resumed from {summary.resumed_from}" if summary.resumed_from else ""),
        f"  first rollout: {figures(first)}",
        f"  last rollout:  {figures(last)}",
    ]
    if summary.dropped_long:
        lines.append(f"  [yellow]dropped {summary.dropped_long} prompts over max_prompt_tokens[/]")
    lines.append(f"  wrote {summary.output}/final, {summary.output}/metrics.jsonl")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@app.command("serve-reward")
def serve_reward(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    reward: Annotated[RewardKind, typer.Option(help="Test reward: binary (the paper's), pass_rate, or signed (+1/-1).")] = RewardKind.binary,
    format_weight: Annotated[float, typer.Option(help="Added for the R1 format (think block, then a fenced block); 0: off.", min=0)] = 0.0,
    test_weight: Annotated[float, typer.Option(help="Weight of the test reward; 0: reward model only.", min=0)] = 1.0,
    reward_model: Annotated[Optional[str], typer.Option(help="Reward-model checkpoint, or the URL of acecoder serve-rm.")] = None,
    model_weight: Annotated[float, typer.Option(help="Weight of the normalised reward-model reward.", min=0)] = 1.0,
    normalize: Annotated[Normalize, typer.Option(help="Reward-model normalisation: running mean/std of all scores so far, per batch, or none.")] = Normalize.running,
    timeout: Annotated[float, typer.Option(help="CPU seconds each test may run (5x that in wall time at most).", min=0.01)] = 3.0,
    workers: Annotated[Optional[int], typer.Option(help="Sandbox processes (default: one per CPU core).", min=1)] = None,
    memory_mb: Annotated[int, typer.Option(help="Address-space limit per program, MiB.", min=64)] = 2048,
) -> None:
    """Serve rewards to OpenRLHF (--reward.remote_url http://HOST:PORT/get_reward --data.label_key tests; before 0.10.2: --remote_rm_url, --label_key)."""
    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError
    from acecoder.rewards import CombinedReward, ModelReward, TestReward
    from acecoder.rewards.openrlhf import serve

    try:
        test = TestReward(kind=reward.value, format_weight=format_weight, timeout=timeout, workers=workers, memory_mb=memory_mb) if test_weight > 0 else None
        model = None
        if reward_model:
            from acecoder.rm import RemoteRewardModel, RewardModel

            scorer = RemoteRewardModel(reward_model) if reward_model.startswith(("http://", "https://")) else RewardModel.load(reward_model)
            model = ModelReward(scorer, normalize=normalize.value)
        combined = CombinedReward(test=test, model=model, test_weight=test_weight, model_weight=model_weight)
    except AcecoderError as error:
        fail(error)
    console.print(f"serving rewards on http://{host}:{port}/get_reward", highlight=False)
    serve(combined, host=host, port=port)
