"""The data stages at size against the fault-injecting stand-in: synth, sample (16 programs
plus an oracle per question), filter, pairs and hard-subset, each as the `acecoder` command
a user runs, with the peak memory of its whole process tree (sandbox workers included).

    python speed/bench_scale.py --seeds 2000 [--seeds 20000] [--kill 2000] [--permanent 0.02] [--transient 0.05]

The stand-in (`acecoder.llm.StubServer` with a `FaultPlan`: faults decided by each
request) answers synthesis with a question and 6 asserts, and sampling with cheap
programs: most right, some wrong on a few inputs, one in a thousand looping forever.
Prints, per size and stage: wall seconds, peak RSS of the process tree, and the fault
counts the stage reported; then the ratio of peak memory between the sizes. With
`--kill SIZE`, every stage also runs a second time from the same inputs, is SIGKILLed
half-way, and is rerun (with `--resume` where it has one): its output must equal the
uninterrupted run's (byte for byte; for `sample`, whose lines follow the order answers
arrive in, the same lines).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from acecoder.llm import FaultPlan, StubServer

sys.path.insert(0, str(Path(__file__).parent))
from peak_rss import tree_rss


def reply(body: dict, index: int) -> str:
    prompt = body["messages"][-1]["content"]
    number = int(re.search(r"f_(\d+)", prompt).group(1))
    if body.get("response_format"):  # synth: a question and its tests (one wrong for every 7th)
        tests = [f"assert f_{number}({k}) == {k + number}" for k in range(5)]
        tests.append(f"assert f_{number}(9) == {9 + number + (number % 7 == 0)}")
        return json.dumps({"question": f"Write f_{number}(x) returning x + {number}.", "tests": tests})
    if body["model"] == "oracle":
        return f"```python\ndef f_{number}(x):\n    return x + {number}\n```"
    kind = (number * 31 + index) % 1000
    if kind == 0:  # one in a thousand loops forever
        return f"```python\ndef f_{number}(x):\n    while True:\n        pass\n```"
    if kind % 3 == 0:  # wrong from 3 on
        return f"```python\ndef f_{number}(x):\n    return x + {number} if x < 3 else x\n```"
    return f"```python\ndef f_{number}(x):\n    return x + {number}\n```"


def measured(command: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak GiB of the process tree, stderr) of one command."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True, env=env)
        root, peak = psutil.Process(child.pid), 0
        while child.poll() is None:
            peak = max(peak, tree_rss(root)[0])
            time.sleep(0.2)
        err.seek(0)
        text = err.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}:\n{text[-2000:]}")
    return time.monotonic() - started, peak / 2**30, text


def killed(command: list[str], after: float, env: dict) -> int:
    """Start `command`, SIGKILL it (not its children: they must notice on their own, as after
    an OOM kill) after `after` seconds, and count the children still alive 10 s later."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(after)
    children = psutil.Process(child.pid).children(recursive=True) if child.poll() is None else []
    child.kill()
    child.wait()
    time.sleep(10)
    alive = 0
    for process in children:
        try:
            alive += process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            pass
    return alive


# name: (arguments after `acecoder`, the files it reads, the file it writes)
STAGES = {
    "synth": (["synth", "seeds.jsonl", "-o", "q.jsonl", "--model", "writer", "--min-tests", "3"],
              ["seeds.jsonl"], "q.jsonl"),
    "sample": (["sample", "q.jsonl", "-o", "s.jsonl", "--model", "policy", "--n", "16", "--temperature", "1.0"],
               ["q.jsonl"], "s.jsonl"),
    "sample (oracle)": (["sample", "q.jsonl", "-o", "s.jsonl", "--model", "oracle", "--oracle", "--resume"],
                        ["q.jsonl", "s.jsonl"], "s.jsonl"),
    "filter": (["filter", "q.jsonl", "s.jsonl", "-o", "d.jsonl", "--oracle", "oracle", "--timeout", "1"],
               ["q.jsonl", "s.jsonl"], "d.jsonl"),
    "pairs": (["pairs", "d.jsonl", "-o", "p.jsonl"], ["d.jsonl"], "p.jsonl"),
    "hard-subset": (["hard-subset", "d.jsonl", "-o", "h.jsonl"], ["d.jsonl"], "h.jsonl"),
}
NEEDS_LLM = {"synth", "sample", "sample (oracle)"}
RESUMABLE = {"synth", "sample", "filter"}  # the others write all or nothing: running again is their resume


def command(name: str, folder: Path, url: list[str]) -> list[str]:
    arguments, _, _ = STAGES[name]
    files = {argument for _, reads, writes in STAGES.values() for argument in [*reads, writes]}
    paths = [str(folder / argument) if argument in files else argument for argument in arguments]
    return [sys.executable, "-m", "acecoder.cli", *paths, *(url if name in NEEDS_LLM else [])]


