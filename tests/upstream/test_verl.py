"""Our verl reward run by verl 0.9.1's own code (requirements/upstream.txt).

The reward lines of examples/verl/run_reinforce_pp.sh are composed into verl's own
trainer config (Hydra, `ppo_trainer`, as `main_ppo` does), `load_reward_manager` builds
the reward-loop manager they select, and that manager scores rows in the layout
`hard-subset --format verl` writes; the legacy `batch` manager (verl 0.4-0.6) still
scores them through `compute_score_batch`. No GPU: only the reward modules are imported.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from acecoder.data.exports import export_row
from acecoder.records import DatasetRow

EXAMPLE = Path(__file__).parents[2] / "examples" / "verl" / "run_reinforce_pp.sh"
TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]
ANSWERS = {
    "```python\ndef add(a, b):\n    return a + b\n```": 1.0,
    "```python\ndef add(a, b):\n    return a - b\n```": 0.0,
    "no code at all": 0.0,
}


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return transformers.AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module", autouse=True)
def sandbox():
    yield
    import acecoder.rewards.verl

    acecoder.rewards.verl.close()


def rollout(tokenizer) -> "DataProto":  # noqa: F821
    """The rows as verl's agent loop hands them to the reward: left-padded prompts,
    right-padded responses, the parquet row's non-tensor columns."""
    from verl import DataProto

    row = DatasetRow(id="oss_1", source="oss", question="Write add(a, b).", test_cases=TESTS, inferences=[],
                     context_messages=[])
    rows = [export_row(row, "verl", index=i) for i in range(len(ANSWERS))]
    prompts = [tokenizer.apply_chat_template(r["prompt"], tokenize=True, add_generation_prompt=True) for r in rows]
    prompts = [list(p["input_ids"]) if isinstance(p, dict) or hasattr(p, "keys") else list(p) for p in prompts]
    responses = [tokenizer.encode(answer) + [tokenizer.eos_token_id] for answer in ANSWERS]
    width_p, width_r = max(map(len, prompts)), max(map(len, responses))
    pad = tokenizer.pad_token_id
    prompt_ids = torch.tensor([[pad] * (width_p - len(p)) + p for p in prompts])
    response_ids = torch.tensor([r + [pad] * (width_r - len(r)) for r in responses])
    mask = torch.tensor([[0] * (width_p - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (width_r - len(r))
                         for p, r in zip(prompts, responses)])
    return DataProto.from_dict(
        tensors={"prompts": prompt_ids, "responses": response_ids,
                 "input_ids": torch.cat([prompt_ids, response_ids], 1), "attention_mask": mask},
        non_tensors={key: np.array([r[key] for r in rows], dtype=object)
                     for key in ("data_source", "reward_model", "extra_info")},
    )


def example_reward_overrides() -> list[str]:
    """The example's `reward.` lines as Hydra overrides; 2 sandbox workers on this machine."""
    overrides = []
    for line in EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"\s*(\+?reward\.\S+=\S+)\s*\\?", line)
        if match:
            overrides.append(re.sub(r"(reward_kwargs\.workers)=\d+", r"\1=2", match.group(1)))
    assert any("custom_reward_function.path" in o for o in overrides), overrides
    return overrides


def test_the_examples_reward_flags_reach_verls_reward_loop(tokenizer):
    import verl
    from hydra import compose, initialize_config_dir
    from verl.trainer.ppo.reward import load_reward_manager

    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose(config_name="ppo_trainer", overrides=example_reward_overrides())
    manager = load_reward_manager(config, tokenizer)
    data = rollout(tokenizer)
    scored = [manager.loop.run_until_complete(manager.run_single(data[i:i + 1])) for i in range(len(data))]
    assert [s["reward_score"] for s in scored] == list(ANSWERS.values())
    assert [s["reward_extra_info"]["pass_rate"] for s in scored] == [1.0, 0.0, 0.0]
    assert len({tuple(sorted(s["reward_extra_info"])) for s in scored}) == 1  # verl stacks the first sample's keys


def test_the_reward_loop_has_no_batch_manager_and_the_legacy_one_still_scores(tokenizer):
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
    from verl.workers.reward_manager import get_reward_manager_cls as legacy_manager

    from acecoder.rewards.verl import compute_score_batch

    with pytest.raises(ValueError, match="Unknown reward manager: batch"):  # why the example changed
        get_reward_manager_cls("batch")
    manager = legacy_manager("batch")(tokenizer, num_examine=0, compute_score=compute_score_batch, workers=2)
    data = rollout(tokenizer)
    result = manager(data, return_dict=True)
    per_sample = result["reward_tensor"].sum(dim=1).tolist()
    assert per_sample == list(ANSWERS.values())
    assert json.loads(data.non_tensor_batch["reward_model"][0]["ground_truth"]) == TESTS
