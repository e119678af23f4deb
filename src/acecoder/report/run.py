"""The numbers of a whole run, gathered from its run folder: what `acecoder report` shows.

`collect(run_dir)` reads the files the pipeline's stages leave in the folder (names in
`acecoder.pipeline`) and returns plain JSON-ready data, one key per section; a section
whose inputs are absent is None, and `missing` says, one line each, what was not there.
Nothing here draws or writes: `acecoder.report.html` does that from this dict alone, so
report.json and report.html always carry the same numbers.

Sections:

- `overview`: the stages in run order with status, start, end, seconds, their summary
  (state.json) and its `headline` (the few numbers that matter, see HEADLINES), and the resolved config (config.yaml, parsed; `config_text` raw).
- `dataset`: the method's Table 1 (ACECODER §3.1): per source and in total, seeds,
  questions synthesized, mean tests per question before filtering, questions kept, mean
  tests after, pairs and questions with pairs. Each cell is null where its file is absent.
- `filter`: filter/filter_summary.json as `acecoder.report.quality` wrote it, plus the
  drop reasons per source and in total.
- `reward_model`: rm/metrics.jsonl (one line per step, the last line of a step kept after
  a resume) and rm/eval.json (held-out accuracy, margin).
- `best_of_n`: bon/bon.json (pass@1 per selector and N; greedy, average, oracle).
- `rl`: rl/metrics.jsonl, one line per logged step.

Readers are tolerant: unknown keys are kept, missing keys are left out, broken lines are
skipped and counted in `warnings`. Only an unreadable run folder is an error.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter, defaultdict
from pathlib import Path

from acecoder.errors import AcecoderError, InputError

SOURCES_ORDER = ("evol", "oss", "stack")  # the method's Table 1 order; others follow alphabetically
# What each section needs, and the stage that writes it (for the "missing" lines).
NEEDS = {
    "overview": ("state.json", None),
    "dataset": ("questions.jsonl", "synth"),
    "filter": ("filter/filter_summary.json", "filter"),
    "reward_model": ("rm/metrics.jsonl or rm/eval.json", "train-rm"),
    "best_of_n": ("bon/bon.json", "bon"),
    "rl": ("rl/metrics.jsonl", "rl"),
}


# The few numbers that say what each stage did: (label, summary key, decimals). The report's
# overview and the pipeline's one line per stage show these; the report has the rest a click away.
HEADLINES = {
    "synth": [("questions", "written", 0), ("of seeds", "seeds", 0), ("tests", "tests_written", 0)],
    "sample": [("samples", "samples", 0), ("requests", "requests", 0), ("hit max tokens", "truncated", 0)],
    "filter": [("questions kept", "kept", 0), ("of", "questions", 0), ("programs run", "programs", 0),
               ("verdicts reused", "reused", 0)],
    "pairs": [("pairs", "pairs", 0), ("questions with pairs", "questions_with_pairs", 0)],
    "train-rm": [("pairs", "train_pairs", 0), ("steps", "steps", 0), ("loss", "loss", 3),
                 ("held-out accuracy", "eval_accuracy", 2)],
    "bon": [("problems", "problems", 0), ("samples each", "samples_per_problem", 0)],
    "hard-subset": [("questions selected", "selected", 0), ("of", "rows", 0)],
    "rl": [("steps", "steps", 0), ("rollouts", "rollouts", 0), ("questions", "questions", 0)],
}


def headline(stage: str, summary: dict) -> str:
    """`questions 9, of seeds 16, tests 120`: a stage's few numbers that matter, rounded."""
    parts = []
    for label, key, digits in HEADLINES.get(stage, []):
        value = summary.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        parts.append(f"{label} {value:,.{digits}f}")
    key = {"synth": "failed_requests", "sample": "failed"}.get(stage)  # requests that failed, by reason
    if key is not None:
        counts = summary.get(key)
        if isinstance(counts, dict) and counts and all(isinstance(n, int) for n in counts.values()):
            parts.append("failed requests " + ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items())))
    if isinstance(summary.get("note"), str):
        parts.append(summary["note"])
    return ", ".join(parts)


def write_report(run_dir: str | Path, *, output: str | Path | None = None):
    """Write RUN_DIR/report.html (or `output`) and report.json beside it; returns the
    `acecoder.report.html.ReportSummary` (its str() is the page's path). Here as well as
    in `html` so that callers need one import and matplotlib loads only when drawing."""
    from acecoder.report.html import write_report as write

    return write(run_dir, output=output)


