"""Parse what a model returned for the synthesis prompt into a question and its tests.

Models do not always answer with clean JSON. This recovers, in order of trust:

- a JSON object alone, or with prose before or after it (`surrounding_text`);
- inside a ``` fence, ```json or untagged (`fence`);
- with invalid escapes such as `\\d` or `\\'`, common in tests about regexes and
  quotes, or raw newlines inside strings (`invalid_escapes`);
- written as a Python literal: single quotes, True/False/None (`python_literal`);
- cut off by the token limit: the longest prefix that closes into an object, so every
  test complete before the cut is kept and the one cut in half is counted
  (`truncated`);
- `tests` as one string of statements (`tests_as_string`), and one list item holding
  several asserts (`split_asserts`);
- no object at all, as models that ignore JSON mode answer: the question as markdown
  prose and the tests as asserts in fenced python blocks (`markdown`).

Then each test is checked: a test is a string that parses as Python, whose last
statement is an `assert`, that calls something (an `assert 1 == 1` tests nothing),
and that is not a repeat of an earlier one (compared by syntax tree, so spacing and
quoting do not matter). Every test lost is counted by a `TestDrop`; a response that
gives no question at all gets one `Failure`. The original implementation only stripped
a ```json fence and retried with `]}` appended, and replaced any failure with a
placeholder question tested by `assert False` (method §2).

Everything here is pure: text in, `Parsed` out.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Failure", "Parsed", "Repair", "TestDrop", "clean_tests", "find_object", "parse_response"]

QUESTION_KEYS = ("question", "problem", "rewritten_question")
TESTS_KEYS = ("tests", "test_cases", "test_list", "asserts")
MAX_STARTS = 50  # '{' positions tried as the start of the object (prose may hold braces too)
MAX_CUTS = 400  # prefixes tried when closing a truncated object, from the longest down


class Failure(StrEnum):
    """Why a whole response gave no question."""

    EMPTY = "empty"  # no text at all
    NO_JSON = "no_json"  # no object with a question or tests, even after every repair
    TRUNCATED = "truncated"  # an object was cut off before the question was complete
    NO_QUESTION = "no_question"  # the question is missing, not a string, or blank
    NO_TESTS = "no_tests"  # no tests field, or one that is neither a list nor a string
    TOO_FEW_TESTS = "too_few_tests"  # fewer valid tests than the stage's min_tests (set by the stage)


class TestDrop(StrEnum):
    """Why one test was dropped."""

    __test__ = False  # not a pytest class

    NOT_A_STRING = "not_a_string"  # a number, an object, ...
    EMPTY = "empty"
    SYNTAX_ERROR = "syntax_error"  # does not parse as Python
    NO_ASSERT = "no_assert"  # its last statement is not an assert (a print, a bare comparison)
    TRIVIAL = "trivial"  # an assert that calls nothing, e.g. `assert True`
    DUPLICATE = "duplicate"  # the same syntax tree as an earlier test
    TRUNCATED = "truncated"  # cut in half by the token limit (at most one per response)


class Repair(StrEnum):
    """What had to be fixed to read a response (kept in the question's metadata)."""

    FENCE = "fence"
    SURROUNDING_TEXT = "surrounding_text"
    INVALID_ESCAPES = "invalid_escapes"
    PYTHON_LITERAL = "python_literal"
    TRUNCATED = "truncated"
    TESTS_AS_STRING = "tests_as_string"
    TESTS_IN_CONTAINERS = "tests_in_containers"  # ["assert ...", "a comment"] or {"test": "assert ..."} items
    SPLIT_ASSERTS = "split_asserts"
    MARKDOWN = "markdown"  # no JSON: the question as prose, the tests in fenced python blocks


@dataclass(slots=True, kw_only=True)
class Parsed:
    """A question and its valid tests, or the `failure` that left none."""

    question: str | None = None
    tests: list[str] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)  # TestDrop -> tests lost
    repairs: list[Repair] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


# ---------------------------------------------------------------- the whole response


def parse_response(text: str | None) -> Parsed:
    """The question and tests in a model's answer to the synthesis prompt."""
    if not text or not text.strip():
        return Parsed(failure=Failure.EMPTY)
    found, repairs, cut_short = find_object(text)
    if found is None:
        markdown = _from_markdown(text)
        if markdown is not None:
            return markdown
        return Parsed(failure=Failure.TRUNCATED if cut_short else Failure.NO_JSON, repairs=repairs)
    parsed = Parsed(repairs=repairs)
    if Repair.TRUNCATED in repairs and cut_short:
        parsed.dropped[TestDrop.TRUNCATED] += 1
    question = _field(found, QUESTION_KEYS)
    if not isinstance(question, str) or not question.strip():
        parsed.failure = Failure.TRUNCATED if question is None and Repair.TRUNCATED in repairs else Failure.NO_QUESTION
        return parsed
    parsed.question = question.strip()
    tests = _field(found, TESTS_KEYS)
    if isinstance(tests, str):
        parsed.repairs.append(Repair.TESTS_AS_STRING)
        tests = split_statements(tests)
    elif isinstance(tests, dict):  # {"test1": "assert ...", ...}
        tests = list(tests.values())
    elif tests is None and Repair.TRUNCATED in repairs:
        tests = []  # cut before the first test was complete: the stage counts too_few_tests
    if not isinstance(tests, list):
        parsed.failure = Failure.NO_TESTS
        return parsed
    tests, unwrapped = _unwrap_items(tests)
    if unwrapped:
        parsed.repairs.append(Repair.TESTS_IN_CONTAINERS)
    parsed.tests, dropped, split = clean_tests(tests)
    parsed.dropped.update(dropped)
    if split:
        parsed.repairs.append(Repair.SPLIT_ASSERTS)
    return parsed


