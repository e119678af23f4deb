"""The records that stages exchange, one type per artefact, defined here once.

Records are plain dataclasses so that hot paths (RL rewards, best-of-N) pay nothing
for them; files of records are validated on the way in by `acecoder.data.jsonl`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum


class ProgramStatus(StrEnum):
    """What happened when the program itself (its top level) was run."""

    OK = "ok"
    SYNTAX_ERROR = "syntax_error"
    IMPORT_ERROR = "import_error"  # a module it imports is missing
    RUNTIME_ERROR = "runtime_error"  # an exception at top level
    TIMEOUT = "timeout"  # the top level ran past its time limit
    CRASHED = "crashed"  # the process died (signal, os._exit, CPU limit)
    MEMORY_EXCEEDED = "memory_exceeded"


class TestOutcome(StrEnum):
    """The verdict of one test."""

    __test__ = False  # not a pytest class

    PASS = "pass"
    FAIL = "fail"  # the assertion was false
    ERROR = "error"  # any other exception; `messages` says which
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # the process died during this test
    NOT_RUN = "not_run"  # the program did not load, so no test ran


class SuiteKind(StrEnum):
    """The forms a question's tests come in (see `TestSuite`)."""

    ASSERTS = "asserts"  # assert statements run after the program (AceCode-87K, HumanEval, MBPP)
    STDIO = "stdio"  # the program reads stdin; its stdout is compared (APPS, CodeContests, TACO)
    CALL = "call"  # a function or a `Solution` method called on JSON arguments (APPS/TACO `fn_name`, LeetCode)
    PYTEST = "pytest"  # a pytest file importing from `solution` (KodCode)


class SuiteRule(StrEnum):
    """Whose grader judges a stdio or call suite (the comparisons differ: docs/test_suites.md)."""

    PRIME_CODE = "prime_code"  # verl's prime_code, APPS's testing_util (what verl routes APPS/TACO/... to)
    LIVECODEBENCH = "livecodebench"  # LiveCodeBench's testing_util


@dataclass(frozen=True, slots=True, kw_only=True)
class TestSuite:
    """A question's tests in one of the `SuiteKind`s; each case is one verdict with its
    own time limit. Read from the published layouts by `acecoder.data.suites.read_suite`.

    `cases`, per kind:
    - asserts: the assert statements;
    - stdio: (stdin, expected stdout) text pairs;
    - call: (arguments, expected return) as JSON text: one argument per line, as APPS writes them;
    - pytest: the test ids in the file (`test_f`, `test_g[2-4]`, `TestC::test_h`), in pytest's
      collection order; empty until collected (the engine collects them in the sandbox).
    """

    __test__ = False  # not a pytest class

    kind: SuiteKind
    cases: tuple = ()
    fn_name: str | None = None  # call: the function (or Solution method) called
    code: str | None = None  # pytest: the test file
    rule: SuiteRule = SuiteRule.PRIME_CODE  # stdio and call: whose comparison

    def __len__(self) -> int:
        return len(self.cases)

    def to_dict(self) -> dict:
        """Plain JSON data, in the layout `read_suite` reads back."""
        row = {"kind": str(self.kind), "cases": [list(c) if isinstance(c, tuple) else c for c in self.cases]}
        if self.fn_name is not None:
            row["fn_name"] = self.fn_name
        if self.code is not None:
            row["code"] = self.code
        if self.kind in (SuiteKind.STDIO, SuiteKind.CALL):
            row["rule"] = str(self.rule)
        return row


@dataclass(slots=True, kw_only=True)
class ExecutionJob:
    """A program to run against a question's tests: assert statements, or a TestSuite of any kind."""

    id: str
    program: str
    tests: list[str] | TestSuite
    limits: list[float] | None = None  # seconds per test; None: the engine's `timeout` for each
    # Leave the tests after one that timed out or crashed not run; an int k: those from test k
    # on (a score that reads only the first k tests once one fails: verl's prime_code).
    stop_at_timeout: bool | int = False
    capture: bool = False  # return the value of each check-shaped test's expression in `values`