def collect(run_dir: str | Path) -> dict:
    """Every section of the run's report, as plain data (see the module docstring)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError("not a run folder (no such directory): give the run_dir of `acecoder run`", path=str(run_dir))
    warnings: list[str] = []
    state = _json(run_dir / "state.json", warnings)
    report = {
        "run_dir": str(run_dir.resolve()),
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "overview": _overview(run_dir, state, warnings),
        "dataset": _dataset(run_dir, warnings),
        "filter": _filter(run_dir, warnings),
        "reward_model": _reward_model(run_dir, warnings),
        "best_of_n": _json(run_dir / "bon" / "bon.json", warnings),
        "rl": _rl(run_dir, warnings),
    }
    stages = (state or {}).get("stages", {}) if isinstance(state, dict) else {}
    report["missing"] = [
        f"{section}: no {needs}" + (f" (stage {stage}: {stages.get(stage, {}).get('status', 'not run')})" if stage else "")
        for section, (needs, stage) in NEEDS.items()
        if report[section] is None
    ]
    report["warnings"] = warnings
    return report


# ---------------------------------------------------------------- sections


def _overview(run_dir: Path, state: dict | None, warnings: list[str]) -> dict | None:
    config_path = run_dir / "config.yaml"
    config_text = config_path.read_text(encoding="utf-8", errors="replace") if config_path.is_file() else None
    if state is None and config_text is None:
        return None
    state = state if isinstance(state, dict) else {}
    stages = state.get("stages") if isinstance(state.get("stages"), dict) else {}
    order = [name for name in state.get("order", []) if isinstance(name, str)]
    order += [name for name in stages if name not in order]
    rows = []
    for name in order:
        entry = stages.get(name) if isinstance(stages.get(name), dict) else {}
        rows.append(
            {
                "name": name,
                "status": entry.get("status", "not run"),
                "started": entry.get("started"),
                "finished": entry.get("finished"),
                "seconds": entry.get("seconds"),
                "summary": entry.get("summary") if isinstance(entry.get("summary"), dict) else {},
                "headline": headline(name, entry.get("summary") if isinstance(entry.get("summary"), dict) else {}),
            }
        )
    return {
        "stages": rows,
        "seconds": round(sum(r["seconds"] for r in rows if isinstance(r["seconds"], (int, float))), 3),
        "config": _yaml(config_text, config_path, warnings),
        "config_text": config_text,
    }


def _dataset(run_dir: Path, warnings: list[str]) -> dict | None:
    """Table 1: one row per source, then the total."""
    questions = _jsonl(run_dir / "questions.jsonl", warnings)
    if questions is None:
        return None
    source_of = {str(q.get("id")): str(q.get("source", "unknown")) for q in questions}
    tests_before: dict[str, list[int]] = defaultdict(list)
    for q in questions:
        tests_before[source_of[str(q.get("id"))]].append(len(q.get("tests") or []))

    # Kept questions and their tests: the filter's dataset, else nothing (the filter did not run).
    dataset = _jsonl(run_dir / "dataset.jsonl", warnings)
    tests_after: dict[str, list[int]] | None = None
    if dataset is not None:
        tests_after = defaultdict(list)
        for row in dataset:
            source = str(row.get("source") or source_of.get(str(row.get("id")), "unknown"))
            tests_after[source].append(len(row.get("test_cases") or []))

    pairs = _jsonl(run_dir / "pairs.jsonl", warnings)
    pair_counts: Counter | None = None
    paired_questions: dict[str, set] = defaultdict(set)
    if pairs is not None:
        pair_counts = Counter()
        for pair in pairs:
            question_id = str(pair.get("question_id", pair.get("id", "")))
            # a pair's source: its question's, else the id's prefix ("oss_12" -> "oss")
            source = source_of.get(question_id) or question_id.split("_", 1)[0] or "unknown"
            pair_counts[source] += 1
            paired_questions[source].add(question_id)

    seeds = _seed_counts(run_dir, warnings)
    names = set(tests_before) | set(tests_after or {}) | set(pair_counts or {}) | set(seeds or {})
    ordered = [s for s in SOURCES_ORDER if s in names] + sorted(names - set(SOURCES_ORDER))

    def row(sources: list[str]) -> dict:
        before = [n for s in sources for n in tests_before.get(s, [])]
        after = None if tests_after is None else [n for s in sources for n in tests_after.get(s, [])]
        return {
            "seeds": None if seeds is None else sum(seeds.get(s, 0) for s in sources),
            "questions": len(before),
            "tests_before": sum(before),
            "mean_tests_before": _mean(before),
            "questions_kept": None if after is None else len(after),
            "tests_after": None if after is None else sum(after),
            "mean_tests_after": None if after is None else _mean(after),
            "pairs": None if pair_counts is None else sum(pair_counts.get(s, 0) for s in sources),
            "questions_with_pairs": None if pair_counts is None else sum(len(paired_questions[s]) for s in sources),
        }

    return {"sources": {s: row([s]) for s in ordered}, "total": row(ordered)}


def _seed_counts(run_dir: Path, warnings: list[str]) -> dict[str, int] | None:
    """Seeds per source, prepared as synth prepared them (the config's `seeds` and
    `synth.limit`); None when the config or the seed file is not here."""
    config = _yaml((run_dir / "config.yaml").read_text() if (run_dir / "config.yaml").is_file() else None,
                   run_dir / "config.yaml", [])
    if not isinstance(config, dict) or not isinstance(config.get("seeds"), str) or config["seeds"].startswith(("hf:", "benchmark:")):
        return None
    path = Path(config["seeds"])
    path = path if path.is_absolute() else run_dir / path
    if not path.exists():
        warnings.append(f"seeds: {path} is not here, so the table has no seed counts")
        return None
    from acecoder.synth.seeds import iter_seeds

    synth = config.get("synth") if isinstance(config.get("synth"), dict) else {}
    try:
        return dict(Counter(seed.source for seed in iter_seeds(path, limit=synth.get("limit"))))
    except (AcecoderError, OSError) as error:  # a seed file the report cannot read must not stop the report
        warnings.append(f"seeds: {path}: {error}")
        return None


def _filter(run_dir: Path, warnings: list[str]) -> dict | None:
    summary = _json(run_dir / "filter" / "filter_summary.json", warnings)
    if not isinstance(summary, dict):
        return None
    sources = summary.get("sources") if isinstance(summary.get("sources"), dict) else {}
    drops = {source: dict(entry.get("dropped") or {}) for source, entry in sources.items() if isinstance(entry, dict)}
    totals: Counter = Counter()
    for reasons in drops.values():
        totals.update(reasons)
    return {"summary": summary, "drops": drops, "drop_totals": dict(sorted(totals.items()))}


def _reward_model(run_dir: Path, warnings: list[str]) -> dict | None:
    metrics = _steps(_jsonl(run_dir / "rm" / "metrics.jsonl", warnings))
    evaluation = _json(run_dir / "rm" / "eval.json", warnings)
    if metrics is None and evaluation is None:
        return None
    if isinstance(evaluation, dict) and "mean_margin" not in evaluation and "margin" in evaluation:
        evaluation["mean_margin"] = evaluation["margin"]  # the contract's name for the same number
    return {"metrics": metrics or [], "eval": evaluation if isinstance(evaluation, dict) else None}


def _rl(run_dir: Path, warnings: list[str]) -> dict | None:
    metrics = _steps(_jsonl(run_dir / "rl" / "metrics.jsonl", warnings))
    return None if metrics is None else {"metrics": metrics}


# ---------------------------------------------------------------- plumbing: tolerant readers


def _steps(lines: list[dict] | None) -> list[dict] | None:
    """Metric lines by step; after a resume a step may repeat, and its last line wins."""
    if lines is None:
        return None
    by_step: dict = {}
    for number, line in enumerate(lines):
        step = line.get("step")
        by_step[step if isinstance(step, (int, float)) else f"line {number}"] = line
    return sorted(by_step.values(), key=lambda line: line.get("step") if isinstance(line.get("step"), (int, float)) else 0)


def _jsonl(path: Path, warnings: list[str]) -> list[dict] | None:
    if not path.is_file():
        return None
    from acecoder.data.jsonl import read_jsonl

    bad: list = []
    try:
        rows = [row for _, row in read_jsonl(path, bad_lines=bad)]
    except InputError as error:
        warnings.append(str(error))
        return None
    if bad:
        warnings.append(f"{path}: skipped {len(bad)} broken lines, first: {bad[0]}")
    return rows


def _json(path: Path, warnings: list[str]):
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        warnings.append(f"{path}: not readable JSON ({error}); its section is left out")
        return None


def _yaml(text: str | None, path: Path, warnings: list[str]):
    if text is None:
        return None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        warnings.append(f"{path}: not valid YAML ({error}); shown as text")
        return None


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
