"""``Reflective``: evolve instructions from execution traces and the metric's feedback.

A GEPA-style search over instructions. The pool starts with the program passed in, scored on
the full valset. Each iteration:

1. picks a parent from the per-example Pareto front of the pool (a candidate that is the best
   on some valset example may be picked even when its mean is lower; see
   :mod:`pliable.optimizers.pareto`), at random in proportion to the examples it is best on;
2. runs it on a minibatch of trainset examples (the trainset is shuffled and cycled through),
   keeping each example's trace, score and the metric's feedback (``pl.Score(value,
   feedback)``; without feedback, "expected X, got Y" is written from the labels);
3. takes the parent's next predictor (round robin, per candidate) and shows a reflection LM
   its current instruction and, for each minibatch example, what that predictor received and
   answered, the score, the feedback and the expected outputs; the LM writes a new
   instruction;
4. keeps the child (the parent with that instruction) only if it scores strictly higher than
   the parent on the same minibatch, and only then scores it on the full valset and adds it
   to the pool. Rejected children are recorded in the report, unscored on the valset.

With ``use_merge=True``, after an accepted child the optimizer may merge two pool candidates
that descend from a common ancestor and changed different predictors: the merged candidate
takes each predictor's instruction from the parent that changed it (the better-scoring parent
when both did). It is checked on valset examples where its parents differ and kept when it
scores at least as well as the better parent there.

The search is deterministic given ``seed`` (with the LM cache a resumed run replays it), and a
budget stop returns the candidate with the best full-valset score so far.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pliable import settings as _settings
from pliable.data.example import Example
from pliable.errors import RUN_STOPPING, BudgetExceededError, ParseError, UsageError
from pliable.evaluation.result import EvaluationRow
from pliable.lm.types import LanguageModel
from pliable.optimizers.base import Optimizer, _check_int, _needs_valset
from pliable.optimizers.instruction_proposer import clean_instruction
from pliable.optimizers.pareto import (
    merge_options,
    merge_subsample,
    pareto_front,
    select_from_front,
)
from pliable.optimizers.run import Run, Scores
from pliable.optimizers.state import instructions_of, set_instruction, state_hash
from pliable.programs.module import Module
from pliable.programs.predict import Predict
from pliable.signatures import InputField, OutputField, Signature

__all__ = ["ReflectInstruction", "Reflective", "feedback_text"]

logger = logging.getLogger(__name__)

_VALUE_CHARS = 600  # longest value shown to the reflection LM
_CALLS_SHOWN = 3  # calls of the predictor shown per example


class ReflectInstruction(Signature):
    """You improve the instruction of one step of a language-model program. You get the
    step's current instruction and examples of it at work: what the step received, what it
    answered, how the whole program scored and the feedback on it, and the expected outputs.
    Work out what went wrong and why, then write a new instruction that fixes it and keeps
    what worked. Include the specific facts, rules and formats the feedback reveals. Reply
    with only the new instruction: plain sentences addressed to the model, no preamble."""

    current_instruction: str = InputField()
    examples_with_feedback: str = InputField(
        desc="the step's inputs and outputs on some examples, with scores and feedback"
    )
    new_instruction: str = OutputField(desc="the improved instruction")


_OUTPUT = next(iter(ReflectInstruction.output_fields))


@dataclass
class _Candidate:
    name: str
    program: Module
    full: Scores
    parents: tuple[int, ...]
    next_predictor: int = 0

    @property
    def state(self) -> str:
        return state_hash(self.program)


def _show(value: Any, limit: int = _VALUE_CHARS) -> str:
    text = str(value).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field(prediction: Any, name: str) -> Any:
    if isinstance(prediction, Mapping):
        return prediction.get(name)
    return getattr(prediction, name, None)


def feedback_text(row: EvaluationRow) -> str:
    """The metric's feedback for a row, else the error, else "expected X, got Y"."""
    if row.feedback:
        return row.feedback
    if row.error is not None:
        return f"the {row.failed_in or 'program'} failed: {row.error}"
    labels = row.example.labels()
    if not labels:
        return f"score {row.score:g} (the metric gave no feedback)"
    wrong = [
        f"expected {k}={_show(v, 200)!r}, got {_show(_field(row.prediction, k), 200)!r}"
        for k, v in labels.items()
        if _field(row.prediction, k) != v
    ]
    if not wrong:
        return f"score {row.score:g}; the outputs match the expected ones"
    return f"score {row.score:g}; " + "; ".join(wrong)


