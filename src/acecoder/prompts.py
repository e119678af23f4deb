"""The one prompt template of the project: a question shown to a model, and a program
shown as its answer.

Sampling, preference pairs, reward-model training and reward-model scoring all render
through these two functions, so what the reward model is trained on and what it
scores cannot drift apart. As in the method, the prompt shows the question and its
first test (more would give the answers away) and asks for a fenced block.
"""

from __future__ import annotations

INSTRUCTION = (
    "Solve the following problem in Python. Write a complete, self-contained program "
    "in a single ```python code block."
)


def question_prompt(question: str, tests: list[str] | None = None) -> str:
    """The user turn: the instruction, the question, and its first test as an example."""
    parts = [INSTRUCTION, "", question.strip()]
    if tests:
        parts += ["", "Your code should pass this test:", "", tests[0].strip()]
    return "\n".join(parts)


def program_response(program: str) -> str:
    """The assistant turn: the program in a fenced block after a short sentence."""
    return f"Here is a solution:\n```python\n{program.strip()}\n```"


def chat(question: str, tests: list[str] | None = None) -> list[dict]:
    """The prompt as chat messages, for trainers and chat templates."""
    return [{"role": "user", "content": question_prompt(question, tests)}]
