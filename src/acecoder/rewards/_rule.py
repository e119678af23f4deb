"""The rule reward: run each completion's program against its question's tests.

The method's RL reward (ACECODER, arXiv 2502.01718, §9 of our method notes) is
binary: 1 when every test passes, else 0. The original scripts also tried the raw
pass rate, and a later release used ±1; all three are a `kind` here. For the
R1-style run from a base model an optional format term adds `format_weight` when
the completion has its reasoning in one think block followed by the answer in a
fenced block (or answer tags); the code is taken from after the reasoning.

Scoring goes through the execution engine (`acecoder.execution.Engine`): every
program runs in a sandboxed process with a per-test time limit, so a hanging or
crashing program costs at most its limit and yields reward 0, never an exception.
One engine serves every call of a run (starting one costs ~0.1 s); a whole rollout
batch is submitted at once, so all workers stay busy. Identical (program, tests)
pairs within a batch - frequent among 8 samples of one prompt - run once.

If the engine itself fails (not a program: the sandbox), it is restarted and the
batch retried once; after that the affected rewards are None ("unscorable"; TRL
gives them no advantage, the other adapters read 0).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from acecoder.data.code import extract_code
from acecoder.errors import ConfigError, SandboxError
from acecoder.records import ExecutionJob, ExecutionResult, SuiteKind, TestOutcome, TestSuite

log = logging.getLogger(__name__)

RewardKind = Literal["binary", "pass_rate", "signed", "prime_code"]
KINDS = ("binary", "pass_rate", "signed", "prime_code")
# verl's prime_code continuous score (what verl's default reward uses for APPS, TACO,
# CodeContests, Codeforces): 1 when every test passes, else the pass rate of the first
# 10 tests alone ("do not test all samples cuz some problems have enormous test cases").
PRIME_CODE_FIRST = 10

_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCED = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n.*?\n[ \t]*```", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)

# The system prompt of the R1-style run from a base model (§9): reasoning first, in
# think tags, then the program in a fenced block - what `format_ok` checks.
R1_SYSTEM_PROMPT = (
    "You are a careful Python programmer. First think through the problem step by step "
    "inside <think> </think> tags. Then give your final answer: a complete, self-contained "
    "program in a single ```python code block after the closing </think> tag."
)


def completion_text(completion) -> str:
    """The text of a completion: a string, or chat messages (TRL's conversational
    form: the assistant turn(s) as [{"role": ..., "content": ...}])."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)):
        return "".join(str(m.get("content") or "") if isinstance(m, dict) else str(m) for m in completion)
    return str(completion)


def program_of(completion) -> str:
    """The program in a completion: the reasoning dropped, then the inside of answer
    tags if any, then the fenced python block (`acecoder.data.code.extract_code`);
    "" when a <think> is never closed (no answer: reward 0, `format_ok` False)."""
    text = completion_text(completion)
    opens, closes = list(_THINK_OPEN.finditer(text)), list(_THINK_CLOSE.finditer(text))
    if opens and (not closes or opens[-1].start() > closes[-1].start()):
        # The reasoning never ended (a completion cut at its length limit): there is no
        # answer, only draft code inside the reasoning, which the method's reward drops.
        return ""
    if closes:  # reasoning first: only what follows the last </think> is the answer
        text = text[closes[-1].end():]
    answers = _ANSWER.findall(text)
    if answers:
        text = answers[-1]
    return extract_code(text)


def format_ok(completion) -> bool:
    """The R1 format: one reasoning block closed by </think> (its <think> may be in the
    prompt), then an answer holding a fenced code block; nothing after the fence but
    whitespace or a closing answer tag."""
    text = completion_text(completion)
    if len(_THINK_CLOSE.findall(text)) != 1 or len(_THINK_OPEN.findall(text)) > 1:
        return False
    reasoning, answer = _THINK_CLOSE.split(text, maxsplit=1)
    if not reasoning.replace("<think>", "").strip():
        return False  # an empty reasoning block is not reasoning
    fences = list(_FENCED.finditer(answer))
    if len(fences) != 1:
        return False
    tail = answer[fences[0].end():].strip()
    return tail in ("", "</answer>")


