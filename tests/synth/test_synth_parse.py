"""The parser of synthesis answers, on the broken outputs models really produce."""

import json

import pytest

from acecoder.synth.parse import Failure, Repair, TestDrop, clean_tests, parse_response

TESTS = ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(-1, 1) == 0"]
CLEAN = json.dumps({"question": "Write add(a, b).", "tests": TESTS})


def test_clean_json():
    parsed = parse_response(CLEAN)
    assert parsed.ok and parsed.question == "Write add(a, b)." and parsed.tests == TESTS
    assert parsed.repairs == [] and not parsed.dropped


def test_json_fence_with_prose_around():
    text = f"Sure! Here is the exercise:\n\n```json\n{CLEAN}\n```\n\nLet me know if you need more."
    parsed = parse_response(text)
    assert parsed.tests == TESTS and Repair.FENCE in parsed.repairs


def test_untagged_fence_and_prose_without_fence():
    assert parse_response(f"```\n{CLEAN}\n```").tests == TESTS
    parsed = parse_response(f"Here it is: {CLEAN} Hope this helps {{!}}")
    assert parsed.tests == TESTS and parsed.repairs == [Repair.SURROUNDING_TEXT]


def test_prose_with_braces_before_the_object():
    parsed = parse_response("For f(x) = {x} the answer is:\n" + CLEAN)
    assert parsed.tests == TESTS


def test_question_containing_a_python_fence_is_not_mistaken_for_the_answer():
    question = "Implement f.\n```python\ndef f(x: dict) -> int: ...\n```\nReturn {x}."
    parsed = parse_response(json.dumps({"question": question, "tests": ["assert f({}) == 0"]}))
    assert parsed.question == question and parsed.tests == ["assert f({}) == 0"]


def test_truncated_keeps_the_complete_tests_and_counts_the_cut_one():
    cut = CLEAN[: CLEAN.index("assert add(-1") + 10]  # in the middle of the third test
    parsed = parse_response(cut)
    assert parsed.tests == TESTS[:2]
    assert parsed.dropped == {TestDrop.TRUNCATED: 1} and Repair.TRUNCATED in parsed.repairs


def test_truncated_in_a_fence_after_a_comma():
    cut = "```json\n" + CLEAN[: CLEAN.index('"assert add(-1')]  # ends with '", '
    parsed = parse_response(cut)
    assert parsed.tests == TESTS[:2] and not parsed.dropped


def test_truncated_before_any_test_and_inside_the_question():
    parsed = parse_response('{"question": "Write add(a, b).", "tests": ["assert add(1')
    assert parsed.ok and parsed.question == "Write add(a, b)." and parsed.tests == []
    assert parse_response('{"question": "Write add(a, b). It ret').failure is Failure.TRUNCATED


def test_tests_as_one_string():
    parsed = parse_response(json.dumps({"question": "Q", "tests": "\n".join(TESTS)}))
    assert parsed.tests == TESTS and Repair.TESTS_AS_STRING in parsed.repairs
    fenced = "```python\n" + "\n".join(TESTS) + "\nprint('done')\n```"
    parsed = parse_response(json.dumps({"question": "Q", "tests": fenced}))
    assert parsed.tests == TESTS and parsed.dropped == {TestDrop.NO_ASSERT: 1}


def test_tests_string_that_does_not_parse_is_split_by_assert_lines():
    text = "assert f(1) == 1\nassert f(2 == 2\nassert f(\n    3) == 3"
    parsed = parse_response(json.dumps({"question": "Q", "tests": text}))
    assert parsed.tests == ["assert f(1) == 1", "assert f(\n    3) == 3"]
    assert parsed.dropped == {TestDrop.SYNTAX_ERROR: 1}


def test_python_literal_quoting():
    parsed = parse_response("{'question': 'Is it even?', 'tests': ['assert is_even(2) is True', \"assert is_even(3) == False\"]}")
    assert parsed.tests == ["assert is_even(2) is True", "assert is_even(3) == False"]
    assert Repair.PYTHON_LITERAL in parsed.repairs


def test_invalid_escapes_and_raw_newlines_in_strings():
    text = '{"question": "Match digits \\d+ in s.\nReturn a list.", "tests": ["assert find(\'a1\') == [\'1\']", "assert f(\'it\\\'s\') == 1"]}'
    parsed = parse_response(text)
    assert parsed.question == "Match digits \\d+ in s.\nReturn a list."
    assert parsed.tests == ["assert find('a1') == ['1']", "assert f('it\\'s') == 1"]
    assert Repair.INVALID_ESCAPES in parsed.repairs


