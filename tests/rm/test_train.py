"""The training loss as configured on TRL's RewardTrainer, pinned against a hand computation."""

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("trl")

from acecoder.prompts import chat, program_response  # noqa: E402
from acecoder.rm import encode  # noqa: E402
from acecoder.rm._train import PreferenceRow, build_trainer, choose_pad_token, tokenize  # noqa: E402
from acecoder.stages.train_rm import TrainRMSettings  # noqa: E402


def rows():
    made = []
    for i, (good, bad, gap) in enumerate([
        ("def f(x):\n    return x + 1", "def f(x):\n    return x", 0.5),
        ("def g(a, b):\n    return a * b", "def g(a, b):\n    return a + b  # wrong for most inputs", 0.75),
        ("def h(s):\n    return s[::-1]", "def h(s):\n    return s", 0.4),
    ]):
        made.append(PreferenceRow(
            prompt=chat(f"Question {i}: write the function.", [f"assert check_{i}()"]),
            chosen=[{"role": "assistant", "content": program_response(good)}],
            rejected=[{"role": "assistant", "content": program_response(bad)}],
            margin=gap,
        ))
    return made


@pytest.mark.parametrize("margin_scale, center", [(0.0, 0.0), (3.0, 0.0), (0.0, 0.1)])
def test_bradley_terry_loss_matches_the_hand_computation(tiny_model, tmp_path, margin_scale, center):
    settings = TrainRMSettings(batch_size=3, micro_batch_size=3, max_length=512, margin_scale=margin_scale,
                               center_rewards=center, device="cpu", seed=0)
    trainer, dropped, _, _ = build_trainer(rows(), model=str(tiny_model), output_dir=tmp_path, settings=settings)
    assert dropped == 0
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    model = trainer.model.eval()
    with torch.no_grad():
        loss = float(trainer.compute_loss(model, dict(batch)))

        # by hand: the body's hidden state at each sequence's last real token (the last 1 of
        # its attention mask), dotted with the score head's weight, in float64
        tokenizer = trainer.processing_class
        weight = model.score.weight.double()[0]
        rewards = []
        for row in rows():
            for side in (row.chosen, row.rejected):
                ids = torch.tensor([encode(tokenizer, row.prompt + side)])
                hidden = model.model(input_ids=ids).last_hidden_state[0, -1].double()
                rewards.append(float(hidden @ weight))
    chosen, rejected = rewards[0::2], rewards[1::2]
    margins = [margin_scale * row.margin for row in rows()]
    expected = sum(
        -math.log(1 / (1 + math.exp(-(c - r - m)))) for c, r, m in zip(chosen, rejected, margins)
    ) / 3
    expected += center * sum((c + r) ** 2 for c, r in zip(chosen, rejected)) / 3
    assert loss == pytest.approx(expected, abs=1e-5)
    # the batch is right-padded and the score position is the last real token of each row
    mask = batch["attention_mask"]
    assert mask[:, 0].all() and not mask.all()


def test_tokenize_drops_pairs_over_max_length_and_scales_margins(tiny_model):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    lengths = [max(len(encode(tokenizer, row.prompt + side)) for side in (row.chosen, row.rejected)) for row in rows()]
    limit = sorted(lengths)[1]
    assert sorted(lengths)[2] > limit
    columns, dropped = tokenize(tokenizer, rows(), max_length=limit, margin_scale=3.0)
    assert dropped == 1 and len(columns["chosen_ids"]) == 2
    assert columns["margin"] == pytest.approx([3.0 * r.margin for r, n in zip(rows(), lengths) if n <= limit])
    columns, _ = tokenize(tokenizer, rows(), max_length=4096, margin_scale=0.0)
    assert "margin" not in columns  # no margin term unless asked


def test_pad_token_never_ends_a_sequence(tiny_model):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    pad = tokenizer.pad_token_id
    assert choose_pad_token(tokenizer, [[5, 6, 7]]) == tokenizer.pad_token
    # a tokenizer whose pad token ends sequences (end-of-turn doubling as pad) gets another one
    chosen = choose_pad_token(tokenizer, [[5, 6, pad]])
    assert chosen != tokenizer.pad_token and tokenizer.convert_tokens_to_ids(chosen) != pad


def test_shipped_accelerate_configs_parse():
    from pathlib import Path

    from accelerate.commands.config.config_args import load_config_from_file

    root = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
    zero3 = load_config_from_file(str(root / "zero3.yaml"))
    assert zero3.distributed_type.value == "DEEPSPEED" and zero3.deepspeed_config["zero_stage"] == 3
    assert zero3.mixed_precision == "bf16" and zero3.deepspeed_config["zero3_save_16bit_model"] is True
    fsdp = load_config_from_file(str(root / "fsdp.yaml"))
    assert fsdp.distributed_type.value == "FSDP" and fsdp.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"
