"""The pipeline runner on real stages against a local OpenAI-compatible stub (one setting,
llm.base_url, points every model at it): outputs, skipping, resuming, reruns after a
settings change, partial runs, and config errors naming the key."""

import json
import re
from pathlib import Path

import pytest
import yaml

from acecoder.errors import ConfigError
from acecoder.llm import Fault, StubServer
from acecoder.pipeline import load_config, run_pipeline

SEEDS = [
    {"instruction": "Write add(a, b) returning the sum.", "response": "```python\ndef add(a, b):\n    return a + b\n```"},
    {"instruction": "Write double(x).", "response": "```python\ndef double(x):\n    return 2 * x\n```"},
    {"instruction": "Write square(x).", "response": "```python\ndef square(x):\n    return x * x\n```"},
]
RIGHT = {"add": "a + b", "double": "2 * x", "square": "x * x"}
ARGS = {"add": "a, b", "double": "x", "square": "x"}
# Wrong variants a policy writes for some sample indexes: pass some tests, not all.
WRONG = {"add": "a + b if a < 3 else a", "double": "2 * x if x < 3 else x", "square": "x * x if x < 3 else x"}


def call(name: str, i: int) -> str:
    return f"{name}({i}, {i + 1})" if name == "add" else f"{name}({i})"


def expected(name: str, i: int) -> int:
    return {"add": i + i + 1, "double": 2 * i, "square": i * i}[name]


def reply(body: dict, index: int) -> str:
    prompt = body["messages"][-1]["content"]
    name = next(n for n in RIGHT if f"{n}(" in prompt)
    if body["model"] == "writer":  # synth: a question and 6 tests, one of them wrong
        tests = [f"assert {call(name, i)} == {expected(name, i)}" for i in range(5)] + [f"assert {call(name, 9)} == -1"]
        return json.dumps({"question": f"Write a function {name}({ARGS[name]}).", "tests": tests})
    body_ = RIGHT[name] if body["model"] == "oracle" or index % 2 == 0 else WRONG[name]
    return f"```python\ndef {name}({ARGS[name]}):\n    return {body_}\n```"


@pytest.fixture
def stub():
    with StubServer(reply=reply) as server:
        yield server


def write_config(tmp_path: Path, base_url: str, **extra) -> Path:
    (tmp_path / "seeds.jsonl").write_text("".join(json.dumps(row) + "\n" for row in SEEDS))
    config = {
        "run_dir": str(tmp_path / "run"),
        "seeds": "seeds.jsonl",
        "stages": ["synth", "sample", "filter", "pairs", "hard-subset"],
        "llm": {"base_url": base_url, "concurrency": 4},
        "synth": {"model": "writer"},
        "sample": {"policies": [{"model": "policy", "n": 4}], "oracle": {"model": "oracle"}},
        "filter": {"min_oracle_passes": 1, "min_tests": 2, "timeout": 2.0},
        **extra,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run(path: Path, *overrides, **kwargs):
    config, raw = load_config(path, list(overrides))
    return {o.name: o for o in run_pipeline(config, raw, **kwargs)}


def test_the_stages_run_in_order_and_a_rerun_skips_them_all(tmp_path, stub):
    path = write_config(tmp_path, stub.base_url)
    first = run(path)
    assert [(name, o.action) for name, o in first.items()] == [
        ("synth", "ran"), ("sample", "ran"), ("filter", "ran"), ("pairs", "ran"), ("hard-subset", "ran")
    ]
    folder = tmp_path / "run"
    questions = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines()]
    assert len(questions) == 3 and all(len(q["tests"]) == 6 for q in questions)
    dataset = [json.loads(line) for line in (folder / "dataset.jsonl").read_text().splitlines()]
    assert all(len(row["test_cases"]) == 5 for row in dataset)  # the wrong test is dropped by the oracle
    pairs = [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]
    assert pairs and all(p["chosen_pass_rate"] == 1.0 for p in pairs)
    assert (folder / "filter" / "filter_summary.json").is_file() and (folder / "logs" / "pairs.log").is_file()
    state = json.loads((folder / "state.json").read_text())
    assert all(state["stages"][name]["status"] == "done" for name in first)
    assert yaml.safe_load((folder / "config.yaml").read_text())["synth"]["model"] == "writer"

    served = stub.served
    again = run(path)
    assert {o.action for o in again.values()} == {"skipped"} and stub.served == served  # no model asked twice


def test_a_changed_setting_reruns_that_stage_and_what_reads_its_output(tmp_path, stub):
    path = write_config(tmp_path, stub.base_url)
    run(path)
    served = stub.served
    changed = run(path, "pairs.min_gap=0.9")
    assert {name: o.action for name, o in changed.items()} == {
        "synth": "skipped", "sample": "skipped", "filter": "skipped", "pairs": "ran", "hard-subset": "skipped"
    }
    assert stub.served == served
    assert (tmp_path / "run" / "pairs.jsonl").read_text() == ""  # no pair has a gap of 0.9 here

    (tmp_path / "run" / "dataset.jsonl").write_text("")  # an output edited by hand: its stage reruns,
    redone = run(path, "pairs.min_gap=0.9")  # and, as it writes the same content again, nothing after it
    assert redone["filter"].action == "ran"
    assert redone["pairs"].action == "skipped" and redone["hard-subset"].action == "skipped"


