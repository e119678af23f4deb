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


def test_strip_test_code_drops_the_checks_models_append_and_keeps_definitions():
    from acecoder.data.code import strip_test_code

    program = (
        "import math\n\n"
        "def area(r):\n    assert r >= 0  # inside a function: kept\n    return math.pi * r * r\n\n"
        "assert area(1) == 3  # a wrong check\n"
        "print(area(2))\n"
        "def helper(x):\n    return x\n\n"
        "if __name__ == '__main__':\n    print(helper(1))\n    assert False\n"
    )
    stripped = strip_test_code(program)
    assert stripped == (
        "import math\n\n"
        "def area(r):\n    assert r >= 0  # inside a function: kept\n    return math.pi * r * r\n\n"
        "def helper(x):\n    return x\n\n"
    ).rstrip("\n") + "\n"
    assert strip_test_code("def f(:\n  pass\nassert f()\n") == "def f(:\n  pass\nassert f()\n"  # unparsable: as is
    assert strip_test_code("x = 1\n") == "x = 1\n"
    assert strip_test_code("print((lambda: 1)())\n") == "\n"
