import json

import pytest

from acecoder.data.jsonl import JsonlWriter, read_jsonl
from acecoder.errors import InputError


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2,}\n')
    rows = read_jsonl(path)
    assert next(rows) == (1, {"id": 1})
    with pytest.raises(InputError, match=r"in\.jsonl:3: not valid JSON"):
        next(rows)


def test_non_object_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(InputError, match=r":1: each line must be a JSON object"):
        list(read_jsonl(path))


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        list(read_jsonl(tmp_path / "nope.jsonl"))


def test_resume_cuts_a_torn_line_and_knows_what_is_done(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps({"id": "a"}) + "\n" + '{"id": "b", "sta')
    with JsonlWriter(path, resume=True) as writer:
        assert writer.done == {"a"}
        writer.write({"id": "b"})
    assert [row["id"] for _, row in read_jsonl(path)] == ["a", "b"]


def test_without_resume_the_file_starts_over(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps({"id": "old"}) + "\n")
    with JsonlWriter(path) as writer:
        assert writer.done == set()
        writer.write({"id": "new"})
    assert [row["id"] for _, row in read_jsonl(path)] == ["new"]
