"""Honest selection: keep the compiled program or the one passed in, judged on the valset.

The compiled program is kept when it beats the baseline (the program passed in) beyond the
noise, with an interval that holds for every candidate scored on the whole valset at once
(:func:`~pliable.evaluation.stats.selection_bootstrap`); or when the baseline does not beat
the majority-answer floor beyond the noise and the compiled program scores higher (a baseline
not known to beat always giving one answer is no safe default to protect). Whatever is kept
is set against the floor, and a program below it marks the report unusable (``report.usable``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pliable.optimizers.run import Run, Scores
from pliable.optimizers.state import state_hash
from pliable.programs.module import Module

if TYPE_CHECKING:
    from pliable.evaluation.floor import Floor, FloorComparison

__all__ = ["baseline_unsafe", "below", "check_usable", "select", "versus_floor"]

logger = logging.getLogger(__name__)


def below(scores: Scores, floor: Floor) -> bool:
    """Whether ``scores`` (on the floor's valset) average below the floor."""
    return scores.n == floor.n and scores.mean < floor.score


def select(
    program: Module,
    compiled: Module,
    baseline: Scores | None,
    final: Scores | None,
    run: Run,
) -> Module:
    """Keep ``compiled`` when it beats the baseline beyond the noise, or when the baseline
    does not clearly beat the majority-answer floor and ``compiled`` scores higher; flag the
    report when the program returned is below the floor (nothing usable was found)."""
    report = run.report
    if final is not None:
        report.final = final.summary()
    if state_hash(compiled) == state_hash(program):
        report.selected = "unchanged"
        kept = final if final is not None else baseline
        versus_floor(run, kept, note=True)
        check_usable(run, kept)
        return compiled
    if baseline is None or final is None:
        report.selected = "compiled"
        versus_floor(run, final, note=True)
        check_usable(run, final)
        return compiled
    from pliable.evaluation.stats import selection_bootstrap

    # The winner was picked as the best of m candidates on this same valset, so a lucky
    # candidate among many must clear a higher bar than a single compiled program: its
    # interval holds for all m candidates at once (a max-type resampling correction,
    # which widens it less than Bonferroni would when the candidates agree).
    start, chosen = state_hash(program), state_hash(compiled)
    scored = [c["state"] for c in report.candidates if c.get("score") is not None]
    rows: dict[str, tuple[float, ...]] = {chosen: final.values}
    for state in dict.fromkeys(scored):
        values = run.scores_of(state, baseline.keys)
        if state != start and values is not None:
            rows.setdefault(state, values)
    m = len(rows)
    test = selection_bootstrap(baseline.values, list(rows.values()), 0)
    # the floor comparison below is of that same pick: widened (Bonferroni) for m
    confidence = 1.0 - 0.05 / m
    report.comparison = {
        "difference": test.difference,
        "ci_low": test.ci_low,
        "ci_high": test.ci_high,
        "p_value": test.p_value,
        "confidence": 0.95,
        "candidates_compared": m,
    }
    level = "95% CI" if m == 1 else f"95% CI for the best of {m} candidates"
    shown = f"{test.difference:+.3f}, {level} [{test.ci_low:+.3f}, {test.ci_high:+.3f}]"
    if test.ci_low > 0:
        report.selected = "compiled"
        # the same widened interval: the program set against the floor is that same pick
        versus = versus_floor(run, final, confidence=confidence)
        if versus is None:
            run.note(f"the compiled program beats the baseline on the valset ({shown})")
        elif versus.beaten:
            run.note(
                f"the compiled program beats the baseline on the valset ({shown}) and is "
                f"{versus.describe()}"
            )
        else:
            run.note(
                f"the compiled program beats the baseline on the valset ({shown}), but it "
                f"is {versus.describe()}"
            )
        check_usable(run, final)
        return compiled
    if not run.require_significance:
        report.selected = "compiled"
        run.note(f"compiled vs baseline is inside the noise ({shown}); kept as asked")
        versus_floor(run, final, note=True, confidence=confidence)
        check_usable(run, final)
        return compiled
    unsafe = baseline_unsafe(run, baseline)
    if unsafe is not None and final.mean > baseline.mean:
        # Keeping the program passed in over a gain inside the noise protects a program
        # known to work. One that does not clearly beat always giving the majority answer
        # (often replies that do not parse, each scored 0) is not known to work.
        report.selected = "compiled"
        run.note(
            f"compiled vs baseline is inside the noise ({shown}), but the baseline is "
            f"{unsafe}, so it is no safe default: kept the compiled program, which scores "
            f"{final.mean:.3f} against the baseline's {baseline.mean:.3f}"
        )
        versus_floor(run, final, note=True, confidence=confidence)
        check_usable(run, final)
        return compiled
    report.selected = "baseline"
    report.final = baseline.summary()
    run.note(
        f"compiled vs baseline is inside the noise ({shown}): kept the program passed in. "
        "Use more valset examples, or compile(..., require_significance=False) to keep "
        "the compiled program anyway."
    )
    versus_floor(run, baseline, note=True)
    check_usable(run, baseline)
    return program.deepcopy()


def baseline_unsafe(run: Run, baseline: Scores) -> str | None:
    """Why the baseline is no safe default (it does not beat the majority-answer floor
    beyond the noise, e.g. ``"at or below the majority-answer floor 0.600 (always 'no')"``),
    or None when it does, or when there is no floor to judge by."""
    floor = run.floor
    if floor is None or baseline.n != floor.n:
        return None
    versus = floor.compare(list(baseline.values))
    return None if versus.beaten else versus.describe()


def check_usable(run: Run, kept: Scores | None) -> None:
    """Flag the report (``usable=False``) and warn when ``kept``, the returned program's
    valset scores, is below the majority-answer floor: always giving one answer would do
    better than anything this compile found."""
    floor = run.floor
    if floor is None or kept is None or not below(kept, floor):
        return
    report = run.report
    errors = f"; {kept.errors} of its {kept.n} valset examples raised errors" * bool(kept.errors)
    scored = [c["score"] for c in report.candidates if isinstance(c.get("score"), float)]
    others = (
        f", nor did any of the {len(scored)} candidates scored on the whole valset"
        if scored and max(scored) < floor.score
        else ""
    )
    report.usable = False
    report.unusable = (
        f"the program returned scores {kept.mean:.3f} on the valset, below the "
        f"majority-answer floor {floor.score:.3f} ({floor.answer_text()}){others}{errors}. "
        "Check that the model's replies parse (pliable inspect shows the prompt), try a "
        "stronger model, or give more examples."
    )
    logger.warning("%s: no usable program: %s", report.optimizer, report.unusable)


def versus_floor(
    run: Run, kept: Scores | None, *, note: bool = False, confidence: float = 0.95
) -> FloorComparison | None:
    """``kept`` (the program returned, scored on the valset) against the floor, saved as
    ``report.floor_comparison``; with ``note``, a note when it does not beat the floor.
    ``confidence`` is widened like the baseline comparison's when ``kept`` was picked
    among several candidates."""
    if run.floor is None or kept is None or kept.n != run.floor.n:
        return None
    versus = run.floor.compare(list(kept.values), confidence=confidence)
    run.report.floor_comparison = versus.to_dict()
    if note and not versus.beaten:
        run.note(f"the program returned is {versus.describe()}")
    return versus
