"""How a (question, program) pair becomes the token ids a reward model reads.

Training (`acecoder train-rm`) and scoring (`RewardModel.score`, `acecoder score`,
`acecoder serve-rm`, best-of-N, RL's model reward) all call `encode`, so the two
cannot drift apart. The chat is `acecoder.prompts.chat(question, tests, style=...)`
plus one assistant turn `acecoder.prompts.program_response(program, style=...)`.

- style `acecoder`: rendered by the tokenizer's chat template. A tokenizer without a
  template gets the two turns joined by a blank line and its end-of-sequence token
  appended (what TRL's RewardTrainer does for plain text), so the score is still read
  at an end marker.
- style `acecodepair`: rendered as LLaMA-Factory's `qwen` template renders a ranking
  example, which is what the released AceCodeRM was trained on: each turn's slot
  (`<|im_start|>system\\n...<|im_end|>\\n`, `<|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n`,
  `...<|im_end|>\\n`) tokenized on its own without special tokens and the pieces
  joined, as its `Template.encode_oneturn` does (checked against LLaMA-Factory 0.9.5's
  own code in tests/upstream).

The score is read at the last token of this rendering (the last non-padding token
of a padded batch).
"""

from __future__ import annotations

from collections.abc import Sequence

from acecoder.prompts import chat, check_style, program_response

# LLaMA-Factory's `qwen` template: the text around each turn's content.
_QWEN_SLOTS = {
    "system": "<|im_start|>system\n{}<|im_end|>\n",
    "user": "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n",
    "assistant": "{}<|im_end|>\n",
}


def pair_messages(question: str, program: str, tests: Sequence[str] | None = None, *,
                  style: str = "acecoder") -> list[dict]:
    """The chat a reward model scores: the prompt and the program as the answer."""
    messages = chat(question, list(tests) if tests else None, style=style)
    messages.append({"role": "assistant", "content": program_response(program, style=style)})
    return messages


def _pieces(messages: list[dict]) -> list[str]:
    return [_QWEN_SLOTS[message["role"]].format(message["content"]) for message in messages]


def render(tokenizer, messages: list[dict], *, style: str = "acecoder") -> str:
    """The chat as text, as the style renders it."""
    if check_style(style) == "acecodepair":
        return "".join(_pieces(messages))
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False)
    return "\n\n".join(message["content"] for message in messages) + (tokenizer.eos_token or "")


def encode(tokenizer, messages: list[dict], *, style: str = "acecoder") -> list[int]:
    """The token ids of `render(tokenizer, messages, style=style)`, uncut (callers decide
    what a sequence over their length limit means: training drops the pair, scoring
    keeps the end)."""
    if check_style(style) == "acecodepair":
        return [token for piece in _pieces(messages) for token in tokenizer.encode(piece, add_special_tokens=False)]
    text = render(tokenizer, messages)
    # A chat template writes its own special tokens (BOS included where the model has
    # one); plain text gets the tokenizer's usual ones.
    special = not getattr(tokenizer, "chat_template", None)
    return tokenizer(text, add_special_tokens=special)["input_ids"]