def test_every_test_drop_reason():
    items = [
        "assert add(1, 2) == 3",
        "assert add(1,2)==3",  # same tree
        "assert  add(1, 2) == 3  # again",  # same tree, comment
        "print(add(1, 2))",
        "add(1, 2) == 3",
        "assert add(1, 2 == 3",
        "assert True",
        "",
        "   ",
        42,
        {"input": [1, 2], "output": 3},
        "# only a comment",
        "x = [3, 1]\nassert sorted(x) == [1, 3]",  # setup + assert: one test
        "`assert add(2, 2) == 4`",
        "assert add(5, 5) == 10\nassert add(6, 6) == 12",  # two asserts: split
    ]
    tests, dropped, split = clean_tests(items)
    assert tests == [
        "assert add(1, 2) == 3",
        "x = [3, 1]\nassert sorted(x) == [1, 3]",
        "assert add(2, 2) == 4",
        "assert add(5, 5) == 10",
        "assert add(6, 6) == 12",
    ]
    assert dropped == {
        TestDrop.DUPLICATE: 2,
        TestDrop.NO_ASSERT: 2,
        TestDrop.SYNTAX_ERROR: 1,
        TestDrop.TRIVIAL: 1,
        TestDrop.EMPTY: 3,
        TestDrop.NOT_A_STRING: 2,
    }
    assert split


@pytest.mark.parametrize(
    ("text", "failure"),
    [
        ("", Failure.EMPTY),
        ("   \n", Failure.EMPTY),
        (None, Failure.EMPTY),
        ("I cannot help with that.", Failure.NO_JSON),
        ('{"answer": 42}', Failure.NO_JSON),
        ("[1, 2, 3]", Failure.NO_JSON),
        ('{"question": "", "tests": ["assert f(1) == 1"]}', Failure.NO_QUESTION),
        ('{"question": 7, "tests": ["assert f(1) == 1"]}', Failure.NO_QUESTION),
        ('{"tests": ["assert f(1) == 1"]}', Failure.NO_QUESTION),
        ('{"question": "Q"}', Failure.NO_TESTS),
        ('{"question": "Q", "tests": 3}', Failure.NO_TESTS),
    ],
)
def test_failures(text, failure):
    assert parse_response(text).failure is failure


def test_think_tags_and_key_aliases():
    text = '<think>maybe {"question": "wrong"}</think>\n{"Problem": "Q", "test_cases": ["assert f(1) == 1"]}'
    parsed = parse_response(text)
    assert parsed.question == "Q" and parsed.tests == ["assert f(1) == 1"]


def test_long_truncated_answer_is_recovered_quickly():
    tests = [f"assert f({i}) == {i * i}" for i in range(500)]
    text = json.dumps({"question": "Square it.", "tests": tests})[:-40]
    parsed = parse_response(text)
    assert 490 < len(parsed.tests) < 500 and parsed.tests == tests[: len(parsed.tests)]


def test_tests_wrapped_in_lists_or_objects_are_unwrapped_and_counted():
    text = json.dumps({
        "question": "Write f(x).",
        "tests": [["assert f(1) == 2", "Test case 1"], {"description": "zero", "test": "assert f(0) == 1"},
                  {"input": 3, "expected": 4}, "assert f(5) == 6"],
    })
    parsed = parse_response(text)
    assert parsed.tests == ["assert f(1) == 2", "assert f(0) == 1", "assert f(5) == 6"]
    assert Repair.TESTS_IN_CONTAINERS in parsed.repairs
    assert parsed.dropped[TestDrop.NOT_A_STRING] == 1  # {"input", "expected"}: no assert to take


@pytest.mark.parametrize(
    "answer, question, tests, dropped",
    [
        ("Here is the problem.\n\nReturn the maximum with `mx(xs)`.\n\n```python\ndef mx(xs):\n    return max(xs)\n\n"
         "assert mx([1, 2]) == 2\nassert mx([3]) == 3\n```",
         "Here is the problem.\n\nReturn the maximum with `mx(xs)`.", ["assert mx([1, 2]) == 2", "assert mx([3]) == 3"],
         {"no_assert": 1}),  # the solution's def in the block is not a test
        ("**Question:**\nCount vowels with `count_vowels(s)`.\n\n**Tests:**\n```python\nassert count_vowels('aei') == 3\n```\n",
         "Count vowels with `count_vowels(s)`.", ["assert count_vowels('aei') == 3"], {}),
    ],
)
def test_a_markdown_answer_that_ignores_json_mode(answer, question, tests, dropped):
    parsed = parse_response(answer)
    assert parsed.ok and parsed.question == question and parsed.tests == tests
    assert {str(k): v for k, v in parsed.dropped.items()} == dropped and Repair.MARKDOWN in parsed.repairs


def test_prose_without_asserts_is_still_no_json():
    assert parse_response("Just some prose, no tests.").failure == Failure.NO_JSON