@dataclass(slots=True, kw_only=True)
class ExecutionResult:
    """The outcome of every test of one program, in the order of its tests."""

    id: str
    status: ProgramStatus
    outcomes: list[TestOutcome]
    pass_rate: float  # passed tests / all tests (0.0 without tests)
    messages: list[str | None] = field(default_factory=list)  # per test, why it did not pass
    error: str | None = None  # why the program did not load
    seconds: float = 0.0  # wall time in the sandbox, restarts included
    test_cpu_seconds: list[float] = field(default_factory=list)  # per test: user + system, children included
    test_wall_seconds: list[float] = field(default_factory=list)  # per test
    values: list | None = None  # per test, its expression's value (jobs with `capture`; None where it had none)

    @property
    def passed(self) -> int:
        return sum(outcome is TestOutcome.PASS for outcome in self.outcomes)

    @property
    def all_passed(self) -> bool:
        return bool(self.outcomes) and self.passed == len(self.outcomes)

    def to_dict(self) -> dict:
        row = dataclasses.asdict(self)
        if row["values"] is None:  # only jobs that asked for them have any
            del row["values"]
        return row


# ---------------------------------------------------------------- questions and programs


@dataclass(slots=True, kw_only=True)
class Question:
    """A self-contained coding question and its tests (what `synth` writes, with asserts)."""

    id: str  # stable, e.g. "oss_123"
    source: str  # the seed family: "evol", "oss", "stack", ...
    question: str
    # Assert statements, or a suite of another kind as an object in any layout
    # `acecoder.data.suites.read_suite` reads (APPS/TACO inputs/outputs, fn_name, KodCode's
    # {"test": pytest file}, {"kind", "cases"}): what `filter` and `execute` take.
    tests: list[str] | dict
    reference: str | None = None  # a known-correct program (the seed's own), if any
    reference_tests: list[str] | None = None  # independent tests (a benchmark's own), if any
    metadata: dict = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Sample:
    """One program a model wrote for a question (what `sample` writes)."""

    question_id: str
    model: str
    sample_index: int  # 0..n-1 among this model's samples of the question
    completion: str  # the raw model output
    program: str  # the code extracted from it

    @property
    def id(self) -> str:
        return f"{self.question_id}/{self.model}/{self.sample_index}"


# ---------------------------------------------------------------- the dataset


@dataclass(slots=True, kw_only=True)
class Inference:
    """A scored program of a dataset row (an entry of AceCode-87K's `inferences`)."""

    model_name: str
    completion_id: int
    completion: str
    pass_rate: float  # passed kept tests / kept tests
    test_results: list[str] = field(default_factory=list)  # a TestOutcome per kept test (ours)


@dataclass(slots=True, kw_only=True)
class DatasetRow:
    """One question of the filtered dataset, in the layout of the released AceCode-87K."""

    id: str
    source: str
    question: str
    test_cases: list[str] | dict  # the tests the oracle passes: asserts, or a suite's `TestSuite.to_dict()`
    inferences: list[Inference]
    context_messages: list[dict]  # [{"role": "user", "content": question}]
    test_seconds: list[float] | None = None  # the oracle's CPU seconds on each test (acecoder's filter; not in AceCode-87K)


@dataclass(slots=True, kw_only=True)
class Pair:
    """A preference between two programs of one question, for reward-model training."""

    id: str
    question_id: str
    question: str
    tests: list[str] | dict  # the question's kept tests (as its row's test_cases); prompts show a first assert
    chosen: str  # the program with the higher pass rate
    rejected: str
    chosen_pass_rate: float
    rejected_pass_rate: float
    chosen_model: str
    rejected_model: str

    @property
    def margin(self) -> float:
        """The pass-rate gap, for trainers that weight pairs by it."""
        return self.chosen_pass_rate - self.rejected_pass_rate


# ---------------------------------------------------------------- reward models and benchmarks


@dataclass(slots=True, kw_only=True)
class Score:
    """A reward model's score of one sample (what `score` writes); keyed like its Sample."""

    question_id: str
    model: str  # the policy model that wrote the program
    sample_index: int
    reward_model: str
    score: float  # unbounded; higher is better

    @property
    def id(self) -> str:
        return f"{self.question_id}/{self.model}/{self.sample_index}"


@dataclass(slots=True, kw_only=True)
class Problem:
    """A benchmark problem, one shape for every benchmark (HumanEval(+), MBPP(+),
    LiveCodeBench, BigCodeBench)."""

    id: str  # the benchmark's own id, e.g. "HumanEval/0"
    benchmark: str  # "humaneval", "humaneval+", "mbpp", "mbpp+", "livecodebench", "bigcodebench-complete", ...
    prompt: str  # what the model is shown
    tests: list[str]  # test snippets the execution engine runs after the program
    entry_point: str | None = None  # the function under test, where there is one
    reference: str | None = None  # the benchmark's reference solution, where given
    timeout: float = 3.0  # seconds per test, the benchmark's own limit
    limits: list[float] | None = None  # seconds per test where the benchmark sets each (EvalPlus), else None
    metadata: dict = field(default_factory=dict)