def _reflection_examples(name: str, predictor: Predict, rows: Sequence[EvaluationRow]) -> str:
    """What the reflection LM reads: the step's calls, scores and feedback per example."""
    sig = predictor.signature
    lines = [f"The step is `{name}`: {sig.signature_string()}."]
    for i, row in enumerate(rows, 1):
        lines += ["", f"## Example {i} (score {row.score:g})"]
        calls = [e for e in row.trace if e.predictor is predictor]
        if not calls:
            lines.append("This step was not called on this example. Program inputs:")
            lines += [f"  {k}: {_show(v)}" for k, v in row.example.inputs().items()]
        for j, entry in enumerate(calls[:_CALLS_SHOWN], 1):
            tag = f" (call {j} of {len(calls)})" if len(calls) > 1 else ""
            lines.append(f"Step inputs{tag}:")
            lines += [f"  {k}: {_show(v)}" for k, v in entry.inputs.items()]
            lines.append("Step outputs:")
            lines += [f"  {k}: {_show(v)}" for k, v in entry.outputs.items()]
        labels = row.example.labels()
        if labels:
            lines.append("Expected outputs of the program:")
            lines += [f"  {k}: {_show(v)}" for k, v in labels.items()]
        lines.append(f"Feedback: {feedback_text(row)}")
    return "\n".join(lines)


def _before_echoed_inputs(text: str) -> str:
    """The instruction in a reply that missed its format: after any marker of the output,
    and after a marker the reply opens with (a model may label its instruction with an input's
    marker), up to the next input's marker (echoed inputs: the feedback, say)."""
    body = text.split(f"[[{_OUTPUT}]]", 1)[-1].strip()
    markers = [f"[[{name}]]" for name in ReflectInstruction.input_fields]
    opening = next((m for m in markers if body.startswith(m)), "")
    body = body[len(opening) :]
    cut = min((i for m in markers if (i := body.find(m)) >= 0), default=len(body))
    return body[:cut].strip()


class _Minibatches:
    """Seeded minibatches that cycle through a reshuffled trainset."""

    def __init__(self, examples: Sequence[Example], size: int, seed: int) -> None:
        self._examples = list(examples)
        self._size = min(size, len(self._examples))
        self._rng = random.Random(seed)
        self._order: list[int] = []

    def next(self) -> list[Example]:
        picked: list[int] = []
        while len(picked) < self._size:
            if not self._order:
                self._order = list(range(len(self._examples)))
                self._rng.shuffle(self._order)
            index = self._order.pop(0)
            if index not in picked:  # at an epoch's end, the next epoch tops the batch up
                picked.append(index)
        return [self._examples[i] for i in picked]


