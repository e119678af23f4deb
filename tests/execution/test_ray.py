"""Execution on Ray (a local Ray with 2 CPUs): the verdicts are the single-machine engine's."""

import json
import subprocess
import threading
import sys
from pathlib import Path

import pytest

from acecoder.errors import ConfigError, SandboxError
from acecoder.execution import Engine, ExecutionJob, ProgramStatus, TestOutcome

ray = pytest.importorskip("ray")

from acecoder.execution.ray import RayExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TIMES = ("seconds", "test_cpu_seconds", "test_wall_seconds")  # what differs between two runs of one job
EXAMPLE = ROOT / "examples" / "programs.jsonl"
# 4x what the slowest passing test (the examples' naive fib(30)) takes on a loaded VM:
# a verdict that flips with the machine's load would fail the comparisons for nothing.
TIMEOUT = 2.0  # generous: a verdict near the limit must not flip on a loaded machine
SLEEP = 'import time\ntime.sleep(0.6)'  # a test that passes slowly: it keeps an engine busy
P, F, E, T, C, N = (TestOutcome.PASS, TestOutcome.FAIL, TestOutcome.ERROR, TestOutcome.TIMEOUT,
                    TestOutcome.CRASHED, TestOutcome.NOT_RUN)


def mixed_jobs() -> list[ExecutionJob]:
    """The shipped examples plus passes, failures, a hang, crashes and broken programs."""
    jobs = [ExecutionJob(id=row["id"], program=row["program"], tests=row["tests"])
            for row in map(json.loads, EXAMPLE.read_text().splitlines())]
    square = "def sq(x):\n    return x * x\n"
    tests = [f"assert sq({i}) == {i * i}" for i in range(4)]
    jobs += [
        ExecutionJob(id=f"square/{i}", program=square if i % 2 else square.replace("x * x", "x + x"), tests=tests)
        for i in range(8)
    ]
    jobs += [
        ExecutionJob(id="hang", program="def sq(x):\n    while x == 2:\n        pass\n    return x * x\n", tests=tests),
        ExecutionJob(id="crash", program="import os\ndef sq(x):\n    if x == 1:\n        os._exit(1)\n    return x * x\n", tests=tests),
        ExecutionJob(id="dies_at_load", program="import os\nos._exit(3)\n", tests=tests),
        ExecutionJob(id="syntax", program="def sq(x)\n    return x\n", tests=tests),
        ExecutionJob(id="no_tests", program=square, tests=[]),
    ]
    return jobs


def comparable(result) -> dict:
    row = result.to_dict()
    for name in TIMES:  # times differ between runs, nothing else may
        del row[name]
    return row


@pytest.fixture(scope="module")
def expected():
    jobs = mixed_jobs()
    with Engine(workers=2, timeout=TIMEOUT) as engine:
        results = engine.run(jobs)
    by_id = {result.id: result for result in results}
    # The set really is mixed: the comparison below covers every kind of verdict.
    assert by_id["hang"].outcomes == [P, P, T, P]
    assert by_id["crash"].outcomes == [P, C, P, P]
    assert by_id["dies_at_load"].status is ProgramStatus.CRASHED
    assert by_id["syntax"].status is ProgramStatus.SYNTAX_ERROR
    assert by_id["square/0"].outcomes == [P, F, P, F]
    return jobs, [comparable(result) for result in results]


def example_verdicts() -> list[dict]:
    """The shipped examples' verdicts from the single-machine engine."""
    jobs = [ExecutionJob(id=row["id"], program=row["program"], tests=row["tests"])
            for row in map(json.loads, EXAMPLE.read_text().splitlines())]
    with Engine(workers=2, timeout=TIMEOUT) as engine:
        return [comparable(result) for result in engine.run(jobs)]


def written(path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMES} for line in path.read_text().splitlines()]