def test_a_failed_stage_resumes_without_asking_again_for_what_it_had(tmp_path, stub):
    path = write_config(tmp_path, stub.base_url)
    one_at_a_time = "llm.concurrency=1"  # not a setting that changes results: same fingerprint
    run(path, one_at_a_time, last="synth")
    real, answered = stub.reply, []

    def refuse_the_third(body, index):  # one policy request per question (n=4), then the oracle's
        answered.append(body["model"])
        if len(answered) == 8:  # two questions' policy programs answered: then the key is refused (the stage stops)
            stub.faults.append(Fault(status=401, body={"error": {"message": "refused"}}))
        return real(body, index)

    stub.reply = refuse_the_third
    with pytest.raises(Exception, match="refused"):
        run(path, one_at_a_time, first="sample", last="sample")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["stages"]["sample"]["status"] == "failed"
    written = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    assert len(written) == 8

    asked = len(stub.requests)
    again = run(path, one_at_a_time, first="sample", last="sample")
    assert again["sample"].action == "resumed"
    lines = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    assert lines[:8] == written and len(lines) == 3 * 4 + 3
    assert len(stub.requests) - asked == 1 + 3  # the third question's policy request, and three oracle ones


def test_sigterm_marks_the_stage_interrupted_and_the_same_command_resumes(tmp_path, stub):
    """How a scheduler, `kill` or `docker stop` ends a run (a job started with nohup ignores
    Ctrl-C): the stage is recorded as interrupted, and the run resumes from what it wrote."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = write_config(tmp_path, stub.base_url, **{"llm": {"base_url": stub.base_url, "concurrency": 1}})
    real = stub.reply

    def slow(body, index):
        time.sleep(0.3)
        return real(body, index)

    stub.reply = slow
    cmd = [sys.executable, "-m", "acecoder.cli", "run", str(path), "--until", "sample", "--no-report"]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    samples = tmp_path / "run" / "samples.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not samples.exists() or not samples.read_text().strip()):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143 and "terminated (SIGTERM)" in stderr and "Traceback" not in stderr, stderr
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    first = state["stages"]["sample"]
    assert first["status"] == "interrupted" and first["sittings"] == 1 and first["seconds"] > 0.3
    written = samples.read_text().splitlines()
    assert 0 < len(written) < 3 * 4 + 3

    stub.reply = real
    again = run(path, last="sample")
    assert again["sample"].action == "resumed"
    assert samples.read_text().splitlines()[:len(written)] == written
    done = json.loads((tmp_path / "run" / "state.json").read_text())["stages"]["sample"]
    # the stage's time is both sittings' (what the run cost), the outcome's this sitting's
    assert done["sittings"] == 2 and done["seconds"] == pytest.approx(first["seconds"] + again["sample"].seconds, abs=0.02)


def test_partial_runs_need_the_earlier_stages(tmp_path, stub):
    path = write_config(tmp_path, stub.base_url)
    with pytest.raises(ConfigError, match="needs .*questions.jsonl"):
        run(path, first="sample")
    with pytest.raises(ConfigError, match="--from rl"):
        run(path, first="rl")
    assert list(run(path, last="synth")) == ["synth"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sample.policies.0.nn=3", r"sample\.policies\.0\.nn: unknown setting"),
        ("filter.timeout=-1", r"filter\.timeout: Input should be greater than 0"),
        ("sample.oracle.model=policy", "also a policy"),
        ("stages=[synth, judge]", r"stages\.1"),
        ("nokey", "KEY=VALUE"),
        ("sample.policies.3.n=1", "has no item 3"),
    ],
)
def test_bad_settings_name_their_key(tmp_path, override, message):
    path = write_config(tmp_path, "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match=message):
        config, raw = load_config(path, [override])
        from acecoder.pipeline.steps import build_steps

        build_steps(config, tmp_path)


def test_one_setting_moves_every_model_to_an_endpoint(tmp_path):
    path = write_config(tmp_path, "http://h:8000/v1")
    config, _ = load_config(path, ["llm.base_url=null", "llm.backend=llama-cpp", "sample.oracle.backend=local"])
    assert config.where(config.synth) == ("llama-cpp", None)
    assert config.where(config.sample.oracle) == ("local", None)
    config, _ = load_config(path, ["llm.backend=llama-cpp", "sample.oracle.backend=local"])
    assert config.where(config.synth) == ("openai", "http://h:8000/v1")  # base_url wins over llm.backend
    assert config.where(config.sample.oracle) == ("local", None)  # a model's own backend wins over it
    assert re.match(r".*/seeds\.jsonl$", config.seeds) and Path(config.seeds).is_absolute()


def test_one_local_model_can_be_policy_and_oracle_under_two_names(tmp_path):
    from acecoder.pipeline.steps import build_steps

    path = write_config(tmp_path, "http://127.0.0.1:9/v1")
    config, _ = load_config(path, ["llm.base_url=null", "sample.oracle.model=policy", "sample.oracle.name=policy-greedy"])
    steps = {step.name: step for step in build_steps(config, tmp_path)}
    assert steps["sample"].settings["oracle"]["name"] == "policy-greedy"
    assert steps["filter"].settings["oracle"] == "policy-greedy"


@pytest.mark.parametrize("name", ["configs/pipeline.yaml", "src/acecoder/pipeline/demo.yaml"])
def test_the_shipped_configs_are_valid(name, monkeypatch):
    from acecoder.pipeline.steps import build_steps

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the full-size config names hub models: valid where the hub is reachable

    root = Path(__file__).resolve().parents[2]
    config, _ = load_config(root / name)
    steps = [step.name for step in build_steps(config, Path(config.run_dir))]
    assert steps == ["synth", "sample", "filter", "pairs", "train-rm", "bon", "hard-subset", "rl"]
    assert Path(config.seeds).is_file()


def test_without_an_oracle_model_the_seed_programs_are_the_oracle(tmp_path, stub):
    path = write_config(tmp_path, stub.base_url)
    config, raw = load_config(path, ["sample.oracle=null"])
    outcomes = {o.name: o for o in run_pipeline(config, raw, last="filter")}
    assert outcomes["filter"].summary["settings"]["oracle"] == "reference"
    samples = (tmp_path / "run" / "samples.jsonl").read_text()
    assert '"oracle"' not in samples  # no oracle model was asked
    rows = [json.loads(line) for line in (tmp_path / "run" / "dataset.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(len(row["test_cases"]) == 5 for row in rows)  # the seeds drop the wrong test


def test_a_run_with_no_pair_trains_no_reward_model_and_says_why(tmp_path, stub):
    path = write_config(tmp_path, stub.base_url, pairs={"min_gap": 1.0})  # rejected must pass > 0: no pair
    # the backbone must be a model that loads (the policy "policy" is only an endpoint's name)
    path.write_text(path.read_text().replace("- hard-subset", "- train-rm\n- hard-subset") + "train_rm:\n  model: smollm2-135m\n")
    outcomes = run(path)
    folder = tmp_path / "run"
    assert (folder / "pairs.jsonl").read_text() == ""
    rm = outcomes["train-rm"]
    assert rm.action == "ran" and rm.summary["trained"] is False and "no pair in pairs.jsonl" in rm.summary["note"]
    assert "no pair" in json.loads((folder / "rm" / "skipped.json").read_text())["reason"]
    assert not (folder / "rm" / "config.json").exists()
    assert run(path)["train-rm"].action == "skipped"  # done: a rerun does not try again


def test_only_the_stages_that_run_have_their_models_checked(tmp_path, stub):
    """An endpoint's alias as the policy ("policy": no embedded model, folder or ORG/NAME)
    is what train-rm would default to; --until pairs never trains, so the run goes ahead,
    and the stage that needs the model says so when it is asked to run."""
    path = write_config(tmp_path, stub.base_url, stages=["synth", "sample", "filter", "pairs", "train-rm"])
    outcomes = run(path, last="pairs")
    assert list(outcomes) == ["synth", "sample", "filter", "pairs"]
    with pytest.raises(ConfigError, match="train_rm.model 'policy'"):
        run(path, first="train-rm")


def test_a_stages_library_warnings_and_bars_go_to_its_log_not_the_terminal(tmp_path, capfd):
    """What `acecoder demo` used to print between its own lines: transformers' deprecation
    FutureWarnings, torch's pin_memory UserWarning, transformers' "Loading weights" bar."""
    import warnings

    from transformers.utils import logging as hf_logging

    from acecoder.pipeline.runner import _stage_log

    with _stage_log(tmp_path / "train-rm.log"):
        warnings.warn("`gradient_checkpointing` is deprecated and will be removed in v6", FutureWarning)
        warnings.warn("'pin_memory' argument is set as true but no accelerator is found", UserWarning)
        for _ in hf_logging.tqdm(range(3), desc="Loading weights"):
            pass
    hf_logging.enable_progress_bar()
    shown = capfd.readouterr()
    assert "Warning" not in shown.err + shown.out and "Loading weights" not in shown.err + shown.out
    logged = (tmp_path / "train-rm.log").read_text()
    assert "FutureWarning: `gradient_checkpointing` is deprecated" in logged and "pin_memory" in logged
    with warnings.catch_warnings(record=True) as caught:  # after the stage, warnings are warnings again
        warnings.simplefilter("always")
        warnings.warn("after", UserWarning)
    assert [str(w.message) for w in caught] == ["after"]