def prime_code_value(result: ExecutionResult, *, partial: bool = True) -> float:
    """verl's default reward for prime_code data: 1 when every case passes, else the pass
    rate of the first 10 cases (`partial`; 0 without it). verl 0.9.1's per-case runs drop
    `fn_name`, judging a call-based case as a stdin program that prints nothing, so a
    call-based program that fails one case scores 0 there: call suites get partial=False."""
    if result.all_passed:
        return 1.0
    if not partial:
        return 0.0
    head = result.outcomes[:PRIME_CODE_FIRST]
    return sum(o is TestOutcome.PASS for o in head) / max(len(head), 1)


@dataclass(kw_only=True)
class RuleScores:
    """One batch's rule rewards and what they came from, for logging."""

    rewards: list[float | None]  # per completion; None when the sandbox could not score it
    results: list[ExecutionResult | None]  # per completion, in input order
    format_ok: list[bool] = field(default_factory=list)  # per completion (all False unless checked)
    seconds: float = 0.0  # wall time of the whole batch
    programs_run: int = 0  # distinct (program, tests) pairs executed

    @property
    def pass_rates(self) -> list[float]:
        return [r.pass_rate if r is not None else 0.0 for r in self.results]

    @property
    def all_passed(self) -> list[bool]:
        return [r is not None and r.all_passed for r in self.results]


