"""The verdict cache: keyed by what decides a verdict, shared by runs, bounded in size."""

import hashlib
import pathlib

import acecoder.execution
from acecoder.execution import ENGINE_IDENTITY, Engine, ExecutionJob, VerdictCache


def test_the_engine_identity_is_a_hash_of_its_own_files():
    here = pathlib.Path(acecoder.execution.__file__).parent
    digest = hashlib.sha256()
    sources = ["_engine.py", "_judges.py", "_plan.py", "_worker.py", "_graders.py", "_suites.py", "_harness_prime.py",
               "_harness_pytest.py"]
    for path in [*(here / name for name in sources), here.parent / "records.py",
                 here.parent / "benchmarks" / "livecodebench.py"]:
        digest.update(path.read_bytes())
    assert ENGINE_IDENTITY == digest.hexdigest()[:16]


def test_a_cached_verdict_is_served_without_running_and_timeouts_are_not_kept(tmp_path):
    cache = VerdictCache(tmp_path / "v.sqlite")
    jobs = [ExecutionJob(id="ok", program="def f(x):\n    return x", tests=["assert f(1) == 1", "assert f(2) == 3"]),
            ExecutionJob(id="slow", program="import time\ndef f():\n    time.sleep(5)", tests=["assert f() is None"])]
    with Engine(workers=2, timeout=0.5, verdict_cache=cache) as engine:
        first = engine.run(jobs)
    assert (cache.hits, cache.misses) == (0, 2) and first[1].outcomes == ["timeout"]
    renamed = [ExecutionJob(id="again", program=jobs[0].program, tests=jobs[0].tests), jobs[1]]
    with Engine(workers=2, timeout=0.5, verdict_cache=cache) as engine:
        second = engine.run(renamed)
    assert (cache.hits, cache.misses) == (1, 3)  # the timeout ran again: it depends on the machine's load
    assert second[0].id == "again" and second[0].outcomes == first[0].outcomes == ["pass", "fail"]
    assert second[0].messages == first[0].messages
    with Engine(workers=1, timeout=1.5, verdict_cache=cache) as engine:  # other limits: another verdict
        engine.run(renamed[:1])
    assert cache.misses == 4
    cache.close()


def test_past_its_bound_the_oldest_fifth_goes(tmp_path):
    path = tmp_path / "v.sqlite"
    cache = VerdictCache(path)
    with Engine(workers=2, timeout=2.0, verdict_cache=cache) as engine:
        engine.run([ExecutionJob(id=str(i), program=f"x = {i}", tests=[f"assert x == {i}"]) for i in range(200)])
    cache.close()
    small = VerdictCache(path, max_bytes=1)  # opened over its bound: trimmed
    rows = small._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert rows == 160
    small.close()
