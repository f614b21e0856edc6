"""pliable's side of a ``compile_vs_dspy.py`` run: its LMs, program, test scores and
compiles (a mixin of :class:`_cvd_runner.Runner`)."""

from __future__ import annotations

import contextlib
import inspect
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _cvd_common import (
    REFERENCES,
    Config,
    Endpoints,
    Phase,
    base_pair,
    is_cot,
    log,
    optimizer_names,
    program_spec,
    short_error,
)
from _cvd_metric import answer_of, pliable_feedback_metric, pliable_metric
from _cvd_tables import summarize

# the pliable optimizer of each pair (and reference) that bootstraps demos
_OPTIMIZER_CLASS = {
    "random_search": "BootstrapRandomSearch",
    "joint": "JointSearch",
    "bootstrap_few_shot": "BootstrapFewShot",
}


def pl_takes_teacher(pair: str) -> bool:
    """Whether pliable's optimizer of this pair takes a bootstrapping ``teacher=`` program
    (when it does not, neither side gets a bootstrapping teacher: see ``Runner.roles``)."""
    import pliable as pl

    name = _OPTIMIZER_CLASS.get(base_pair(pair))
    cls = getattr(pl, name, None) if name else None
    return cls is not None and "teacher" in inspect.signature(cls).parameters