class Reflective(Optimizer):
    """Rewrite instructions with a reflection LM, from traces and the metric's feedback.

    Args:
        metric: ``metric(example, prediction[, trace])`` returning a float, a bool or a
            ``pl.Score(value, feedback)``; the feedback is what the reflection LM learns from.
        reflection_lm: the LM that writes instructions (default: the ``pl.using`` LM, else
            the LM of the predictor being rewritten).
        max_iterations: reflection steps (each proposes one child).
        minibatch_size: trainset examples a parent and its child are compared on.
        use_merge: also try merging two candidates' instructions after accepted children.
        max_merges: merge attempts at most.
        perfect_score: when set, a parent scoring at least this on every minibatch example
            is not reflected on (it cannot improve there); saves LM calls.
        fill_budget: with a budget that limits ``lm_calls``, keep iterating after
            ``max_iterations`` while it has room for one more iteration and a full valset
            score (up to ten times ``max_iterations``, and until iterations stop costing
            calls), so a compile given more calls than it plans uses them. Without a call
            limit, or with ``False``, at most ``max_iterations`` run.
        seed: drives parent selection, minibatches and merges.
        num_threads: examples evaluated at once.
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        reflection_lm: LanguageModel | None = None,
        max_iterations: int = 20,
        minibatch_size: int = 3,
        use_merge: bool = False,
        max_merges: int = 5,
        perfect_score: float | None = None,
        fill_budget: bool = True,
        seed: int = 0,
        num_threads: int = 4,
    ) -> None:
        from pliable.evaluation.metric_base import metric_caller

        metric_caller(metric)  # refuses a metric that cannot be called
        if reflection_lm is not None and not callable(getattr(reflection_lm, "complete", None)):
            raise UsageError(
                f"Reflective(reflection_lm=...) takes an LM such as pl.LM('provider/model'); "
                f"got {type(reflection_lm).__name__} {reflection_lm!r}. Leave it out to use "
                "the task LM."
            )
        ints = {"max_iterations": 1, "minibatch_size": 1, "max_merges": 0, "num_threads": 1}
        values = {"max_iterations": max_iterations, "minibatch_size": minibatch_size}
        values.update(max_merges=max_merges, num_threads=num_threads, seed=seed)
        for arg, value in values.items():
            _check_int("Reflective", arg, value, ints.get(arg))
        for flag, given in (("use_merge", use_merge), ("fill_budget", fill_budget)):
            if not isinstance(given, bool):
                raise UsageError(f"Reflective({flag}=...) must be True or False; got {given!r}.")
        if perfect_score is not None and type(perfect_score) not in (int, float):
            raise UsageError(
                f"Reflective(perfect_score=...) must be a number or None; got {perfect_score!r}."
            )
        self.metric = metric
        self.reflection_lm = reflection_lm
        self.max_iterations = max_iterations
        self.minibatch_size = minibatch_size
        self.use_merge = use_merge
        self.max_merges = max_merges
        self.perfect_score = perfect_score
        self.fill_budget = fill_budget
        self.seed = seed
        self.num_threads = num_threads

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        # The seed's valset score is the baseline's (memoised), so it is not counted again.
        batch = min(self.minibatch_size, n_train) * n_predictors
        its = self.max_iterations
        phases = {
            f"run parents on {its} minibatches (with traces)": its * batch,
            f"{its} reflections": its,
            f"score {its} children on their minibatch": its * batch,
            "score accepted children on the valset": its * n_val * n_predictors,
        }
        if self.use_merge:
            phases[f"score up to {self.max_merges} merges"] = self.max_merges * n_val * n_predictors
        return phases

    # -- the search ------------------------------------------------------------------------

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        if not valset:
            raise UsageError(_needs_valset("Reflective selects candidates"))
        if not trainset:
            raise UsageError(
                "Reflective learns from minibatches of the trainset: pass a non-empty "
                "trainset=... (examples with their expected outputs)."
            )
        if not student.named_predictors():
            raise UsageError(
                f"Reflective rewrites predictors' instructions, and {type(student).__name__} "
                "has no predictors (pl.Predict attributes)."
            )
        full = run.evaluate(student, valset, progress=run.progress)
        run.candidate("seed", student, full=full)
        pool = [_Candidate("seed", student, full, ())]
        rng = random.Random(self.seed)
        batches = _Minibatches(trainset, self.minibatch_size, self.seed)
        tried: set[tuple[int, int, int]] = set()
        merges = accepted = done = idle = 0
        # LM calls per example as measured (the seed's valset score ran above)
        rate = math.ceil(run.calls_per_example(len(student.named_predictors())))
        # an iteration's calls at most: parent and child on a minibatch, the reflection, and
        # the child's valset score when it is accepted
        step = (2 * min(self.minibatch_size, len(trainset)) + len(valset)) * rate + 1
        if self.use_merge:  # and a merge after it: a minibatch and the valset
            step += (self.minibatch_size + len(valset)) * rate

        def more(iteration: int) -> bool:
            return iteration <= self.max_iterations or (
                self.fill_budget
                and run.room_to_fill(
                    iteration - 1, self.max_iterations, step=step, idle=idle, factor=10
                )
            )

        try:
            while more(done + 1):
                before = run.lm_calls()
                if self._iterate(done + 1, pool, batches, rng, valset, run):
                    accepted += 1
                    if self.use_merge and merges < self.max_merges:
                        merges += self._merge(pool, tried, rng, valset, run)
                done += 1
                idle = idle + 1 if run.lm_calls() == before else 0
        except BudgetExceededError as exc:
            run.report.stopped = str(exc)
            run.note(f"budget reached after {done} iterations ({self.max_iterations} planned)")
        if done > self.max_iterations:
            run.note(f"the budget had room for {done - self.max_iterations} more iterations")
        assert run.best is not None
        run.note(
            f"{done} iterations, {accepted} children accepted, {merges} merges tried; "
            f"best candidate on the valset: {run.best[2]} ({run.best[0].mean:.3f})"
        )
        return run.best[1]

    def _iterate(
        self,
        iteration: int,
        pool: list[_Candidate],
        batches: _Minibatches,
        rng: random.Random,
        valset: list[Example],
        run: Run,
    ) -> bool:
        """One reflection step; whether its child joined the pool."""
        from pliable.evaluation import evaluate

        index = select_from_front([c.full.values for c in pool], rng)
        parent = pool[index]
        batch = batches.next()
        named = parent.program.named_predictors()
        slot = parent.next_predictor % len(named)
        parent.next_predictor += 1
        name, predictor = named[slot]
        assert self.metric is not None
        rows = evaluate(
            parent.program,
            batch,
            self.metric,
            num_threads=run.num_threads,
            max_errors=len(batch),
            progress=False,
            floor=False,
        ).rows
        parent_total = sum(r.score for r in rows)
        if self.perfect_score is not None and all(r.score >= self.perfect_score for r in rows):
            logger.info("iteration %d: %s is perfect on its minibatch", iteration, parent.name)
            return False
        current = predictor.signature.instructions
        text = self._reflect(iteration, name, predictor, rows)
        if text is None or text == current:
            logger.info("iteration %d: no new instruction for %s", iteration, name)
            return False
        child = parent.program.deepcopy()
        set_instruction(dict(child.named_predictors())[name], text)
        if state_hash(child) in {c.state for c in pool}:
            return False  # the same program is already in the pool
        label = f"reflect {iteration}: {name}"
        mini = run.evaluate(child, batch)
        facts: dict[str, Any] = {
            "predictor": name,
            "parent_minibatch_score": parent_total / len(batch),
        }
        if mini.total <= parent_total:
            run.candidate(label, child, minibatch=mini, parent=parent.name, accepted=False, **facts)
            return False
        full = run.evaluate(child, valset)
        run.candidate(
            label, child, full=full, minibatch=mini, parent=parent.name, accepted=True, **facts
        )
        pool.append(_Candidate(label, child, full, (index,), next_predictor=slot + 1))
        return True

    def _reflect(
        self, iteration: int, name: str, predictor: Predict, rows: Sequence[EvaluationRow]
    ) -> str | None:
        """The reflection LM's new instruction for ``predictor`` (None if it gave none)."""
        choices = (self.reflection_lm, _settings.current().lm, predictor.lm)
        lm = next((c for c in choices if c is not None), None)  # None: the default LM
        writer = Predict(ReflectInstruction, lm=lm, sample=self.seed * 10_000 + iteration)
        try:
            answer = writer(
                current_instruction=predictor.signature.instructions,
                examples_with_feedback=_reflection_examples(name, predictor, rows),
            ).new_instruction
        except RUN_STOPPING:
            raise
        except ParseError as exc:
            # A small reflection model often writes the instruction without the reply
            # format's field marker: its reply is the instruction, once cleaned, up to any
            # input it echoes back ("[[examples_with_feedback]]"...), which is cut off.
            logger.info("iteration %d: reflection reply without its format, used as is", iteration)
            answer = _before_echoed_inputs(exc.raw_text)
        except Exception as exc:  # one failed reflection skips one iteration
            logger.info("iteration %d: the reflection on %s failed: %r", iteration, name, exc)
            return None
        text = clean_instruction(str(answer))
        return text if len(text) >= 8 else None

    # -- merging ---------------------------------------------------------------------------

    def _merge(
        self,
        pool: list[_Candidate],
        tried: set[tuple[int, int, int]],
        rng: random.Random,
        valset: list[Example],
        run: Run,
    ) -> int:
        """Try one merge of two branches; 1 if a merged candidate was scored, else 0."""
        options = _merge_options(pool, tried)
        if not options:
            return 0
        i, j, a, merged = options[rng.randrange(len(options))]
        tried.add((i, j, a))
        first, second = pool[i], pool[j]
        better = first if first.full.mean >= second.full.mean else second
        picked = merge_subsample(first.full.values, second.full.values, self.minibatch_size, rng)
        mini = run.evaluate(merged, [valset[k] for k in picked])
        target = max(sum(c.full.values[k] for k in picked) for c in (first, second))
        label = f"merge {first.name} + {second.name}"
        facts: dict[str, Any] = {"merged_from": [first.name, second.name], "ancestor": pool[a].name}
        if mini.total < target:
            run.candidate(
                label, merged, minibatch=mini, parent=better.name, accepted=False, **facts
            )
            return 1
        full = run.evaluate(merged, valset)
        run.candidate(
            label, merged, full=full, minibatch=mini, parent=better.name, accepted=True, **facts
        )
        pool.append(_Candidate(label, merged, full, (i, j)))
        return 1


def _merge_options(
    pool: Sequence[_Candidate], tried: set[tuple[int, int, int]]
) -> list[tuple[int, int, int, Module]]:
    """Untried merges (i, j, common ancestor, merged program), of front candidates if any;
    a merge equal to a pool candidate is left out."""
    states = {c.state for c in pool}
    parents = [c.parents for c in pool]
    instructions = [instructions_of(c.program) for c in pool]
    means = [c.full.mean for c in pool]
    for group in (sorted(pareto_front([c.full.values for c in pool])), range(len(pool))):
        found = []
        for i, j, a, merged in merge_options(parents, instructions, means, list(group)):
            program = pool[i if means[i] >= means[j] else j].program.deepcopy()
            for name, predictor in program.named_predictors():
                set_instruction(predictor, merged[name])
            if (i, j, a) not in tried and state_hash(program) not in states:
                found.append((i, j, a, program))
        if found:
            return found
    return []
