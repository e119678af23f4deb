"""As an ordinary user, not root: a program that signals out of its sandbox leaves
`acecoder execute` and an RL reward's caller alive, and the hostile suite holds in every
isolation mode. The tests run as root in CI; these become a throwaway uid for the run
(`_ordinary_user.py`). Run by an ordinary user, the rest of the suite covers this itself.
"""

import json
import os
import subprocess
import sys

import pytest

from _ordinary_user import REPO, as_ordinary_user, world_writable_dir

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the suite runs as an ordinary user already: test_hostile.py covers it"
)

# Each one ended the process that asked for its verdict before the fix, as an ordinary user.
ATTACKS = {
    "killpg_0": "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
    "kill_0": "import os, signal\nos.kill(0, signal.SIGKILL)\n",
    "kill_minus_1": "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
    "kill_by_proc": (
        "import os, signal\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        "        command = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
        "        if int(pid) != os.getpid() and (b'acecoder' in command or b'reward_caller' in command):\n"
        "            os.kill(int(pid), signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
    ),
}
GOOD = "def add(a, b):\n    return a + b\n"
TESTS = ["assert add(1, 2) == 3", "assert add(2, 2) == 4"]
MODES = {"user namespace": False, "namespaces refused": True}

REWARD_CALLER = """
import json, sys
from acecoder.rewards import TestReward
programs = json.loads(sys.argv[1])
with TestReward(kind="binary", timeout=1.0, workers=2) as reward:
    print(json.dumps(reward.score(["```python\\n" + p + "\\n```" for p in programs], [TESTS] * len(programs))))
    print(json.dumps(reward.engine.isolation))
""".replace("TESTS", repr(TESTS))


def _isolation_of(mode: str, isolation: list[str]) -> None:
    if mode == "user namespace":
        assert "user" in isolation and "pid" in isolation, isolation
    else:
        assert isolation[0].startswith("no namespaces") and any(i.startswith("seccomp") for i in isolation), isolation


@pytest.mark.parametrize("mode", MODES)
def test_execute_survives_programs_that_signal_out(mode):
    folder = world_writable_dir()
    rows = [{"id": name, "program": program + GOOD, "tests": TESTS} for name, program in ATTACKS.items()]
    rows += [{"id": f"good{i}", "program": GOOD, "tests": TESTS} for i in range(4)]
    (folder / "in.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = as_ordinary_user(
        [sys.executable, "-m", "acecoder.cli", "execute", str(folder / "in.jsonl"), "-o", str(folder / "out.jsonl"),
         "--timeout", "1", "--workers", "2"],
        timeout=120, refuse_namespaces=MODES[mode],
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = {row["id"]: row for row in map(json.loads, (folder / "out.jsonl").read_text().splitlines())}
    assert set(out) == {row["id"] for row in rows}, "a program was left without a verdict"
    assert all(out[f"good{i}"]["outcomes"] == ["pass", "pass"] for i in range(4))
    # The ones that only looked for targets found none they could hit, and then passed.
    assert out["kill_minus_1"]["outcomes"] == ["pass", "pass"]
    assert out["kill_by_proc"]["outcomes"] == ["pass", "pass"]
    said = done.stdout + done.stderr
    assert "sandbox:" in said, said
    _isolation_of(mode, said.split("sandbox:")[1].splitlines()[0].strip().split(", "))


@pytest.mark.parametrize("mode", MODES)
def test_the_reward_caller_survives_programs_that_signal_out(mode):
    """In RL the caller of the reward is the trainer: one sampled program must not end it."""
    programs = [program + GOOD for program in ATTACKS.values()] + [GOOD, "def add(a, b):\n    return a - b\n"]
    done = as_ordinary_user([sys.executable, "-c", REWARD_CALLER, json.dumps(programs), "reward_caller"],
                            timeout=120, refuse_namespaces=MODES[mode])
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    rewards, isolation = map(json.loads, done.stdout.strip().splitlines()[-2:])
    # killpg(0) and kill(0) end the program itself; kill(-1) and the /proc search hit nothing.
    assert rewards == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    _isolation_of(mode, isolation)


@pytest.mark.parametrize("user,mode", [
    ("root", "user namespace"), ("ordinary", "user namespace"), ("ordinary", "namespaces refused"),
])
def test_the_hostile_suite_holds_in_every_mode(user, mode):
    """test_hostile.py in the modes the plain suite (root, a sandbox uid) does not reach: a
    user namespace, and the fallback where the kernel refuses namespaces (which it does to
    ordinary users, in Docker's default profile or under Ubuntu's AppArmor rule). Root with
    no namespaces is a debugging mode (`Engine(isolate=False)`); test_isolation_modes.py
    checks its confinement."""
    argv = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/execution/test_hostile.py"]
    if user == "root":
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "ACECODER_TEST_SANDBOX": mode})
    else:
        done = as_ordinary_user(argv, timeout=600, refuse_namespaces=MODES[mode],
                                env={"PYTEST_DEBUG_TEMPROOT": str(world_writable_dir())})
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert " passed" in summary and "failed" not in summary, summary
