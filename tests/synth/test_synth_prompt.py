"""The synthesis prompt and its template files."""

import pytest

import acecoder.synth
from acecoder.errors import ConfigError
from acecoder.synth.prompt import SEPARATOR, Templates, build_request, load_templates, render
from acecoder.synth.seeds import Seed

WITH = Seed(id="evol_0", source="evol", instruction="Compute the area of a rectangle.", code="def area(w, h):\n    return w * h")
WITHOUT = Seed(id="stack_0", source="stack", instruction=None, code="def mystery(s):\n    return s[::-1]")


def test_default_prompt_asks_for_the_method_contents():
    text = render(WITH)
    assert "Compute the area of a rectangle." in text and "def area(w, h):" in text
    for phrase in ("LeetCode", "single Python function", "complexity", "about 20", "assert", '"question"', '"tests"'):
        assert phrase in text
    assert "{instruction}" not in text and "{code}" not in text


def test_variant_without_instruction():
    text = render(WITHOUT)
    assert "def mystery(s):" in text and "without its documentation" in text and "### Task" not in text


def test_request():
    request = build_request(WITH, temperature=0.7, max_tokens=512)
    assert request.json_mode and request.n == 1 and request.temperature == 0.7 and request.max_tokens == 512
    assert request.messages == ({"role": "user", "content": render(WITH)},)
    assert not build_request(WITH, json_mode=False).json_mode


def test_template_file_with_two_variants(tmp_path):
    path = tmp_path / "prompt.txt"
    path.write_text(f'Task: {{instruction}}\nCode: {{code}}\nAnswer {{"question": ...}}\n{SEPARATOR}\nOnly code: {{code}}\n')
    templates = load_templates(path)
    assert render(WITH, templates) == f'Task: {WITH.instruction}\nCode: {WITH.code}\nAnswer {{"question": ...}}'
    assert render(WITHOUT, templates) == f"Only code: {WITHOUT.code}"


def test_single_template_serves_both_and_placeholders_are_replaced_once(tmp_path):
    path = tmp_path / "prompt.txt"
    path.write_text("[{instruction}] {code}")
    templates = load_templates(path)
    assert render(WITHOUT, templates) == f"[] {WITHOUT.code}"
    tricky = Seed(id="x", source="evol", instruction="use {code} here", code="s = '{instruction}'")
    assert render(tricky, templates) == "[use {code} here] s = '{instruction}'"


def test_bad_template_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_templates(tmp_path / "missing.txt")
    (tmp_path / "a.txt").write_text("no placeholder")
    with pytest.raises(ConfigError, match="no {code} placeholder"):
        load_templates(tmp_path / "a.txt")
    (tmp_path / "b.txt").write_text(f"{{code}}\n{SEPARATOR}\n{{code}}\n{SEPARATOR}\n{{code}}")
    with pytest.raises(ConfigError, match="once"):
        load_templates(tmp_path / "b.txt")
    assert load_templates(None) == Templates()


def test_public_names():
    assert set(acecoder.synth.__all__) == {name for name in dir(acecoder.synth) if not name.startswith("_")} - {
        "expected",
        "parse",
        "prompt",
        "seeds",
    }
