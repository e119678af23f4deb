"""The reward-model reward, its normalisation, and weighted sums of rewards.

A Bradley-Terry reward model's scores are unbounded and shift between checkpoints
(a correct program near +23, a wrong one near -20 in the released model's card),
so RL uses them normalised (§9: "the reward model (normalised)"). Two ways:

- "running": z-score against the mean and standard deviation of every score seen
  so far in the run (Welford's algorithm), what OpenRLHF's reward normalisation
  does; comparable across steps.
- "batch": z-score within the batch; every batch then has mean 0 and std 1.
- "none": raw scores.

The model is anything with `score(questions, programs, tests=None, batch_size=None)
-> list[float]`: `acecoder.rm.RewardModel` (a local checkpoint) or
`acecoder.rm.RemoteRewardModel` (the `acecoder serve-rm` server). It sees the
question and the extracted program, rendered by `acecoder.prompts` as in training.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from typing import Literal, Protocol

from acecoder.errors import ConfigError
from acecoder.prompts import question_of
from acecoder.rewards._rule import completion_text, program_of

Normalize = Literal["running", "batch", "none"]
NORMALIZE = ("running", "batch", "none")


class Scorer(Protocol):
    def score(self, questions: list[str], programs: list[str], tests=None, batch_size=None) -> list[float]: ...


def question_from_prompt(prompt) -> str:
    """The question inside a prompt written by `acecoder.prompts.question_prompt`, in
    either style (plain text, a chat-templated string, or chat messages): see
    `acecoder.prompts.question_of`. A prompt of another shape is returned whole (its
    user turn for messages)."""
    if isinstance(prompt, (list, tuple)):
        users = [m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        text = users[-1] if users else completion_text(prompt)
    else:
        text = str(prompt)
    return question_of(text)[0]


class RunningStats:
    """Mean and standard deviation of every value seen (Welford), thread-safe."""

    def __init__(self):
        self.count, self.mean, self._m2 = 0, 0.0, 0.0
        self._lock = threading.Lock()

    def update(self, values: Sequence[float]) -> None:
        with self._lock:
            for value in values:
                self.count += 1
                delta = value - self.mean
                self.mean += delta / self.count
                self._m2 += delta * (value - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self._m2 / self.count) if self.count > 1 else 0.0


def normalize_scores(scores: Sequence[float], mean: float, std: float) -> list[float]:
    """(score - mean) / std; a zero std only centres (no signal to scale)."""
    return [(s - mean) / std if std > 1e-8 else s - mean for s in scores]


class ModelReward:
    """A reward model's scores of a batch, normalised.

        reward = ModelReward(RewardModel.load(path), normalize="running")
        rewards = reward.score(prompts, completions, tests)
    """

    def __init__(
        self,
        model: Scorer,
        *,
        normalize: Normalize = "running",
        clip: float | None = 5.0,
        batch_size: int | None = None,
    ):
        """
        Args:
            model: anything with `score(questions, programs, tests=None, batch_size=None)`.
            normalize: "running", "batch" or "none" (see the module docstring).
            clip: normalised rewards are clipped to [-clip, clip] (None: no clipping),
                so one outlier score cannot dominate a batch.
            batch_size: passed to the model's `score` (None: its default).
        """
        if normalize not in NORMALIZE:
            raise ConfigError(f"normalize {normalize!r} is unknown: use one of {', '.join(NORMALIZE)}")
        if clip is not None and clip <= 0:
            raise ConfigError(f"clip is {clip}: give a positive bound, or none")
        self.model, self.normalize, self.clip, self.batch_size = model, normalize, clip, batch_size
        self.stats = RunningStats()

    def raw(self, prompts: Sequence, completions: Sequence, tests: Sequence[Sequence[str]] | None = None) -> list[float]:
        """The model's own scores: question from each prompt, program from each completion."""
        questions = [question_from_prompt(p) for p in prompts]
        programs = [program_of(c) for c in completions]
        kwargs = {"batch_size": self.batch_size} if self.batch_size else {}
        scores = self.model.score(questions, programs, tests=[list(t) for t in tests] if tests else None, **kwargs)
        return [float(s) for s in scores]

    def score(self, prompts: Sequence, completions: Sequence, tests: Sequence[Sequence[str]] | None = None) -> list[float]:
        """Normalised rewards, one per completion."""
        scores = self.raw(prompts, completions, tests)
        if self.normalize == "running":
            self.stats.update(scores)
            rewards = normalize_scores(scores, self.stats.mean, self.stats.std)
        elif self.normalize == "batch":
            mean = sum(scores) / len(scores) if scores else 0.0
            std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores)) if scores else 0.0
            rewards = normalize_scores(scores, mean, std)
        else:
            rewards = scores
        if self.clip is not None:
            rewards = [max(-self.clip, min(self.clip, r)) for r in rewards]
        return rewards

    async def ascore(self, prompts: Sequence, completions: Sequence, tests=None) -> list[float]:
        """`score` in a worker thread, so that an event loop goes on meanwhile."""
        return await asyncio.to_thread(self.score, prompts, completions, tests)


def combine(parts: Sequence[tuple[float, Sequence[float | None]]]) -> list[float | None]:
    """The weighted sum sum_i w_i * r_i of several rewards of one batch; None (an
    unscorable reward) where any part is None."""
    if not parts:
        return []
    n = len(parts[0][1])
    if any(len(rewards) != n for _, rewards in parts):
        raise ValueError("every reward must give one value per completion")
    out: list[float | None] = []
    for i in range(n):
        values = [(w, rewards[i]) for w, rewards in parts]
        out.append(None if any(v is None for _, v in values) else sum(w * v for w, v in values))
    return out