_HEADING = re.compile(r"^\s*(?:#{1,6}\s*|\*\*|__)?\s*([A-Za-z][A-Za-z ]{0,30}?)\s*(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*$")
_QUESTION_HEADINGS = {"question", "problem", "problem statement", "task", "rewritten question", "description"}


def _from_markdown(text: str) -> Parsed | None:
    """A question written as prose with its tests as asserts in fenced blocks, or None.

    The question is the prose under a Question/Problem heading, else all the prose, with
    the headings removed; the tests are every statement of the fenced blocks that hold an
    assert (a solution's `def` in such a block is dropped as no_assert, and counted)."""
    text = _THINK.sub("", text)
    blocks = [(tag, body) for tag, body in _FENCE.findall(text) if tag.lower() in ("", "python", "py")
              and re.search(r"^\s*assert\b", body, re.MULTILINE)]
    if not blocks:
        return None
    prose = _FENCE.sub("\n", text)
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in prose.splitlines():
        heading = _HEADING.match(line) if line.lstrip().startswith(("#", "**", "__")) or line.rstrip().endswith(":") else None
        if heading is not None:
            sections.append((heading.group(1).strip().lower(), []))
        else:
            sections[-1][1].append(line)
    chosen = [lines for name, lines in sections if name in _QUESTION_HEADINGS] or [lines for name, lines in sections
                                                                                   if name is None or "test" not in name]
    question = "\n".join("\n".join(lines) for lines in chosen).strip()
    if not question:
        return None
    parsed = Parsed(question=re.sub(r"\n{3,}", "\n\n", question), repairs=[Repair.MARKDOWN])
    items = [item for _, body in blocks for item in split_statements(body)]
    parsed.tests, dropped, split = clean_tests(items)
    parsed.dropped.update(dropped)
    if split:
        parsed.repairs.append(Repair.SPLIT_ASSERTS)
    return parsed


def _unwrap_items(items: list) -> tuple[list, bool]:
    """Small models often wrap each test: ["assert f(1) == 2", "Test case 1"] or
    {"test": "assert ...", "description": ...}; take the one string that is an assert."""
    out, unwrapped = [], False
    for item in items:
        if isinstance(item, (list, tuple, dict)):
            values = item.values() if isinstance(item, dict) else item
            found = next((v for v in values if isinstance(v, str) and v.lstrip().startswith("assert")), None)
            if found is not None:
                item, unwrapped = found, True
        out.append(item)
    return out, unwrapped


def _field(found: dict, names: tuple[str, ...]):
    for key, value in found.items():
        if str(key).strip().lower() in names:
            return value
    return None


# ---------------------------------------------------------------- finding the object

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE)
_DECODER = json.JSONDecoder(strict=False)  # strict=False: raw newlines and tabs inside strings
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def find_object(text: str) -> tuple[dict | None, list[Repair], bool]:
    """(the object, the repairs it took, whether the text ends inside an unclosed object).

    Candidates in order: the text itself when it starts with '{' (so a question that
    contains a fenced example is not mistaken for the answer), ```json blocks, other
    fenced blocks, then the whole text with prose around the object.
    """
    text = _THINK.sub("", text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    stripped = text.strip()
    candidates: list[tuple[str, list[Repair]]] = []
    if stripped.startswith("{"):
        candidates.append((stripped, []))
    blocks = _FENCE.findall(text)
    candidates += [(body, [Repair.FENCE]) for tag, body in blocks if tag.lower() == "json"]
    candidates += [(body, [Repair.FENCE]) for tag, body in blocks if tag.lower() != "json" and "{" in body]
    if not stripped.startswith("{"):
        candidates.append((text, []))
    cut_short = False
    for body, repairs in candidates:
        found, more, unclosed = _decode(body)
        cut_short = cut_short or unclosed
        if found is not None:
            return found, repairs + more, unclosed
    return None, [], cut_short


def _decode(body: str) -> tuple[dict | None, list[Repair], bool]:
    starts = [match.start() for match in re.finditer(r"\{", body)][:MAX_STARTS]
    unclosed = False
    for start in starts:
        end, cuts = _scan(body, start)
        around = bool(body[:start].strip()) or (end is not None and bool(body[end + 1 :].strip()))
        extra = [Repair.SURROUNDING_TEXT] if around else []
        if end is not None:
            found, repairs = _load(body[start : end + 1])
            if found is not None:
                return found, repairs + extra, False
            continue
        unclosed = True
        for position, closers in reversed(cuts[-MAX_CUTS:]):
            found, repairs = _load(body[start:position] + closers)
            if found is not None:
                lost = body[position:].strip().strip(",").strip()
                return found, repairs + extra + [Repair.TRUNCATED], bool(lost)
        # a '{' inside an earlier string or prose: try the next one
    return None, [], unclosed


def _load(text: str) -> tuple[dict | None, list[Repair]]:
    """The object `text` spells as JSON, JSON with bad escapes, or a Python literal."""
    attempts = (
        (lambda: _DECODER.decode(text), []),
        (lambda: _DECODER.decode(_fix_escapes(text)), [Repair.INVALID_ESCAPES]),
        (lambda: ast.literal_eval(text), [Repair.PYTHON_LITERAL]),
    )
    for load, repairs in attempts:
        try:
            value = load()
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict) and (_field(value, QUESTION_KEYS) is not None or _field(value, TESTS_KEYS) is not None):
            return value, repairs
    return None, []


