import pytest

from acecoder.data.code import extract_code


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("def f():\n    return 1\n", "def f():\n    return 1"),
        ("Here you go:\n```python\ndef f():\n    return 1\n```\nHope it helps.", "def f():\n    return 1"),
        ("```python\nx = 1\n```\nUsage:\n```python\nprint(f())\n```", "print(f())"),
        ("```\nplain = 1\n```", "plain = 1"),
        ("```text\nnot code\n```\n```py\ncode = 2\n```", "code = 2"),
        ("Sure!\n```python\ndef f():\n    return [1,\n", "def f():\n    return [1,"),  # cut off by max tokens
        ("<think>maybe ```python\nwrong = 1\n```</think>\n```python\nright = 1\n```", "right = 1"),
        ("reasoning about it...</think>\n```python\nafter = 1\n```", "after = 1"),
        ("<think>never closed ```python\nwrong = 1\n```", ""),
        ("```Python\nupper = 1\n```", "upper = 1"),
    ],
)
def test_extract_code(completion, expected):
    assert extract_code(completion) == expected


def test_longest_block():
    text = "```python\nshort = 1\n```\n```python\nlonger = 1\nlonger += 1\n```\n```python\nx = 2\n```"
    assert extract_code(text, pick="longest") == "longer = 1\nlonger += 1"
    assert extract_code(text, pick="last") == "x = 2"
