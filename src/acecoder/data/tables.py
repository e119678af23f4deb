"""Files of records in the formats the ecosystem uses, chosen by the path:

- `*.jsonl`: one JSON object per line (what every stage writes by default);
- `*.parquet`: one row per record (pyarrow);
- any other path: a Hugging Face `datasets` folder (`save_to_disk` / `load_from_disk`);
- `hf:OWNER/NAME[:SPLIT]` (reading only): a dataset from the hub or its local cache,
  e.g. the released `hf:TIGER-Lab/AceCode-87K:train`.

Every row is validated into its record type on the way in; a bad one names its file
and line (or row), and is skipped, counted, when not strict.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.data.streams import chunks
from acecoder.errors import ConfigError, InputError

R = TypeVar("R")


def read_records(
    path: str | Path,
    record_type: type[R],
    *,
    strict: bool = True,
    skipped: list | None = None,
    unique: str | None = None,
    allow_empty: bool = False,
    check: Callable[[R], object] | None = None,
) -> Iterator[R]:
    """Yield `record_type` records from `path`; bad rows raise, or with `strict=False`
    are appended to `skipped` as InputErrors and passed over. With `unique` (a field
    name), a row repeating an earlier row's value of it is a bad row too, and so is one
    `check(record)` raises an InputError for (a field that must also parse, say).

    Read to its end, a file with no usable row is an InputError naming the first problem
    (an empty file too, unless `allow_empty`), and so is one whose bad rows are more than
    `max_bad_fraction()` of its rows: a wrong file (samples given for questions, the two
    inputs swapped, binary garbage) stops the command instead of giving an empty output."""
    adapter = _adapter(record_type)
    bad_lines = None if strict else (skipped if skipped is not None else [])
    bad_before = len(bad_lines) if bad_lines is not None else 0
    first_seen: dict = {}
    good = 0
    for where, row in _rows(str(path), bad_lines):
        try:
            record = adapter.validate_python(row)
            if check is not None:
                check(record)
        except InputError as error:  # from `check`: its message, with the file and line
            problem = InputError(str(error), path=str(path), line=where)
        except Exception as error:  # pydantic's ValidationError, with every bad field
            problem = InputError(_explain(error), path=str(path), line=where)
        else:
            key = getattr(record, unique) if unique else None
            if key is None or key not in first_seen:
                if unique:
                    first_seen[key] = where
                good += 1
                yield record
                continue
            problem = InputError(
                f"{unique} {key!r} also on line {first_seen[key]}: {unique}s must be unique",
                path=str(path),
                line=where,
            )
        if strict:
            raise problem
        bad_lines.append(problem)
    bad = bad_lines[bad_before:] if bad_lines is not None else []
    check_usable(str(path), good, bad, allow_empty=allow_empty)


def max_bad_fraction() -> float:
    """The share of bad rows a file may have: ACECODER_MAX_BAD_FRACTION, else 0.5 (the
    `acecoder --max-bad-fraction` option sets it for one command)."""
    import os

    try:
        return min(1.0, max(0.0, float(os.environ.get("ACECODER_MAX_BAD_FRACTION", "0.5"))))
    except ValueError:
        raise ConfigError("ACECODER_MAX_BAD_FRACTION: give a share in [0, 1], e.g. 0.5") from None


def check_usable(path: str, good: int, bad: list, *, allow_empty: bool = False, dropped: dict | None = None) -> None:
    """The end-of-file checks of `read_records`, for readers of their own: `good` rows
    used, `bad` the InputErrors of malformed ones, `dropped` rows passed over by rule."""
    if good == 0 and (bad or not allow_empty):
        if bad:
            detail = f"{len(bad)} bad, the first: {bad[0]}"
        elif dropped:
            detail = "every row was dropped: " + ", ".join(f"{reason} {n}" for reason, n in sorted(dropped.items()))
        else:
            detail = "the file has no rows"
        raise InputError(f"no usable row ({detail})", path=path)
    limit = max_bad_fraction()
    if bad and len(bad) > limit * (good + len(bad)):
        raise InputError(
            f"{len(bad)} of {good + len(bad)} rows are bad, more than --max-bad-fraction {limit:g} allows "
            f"(the first: {bad[0]}): is it the right file?",
            path=path,
        )


def write_records(path: str | Path, records: Iterable, *, record_type: type | None = None) -> int:
    """Write records (dataclasses or dicts) to `path` in the format its name says.

    `record_type` names the columns when there may be no record at all, so that an
    empty Parquet file or datasets folder still reads back (as nothing).
    """
    rows = (dataclasses.asdict(r) if dataclasses.is_dataclass(r) else r for r in records)
    path = Path(path)
    if path.suffix == ".jsonl":
        count = 0
        with JsonlWriter(path) as writer:
            for row in rows:
                writer.write(row)
                count += 1
        return count
    path.parent.mkdir(parents=True, exist_ok=True)
    # A table's schema must be known before its first row group: the rows go to a JSON-lines
    # file aside first, then into the table a chunk at a time under one schema unified over
    # every chunk (a column empty in the first chunk still gets its type), so memory holds
    # a chunk, never the dataset.
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.rows-", dir=path.parent) as scratch:
        lines = Path(scratch) / "rows.jsonl"
        count = write_records(lines, rows)
        table = path if path.suffix == ".parquet" else Path(scratch) / "rows.parquet"
        _write_parquet(table, lines, record_type)
        if path.suffix != ".parquet":
            _save_datasets_folder(path, table if count else None, cache=Path(scratch) / "cache", record_type=record_type)
    return count


TABLE_CHUNK = 4096  # rows per piece written to a table


def _write_parquet(path: Path, lines: Path, record_type: type | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def pieces():
        return chunks((row for _, row in read_jsonl(lines)), TABLE_CHUNK)

    schema = None
    for piece in pieces():
        try:
            found = pa.Table.from_pylist(piece).schema
            schema = found if schema is None else pa.unify_schemas([schema, found], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise InputError(f"the rows cannot share one table schema ({error}){_mixed(piece)}: write .jsonl, "
                             "which holds any mix, or one file per layout", path=str(path)) from None
    if schema is None:  # an empty table still needs a column to read back
        schema = pa.schema([(column, pa.null()) for column in _columns(record_type)])
    with pq.ParquetWriter(path, schema) as writer:
        for piece in pieces():
            writer.write_table(pa.Table.from_pylist(piece, schema=schema))


def _mixed(rows: list[dict]) -> str:
    """Which column mixes lists with objects or plain values (a table column has one type):
    in acecoder's records, tests that are asserts in some rows and a suite of another kind
    (`TestSuite.to_dict()`) in others."""
    shapes: dict[str, set] = {}
    for row in rows:
        for column, value in row.items():
            if value is not None:
                shapes.setdefault(column, set()).add(type(value).__name__)
    mixed = [column for column, found in shapes.items() if "list" in found and len(found) > 1]
    return f"; column {mixed[0]!r} holds both lists and {', '.join(sorted(shapes[mixed[0]] - {'list'}))}" if mixed else ""


def _save_datasets_folder(path: Path, parquet: Path | None, *, cache: Path, record_type: type | None) -> None:
    """From the Parquet file written aside (None: no rows), read back memory-mapped."""
    import datasets

    datasets.disable_progress_bars()  # our own bar is the one on screen
    try:
        if parquet is None:
            table = datasets.Dataset.from_dict({column: [] for column in _columns(record_type)})
        else:
            table = datasets.Dataset.from_parquet(str(parquet), cache_dir=str(cache), keep_in_memory=False)
        table.save_to_disk(str(path), num_shards=1)  # one (maybe empty) shard: load_from_disk needs one
    finally:
        datasets.enable_progress_bars()


def _columns(record_type: type | None) -> list[str]:
    return [f.name for f in dataclasses.fields(record_type)] if record_type else ["id"]


def check_output(path: str | Path, *inputs: str | Path) -> Path:
    """The output path, refused when writing it could destroy something: an input, a
    folder that is not a datasets folder written earlier, or a name like '.' or '..'."""
    path = Path(path)
    if path.name in ("", ".", "..") or str(path).endswith(("/", "/.", "/..")):
        raise ConfigError(f"output {str(path)!r}: name a file or a new folder")
    resolved = path.resolve()
    for source in inputs:
        if not str(source).startswith("hf:") and Path(source).resolve() == resolved:
            raise ConfigError(f"output {path} is also an input: write somewhere else")
    if path.is_dir() and not any((path / marker).exists() for marker in ("state.json", "dataset_info.json")):
        raise ConfigError(f"output {path} is a folder that is not a datasets folder: it would be replaced")
    return path


def require(module: str, why: str) -> None:
    """Fail before any work when an optional package is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{why} needs the '{module}' package: pip install 'acecoder[data]'")


