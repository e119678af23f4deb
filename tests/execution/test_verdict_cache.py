"""The verdict cache: keyed by what decides a verdict, shared by runs, bounded in size."""

import hashlib
import pathlib
import shutil

import acecoder.execution
from acecoder.execution import ENGINE_IDENTITY, Engine, ExecutionJob, VerdictCache
from acecoder.execution._cache import _identity, _sources


def test_the_engine_identity_is_a_hash_of_its_own_files():
    here = pathlib.Path(acecoder.execution.__file__).parent
    digest = hashlib.sha256()
    sources = ["_engine.py", "_process.py", "_results.py", "_judges.py", "_plan.py", "_worker.py",
               "_graders.py", "_suites.py", "_harness_prime.py", "_harness_pytest.py", "_pytest_checks.py"]
    sandbox = sorted((here / "_sandbox").glob("*.py"))
    assert {p.name for p in sandbox} >= {"__init__.py", "kernel.py", "namespaces.py", "confine.py",
                                         "frames.py", "child.py", "zygote.py"}
    for path in [*(here / name for name in sources), *sandbox, here.parent / "records.py",
                 here.parent / "benchmarks" / "livecodebench.py"]:
        data = path.read_bytes()
        digest.update(f"{path.parent.name}/{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    assert ENGINE_IDENTITY == digest.hexdigest()[:16]


def test_every_module_that_runs_or_judges_programs_is_in_the_identity():
    """A module added to the engine or the sandbox must invalidate cached verdicts when it
    changes: only the package's front, the stores of verdicts (the cache, the filter's
    journal: they keep verdicts, they do not make them) and the Ray adapter are left out."""
    here = pathlib.Path(acecoder.execution.__file__).parent
    covered = set(_sources())
    modules = set(here.glob("*.py")) | set((here / "_sandbox").glob("*.py"))
    assert modules - covered == {here / "__init__.py", here / "_cache.py", here / "journal.py", here / "ray.py"}


def test_a_change_to_any_sandbox_module_changes_the_identity(tmp_path):
    here = pathlib.Path(acecoder.execution.__file__).parent
    copy = tmp_path / "acecoder" / "execution"
    shutil.copytree(here, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy.parent / "benchmarks").mkdir()
    shutil.copy(here.parent / "records.py", copy.parent / "records.py")
    shutil.copy(here.parent / "benchmarks" / "livecodebench.py", copy.parent / "benchmarks" / "livecodebench.py")
    assert _identity(_sources(copy)) == ENGINE_IDENTITY
    changed = [copy / "_worker.py", *sorted((copy / "_sandbox").glob("*.py"))]
    for path in changed:
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert _identity(_sources(copy)) != ENGINE_IDENTITY, path.name
        path.write_bytes(original)
    (copy / "_sandbox" / "extra.py").write_text("X = 1\n")  # a module added later
    assert _identity(_sources(copy)) != ENGINE_IDENTITY


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
