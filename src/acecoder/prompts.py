"""The prompt styles of the project: a question shown to a model, and a program shown
as its answer.

Sampling, preference pairs, reward-model training and reward-model scoring all render
through these functions (and `acecoder.rm.encode` for token ids), so what a reward
model is trained on and what it scores cannot drift apart. Two styles:

- `acecoder` (ours): the instruction, the question and its first test (more would
  give the answers away) in the user turn; the program in a fenced block after a
  short sentence.
- `acecodepair`: the released AceCodePair-300K's wording, byte for byte as AceCoder's
  `data/acecode_pair_300k/convert_dataset_for_llama_factory.py` writes it: the
  instruction, then the question and its first test inside a `\"\"\"` block in a bare
  fence; the answer sentence, then the fenced program. The released AceCodeRM was
  trained on it with LLaMA-Factory's `qwen` template, whose default system prompt at
  the commit AceCoder trained with (a417bcf8, 0.9.2.dev0) is ACECODEPAIR_SYSTEM (later
  versions changed it): `chat` puts it in as a system turn.

A reward model records its style in its `config.json` (`acecoder_prompt_style`), and
scoring uses it.
"""

from __future__ import annotations

import re

from acecoder.errors import ConfigError

STYLES = ("acecoder", "acecodepair")

INSTRUCTION = (
    "Solve the following problem in Python. Write a complete, self-contained program "
    "in a single ```python code block."
)
ACECODEPAIR_INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
ACECODEPAIR_ANSWER = (
    "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"
)
ACECODEPAIR_SYSTEM = "You are a helpful assistant."
EXAMPLE_LINE = "Your code should pass this test:"  # before the first test, shown as an example
TURN_ENDS = ("<|im_end|>", "<|eot_id|>")  # ChatML's (Qwen, SmolLM) and Llama 3's end of a turn


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ConfigError(f"prompt style {style!r}: use one of {', '.join(STYLES)}")
    return style


def question_prompt(question: str, tests: list[str] | dict | None = None, *, style: str = "acecoder") -> str:
    """The user turn: the instruction, the question, and its first test as an example.

    Only an assert is shown: a suite of another kind (stdin/stdout, pytest; a dict) is
    not code to paste after the program, and its question says how it is called."""
    example = tests[0].strip() if isinstance(tests, list) and tests else None
    if check_style(style) == "acecodepair":
        block = f'"""\n{question}\n{example}\n"""\n' if example is not None else f'"""\n{question}\n"""\n'
        return f"{ACECODEPAIR_INSTRUCTION}\n```\n{block}\n```\n"
    parts = [INSTRUCTION, "", question.strip()]
    if example is not None:
        parts += ["", EXAMPLE_LINE, "", example]
    return "\n".join(parts)


def program_response(program: str, *, style: str = "acecoder") -> str:
    """The assistant turn: the program in a fenced block after a short sentence."""
    if check_style(style) == "acecodepair":
        return f"{ACECODEPAIR_ANSWER}\n```python\n{program.strip()}\n```"
    return f"Here is a solution:\n```python\n{program.strip()}\n```"


def chat(question: str, tests: list[str] | dict | None = None, *, style: str = "acecoder") -> list[dict]:
    """The prompt as chat messages, for trainers and chat templates."""
    user = {"role": "user", "content": question_prompt(question, tests, style=style)}
    if style == "acecodepair":
        return [{"role": "system", "content": ACECODEPAIR_SYSTEM}, user]
    return [user]


# RL prompts: the method's is the bare question (the released AceCode-87K's
# `context_messages`); `acecoder` and `acecodepair` are those styles' user turns (with
# the first test).
RL_PROMPTS = ("question", "acecoder", "acecodepair")


def rl_prompt(question: str, tests: list[str] | dict | None = None, *, prompt: str = "question") -> list[dict]:
    """The messages a policy is asked in RL, as `prompt` (one of RL_PROMPTS) says."""
    if prompt == "question":
        return [{"role": "user", "content": question}]
    if prompt in STYLES:
        return chat(question, tests, style=prompt)
    raise ConfigError(f"RL prompt {prompt!r}: use one of {', '.join(RL_PROMPTS)}")


_PAIR_BLOCK = re.compile(re.escape(ACECODEPAIR_INSTRUCTION) + r'\n```\n"""\n(.*?)\n"""\n', re.S)


def acecodepair_parts(text: str) -> tuple[str, str | None] | None:
    """(question, the test shown or None) of the last `acecodepair` user turn inside
    `text` (a chat-templated string, say), or None when there is none: what a server
    receiving rendered prompts recovers them by."""
    found = list(_PAIR_BLOCK.finditer(text))
    if not found:
        return None
    inner = found[-1].group(1)
    question, _, last = inner.rpartition("\n")
    if question and last.lstrip().startswith("assert"):
        return question, last.strip()
    return inner, None


def question_of(text: str, turn_ends=TURN_ENDS) -> tuple[str, str]:
    """(question, the example test shown or "") of the last prompt `question_prompt` wrote
    inside `text`, in either style, a chat-templated string or the plain user turn: what
    follows the instruction, up to the example test or the end of the user turn (the
    first of `turn_ends` after it). Text without the instruction is returned whole."""
    start = text.rfind(INSTRUCTION)
    if text.rfind(ACECODEPAIR_INSTRUCTION) > start and (parts := acecodepair_parts(text)) is not None:
        return parts[0].strip(), (parts[1] or "").strip()
    if start < 0:
        return text.strip(), ""
    body = text[start + len(INSTRUCTION):]
    ends = [i for i in (body.find(end) for end in turn_ends if end) if i >= 0]
    question, _, shown = body[: min(ends)].partition(EXAMPLE_LINE) if ends else body.partition(EXAMPLE_LINE)
    return question.strip(), shown.strip()