def acecoder(*args):
    return subprocess.run([sys.executable, "-m", "acecoder.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=180)


def test_importing_the_package_and_the_stage_loads_no_ray():
    probe = ("import sys, acecoder.execution, acecoder.stages.execute, acecoder.cli.data; "
             "print('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_without_ray_installed_the_error_says_what_to_install():
    probe = ("import sys; sys.modules['ray'] = None\n"  # as if not installed
             "from acecoder.errors import ConfigError\n"
             "from acecoder.execution.ray import RayExecutor\n"
             "try:\n    RayExecutor()\nexcept ConfigError as error:\n    print(error)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert "pip install 'acecoder[ray]'" in out


def test_cli_execute_on_a_local_ray_matches_the_plain_run(tmp_path):
    # First in this file, before the module's Ray session: `--ray local` starts its own.
    on_ray = tmp_path / "ray.jsonl"
    result = acecoder("execute", EXAMPLE, "-o", on_ray, "--timeout", TIMEOUT, "--ray", "local")
    assert result.returncode == 0, result.stderr
    assert "13 programs" in result.stderr
    assert written(on_ray) == example_verdicts()


def test_cli_names_an_unreachable_cluster(tmp_path):
    result = acecoder("execute", EXAMPLE, "-o", tmp_path / "out.jsonl", "--ray", "ray://127.0.0.1:9")
    assert result.returncode == 2
    assert "cannot reach the Ray cluster" in result.stderr and "--ray" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield
    ray.shutdown()


@pytest.mark.parametrize("pool", ["actors", "tasks"])
def test_results_are_the_engines(local_ray, expected, pool):
    jobs, reference = expected
    # 3 programs a batch: many batches, finishing out of order around the hang.
    with RayExecutor(programs_per_task=3, pool=pool, timeout=TIMEOUT) as executor:
        assert executor.slots == 2
        assert "pid" in executor.isolation
        results = executor.run(jobs)
    assert [comparable(result) for result in results] == reference


def run_killing_an_actor(jobs, **options):
    """Kill engine 0's actor, as a node death would, 0.2 s in: every batch of `jobs`
    holds a SLEEP, so the actor is busy with one then."""
    with RayExecutor(programs_per_task=4, timeout=TIMEOUT, **options) as executor:
        before = ray.get(executor._actors[0].isolation.remote())
        timer = threading.Timer(0.2, ray.kill, [executor._actors[0]], {"no_restart": False})
        timer.start()
        try:
            results = executor.run(jobs)
        finally:
            timer.join()
        after = ray.get(executor._actors[0].isolation.remote())
        return results, before, after


def test_a_killed_actor_loses_and_duplicates_nothing(local_ray, expected):
    jobs, reference = expected
    mixed = []
    for i in range(0, len(jobs), 3):  # each batch of 4 starts with a slow test
        mixed += [ExecutionJob(id=f"sleep/{i}", program="", tests=[SLEEP]), *jobs[i : i + 3]]
    results, before, after = run_killing_an_actor(mixed)
    assert after != before  # the engine was restarted (a new actor process: a new sandbox uid)
    assert [r.id for r in results] == [job.id for job in mixed]
    assert [comparable(r) for r in results if not r.id.startswith("sleep/")] == reference
    assert all(r.outcomes == [P] for r in results if r.id.startswith("sleep/"))


def test_a_batch_out_of_attempts_stops_the_run(local_ray):
    jobs = [ExecutionJob(id=f"sleep/{i}", program="", tests=[SLEEP]) for i in range(8)]
    with pytest.raises(SandboxError, match=r"failed on the Ray cluster after 1 attempt\(s\)"):
        run_killing_an_actor(jobs, attempts=1)


def test_jobs_are_read_lazily(local_ray):
    read = []

    def jobs():
        for i in range(400):
            read.append(i)
            yield ExecutionJob(id=str(i), program="x = 1\n", tests=["assert x == 1"])

    from acecoder.execution.ray import REORDER_BATCHES

    with RayExecutor(programs_per_task=5, tasks_in_flight=4, timeout=TIMEOUT) as executor:
        stream = executor.map(jobs())
        first = next(stream)
        # At most the batches in flight, those finished behind the first, and the chunk being assembled.
        assert len(read) <= (4 + REORDER_BATCHES * 4 + 1) * 5 < 400
        rest = list(stream)
    assert first.id == "0" and [r.id for r in rest] == [str(i) for i in range(1, 400)]
    assert all(r.pass_rate == 1.0 for r in rest)


def test_a_run_resumes_on_a_running_cluster(local_ray, tmp_path):
    from acecoder.stages import execute as stage

    out = tmp_path / "out.jsonl"
    (tmp_path / "head.jsonl").write_text("".join(EXAMPLE.read_text().splitlines(True)[:5]))
    summary = stage.run(tmp_path / "head.jsonl", out, timeout=TIMEOUT, ray_address="auto")  # this session
    assert summary.programs == 5 and "pid" in summary.isolation
    # The rest from another process that joins the running cluster, as on a real one.
    result = acecoder("execute", EXAMPLE, "-o", out, "--timeout", TIMEOUT, "--ray", "auto", "--resume")
    assert result.returncode == 0, result.stderr
    assert "8 programs (5 already done)" in result.stderr
    assert written(out) == example_verdicts()


def test_bad_settings_are_config_errors(local_ray):
    with pytest.raises(ConfigError, match="pool"):
        RayExecutor(pool="threads")
    with pytest.raises(ConfigError, match="programs_per_task"):
        RayExecutor(programs_per_task=0)
    with pytest.raises(ConfigError, match="fewer than workers_per_task"):
        RayExecutor(workers_per_task=3)  # the cluster has 2 CPUs
    with RayExecutor(slots=5, timeout=TIMEOUT) as executor:  # more than fit: as many as fit
        assert executor.slots == 2


def test_the_filter_stage_on_ray_writes_what_it_writes_here(local_ray, tmp_path):
    """The pipeline's filter with `ray_address` (the config's filter.ray): the same dataset."""
    import json

    from acecoder.stages import filter as stage

    tests = [f"assert double({k}) == {2 * k}" for k in range(6)] + ["assert double(9) == 0"]
    questions = [{"id": f"evol_{i}", "source": "evol", "question": "Double x.", "tests": tests} for i in range(3)]
    programs = {"oracle": "def double(x):\n    return 2 * x\n", "right": "def double(x):\n    return x + x\n",
                "half": "def double(x):\n    return 2 * x if x < 3 else x\n",
                "hangs": "def double(x):\n    while x > 4:\n        pass\n    return 2 * x\n"}
    samples = [{"question_id": q["id"], "model": "oracle" if name == "oracle" else "policy",
                "sample_index": 0 if name == "oracle" else index, "completion": code, "program": code}
               for q in questions for index, (name, code) in enumerate(programs.items())]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    outputs = {}
    for where in (None, "auto"):  # auto: the Ray this test process started
        settings = stage.FilterSettings(oracle="oracle", min_tests=2, min_oracle_passes=1, timeout=TIMEOUT,
                                        ray_address=where)
        output = tmp_path / f"dataset-{where}.jsonl"
        stage.run(tmp_path / "q.jsonl", tmp_path / "s.jsonl", output, settings=settings)
        outputs[where] = output.read_text()
    assert outputs[None] == outputs["auto"] and outputs[None].count("\n") == 3
