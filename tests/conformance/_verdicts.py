"""What both sides of a conformance test share: our verdicts on a benchmark file."""

import json
from pathlib import Path

from acecoder.stages.eval import EvalSettings, run


def our_verdicts(folder: Path, benchmark: str, rows: list[dict], samples: dict[str, list[str]],
                 timeout: float) -> tuple[list[dict], dict[tuple[str, int], bool]]:
    """(the Sample records, (problem id, sample index) -> correct) from `acecoder eval`
    on `rows` written in their release layout, each program a sample of model "m"."""
    data = folder / f"{benchmark}.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    records = [{"question_id": pid, "model": "m", "sample_index": i, "completion": code, "program": code}
               for pid, codes in samples.items() for i, code in enumerate(codes)]
    (folder / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in records))
    settings = EvalSettings(benchmarks=[benchmark], paths={benchmark: str(data)}, k=[1], workers=2,
                            benchmark_settings={benchmark: {"timeout": timeout}})
    run(folder / "eval", settings=settings, samples_path=folder / "samples.jsonl")
    verdicts = {}
    for line in (folder / "eval" / "executions.jsonl").read_text().splitlines():
        result = json.loads(line)
        verdicts[(result["question_id"], result["sample_index"])] = result["correct"]
    return records, verdicts
