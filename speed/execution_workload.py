"""A deterministic workload for execution benchmarks: LeetCode-like programs and asserts.

`clean_workload(n, seed)` builds `n` programs, grouped by question as a sampler makes
them (the programs of one question share its tests). Each question is one of the tasks
below with 16 seeded inputs; the expected values come from the task's first correct
solution, run here. Each program is a correct solution, a wrong one (some asserts
fail), one that raises on some inputs, a syntax error, or one that fails at load
(a missing `typing` import, a missing module), with cosmetic variation (comments,
docstrings, example usage, extra imports) as generated solutions have. This is the
"light" workload: every program's tests take well under a millisecond in all.

`slow_workload(clean)` inserts a few correct but slow programs (a needless pure-Python
pass on every call, about 2-9 ms a test): with them it is the "realistic" workload.

`hang_workload(clean)` inserts programs that hang in one of their tests:
most with `while True: pass`, one with a catastrophic regex, one with a C loop that
never checks for signals (`sum(itertools.repeat(...))`; CPython's regex engine does
check for them, so an alarm interrupts the regex but not this loop).
"""

# No `from __future__ import annotations`: the reference solutions are exec'd here.
import copy
import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

TESTS_PER_QUESTION = 16
PROGRAMS_PER_QUESTION = 8
# What each sample is, with its weight; "raising" falls back to "wrong" for tasks without one.
KINDS = {"correct": 50, "wrong": 24, "raising": 14, "syntax": 5, "missing_typing": 5, "missing_module": 2}
SLOW_SHARE = 0.03  # of the clean programs
SLOW_WORK = (30_000, 130_000)  # iterations of the needless pass per call: ~70 ns each in CPython 3.11
HANG_SHARE = 0.015  # of the clean programs
HANG_BODIES = {
    "loop": "while True:\n            pass",
    "regex": 're.match(r"(a+)+$", "a" * 40 + "b")',
    "c_loop": "sum(itertools.repeat(1, 10**13))",
}


@dataclass(frozen=True)
class Task:
    """One question type: its solutions and how to make its inputs and asserts."""

    entry: str
    correct: tuple[str, ...]  # the first one is the reference
    wrong: tuple[str, ...]  # return a wrong answer on some inputs
    raising: tuple[str, ...]  # raise on some inputs
    inputs: Callable[[random.Random], tuple]
    style: str = "eq"  # "eq", "bool" or "approx"


@dataclass(frozen=True)
class Program:
    id: str
    program: str
    tests: tuple[str, ...]
    kind: str  # a key of KINDS, "slow" or "hang"
    entry: str  # the function the tests call
    inputs: tuple  # the arguments of each test's call
    hang_index: int | None = None  # the test that hangs


# ---------------------------------------------------------------- input makers

WORDS = "the quick brown fox jumps over lazy dog apple banana cherry level radar stats noon data code".split()


def _words(rng, low, high):
    return [rng.choice(WORDS) for _ in range(rng.randint(low, high))]


def _ints(rng, low, high, size_low=0, size_high=12):
    return [rng.randint(low, high) for _ in range(rng.randint(size_low, size_high))]


def _sentence_input(rng):
    if rng.random() < 0.15:
        return (rng.choice(["", "   "]),)
    gaps = [rng.choice([" ", " ", " ", "  "]) for _ in range(8)]
    words = _words(rng, 1, 7)
    return (rng.choice(["", " "]) + "".join(w + gaps[i] for i, w in enumerate(words)).rstrip(),)


def _palindrome_input(rng):
    if rng.random() < 0.1:
        return (rng.choice(["", ".,!", " ? "]),)
    half = "".join(rng.choice("abcAB c,") for _ in range(rng.randint(1, 6)))
    text = half + rng.choice(["", "x", "Y"]) + half[::-1]
    if rng.random() < 0.4:
        text = text.replace("a", "b", 1) + rng.choice("abc")
    return (text,)


def _two_sum_input(rng):
    while True:
        nums = rng.sample(range(-20, 40), rng.randint(2, 9))
        if rng.random() < 0.3:
            nums.sort()
        i, j = sorted(rng.sample(range(len(nums)), 2))
        target = nums[i] + nums[j]
        pairs = [
            (a, b) for a in range(len(nums)) for b in range(a + 1, len(nums)) if nums[a] + nums[b] == target
        ]
        if len(pairs) == 1:
            return nums, target


