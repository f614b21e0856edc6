"""What both sides of ``compile_vs_dspy.py`` share: the settings, the pairs and references,
the program's signature per kind of task, the data split, where each role's calls go, and the
measurement of one phase at the proxies. (The metric lives in ``_cvd_metric.py``.)"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _llama_server import CountingProxy, Counts, LlamaServer
from _models import DEFAULT_MODEL, Models, slug

# the program of a multiple-choice task (its examples have ``choices``) ...
SIGNATURE = "question, choices: list[str] -> answer"
INSTRUCTIONS = "Answer the question with exactly one of the choices, copied word for word."
# ... and of a generative one (no ``choices``): generic, nothing about any task
GEN_SIGNATURE = "question -> answer"
GEN_INSTRUCTIONS = "Answer the question. Give only the final answer."

# the compiled pairs: name -> (DSPy optimizer, pliable optimizer)
PAIRS: dict[str, tuple[str, str]] = {
    "random_search": ("BootstrapFewShotWithRandomSearch", "BootstrapRandomSearch"),
    "joint": ("MIPROv2", "JointSearch"),
    "reflective": ("GEPA", "Reflective"),
}
# reference rows, run on every task and seed next to zero-shot (no budget matching)
REFERENCES: dict[str, tuple[str, str]] = {
    "bootstrap_few_shot": ("BootstrapFewShot", "BootstrapFewShot"),
}
COT = "cot_"  # cot_<pair>: the pair with ChainOfThought programs on both sides
FULL_TASKS = [
    "anachronisms",
    "date_understanding",
    "intent_recognition",
    "sports_understanding",
    "object_counting",
]


def program_spec(generative: bool) -> tuple[str, str]:
    """The signature and instructions of the program, on both sides."""
    return (GEN_SIGNATURE, GEN_INSTRUCTIONS) if generative else (SIGNATURE, INSTRUCTIONS)


def base_pair(name: str) -> str:
    """``cot_random_search`` -> ``random_search``."""
    return name.removeprefix(COT)


def is_cot(name: str) -> bool:
    return name.startswith(COT)


def optimizer_names(name: str) -> tuple[str, str]:
    """(DSPy's, pliable's) optimizer of a pair, a cot pair or a reference."""
    base = base_pair(name)
    dspy_name, pl_name = PAIRS[base] if base in PAIRS else REFERENCES[base]
    if is_cot(name):
        return f"{dspy_name} (ChainOfThought)", f"{pl_name} (ChainOfThought)"
    return dspy_name, pl_name


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
    # pliable local model names (results from before these existed ran SmolLM2 alone)
    model: str = DEFAULT_MODEL  # the student: every task call
    teacher: str = DEFAULT_MODEL  # instruction writing, reflection, bootstrapping (see Roles)
    # chain-of-thought pairs (cot_<pair>), on these tasks only, with longer task calls
    cot_pairs: list[str] = field(default_factory=list)
    cot_tasks: list[str] = field(default_factory=list)
    cot_max_tokens: int = 256

    def task_pairs(self, task: str) -> list[str]:
        """The pairs run on ``task``, in order: ``pairs``, then the cot pairs of a cot task."""
        cot = [COT + p for p in self.cot_pairs] if task in self.cot_tasks else []
        return [*self.pairs, *cot]

    def all_pairs(self) -> list[str]:
        return [*self.pairs, *(COT + p for p in self.cot_pairs)]

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Endpoints:
    """Where each role's calls go: an OpenAI-compatible model name (``openai/<alias>``) at a
    counting proxy of its own, so the teacher's calls are counted apart from the student's.
    Without a separate teacher, the teacher's proxy forwards to the student's server."""

    student_model: str
    teacher_model: str
    student: CountingProxy
    teacher: CountingProxy
    has_teacher: bool  # a teacher model other than the student

    @property
    def student_base(self) -> str:
        return self.student.base_url + "/v1"

    @property
    def teacher_base(self) -> str:
        return self.teacher.base_url + "/v1"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def serve(models: Models, server_log: Path | None) -> Iterator[tuple[Endpoints, list[Any]]]:
    """The llama.cpp server(s) and one counting proxy per role; stopped on the way out."""
    alias = slug(models.student)
    teacher_alias = slug(models.teacher)
    if models.has_teacher and teacher_alias == alias:
        teacher_alias += "-teacher"
    with contextlib.ExitStack() as stack:
        log(f"starting the llama.cpp server for {models.student} ({models.student_path})")
        student = stack.enter_context(
            LlamaServer(models.student_path, alias=alias, log_path=server_log)
        )
        servers = [student]
        teacher = student
        if models.has_teacher:
            log(f"starting the llama.cpp server for {models.teacher} ({models.teacher_path})")
            teacher_log = server_log.with_name(server_log.name + ".teacher") if server_log else None
            teacher = stack.enter_context(
                LlamaServer(models.teacher_path, alias=teacher_alias, log_path=teacher_log)
            )
            servers.append(teacher)
        endpoints = Endpoints(
            student_model=f"openai/{alias}",
            teacher_model=f"openai/{teacher_alias if models.has_teacher else alias}",
            student=stack.enter_context(CountingProxy(student.base_url)),
            teacher=stack.enter_context(CountingProxy(teacher.base_url)),
            has_teacher=models.has_teacher,
        )
        log(
            f"student {models.student} at {student.base_url} (proxy "
            f"{endpoints.student.base_url}); teacher {models.teacher} at {teacher.base_url} "
            f"(proxy {endpoints.teacher.base_url})"
        )
        yield endpoints, servers


def check_resumable(previous: dict[str, Any], cfg: Config, out_path: Path) -> None:
    """Refuse to resume a results file made with other models or other settings."""
    try:
        before = Config(**previous.get("config", {})).to_dict()  # fills model/teacher
    except TypeError:
        before = previous.get("config")
    if not isinstance(before, dict):
        raise SystemExit(f"--resume: {out_path} has no settings to resume")
    was = (before.get("model"), before.get("teacher"))
    if was != (cfg.model, cfg.teacher):
        raise SystemExit(
            f"--resume: {out_path} was made with --model {was[0]} --teacher {was[1]}, not "
            f"--model {cfg.model} --teacher {cfg.teacher}"
        )
    if before != cfg.to_dict():
        raise SystemExit(f"--resume: {out_path} was made with other settings: {before}")


# --------------------------------------------------------------------------- data


def split_config(tasks: list[str], seeds: list[int], num_threads: int) -> Config:
    """The full run's split (20/20/100) and task calls, with no pairs: for the scripts that
    score programs on ``compile_vs_dspy.py``'s data outside a pair (demo_count, demo_swap)."""
    return Config(
        quick=False,
        tasks=tasks,
        seeds=seeds,
        n_train=20,
        n_val=20,
        n_test=100,
        pairs=[],
        max_tokens=32,
        prompt_max_tokens=128,
        num_threads=num_threads,
        candidate_programs=0,
        gepa_max_metric_calls=None,
        mipro_trials=None,
        mipro_candidates=None,
    )


