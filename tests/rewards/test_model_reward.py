"""Reward-model reward: normalisation pinned by hand, the question recovered from each prompt shape."""

import math

import pytest

from acecoder.errors import ConfigError
from acecoder.prompts import chat, question_prompt
from acecoder.rewards import ModelReward, RunningStats, combine, question_from_prompt


class Fixed:
    """Scores given in advance, batch by batch (the contract of acecoder.rm's score)."""

    def __init__(self, *batches):
        self.batches = list(batches)

    def score(self, questions, programs, tests=None, batch_size=None):
        return self.batches.pop(0)


def test_running_normalisation_by_hand():
    reward = ModelReward(Fixed([10.0, 20.0], [30.0, 40.0]), normalize="running", clip=None)
    # after [10, 20]: mean 15, population std 5 -> -1, +1
    assert reward.score(["q"] * 2, ["a"] * 2) == [-1.0, 1.0]
    # after [10, 20, 30, 40]: mean 25, std sqrt((225 + 25 + 25 + 225) / 4) = sqrt(125)
    assert reward.score(["q"] * 2, ["a"] * 2) == pytest.approx([5 / math.sqrt(125), 15 / math.sqrt(125)])


def test_batch_normalisation_clip_and_none():
    assert ModelReward(Fixed([1.0, 3.0]), normalize="batch").score(["q"] * 2, ["a"] * 2) == [-1.0, 1.0]
    # scores 0 x 9 and 100: mean 10, std 30 -> 90 / 30 = 3, clipped to 2
    clipped = ModelReward(Fixed([0.0] * 9 + [100.0]), normalize="batch", clip=2.0).score(["q"] * 10, ["a"] * 10)
    assert clipped[-1] == 2.0 and clipped[0] == pytest.approx(-1 / 3)
    assert ModelReward(Fixed([23.0, -20.0]), normalize="none", clip=None).score(["q"] * 2, ["a"] * 2) == [23.0, -20.0]
    assert ModelReward(Fixed([5.0, 5.0]), normalize="batch").score(["q"] * 2, ["a"] * 2) == [0.0, 0.0]
    with pytest.raises(ConfigError, match="normalize 'z' is unknown"):
        ModelReward(Fixed(), normalize="z")


def test_running_stats_match_the_formula():
    stats = RunningStats()
    stats.update([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert (stats.mean, stats.std) == (5.0, 2.0)


def test_combine_weights_and_unscorable():
    assert combine([(1.0, [1.0, 0.0]), (0.5, [2.0, -2.0])]) == [2.0, -1.0]
    assert combine([(1.0, [None, 1.0]), (1.0, [1.0, 1.0])]) == [None, 2.0]
    with pytest.raises(ValueError):
        combine([(1.0, [1.0]), (1.0, [1.0, 2.0])])


def test_question_recovered_from_every_prompt_shape():
    tests = ["assert f(1) == 2"]
    question = "Implement `f(x)` returning x + 1."
    text = question_prompt(question, tests)
    assert question_from_prompt(text) == question
    assert question_from_prompt(chat(question, tests)) == question
    assert question_from_prompt([{"role": "system", "content": "think"}, *chat(question)]) == question
    templated = f"<|im_start|>user\n{question_prompt(question)}<|im_end|>\n<|im_start|>assistant\n"
    assert question_from_prompt(templated) == question
    assert question_from_prompt("free text") == "free text"


@pytest.fixture(scope="module")
def tiny_rm(tiny_model, tmp_path_factory):
    """A reward-model checkpoint in the released AceCodeRM layout (v_head) on the tiny Qwen2."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("tiny-rm")
    for item in tiny_model.iterdir():
        shutil.copy2(item, folder / item.name)
    tensors = load_file(str(folder / "model.safetensors"))
    hidden = tensors["lm_head.weight"].shape[1]
    tensors["v_head.summary.weight"] = torch.randn(1, hidden, generator=torch.Generator().manual_seed(0))
    tensors["v_head.summary.bias"] = torch.tensor([0.5])
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def test_a_real_reward_model_through_the_reward_and_the_rl_recipe(tiny_rm):
    from acecoder.rm import RewardModel
    from acecoder.stages import rl

    rm = RewardModel.load(tiny_rm)
    questions = ["Implement `add(a, b)`.", "Implement `neg(x)`."]
    programs = ["def add(a, b):\n    return a + b", "def neg(x):\n    return x"]
    raw = rm.score(questions, programs)
    prompts = [chat(q) for q in questions]
    completions = [f"```python\n{p}\n```" for p in programs]
    reward = ModelReward(rm, normalize="none", clip=None)
    assert reward.score(prompts, completions) == pytest.approx(raw, abs=1e-5)
    assert ModelReward(rm, normalize="batch").score(prompts, completions) == pytest.approx([-1.0, 1.0] if raw[0] < raw[1] else [1.0, -1.0], abs=1e-4)
    funcs, weights, test = rl.build_rewards(rl.RLSettings(reward_model=str(tiny_rm), reward_model_weight=0.5))
    try:
        assert [f.__name__ for f in funcs] == ["test_reward", "model_reward"] and weights == [1.0, 0.5]
    finally:
        test.close()
