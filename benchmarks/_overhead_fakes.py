"""The programs ``overhead.py`` times: pliable and DSPy with fake LMs, and the fake server.

Part 1's cases (``build_overhead_cases``): ``Predict`` and ``ChainOfThought`` on both sides,
with pliable's ``FunctionLM`` (directly, and through ``pl.LM("benchfake/...")``, see
``register_benchfake``) and DSPy's ``DummyLM`` answering. Part 2's scripted OpenAI-compatible
server for DSPy's ``dspy.LM`` (``load_fake_server``, from ``tests/lm/openai_server.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _overhead_timing import Timed

ROOT = Path(__file__).resolve().parent.parent

QUESTION = "What is the capital of France?"
ANSWER = "Paris"
REASONING = "France's capital and largest city is Paris."
QA_DEMOS = [
    {"question": "What is the capital of Australia?", "answer": "Canberra"},
    {"question": "Who wrote 'Pride and Prejudice'?", "answer": "Jane Austen"},
    {"question": "How many legs does a spider have?", "answer": "8"},
]
COT_DEMOS = [
    {**QA_DEMOS[0], "reasoning": "Australia's capital is Canberra, not Sydney."},
    {**QA_DEMOS[1], "reasoning": "The novel was published in 1813 by Jane Austen."},
    {**QA_DEMOS[2], "reasoning": "Spiders are arachnids, which have eight legs."},
]
PL_REPLY = f"[[answer]]\n{ANSWER}"
PL_COT_REPLY = f"[[reasoning]]\n{REASONING}\n\n[[answer]]\n{ANSWER}"
DSPY_SERVER_REPLY = f"[[ ## answer ## ]]\n{ANSWER}\n\n[[ ## completed ## ]]"


# --- part 1: framework overhead with fake LMs -----------------------------------------------
def constant(text: str) -> Callable[[Any], str]:
    """A one-argument answer function (FunctionLM passes options to two-argument ones)."""
    return lambda messages: text


class CountingAnswers(Iterator[dict[str, Any]]):
    """An endless answer source for DummyLM that counts how often it was asked."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.count = 0

    def __next__(self) -> dict[str, Any]:
        self.count += 1
        return dict(self.answer)


BACKENDS: dict[str, list[Any]] = {}  # model name -> the FunctionLMs made for it


def register_benchfake(pl: Any) -> None:
    """``pl.LM("benchfake/...")`` answers with a FunctionLM (with reasoning for ".../cot-...")."""

    def factory(model: str, settings: Any) -> Any:
        reply = PL_COT_REPLY if model.startswith("benchfake/cot") else PL_REPLY
        backend = pl.FunctionLM(constant(reply), model=model)
        BACKENDS.setdefault(model, []).append(backend)
        return backend

    pl.register_provider("benchfake", factory)


@dataclass
class OverheadCase:
    name: str
    demos: int
    pl_run: Timed
    dspy_run: Timed
    pl_fake: Timed
    dspy_fake: Timed
    dspy_lm_layer: Timed
    pl_lm_layer: Timed
    check: Callable[[int, int, int], None]


def build_overhead_cases(pl: Any, dspy: Any) -> list[OverheadCase]:
    from dspy.utils.dummies import DummyLM

    cases = []
    for kind in ("Predict", "ChainOfThought"):
        for n_demos in (0, 3):
            cot = kind == "ChainOfThought"
            reply = PL_COT_REPLY if cot else PL_REPLY
            demos = (COT_DEMOS if cot else QA_DEMOS)[:n_demos]

            fake = pl.FunctionLM(constant(reply))
            program = getattr(pl, kind)("question -> answer", lm=fake)
            program.demos = [pl.Example(**d) for d in demos]
            # the same through pl.LM (history and usage tracking; no cache), like DummyLM
            # through DSPy's LM layer
            model = f"benchfake/{'cot' if cot else 'qa'}-{n_demos}"
            wrapped = getattr(pl, kind)("question -> answer", lm=pl.LM(model, cache=False))
            wrapped.demos = program.demos

            answer = {"reasoning": REASONING, "answer": ANSWER} if cot else {"answer": ANSWER}
            dummy = DummyLM([answer])
            counter = CountingAnswers(answer)
            dummy.answers = counter  # every DSPy call must take one answer from here
            dprog = getattr(dspy, kind)("question -> answer")
            dprog.set_lm(dummy)  # like pliable's lm=...: no context switch per call
            for _name, predictor in dprog.named_predictors():
                predictor.demos = [dspy.Example(**d) for d in demos]

            def pl_call(program: Any = program) -> Any:
                return program(question=QUESTION)

            def dspy_call(dprog: Any = dprog) -> Any:
                return dprog(question=QUESTION)

            # Sanity: right answers, and the messages each fake is sent (for its raw cost).
            pred, dpred, wpred = pl_call(), dspy_call(), wrapped(question=QUESTION)
            for p, side in ((pred, "pliable"), (dpred, "dspy"), (wpred, "pliable via pl.LM")):
                if p.answer != ANSWER or (cot and p.reasoning != REASONING):
                    raise SystemExit(f"{kind}/{n_demos} demos: {side} parsed {p!r}")
            pl_messages = list(fake.calls[-1].messages)
            dspy_messages = dummy.history[-1]["messages"]
            engine = dummy._engine_spec

            def check(
                pl_expected: int,
                lm_expected: int,
                dspy_expected: int,
                fake: Any = fake,
                counter: CountingAnswers = counter,
                model: str = model,
            ) -> None:
                via_lm = len(BACKENDS[model][0].calls)
                if (len(fake.calls), via_lm, counter.count) != (
                    pl_expected,
                    lm_expected,
                    dspy_expected,
                ):
                    raise SystemExit(
                        f"{model}: the fakes answered {len(fake.calls)} (pliable), {via_lm} "
                        f"(pliable via pl.LM) and {counter.count} (DSPy) calls; expected "
                        f"{pl_expected}, {lm_expected} and {dspy_expected}: a call was cached, "
                        "retried or skipped"
                    )

            name = f"{kind}, {n_demos} demos"
            cases.append(
                OverheadCase(
                    name=name,
                    demos=n_demos,
                    pl_run=Timed(f"pl {name}", pl_call),
                    dspy_run=Timed(f"dspy {name}", dspy_call),
                    pl_fake=Timed(f"pl fake {name}", lambda f=fake, m=pl_messages: f.complete(m)),
                    dspy_fake=Timed(
                        f"dspy engine {name}",
                        lambda e=engine, m=dspy_messages: e._complete_messages(m),
                    ),
                    dspy_lm_layer=Timed(
                        f"dspy DummyLM() {name}",
                        lambda d=dummy, m=dspy_messages: d(messages=m),
                    ),
                    pl_lm_layer=Timed(
                        f"pl via pl.LM {name}", lambda w=wrapped: w(question=QUESTION)
                    ),
                    check=check,
                )
            )
    return cases


# --- part 2: cache hits ---------------------------------------------------------------------
def load_fake_server() -> Any:
    path = ROOT / "tests" / "lm" / "openai_server.py"
    spec = importlib.util.spec_from_file_location("_bench_openai_server", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the fake OpenAI server from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module
