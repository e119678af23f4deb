"""Commands of the reward model: train-rm, score, serve-rm, convert-rm."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from acecoder.cli._app import app


class Layout(str, enum.Enum):
    score = "score"
    v_head = "v_head"
    value_head = "value_head"


class DType(str, enum.Enum):
    bfloat16 = "bfloat16"
    float16 = "float16"
    float32 = "float32"


@app.command("train-rm")
def train_rm(
    pairs: Annotated[Path, typer.Argument(help="Preference pairs: our Pair records or TRL rows (prompt/chosen/rejected); .jsonl, .parquet or a datasets folder.")],
    model: Annotated[str, typer.Option(help="The base model: a checkpoint folder, a hub name (ORG/NAME), or smollm2-135m / qwen2.5-coder-0.5b (embedded).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder: the final model, checkpoints, metrics.jsonl, eval.json. Rerun to resume.")],
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (the method: 1e-5; LoRA ~1e-4).")] = 1e-5,
    epochs: Annotated[float, typer.Option(help="Passes over the pairs (the method: 1).")] = 1.0,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimizer steps (overrides --epochs).", min=1)] = None,
    batch_size: Annotated[int, typer.Option(help="Effective batch: pairs per optimizer step, all processes (the method: 128).", min=1)] = 128,
    micro_batch_size: Annotated[int, typer.Option(help="Pairs per process per forward pass; accumulation makes up the rest.", min=1)] = 1,
    max_length: Annotated[int, typer.Option(help="Tokens per rendered program; longer pairs are left out (the method: 2048).", min=8)] = 2048,
    warmup_ratio: Annotated[float, typer.Option(help="Share of steps warming up (the method: 0.1).", min=0, max=0.99)] = 0.1,
    lr_scheduler: Annotated[str, typer.Option(help="transformers scheduler (the method: cosine).")] = "cosine",
    prompt_style: Annotated[str, typer.Option(help="How Pair records show a question and a program: acecoder (ours) or acecodepair (the released AceCodePair-300K's); recorded in the model, which scoring follows.")] = "acecoder",
    margin_scale: Annotated[float, typer.Option(help=">0: loss -log sigmoid(r+ - r- - SCALE * pass-rate gap) (the RL fork: 3).", min=0)] = 0.0,
    center_rewards: Annotated[float, typer.Option(help=">0: add this * mean((r+ + r-)^2), keeping scores near 0.", min=0)] = 0.0,
    eval_fraction: Annotated[float, typer.Option(help="Share of pairs held out, whole questions (the method: 0.005).", min=0, max=0.99)] = 0.005,
    bf16: Annotated[Optional[bool], typer.Option("--bf16/--no-bf16", help="bfloat16 mixed precision [default: when the GPU has it].")] = None,
    gradient_checkpointing: Annotated[bool, typer.Option(help="Recompute activations: less memory, slower.")] = False,
    lora_rank: Annotated[int, typer.Option(help=">0: train LoRA adapters of this rank (merged at the end) instead of all weights.", min=0)] = 0,
    lora_alpha: Annotated[int, typer.Option(help="LoRA scaling numerator.", min=1)] = 32,
    logging_steps: Annotated[int, typer.Option(help="Optimizer steps between metrics lines.", min=1)] = 10,
    save_steps: Annotated[int, typer.Option(help="Optimizer steps between resumable checkpoints.", min=1)] = 200,
    tensorboard: Annotated[bool, typer.Option(help="Also log to TensorBoard under OUTPUT/runs.")] = False,
    seed: Annotated[int, typer.Option(help="Seeds the split, the head and the data order.")] = 42,
    cpu: Annotated[bool, typer.Option(help="Train on the CPU even when a GPU is present.")] = False,
) -> None:
    """Train a Bradley-Terry reward model on preference pairs (TRL RewardTrainer; `accelerate launch` for many GPUs)."""
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import train_rm as stage

    settings = stage.TrainRMSettings(
        learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
        micro_batch_size=micro_batch_size, max_length=max_length, warmup_ratio=warmup_ratio,
        lr_scheduler=lr_scheduler, prompt_style=prompt_style, margin_scale=margin_scale, center_rewards=center_rewards,
        eval_fraction=eval_fraction, bf16=bf16, gradient_checkpointing=gradient_checkpointing,
        lora_rank=lora_rank, lora_alpha=lora_alpha, logging_steps=logging_steps, save_steps=save_steps,
        tensorboard=tensorboard, seed=seed, device="cpu" if cpu else None,
    )
    try:
        with progress_bar("train-rm", unit="steps") as bar:
            summary = stage.run(pairs, output, model=model, settings=settings, progress=bar)
    except AcecoderError as error:
        fail(error)
    if int(os.environ.get("RANK", "0")) != 0:  # under accelerate/torchrun, the main process reports
        return
    accuracy = f"{summary.eval_accuracy:.3f}" if summary.eval_accuracy is not None else "n/a"
    margin = f"{summary.eval_margin:.3f}" if summary.eval_margin is not None else "n/a"
    loss = f"{summary.loss:.4f}" if summary.loss is not None else "n/a"
    lines = [
        f"[bold green]done[/] {summary.steps} steps on {summary.train_pairs} pairs ({summary.format} format) in "
        f"{summary.seconds:.1f} s, {summary.pairs_per_second:.2f} pairs/s"
        + (f" (resumed from step {summary.resumed_from})" if summary.resumed_from else ""),
        f"  last training loss {loss}; held out {summary.eval_pairs} pairs: accuracy {accuracy}, mean margin {margin}",
    ]
    if summary.dropped_long:
        lines.append(f"  [yellow]left out {summary.dropped_long} pairs longer than --max-length[/]")
    lines.append(f"  wrote {summary.output} (model, metrics.jsonl, eval.json)")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@app.command()
def score(
    samples: Annotated[Path, typer.Argument(help="Samples (Sample records): .jsonl, .parquet or a datasets folder.")],
    questions: Annotated[Path, typer.Option(help="Their questions: the filtered dataset (the first kept test shown, as in training), Question records, or benchmark Problem records.")],
    model: Annotated[str, typer.Option(help="A reward model folder (any layout) or the URL of an `acecoder serve-rm` server.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Scores (Score records), .jsonl, streamed.")],
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.", min=1)] = 16,
    max_length: Annotated[int, typer.Option(help="Tokens per program; a longer one keeps its end.", min=8)] = 2048,
    device: Annotated[Optional[str], typer.Option(help="cuda, cpu, ... [default: a GPU when there is one].")] = None,
    dtype: Annotated[Optional[DType], typer.Option(help="[default: bfloat16 on a GPU that has it, else float32].")] = None,
    name: Annotated[Optional[str], typer.Option(help="The reward_model name written [default: the model's].")] = None,
    resume: Annotated[bool, typer.Option(help="Keep OUTPUT and score only the samples it lacks.")] = False,
) -> None:
    """Score every sample with a reward model (batched, length-sorted)."""
    from acecoder.cli._support import console, fail, progress_bar
    from acecoder.errors import AcecoderError
    from acecoder.stages import score as stage

    settings = stage.ScoreSettings(batch_size=batch_size, max_length=max_length, device=device,
                                   dtype=dtype.value if dtype else None, name=name)
    try:
        with progress_bar("score", unit="programs") as bar:
            summary = stage.run(samples, output, questions_path=questions, model=model, settings=settings,
                                resume=resume, progress=bar)
    except AcecoderError as error:
        fail(error)
    mean = f"{summary.mean_score:.3f}" if summary.mean_score is not None else "n/a"
    lines = [
        f"[bold green]done[/] {summary.scored} programs scored by {summary.reward_model} ({summary.already_done} already done) "
        f"in {summary.seconds:.1f} s, {summary.per_second:.1f} programs/s; mean score {mean}",
    ]
    if summary.truncated:
        lines.append(f"  [yellow]{summary.truncated} programs longer than --max-length kept their last tokens[/]")
    lines.append(f"  wrote {summary.output}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@app.command("serve-rm")
def serve_rm(
    model: Annotated[str, typer.Argument(help="A reward model folder (any layout).")],
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    max_batch: Annotated[int, typer.Option(help="Most items one request may carry (more: HTTP 413).", min=1)] = 512,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.", min=1)] = 16,
    max_length: Annotated[int, typer.Option(help="Tokens per program; a longer one keeps its end.", min=8)] = 2048,
    device: Annotated[Optional[str], typer.Option(help="cuda, cpu, ... [default: a GPU when there is one].")] = None,
    dtype: Annotated[Optional[DType], typer.Option(help="[default: bfloat16 on a GPU that has it, else float32].")] = None,
) -> None:
    """Serve a reward model over HTTP: POST /score, OpenRLHF's POST /get_reward, GET /health."""
    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError

    try:
        import uvicorn

        from acecoder.rm import RewardModel, create_app

        model_ = RewardModel.load(model, device=device, dtype=dtype.value if dtype else None, max_length=max_length)
    except AcecoderError as error:
        fail(error)
    scorer = _Batched(model_, batch_size)
    console.print(f"serving {model_.name} ({model_.layout} head) on http://{host}:{port} "
                  f"(/score, /get_reward, /health; at most {max_batch} items a request)", highlight=False)
    uvicorn.run(create_app(scorer, max_batch=max_batch), host=host, port=port, log_level="warning")


