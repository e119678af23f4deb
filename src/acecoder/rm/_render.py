"""How a (question, program) pair becomes the token ids a reward model reads.

Training (`acecoder train-rm`) and scoring (`RewardModel.score`, `acecoder score`,
`acecoder serve-rm`) both call `encode`, so the two cannot drift apart: the chat is
`acecoder.prompts.chat(question, tests)` (the instruction, the question and its
first test) plus one assistant turn `acecoder.prompts.program_response(program)`,
rendered by the tokenizer's chat template. A tokenizer without a template gets the
two turns joined by a blank line and its end-of-sequence token appended (what TRL's
RewardTrainer does for plain text), so the score is still read at an end marker.

The score is read at the last token of this rendering (the last non-padding token
of a padded batch).
"""

from __future__ import annotations

from collections.abc import Sequence

from acecoder.prompts import chat, program_response


def pair_messages(question: str, program: str, tests: Sequence[str] | None = None) -> list[dict]:
    """The chat a reward model scores: the user turn and the program as the answer."""
    messages = chat(question, list(tests) if tests else None)
    messages.append({"role": "assistant", "content": program_response(program)})
    return messages


def render(tokenizer, messages: list[dict]) -> str:
    """The chat as text, through the tokenizer's template if it has one."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False)
    return "\n\n".join(message["content"] for message in messages) + (tokenizer.eos_token or "")


def encode(tokenizer, messages: list[dict]) -> list[int]:
    """The token ids of `render(tokenizer, messages)`, uncut (callers decide what a
    sequence over their length limit means: training drops the pair, scoring keeps
    the end)."""
    text = render(tokenizer, messages)
    # A chat template writes its own special tokens (BOS included where the model has
    # one); plain text gets the tokenizer's usual ones.
    special = not getattr(tokenizer, "chat_template", None)
    return tokenizer(text, add_special_tokens=special)["input_ids"]
