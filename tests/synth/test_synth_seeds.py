"""Seed preparation (method §1) and reading seeds from files."""

import json
from collections import Counter

import pytest

from acecoder.errors import ConfigError, InputError
from acecoder.synth.seeds import Seed, SeedDrop, first_python_block, iter_seeds, prepare_seed

FUNCTION = "def area(w, h):\n    return w * h"
STACK = "def flatten(items):\n    out = []\n    for item in items:\n        out.extend(item if isinstance(item, list) else [item])\n    return out\n"


def response(code: str, tag: str = "python") -> str:
    return f"Here you go:\n```{tag}\n{code}\n```\nAnd a second block:\n```python\nother()\n```"


def test_evol_takes_the_first_python_block_and_drops_print_lines():
    code = FUNCTION + "\nprint(area(2, 3))\n    print_me = 1"
    seed = prepare_seed({"instruction": "Compute an area. ", "response": response(code)}, 4)
    assert seed == Seed(id="evol_4", source="evol", instruction="Compute an area.", code=FUNCTION + "\n    print_me = 1")


def test_first_python_block_ignores_other_languages_and_untagged_blocks():
    text = "```js\nfunction f() {}\n```\n```\nnot tagged\n```\n```Python\nx = 1\n```"
    assert first_python_block(text) == "x = 1\n"
    assert first_python_block("```python\ndef f():\n    pass") == "def f():\n    pass"  # unterminated
    assert first_python_block("no code") is None


@pytest.mark.parametrize(
    ("row", "drop"),
    [
        ({"instruction": "i", "response": "no fence at all"}, SeedDrop.NO_CODE_BLOCK),
        ({"instruction": "i", "response": "```js\nfunction f() {}\n```"}, SeedDrop.NO_CODE_BLOCK),
        ({"instruction": "i", "response": response("x = [1, 2]\nsum(x)")}, SeedDrop.NO_FUNCTION),
        ({"instruction": "i", "response": response("print('def hello')")}, SeedDrop.EMPTY_CODE),
        ({"lang": "rust", "problem": "i", "solution": response(FUNCTION)}, SeedDrop.NOT_PYTHON),
        ({"content": "def f(): return 1"}, SeedDrop.TOO_SHORT),
    ],
)
def test_drops(row, drop):
    assert prepare_seed(row, 0) is drop


def test_oss_keeps_code_without_functions_and_uses_problem_solution():
    row = {"lang": "python", "problem": "Sum a list.", "solution": response("total = sum([1, 2])")}
    assert prepare_seed(row, 7) == Seed(id="oss_7", source="oss", instruction="Sum a list.", code="total = sum([1, 2])")


def test_stack_row_ids_and_forced_family():
    assert prepare_seed({"content": STACK}, 2) == Seed(id="stack_2", source="stack", instruction=None, code=STACK.strip("\n"))
    assert prepare_seed({"content": STACK, "id": 99}, 2).id == "99"
    row = {"instruction": "i", "response": response("total = 1")}
    assert prepare_seed(row, 0, source="oss").source == "oss"  # no def/class needed for oss
    assert prepare_seed(dict(row, source="oss"), 0).source == "oss"  # the row's own source field
    with pytest.raises(InputError, match="fits no seed family"):
        prepare_seed({"text": "x"}, 0)


def test_iter_seeds_counts_drops_and_skips_bad_rows(tmp_path):
    path = tmp_path / "seeds.jsonl"
    lines = [
        json.dumps({"instruction": "Area.", "response": response(FUNCTION)}),
        "{not json",
        json.dumps({"instruction": "Nothing.", "response": "none"}),
        json.dumps({"unrelated": 1}),
        json.dumps({"content": STACK}),
        json.dumps({"content": STACK, "id": "evol_0"}),  # the id of line 1
    ]
    path.write_text("\n".join(lines) + "\n")
    drops, skipped = Counter(), []
    seeds = list(iter_seeds(path, drops=drops, skipped=skipped))
    assert [seed.id for seed in seeds] == ["evol_0", "stack_4"]
    assert drops == {SeedDrop.BAD_ROW: 2, SeedDrop.NO_CODE_BLOCK: 1, SeedDrop.DUPLICATE_ID: 1}
    assert [problem.line for problem in skipped] == [2, 4]
    with pytest.raises(InputError, match=r"seeds.jsonl:2: "):
        list(iter_seeds(path, strict=True))
    assert [seed.id for seed in iter_seeds(path, limit=1)] == ["evol_0"]
    with pytest.raises(ConfigError, match="source must be"):
        list(iter_seeds(path, source="github"))


def test_iter_seeds_reads_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    from acecoder.data.tables import write_records

    path = tmp_path / "seeds.parquet"
    write_records(path, [{"lang": "python", "problem": "p", "solution": response(FUNCTION)}, {"lang": "c", "problem": "q", "solution": "x"}])
    drops = Counter()
    assert [seed.id for seed in iter_seeds(path, drops=drops)] == ["oss_0"]
    assert drops == {SeedDrop.NOT_PYTHON: 1}


def test_a_benchmark_as_seeds_gives_its_prompts_and_reference_programs():
    """benchmark:mbpp+ (shipped): each task's prompt as the instruction, its reference as the code."""
    seeds = list(iter_seeds("benchmark:mbpp+", limit=3))
    assert [seed.id for seed in seeds] == ["Mbpp/2", "Mbpp/3", "Mbpp/4"]
    first = seeds[0]
    assert first.source == "evol" and "similar_elements" in first.instruction and "assert" in first.instruction
    assert "def similar_elements" in first.code and "```" not in first.code
    with pytest.raises(ConfigError, match="reference programs"):
        list(iter_seeds("benchmark:livecodebench"))
