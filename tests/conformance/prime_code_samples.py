"""Problems in the APPS/TACO layout ({"inputs", "outputs"[, "fn_name"]}, the JSON text verl's
datasets carry in `reward_model.ground_truth`) and model-like programs for them, built here.

Each problem's expected outputs come from a reference function in this file; the programs
cover what the issue asks for: right, wrong, crash, timeout, wrong output format, trailing
spaces and blank lines, floats, big ints, `Solution` classes, a program that reads all of
stdin at once, one that prints per line, plus the cases where APPS's grader is odd
(`exit()`, a last `if __name__ == '__main__':` block, more than 10 cases).
Shared by the conformance test and benchmarks/bench_prime_code.py.
"""

import json
import math

PROBLEMS: dict[str, dict] = {}  # name -> ground truth (dict form)
SAMPLES: dict[str, list[str]] = {}  # name -> programs


def stdio(name: str, inputs: list[str], solve, programs: list[str]) -> None:
    PROBLEMS[name] = {"inputs": inputs, "outputs": [solve(i) for i in inputs]}
    SAMPLES[name] = programs


def call(name: str, fn_name: str, args: list[list], solve, programs: list[str]) -> None:
    PROBLEMS[name] = {"fn_name": fn_name, "inputs": ["\n".join(json.dumps(a) for a in case) for case in args],
                      "outputs": [json.dumps(solve(*case)) for case in args]}
    SAMPLES[name] = programs