def _top_k_input(rng):
    nums = _ints(rng, 0, 6, 1, 15)
    return nums, rng.randint(1, len(set(nums)))


def _intervals_input(rng):
    if rng.random() < 0.1:
        return ([],)
    intervals = []
    for _ in range(rng.randint(1, 6)):
        start = rng.randint(0, 20)
        intervals.append([start, start + rng.randint(0, 5)])
    if rng.random() < 0.4:
        intervals.sort()
    return (intervals,)


def _coin_input(rng):
    coins = sorted(rng.sample([1, 2, 3, 4, 5, 7, 10, 25], rng.randint(1, 4)))
    return coins, rng.randint(0, 40)


def _edit_input(rng):
    return tuple("".join(rng.choice("abcd") for _ in range(rng.randint(0, 8))) for _ in range(2))


def _brackets_input(rng):
    if rng.random() < 0.4:
        text = ""
        for _ in range(rng.randint(0, 4)):
            opening, closing = rng.choice(["()", "[]", "{}"])
            text = rng.choice([opening + text + closing, text + opening + closing])
        return (text,)
    return ("".join(rng.choice("()[]{}") for _ in range(rng.randint(1, 8))),)


ROMAN = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
]


def _roman_input(rng):
    number, text = rng.randint(1, 3999), ""
    for value, symbol in ROMAN:
        while number >= value:
            text, number = text + symbol, number - value
    return (text,)


def _text_input(rng):
    if rng.random() < 0.3:
        return (" ".join(_words(rng, 0, 8)),)
    words = [w.capitalize() if rng.random() < 0.3 else w for w in _words(rng, 0, 10)]
    return (" ".join(w + rng.choice(["", "", ",", ".", "!"]) for w in words),)


def _matrix_input(rng):
    rows = rng.randint(1, 4)
    cols = rows if rng.random() < 0.6 else rng.randint(1, 4)
    return ([[rng.randint(0, 9) for _ in range(cols)] for _ in range(rows)],)


def _run_input(rng):
    return ("".join(rng.choice("aab") * rng.randint(1, 3) for _ in range(rng.randint(0, 5))),)


def _nested_input(rng, depth=0):
    items = []
    for _ in range(rng.randint(0, 4)):
        items.append(
            _nested_input(rng, depth + 1)[0] if depth < 3 and rng.random() < 0.3 else rng.randint(0, 9)
        )
    return (items,)


def _kth_input(rng):
    nums = _ints(rng, 0, 8, 1, 10)
    return nums, rng.randint(1, len(nums))


def _anagram_input(rng):
    bases = ["listen", "silent", "enlist", "aab", "abb", "bab", "tea", "eat", "ate", "tan", "nat", "bat"]
    return (rng.sample(bases, rng.randint(0, 7)),)


# ---------------------------------------------------------------- tasks


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


