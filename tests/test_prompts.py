"""The prompt the project writes, and the one parser that reads it back."""

import pytest

from acecoder.prompts import STYLES, question_of, question_prompt

QUESTION = "Write add(a, b).\n\nIt returns the sum of a and b."
TESTS = ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]


def chatml(user: str) -> str:
    return f"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def llama3(user: str) -> str:
    return f"<|start_header_id|>user<|end_header_id|>\n\n{user}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("render", [str, chatml, llama3], ids=["plain", "chatml", "llama3"])
@pytest.mark.parametrize("tests", [TESTS, None], ids=["with-example", "without"])
def test_the_question_and_its_example_come_back(style, render, tests):
    text = render(question_prompt(QUESTION, tests, style=style))
    assert question_of(text) == (QUESTION, TESTS[0] if tests else "")


def test_the_last_prompt_of_a_conversation_is_read():
    first = chatml(question_prompt("Write sub(a, b).", ["assert sub(2, 1) == 1"]))
    assert question_of(first + chatml(question_prompt(QUESTION, TESTS))) == (QUESTION, TESTS[0])


def test_turn_ends_are_the_callers():
    text = "<s>" + question_prompt(QUESTION) + "</s>the answer"
    assert question_of(text, turn_ends=["</s>"]) == (QUESTION, "")
    assert question_of(text, turn_ends=[])[0].endswith("</s>the answer")


def test_other_text_is_returned_whole():
    assert question_of("  just a question  ") == ("just a question", "")
