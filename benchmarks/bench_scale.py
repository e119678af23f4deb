"""The data stages at size against the fault-injecting stand-in: synth, sample (16 programs
plus an oracle per question), filter, pairs and hard-subset, each as the `acecoder` command
a user runs, with the peak memory of its whole process tree (sandbox workers included).

    python benchmarks/bench_scale.py --seeds 2000 [--seeds 20000] [--permanent 0.02] [--transient 0.05]

The stand-in (`acecoder.llm.StubServer` with a `FaultPlan`: faults decided by each
request) answers synthesis with a question and 6 asserts, and sampling with cheap
programs: most right, some wrong on a few inputs, one in a thousand looping forever.
Prints, per size and stage: wall seconds, peak RSS of the process tree, and the fault
counts the stage reported; then the ratio of peak memory between the sizes.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from acecoder.llm import FaultPlan, StubServer

sys.path.insert(0, str(Path(__file__).parent))
from peak_rss import tree_rss  # noqa: E402  (the same measure as benchmarks/peak_rss.py)


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


def measured(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak GiB of the process tree, stderr) of one command."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True)
        root, peak = psutil.Process(child.pid), 0
        while child.poll() is None:
            peak = max(peak, tree_rss(root)[0])
            time.sleep(0.2)
        err.seek(0)
        text = err.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}:\n{text[-2000:]}")
    return time.monotonic() - started, peak / 2**30, text


def run_size(seeds: int, folder: Path, plan: FaultPlan) -> dict[str, tuple[float, float, str]]:
    seeds_path = folder / "seeds.jsonl"
    seeds_path.write_text("".join(
        json.dumps({"content": f"def f_{i}(x):\n    '''Return x plus {i}, the offset this function adds to any "
                               f"integer it is given.'''\n    return x + {i}\n"}) + "\n"
        for i in range(seeds)))
    cli = [sys.executable, "-m", "acecoder.cli"]
    results = {}
    with StubServer(reply=reply, plan=plan) as stub:
        stub.record = False
        url = ["--base-url", stub.base_url, "--concurrency", "64"]
        results["synth"] = measured([*cli, "synth", str(seeds_path), "-o", str(folder / "q.jsonl"), "--model", "writer",
                                     "--min-tests", "3", *url])
        results["sample"] = measured([*cli, "sample", str(folder / "q.jsonl"), "-o", str(folder / "s.jsonl"),
                                      "--model", "policy", "--n", "16", "--temperature", "1.0", *url])
        results["sample (oracle)"] = measured([*cli, "sample", str(folder / "q.jsonl"), "-o", str(folder / "s.jsonl"),
                                               "--model", "oracle", "--oracle", "--resume", *url])
    results["filter"] = measured([*cli, "filter", str(folder / "q.jsonl"), str(folder / "s.jsonl"), "-o",
                                  str(folder / "d.jsonl"), "--oracle", "oracle", "--timeout", "1"])
    results["pairs"] = measured([*cli, "pairs", str(folder / "d.jsonl"), "-o", str(folder / "p.jsonl")])
    results["hard-subset"] = measured([*cli, "hard-subset", str(folder / "d.jsonl"), "-o", str(folder / "h.jsonl")])
    return results


def faults(text: str) -> str:
    found = re.findall(r"failed requests: ([^;\]]+)", text)
    return found[-1].strip() if found else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, action="append", help="Sizes to run (repeatable; default 2000).")
    parser.add_argument("--permanent", type=float, default=0.02)
    parser.add_argument("--transient", type=float, default=0.05)
    args = parser.parse_args()
    sizes = args.seeds or [2000]
    plan = FaultPlan(permanent=args.permanent, transient=args.transient, hang=2.0)
    peaks: dict[int, dict[str, float]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            results = run_size(size, Path(folder), plan)
        peaks[size] = {stage: peak for stage, (_, peak, _) in results.items()}
        print(f"{size} seeds ({args.permanent:.0%} permanent, {args.transient:.0%} transient faults):")
        for stage, (seconds, peak, text) in results.items():
            print(f"  {stage:16s} {seconds:7.1f} s  peak {peak:5.2f} GiB  failed requests: {faults(text)}")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for stage in peaks[small]:
            print(f"  {stage:16s} peak at {large} / at {small}: {peaks[large][stage] / peaks[small][stage]:.2f}x")


if __name__ == "__main__":
    main()
