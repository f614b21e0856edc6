"""``InstructionHillClimb``: COPRO-style instruction search, ``breadth`` x ``depth`` rounds.

The algorithm, for a program with predictors P1..Pk:

* round 0: for each predictor in turn (coordinate ascent), an
  :class:`~pliable.optimizers.instruction_proposer.InstructionProposer` writes ``breadth - 1`` new
  instructions; each candidate is the best program so far with only that predictor's
  instruction replaced, scored on the full valset. The best one becomes the program the
  next predictor starts from (a tie keeps the current, earlier instruction);
* rounds 1 .. ``depth - 1``: the same, but the proposer is shown every instruction tried so
  far for that predictor with its valset score and asked to improve on the best of them
  (each round samples afresh, so the proposals differ from round to round).

Scores are memoised by program state, so the current instruction (already measured as the
baseline) and any instruction proposed twice cost nothing. The best program on the valset is
returned; when the budget runs out, the best one found so far, with the reason in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pliable.data.example import Example
from pliable.errors import BudgetExceededError, UsageError
from pliable.lm.types import LanguageModel
from pliable.optimizers.base import Optimizer, _check_int, _needs_valset
from pliable.optimizers.instruction_proposer import (
    InstructionProposer,
    check_proposer_args,
    proposer_for,
)
from pliable.optimizers.run import Run
from pliable.optimizers.state import set_instruction
from pliable.programs.module import Module

__all__ = ["InstructionHillClimb"]


class InstructionHillClimb(Optimizer):
    """Propose instructions with an LM and keep the best on the valset, round after round.

    Args:
        metric: ``metric(example, prediction[, trace])`` returning a float, bool or Score.
        breadth: candidates per predictor per round, the current instruction included
            (so ``breadth - 1`` proposals each round).
        depth: rounds; every round after the first is shown the earlier scores.
        prompt_lm: the LM that writes proposals (default: the first LM set on one of the
            program's predictors, else the ``pl.using`` one). The task LM only answers.
        proposer: a configured :class:`~pliable.optimizers.instruction_proposer.InstructionProposer`
            (tips, temperature, its own ``prompt_lm``); give this or ``prompt_lm``.
        seed: varies the proposals' samples and tips.
        num_threads: threads used to score a candidate on the valset.
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        breadth: int = 4,
        depth: int = 2,
        prompt_lm: LanguageModel | None = None,
        proposer: InstructionProposer | None = None,
        seed: int = 0,
        num_threads: int = 4,
    ) -> None:
        from pliable.evaluation.metric_base import metric_caller

        metric_caller(metric)  # refuses a metric that cannot be called
        owner = "InstructionHillClimb"
        counts_current = "It counts the current instruction: use 2 or more."
        _check_int(owner, "breadth", breadth, 2, counts_current)
        _check_int(owner, "depth", depth, 1, "It is the number of proposal rounds: use 1 or more.")
        _check_int(owner, "num_threads", num_threads, 1, "Use 1 for no parallelism.")
        _check_int(owner, "seed", seed)
        check_proposer_args("InstructionHillClimb", prompt_lm, proposer)
        self.metric = metric
        self.breadth = breadth
        self.depth = depth
        self.prompt_lm = prompt_lm
        self.proposer = proposer
        self.seed = seed
        self.num_threads = num_threads

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        new = self.depth * (self.breadth - 1) * n_predictors
        return {
            f"propose {new} instructions ({self.depth} rounds x {self.breadth - 1} "
            f"x {n_predictors} predictors)": new,
            f"score up to {new} candidates on the valset": new * n_val * n_predictors,
        }

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        if not valset or self.metric is None:
            raise UsageError(_needs_valset("InstructionHillClimb selects instructions"))
        names = [name for name, _ in student.named_predictors()]
        if not names:
            raise UsageError(
                f"InstructionHillClimb found no predictors in {type(student).__name__}: "
                "a program needs at least one pl.Predict (or ChainOfThought) to optimize."
            )
        proposer = proposer_for(student, self.prompt_lm, self.proposer, self.seed)
        tried: dict[str, dict[str, float]] = {name: {} for name in names}
        round_ = 0
        try:
            scores = run.evaluate(student, valset)  # the baseline's: memoised, free
            first = f"round 0 {names[0]} #0"
            run.candidate(first, student, full=scores, round=0, predictor=names[0])
            for round_ in range(self.depth):
                for name in names:
                    self._improve(name, round_, proposer, trainset, valset, tried, run)
                assert run.best is not None
                run.note(f"round {round_}: best {run.best[2]!r}, valset {run.best[0].mean:.3f}")
        except BudgetExceededError as exc:
            run.report.stopped = str(exc)
            shown = repr(run.best[2]) if run.best is not None else "the program passed in"
            run.note(f"budget reached in round {round_}; returning the best so far: {shown}")
        if run.best is None:
            return student
        run.note(f"best candidate on the valset: {run.best[2]}")
        return run.best[1]

    def _improve(
        self,
        name: str,
        round_: int,
        proposer: InstructionProposer,
        trainset: list[Example],
        valset: list[Example],
        tried: dict[str, dict[str, float]],
        run: Run,
    ) -> None:
        """One round for one predictor: propose, score each new instruction, keep the best."""
        assert run.best is not None
        base_scores, base, base_name = run.best
        current = dict(base.named_predictors())[name].signature.instructions
        tried[name][current] = base_scores.mean  # its score with the others as they are now
        demos = {n: list(p.demos) for n, p in base.named_predictors() if p.demos}
        proposals = proposer.propose(
            base,
            trainset,
            n=self.breadth,
            demos=demos,
            history={name: list(tried[name].items())},
            predictors=[name],
            round=round_,
        ).get(name, [current])
        fresh = [(i, text) for i, text in enumerate(proposals) if text not in tried[name]]
        if not fresh:
            reached = _budget_reached(run)
            if reached is not None:
                raise BudgetExceededError(reached)
            run.note(f"round {round_}: no new instruction was proposed for {name}")
        for i, text in fresh:
            candidate = base.deepcopy()
            set_instruction(dict(candidate.named_predictors())[name], text)
            scores = run.evaluate(candidate, valset)
            tried[name][text] = scores.mean
            run.candidate(
                f"round {round_} {name} #{i}",
                candidate,
                full=scores,
                parent=base_name,
                round=round_,
                predictor=name,
            )


def _budget_reached(run: Run) -> str | None:
    """Why the compile's budget allows no more LM calls, or None."""
    tracker = run.usage
    spent = tracker.spent()
    if tracker.max_calls is not None and spent.lm_calls >= tracker.max_calls:
        return f"LM call budget reached: {tracker.max_calls} calls were allowed."
    if tracker.budget is not None:
        reached = tracker.budget.exhausted(spent)
        if reached is not None:
            return f"Budget reached: {reached} allowed by {tracker.budget}."
    return None
