"""``BestOfN`` and ``Refine``: rerun a program with fresh samples until a reward passes.

::

    best = pl.BestOfN(qa, n=3, reward_fn=lambda inputs, pred: len(pred.answer) < 20,
                      threshold=1.0)
    best(question="...")            # the first attempt that scores >= 1.0, else the best one

Attempt 0 runs the program as configured (a first attempt that passes costs, and caches,
the same as a plain call). Attempt ``i > 0`` runs a copy whose predictors ask for a fresh
sample: ``temperature=1.0`` and ``sample=<own sample> + i``. Only the predictors are copied
(:func:`sampled_copy`): the program is never changed and concurrent calls are safe.

Only the returned attempt's predictor calls reach an enclosing ``pl.trace()``, and they are
recorded as calls of the program's own predictors, so an optimizer bootstrapping a wrapped
program gets demos for the right predictor names (``module.<name>``). Calls made by
``reward_fn`` are never traced. :class:`Refine` also asks its ``feedback`` predictor for
advice after an attempt that falls short; the next attempt's predictors see the advice in
their instructions.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any

from pliable.data.example import Prediction
from pliable.errors import RUN_STOPPING, UsageError
from pliable.programs.module import Module, copy_structure
from pliable.programs.predict import Predict
from pliable.programs.tracing import Trace, TraceEntry, _active, record
from pliable.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from pliable.lm.types import LanguageModel

__all__ = ["Attempt", "BestOfN", "Outcome", "Refine", "RefineAdvice", "sampled_copy"]

logger = logging.getLogger(__name__)

RewardFn = Callable[[dict[str, Any], Prediction], Any]
#: Errors that end a run at once: a wrong call, or one of :data:`~pliable.errors.RUN_STOPPING`
#: (a spent budget, a rejected key, a missing model) is not bad luck.
FATAL: tuple[type[Exception], ...] = (UsageError, *RUN_STOPPING)
ADVICE_HEADER = "Advice from an earlier attempt that fell short:"


# --- per-attempt copies and isolated traces (shared with pliable.programs.ensemble) ------------


def sampled_copy(
    module: Module, index: int, advice: str | None = None
) -> tuple[Module, dict[int, Predict]]:
    """A copy of ``module`` for attempt ``index``, and a map from each copied predictor's id to
    its original. Attempt 0 keeps the predictors' settings; later attempts sample afresh
    (``temperature=1.0``, ``sample`` shifted by ``index``). ``advice`` is appended to every
    predictor's instructions."""
    memo: dict[int, Any] = {}
    clone = copy_structure(module, memo)
    originals: dict[int, Predict] = {}
    for original in module.predictors():
        twin: Predict = memo[id(original)]
        originals[id(twin)] = original
        if index:
            own = int(original.config.get("sample") or 0)
            twin.config = {**original.config, "temperature": 1.0, "sample": own + index}
        if advice:
            sig = original.signature
            twin.signature = sig.with_instructions(
                f"{sig.instructions}\n\n{ADVICE_HEADER}\n{advice}"
            )
    return clone, originals


@contextmanager
def isolated_trace() -> Iterator[Trace]:
    """Record the block's predictor calls here only, not in the enclosing traces."""
    inner = Trace()
    token = _active.set((inner,))
    try:
        yield inner
    finally:
        _active.reset(token)


def run_copy(
    module: Module, index: int, inputs: Mapping[str, Any], advice: str | None = None
) -> tuple[Prediction, list[TraceEntry]]:
    """Run attempt ``index`` of ``module``; its trace entries name the original predictors."""
    clone, originals = sampled_copy(module, index, advice)
    with isolated_trace() as t:
        prediction = clone(**inputs)
    entries = [e._replace(predictor=originals.get(id(e.predictor), e.predictor)) for e in t]
    return prediction, entries


def check_wrapped(owner: str, module: Any, n: int | None = None) -> None:
    if not isinstance(module, Module):
        raise UsageError(f"{owner} wraps a pl.Module (a program or predictor); got {module!r}.")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise UsageError(f"{owner}(n=...) must be an integer >= 1; got {n!r}.")


