"""DSPy's side of a ``compile_vs_dspy.py`` run: its LMs, program, test scores and compiles
(a mixin of :class:`_cvd_runner.Runner`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _cvd_common import (
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
from _cvd_metric import answer_of, dspy_feedback_metric, dspy_metric
from _cvd_tables import summarize


class DspySide:
    """The DSPy half of :class:`_cvd_runner.Runner`, which sets these attributes."""

    cfg: Config
    endpoints: Endpoints
    seed: int
    generative: bool
    dtrain: list[Any]
    dval: list[Any]
    dtest: list[Any]
    max_errors: int
    _tested: dict[tuple[str, str], dict[str, Any]]
    fresh_dir: Callable[[str], Path]
    answer_stats: Callable[[Sequence[Any]], dict[str, Any]]
    bootstrap_teacher: Callable[[str], bool]
    task_max_tokens: Callable[..., int]

    def dspy_lms(self, cache_dir: Path, pair: str | None = None) -> tuple[Any, Any]:
        """The task LM (the student, also ``dspy.configure``'d) and the instruction-writing LM
        (the teacher)."""
        import dspy

        dspy.configure_cache(
            enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(cache_dir)
        )
        ep, cfg = self.endpoints, self.cfg
        common: dict[str, Any] = {"api_key": "none", "cache": True, "temperature": 0.0}
        task = dspy.LM(
            ep.student_model,
            api_base=ep.student_base,
            max_tokens=self.task_max_tokens(pair),
            **common,
        )
        prompt = dspy.LM(
            ep.teacher_model, api_base=ep.teacher_base, max_tokens=cfg.prompt_max_tokens, **common
        )
        dspy.configure(lm=task)
        return task, prompt

    def dspy_teacher_settings(self, pair: str) -> dict[str, Any]:
        """``teacher_settings`` of the bootstrapping optimizers: the teacher model with the
        task calls' settings, when this pair bootstraps with a teacher (else ``{}``, DSPy's
        default: the student bootstraps)."""
        import dspy

        if not self.bootstrap_teacher(pair):
            return {}
        ep = self.endpoints
        lm = dspy.LM(
            ep.teacher_model,
            api_base=ep.teacher_base,
            api_key="none",
            cache=True,
            temperature=0.0,
            max_tokens=self.task_max_tokens(pair),
        )
        return {"lm": lm}

    def dspy_program(self, cot: bool = False) -> Any:
        """The program: one ``Predict`` (a ``ChainOfThought`` with ``cot``)."""
        import dspy

        signature, instructions = program_spec(self.generative)
        kind = dspy.ChainOfThought if cot else dspy.Predict
        return kind(dspy.Signature(signature, instructions))

    @staticmethod
    def dspy_describe(program: Any) -> dict[str, Any]:
        predictor = program.predictors()[0]
        content: dict[str, Any] = {
            "instructions": predictor.signature.instructions,
            "demos": [dict(d) for d in predictor.demos],
        }
        if type(program).__name__ != "Predict":  # a ChainOfThought is another program
            content["program"] = type(program).__name__
            content["fields"] = list(predictor.signature.fields)
        state = json.dumps(content, sort_keys=True, default=str)
        return {
            "state": hashlib.sha256(state.encode()).hexdigest()[:20],
            "instructions": predictor.signature.instructions,
            "demos": len(predictor.demos),
        }

    def dspy_test(self, program: Any) -> dict[str, Any]:
        import dspy

        state = self.dspy_describe(program)["state"]
        if ("dspy", state) in self._tested:
            return {**self._tested[("dspy", state)], "reused": True}
        phase = Phase(self.endpoints)
        evaluator = dspy.Evaluate(
            devset=self.dtest,
            metric=dspy_metric,
            num_threads=self.cfg.num_threads,
            display_progress=False,
            display_table=False,
            max_errors=len(self.dtest) + 1,
            failure_score=0.0,
        )
        with phase.measure(), contextlib.redirect_stdout(sys.stderr):
            result = evaluator(program)
        values = [float(score) for _, _, score in result.results]
        out = {
            **summarize(values),
            "values": values,
            "errors": sum(1 for _, pred, _ in result.results if answer_of(pred) is None),
            **self.answer_stats([answer_of(pred) for _, pred, _ in result.results]),
            "cost": phase.to_dict(),
        }
        self._tested[("dspy", state)] = out
        return out

    def dspy_compile(self, pair: str, task_lm: Any, prompt_lm: Any) -> Any:
        import dspy

        cfg, program = self.cfg, self.dspy_program(is_cot(pair))
        teacher = self.dspy_teacher_settings(pair)
        extra: dict[str, Any] = {"teacher_settings": teacher} if teacher else {}
        pair = base_pair(pair)
        if pair == "bootstrap_few_shot":  # the reference: no valset, no selection
            opt = dspy.BootstrapFewShot(
                metric=dspy_metric,
                max_bootstrapped_demos=4,
                max_labeled_demos=4,
                max_errors=self.max_errors,
                **extra,
            )
            return opt, opt.compile(program, trainset=self.dtrain)
        if pair == "random_search":
            opt = dspy.BootstrapFewShotWithRandomSearch(
                metric=dspy_metric,
                max_bootstrapped_demos=4,
                max_labeled_demos=4,
                num_candidate_programs=cfg.candidate_programs,
                num_threads=cfg.num_threads,
                max_errors=self.max_errors,
                **extra,
            )
            return opt, opt.compile(program, trainset=self.dtrain, valset=self.dval)
        if pair == "joint":
            if cfg.mipro_trials is None:
                opt = dspy.MIPROv2(
                    metric=dspy_metric,
                    prompt_model=prompt_lm,
                    task_model=task_lm,
                    auto="light",
                    num_threads=cfg.num_threads,
                    max_errors=self.max_errors,
                    seed=self.seed,
                    **extra,
                )
                return opt, opt.compile(program, trainset=self.dtrain, valset=self.dval)
            opt = dspy.MIPROv2(
                metric=dspy_metric,
                prompt_model=prompt_lm,
                task_model=task_lm,
                auto=None,
                num_candidates=cfg.mipro_candidates,
                num_threads=cfg.num_threads,
                max_errors=self.max_errors,
                seed=self.seed,
                **extra,
            )
            compiled = opt.compile(
                program,
                trainset=self.dtrain,
                valset=self.dval,
                num_trials=cfg.mipro_trials,
                minibatch=False,
            )
            return opt, compiled
        if pair == "reflective":
            budget: dict[str, Any] = (
                {"auto": "light"}
                if cfg.gepa_max_metric_calls is None
                else {"max_metric_calls": cfg.gepa_max_metric_calls}
            )
            opt = dspy.GEPA(
                metric=dspy_feedback_metric,
                reflection_lm=prompt_lm,
                num_threads=cfg.num_threads,
                seed=self.seed,
                **budget,
            )
            return opt, opt.compile(program, trainset=self.dtrain, valset=self.dval)
        raise ValueError(pair)

    def run_dspy(self, pair: str) -> dict[str, Any]:
        name = optimizer_names(pair)[0]
        task_lm, prompt_lm = self.dspy_lms(self.fresh_dir(f"dspy-{pair}"), pair)
        out: dict[str, Any] = {"side": "dspy", "optimizer": name}
        phase = Phase(self.endpoints)
        try:
            with phase.measure(), contextlib.redirect_stdout(sys.stderr):
                opt, compiled = self.dspy_compile(pair, task_lm, prompt_lm)
        except Exception as exc:
            out.update(status="failed", error=short_error(exc), traceback=traceback.format_exc())
            out["compile"] = phase.to_dict()
            log(f"DSPy {name} failed: {out['error']}")
            return out
        out["compile"] = phase.to_dict()
        out["settings"] = {
            k: str(v)
            for k, v in vars(opt).items()
            if isinstance(v, int | float | str | bool | type(None))
        }
        out["status"] = "ok"
        out["program"] = self.dspy_describe(compiled)
        out["test"] = self.dspy_test(compiled)
        return out
