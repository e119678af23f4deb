"""The `acecoder` command as a user runs it: a real subprocess, real files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "programs.jsonl"


def acecoder(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "acecoder.cli", *map(str, args)], capture_output=True, text=True, timeout=120, **kwargs
    )


def rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_help_is_fast_and_imports_nothing_heavy():
    result = acecoder("--help")
    assert result.returncode == 0 and "execute" in result.stdout
    # Fast because nothing heavy is imported (speed is measured by scripts, not timed here):
    probe = "import sys, acecoder.cli, acecoder.execution; print(sorted(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"


def test_help_in_a_pipe_has_a_terminals_width():
    env = {k: v for k, v in os.environ.items() if k not in ("TERMINAL_WIDTH", "COLUMNS")}
    run = acecoder("sample", "--help", env=env)  # stdout is a pipe here, as in CI logs
    assert run.returncode == 0
    lines = run.stdout.splitlines()
    assert max(map(len, lines)) > 120
    # An option's help on one line, not folded a word or two a line (80 columns did).
    assert any("Samples (Sample records), .jsonl, appended as they" in line for line in lines)
    narrow = acecoder("sample", "--help", env={**env, "TERMINAL_WIDTH": "80"})  # typer's own setting still wins
    assert max(map(len, narrow.stdout.splitlines())) <= 80


def test_execute_the_shipped_example(tmp_path):
    out = tmp_path / "results.jsonl"
    result = acecoder("execute", EXAMPLE, "-o", out, "--timeout", "1")
    assert result.returncode == 0, result.stderr
    by_id = {row["id"]: row for row in rows(out)}
    assert [row["id"] for row in rows(out)] == [row["id"] for row in rows(EXAMPLE)]
    assert by_id["two_sum/correct"]["pass_rate"] == 1.0
    assert by_id["two_sum/syntax_error"]["status"] == "syntax_error"
    assert by_id["palindrome/reward_hack"]["pass_rate"] == 0.0
    assert by_id["fib/naive_recursion_hangs_on_50"]["outcomes"] == ["pass"] * 4 + ["timeout"]
    assert by_id["word_counts/exits_midway"]["outcomes"] == ["pass", "crashed", "pass", "pass"]
    for row in rows(out):
        assert set(row) >= {"id", "status", "outcomes", "pass_rate", "seconds"}
    assert "13 programs" in result.stderr


def test_extract_code_from_completions(tmp_path):
    src = tmp_path / "in.jsonl"
    completion = "Sure, here it is:\n```python\ndef sq(x):\n    return x * x\n```\nDone."
    src.write_text(json.dumps({"id": "c", "completion": completion, "tests": ["assert sq(3) == 9"]}) + "\n")
    out = tmp_path / "out.jsonl"
    assert acecoder("execute", src, "-o", out).returncode != 0  # no 'program' without --extract
    result = acecoder("execute", src, "-o", out, "--extract")
    assert result.returncode == 0, result.stderr
    assert rows(out)[0]["outcomes"] == ["pass"]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "a", "program": "x=1", "tests": ["assert x"]}\nnot json\n', "in.jsonl:2: not valid JSON"),
        ('{"program": "x=1", "tests": []}\n', "in.jsonl:1: missing field 'id'"),
        ('{"id": "a", "program": "x=1", "tests": "assert x"}\n', "in.jsonl:1: field 'tests' must be a list of strings"),
        ('{"id": "a", "program": 3, "tests": []}\n', "in.jsonl:1: field 'program' must be a string"),
        ('{"id": "a", "program": "", "tests": []}\n{"id": "a", "program": "", "tests": []}\n', "in.jsonl:2: id 'a' also on line 1"),
        # rich markup in a value is printed as it is, not interpreted (nor a crash of the printer)
        ('{"id": "[/]x[bold]", "program": "", "tests": []}\n' * 2, "in.jsonl:2: id '[/]x[bold]' also on line 1"),
    ],
)
def test_bad_input_names_file_and_line_without_a_traceback(tmp_path, content, message):
    src = tmp_path / "in.jsonl"
    src.write_text(content)
    result = acecoder("execute", src, "-o", tmp_path / "out.jsonl")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_killed_run_resumes_and_loses_nothing(tmp_path):
    src = tmp_path / "in.jsonl"
    slow = "import time\ndef f(x):\n    time.sleep(0.05)\n    return x\n"
    with src.open("w") as f:
        for i in range(120):
            f.write(json.dumps({"id": f"p{i}", "program": slow, "tests": [f"assert f({i}) == {i}"]}) + "\n")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "acecoder.cli", "execute", str(src), "-o", str(out), "--workers", "1"]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 20):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(out.read_text().splitlines())
    assert 20 <= done_before < 120
    result = acecoder("execute", src, "-o", out, "--resume")
    assert result.returncode == 0, result.stderr
    ids = [row["id"] for row in rows(out)]
    assert sorted(ids) == sorted(f"p{i}" for i in range(120))  # each once, none lost
    assert all(row["outcomes"] == ["pass"] for row in rows(out))
    assert f"({done_before} already done)" in result.stderr or "already done" in result.stderr


def test_filter_pairs_and_hard_subset_on_the_shipped_example(tmp_path):
    dataset, report = tmp_path / "dataset.jsonl", tmp_path / "report"
    result = acecoder(
        "filter", ROOT / "examples" / "questions.jsonl", ROOT / "examples" / "samples.jsonl",
        "-o", dataset, "--oracle", "oracle", "--report-dir", report, "--timeout", "1",
    )
    assert result.returncode == 0, result.stderr
    assert "kept 4 of 5 questions" in result.stderr
    by_id = {row["id"]: row for row in rows(dataset)}
    assert sorted(by_id) == ["evol_2", "oss_1", "oss_4", "stack_3"]  # evol_5's oracle passes only 3 of 6
    assert len(by_id["oss_1"]["test_cases"]) == 7  # the oracle fails the wrong 8th test
    policy = {i["completion_id"]: i["pass_rate"] for i in by_id["oss_1"]["inferences"] if i["model_name"] == "policy"}
    assert policy == {0: 1.0, 1: 0.0, 2: 0.0, 3: 1.0, 4: 5 / 7}
    assert (report / "filter_summary.json").exists() and (report / "sample_pass_rates.png").exists()

    pairs = tmp_path / "pairs.jsonl"
    result = acecoder("pairs", dataset, "-o", pairs, "--format", "llama-factory")
    assert result.returncode == 0, result.stderr
    made = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert {pair["id"] for pair in made} == {"evol_2/policy/0>policy/3", "stack_3/policy/0>policy/3", "stack_3/policy/1>policy/3"}
    assert set(made[0]) == {"instruction", "input", "chosen", "rejected", "id"}

    rl = tmp_path / "rl.parquet"
    result = acecoder("hard-subset", dataset, "-o", rl, "--format", "verl")
    assert result.returncode == 0, result.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(rl).to_pylist()
    # the policy's samples (the oracle's own program is no inference): stack_3 (1, 6/7, 0, 1/7) mean 0.500,
    # oss_1 (1, 0, 0, 1, 5/7) 0.543, evol_2 (1, 6/7, 0, 4/7) 0.607, oss_4 (1, 0.8, 0.8) 0.867
    # -> median 0.575 keeps the first two; their population stds 0.434 and 0.455 -> median 0.445 keeps oss_1
    assert [row["extra_info"]["id"] for row in table] == ["oss_1"]
    truth = json.loads(table[0]["reward_model"]["ground_truth"])  # the tests with their limits from the oracle
    assert truth["tests"][0] == "assert two_sum([2, 7, 11, 15], 9) == [0, 1]"
    assert len(truth["limits"]) == len(truth["tests"]) and all(0.1 <= t <= 3.0 for t in truth["limits"])


def test_filter_names_a_wrong_oracle(tmp_path):
    result = acecoder(
        "filter", ROOT / "examples" / "questions.jsonl", ROOT / "examples" / "samples.jsonl",
        "-o", tmp_path / "d.jsonl", "--oracle", "gpt-9",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "gpt-9" in result.stderr and "oracle" in result.stderr


def test_sample_against_a_local_openai_compatible_server(tmp_path):
    from acecoder.llm import StubServer

    def reply(body, index):
        return f"Here you go:\n```python\ndef f():\n    return {index}\n```"

    out = tmp_path / "samples.jsonl"
    with StubServer(reply=reply) as server:
        args = ("sample", ROOT / "examples" / "questions.jsonl", "-o", out, "--model", "stub", "--base-url", server.base_url)
        result = acecoder(*args, "--n", "2")
        assert result.returncode == 0, result.stderr
        assert "10 samples for 5 questions" in result.stderr
        assert [row["program"] for row in rows(out)][:2] == ["def f():\n    return 0", "def f():\n    return 1"]
        sent = len(server.requests)
        assert acecoder(*args, "--n", "2", "--resume").returncode == 0
        assert len(server.requests) == sent  # nothing asked twice


def test_synth_against_a_local_openai_compatible_server(tmp_path):
    from acecoder.llm import StubServer

    def reply(body, index):  # a model that wraps its JSON in prose and a fence, with one useless test
        answer = {"question": "Write inc(x) returning x + 1.", "tests": ["assert inc(1) == 2", "assert inc(-1) == 0", "assert True"]}
        return "Sure!\n```json\n" + json.dumps(answer) + "\n```"

    out = tmp_path / "questions.jsonl"
    with StubServer(reply=reply) as server:
        args = ("synth", ROOT / "examples" / "seeds.jsonl", "-o", out, "--model", "stub", "--base-url", server.base_url)
        result = acecoder(*args)
        assert result.returncode == 0, result.stderr
        assert "6 questions, 12 tests" in result.stderr and "trivial 6" in result.stderr
        made = rows(out)
        assert [row["source"] for row in made] == ["evol", "evol", "oss", "oss", "stack", "stack"]
        assert made[0]["tests"] == ["assert inc(1) == 2", "assert inc(-1) == 0"]
        assert "print(" not in made[0]["reference"]  # the seed's print lines are dropped (§1)
        sent = len(server.requests)
        assert acecoder(*args, "--resume").returncode == 0
        assert len(server.requests) == sent


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"),
                                              (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_ctrl_c_or_sigterm_in_any_command_says_so_and_the_same_command_resumes(tmp_path, sig, code, said):
    src = tmp_path / "in.jsonl"
    slow = "import time\ndef f(x):\n    time.sleep(0.05)\n    return x\n"
    src.write_text("".join(json.dumps({"id": f"p{i}", "program": slow, "tests": [f"assert f({i}) == {i}"]}) + "\n"
                           for i in range(120)))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "acecoder.cli", "execute", str(src), "-o", str(out), "--workers", "1"]
    # Ctrl-C at a terminal: SIGINT with its default disposition (a job started in the
    # background by a shell inherits it ignored, and Python then never raises KeyboardInterrupt).
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 10):
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code and said in stderr and "Traceback" not in stderr, stderr
    assert 10 <= len(out.read_text().splitlines()) < 120
    result = acecoder("execute", src, "-o", out, "--resume", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(line)["id"] for line in out.read_text().splitlines()) == sorted(f"p{i}" for i in range(120))


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    probe = ("import sys; import acecoder.cli as cli; from acecoder.cli._app import app\n"
             "@app.command()\ndef boom():\n    raise RuntimeError('[/] broken')\n"
             "sys.argv = ['acecoder', 'boom']; cli.main()")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 1 and "internal error, a bug: RuntimeError: [/] broken" in run.stderr
    assert "Traceback" not in run.stderr
    debug = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env={**os.environ, "ACECODER_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr
