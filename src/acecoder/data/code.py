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