def require_for(path: str | Path) -> None:
    """The packages writing `path` will need (JSONL needs none)."""
    if not str(path).endswith(".jsonl"):
        require("pyarrow", f"writing {path}")
        if not str(path).endswith(".parquet"):
            require("datasets", f"writing {path} as a datasets folder")


def _rows(path: str, bad_lines: list | None) -> Iterator[tuple[int, dict]]:
    """(line or row number from 1, row) from any of the formats."""
    if path.startswith("hf:"):
        import datasets

        name, _, split = path[3:].partition(":")
        try:
            table = datasets.load_dataset(name, split=split or "train")
        except Exception as error:
            raise InputError(f"cannot load the dataset: {error}", path=path) from None
        yield from enumerate(table, start=1)
    elif path.endswith(".jsonl"):
        yield from read_jsonl(path, bad_lines=bad_lines)
    elif path.endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=1024)
        except OSError as error:
            raise InputError(f"cannot read as parquet: {error}", path=path) from None
        number = 0
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                yield number, row
    else:
        import datasets

        if not Path(path).is_dir():
            raise InputError("no such file or dataset folder (.jsonl, .parquet or a datasets folder)", path=path)
        try:
            table = datasets.load_from_disk(path)
        except Exception as error:
            raise InputError(f"not a datasets folder: {error}", path=path) from None
        if isinstance(table, datasets.DatasetDict):
            raise InputError(f"holds several splits ({', '.join(table)}): name one, e.g. {path}/train", path=path)
        yield from enumerate(table, start=1)


@functools.cache
def _adapter(record_type):
    from pydantic import TypeAdapter

    return TypeAdapter(record_type)


def _explain(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error)
    parts, members = [], {}
    for item in errors():
        loc = item["loc"]
        # A union's members ('list[str]', 'dict[any,any]') appear in the location: say what the
        # first member wanted (a list of asserts, for `tests`), and leave the member out of the name.
        tag = next((k for k, p in enumerate(loc) if not (isinstance(p, int) or str(p).isidentifier())), None)
        if tag is not None and members.setdefault(loc[:tag], loc[tag]) != loc[tag]:
            continue
        field = ".".join(str(p) for k, p in enumerate(loc) if k != tag) or "row"
        parts.append(f"field '{field}': {item['msg'].lower()}")
    return "; ".join(parts[:3])