# --- BestOfN -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One attempt: its prediction and reward, or the error it raised; the advice it had."""

    index: int
    prediction: Prediction | None
    reward: float | None
    error: Exception | None = None
    advice: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What :meth:`BestOfN.run` did: the returned prediction, which attempt it came from,
    every attempt in order, and whether the returned one reached the threshold."""

    prediction: Prediction
    chosen: int
    attempts: tuple[Attempt, ...]
    passed: bool


class BestOfN(Module):
    """Run ``module`` up to ``n`` times with fresh samples; stop at the first prediction whose
    ``reward_fn(inputs, prediction)`` is at least ``threshold``, else return the best one.

    Args:
        module: the program (or predictor) to run. Its predictors are this program's, named
            ``module.<name>`` (``module`` for a lone predictor).
        n: the most attempts made.
        reward_fn: ``reward_fn(inputs: dict, prediction)`` returning a float, bool or
            ``pl.Score``. Ties keep the earlier attempt.
        threshold: the reward that ends the search.
        fail_count: attempts that may raise before the last error is re-raised (default
            ``n``). Usage errors and budget stops are re-raised at once.

    :meth:`run` returns the :class:`Outcome` with every attempt's reward.
    """

    def __init__(
        self,
        module: Module,
        n: int,
        reward_fn: RewardFn,
        threshold: float,
        *,
        fail_count: int | None = None,
    ) -> None:
        owner = type(self).__name__
        check_wrapped(owner, module, n)
        number: Any = threshold  # checked at run time: users may pass anything
        if not callable(reward_fn) or isinstance(number, bool) or not isinstance(number, Real):
            raise UsageError(
                f"{owner}: reward_fn must be callable and threshold a number; got "
                f"{reward_fn!r} and {threshold!r}."
            )
        if fail_count is not None and (not isinstance(fail_count, int) or fail_count < 1):
            raise UsageError(f"{owner}: fail_count must be an integer >= 1; got {fail_count!r}.")
        self.module = module
        self.n = n
        self.reward_fn = reward_fn
        self.threshold = float(threshold)
        self.fail_count = n if fail_count is None else fail_count

    def forward(self, /, **inputs: Any) -> Prediction:
        return self.run(**inputs).prediction

    def _advise(
        self, inputs: Mapping[str, Any], prediction: Prediction, reward: float, critique: str
    ) -> tuple[str, list[TraceEntry]] | None:
        """Advice for the next attempt and the trace entries that wrote it (none here)."""
        return None

    def run(self, /, **inputs: Any) -> Outcome:
        """Make the attempts; record the returned one's calls in the enclosing traces."""
        from pliable.data.score import to_score

        attempts: list[Attempt] = []
        best: tuple[Attempt, list[TraceEntry]] | None = None
        advice: tuple[str, list[TraceEntry]] | None = None
        best_reward = -math.inf
        failures = 0
        last_error: Exception | None = None
        for index in range(self.n):
            hint = advice[0] if advice else None
            try:
                prediction, entries = run_copy(self.module, index, inputs, hint)
                with isolated_trace():  # the reward's own LM calls are not the program's
                    score = to_score(self.reward_fn(dict(inputs), prediction), self.reward_fn)
                reward, critique = score.value, score.feedback
            except FATAL:
                raise
            except Exception as exc:  # a failed attempt; the next one may do better
                logger.debug("%s attempt %d failed: %r", type(self).__name__, index, exc)
                attempts.append(Attempt(index, None, None, exc, hint))
                failures, last_error = failures + 1, exc
                if failures >= self.fail_count:
                    raise
                continue
            attempt = Attempt(index, prediction, reward, None, hint)
            attempts.append(attempt)
            if best is None or reward > best_reward:  # ties keep the earlier attempt
                best, best_reward = (attempt, (advice[1] if advice else []) + entries), reward
            if reward >= self.threshold:
                break
            if index + 1 < self.n:
                advice = self._advise(inputs, prediction, reward, critique) or advice
        if best is None:
            assert last_error is not None
            raise last_error
        chosen, chosen_entries = best
        for entry in chosen_entries:
            record(entry)
        assert chosen.prediction is not None
        return Outcome(
            chosen.prediction, chosen.index, tuple(attempts), best_reward >= self.threshold
        )


# --- Refine --------------------------------------------------------------------------------


class RefineAdvice(Signature):
    """A program's attempt at a task scored below the threshold. Read the task's inputs, the
    attempt's outputs, its score and any critique, and write short, concrete advice that
    would make the next attempt score higher. Address the program directly."""

    program_inputs: str = InputField(desc="the task's inputs, one `name: value` per line")
    program_outputs: str = InputField(desc="the attempt's outputs, one `name: value` per line")
    reward: float = InputField(desc="the attempt's score")
    threshold: float = InputField(desc="the score to reach")
    critique: str = InputField(desc="what the scorer said about the attempt, if anything")
    advice: str = OutputField(desc="what to do differently next time, in a few sentences")


def _lines(values: Mapping[str, Any]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in values.items()) or "(none)"


class Refine(BestOfN):
    """:class:`BestOfN` that learns from each miss: after an attempt scores below
    ``threshold``, the ``feedback`` predictor (a :class:`RefineAdvice` step, compiled like
    any other) writes advice, and the next attempt's predictors get it appended to their
    instructions. ``feedback_lm`` is its LM (else the one in force).

    Only the returned attempt's calls are traced, preceded by the ``feedback`` call that
    wrote its advice (if it had any), so bootstrapping gives ``feedback`` demos of advice
    that worked.
    """

    def __init__(
        self,
        module: Module,
        n: int,
        reward_fn: RewardFn,
        threshold: float,
        *,
        fail_count: int | None = None,
        feedback_lm: LanguageModel | None = None,
    ) -> None:
        super().__init__(module, n, reward_fn, threshold, fail_count=fail_count)
        self.feedback = Predict(RefineAdvice, lm=feedback_lm)

    def _advise(
        self, inputs: Mapping[str, Any], prediction: Prediction, reward: float, critique: str
    ) -> tuple[str, list[TraceEntry]] | None:
        try:
            with isolated_trace() as t:
                advice = self.feedback(
                    program_inputs=_lines(inputs),
                    program_outputs=_lines(prediction),
                    reward=reward,
                    threshold=self.threshold,
                    critique=critique or "(none)",
                ).advice
        except FATAL:
            raise
        except Exception as exc:  # no new advice: the next attempt keeps the last one
            logger.debug("Refine feedback failed: %r", exc)
            return None
        text = str(advice or "").strip()
        return (text, t.entries) if text else None
