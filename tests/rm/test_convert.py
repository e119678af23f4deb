"""Conversions between the AceCodeRM (v_head), transformers (score) and OpenRLHF (value_head) layouts."""

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from acecoder.errors import ConfigError  # noqa: E402
from acecoder.rm import RewardModel, convert, detect_layout, encode, pair_messages  # noqa: E402
from acecoder.rm._model import weight_names  # noqa: E402


def scores(folder, items):
    return RewardModel.load(folder, device="cpu").score(*items)


def test_round_trip_through_every_layout_keeps_the_scores(acecoderm, items, tmp_path, head_bias):
    expected = scores(acecoderm, items)
    path, layout = acecoderm, "v_head"
    for target in ("score", "value_head", "v_head", "value_head", "score", "v_head"):
        out = tmp_path / f"{len(list(tmp_path.iterdir()))}-{target}"
        summary = convert(path, out, layout=target)
        assert (summary.source_layout, summary.layout) == (layout, target)
        assert summary.bias == pytest.approx(head_bias)
        assert detect_layout(out) == target
        assert scores(out, items) == pytest.approx(expected, abs=1e-5)
        path, layout = out, target
    names = weight_names(path)
    assert {"v_head.summary.weight", "v_head.summary.bias", "lm_head.weight"} <= names


def test_score_layout_loads_in_transformers_minus_the_kept_bias(acecoderm, items, tmp_path, head_bias):
    out = tmp_path / "seqcls"
    convert(acecoderm, out, layout="score")
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForSequenceClassification"] and config["num_labels"] == 1
    assert "score.bias" in weight_names(out) and "acecoder_score_bias" not in config  # the fork reads the bias
    assert "lm_head.weight" not in weight_names(out)  # a classifier has none
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    assert config["acecoder_prompt_style"] == "acecodepair"  # AceCodeRM's wording travels with its weights
    theirs = []
    for question, program, tests in zip(*items):
        ids = torch.tensor([encode(tokenizer, pair_messages(question, program, tests, style="acecodepair"),
                                   style="acecodepair")])
        with torch.no_grad():
            theirs.append(float(reference(input_ids=ids).logits[0, 0]))
    ours = scores(out, items)
    assert [o - head_bias for o in ours] == pytest.approx(theirs, abs=1e-5)


def test_openrlhf_layout_keeps_the_bias_and_folds_its_normalisation(acecoderm, items, tmp_path):
    out = tmp_path / "openrlhf"
    convert(acecoderm, out, layout="value_head")
    assert {"value_head.weight", "value_head.bias"} <= weight_names(out)
    raw = scores(out, items)
    # OpenRLHF's normalize_reward: the model's score is (head - mean) / std
    config = json.loads((out / "config.json").read_text())
    config.update(normalize_reward=True, mean=0.25, std=2.0)
    (out / "config.json").write_text(json.dumps(config))
    normalised = scores(out, items)
    assert normalised == pytest.approx([(r - 0.25) / 2.0 for r in raw], abs=1e-5)
    back = tmp_path / "back"
    convert(out, back, layout="v_head")  # the normalisation travels folded into the head
    assert scores(back, items) == pytest.approx(normalised, abs=1e-5)
    assert "normalize_reward" not in json.loads((back / "config.json").read_text())


def test_classifier_without_bias_to_acecoderm_gets_an_lm_head(classifier, items, tmp_path):
    out = tmp_path / "vh"
    summary = convert(classifier, out, layout="v_head")
    assert summary.bias == 0.0
    assert "lm_head.weight" in weight_names(out)
    assert json.loads((out / "config.json").read_text())["architectures"] == ["Qwen2ForCausalLM"]
    transformers.AutoModelForCausalLM.from_pretrained(out)  # loads as the causal LM AceCodeRM tools build
    assert scores(out, items) == pytest.approx(scores(classifier, items), abs=1e-5)


def test_conversion_refuses_to_overwrite(acecoderm, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("keep me")
    with pytest.raises(ConfigError, match="not empty"):
        convert(acecoderm, tmp_path / "taken", layout="score")
    with pytest.raises(ConfigError, match="layout"):
        convert(acecoderm, tmp_path / "new", layout="lm_head")


def test_the_command(acecoderm, items, tmp_path, head_bias):
    import subprocess
    import sys

    out = tmp_path / "seqcls"
    result = subprocess.run([sys.executable, "-m", "acecoder.cli", "convert-rm", str(acecoderm), "-o", str(out), "--to", "score"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "v_head -> score" in result.stderr and "score.bias" in result.stderr and "prompt style acecodepair" in result.stderr
    assert scores(out, items) == pytest.approx(scores(acecoderm, items), abs=1e-5)
    result = subprocess.run([sys.executable, "-m", "acecoder.cli", "convert-rm", str(tmp_path / "none"), "-o", str(tmp_path / "x"), "--to", "v_head"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no config.json" in result.stderr and "Traceback" not in result.stderr
