"""The metric of ``compile_vs_dspy.py``, the same on both sides, for both kinds of task.

A multiple-choice task (its examples have ``choices``) is scored with
``pl.metrics.multiple_choice()``: the answer names the gold choice after normalisation. A
generative task (no ``choices``; e.g. object_counting, whose examples carry the gold answer
as a word and as digits in ``answers``) is scored by :func:`number_match`: 1.0 when the first
number in the answer (digits, or an English number word such as "twelve" or "twenty-one")
equals the gold number. ``pliable.metrics`` has no such metric (``exact_match`` compares the
whole normalised answer), so it is written here, once, and both sides call it.

:func:`judge` gives the score with the feedback text both reflective optimizers get (DSPy
GEPA as ``dspy.Prediction(score=..., feedback=...)``, pliable ``Reflective`` as
``pl.Score(value, feedback)``); every metric below goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)} | {
    w: 20 + 10 * i for i, w in enumerate(_TENS)
}
# a number in digits (thousands separators allowed), or a word
_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[a-z]+")


def first_number(value: Any) -> float | None:
    """The first number in ``value``: digits ("12", "12.5", "1,000") or an English number
    word ("twelve", "twenty-one", "twenty one"); ``None`` when it holds none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).lower()
    matches = list(_TOKEN.finditer(text))
    for i, m in enumerate(matches):
        token = m.group()
        if token[0].isdigit():
            return float(token.replace(",", ""))
        if token not in NUMBER_WORDS:
            continue
        number = NUMBER_WORDS[token]
        if number >= 20 and number % 10 == 0 and i + 1 < len(matches):
            nxt = matches[i + 1]
            unit = NUMBER_WORDS.get(nxt.group())
            if unit is not None and 1 <= unit <= 9 and text[m.end() : nxt.start()] in ("-", " "):
                number += unit
        return float(number)
    return None


def gold_number(example: Any) -> float | None:
    """The gold number of a generative example: the digit form in ``answers`` if there is
    one, else the first number of ``answer``."""
    answers = example.get("answers", [])
    for a in answers if isinstance(answers, list | tuple) else [answers]:
        if str(a).strip().isdigit():
            return float(str(a).strip())
    return first_number(example["answer"])


def _num(x: float | None) -> str:
    return "none" if x is None else (str(int(x)) if float(x).is_integer() else str(x))


def _shown(answer: Any) -> str:
    shown = str(answer).strip()
    return shown if len(shown) <= 200 else shown[:197] + "..."


def judge_number(answer: Any, gold: float | None) -> tuple[float, str]:
    """:func:`number_match`'s score and its feedback."""
    got = first_number(answer)
    if got is not None and got == gold:
        return 1.0, f"Correct: the answer gives the expected number {_num(gold)}."
    if got is None:
        return 0.0, (
            f"Wrong: the answer {_shown(answer)!r} gives no number. The expected number is "
            f"{_num(gold)}."
        )
    return 0.0, (
        f"Wrong: the answer {_shown(answer)!r} gives {_num(got)}, but the expected number is "
        f"{_num(gold)}."
    )


def judge_choice(answer: Any, choices: Sequence[str], gold: str) -> tuple[float, str]:
    """pliable's ``multiple_choice`` score and its feedback."""
    from pliable.evaluation.metrics import choice_index

    value = float(MC({"answer": gold, "choices": list(choices)}, {"answer": answer}))
    shown = _shown(answer)
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


def judge(answer: Any, example: Any) -> tuple[float, str]:
    """The score of ``answer`` for ``example`` (either framework's example) and the feedback:
    multiple choice when the example has ``choices``, else the number match."""
    if "choices" in example:
        return judge_choice(answer, list(example["choices"]), example["answer"])
    return judge_number(answer, gold_number(example))


def is_generative(example: Any) -> bool:
    return "choices" not in example


MC: Callable[..., float] = None  # type: ignore[assignment]  # set by init_metric()


def init_metric() -> None:
    """Set :data:`MC`. It imports pliable, so ``main()`` calls it (after ``--git-ref`` has put
    the exported ``src/`` first on ``PYTHONPATH``), not the import of this module."""
    global MC
    import pliable as pl

    MC = pl.metrics.multiple_choice()


def answer_of(pred: Any) -> Any:
    """The ``answer`` field of either framework's prediction (``None`` without one)."""
    if pred is None:
        return None
    if isinstance(pred, dict):
        return pred.get("answer")
    try:
        return pred.get("answer") if hasattr(pred, "get") else getattr(pred, "answer", None)
    except Exception:
        return getattr(pred, "answer", None)


def number_match(example: Any, prediction: Any, trace: Any = None) -> float:
    """1.0 when the prediction's first number equals the example's gold number."""
    return judge_number(answer_of(prediction), gold_number(example))[0]


def pliable_metric(generative: bool) -> Callable[..., float]:
    """pliable's metric for a task: ``pl.metrics.multiple_choice()`` or :func:`number_match`."""
    return number_match if generative else MC


def dspy_metric(example: Any, pred: Any, trace: Any = None) -> float:
    return judge(answer_of(pred), example)[0]


def dspy_feedback_metric(
    gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None
) -> Any:
    import dspy

    value, feedback = judge(answer_of(pred), gold)
    return dspy.Prediction(score=value, feedback=feedback)


def pliable_feedback_metric(example: Any, prediction: Any, trace: Any = None) -> Any:
    import pliable as pl

    value, feedback = judge(answer_of(prediction), example)
    return pl.Score(value, feedback)


def named_label(answer: Any, example: Any) -> str:
    """What the metric reads in an answer: the choice it names, or the number it gives
    (``"(none)"`` for neither)."""
    from pliable.evaluation.metrics import choice_index

    if answer is None:
        return "(none)"
    if "choices" in example:
        index = choice_index(answer, list(example["choices"]))
        return "(none)" if index is None else str(example["choices"][index])
    return "(none)" if (n := first_number(answer)) is None else _num(n)


def strict_golds(example: Any) -> list[str]:
    """The answers the strict reading accepts: the gold choice, or the gold number's word and
    digits (``answers``)."""
    if "choices" in example or "answers" not in example:
        return [str(example["answer"])]
    return [str(a) for a in example["answers"]] or [str(example["answer"])]