READ2 = "a, b = map(int, input().split())\n"
# ---------------------------------------------------------------- stdin/stdout
stdio("sum", ["1 2\n", "5 5\n", "-3 1\n", "100 23\n"], lambda s: f"{sum(map(int, s.split()))}\n", [
    READ2 + "print(a + b)",  # right
    "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)",  # reads all of stdin
    "data = open(0).read().split()\nprint(int(data[0]) + int(data[1]))",  # open(0): a mock_open there
    "import sys\ninput = sys.stdin.readline\na, b = map(int, input().split())\nprint(a + b)",
    "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\nif __name__ == '__main__':\n    main()",
    READ2 + "print(a - b)",  # wrong
    READ2 + "print(a + b, end=' ')",  # trailing space, no newline
    READ2 + "print(a + b)\nprint()\nprint()",  # trailing blank lines
    READ2 + "print(' ', a + b, ' ')",  # spaces around
    READ2 + "print(a + b)\nexit()",  # exit is None there (reliability_guard)
    READ2 + "print(a + b)\nimport sys\nsys.exit(0)",  # SystemExit is caught
    READ2 + "print(a + b)\nraise ValueError('late')",  # crash after printing
    "print(int('x'))",  # crash
    READ2 + "print(float(a + b))",  # 3.0 for 3: the float step
    "import sys\nsys.stdout.write(str(sum(map(int, input().split()))))",
    "import sys\nsys.stdout.buffer.write(b'3')",  # no .buffer on a StringIO
    "a, b = map(int, input().split()\nprint(a + b)",  # syntax error
    "import resource\n" + READ2 + "print(a + b)",  # resource is blocked there
    "import numpy as np\n" + READ2 + "print(np.int64(a) + b)",
])
stdio("lines", ["3\n1 2 3\n", "1\n7\n", "4\n5 0 5 0\n"], lambda s: "".join(f"{2 * int(x)}\n" for x in s.split()[1:]), [
    "n = int(input())\nfor x in input().split():\n    print(2 * int(x))",  # prints per line
    "n = int(input())\nprint('\\n'.join(str(2 * int(x)) for x in input().split()))",
    "n = int(input())\nprint(' '.join(str(2 * int(x)) for x in input().split()))",  # one line: wrong format
    "n = int(input())\nfor x in input().split():\n    print(2 * int(x), end='\\n\\n')",  # blank lines between
    "n = int(input())\nfor x in input().split():\n    print(2 * int(x), '')",  # trailing space per line
    "n = int(input())\nfor x in input().split():\n    print(' ' + str(2 * int(x)))",  # leading space per line
    "n = int(input())\nfor x in input().split():\n    print(2 * int(x) + 1)",
    "import sys\nt = sys.stdin.read().split()\nprint(*[2 * int(x) for x in t[1:]], sep='\\n')",
    "n = int(input())\nxs = input().split()\nfor i in range(n + 1):\n    print(2 * int(xs[i]))",  # crash at the end
])
stdio("mean", ["1 2 4\n", "1 1\n", "10 0 0\n", "7\n"], lambda s: f"{sum(map(int, s.split())) / len(s.split()):.6f}\n", [
    "xs = list(map(int, input().split()))\nprint('%.6f' % (sum(xs) / len(xs)))",
    "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs))",  # repr: within 1e-5
    "xs = list(map(int, input().split()))\nprint('%.2f' % (sum(xs) / len(xs)))",  # too coarse
    "xs = list(map(int, input().split()))\nprint('%.4f' % (sum(xs) / len(xs)))",  # 1e-5 relative: sometimes
    "xs = list(map(int, input().split()))\nprint(round(sum(xs) / len(xs), 5))",
    "xs = list(map(int, input().split()))\nprint(sum(xs) // len(xs))",
    "xs = list(map(int, input().split()))\nprint('%.6f ' % (sum(xs) / len(xs)))",
    "xs = list(map(int, input().split()))\nprint('%.6e' % (sum(xs) / len(xs)))",
])
stdio("fact", ["5\n", "30\n", "100\n"], lambda s: f"{math.factorial(int(s))}\n", [
    "import math\nprint(math.factorial(int(input())))",  # big ints
    "n = int(input())\nr = 1\nfor i in range(2, n + 1):\n    r *= i\nprint(r)",
    "import math\nprint(float(math.factorial(int(input()))))",  # a float: close as floats there
    "import math\nprint(math.factorial(int(input())) + 1)",  # off by one: exact for digits
    "import math\nprint(str(math.factorial(int(input())))[:-1])",
    "import math\nprint('%e' % math.factorial(int(input())))",
])
stdio("neg", ["5\n", "-2\n", "0\n"], lambda s: f"{-int(s)}\n", [
    "print(-int(input()))",
    "print(-float(input()))",  # -5.0 for -5
    "print(0 - int(input()), end='')",
    "print(abs(int(input())))",
    "print('-' + input().strip())",  # --2
])
stdio("yes", ["4\n", "7\n", "10\n"], lambda s: "YES\n" if int(s) % 2 == 0 else "NO\n", [
    "print('YES' if int(input()) % 2 == 0 else 'NO')",
    "print('Yes' if int(input()) % 2 == 0 else 'No')",  # letter case counts
    "print('YES' if int(input()) % 2 else 'NO')",
    "n = int(input())\nif n % 2:\n    print('NO')\n    exit()\nprint('YES')",  # exit() on odd inputs
    "import sys\nn = int(input())\nif n % 2:\n    print('NO')\n    sys.exit()\nprint('YES')",
    "print(['NO', 'YES'][int(input()) % 2 == 0].lower())",
])
stdio("words", ["hello world\n", "a b c\n", "x\n"], lambda s: " ".join(reversed(s.split())) + "\n", [
    "print(' '.join(input().split()[::-1]))",
    "print('  '.join(input().split()[::-1]))",  # two spaces inside a line
    "print(*input().split()[::-1])",
    "print(input()[::-1])",  # letters reversed too
    "print(' '.join(reversed(input().split())), end='\\n\\n\\n')",
    "w = input().split()\nw.reverse()\nfor x in w:\n    print(x, end=' ')",  # trailing space, no newline
])
stdio("grid", ["2 3\n", "1 1\n", "3 2\n"], lambda s: "".join(" ".join(str(r * c) for c in range(int(s.split()[1]))) + "\n"
                                                             for r in range(int(s.split()[0]))), [
    "n, m = map(int, input().split())\nfor r in range(n):\n    print(*[r * c for c in range(m)])",
    "n, m = map(int, input().split())\nfor r in range(n):\n    print(' '.join(str(r * c) for c in range(m)) + ' ')",
    "n, m = map(int, input().split())\nfor r in range(n):\n    print(','.join(str(r * c) for c in range(m)))",
    "n, m = map(int, input().split())\nfor r in range(m):\n    print(*[r * c for c in range(n)])",  # transposed
    "n, m = map(int, input().split())\nout = []\nfor r in range(n):\n    out.append(' '.join(str(r * c) for c in range(m)))\n"
    "print('\\n'.join(out))",
])
stdio("multi", ["3\n1\n2\n3\n", "2\n10\n20\n"], lambda s: "".join(f"{int(x) ** 2}\n" for x in s.split()[1:]), [
    "for _ in range(int(input())):\n    print(int(input()) ** 2)",
    "import sys\nxs = sys.stdin.read().split()\nprint('\\n'.join(str(int(x) ** 2) for x in xs[1:]))",
    "import sys\nlines = sys.stdin.readlines()\nfor l in lines[1:]:\n    print(int(l) ** 2)",  # a last '' line: crash
    "import sys\nfor l in sys.stdin:\n    pass\nprint(0)",
    "t = int(input())\nfor _ in range(t - 1):\n    print(int(input()) ** 2)",  # one short
    "for _ in range(int(input())):\n    print(int(input()) * 2)",
])
stdio("global", ["3\n", "5\n"], lambda s: f"{int(s) * 2}\n", [
    "n = int(input())\ntotal = 0\ndef add(x):\n    global total\n    total += x\nadd(n)\nadd(n)\nprint(total)",  # wrapped: fails
    "n = int(input())\nprint(n * 2)",
    "import sys\nsys.setrecursionlimit(10000)\ndef f(k):\n    return 0 if k == 0 else 2 + f(k - 1)\nprint(f(int(input())))",
    "from functools import lru_cache\n@lru_cache(None)\ndef f(k):\n    return 0 if k == 0 else 2 + f(k - 1)\n"
    "print(f(int(input())))",
])
stdio("prelude", ["3 1 2\n", "9 8 7\n"], lambda s: f"{min(map(int, s.split()))}\n", [
    "xs = list(map(int, input().split()))\nheapify(xs)\nprint(xs[0])",  # heapify from the prelude
    "print(min(map(int, stdin.readline().split())))",  # `stdin` bound at load: reads nothing
    "print(reduce(lambda a, b: a if a < b else b, map(int, input().split())))",
    "print(sorted(map(int, input().split()))[1])",
])
stdio("many", [f"{i}\n" for i in range(14)], lambda s: f"{int(s) * 3}\n", [
    "print(int(input()) * 3)",
    "n = int(input())\nprint(n * 3 if n != 12 else 0)",  # wrong only past the 10th case: 1.0 there
    "n = int(input())\nprint(n * 3 if n != 2 else 0)",  # wrong on the 3rd: 0.9
    "n = int(input())\nprint(n * 3 if n % 2 else -1)",
    "n = int(input())\nif n == 11:\n    raise SystemError\nprint(n * 3)",
])
stdio("empty", ["0\n", "1\n"], lambda s: "" if s.strip() == "0" else "1\n", [
    "n = int(input())\nif n:\n    print(n)",
    "print(int(input()))",
    "n = int(input())\nprint(n if n else '')",
])
stdio("spaces_in", ["  4   5  \n", "1\t2\n"], lambda s: f"{sum(map(int, s.split()))}\n", [
    "print(sum(map(int, input().split())))",
    "a, b = input().strip().split(' ')\nprint(int(a) + int(b))",  # crashes on runs of spaces
    "import re\nprint(sum(map(int, re.findall(r'-?\\d+', input()))))",
])
stdio("loop", ["1\n"], lambda s: "1\n", [
    "while True:\n    pass",  # never ends
    "print(1)",
])
for k in range(12):  # small variants: enough problems and cases of each shape
    mod = k + 2
    stdio(f"mod{k}", [f"{v}\n" for v in (k, k + 7, 3 * k + 11, 100 + k)], lambda s, m=mod: f"{int(s) % m}\n", [
        f"print(int(input()) % {mod})",
        f"print(int(input()) % {mod + 1})",
        f"x = int(input())\nprint(x - (x // {mod}) * {mod})",
        f"print(divmod(int(input()), {mod})[1], '')",
        f"print(str(int(input()) % {mod}) + '\\n')",
        "print(int(input()) % 0)",
        f"print(int(input()) % {mod} if {k} % 3 else 0)",
    ])