TASKS = [
    Task(
        "reverse_words",
        correct=(
            _code(
                """
                def reverse_words(s):
                    return " ".join(reversed(s.split()))
                """
            ),
            _code(
                """
                def reverse_words(s):
                    words = []
                    for word in s.split():
                        words.insert(0, word)
                    return " ".join(words)
                """
            ),
        ),
        wrong=(
            _code(
                """
                def reverse_words(s):
                    return " ".join(reversed(s.split(" ")))
                """
            ),
        ),
        raising=(
            _code(
                """
                def reverse_words(s):
                    words = s.split()
                    result = words[-1]
                    for word in reversed(words[:-1]):
                        result += " " + word
                    return result
                """
            ),
        ),
        inputs=_sentence_input,
    ),
    Task(
        "is_palindrome",
        correct=(
            _code(
                """
                def is_palindrome(s):
                    cleaned = [c.lower() for c in s if c.isalnum()]
                    return cleaned == cleaned[::-1]
                """
            ),
            _code(
                """
                def is_palindrome(s: str) -> bool:
                    left, right = 0, len(s) - 1
                    while left < right:
                        if not s[left].isalnum():
                            left += 1
                        elif not s[right].isalnum():
                            right -= 1
                        elif s[left].lower() != s[right].lower():
                            return False
                        else:
                            left, right = left + 1, right - 1
                    return True
                """
            ),
        ),
        wrong=(
            _code(
                """
                def is_palindrome(s):
                    return s == s[::-1]
                """
            ),
        ),
        raising=(
            _code(
                """
                def is_palindrome(s):
                    left, right = 0, len(s) - 1
                    while left < right:
                        while not s[left].isalnum():
                            left += 1
                        while not s[right].isalnum():
                            right -= 1
                        if s[left].lower() != s[right].lower():
                            return False
                        left, right = left + 1, right - 1
                    return True
                """
            ),
        ),
        inputs=_palindrome_input,
        style="bool",
    ),
    Task(
        "two_sum",
        correct=(
            _code(
                """
                def two_sum(nums, target):
                    seen = {}
                    for i, x in enumerate(nums):
                        if target - x in seen:
                            return [seen[target - x], i]
                        seen[x] = i
                    return []
                """
            ),
            _code(
                """
                from typing import List


                def two_sum(nums: List[int], target: int) -> List[int]:
                    for i in range(len(nums)):
                        for j in range(i + 1, len(nums)):
                            if nums[i] + nums[j] == target:
                                return [i, j]
                    return []
                """
            ),
        ),
        wrong=(
            _code(
                """
                def two_sum(nums, target):
                    nums = sorted(nums)
                    lo, hi = 0, len(nums) - 1
                    while lo < hi:
                        total = nums[lo] + nums[hi]
                        if total == target:
                            return [lo, hi]
                        if total < target:
                            lo += 1
                        else:
                            hi -= 1
                    return []
                """
            ),
        ),
        raising=(),
        inputs=_two_sum_input,
    ),
    Task(
        "top_k_frequent",
        correct=(
            _code(
                """
                from collections import Counter


                def top_k_frequent(nums, k):
                    counts = Counter(nums)
                    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                    return [value for value, _ in ranked[:k]]
                """
            ),
            _code(
                """
                import heapq
                from collections import Counter


                def top_k_frequent(nums, k):
                    counts = Counter(nums)
                    return heapq.nsmallest(k, counts, key=lambda x: (-counts[x], x))
                """
            ),
        ),
        wrong=(
            _code(
                """
                from collections import Counter


                def top_k_frequent(nums, k):
                    return [value for value, _ in Counter(nums).most_common(k)]
                """
            ),
        ),
        raising=(),
        inputs=_top_k_input,
    ),
    Task(
        "merge_intervals",
        correct=(
            _code(
                """
                def merge_intervals(intervals):
                    merged = []
                    for start, end in sorted(intervals):
                        if merged and start <= merged[-1][1]:
                            merged[-1][1] = max(merged[-1][1], end)
                        else:
                            merged.append([start, end])
                    return merged
                """
            ),
        ),
        wrong=(
            _code(
                """
                def merge_intervals(intervals):
                    merged = []
                    for start, end in intervals:
                        if merged and start <= merged[-1][1]:
                            merged[-1][1] = max(merged[-1][1], end)
                        else:
                            merged.append([start, end])
                    return merged
                """
            ),
        ),
        raising=(
            _code(
                """
                def merge_intervals(intervals):
                    intervals = sorted(intervals)
                    merged = [list(intervals[0])]
                    for start, end in intervals[1:]:
                        if start <= merged[-1][1]:
                            merged[-1][1] = max(merged[-1][1], end)
                        else:
                            merged.append([start, end])
                    return merged
                """
            ),
        ),
        inputs=_intervals_input,
    ),
    Task(
        "length_of_lis",
        correct=(
            _code(
                """
                import bisect


                def length_of_lis(nums):
                    tails = []
                    for x in nums:
                        i = bisect.bisect_left(tails, x)
                        if i == len(tails):
                            tails.append(x)
                        else:
                            tails[i] = x
                    return len(tails)
                """
            ),
            _code(
                """
                def length_of_lis(nums):
                    if not nums:
                        return 0
                    dp = [1] * len(nums)
                    for i in range(len(nums)):
                        for j in range(i):
                            if nums[j] < nums[i]:
                                dp[i] = max(dp[i], dp[j] + 1)
                    return max(dp)
                """
            ),
        ),
        wrong=(
            _code(
                """
                def length_of_lis(nums):
                    best = run = 0
                    for i, x in enumerate(nums):
                        run = run + 1 if i and x > nums[i - 1] else 1
                        best = max(best, run)
                    return best
                """
            ),
        ),
        raising=(
            _code(
                """
                def length_of_lis(nums):
                    dp = [1] * len(nums)
                    for i in range(len(nums)):
                        for j in range(i):
                            if nums[j] < nums[i]:
                                dp[i] = max(dp[i], dp[j] + 1)
                    return max(dp)
                """
            ),
        ),
        inputs=lambda rng: (_ints(rng, 0, 20),),
    ),
    Task(
        "coin_change",
        correct=(
            _code(
                """
                def coin_change(coins, amount):
                    best = [0] + [float('inf')] * amount
                    for total in range(1, amount + 1):
                        for coin in coins:
                            if coin <= total:
                                best[total] = min(best[total], best[total - coin] + 1)
                    return best[amount] if best[amount] != float('inf') else -1
                """
            ),
            _code(
                """
                from functools import lru_cache


                def coin_change(coins, amount):
                    @lru_cache(maxsize=None)
                    def fewest(rest):
                        if rest == 0:
                            return 0
                        options = [fewest(rest - c) for c in coins if c <= rest]
                        options = [o for o in options if o >= 0]
                        return min(options) + 1 if options else -1
                    return fewest(amount)
                """
            ),
        ),
        wrong=(
            _code(
                """
                def coin_change(coins, amount):
                    count = 0
                    for coin in sorted(coins, reverse=True):
                        count += amount // coin
                        amount %= coin
                    return count if amount == 0 else -1
                """
            ),
        ),
        raising=(),
        inputs=_coin_input,
    ),
    Task(
        "edit_distance",
        correct=(
            _code(
                """
                def edit_distance(a, b):
                    prev = list(range(len(b) + 1))
                    for i, ca in enumerate(a, 1):
                        cur = [i]
                        for j, cb in enumerate(b, 1):
                            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
                        prev = cur
                    return prev[-1]
                """
            ),
        ),
        wrong=(
            _code(
                """
                def edit_distance(a, b):
                    return abs(len(a) - len(b)) + sum(x != y for x, y in zip(a, b))
                """
            ),
        ),
        raising=(),
        inputs=_edit_input,
    ),
    Task(
        "count_primes",
        correct=(
            _code(
                """
                def count_primes(n):
                    if n < 3:
                        return 0
                    sieve = [True] * n
                    sieve[0] = sieve[1] = False
                    for i in range(2, int(n ** 0.5) + 1):
                        if sieve[i]:
                            sieve[i * i::i] = [False] * len(range(i * i, n, i))
                    return sum(sieve)
                """
            ),
            _code(
                """
                import math


                def count_primes(n: int) -> int:
                    return sum(1 for k in range(2, n) if all(k % d for d in range(2, math.isqrt(k) + 1)))
                """
            ),
        ),
        wrong=(
            _code(
                """
                def count_primes(n):
                    count = 0
                    for k in range(2, n + 1):
                        if all(k % d for d in range(2, k)):
                            count += 1
                    return count
                """
            ),
        ),
        raising=(
            _code(
                """
                def count_primes(n):
                    sieve = [True] * n
                    sieve[0] = sieve[1] = False
                    for i in range(2, int(n ** 0.5) + 1):
                        if sieve[i]:
                            for j in range(i * i, n, i):
                                sieve[j] = False
                    return sum(sieve)
                """
            ),
        ),
        inputs=lambda rng: (rng.choice([0, 1, 2]) if rng.random() < 0.15 else rng.randint(3, 200),),
    ),
    Task(
        "is_valid_brackets",
        correct=(
            _code(
                """
                def is_valid_brackets(s):
                    pairs = {')': '(', ']': '[', '}': '{'}
                    stack = []
                    for c in s:
                        if c in pairs:
                            if not stack or stack.pop() != pairs[c]:
                                return False
                        else:
                            stack.append(c)
                    return not stack
                """
            ),
        ),
        wrong=(
            _code(
                """
                def is_valid_brackets(s):
                    return all(s.count(a) == s.count(b) for a, b in ('()', '[]', '{}'))
                """
            ),
        ),
        raising=(
            _code(
                """
                def is_valid_brackets(s):
                    pairs = {')': '(', ']': '[', '}': '{'}
                    stack = []
                    for c in s:
                        if c in pairs:
                            if stack.pop() != pairs[c]:
                                return False
                        else:
                            stack.append(c)
                    return len(stack) == 0
                """
            ),
        ),
        inputs=_brackets_input,
        style="bool",
    ),
    Task(
        "roman_to_int",
        correct=(
            _code(
                """
                def roman_to_int(s):
                    values = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}
                    total = 0
                    for i, c in enumerate(s):
                        if i + 1 < len(s) and values[c] < values[s[i + 1]]:
                            total -= values[c]
                        else:
                            total += values[c]
                    return total
                """
            ),
        ),
        wrong=(
            _code(
                """
                def roman_to_int(s):
                    values = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}
                    return sum(values[c] for c in s)
                """
            ),
        ),
        raising=(),
        inputs=_roman_input,
    ),
    Task(
        "max_subarray",
        correct=(
            _code(
                """
                def max_subarray(nums):
                    best = current = nums[0]
                    for x in nums[1:]:
                        current = max(x, current + x)
                        best = max(best, current)
                    return best
                """
            ),
        ),
        wrong=(
            _code(
                """
                def max_subarray(nums):
                    best = current = 0
                    for x in nums:
                        current = max(0, current + x)
                        best = max(best, current)
                    return best
                """
            ),
        ),
        raising=(),
        inputs=lambda rng: (_ints(rng, -9, 9 if rng.random() < 0.7 else -1, 1, 12),),
    ),
    Task(
        "word_count",
        correct=(
            _code(
                """
                import re
                from collections import Counter


                def word_count(text):
                    return Counter(re.findall(r"[a-z']+", text.lower()))
                """
            ),
            _code(
                """
                import re
                from typing import Dict


                def word_count(text: str) -> Dict[str, int]:
                    counts = {}
                    for word in re.findall(r"[a-z']+", text.lower()):
                        counts[word] = counts.get(word, 0) + 1
                    return counts
                """
            ),
        ),
        wrong=(
            _code(
                """
                def word_count(text):
                    counts = {}
                    for word in text.split():
                        counts[word] = counts.get(word, 0) + 1
                    return counts
                """
            ),
        ),
        raising=(),
        inputs=_text_input,
    ),
    Task(
        "rotate_matrix",
        correct=(
            _code(
                """
                def rotate_matrix(matrix):
                    return [list(row) for row in zip(*matrix[::-1])]
                """
            ),
            _code(
                """
                def rotate_matrix(matrix):
                    rows, cols = len(matrix), len(matrix[0])
                    return [[matrix[rows - 1 - r][c] for r in range(rows)] for c in range(cols)]
                """
            ),
        ),
        wrong=(
            _code(
                """
                def rotate_matrix(matrix):
                    return [list(row) for row in zip(*matrix)]
                """
            ),
        ),
        raising=(
            _code(
                """
                def rotate_matrix(matrix):
                    n = len(matrix)
                    return [[matrix[n - 1 - j][i] for j in range(n)] for i in range(n)]
                """
            ),
        ),
        inputs=_matrix_input,
    ),
    Task(
        "compress",
        correct=(
            _code(
                """
                from itertools import groupby


                def compress(s):
                    return ''.join(f'{char}{len(list(run))}' for char, run in groupby(s))
                """
            ),
            _code(
                """
                def compress(s):
                    if not s:
                        return ''
                    out, prev, count = [], s[0], 0
                    for c in s:
                        if c == prev:
                            count += 1
                        else:
                            out.append(prev + str(count))
                            prev, count = c, 1
                    out.append(prev + str(count))
                    return ''.join(out)
                """
            ),
        ),
        wrong=(
            _code(
                """
                from itertools import groupby


                def compress(s):
                    out = ''
                    for char, run in groupby(s):
                        n = len(list(run))
                        out += char + (str(n) if n > 1 else '')
                    return out
                """
            ),
        ),
        raising=(
            _code(
                """
                def compress(s):
                    out, prev, count = [], s[0], 0
                    for c in s:
                        if c == prev:
                            count += 1
                        else:
                            out.append(prev + str(count))
                            prev, count = c, 1
                    out.append(prev + str(count))
                    return ''.join(out)
                """
            ),
        ),
        inputs=_run_input,
    ),
    Task(
        "mean_abs_deviation",
        correct=(
            _code(
                """
                def mean_abs_deviation(nums):
                    if not nums:
                        return 0.0
                    mean = sum(nums) / len(nums)
                    return sum(abs(x - mean) for x in nums) / len(nums)
                """
            ),
            _code(
                """
                import statistics


                def mean_abs_deviation(nums):
                    if not nums:
                        return 0.0
                    mean = statistics.fmean(nums)
                    return statistics.fmean(abs(x - mean) for x in nums)
                """
            ),
        ),
        wrong=(
            _code(
                """
                def mean_abs_deviation(nums):
                    if len(nums) < 2:
                        return 0.0
                    mean = sum(nums) / len(nums)
                    return sum(abs(x - mean) for x in nums) / (len(nums) - 1)
                """
            ),
        ),
        raising=(
            _code(
                """
                def mean_abs_deviation(nums):
                    mean = sum(nums) / len(nums)
                    return sum(abs(x - mean) for x in nums) / len(nums)
                """
            ),
        ),
        inputs=lambda rng: (_ints(rng, -50, 50, 0 if rng.random() < 0.15 else 1, 10),),
        style="approx",
    ),
    Task(
        "flatten",
        correct=(
            _code(
                """
                def flatten(nested):
                    out = []
                    for item in nested:
                        if isinstance(item, list):
                            out.extend(flatten(item))
                        else:
                            out.append(item)
                    return out
                """
            ),
            _code(
                """
                def flatten(nested):
                    out, stack = [], [iter(nested)]
                    while stack:
                        for item in stack[-1]:
                            if isinstance(item, list):
                                stack.append(iter(item))
                                break
                            out.append(item)
                        else:
                            stack.pop()
                    return out
                """
            ),
        ),
        wrong=(
            _code(
                """
                def flatten(nested):
                    out = []
                    for item in nested:
                        out.extend(item) if isinstance(item, list) else out.append(item)
                    return out
                """
            ),
        ),
        raising=(),
        inputs=_nested_input,
    ),
    Task(
        "kth_largest",
        correct=(
            _code(
                """
                import heapq


                def kth_largest(nums, k):
                    return heapq.nlargest(k, nums)[-1]
                """
            ),
            _code(
                """
                def kth_largest(nums, k):
                    return sorted(nums, reverse=True)[k - 1]
                """
            ),
        ),
        wrong=(),
        raising=(
            _code(
                """
                def kth_largest(nums, k):
                    return sorted(set(nums), reverse=True)[k - 1]
                """
            ),
        ),
        inputs=_kth_input,
    ),
    Task(
        "unique_paths",
        correct=(
            _code(
                """
                import math


                def unique_paths(m, n):
                    return math.comb(m + n - 2, m - 1)
                """
            ),
            _code(
                """
                def unique_paths(m, n):
                    row = [1] * n
                    for _ in range(1, m):
                        for j in range(1, n):
                            row[j] += row[j - 1]
                    return row[-1]
                """
            ),
        ),
        wrong=(
            _code(
                """
                import math


                def unique_paths(m, n):
                    return math.comb(m + n - 2, m)
                """
            ),
        ),
        raising=(),
        inputs=lambda rng: (rng.randint(1, 12), rng.randint(1, 12)),
    ),
    Task(
        "group_anagrams",
        correct=(
            _code(
                """
                from collections import defaultdict


                def group_anagrams(words):
                    groups = defaultdict(list)
                    for word in words:
                        groups[''.join(sorted(word))].append(word)
                    return sorted(sorted(group) for group in groups.values())
                """
            ),
        ),
        wrong=(
            _code(
                """
                from collections import defaultdict


                def group_anagrams(words):
                    groups = defaultdict(list)
                    for word in words:
                        groups[frozenset(word)].append(word)
                    return sorted(sorted(group) for group in groups.values())
                """
            ),
        ),
        raising=(),
        inputs=_anagram_input,
    ),
]