def _fix_escapes(text: str) -> str:
    """Double every backslash that does not start a JSON escape (`\\d` -> `\\\\d`)."""
    return _ESCAPE.sub(lambda m: m.group(0) if m.group(1) in '"\\/bfnrtu' else "\\\\" + m.group(1), text)


def _scan(text: str, start: int) -> tuple[int | None, list[tuple[int, str]]]:
    """Walk an object from its '{': (index of its closing '}' or None when unclosed,
    the cut points: every position just after a complete string or container, with
    the closing brackets that would end the object there)."""
    stack: list[str] = []
    cuts: list[tuple[int, str]] = []
    quote = None
    i, n = start, len(text)
    while i < n:
        char = text[i]
        if quote is not None:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = None
                cuts.append((i + 1, "".join(reversed(stack))))
        elif char in "\"'":
            quote = char
        elif char == "{":
            stack.append("}")
        elif char == "[":
            stack.append("]")
        elif char in "}]":
            if not stack or stack[-1] != char:
                return None, cuts  # unbalanced: not an object we can read from here
            stack.pop()
            if not stack:
                return i, cuts
            cuts.append((i + 1, "".join(reversed(stack))))
        i += 1
    return None, cuts


# ---------------------------------------------------------------- the tests


def split_statements(text: str) -> list[str]:
    """Tests given as one string: one item per top-level statement; when the string
    does not parse as a whole, one item per line that starts with `assert`, with the
    lines that continue it."""
    text = _unwrap(text)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        items: list[str] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.lstrip().startswith("assert") or not items:
                items.append(line.strip())
            else:
                items[-1] += "\n" + line
        return items
    return [ast.get_source_segment(text, node) or "" for node in tree.body]


def clean_tests(items: list) -> tuple[list[str], Counter, bool]:
    """(the valid tests in order, drops by TestDrop, whether an item was split into several asserts)."""
    tests: list[str] = []
    dropped: Counter = Counter()
    seen: set[str] = set()
    split = False
    for item in items:
        if not isinstance(item, str):
            dropped[TestDrop.NOT_A_STRING] += 1
            continue
        text = _unwrap(item)
        if not text:
            dropped[TestDrop.EMPTY] += 1
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):  # ValueError: a null byte
            dropped[TestDrop.SYNTAX_ERROR] += 1
            continue
        if not tree.body:  # only comments
            dropped[TestDrop.EMPTY] += 1
            continue
        if not isinstance(tree.body[-1], ast.Assert):
            dropped[TestDrop.NO_ASSERT] += 1
            continue
        if len(tree.body) > 1 and all(isinstance(node, ast.Assert) for node in tree.body):
            split = True
            pieces = [(ast.get_source_segment(text, node) or ast.unparse(node), node) for node in tree.body]
        else:
            pieces = [(text, tree)]
        for piece, node in pieces:
            if not any(isinstance(sub, ast.Call) for sub in ast.walk(node)):
                dropped[TestDrop.TRIVIAL] += 1
                continue
            key = ast.dump(node.body[0] if isinstance(node, ast.Module) and len(node.body) == 1 else node)
            if key in seen:
                dropped[TestDrop.DUPLICATE] += 1
                continue
            seen.add(key)
            tests.append(piece)
    return tests, dropped, split


def _unwrap(text: str) -> str:
    """A test without surrounding blanks, ``` fences or `backticks`."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rstrip()
        if text.endswith("```"):
            text = text[:-3]
        text = text.strip()
    if len(text) > 1 and text.startswith("`") and text.endswith("`"):
        text = text.strip("`").strip()
    return text
