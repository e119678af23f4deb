"""Pull the program out of what a language model wrote.

Models wrap code in chat: a preamble, several fenced blocks (the solution, an
example, a test), an unterminated fence when generation hit its token limit, and
reasoning in <think> tags. We drop the reasoning, prefer blocks tagged python over
untagged ones, and take the last (the usual final answer) or the longest block.
"""

from __future__ import annotations

import re
from typing import Literal

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
_PYTHON_TAGS = {"python", "py", "python3"}


def extract_code(text: str, *, pick: Literal["last", "longest"] = "last") -> str:
    """The program in a completion: a fenced python block, else the whole text."""
    text = _THINK.sub("", text)
    if "</think>" in text:  # the opening tag was in the prompt: keep what follows the reasoning
        text = text.rsplit("</think>", 1)[1]
    blocks = [(tag.lower(), body) for tag, body in _FENCE.findall(text)]
    candidates = [body for tag, body in blocks if tag in _PYTHON_TAGS] or [
        body for tag, body in blocks if not tag
    ]
    if not candidates:
        return text.strip("\n")
    chosen = candidates[-1] if pick == "last" else max(candidates, key=len)
    return chosen.strip("\n")


def strip_test_code(program: str) -> str:
    """The program without the checks models append to it: top-level `assert`s, `print`
    calls and `if __name__ == "__main__":` blocks.

    Small models often end a solution with their own (sometimes wrong) asserts or a demo
    that prints; run at load time, one failing line loses every test of the program. The
    method cut the completion at the first "assert" or "if __name__" (§3); this removes
    just those statements, keeping any definition that follows them. A program that does
    not parse is returned as it is (its syntax error is the verdict).
    """
    import ast

    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return program
    drop = [node for node in tree.body if _is_test_code(node)]
    if not drop:
        return program
    lines = program.splitlines(keepends=True)
    for node in reversed(drop):  # from the end, so earlier line numbers stay valid
        start = node.lineno - 1 - len(getattr(node, "decorator_list", ()))
        del lines[start : node.end_lineno]
    return "".join(lines).rstrip("\n") + "\n"


def _is_test_code(node) -> bool:
    import ast

    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        return isinstance(func, ast.Name) and func.id == "print"
    if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
        left = node.test.left
        return isinstance(left, ast.Name) and left.id == "__name__"
    return False
