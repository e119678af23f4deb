"""The one model-name resolver: embedded names, checkpoint folders, hub names."""

import json

import pytest

from acecoder.errors import ConfigError
from acecoder.llm import check_model, resolve_model


def test_each_kind_of_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert check_model("smollm2-135m") == "embedded"
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    assert check_model(str(tmp_path / "ckpt")) == "folder" and resolve_model(str(tmp_path / "ckpt")) == str(tmp_path / "ckpt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        check_model(str(tmp_path / "empty"), what="train_rm.model")
    with pytest.raises(ConfigError, match=r"train_rm.model 'not a model!!': not an embedded model"):
        check_model("not a model!!", what="train_rm.model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert check_model("Org/Some-Model_1.5") == "hub"


def test_a_hub_name_offline_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="rl.model 'Org/Model'.*HF_HUB_OFFLINE=1.*not in the local cache"):
        check_model("Org/Model", what="rl.model")
    assert resolve_model("Org/Model") == "Org/Model"  # left to transformers' hub loading, which says why
