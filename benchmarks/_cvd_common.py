"""What both sides of ``compile_vs_dspy.py`` share: the settings, the program's signature,
the metric and its feedback, the data split, and the measurement of one phase at the proxy."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from _llama_server import CountingProxy, Counts

SIGNATURE = "question, choices: list[str] -> answer"
INSTRUCTIONS = "Answer the question with exactly one of the choices, copied word for word."
MODEL = "openai/smollm2"
PAIRS: dict[str, tuple[str, str]] = {
    "random_search": ("BootstrapFewShotWithRandomSearch", "BootstrapRandomSearch"),
    "joint": ("MIPROv2", "JointSearch"),
    "reflective": ("GEPA", "Reflective"),
}
FULL_TASKS = ["sports_understanding"]


@dataclass(frozen=True)
class Config:
    quick: bool
    tasks: list[str]
    seeds: list[int]
    n_train: int
    n_val: int
    n_test: int
    pairs: list[str]
    max_tokens: int  # task calls
    prompt_max_tokens: int  # instruction-writing calls
    num_threads: int
    candidate_programs: int  # DSPy num_candidate_programs (pliable: + 3)
    gepa_max_metric_calls: int | None  # None: auto="light"
    mipro_trials: int | None  # None: auto="light"; else auto=None with these trials
    mipro_candidates: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# --------------------------------------------------------------------------- metric


def _mc() -> Callable[..., float]:
    import pliable as pl

    return pl.metrics.multiple_choice()


def judge(answer: Any, choices: Sequence[str], gold: str) -> tuple[float, str]:
    """pliable's ``multiple_choice`` score and the feedback both reflective optimizers get."""
    from pliable.evaluate.metrics import choice_index

    value = float(MC({"answer": gold, "choices": list(choices)}, {"answer": answer}))
    shown = str(answer).strip()
    if len(shown) > 200:
        shown = shown[:197] + "..."
    if value >= 1.0:
        return value, f"Correct: the answer names the expected choice {gold!r}."
    named = None if answer is None else choice_index(answer, list(choices))
    if named is not None:
        return value, (
            f"Wrong: the answer {shown!r} names the choice {choices[named]!r}, but the "
            f"expected choice is {gold!r}."
        )
    return value, (
        f"Wrong: the answer {shown!r} is not one of the choices {list(choices)!r}. It must be "
        f"exactly one of them, copied word for word. The expected choice is {gold!r}."
    )


MC: Callable[..., float] = None  # type: ignore[assignment]  # set by init_metric()


def init_metric() -> None:
    """Set :data:`MC`. It imports pliable, so ``main()`` calls it (after ``--git-ref`` has put
    the exported ``src/`` first on ``PYTHONPATH``), not the import of this module."""
    global MC
    MC = _mc()


def _answer_of(pred: Any) -> Any:
    if pred is None:
        return None
    if isinstance(pred, dict):
        return pred.get("answer")
    try:
        return pred.get("answer") if hasattr(pred, "get") else getattr(pred, "answer", None)
    except Exception:
        return getattr(pred, "answer", None)


def dspy_metric(example: Any, pred: Any, trace: Any = None) -> float:
    return judge(_answer_of(pred), list(example.choices), example.answer)[0]


def dspy_feedback_metric(
    gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None
) -> Any:
    import dspy

    value, feedback = judge(_answer_of(pred), list(gold.choices), gold.answer)
    return dspy.Prediction(score=value, feedback=feedback)


def pliable_feedback_metric(example: Any, prediction: Any, trace: Any = None) -> Any:
    import pliable as pl

    value, feedback = judge(_answer_of(prediction), list(example.choices), example.answer)
    return pl.Score(value, feedback)


# --------------------------------------------------------------------------- data


def load_split(cfg: Config, task: str, seed: int) -> tuple[list[Any], list[Any], list[Any]]:
    import pliable as pl

    total = cfg.n_train + cfg.n_val + cfg.n_test
    examples = pl.load_bigbench(task, seed=seed, limit=total)
    if len(examples) < total:
        raise SystemExit(f"{task}: only {len(examples)} examples, {total} needed")
    if "choices" not in examples[0]:
        raise SystemExit(f"{task} is not a multiple-choice task")
    train, val, test = pl.split(
        list(examples), train=cfg.n_train, dev=cfg.n_val, test=cfg.n_test, seed=seed
    )
    return train, val, test


def to_dspy(examples: Sequence[Any]) -> list[Any]:
    import dspy

    return [
        dspy.Example(question=e.question, choices=list(e.choices), answer=e.answer).with_inputs(
            "question", "choices"
        )
        for e in examples
    ]


# --------------------------------------------------------------------------- a phase


class Phase:
    """Counts at the proxy, wall time and load average of one phase (compile or test)."""

    def __init__(self, proxy: CountingProxy) -> None:
        self.proxy = proxy
        self.counts: Counts | None = None
        self.seconds = 0.0
        self.load: tuple[float | None, float | None] = (None, None)

    @contextlib.contextmanager
    def measure(self) -> Iterator[Phase]:
        before, start, load0 = self.proxy.snapshot(), time.perf_counter(), load_avg()
        try:
            yield self
        finally:
            self.seconds = time.perf_counter() - start
            self.counts = self.proxy.snapshot().minus(before)
            self.load = (load0, load_avg())

    def to_dict(self) -> dict[str, Any]:
        assert self.counts is not None
        return {
            **self.counts.to_dict(),
            "wall_seconds": round(self.seconds, 2),
            "load_avg": list(self.load),
        }


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."
