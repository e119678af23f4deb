"""Preference pairs and RL questions in the formats the training frameworks read.

One small function per format. Every prompt and answer is rendered by
`acecoder.prompts`, so what a reward model or policy is trained on is exactly what
sampling showed and what scoring will show. Each function builds its dict with a
fixed key order, so the same records give byte-identical files.

Pairs (`acecoder pairs --format ...`):

- `pairs`: our `Pair` records, with `margin`.
- `trl`: TRL's conversational preference format with an explicit prompt
  (`prompt` / `chosen` / `rejected` message lists) and the optional `margin` column
  that TRL's RewardTrainer adds to the Bradley-Terry loss.
- `llama-factory`: the ranking layout of the released AceCodePair-300K
  (`instruction`, `input`, `chosen`, `rejected`, `id`); register it in
  `dataset_info.json` with `"ranking": true`.
- `openrlhf`: OpenRLHF's reward-model dataset: `prompt` (messages), `chosen` and
  `rejected` (one assistant message each) and `margin`, for `--prompt_key prompt
  --chosen_key chosen --rejected_key rejected --apply_chat_template`, so the reward
  model is trained on the same chat template it will score with.

RL questions (`acecoder hard-subset --format ...`):

- `rows`: `DatasetRow` records unchanged.
- `trl`: `prompt` (chat messages) and `tests`, the column a GRPOTrainer reward
  function receives as a keyword argument (asserts; a suite of another kind as its
  JSON text), and `limits` (each test's CPU seconds,
  max(0.1 s, 10 x the oracle's time), at most 3 s) for rows the filter timed.
- `verl`: verl's RL schema (`data_source`, `prompt`, `ability`, `reward_model`,
  `extra_info`); the tests travel JSON-encoded in `reward_model.ground_truth`, as
  {"tests": [...], "limits": [...]} for rows the filter timed, else as a list.
  Write it to a `.parquet` path, which is what verl's RLHFDataset reads.
- `openrlhf`: `context_messages` for `--input_key context_messages
  --apply_chat_template`, and `tests` for a remote or custom reward (`--label_key
  tests`; a suite of another kind as its JSON text); for rows the filter timed, also `suite`, the tests with their limits
  (`--label_key suite`, which acecoder's reward server and reward function read).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.data.tables import check_output, write_records
from acecoder.errors import ConfigError, InputError
from acecoder.prompts import ACECODEPAIR_SYSTEM, chat, program_response, question_prompt, rl_prompt
from acecoder.records import DatasetRow, Pair

__all__ = [
    "PAIR_FORMATS",
    "ROW_FORMATS",
    "export_pair",
    "export_row",
    "margin",
    "write_export",
]

PAIR_FORMATS = ("pairs", "trl", "llama-factory", "openrlhf")
ROW_FORMATS = ("rows", "trl", "verl", "openrlhf")


def margin(pair: Pair) -> float:
    """The pass-rate gap rounded to 9 decimals, so that 0.7 - 0.3 is written 0.4
    and not 0.39999999999999997 (pass rates are ratios of small counts; 9 decimals
    lose nothing)."""
    return round(pair.margin, 9)


# ---------------------------------------------------------------- pairs


def pair_record(pair: Pair) -> dict:
    # dataclasses.asdict plus the margin; built by hand (asdict's deep copy was most
    # of the stage's time) with the one list copied, so the row shares nothing.
    record = {f.name: getattr(pair, f.name) for f in dataclasses.fields(pair)}
    record["tests"] = _copy(pair.tests)
    record["margin"] = margin(pair)
    return record


def pair_trl(pair: Pair, style: str = "acecoder") -> dict:
    return {
        "prompt": chat(pair.question, pair.tests, style=style),
        "chosen": [{"role": "assistant", "content": program_response(pair.chosen, style=style)}],
        "rejected": [{"role": "assistant", "content": program_response(pair.rejected, style=style)}],
        "margin": margin(pair),
    }


def pair_llama_factory(pair: Pair, style: str = "acecoder") -> dict:
    """The AceCodePair-300K layout; with style `acecodepair`, its very text too (the
    system prompt is the row's, mapped by the dataset_info.json entry)."""
    row = {
        "instruction": question_prompt(pair.question, pair.tests, style=style),
        "input": "",
        "chosen": program_response(pair.chosen, style=style),
        "rejected": program_response(pair.rejected, style=style),
        "id": pair.id,
    }
    if style == "acecodepair":  # the system prompt AceCoder trained with; newer LLaMA-Factory defaults to another
        row["system"] = ACECODEPAIR_SYSTEM
    return row


def llama_factory_entry(path: Path, style: str = "acecoder") -> dict:
    """The `dataset_info.json` entry LLaMA-Factory needs to read a `llama-factory` pairs
    file: its name, ranking (pairwise) data, and the columns (once `columns` is given,
    LLaMA-Factory leaves every column it does not name unset)."""
    columns = {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}
    if style == "acecodepair":
        columns["system"] = "system"
    return {"file_name": path.name, "ranking": True, "columns": columns}


def write_llama_factory_info(path: str | Path, style: str = "acecoder") -> Path:
    """Add (or replace) the entry of the pairs file `path` in the `dataset_info.json`
    beside it, keeping the other entries; its key is the file's stem (`--dataset STEM`
    with `--dataset_dir` that folder)."""
    path = Path(path)
    info_path = path.with_name("dataset_info.json")
    info = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"{info_path} is there but is not JSON ({error}): move it away or fix it") from None
        if not isinstance(info, dict):
            raise ConfigError(f"{info_path} is there but is not a JSON object: move it away or fix it")
    info[path.stem] = llama_factory_entry(path, style)
    write_atomic(info_path, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return info_path


def pair_openrlhf(pair: Pair, style: str = "acecoder") -> dict:
    return pair_trl(pair, style)  # OpenRLHF's RewardDataset takes the same message lists


def export_pair(pair: Pair, format: str, *, style: str = "acecoder") -> dict:
    """One pair as a row of `format` (one of PAIR_FORMATS), its prompt and answers in
    prompt `style` (our Pair records carry no rendering: the trainer renders them)."""
    if format == "pairs":
        return pair_record(pair)
    if format == "trl":
        return pair_trl(pair, style)
    if format == "llama-factory":
        return pair_llama_factory(pair, style)
    if format == "openrlhf":
        return pair_openrlhf(pair, style)
    raise ConfigError(f"unknown pairs format {format!r}: use one of {', '.join(PAIR_FORMATS)}")


# ---------------------------------------------------------------- RL questions


def row_record(row: DatasetRow) -> dict:
    return dataclasses.asdict(row)


def row_limits(row: DatasetRow) -> list[float] | None:
    """Each test's CPU seconds for the reward, from the oracle's time on it (rows the
    filter wrote); None for rows without it (AceCode-87K's)."""
    if not row.test_seconds or len(row.test_seconds) != _count(row.test_cases):
        return None
    from acecoder.execution import limits_from_reference

    return limits_from_reference(row.test_seconds)


def row_trl(row: DatasetRow, prompt: str = "question") -> dict:
    out = {"prompt": rl_prompt(row.question, row.test_cases, prompt=prompt), "tests": _column(row.test_cases),
           "id": row.id}
    limits = row_limits(row)
    if limits is not None:
        out["limits"] = limits
    return out


def row_verl(row: DatasetRow, index: int, prompt: str = "question") -> dict:
    limits = row_limits(row)
    tests = _copy(row.test_cases)
    truth = tests if limits is None else {"tests": tests, "limits": limits}
    return {
        "data_source": f"acecoder/{row.source}",
        "prompt": rl_prompt(row.question, row.test_cases, prompt=prompt),
        "ability": "code",
        "reward_model": {"style": "rule", "ground_truth": json.dumps(truth, ensure_ascii=False)},
        "extra_info": {"id": row.id, "index": index},
    }


def row_openrlhf(row: DatasetRow, prompt: str = "question") -> dict:
    out = {
        "context_messages": rl_prompt(row.question, row.test_cases, prompt=prompt),
        "tests": _column(row.test_cases),
        "id": row.id,
    }
    limits = row_limits(row)
    if limits is not None:  # the label for `--data.label_key suite`: the tests with their limits
        suite = {"tests": _copy(row.test_cases), "limits": limits}
        out["suite"] = suite if isinstance(row.test_cases, list) else json.dumps(suite, ensure_ascii=False)
    return out


# A row's tests are asserts (a list) or, from the filter on other datasets' tests, a suite
# as `TestSuite.to_dict()`. The trainers' columns carry such a suite as its JSON text: a
# table column must hold one type, and suites of different kinds differ in shape (stdio
# cases are pairs, pytest ids strings). Every reward adapter reads either back
# (`acecoder.rewards.parse_suite`, i.e. `read_suite`).


def _copy(tests: list[str] | dict) -> list[str] | dict:
    return list(tests) if isinstance(tests, list) else json.loads(json.dumps(tests))


def _column(tests: list[str] | dict) -> list[str] | str:
    return list(tests) if isinstance(tests, list) else json.dumps(tests, ensure_ascii=False)


def _count(tests: list[str] | dict) -> int:
    return len(tests) if isinstance(tests, list) else len(tests.get("cases") or ())


def export_row(row: DatasetRow, format: str, *, index: int, prompt: str = "question") -> dict:
    """One question as a row of `format` (one of ROW_FORMATS); `index` is its
    position in the output, from 0 (verl's `extra_info.index`); `prompt` (one of
    `acecoder.prompts.RL_PROMPTS`) what the trainers' formats ask the policy."""
    if format == "rows":
        return row_record(row)
    if format == "trl":
        return row_trl(row, prompt)
    if format == "verl":
        return row_verl(row, index, prompt)
    if format == "openrlhf":
        return row_openrlhf(row, prompt)
    raise ConfigError(f"unknown hard-subset format {format!r}: use one of {', '.join(ROW_FORMATS)}")


# ---------------------------------------------------------------- writing


def write_export(path: str | Path, rows: Iterable, *, record_type: type | None = None) -> int:
    """Write `rows` to `path` in the format its name says (see `write_records`), all
    or nothing: into a hidden sibling first, renamed into place once complete, so a
    run that fails half-way leaves no half-written file behind. An existing folder is
    replaced only when it is a datasets folder (an earlier output), never otherwise."""
    path = check_output(path)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")  # same suffix: same format
    _remove(partial)
    try:
        count = write_records(partial, rows, record_type=record_type)
    except InputError as error:
        _remove(partial)
        if error.path == str(partial):  # the file the user named, not our scratch copy of it
            raise InputError(str(error).removeprefix(f"{partial}: "), path=str(path)) from None
        raise
    except BaseException:
        _remove(partial)
        raise
    if path.is_dir() and not partial.is_dir():
        shutil.rmtree(path)
    elif partial.is_dir():
        _remove(path)
    os.replace(partial, path)
    return count


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