class PliableSide:
    """The pliable half of :class:`_cvd_runner.Runner`, which sets these attributes."""

    cfg: Config
    endpoints: Endpoints
    seed: int
    generative: bool
    train: list[Any]
    val: list[Any]
    test: list[Any]
    _tested: dict[tuple[str, str], dict[str, Any]]
    fresh_dir: Callable[[str], Path]
    answer_stats: Callable[[Sequence[Any]], dict[str, Any]]
    bootstrap_teacher: Callable[[str], bool]
    task_max_tokens: Callable[..., int]

    @property
    def pl_metric(self) -> Callable[..., Any]:
        return pliable_metric(self.generative)

    def pl_lms(self, cache_dir: Path, pair: str | None = None) -> tuple[Any, Any]:
        """The task LM (the student) and the instruction-writing LM (the teacher)."""
        import pliable as pl

        ep, cfg = self.endpoints, self.cfg
        common: dict[str, Any] = {"api_key": "none", "cache": str(cache_dir), "temperature": 0}
        task = pl.LM(
            ep.student_model,
            api_base=ep.student_base,
            max_tokens=self.task_max_tokens(pair),
            **common,
        )
        prompt = pl.LM(
            ep.teacher_model, api_base=ep.teacher_base, max_tokens=cfg.prompt_max_tokens, **common
        )
        return task, prompt

    def pl_teacher_program(self, cache_dir: Path, pair: str) -> Any:
        """The pair's program on the teacher model, with the task calls' settings: the
        bootstrapping teacher (a ChainOfThought in a cot pair)."""
        import pliable as pl

        ep = self.endpoints
        lm = pl.LM(
            ep.teacher_model,
            api_base=ep.teacher_base,
            api_key="none",
            cache=str(cache_dir),
            temperature=0,
            max_tokens=self.task_max_tokens(pair),
        )
        program = self.pl_program(is_cot(pair))
        for predictor in program.predictors():
            predictor.lm = lm
        return program

    def pl_program(self, cot: bool = False) -> Any:
        """The program: one ``Predict`` (a ``ChainOfThought`` with ``cot``)."""
        import pliable as pl

        signature, instructions = program_spec(self.generative)
        kind = pl.ChainOfThought if cot else pl.Predict
        return kind(pl.Signature(signature, instructions))

    @staticmethod
    def pl_describe(program: Any) -> dict[str, Any]:
        from pliable.optimizers.state import state_hash

        (_name, p), *_ = program.named_predictors()
        return {
            "state": state_hash(program),
            "instructions": p.signature.instructions,
            "demos": len(p.demos),
        }

    def pl_test(self, program: Any, lm: Any) -> dict[str, Any]:
        import pliable as pl

        state = self.pl_describe(program)["state"]
        if ("pliable", state) in self._tested:
            return {**self._tested[("pliable", state)], "reused": True}
        phase = Phase(self.endpoints)
        with phase.measure(), pl.using(lm=lm):
            result = pl.evaluate(
                program, self.test, self.pl_metric, num_threads=self.cfg.num_threads, progress=False
            )
        rows = sorted(result.rows, key=lambda r: r.index)
        values = [float(r.score) for r in rows]
        out = {
            **summarize(values),
            "values": values,
            "errors": sum(1 for r in rows if r.error),
            **self.answer_stats([None if r.error else answer_of(r.prediction) for r in rows]),
            "cost": phase.to_dict(),
        }
        self._tested[("pliable", state)] = out
        return out

    def pl_optimizer(
        self, pair: str, prompt_lm: Any, calls_for_candidates: int, teacher: Any = None
    ) -> Any:
        import pliable as pl

        cfg = self.cfg
        # a bootstrapping teacher only where the optimizer takes one (pl_takes_teacher)
        extra: dict[str, Any] = {} if teacher is None else {"teacher": teacher}
        pair = base_pair(pair)
        if pair == "bootstrap_few_shot":  # the reference: its defaults but the demo counts
            return pl.BootstrapFewShot(
                self.pl_metric,
                max_bootstrapped_demos=4,
                max_labeled_demos=4,
                num_threads=cfg.num_threads,
                **extra,
            )
        if pair == "random_search":
            return pl.BootstrapRandomSearch(
                self.pl_metric,
                num_candidates=calls_for_candidates,
                max_bootstrapped_demos=4,
                max_labeled_demos=4,
                seed=self.seed,
                num_threads=cfg.num_threads,
                **extra,
            )
        if pair == "joint":
            # proposals as long as MIPROv2's (--prompt-max-tokens), not the proposer's 256
            proposer = pl.InstructionProposer(
                prompt_lm=prompt_lm, max_tokens=cfg.prompt_max_tokens, seed=self.seed
            )
            if cfg.mipro_trials is None:
                return pl.JointSearch(
                    self.pl_metric,
                    auto="light",
                    proposer=proposer,
                    seed=self.seed,
                    num_threads=cfg.num_threads,
                    **extra,
                )
            # the same small search as MIPROv2's (--mipro-trials / --mipro-candidates)
            return pl.JointSearch(
                self.pl_metric,
                auto=None,
                num_instructions=cfg.mipro_candidates,
                num_demo_sets=cfg.mipro_candidates,
                num_trials=cfg.mipro_trials,
                minibatch_size=cfg.n_val,
                full_eval_every=cfg.mipro_trials,
                proposer=proposer,
                seed=self.seed,
                num_threads=cfg.num_threads,
                **extra,
            )
        if pair == "reflective":
            return pl.Reflective(
                pliable_feedback_metric,
                reflection_lm=prompt_lm,
                seed=self.seed,
                num_threads=cfg.num_threads,
            )
        raise ValueError(pair)

    def run_pliable(self, pair: str, budget_calls: int | None) -> dict[str, Any]:
        """Compile with pliable's optimizer of ``pair`` (a pair, a cot pair or a reference)
        and score the result on the test set. A reference compiles without a valset, as
        DSPy's ``BootstrapFewShot`` does (so no selection on it either)."""
        import pliable as pl

        name = optimizer_names(pair)[1]
        cache = self.fresh_dir(f"pliable-{pair}")
        task_lm, prompt_lm = self.pl_lms(cache, pair)
        cot = is_cot(pair)
        valset = None if pair in REFERENCES else self.val
        out: dict[str, Any] = {
            "side": "pliable",
            "optimizer": name,
            "budget_lm_calls": budget_calls,
            "matched": budget_calls is not None,
        }
        teacher = self.pl_teacher_program(cache, pair) if self.bootstrap_teacher(pair) else None
        optimizer = self.pl_optimizer(pair, prompt_lm, self.cfg.candidate_programs + 3, teacher)
        out["settings"] = {k: str(v) for k, v in optimizer.settings().items()}
        budget = pl.Budget(lm_calls=budget_calls) if budget_calls is not None else None
        phase = Phase(self.endpoints)
        try:
            with phase.measure(), contextlib.redirect_stdout(sys.stderr), pl.using(lm=task_lm):
                compiled = optimizer.compile(
                    self.pl_program(cot),
                    trainset=self.train,
                    valset=valset,
                    budget=budget,
                    progress=False,
                )
        except Exception as exc:
            out.update(status="failed", error=short_error(exc), traceback=traceback.format_exc())
            out["compile"] = phase.to_dict()
            log(f"pliable {name} FAILED: {out['error']}\n{out['traceback']}")
            return out
        report = compiled.report
        out["compile"] = phase.to_dict()
        out["report"] = {
            "lm_calls": report.lm_calls,
            "cache_hits": report.cache_hits,
            "prompt_tokens": report.prompt_tokens,
            "completion_tokens": report.completion_tokens,
            "wall_time": round(report.wall_time, 2),
            "baseline_val": None if report.baseline is None else report.baseline.score,
            "final_val": None if report.final is None else report.final.score,
            "selected": report.selected,
            "comparison": report.comparison,
            "stopped": report.stopped,
            "notes": report.notes,
            "candidates": len(report.candidates),
        }
        out["status"] = "ok"
        out["program"] = self.pl_describe(compiled)
        out["test"] = self.pl_test(compiled, task_lm)
        if report.selected == "baseline":
            # Honest selection kept the program passed in: replay the compile from the same
            # cache with the gate off (cache hits are free), and score that best candidate.
            # The replay may make only the calls the first compile left unspent (cache hits
            # are free, so an unlimited replay could search further than the first run did),
            # and at least 1: JointSearch treats a budget with nothing left as spent before
            # it looks at the cache, and would stop early (the calls made are recorded).
            used = report.lm_calls
            left = max(1, (budget_calls if budget_calls is not None else used) - used)
            phase2 = Phase(self.endpoints)
            try:
                with (
                    phase2.measure(),
                    contextlib.redirect_stdout(sys.stderr),
                    pl.using(lm=task_lm),
                ):
                    best = optimizer.compile(
                        self.pl_program(cot),
                        trainset=self.train,
                        valset=self.val,
                        budget=pl.Budget(lm_calls=left),
                        require_significance=False,
                        progress=False,
                    )
                out["best_candidate"] = {
                    "replay": phase2.to_dict(),
                    "final_val": None if best.report.final is None else best.report.final.score,
                    "stopped": best.report.stopped,
                    "selected_candidate": [
                        n for n in best.report.notes if "selected" in n or "best candidate" in n
                    ],
                    "program": self.pl_describe(best),
                    "test": self.pl_test(best, task_lm),
                }
            except Exception as exc:
                out["best_candidate"] = {"status": "failed", "error": short_error(exc)}
        return out