def load_split(cfg: Config, task: str, seed: int) -> tuple[list[Any], list[Any], list[Any]]:
    import pliable as pl

    total = cfg.n_train + cfg.n_val + cfg.n_test
    examples = pl.load_bigbench(task, seed=seed, limit=total)
    if len(examples) < total:
        raise SystemExit(f"{task}: only {len(examples)} examples, {total} needed")
    train, val, test = pl.split(
        list(examples), train=cfg.n_train, dev=cfg.n_val, test=cfg.n_test, seed=seed
    )
    return train, val, test


def to_dspy(examples: Sequence[Any]) -> list[Any]:
    import dspy

    out = []
    for e in examples:
        if "choices" in e:  # multiple choice
            ex = dspy.Example(question=e.question, choices=list(e.choices), answer=e.answer)
            out.append(ex.with_inputs("question", "choices"))
        else:  # generative: the question only; the gold answers ride along for the metric
            golds = list(e["answers"]) if "answers" in e else [e.answer]
            ex = dspy.Example(question=e.question, answer=e.answer, answers=golds)
            out.append(ex.with_inputs("question"))
    return out


# --------------------------------------------------------------------------- a phase


class Phase:
    """Counts at both proxies, wall time and load average of one phase (compile or test).

    ``lm_calls`` and the token counts are the student's and the teacher's together (what a
    budget counts); ``by_role`` has each apart."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.counts: dict[str, Counts] = {}
        self.seconds = 0.0
        self.load: tuple[float | None, float | None] = (None, None)

    def _snapshot(self) -> dict[str, Counts]:
        return {
            "student": self.endpoints.student.snapshot(),
            "teacher": self.endpoints.teacher.snapshot(),
        }

    @contextlib.contextmanager
    def measure(self) -> Iterator[Phase]:
        before, start, load0 = self._snapshot(), time.perf_counter(), load_avg()
        try:
            yield self
        finally:
            self.seconds = time.perf_counter() - start
            self.counts = {k: c.minus(before[k]) for k, c in self._snapshot().items()}
            self.load = (load0, load_avg())

    def to_dict(self) -> dict[str, Any]:
        assert self.counts
        roles = {k: c.to_dict() for k, c in self.counts.items()}
        for role in roles.values():
            del role["calls_by_kind"]
        return {
            **self.counts["student"].plus(self.counts["teacher"]).to_dict(),
            "by_role": roles,
            "wall_seconds": round(self.seconds, 2),
            "load_avg": list(self.load),
        }


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."