# ---------------------------------------------------------------- questions and programs


def _question_tests(task: Task, rng: random.Random) -> tuple[list[tuple], list[str]]:
    """16 distinct inputs and their asserts, judged by the task's reference solution."""
    scope: dict = {}
    exec(task.correct[0], scope)
    reference = scope[task.entry]
    inputs, seen = [], set()
    while len(inputs) < TESTS_PER_QUESTION:
        args = task.inputs(rng)
        if repr(args) not in seen:
            seen.add(repr(args))
            inputs.append(args)
    tests = [_assert(task, args, reference(*copy.deepcopy(args)), rng) for args in inputs]
    return inputs, tests


def _assert(task: Task, args: tuple, expected, rng: random.Random) -> str:
    call = f"{task.entry}({', '.join(map(repr, args))})"
    if isinstance(expected, dict):
        expected = dict(expected)  # a Counter compares equal to its dict, and needs no import
    if task.style == "approx":
        return f"assert abs({call} - {expected!r}) < 1e-6"
    if task.style == "bool":
        forms = (
            [f"assert {call}", f"assert {call} is True", f"assert {call} == True"]
            if expected
            else [f"assert not {call}", f"assert {call} is False", f"assert {call} == False"]
        )
        return rng.choice(forms)
    return f"assert {call} == {expected!r}"


