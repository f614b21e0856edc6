"""Per-example Pareto fronts: which candidates are worth improving next.

A candidate with a lower mean can still be the only one that gets some examples right;
selecting by mean alone would throw that knowledge away. The front keeps every candidate that
achieves the best score on at least one example and is not dominated (another candidate
scoring at least as well on every example and better on one). Candidates on the front are
sampled in proportion to the number of examples they are best on.

Merging helpers work on the same candidates: their lineage (each candidate's parents, as
indices into the pool), the pairs of branches that share an ancestor, the instructions a
merge of two branches takes, and the examples to check a merge on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

__all__ = [
    "ancestors",
    "dominates",
    "merge_instructions",
    "merge_options",
    "merge_pairs",
    "merge_subsample",
    "pareto_front",
    "select_from_front",
]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether scores ``a`` are at least ``b`` on every example and higher on one."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def pareto_front(scores: Sequence[Sequence[float]]) -> dict[int, int]:
    """``{candidate index: examples it is best on}`` for the non-dominated candidates.

    ``scores[c][e]`` is candidate ``c``'s score on example ``e`` (every candidate scored on
    the same examples, in the same order). A candidate is best on an example when no other
    scores higher there (ties are best together). Dominated candidates are left out even
    where they tie for best. With no examples, every candidate counts once.
    """
    if not scores:
        return {}
    n = len(scores[0])
    if any(len(s) != n for s in scores):
        raise ValueError("every candidate must be scored on the same examples")
    if n == 0:
        return dict.fromkeys(range(len(scores)), 1)
    kept = [
        c
        for c in range(len(scores))
        if not any(dominates(scores[o], scores[c]) for o in range(len(scores)) if o != c)
    ]
    counts: dict[int, int] = {}
    for e in range(n):
        best = max(scores[c][e] for c in range(len(scores)))
        for c in kept:
            if scores[c][e] == best:
                counts[c] = counts.get(c, 0) + 1
    return counts


def select_from_front(scores: Sequence[Sequence[float]], rng: random.Random) -> int:
    """A candidate index from the front, drawn with weight = examples it is best on."""
    front = pareto_front(scores)
    if not front:
        raise ValueError("no candidates to select from")
    indices = sorted(front)
    total = sum(front[i] for i in indices)
    draw = rng.randrange(total)
    for i in indices:
        draw -= front[i]
        if draw < 0:
            return i
    return indices[-1]  # unreachable: the draw is below the total


# -- merging -------------------------------------------------------------------------------


def ancestors(parents: Sequence[Sequence[int]], index: int) -> set[int]:
    """Every ancestor of candidate ``index``; ``parents[c]`` lists ``c``'s parents."""
    found: set[int] = set()
    todo = list(parents[index])
    while todo:
        k = todo.pop()
        if k not in found:
            found.add(k)
            todo.extend(parents[k])
    return found


def merge_pairs(
    parents: Sequence[Sequence[int]], candidates: Sequence[int]
) -> list[tuple[int, int, int]]:
    """``(i, j, ancestor)`` for the pairs of ``candidates`` on different branches (neither
    descends from the other) with a common ancestor: the newest one (highest index)."""
    found = []
    ordered = sorted(candidates)
    for x, i in enumerate(ordered):
        up_i = ancestors(parents, i)
        for j in ordered[x + 1 :]:
            up_j = ancestors(parents, j)
            common = up_i & up_j
            if common and i not in up_j and j not in up_i:
                found.append((i, j, max(common)))
    return found


def merge_instructions(
    ancestor: Mapping[str, str],
    a: Mapping[str, str],
    b: Mapping[str, str],
    *,
    prefer_a: bool,
) -> dict[str, str] | None:
    """Each predictor's instruction from the branch that changed it since ``ancestor``
    (``a``'s when both did and ``prefer_a``, else ``b``'s). ``None`` unless each branch
    changed a predictor the other left alone (else the merge would equal one of them)."""
    only_a = any(a[k] != ancestor[k] and b[k] == ancestor[k] for k in ancestor)
    only_b = any(b[k] != ancestor[k] and a[k] == ancestor[k] for k in ancestor)
    if not (only_a and only_b):
        return None
    merged = {}
    for k, base in ancestor.items():
        if a[k] == base:
            merged[k] = b[k]
        elif b[k] == base:
            merged[k] = a[k]
        else:
            merged[k] = a[k] if prefer_a else b[k]
    return merged


def merge_options(
    parents: Sequence[Sequence[int]],
    instructions: Sequence[Mapping[str, str]],
    means: Sequence[float],
    candidates: Sequence[int],
) -> list[tuple[int, int, int, dict[str, str]]]:
    """``(i, j, ancestor, merged instructions)`` for every pair of ``candidates`` that
    :func:`merge_pairs` finds and :func:`merge_instructions` can merge (the higher ``means``
    wins where both branches changed a predictor; ``i`` on a tie)."""
    found = []
    for i, j, a in merge_pairs(parents, candidates):
        merged = merge_instructions(
            instructions[a], instructions[i], instructions[j], prefer_a=means[i] >= means[j]
        )
        if merged is not None:
            found.append((i, j, a, merged))
    return found


def merge_subsample(
    a: Sequence[float], b: Sequence[float], size: int, rng: random.Random
) -> list[int]:
    """Up to ``size`` example indices to check a merge of ``a`` and ``b`` on: examples where
    the two score differently first (in random order), then others; returned sorted."""
    differ = [k for k, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    same = [k for k in range(len(a)) if a[k] == b[k]]
    rng.shuffle(differ)
    rng.shuffle(same)
    return sorted((differ + same)[:size])