for k in range(6):  # floats printed at several precisions
    stdio(f"avg{k}", [f"{k} {k + 1} {2 * k + 5}\n", f"1 {k + 3}\n", f"{10 * k + 1}\n"],
          lambda s: f"{sum(map(int, s.split())) / len(s.split()) / 7:.{5 + k % 3}f}\n", [
        f"xs = list(map(int, input().split()))\nprint('%.{5 + k % 3}f' % (sum(xs) / len(xs) / 7))",
        "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs) / 7)",
        f"xs = list(map(int, input().split()))\nprint('%.{k % 4 + 1}f' % (sum(xs) / len(xs) / 7))",
        "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs) / 7 * 1.00002)",  # past 1e-5
        "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs) / 7 * 1.000001)",  # within it
        "xs = list(map(int, input().split()))\nprint(sum(xs) / len(xs) / 7, sum(xs))",  # two numbers
    ])

# ---------------------------------------------------------------- call-based
call("add", "add", [[1, 2], [5, 5], [-1, 1]], lambda a, b: a + b, [
    "def add(a, b):\n    return a + b",
    "def add(a, b):\n    return a - b",
    "class Solution:\n    def add(self, a, b):\n        return a + b",  # a Solution class
    "def add(a, b):\n    return float(a + b)",  # 3.0 == 3
    "def add(a, b):\n    return str(a + b)",
    "def add(a, b):\n    raise ValueError",
    "def plus(a, b):\n    return a + b",  # no such function
    "def add(a, b):\n    return [a + b]",  # [3] == 3? no; 3 == [3][0]? only the other way
    "def add(a, b):\n    return (a + b,)",
    "def add(a, b, c):\n    return a + b",
])
call("two_sum", "twoSum", [[[2, 7, 11, 15], 9], [[3, 2, 4], 6], [[3, 3], 6]],
     lambda nums, t: next([i, j] for i in range(len(nums)) for j in range(i + 1, len(nums)) if nums[i] + nums[j] == t), [
    "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        seen = {}\n"
    "        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [seen[target - x], i]\n"
    "            seen[x] = i",
    "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n"
    "            if target - x in seen:\n                return (seen[target - x], i)\n            seen[x] = i",  # a tuple
    "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]",
    "class Solution:\n    def twoSum(self, nums, target):\n        return {0, 1}",  # a set: json.dumps refuses
    "class Solution:\n    def twoSum(self, nums, target):\n        return None",
    "def twoSum(nums, target):\n    return [0, 1]",
])
call("pairs", "pairs", [[3], [1], [0]], lambda n: [[i, i * i] for i in range(n)], [
    "def pairs(n):\n    return [[i, i * i] for i in range(n)]",
    "def pairs(n):\n    return [(i, i * i) for i in range(n)]",  # tuples inside: APPS's own rescue
    "def pairs(n):\n    return tuple((i, i * i) for i in range(n))",
    "def pairs(n):\n    return [[i, i * i] for i in range(n + 1)]",
])
call("big", "power", [[2, 100], [3, 200], [10, 50]], lambda a, b: a ** b, [
    "def power(a, b):\n    return a ** b",
    "def power(a, b):\n    return pow(a, b) + 1",
    "def power(a, b):\n    return float(a) ** b",  # a float: equal as numbers only when exact
    "import math\ndef power(a, b):\n    return int(math.exp(b * math.log(a)))",
])
call("ratio", "ratio", [[1, 3], [2, 4], [10, 4]], lambda a, b: a / b, [
    "def ratio(a, b):\n    return a / b",
    "def ratio(a, b):\n    return round(a / b, 6)",  # no tolerance for calls
    "def ratio(a, b):\n    return a // b",
    "from fractions import Fraction\ndef ratio(a, b):\n    return float(Fraction(a, b))",
])
call("keys", "square_map", [[3], [1]], lambda n: {str(i): i * i for i in range(n)}, [
    "def square_map(n):\n    return {i: i * i for i in range(n)}",  # int keys: APPS's key fix
    "def square_map(n):\n    return {str(i): i * i for i in range(n)}",
    "def square_map(n):\n    return [{i: i * i for i in range(n)}]",
    "def square_map(n):\n    return {i: i for i in range(n)}",
])
call("state", "tick", [[1], [1], [1]], lambda x: 1, [
    "class Solution:\n    def __init__(self):\n        self.n = 0\n    def tick(self, x):\n        self.n += x\n"
    "        return self.n",  # state across cases: right on the first only
    "class Solution:\n    def tick(self, x):\n        return x",
])
call("strings", "shout", [["abc"], [""], ["Hi there"]], lambda s: s.upper() + "!", [
    "def shout(s):\n    return s.upper() + '!'",
    "def shout(s):\n    return s.upper()",
    "def shout(s):\n    return (s + '!').upper()",
    "def shout(s):\n    print(s)\n    return s.upper() + '!'",  # printing does not matter for calls
    "def shout(s):\n    return bytes(s.upper() + '!', 'ascii')",
])
call("cloop", "f", [[1]], lambda x: x, [
    "def f(x):\n    while True:\n        pass",  # never returns
    "def f(x):\n    return x",
])
for k in range(8):  # call-based variants: a function or a Solution method, lists and numbers
    fn = f"scale{k}"
    call(f"scale{k}", fn, [[[1, 2, 3], k], [[], k + 1], [[k, -k], 2]], lambda xs, m: [x * m for x in xs], [
        f"def {fn}(xs, m):\n    return [x * m for x in xs]",
        f"class Solution:\n    def {fn}(self, xs, m):\n        return [x * m for x in xs]",
        f"def {fn}(xs, m):\n    return tuple(x * m for x in xs)",
        f"def {fn}(xs, m):\n    return [x * m for x in xs][:2]",
        f"def {fn}(xs, m):\n    return map(lambda x: x * m, xs)",  # a map object: json.dumps refuses
        f"def {fn}(xs, m):\n    xs.append(0)\n    return [x * m for x in xs[:-1]]",
        f"def {fn}(xs, m):\n    return [float(x * m) for x in xs]",
    ])