def _sample(task: Task, kind: str, first_args: tuple, rng: random.Random) -> str:
    """One generated solution of `kind`, dressed as a model would write it."""
    if kind == "raising" and not task.raising:
        kind = "wrong"
    if kind == "wrong" and not task.wrong:
        kind = "raising"
    pool = (
        task.correct
        if kind in ("correct", "syntax", "missing_typing", "missing_module")
        else getattr(task, kind)
    )
    code = rng.choice(pool)
    if rng.random() < 0.5:
        code = code.replace(":\n", _docstring(task, rng), 1)
    if rng.random() < 0.3:
        code = (
            f"# Approach: {rng.choice(['hash map', 'two pointers', 'dynamic programming', 'sorting'])}\n"
            + code
        )
    if rng.random() < 0.2:
        code = "from typing import List, Optional, Dict\nimport collections\n\n" + code
    if rng.random() < 0.2:
        code += (
            f'\n\nif __name__ == "__main__":\n    print({task.entry}({", ".join(map(repr, first_args))}))\n'
        )
    elif rng.random() < 0.05:
        code += f"\n\nprint({task.entry}({', '.join(map(repr, first_args))}))\n"
    if kind == "syntax":
        code = _break_syntax(code, rng)
    elif kind == "missing_typing":
        code = "def _as_list(items: List[int]) -> List[int]:\n    return list(items)\n\n\n" + code
    elif kind == "missing_module":
        code = "import sortedcontainers_fast\n" + code
    return code


