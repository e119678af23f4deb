"""RewardModel: the score is head(last real token's hidden state), computed here by hand."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from acecoder.errors import ConfigError  # noqa: E402
from acecoder.prompts import program_response, question_prompt  # noqa: E402
from acecoder.rm import RewardModel, detect_layout, encode, last_token_index, pair_messages, render  # noqa: E402


def test_importing_the_package_loads_no_heavy_module():
    probe = (
        "import sys, acecoder.rm, acecoder.stages.train_rm, acecoder.stages.score; "
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'fastapi', 'peft', 'datasets') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_last_token_index_with_right_and_left_padding():
    right = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    left = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]])
    assert last_token_index(right).tolist() == [2, 4, 0]
    assert last_token_index(left).tolist() == [4, 4, 4]


def test_rendering_is_the_projects_prompt_through_the_chat_template(tiny_model):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    messages = pair_messages("Q?", "x = 1", ["assert x == 1", "assert x"])
    expected = (
        f"<|im_start|>user\n{question_prompt('Q?', ['assert x == 1'])}<|im_end|>\n"
        f"<|im_start|>assistant\n{program_response('x = 1')}<|im_end|>\n"
    )
    assert render(tokenizer, messages) == expected
    assert encode(tokenizer, messages) == tokenizer(expected, add_special_tokens=False)["input_ids"]
    tokenizer.chat_template = None  # no template: the turns joined, the end-of-sequence token last
    assert render(tokenizer, messages) == f"{question_prompt('Q?', ['assert x == 1'])}\n\n{program_response('x = 1')}<|im_end|>"


def hand_scores(tiny_model, acecoderm, items):
    """Each item alone (no padding): the body's last hidden state at the last token, times
    the head's weight, plus its bias, in float64."""
    from safetensors.torch import load_file

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    body = transformers.AutoModel.from_pretrained(tiny_model).eval()
    head = load_file(str(acecoderm / "v_head.safetensors"))
    weight, bias = head["v_head.summary.weight"].double(), head["v_head.summary.bias"].double()
    scores = []
    for question, program, tests in zip(*items):
        # the released AceCodeRM layout scores in the released AceCodePair wording
        ids = torch.tensor([encode(tokenizer, pair_messages(question, program, tests, style="acecodepair"),
                                   style="acecodepair")])
        with torch.no_grad():
            hidden = body(input_ids=ids).last_hidden_state[0, -1].double()
        scores.append(float(hidden @ weight[0] + bias[0]))
    return scores


def test_acecoderm_layout_scores_equal_the_hand_computation_in_any_batch(tiny_model, acecoderm, items):
    model = RewardModel.load(acecoderm, device="cpu")
    assert model.layout == "v_head" and model.name == acecoderm.name and model.style == "acecodepair"
    expected = hand_scores(tiny_model, acecoderm, items)
    for batch_size in (1, 2, 4):  # alone, and padded next to longer and shorter ones
        assert model.score(*items, batch_size=batch_size) == pytest.approx(expected, abs=1e-5)


def test_left_padding_gives_the_same_scores_as_right_padding(acecoderm, items):
    model = RewardModel.load(acecoderm, device="cpu")
    sequences = [encode(model.tokenizer, pair_messages(q, p, t)) for q, p, t in zip(*items)]
    assert len({len(s) for s in sequences}) > 1  # padding really happens
    with torch.no_grad():
        right = model.forward(*model.collate(sequences)).tolist()
        left = model.forward(*model.collate(sequences, left=True)).tolist()
    assert left == pytest.approx(right, abs=1e-5)


def test_a_long_sequence_keeps_its_end(acecoderm, items):
    model = RewardModel.load(acecoderm, device="cpu", max_length=24)
    ids = encode(model.tokenizer, pair_messages(*(x[0] for x in items)))
    assert len(ids) > 24
    [cut] = model.score_ids([ids])
    [tail] = RewardModel.load(acecoderm, device="cpu").score_ids([ids[-24:]])
    assert cut == pytest.approx(tail, abs=1e-6) and model.truncated == 1


def test_classifier_layout_agrees_with_transformers_on_a_right_padded_batch(classifier, items):
    model = RewardModel.load(classifier, device="cpu")
    assert model.layout == "score"
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(classifier).eval()
    sequences = [encode(model.tokenizer, pair_messages(q, p, t)) for q, p, t in zip(*items)]
    ids, mask = model.collate(sequences)
    with torch.no_grad():
        theirs = reference(input_ids=ids, attention_mask=mask).logits[:, 0].tolist()
    assert model.score(*items) == pytest.approx(theirs, abs=1e-5)


def test_mismatched_lengths_and_bad_folders_are_clear_errors(tiny_model, acecoderm, tmp_path):
    model = RewardModel.load(acecoderm, device="cpu")
    with pytest.raises(ConfigError, match="2 questions, 1 programs"):
        model.score(["a", "b"], ["x"])
    with pytest.raises(ConfigError, match="no reward head"):
        detect_layout(tiny_model)  # a plain causal LM
    with pytest.raises(ConfigError, match="no config.json"):
        RewardModel.load(tmp_path)
