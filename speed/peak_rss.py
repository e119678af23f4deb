"""Wall time and peak memory of a command with every process it starts (model servers,
sandbox workers), as one sum: `/usr/bin/time` reports only the largest single process.

    python speed/peak_rss.py -- acecoder demo --quick

Samples the resident set size of the command's whole process tree every `--every` seconds
(psutil, which accelerate brings) and prints, at the end, the wall time, the peak of the
sum and the peak of the largest process. The command's own output passes through.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import psutil


def tree_rss(root: psutil.Process) -> tuple[int, int]:
    """(sum, largest) resident bytes of `root` and its descendants now."""
    sizes = []
    for process in [root, *root.children(recursive=True)]:
        try:
            sizes.append(process.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sum(sizes), max(sizes, default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=float, default=0.5, help="Seconds between samples.")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="The command, after --.")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    started = time.monotonic()
    child = subprocess.Popen(command)
    root = psutil.Process(child.pid)
    peak_sum = peak_one = 0
    while child.poll() is None:
        total, largest = tree_rss(root)
        peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
        try:
            time.sleep(args.every)
        except KeyboardInterrupt:  # Ctrl-C reaches the command too (one process group): let it finish
            child.wait()
    seconds = time.monotonic() - started
    print(f"peak_rss: exit {child.returncode}, wall {seconds:.1f} s ({seconds / 60:.1f} min), "
          f"peak memory of the process tree {peak_sum / 2**30:.2f} GiB (largest process {peak_one / 2**30:.2f} GiB)",
          file=sys.stderr)
    raise SystemExit(child.returncode)


if __name__ == "__main__":
    main()