class TestReward:
    """The rule reward on a shared execution engine.

        reward = TestReward(kind="binary")            # the method's choice
        rewards = reward.score(completions, tests)    # one call per rollout batch
        rewards = await reward.ascore(completions, tests)
        reward.close()                                # or use it as a context manager
    """

    __test__ = False  # not a pytest class

    def __init__(
        self,
        *,
        kind: RewardKind = "binary",
        format_weight: float = 0.0,
        engine=None,
        workers: int | None = None,
        timeout: float = 3.0,
        memory_mb: int = 2048,
    ):
        """
        Args:
            kind: "binary" (1 when every test passes, else 0; the paper's choice),
                "pass_rate" (passed / all tests), "signed" (+1 all pass, else -1), or
                "prime_code" (1 when every test passes, else the pass rate of the first 10:
                verl's default score of stdin/stdout data, `prime_code` continuous).
            format_weight: added to the reward when `format_ok` holds (R1-style runs);
                0 leaves the format unchecked.
            engine: an `acecoder.execution.Engine` to share; by default one is started
                on first use and closed by `close()`.
            workers: sandbox processes of the default engine (default: CPU cores).
            timeout: CPU seconds each test may take (a test that sleeps or blocks is stopped
                after 5x that in wall time).
            memory_mb: address-space limit per program, MiB.
        """
        if kind not in KINDS:
            raise ConfigError(f"reward kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
        if timeout <= 0:
            raise ConfigError(f"timeout is {timeout}: give a positive number of seconds")
        self.kind, self.format_weight = kind, float(format_weight)
        self._engine, self._own = engine, engine is None
        self._options = {"workers": workers, "timeout": timeout, "memory_mb": memory_mb}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ engine plumbing

    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                from acecoder.execution import Engine

                self._engine = Engine(**self._options)
            return self._engine

    def _restart(self) -> None:
        with self._lock:
            if not self._own:
                return  # a shared engine is its owner's to restart
            old, self._engine = self._engine, None
        if old is not None:
            try:
                old.close()
            except Exception:  # noqa: BLE001 - it is broken already
                pass

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None and self._own:
            engine.close()

    def __enter__(self) -> TestReward:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ ALGO LOGIC

    def value(self, result: ExecutionResult | None, formatted: bool, kind: RewardKind | None = None,
              suite_kind: SuiteKind | None = None) -> float | None:
        """The reward of one program's verdict (None: unscorable); `kind`: this one's instead
        of ours; `suite_kind`: the kind of the tests it was judged on."""
        if result is None:
            return None
        kind = kind or self.kind
        if kind == "binary":
            reward = 1.0 if result.all_passed else 0.0
        elif kind == "signed":
            reward = 1.0 if result.all_passed else -1.0
        elif kind == "prime_code":  # call suites: binary, see `prime_code_value`
            reward = prime_code_value(result, partial=suite_kind is not SuiteKind.CALL)
        else:
            reward = result.pass_rate
        return reward + (self.format_weight if formatted else 0.0)

    def _plan(self, completions: Sequence, tests: Sequence[Sequence[str]], limits=None, stops=None):
        if len(completions) != len(tests):
            raise ValueError(f"{len(completions)} completions but {len(tests)} test lists: give one per completion")
        limits = limits if limits is not None else [None] * len(tests)
        stops = stops if stops is not None else [False] * len(tests)
        keys, jobs, index = [], [], {}
        for completion, cases, seconds, stop in zip(completions, tests, limits, stops):
            suite = cases if isinstance(cases, TestSuite) else tuple(cases)  # a TestSuite of any kind, or asserts
            key = (program_of(completion), suite, None if seconds is None else tuple(seconds), stop)
            if key not in index:
                index[key] = len(jobs)
                jobs.append(ExecutionJob(id=str(len(jobs)), program=key[0], tests=cases if isinstance(cases, TestSuite)
                                         else list(cases), limits=None if seconds is None else list(seconds),
                                         stop_at_timeout=stop))
            keys.append(index[key])
        return keys, jobs

    def _finish(self, completions, tests, keys, verdicts, started) -> RuleScores:
        checked = self.format_weight != 0.0
        formats = [checked and format_ok(c) for c in completions]
        results = [verdicts[k] for k in keys]
        kinds = [t.kind if isinstance(t, TestSuite) else None for t in tests]
        rewards = [self.value(r, f, suite_kind=k) for r, f, k in zip(results, formats, kinds)]
        return RuleScores(
            rewards=rewards, results=results, format_ok=formats,
            seconds=time.monotonic() - started, programs_run=len(verdicts),
        )

    # ------------------------------------------------------------ public API

    def evaluate(self, completions: Sequence, tests: Sequence[Sequence[str]], limits=None, stops=None) -> RuleScores:
        """Rewards and verdicts of a batch: completion i is judged on tests[i], each test
        under its limit in limits[i] when given (the dataset's, from the oracle; None
        for a row: `timeout` for each of its tests); stops[i], when given, is its job's
        `stop_at_timeout` (tests a score does not read after a timeout are not run)."""
        started = time.monotonic()
        keys, jobs = self._plan(completions, tests, limits, stops)
        verdicts = self._run(jobs)
        return self._finish(completions, tests, keys, verdicts, started)

    def score(self, completions: Sequence, tests: Sequence[Sequence[str]], limits=None) -> list[float | None]:
        """One reward per completion (see `evaluate`)."""
        return self.evaluate(completions, tests, limits).rewards

    async def aevaluate(self, completions: Sequence, tests: Sequence[Sequence[str]], limits=None) -> RuleScores:
        """`evaluate` for asyncio callers: the event loop (generation, other rewards)
        goes on while the programs run."""
        started = time.monotonic()
        keys, jobs = self._plan(completions, tests, limits)
        try:
            verdicts = await self.engine.arun(jobs)
        except SandboxError as error:
            log.warning("the sandbox failed (%s); restarting it and retrying the batch", error)
            self._restart()
            verdicts = await asyncio.to_thread(self._run, jobs)
        return self._finish(completions, tests, keys, verdicts, started)

    async def ascore(self, completions: Sequence, tests: Sequence[Sequence[str]]) -> list[float | None]:
        return (await self.aevaluate(completions, tests)).rewards

    def _run(self, jobs: list[ExecutionJob]) -> list[ExecutionResult | None]:
        for attempt in (1, 2):
            try:
                return self.engine.run(jobs)
            except SandboxError as error:
                if attempt == 2:
                    log.error("the sandbox failed twice (%s); %d programs left unscored", error, len(jobs))
                    return [None] * len(jobs)
                log.warning("the sandbox failed (%s); restarting it and retrying the batch", error)
                self._restart()
        raise AssertionError("unreachable")