class _Batched:
    """The model with this server's forward-pass batch size."""

    def __init__(self, model, batch_size: int):
        self.model, self.batch_size = model, batch_size
        self.name, self.tokenizer = model.name, model.tokenizer

    def score(self, questions, programs, tests=None):
        return self.model.score(questions, programs, tests, batch_size=self.batch_size)


@app.command("convert-rm")
def convert_rm(
    source: Annotated[Path, typer.Argument(help="A reward model folder: AceCodeRM (v_head), transformers (score) or OpenRLHF (value_head).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="A new folder for the converted checkpoint.")],
    to: Annotated[Layout, typer.Option(help="score: AutoModelForSequenceClassification; v_head: AceCodeRM's; value_head: OpenRLHF's.")],
) -> None:
    """Convert a reward model between the AceCodeRM, transformers and OpenRLHF head layouts."""
    from acecoder.cli._support import console, fail
    from acecoder.errors import AcecoderError
    from acecoder.rm import convert

    try:
        summary = convert(source, output, layout=to.value)
    except AcecoderError as error:
        fail(error)
    note = f"\n  prompt style {summary.style} (recorded in config.json; scoring renders in it)"
    if to is not Layout.v_head and summary.bias:
        note += (f"\n  head bias {summary.bias:+.4f} kept as {to.value}.bias: RewardModel and AceCoder's OpenRLHF fork"
                 " read it; transformers and mainline OpenRLHF score lower by it (rankings unchanged)")
    console.print(f"[bold green]done[/] {summary.source_layout} -> {summary.layout}: wrote {summary.output} "
                  f"({summary.tensors} tensors){note}", highlight=False, soft_wrap=True)
