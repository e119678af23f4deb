"""The synthesis prompt (§2 of the method, in our own words): one chat request per seed.

The model sees the seed's instruction (when it has one) and its program, and answers
with one JSON object `{"question": "...", "tests": ["assert ...", ...]}`.

Templates are plain text with two placeholders, `{instruction}` and `{code}`, replaced
literally (any other brace is kept as written, so JSON examples need no escaping). A
template file holds one template, or two separated by a line that is exactly

    ===== without instruction =====

the first for seeds with an instruction (Evol, OSS), the second for bare functions
(Stack). With one template, seeds without an instruction get it too, with
`{instruction}` replaced by an empty string. `{code}` is required in each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from acecoder.errors import ConfigError
from acecoder.llm import ChatRequest
from acecoder.synth.seeds import Seed

SEPARATOR = "===== without instruction ====="
_PLACEHOLDER = re.compile(r"\{(instruction|code)\}")

_RULES = """\
Write two things.

1. "question": a programming problem in the style of LeetCode that a programmer can \
solve by writing a single Python function. It must stand on its own: give the function's \
name and parameters, say exactly what each input is and what the function must return, \
and cover edge cases the tests check. It must not rely on anything outside the function \
(no files, network, databases, user input or third-party packages), must not talk about \
time or space complexity, and must not contain test cases or asserts. {reuse}

2. "tests": about 20 test cases for a correct solution of that question. Each one is a \
single Python `assert` statement that calls the function with constant arguments and \
compares the result with a constant expected value: \
"assert <the function of the question>(<constant arguments>) == <the expected result>". \
Every test must run on its own, with no setup, no \
shared variables, no imports and no printing. Cover typical inputs, edge cases and larger \
inputs; do not repeat a test.

Reply with one JSON object and nothing else:
{"question": "<the problem statement>", "tests": ["assert ...", "assert ...", ...]}
"""

WITH_INSTRUCTION = (
    "Below is a programming task and a Python program that solves it.\n\n"
    "### Task\n{instruction}\n\n"
    "### Program\n```python\n{code}\n```\n\n"
    + _RULES.replace("{reuse}", "You may reuse the task's wording where it fits.")
)

WITHOUT_INSTRUCTION = (
    "Below is a Python function taken from a real code base, without its documentation.\n\n"
    "### Program\n```python\n{code}\n```\n\n"
    + _RULES.replace(
        "{reuse}",
        "Base the problem on what the program does; you may rename things so the problem "
        "reads naturally, as long as the tests use the same names as the question.",
    )
)


@dataclass(slots=True, frozen=True)
class Templates:
    """The prompt for seeds with an instruction, and the one for seeds without."""

    with_instruction: str = WITH_INSTRUCTION
    without_instruction: str = WITHOUT_INSTRUCTION


def load_templates(path: str | Path | None = None) -> Templates:
    """The built-in templates, or those of a template file (see the module's docstring)."""
    if path is None:
        return Templates()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"template {path}: cannot read it ({error.strerror})") from None
    lines = text.splitlines(keepends=True)
    marks = [i for i, line in enumerate(lines) if line.strip() == SEPARATOR]
    if len(marks) > 1:
        raise ConfigError(f"template {path}: the line {SEPARATOR!r} may appear once, not {len(marks)} times")
    if marks:
        first, second = "".join(lines[: marks[0]]).strip("\n"), "".join(lines[marks[0] + 1 :]).strip("\n")
    else:
        first = second = text.strip("\n")
    for name, template in (("the first template", first), ("the template without instruction", second)):
        if "{code}" not in template:
            raise ConfigError(f"template {path}: {name} has no {{code}} placeholder (where the seed's program goes)")
    return Templates(with_instruction=first, without_instruction=second)


def render(seed: Seed, templates: Templates = Templates()) -> str:
    """The user message for one seed."""
    template = templates.with_instruction if seed.instruction else templates.without_instruction
    values = {"instruction": seed.instruction or "", "code": seed.code}
    # one pass, so a program or instruction that contains "{code}" stays as it is
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def build_request(
    seed: Seed,
    templates: Templates = Templates(),
    *,
    temperature: float = 0.7,
    max_tokens: int = 2048,
    json_mode: bool = True,
    sampling_seed: int | None = None,
) -> ChatRequest:
    """One request per seed; 0.7 is the paper's temperature (§2). `sampling_seed`: the
    server's sampling seed for it (the same answers again on the same server build)."""
    return ChatRequest(
        messages=({"role": "user", "content": render(seed, templates)},),
        n=1,
        temperature=temperature,
        max_tokens=max_tokens,
        json_mode=json_mode,
        seed=sampling_seed,
    )


# The answer's shape as a JSON schema. llama.cpp's server turns a `schema` in
# `response_format` into a grammar, so even a 0.5B model answers with a question and a
# list of strings (unconstrained, small models wrap tests in lists or {"input",
# "expected"} objects). Its own extension of the OpenAI field, hence only for llama.cpp.
# Lengths keep a small model from filling its tokens with empty strings, and from an
# endless list (25: the method asks for about 20).
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 20},
        "tests": {"type": "array", "minItems": 5, "maxItems": 25, "items": {"type": "string", "minLength": 10}},
    },
    "required": ["question", "tests"],
}
LLAMA_CPP_JSON = {"response_format": {"type": "json_object", "schema": ANSWER_SCHEMA}}
