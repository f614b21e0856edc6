"""SQuAD-style answer normalisation and token overlap, shared by the text metrics.

``normalize_answer`` lowercases, drops punctuation (ASCII and Unicode) and the articles
*a*, *an*, *the*, and collapses whitespace, so ``"The  Eiffel Tower!"`` and ``"eiffel tower"``
compare equal.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

__all__ = [
    "as_text",
    "contains_tokens",
    "gold_answers",
    "normalize_answer",
    "token_f1",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)


def as_text(value: Any) -> str:
    """A value as text: whole floats without their ``.0`` (so 4.0 reads like 4)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def normalize_answer(value: Any) -> str:
    """Lowercase, strip punctuation and articles, collapse whitespace."""
    text = as_text(value).lower()
    text = "".join(ch for ch in text if not _is_punct(ch))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def gold_answers(value: Any) -> list[Any]:
    """A label as a list of acceptable answers (a list, tuple or set of them, or one)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        return items
    return [value]


def token_f1(prediction: Any, gold: Any) -> float:
    """Token-level F1 between two normalised answers (1.0 if both are empty)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def contains_tokens(passages: Iterable[Any], answer: Any) -> bool:
    """Whether a passage holds the normalised answer as a whole-token run."""
    needle = normalize_answer(answer)
    if not needle:
        return False
    return any(f" {needle} " in f" {normalize_answer(p)} " for p in passages)
