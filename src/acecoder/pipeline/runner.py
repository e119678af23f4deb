"""`acecoder run`: the stages in order, each reading the previous one's files in the run folder.

    synth -> sample -> filter (executes every program) -> pairs -> train-rm -> bon
          -> hard-subset -> rl

Each stage is a `Step`: its inputs and outputs in the run folder, the settings that
decide its result, and a function that runs it (with `resume`). The runner only orders
steps and decides, from `state.json` (see state.py), whether each one is skipped,
resumed or started afresh. A Ctrl-C or a failure marks the stage and re-raises; the next
`acecoder run` resumes it. Every stage logs to `logs/<stage>.log`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.errors import ConfigError
from acecoder.pipeline.config import STAGES, Config
from acecoder.pipeline.state import RunState, content_hash, fingerprint, now


@dataclass(kw_only=True)
class Step:
    name: str
    inputs: list[Path]  # files (or folders) it reads
    outputs: list[Path]  # files (or folders) it writes; removed before a fresh start
    settings: dict  # what decides its result (part of the fingerprint)
    run: Callable[[bool, object], object]  # (resume, progress) -> the stage's summary
    unit: str = "programs"  # what its progress bar counts


@dataclass(kw_only=True)
class Outcome:
    name: str
    action: str  # "ran", "resumed", "skipped"
    seconds: float = 0.0
    summary: dict = field(default_factory=dict)


def run_pipeline(
    config: Config,
    raw: dict,
    *,
    first: str | None = None,
    last: str | None = None,
    progress: Callable[[str, str], contextlib.AbstractContextManager] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run the config's stages from `first` to `last` (names of STAGES); returns what each did."""
    from acecoder.pipeline.steps import build_steps, check_models

    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_config(run_dir / "config.yaml", raw)
    steps = [step for step in build_steps(config, run_dir) if step.name in config.stages]
    selected = _select(steps, first, last)
    check_models(config, {step.name for step in selected})
    state = RunState(run_dir, [step.name for step in steps])
    produced = _recorded_outputs(state, run_dir)
    outcomes = []
    for step in selected:
        outcome = _run_step(step, state, produced, run_dir, progress or _no_progress)
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes


def _run_step(step: Step, state: RunState, produced: dict[Path, str], run_dir: Path, progress) -> Outcome:
    inputs = {}
    for path in step.inputs:
        digest = produced.get(path) or content_hash(path)
        if digest is None:
            raise ConfigError(f"stage {step.name} needs {path}, which no stage has written: run the stages before it")
        inputs[_relative(path, run_dir)] = digest
    mark = fingerprint(step.settings, inputs)
    record = state.get(step.name)
    if record.get("status") == "done" and record.get("fingerprint") == mark and _unchanged(record, run_dir):
        produced.update({run_dir / name: digest for name, digest in record["outputs"].items()})
        return Outcome(name=step.name, action="skipped", summary=record.get("summary", {}))
    resume = record.get("fingerprint") == mark and record.get("status") in ("running", "interrupted", "failed")
    if not resume:
        for path in step.outputs:
            _remove(path)
    # A resumed stage's time adds to its earlier sittings' (the run's cost, not the last sitting's).
    before, sittings = (record.get("seconds") or 0.0, record.get("sittings") or 1) if resume else (0.0, 0)
    state.update(step.name, status="running", fingerprint=mark, started=now(), finished=None, error=None,
                 sittings=sittings + 1)
    start = time.perf_counter()

    def spent() -> float:
        return round(before + time.perf_counter() - start, 2)

    try:
        with _stage_log(run_dir / "logs" / f"{step.name}.log") as log, progress(step.name, step.unit) as bar:
            log.info("stage %s (%s), fingerprint %s, settings %s", step.name, "resumed" if resume else "fresh", mark,
                     json.dumps(step.settings, default=str))
            summary = _plain(step.run(resume, bar))
            log.info("summary %s", json.dumps(summary, default=str))
    except KeyboardInterrupt:
        state.update(step.name, status="interrupted", seconds=spent())
        raise
    except BaseException as error:
        state.update(step.name, status="failed", error=str(error), seconds=spent())
        raise
    outputs = {_relative(path, run_dir): content_hash(path) for path in step.outputs}
    seconds = round(time.perf_counter() - start, 2)
    state.update(step.name, status="done", outputs=outputs, finished=now(), seconds=spent(), summary=summary)
    produced.update({path: outputs[_relative(path, run_dir)] for path in step.outputs})
    return Outcome(name=step.name, action="resumed" if resume else "ran", seconds=seconds, summary=summary)


