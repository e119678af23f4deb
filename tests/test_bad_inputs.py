"""Every command on a matrix of bad inputs: each exits 2 with one line naming the file, the
line or the setting, and no traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENDPOINT = ["--model", "m", "--base-url", "http://127.0.0.1:9/v1"]  # never reached: the input is checked first


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.jsonl").write_text("")
    (folder / "binary.jsonl").write_bytes(bytes(range(256)) * 4)
    (folder / "malformed.jsonl").write_text('{"id": "a", "source": "oss"\n')
    (folder / "out_folder").mkdir()
    brackets = {"id": "[/]x[bold]", "source": "oss", "question": "[red]q", "tests": "assert [/] 1"}
    (folder / "brackets.jsonl").write_text(json.dumps(brackets) + "\n")
    return folder


# (command and its arguments with {IN} for the bad input, what the message must name)
COMMANDS = {
    "execute": ["execute", "{IN}", "-o", "{OUT}"],
    "synth": ["synth", "{IN}", "-o", "{OUT}", *ENDPOINT],
    "sample": ["sample", "{IN}", "-o", "{OUT}", *ENDPOINT],
    "filter questions": ["filter", "{IN}", str(EXAMPLES / "samples.jsonl"), "-o", "{OUT}", "--oracle", "oracle"],
    "filter samples": ["filter", str(EXAMPLES / "questions.jsonl"), "{IN}", "-o", "{OUT}", "--oracle", "oracle"],
    "pairs": ["pairs", "{IN}", "-o", "{OUT}"],
    "hard-subset": ["hard-subset", "{IN}", "-o", "{OUT}"],
}
INPUTS = ["missing.jsonl", "empty.jsonl", "binary.jsonl", "malformed.jsonl", "brackets.jsonl"]


def acecoder(*args):
    return subprocess.run([sys.executable, "-m", "acecoder.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def check(result, *named):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    error = next(line for line in lines if line.lower().startswith("error:"))  # click's usage errors: "Error:"
    for name in named:
        assert name in error, error


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("bad", INPUTS)
def test_a_bad_input(files, tmp_path, command, bad):
    args = [a.replace("{IN}", str(files / bad)).replace("{OUT}", str(tmp_path / "out.jsonl")) for a in COMMANDS[command]]
    check(acecoder(*args), bad)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_cannot_be_written(files, tmp_path, command):
    good = {"execute": EXAMPLES / "programs.jsonl", "synth": EXAMPLES / "seeds.jsonl", "sample": EXAMPLES / "questions.jsonl",
            "filter questions": EXAMPLES / "questions.jsonl", "filter samples": EXAMPLES / "samples.jsonl"}
    if command in ("pairs", "hard-subset"):
        dataset = tmp_path / "dataset.jsonl"
        assert acecoder("filter", EXAMPLES / "questions.jsonl", EXAMPLES / "samples.jsonl", "-o", dataset,
                        "--oracle", "oracle").returncode == 0
        good[command] = dataset
    for output in (files / "out_folder", Path("/proc/no/such/folder/out.jsonl")):
        args = [a.replace("{IN}", str(good[command])).replace("{OUT}", str(output)) for a in COMMANDS[command]]
        check(acecoder(*args), str(output if output.name == "out_folder" else "/proc/no"))


def test_a_bad_setting_names_itself(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("run_dir: x\nseeds: s.jsonl\nsample:\n  policies: [{model: m, nn: 4}]\n  oracle: null\n")
    check(acecoder("validate", config), "sample.policies.0.nn")
    # a model no resolver takes stops the run before its first stage (train-rm's backbone: the first policy)
    config.write_text("run_dir: x\nseeds: s.jsonl\nsample:\n  policies: [{model: 'my policy', n: 4}]\n  oracle: null\n")
    check(acecoder("validate", config), "train_rm.model", "my policy")
    config.write_text("run_dir: x\nseeds: s.jsonl\nsample:\n  policies: [{model: 'smollm2-135m', n: 4}]\n"
                      "  oracle: null\nrl:\n  model: ./no/such/policy\n")
    check(acecoder("validate", config), "rl.model", "./no/such/policy")
    check(acecoder("--max-bad-fraction", "2", "pairs", "x.jsonl", "-o", "y.jsonl"))
    assert "--max-bad-fraction" in acecoder("--max-bad-fraction", "2", "pairs", "x.jsonl", "-o", "y.jsonl").stderr


def test_a_mostly_bad_file_stops_past_the_fraction_and_passes_below_it(tmp_path):
    dataset = tmp_path / "dataset.jsonl"
    assert acecoder("filter", EXAMPLES / "questions.jsonl", EXAMPLES / "samples.jsonl", "-o", dataset,
                    "--oracle", "oracle").returncode == 0
    rows = dataset.read_text().splitlines()
    mostly_bad = tmp_path / "mostly_bad.jsonl"
    mostly_bad.write_text("\n".join(rows + ["not json"] * (len(rows) + 1)) + "\n")
    check(acecoder("hard-subset", mostly_bad, "-o", tmp_path / "h.jsonl"), "mostly_bad.jsonl",
          f"{len(rows) + 1} of {2 * len(rows) + 1} rows are bad")
    allowed = acecoder("--max-bad-fraction", "0.6", "hard-subset", mostly_bad, "-o", tmp_path / "h.jsonl")
    assert allowed.returncode == 0 and "skipped" in allowed.stderr, allowed.stderr
    strict = acecoder("hard-subset", mostly_bad, "-o", tmp_path / "h.jsonl", "--strict")
    check(strict, f"mostly_bad.jsonl:{len(rows) + 1}")  # --strict: the first bad row, by its line