def _docstring(task: Task, rng: random.Random) -> str:
    what = task.entry.replace("_", " ")
    return (
        f':\n    """{rng.choice(["Compute", "Return", "Solve"])} {what} for the given input.\n\n'
        f"    Args:\n        The problem's input, as described in the statement.\n\n"
        f'    Returns:\n        The {what} result.\n    """\n'
    )


def _break_syntax(code: str, rng: random.Random) -> str:
    header_end = code.index(":\n", code.index("def "))
    breakers = [
        lambda: code[:header_end] + code[header_end + 1 :],  # def line without its colon
        lambda: code.rstrip("\n") + ")\n",  # an unbalanced parenthesis
        lambda: code[: header_end + 2] + "  result = None\n" + code[header_end + 2 :],  # bad indentation
    ]
    return rng.choice(breakers)()


def clean_workload(programs: int, seed: int = 1) -> list[Program]:
    """`programs` programs, PROGRAMS_PER_QUESTION per question, questions cycling over TASKS."""
    rng = random.Random(seed)
    kinds, weights = list(KINDS), list(KINDS.values())
    out: list[Program] = []
    question = 0
    while len(out) < programs:
        task = TASKS[question % len(TASKS)]
        inputs, tests = _question_tests(task, rng)
        for sample in range(min(PROGRAMS_PER_QUESTION, programs - len(out))):
            kind = rng.choices(kinds, weights)[0]
            code = _sample(task, kind, inputs[0], rng)
            out.append(Program(f"q{question}-s{sample}", code, tuple(tests), kind, task.entry, tuple(inputs)))
        question += 1
    return out


