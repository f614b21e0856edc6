"""One task and seed of ``compile_vs_dspy.py``: the data, both sides (the mixins in
``_cvd_pliable.py`` and ``_cvd_dspy.py``), the zero-shot baselines and the trivial programs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _cvd_common import Config, Endpoints, base_pair, is_cot, load_split, optimizer_names, to_dspy
from _cvd_dspy import DspySide
from _cvd_metric import is_generative, judge, named_label
from _cvd_pliable import PliableSide, pl_takes_teacher
from _cvd_tables import summarize

# what the teacher model does on each side, per pair (or reference); the bootstrapping roles
# only with a separate teacher that both sides can bootstrap with (see Runner.bootstrap_teacher)
_WRITING_ROLES = {
    "random_search": ([], []),
    "joint": (["MIPROv2 prompt_model"], ["JointSearch proposer (InstructionProposer)"]),
    "reflective": (["GEPA reflection_lm"], ["Reflective reflection_lm"]),
    "bootstrap_few_shot": ([], []),
}
_BOOTSTRAP_ROLES = {
    "random_search": ("BootstrapFewShotWithRandomSearch teacher_settings", "teacher="),
    "joint": ("MIPROv2 teacher_settings", "teacher="),
    "bootstrap_few_shot": ("BootstrapFewShot teacher_settings", "teacher="),
}


class Runner(PliableSide, DspySide):
    """One task and seed: the data, the endpoints, and memoised test scores per program
    state."""

    def __init__(
        self, cfg: Config, endpoints: Endpoints, task: str, seed: int, workdir: Path
    ) -> None:
        self.cfg, self.endpoints, self.task, self.seed = cfg, endpoints, task, seed
        self.workdir = workdir
        self.train, self.val, self.test = load_split(cfg, task, seed)
        self.generative = is_generative(self.train[0])  # no choices: a generative task
        self.dtrain, self.dval, self.dtest = (to_dspy(x) for x in (self.train, self.val, self.test))
        # DSPy's evaluations stop the whole compile after dspy.settings.max_errors (10) failed
        # examples, and a small model's unparseable replies are errors there; pliable scores
        # them 0 and goes on. Both sides get the pliable behaviour: no stop, a failure is 0.
        self.max_errors = cfg.n_train + cfg.n_val + cfg.n_test + 1
        self._tested: dict[tuple[str, str], dict[str, Any]] = {}
        self._n = 0

    def task_max_tokens(self, pair: str | None = None) -> int:
        """``max_tokens`` of the task calls (and the bootstrapping teacher's) of a pair:
        ``--cot-max-tokens`` for a cot pair, else ``--max-tokens``."""
        return self.cfg.cot_max_tokens if pair and is_cot(pair) else self.cfg.max_tokens

    def bootstrap_teacher(self, pair: str) -> bool:
        """Whether both sides bootstrap this pair's demos with the teacher model: only with a
        separate teacher, and only where pliable's optimizer takes a ``teacher=`` (DSPy's
        always do, through ``teacher_settings``), so that the two sides stay matched."""
        base = base_pair(pair)
        return self.endpoints.has_teacher and base in _BOOTSTRAP_ROLES and pl_takes_teacher(base)

    def roles(self, pair: str) -> dict[str, list[str]]:
        """What the teacher model does in this pair, on each side (for the results JSON)."""
        base = base_pair(pair)
        dspy_roles, pl_roles = (list(r) for r in _WRITING_ROLES[base])
        if self.bootstrap_teacher(pair):
            dspy_roles.append(_BOOTSTRAP_ROLES[base][0])
            pl_roles.append(f"{optimizer_names(pair)[1]} {_BOOTSTRAP_ROLES[base][1]}")
        return {"dspy": dspy_roles, "pliable": pl_roles}

    def remember(self, record: dict[str, Any]) -> None:
        """Test scores of the zero-shot and reference programs from an earlier session
        (--resume)."""
        results = [(side, res) for side, res in record.get("zero_shot", {}).items()]
        for ref in record.get("references", {}).values():
            for side in ("pliable", "dspy"):
                if ref[side].get("test"):
                    results.append((side, {**ref[side]["test"], "program": ref[side]["program"]}))
        for side, res in results:
            state = res.get("program", {}).get("state")
            if state:
                self._tested[(side, state)] = {k: v for k, v in res.items() if k != "program"}

    def answer_stats(self, answers: Sequence[Any]) -> dict[str, Any]:
        """What the metric reads in each test answer (the choice it names, or the number it
        gives), and the answers."""
        named: dict[str, int] = {}
        for answer, example in zip(answers, self.test, strict=True):
            label = named_label(answer, example)
            named[label] = named.get(label, 0) + 1
        return {
            "named_choices": dict(sorted(named.items(), key=lambda kv: -kv[1])),
            "answers": [None if a is None else str(a)[:60] for a in answers],
        }

    def label_baselines(self) -> dict[str, Any]:
        """Scores of trivial programs on the test set: always the train set's most common
        answer (scored by the metric), and chance (the mean of 1 / number of choices; none
        for a generative task)."""
        from collections import Counter

        majority, _ = Counter(e.answer for e in self.train).most_common(1)[0]
        values = [judge(majority, e)[0] for e in self.test]
        chance = (
            None if self.generative else sum(1 / len(e.choices) for e in self.test) / len(self.test)
        )
        return {
            "train_majority_label": majority,
            "always_train_majority": summarize(values),
            "always_train_majority_values": values,
            "chance": chance,
            "test_labels": dict(Counter(e.answer for e in self.test).most_common()),
        }

    def fresh_dir(self, name: str) -> Path:
        self._n += 1
        path = self.workdir / f"{self.task}-s{self.seed}-{self._n:02d}-{name}"
        path.mkdir(parents=True)
        return path

    # -- zero-shot baselines ---------------------------------------------------------------

    def baselines(self) -> dict[str, Any]:
        task_lm, _ = self.pl_lms(self.fresh_dir("pliable-zero-shot"))
        pl_prog = self.pl_program()
        pl_res = {**self.pl_test(pl_prog, task_lm), "program": self.pl_describe(pl_prog)}
        self.dspy_lms(self.fresh_dir("dspy-zero-shot"))
        ds_prog = self.dspy_program()
        ds_res = {**self.dspy_test(ds_prog), "program": self.dspy_describe(ds_prog)}
        return {"pliable": pl_res, "dspy": ds_res}