def same_output(first: Path, second: Path, *, ordered: bool) -> bool:
    """Byte-identical; for `sample`, whose lines follow the order answers arrive in, the
    same lines in any order."""
    if ordered:
        return first.read_bytes() == second.read_bytes()
    return sorted(first.read_bytes().splitlines()) == sorted(second.read_bytes().splitlines())


def run_size(seeds: int, folder: Path, plan: FaultPlan, *, kill: bool) -> tuple[dict, dict]:
    """The stages once through: {stage: (wall, peak, stderr)}. With `kill`, each stage again
    in a second folder from the first run's inputs, SIGKILLed half-way through its first
    run's time, rerun (with --resume where it has one) and compared with the first run's
    output: {stage: (kill time, children left, same output)}."""
    first, second = folder / "first", folder / "killed"
    first.mkdir()
    second.mkdir()
    (first / "seeds.jsonl").write_text("".join(
        json.dumps({"content": f"def f_{i}(x):\n    '''Return x plus {i}, the offset this function adds to any "
                               f"integer it is given.'''\n    return x + {i}\n"}) + "\n"
        for i in range(seeds)))
    # Fresh verdict caches: no verdict of another size or of the first run reaches a measured one.
    env = {**os.environ, "ACECODER_VERDICTS": str(folder / "verdicts-first.sqlite")}
    kill_env = {**env, "ACECODER_VERDICTS": str(folder / "verdicts-killed.sqlite")}
    results, kills = {}, {}
    with StubServer(reply=reply, plan=plan) as stub:
        stub.record = False
        url = ["--base-url", stub.base_url, "--concurrency", "64"]
        for name, (_, _, writes) in STAGES.items():
            results[name] = measured(command(name, first, url), env)
            shutil.copy(first / writes, folder / f"{name}.out")  # what this stage wrote (the oracle's appends)
        for name in STAGES if kill else ():
            _, reads, writes = STAGES[name]
            for path in reads:  # this stage's inputs as the first run had them, except that the oracle's
                if not (name == "sample (oracle)" and path == "s.jsonl"):  # samples join the rerun's policy ones
                    shutil.copy(first / path, second / path)
            after = results[name][0] / 2
            again = command(name, second, url)
            orphans = killed(again, after, kill_env)
            measured([*again, *(["--resume"] if name in RESUMABLE and "--resume" not in again else [])], kill_env)
            same = same_output(folder / f"{name}.out", second / writes, ordered=not name.startswith("sample"))
            kills[name] = (after, orphans, same)
    return results, kills


def faults(text: str) -> str:
    """The stage's own count of faults: retried ones by reason, then those that failed for good."""
    retried = re.findall(r"requests \d+ \((retries [^)]*)\)", text)
    failed = re.findall(r"failed requests: ([^;\]]+)", text)
    if not retried and not failed:
        return "-"
    return f"{retried[-1] if retried else 'retries 0'}; failed for good: {failed[-1].strip() if failed else 0}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, action="append", help="Sizes to run (repeatable; default 2000).")
    parser.add_argument("--kill", type=int, action="append", default=[],
                        help="Sizes at which every stage is also SIGKILLed half-way and rerun (repeatable).")
    parser.add_argument("--permanent", type=float, default=0.02)
    parser.add_argument("--transient", type=float, default=0.05)
    args = parser.parse_args()
    sizes = args.seeds or [2000]
    plan = FaultPlan(permanent=args.permanent, transient=args.transient, hang=2.0)
    peaks: dict[int, dict[str, float]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            results, kills = run_size(size, Path(folder), plan, kill=size in args.kill)
        peaks[size] = {stage: peak for stage, (_, peak, _) in results.items()}
        print(f"{size} seeds ({args.permanent:.0%} permanent, {args.transient:.0%} transient faults):")
        for stage, (seconds, peak, text) in results.items():
            print(f"  {stage:16s} {seconds:7.1f} s  peak {peak:5.2f} GiB  requests: {faults(text)}")
        for stage, (after, orphans, same) in kills.items():
            compared = "the same lines" if stage.startswith("sample") else "byte-identical"
            print(f"  {stage:16s} SIGKILL at {after:5.1f} s, rerun: {compared if same else 'OUTPUT DIFFERS'};"
                  f" children alive 10 s after the kill: {orphans}")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for stage in peaks[small]:
            print(f"  {stage:16s} peak at {large} / at {small}: {peaks[large][stage] / peaks[small][stage]:.2f}x")


if __name__ == "__main__":
    main()