def slow_workload(clean: list[Program], seed: int = 3) -> list[Program]:
    """`clean` with SLOW_SHARE more programs (at least one), correct but slow.

    A slow program is its host question's reference solution behind a wrapper that
    first makes a needless pure-Python pass of a seeded number of iterations
    (SLOW_WORK) on every call: every test passes, each takes about 2-9 ms in-process
    (about 30-150 ms a program), far below any per-test timeout. Each is inserted
    just before its host, with the host's tests, as a sampler groups its programs.
    """
    rng = random.Random(seed)
    count = max(1, round(SLOW_SHARE * len(clean)))
    positions = sorted(rng.sample(range(len(clean)), count))
    tasks = {task.entry: task for task in TASKS}
    out = list(clean)
    for offset, position in enumerate(positions):
        host = clean[position]
        program = _slow(tasks[host.entry], rng.randint(*SLOW_WORK))
        question = host.id.split("-")[0]
        out.insert(
            position + offset,
            Program(f"{question}-slow{offset}", program, host.tests, "slow", host.entry, host.inputs),
        )
    return out


def hang_workload(clean: list[Program], seed: int = 2) -> list[Program]:
    """`clean` with HANG_SHARE more programs, each hanging in one test.

    Their number is even (at least 4), so that two workers can share the hangs evenly.

    A hanging program is a correct solution wrapped so that the call of one test
    (not among the first two or last two) hangs; the last two hang in the regex and
    the C loop, the others in `while True: pass`.
    """
    rng = random.Random(seed)
    count = max(4, 2 * round(HANG_SHARE * len(clean) / 2))
    bodies = ["loop"] * (count - 2) + ["regex", "c_loop"]
    positions = sorted(rng.sample(range(len(clean)), count))
    tasks = {task.entry: task for task in TASKS}
    out = list(clean)
    for offset, (position, body) in enumerate(zip(positions, bodies, strict=True)):
        host = clean[position]
        index = rng.randint(2, len(host.tests) - 3)
        program = _hanging(tasks[host.entry], host.inputs[index], HANG_BODIES[body])
        out.insert(
            position + offset,
            Program(f"hang-{body}-{offset}", program, host.tests, "hang", host.entry, host.inputs, index),
        )
    return out


