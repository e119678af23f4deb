"""Move a reward-model checkpoint between the three head layouts, in either direction.

    convert("AceCodeRM-7B", "rm-seqcls", layout="score")      # -> AutoModelForSequenceClassification
    convert("rm-seqcls", "rm-openrlhf", layout="value_head")  # -> OpenRLHF's reward model
    convert("rm-openrlhf", "rm-acecoderm", layout="v_head")   # -> the released AceCodeRM layout

The transformer body (`model.*`) is the same in all three; only the head's name,
its bias and the presence of `lm_head` differ (see `_model.py`). The conversion
renames tensors shard by shard (a 7B checkpoint never sits in memory whole), copies
the tokenizer and other files, and rewrites `config.json`:

- to `score`: `score.weight`, and `score.bias` when the head has a nonzero bias. Who
  reads what: AceCoder's OpenRLHF fork (jdf-prog/OpenRLHF at b2e2cdb, 0.5.7-based,
  the one its RL scripts run) builds `nn.Linear(hidden, 1, bias=True)` under
  `value_head_prefix` (default `score`) and reads both, so its scores are ours;
  transformers' `AutoModelForSequenceClassification` and mainline OpenRLHF (0.6 and
  later; tested with 0.11.2) have no bias there and ignore it, so their scores are
  ours minus that constant (every comparison between programs, best-of-N included,
  is unchanged). `lm_head` is dropped (a classifier has none).
- to `v_head`: tools that load AceCodeRM build a causal LM, so the checkpoint needs
  `lm_head.weight`. The reward never reads it; when the source has none (a
  classifier), we write a copy of the input embeddings (the tied-embedding choice).
- to `value_head`: the same head named `value_head` (with `value_head.bias` when
  nonzero), and `config.value_head_prefix = "value_head"`: both OpenRLHF lines name
  their head by that key, and without it would build a fresh `score` head and only
  warn. OpenRLHF's reward normalisation (`normalize_reward`, `mean`, `std` in the
  config) is carried to and from the other layouts by folding it into the head:
  (w·h + b - mean) / std.

Every layout but `v_head` records `value_head_prefix`, and every layout records the
prompt style its scores are for (`acecoder_prompt_style`: a `v_head` source, the
released AceCodeRM, is `acecodepair`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.errors import ConfigError
from acecoder.rm._model import HEAD_KEYS, LAYOUTS, STYLE_KEY, detect_layout, style_of, weight_files

BIAS_KEY = "acecoder_score_bias"


@dataclass(kw_only=True)
class ConvertSummary:
    source: str
    source_layout: str
    output: str
    layout: str
    bias: float  # the head's bias, as carried over
    tensors: int  # tensors written
    style: str = "acecoder"  # the prompt style recorded in the output's config


def convert(source: str | Path, output: str | Path, *, layout: str) -> ConvertSummary:
    """Write the checkpoint at `source` to the new folder `output` with the `layout` head."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    source, output = Path(source), Path(output)
    if layout not in LAYOUTS:
        raise ConfigError(f"layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if output.exists() and any(output.iterdir()):
        raise ConfigError(f"output {output} exists and is not empty: name a new folder")
    if output.resolve() == source.resolve():
        raise ConfigError("output is the source folder: write somewhere else")
    from_layout = detect_layout(source)
    config = json.loads((source / "config.json").read_text())

    # ALGO LOGIC: the head as (weight [1, hidden] float32, bias float), normalisation folded in
    prefix = HEAD_KEYS[from_layout]
    weight = bias = None
    embed = lm_head_present = None
    for file in weight_files(source):
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                if name == f"{prefix}.weight":
                    weight = handle.get_tensor(name).float().reshape(1, -1)
                elif name == f"{prefix}.bias":
                    bias = float(handle.get_tensor(name).float().reshape(-1)[0])
                elif name == "lm_head.weight":
                    lm_head_present = True
                elif name.endswith("embed_tokens.weight") and embed is None:
                    embed = name
    bias = bias or 0.0
    if from_layout == "score":  # where conversions before score.bias kept it
        bias += float(config.pop(BIAS_KEY, 0.0) or 0.0)
    if from_layout == "value_head" and config.get("normalize_reward"):
        mean, std = float(config.get("mean", 0.0)), float(config.get("std", 1.0))
        weight, bias = weight / std, (bias - mean) / std
    for key in ("normalize_reward", "mean", "std"):
        config.pop(key, None)

    # the body, renamed shard by shard
    output.mkdir(parents=True, exist_ok=True)
    head_names = {f"{prefix}.weight", f"{prefix}.bias"}
    weight_map: dict[str, str] = {}
    dtype = None
    # Shards are named model-0000i-of-0000n: a file named model.safetensors would be
    # loaded alone by transformers, which would then miss the head's shard.
    files = weight_files(source)
    shard = [f"model-{i:05d}-of-{len(files) + 1:05d}.safetensors" for i in range(1, len(files) + 2)]
    for number, file in enumerate(files):
        tensors = {}
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                if name in head_names or (layout == "score" and name == "lm_head.weight"):
                    continue
                tensors[name] = handle.get_tensor(name)
                dtype = dtype or tensors[name].dtype
        if tensors:
            save_file(tensors, str(output / shard[number]), metadata={"format": "pt"})
            weight_map.update(dict.fromkeys(tensors, shard[number]))

    head_file = shard[-1]
    new_prefix = HEAD_KEYS[layout]
    head = {f"{new_prefix}.weight": weight.to(dtype)}
    if layout == "v_head":
        head[f"{new_prefix}.bias"] = torch.tensor([bias], dtype=dtype)
        if not lm_head_present and not config.get("tie_word_embeddings", False):
            if embed is None:
                raise ConfigError(f"{source}: no embed_tokens weight to stand in for lm_head")
            with safe_open(str(source / _shard_of(source, embed)), framework="pt") as handle:
                head["lm_head.weight"] = handle.get_tensor(embed).clone()
    elif bias != 0.0:  # score and value_head: read by AceCoder's fork, ignored by heads without a bias
        head[f"{new_prefix}.bias"] = torch.tensor([bias], dtype=dtype)
    save_file(head, str(output / head_file), metadata={"format": "pt"})
    weight_map.update(dict.fromkeys(head, head_file))
    index = {"metadata": {}, "weight_map": dict(sorted(weight_map.items()))}
    write_atomic(output / "model.safetensors.index.json", json.dumps(index, indent=2) + "\n")

    # config and the other files (tokenizer, chat template, generation config)
    for item in source.iterdir():
        if item.is_file() and not item.name.endswith(".safetensors") and item.name not in (
            "config.json", "model.safetensors.index.json"
        ):
            shutil.copy2(item, output / item.name)
    config["architectures"] = [_architecture(config, layout)]
    config[STYLE_KEY] = style_of(config, from_layout)  # AceCodeRM's (v_head) wording travels with its weights
    if layout == "v_head":
        config.pop("value_head_prefix", None)
    else:  # the head OpenRLHF's loader builds and fills (see the module's docstring)
        config["value_head_prefix"] = HEAD_KEYS[layout]
    if layout == "score":
        config["num_labels"] = 1
        config["id2label"], config["label2id"] = {"0": "LABEL_0"}, {"LABEL_0": 0}
    write_atomic(output / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    return ConvertSummary(
        source=str(source), source_layout=from_layout, output=str(output), layout=layout,
        bias=bias, tensors=len(weight_map), style=config[STYLE_KEY],
    )


def _shard_of(path: Path, name: str) -> str:
    index = path / "model.safetensors.index.json"
    if index.exists():
        return json.loads(index.read_text())["weight_map"][name]
    return weight_files(path)[0].name


def _architecture(config: dict, layout: str) -> str:
    """Qwen2ForCausalLM <-> Qwen2ForSequenceClassification, by the model family's name."""
    names = config.get("architectures") or []
    family = next(
        (n.removesuffix(s) for n in names for s in ("ForCausalLM", "ForSequenceClassification", "Model") if n.endswith(s)),
        None,
    )
    if family is None:
        family = {"qwen2": "Qwen2", "llama": "Llama", "mistral": "Mistral"}.get(config.get("model_type", ""), "")
        if not family:
            raise ConfigError(f"cannot tell the model family of architectures {names}: convert a transformers checkpoint")
    return family + ("ForSequenceClassification" if layout == "score" else "ForCausalLM")
