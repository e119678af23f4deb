"""The three ways the sandbox isolates, each exercised here (CI runs as root):
a sandbox uid in namespaces (root's default), a user namespace (an ordinary user's
default), and no namespaces at all (the degraded fallback)."""

import os
import time
import uuid

import pytest

from acecoder.execution import Engine, ExecutionJob, TestOutcome

PROBE = '''
import os
def write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "wrote"
    except OSError as error:
        return type(error).__name__
def capabilities():
    return [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1]
def spawn(marker):
    if os.fork() == 0:  # a new session of its own
        os.setsid()
        os.execvp("sleep", ["sleep", marker])
    if os.fork() == 0:  # a double fork
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", marker])
        os._exit(0)
    return 1
'''

MODES = {
    "sandbox uid": dict(),
    "user namespace": dict(user_namespace=True),
    "no namespaces": dict(isolate=False),
}


def sleepers(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="switching modes needs root")
@pytest.mark.parametrize("mode", MODES)
def test_each_mode_confines_the_program(mode, tmp_path):
    target = tmp_path / f"hacked-{uuid.uuid4().hex}"
    marker = f"{1000 + uuid.uuid4().int % 1000}.25"
    tests = [
        f"assert write({str(target)!r}) != 'wrote'",
        "assert write('solution_output.txt') == 'wrote'",
        "assert capabilities() == '0000000000000000'",
        f"assert spawn({marker!r}) == 1",
    ]
    with Engine(workers=1, timeout=2.0, **MODES[mode]) as engine:
        [result] = engine.run([ExecutionJob(id="probe", program=PROBE, tests=tests)])
        assert result.outcomes == [TestOutcome.PASS] * 4, result.messages
        assert ("no namespaces" in engine.isolation) == (mode == "no namespaces")
    assert not target.exists()
    deadline = time.monotonic() + 2
    while sleepers(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers(marker) == []


VENV_PROBE = """
import subprocess, sys
def again():
    # the interpreter this program runs on, started again: a venv's own python and its pyvenv.cfg
    result = subprocess.run([sys.executable, "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                            capture_output=True, text=True)
    return result.stdout.strip() or result.stderr.strip()[-200:]
def write_into_it():
    try:
        open(sys.prefix + "/hacked", "w").write("x")
        return "wrote"
    except OSError as error:
        return type(error).__name__
"""


@pytest.mark.parametrize("mode", ["sandbox uid", "user namespace"])
def test_a_venv_under_tmp_stays_visible_read_only(mode, tmp_path):
    """A virtualenv under /tmp (CI runners put them there) is covered by the sandbox's
    private /tmp unless it is bound back in: sys.executable must still start, inside its
    venv, and nothing in it may be written."""
    import subprocess
    import venv
    from pathlib import Path

    assert str(tmp_path).startswith("/tmp/")
    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / "bin" / "python"
    script = (
        "from acecoder.execution import Engine, ExecutionJob\n"
        f"with Engine(workers=1, timeout=10.0, **{MODES[mode]!r}) as engine:\n"
        f"    job = ExecutionJob(id='v', program={VENV_PROBE!r}, tests=[\"assert again() == 'True', again()\", "
        "\"assert write_into_it() == 'OSError' or write_into_it().endswith('Error'), write_into_it()\"])\n"
        "    result = engine.run([job])[0]\n"
        "    print([str(o) for o in result.outcomes], result.messages, engine.isolation)\n"
    )
    source = Path(__file__).parents[2] / "src"
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(source)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("['pass', 'pass']"), done.stdout
    assert not (tmp_path / "venv" / "hacked").exists()