def _hanging(task: Task, args: tuple, hang: str) -> str:
    """The task's reference solution, made to hang when called with `args`."""
    before = f"    if args == {args!r}:\n        {hang}\n"
    return _wrapped(task, before, imports="import itertools\nimport re\n\n\n")


def _slow(task: Task, work: int) -> str:
    """The task's reference solution, made to loop `work` times for nothing on every call."""
    before = (
        "    checksum = 0\n"
        f"    for i in range({work}):  # a needless pass on every call: the slow part\n"
        "        checksum = (checksum + i * i) % 1000003\n"
    )
    return _wrapped(task, before)


def _wrapped(task: Task, before: str, imports: str = "") -> str:
    """The task's reference solution, renamed, called by a wrapper whose body starts with `before`."""
    inner = f"_{task.entry}_impl"
    solution = task.correct[0].replace(f"def {task.entry}(", f"def {inner}(", 1)
    wrapper = f"def {task.entry}(*args):\n{before}    return {inner}(*args)\n"
    return f"{imports}{solution}\n\n{wrapper}"


# ---------------------------------------------------------------- the input/output form


@dataclass(frozen=True)
class Expected:
    """A program's tests as EvalPlus states them: each input's expected output, the
    reference's seconds on it, and the tolerance for floats."""

    inputs: tuple
    outputs: tuple
    seconds: tuple[float, ...]
    atol: float


def expected_outputs(program: Program) -> Expected:
    """The outputs of the program's question's reference solution on its inputs (run here:
    the reference is ours, not a model's), timed per input as EvalPlus times its ground truth."""
    import time

    task = next(task for task in TASKS if task.entry == program.entry)
    scope: dict = {}
    exec(task.correct[0], scope)
    reference = scope[task.entry]
    outputs, seconds = [], []
    for args in program.inputs:
        started = time.perf_counter()
        outputs.append(reference(*copy.deepcopy(args)))
        seconds.append(time.perf_counter() - started)
    atol = 1e-6 if task.style == "approx" else 0.0
    return Expected(tuple(program.inputs), tuple(outputs), tuple(seconds), atol)