# ---------------------------------------------------------------- plumbing


def _select(steps: list[Step], first: str | None, last: str | None) -> list[Step]:
    names = [step.name for step in steps]
    for given, flag in ((first, "--from"), (last, "--until")):
        if given is not None and given not in names:
            raise ConfigError(f"{flag} {given}: not one of this run's stages ({', '.join(names)})")
    lo = names.index(first) if first else 0
    hi = names.index(last) if last else len(names) - 1
    if lo > hi:
        raise ConfigError(f"--from {first} comes after --until {last} (order: {', '.join(STAGES)})")
    return steps[lo : hi + 1]


def _recorded_outputs(state: RunState, run_dir: Path) -> dict[Path, str]:
    produced = {}
    for record in state.stages.values():
        if record.get("status") == "done":
            produced.update({run_dir / name: digest for name, digest in record.get("outputs", {}).items()})
    return produced


def _unchanged(record: dict, run_dir: Path) -> bool:
    return all(content_hash(run_dir / name) == digest for name, digest in record.get("outputs", {}).items())


def _relative(path: Path, run_dir: Path) -> str:
    try:
        return str(path.relative_to(run_dir))
    except ValueError:
        return str(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _plain(summary) -> dict:
    if summary is None:
        return {}
    if dataclasses.is_dataclass(summary):
        summary = summary.to_dict() if hasattr(summary, "to_dict") else dataclasses.asdict(summary)
    return json.loads(json.dumps(summary, default=str))


def _write_config(path: Path, raw: dict) -> None:
    import yaml

    write_atomic(path, yaml.safe_dump(raw, sort_keys=False))


@contextlib.contextmanager
def _stage_log(path: Path):
    """Everything logged during the stage (ours, transformers', TRL's) goes to its file too,
    and so do the libraries' warnings (deprecations, torch's pin_memory on a CPU) and their
    progress bars are off: the terminal shows our lines, the stage's log has theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(min(previous, logging.INFO) if previous else logging.INFO)
    logging.captureWarnings(True)  # warnings.warn -> the `py.warnings` logger -> this file only
    _quiet_library_progress_bars()
    to_file = _FileUnlessError(handler)
    logging.getLogger("DeepSpeed").addFilter(to_file)
    log = logging.getLogger("acecoder.pipeline")
    try:
        yield log
    except BaseException as error:
        log.error("stopped: %s: %s", type(error).__name__, error)
        raise
    finally:
        logging.captureWarnings(False)
        logging.getLogger("DeepSpeed").removeFilter(to_file)
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


class _FileUnlessError(logging.Filter):
    """For loggers that print to the terminal themselves and do not propagate (DeepSpeed's,
    imported by transformers when installed: "Setting accelerator to CPU"): their lines go
    to the stage's log, and only errors to the terminal."""

    def __init__(self, handler: logging.Handler):
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        self.handler.handle(record)
        return record.levelno >= logging.ERROR


def _quiet_library_progress_bars() -> None:
    """transformers' "Loading weights" and hub's "Writing model shards" bars: in a log they
    are lines of carriage returns, and a stage's own bar says how far it is. The variable
    covers libraries imported later (and the stage's child processes)."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


@contextlib.contextmanager
def _no_progress(name: str, unit: str):
    yield None
