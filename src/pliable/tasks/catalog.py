"""Built-in example tasks: a signature, a program, a metric and a train/dev split, ready to
compile on the embedded model.

``tickets``: name the catalogue product a customer support ticket is about. The ticket names the
product among other details (amounts, dates, cities, order numbers), often with a made-up brand,
a colour or a size around it ("the Lumio desk lamp", "my grey rain jacket"); the answer is the
bare catalogue name, one of 20. The program uses the JSON adapter, so on the local model the
answer is always one of the 20 names: zero-shot, SmolLM2-135M picks the right one 35% of the
time on the dev set; compiled with ``BootstrapFewShot`` (4 bootstrapped + 4 labeled demos) it
picks it 85% of the time (95% CIs [0.24, 0.48] vs [0.74, 0.92]; about 130 LM calls, a minute
or two on two CPU cores).

The data (``tickets.jsonl`` next to this file, 100 train / 60 dev rows marked by their
``split`` field) was written for pliable by a seeded generator from hand-written templates.

``multihop``: two-hop questions about an invented world ("Which river runs through the town
where Maelis Ebbow was born?"), answered by :class:`~pliable.programs.rag.MultiHopQA` over a
BM25 index of the task's own 210-passage corpus. The question alone finds the first passage,
almost never the second: the second query must name what the first passage says. 80 train /
80 dev questions, from ``scripts/gen_multihop.py`` (see ``multihop/README.md``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, get_args

from pliable.adapters.json_adapter import JSONAdapter
from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.evaluation import metrics
from pliable.programs.module import Module
from pliable.programs.predict import Predict
from pliable.signatures import InputField, OutputField, Signature

__all__ = [
    "PRODUCTS",
    "MultiHopQuestion",
    "Task",
    "TicketProduct",
    "list_tasks",
    "load_task",
    "multihop_corpus",
    "multihop_retriever",
]

Product = Literal[
    "air fryer",
    "backpack",
    "blender",
    "bookshelf",
    "camping stove",
    "coffee grinder",
    "desk lamp",
    "garden hose",
    "headphones",
    "kettle",
    "phone case",
    "printer",
    "rain jacket",
    "running shoes",
    "smart watch",
    "sofa cover",
    "toaster",
    "wall clock",
    "water bottle",
    "yoga mat",
]
PRODUCTS: tuple[str, ...] = get_args(Product)


class TicketProduct(Signature):
    """Name the product this customer support ticket is about."""

    ticket: str = InputField()
    product: Product = OutputField()


@dataclass(frozen=True, eq=False)
class Task:
    """A built-in example task. ``trainset`` and ``devset`` are fresh lists on every
    :func:`load_task` call; ``recommended`` holds the optimizer settings that were measured to
    work on the embedded model (``optimizer``: ``bootstrap``, ``random-search`` or ``labeled``,
    plus ``max_bootstrapped_demos`` / ``max_labeled_demos``, and ``num_candidates`` for random
    search)."""

    name: str
    description: str
    signature: type[Signature]
    program_factory: Callable[[], Module]
    metric: Callable[..., Any]
    trainset: list[Example]
    devset: list[Example]
    recommended: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    labels: tuple[str, ...] = ()


def _read(filename: str) -> str:
    """A text file shipped in this package (``folder/name`` for a file in a subfolder)."""
    node = resources.files(__package__ or "pliable.tasks")
    for part in filename.split("/"):
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


@cache
def _rows(filename: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """(split, row) pairs of a JSONL file shipped in this package, read once."""
    text = _read(filename)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        split = record.pop("split", None)
        if split not in ("train", "dev"):
            raise ValueError(f"{filename} line {number}: split must be 'train' or 'dev'")
        record.pop("id", None)
        rows.append((split, record))
    return tuple(rows)


def _examples(filename: str, split: str, inputs: tuple[str, ...]) -> list[Example]:
    return [Example(row).with_inputs(*inputs) for s, row in _rows(filename) if s == split]


def _tickets_program() -> Module:
    # JSONAdapter: on the local model the answer is grammar-constrained to the 20 names, so
    # zero-shot already answers and demos teach which name to pick. With the ChatAdapter the
    # zero-shot model chats instead of answering (0% on dev) and compiled reaches 70% (85%
    # here). 16 tokens hold any answer.
    return Predict(TicketProduct, adapter=JSONAdapter(), max_tokens=16, temperature=0.0)


def _tickets() -> Task:
    return Task(
        name="tickets",
        description=(
            "Name the catalogue product (one of 20) a customer support ticket is about; the "
            "ticket may add a brand, colour or size. 100 train / 60 dev examples."
        ),
        signature=TicketProduct,
        program_factory=_tickets_program,
        metric=metrics.exact_match("product"),
        trainset=_examples("tickets.jsonl", "train", ("ticket",)),
        devset=_examples("tickets.jsonl", "dev", ("ticket",)),
        recommended=MappingProxyType(
            {"optimizer": "bootstrap", "max_bootstrapped_demos": 4, "max_labeled_demos": 8}
        ),
        labels=PRODUCTS,
    )


class MultiHopQuestion(Signature):
    """Answer the question with the name from the notes, and nothing else."""

    question: str = InputField()
    answer: str = OutputField(desc="a name, e.g. 'Olla River'")


def multihop_corpus() -> list[dict[str, Any]]:
    """The multi-hop task's passages: ``{"id", "title", "text"}`` rows."""
    return [json.loads(line) for line in _read("multihop/corpus.jsonl").splitlines() if line]


def multihop_retriever() -> Any:
    """A BM25 index of :func:`multihop_corpus`, built once and kept in the pliable cache
    directory, so a compiled program can name the folder it reloads it from."""
    import hashlib

    from pliable.lm.cache import default_cache_dir
    from pliable.programs.retrieve import BM25Retriever, load_retriever

    text = _read("multihop/corpus.jsonl")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    folder = default_cache_dir() / "indexes" / f"multihop-{digest}"
    if (folder / "retriever.json").exists():
        try:
            return load_retriever(folder)
        except Exception:  # a damaged folder is rebuilt
            pass
    retriever = BM25Retriever(multihop_corpus())
    retriever.save(folder)  # sets retriever.path, so compiled programs can name the folder
    return retriever


def _multihop_program() -> Module:
    from pliable.programs.rag import MultiHopQA

    program = MultiHopQA(MultiHopQuestion, retriever=multihop_retriever(), hops=2, k=2)
    program.generate_query.config = {"max_tokens": 24, "temperature": 0.0}
    program.answer.config = {"max_tokens": 16, "temperature": 0.0}
    return program


def _multihop() -> Task:
    inputs = ("question",)
    return Task(
        name="multihop",
        description=(
            "Two-hop questions about an invented world, answered by MultiHopQA over a BM25 "
            "index of the task's own corpus (210 passages). 80 train / 80 dev questions."
        ),
        signature=MultiHopQuestion,
        program_factory=_multihop_program,
        metric=metrics.exact_match("answer"),
        trainset=_examples("multihop/questions.jsonl", "train", inputs),
        devset=_examples("multihop/questions.jsonl", "dev", inputs),
        recommended=MappingProxyType(
            {"optimizer": "bootstrap", "max_bootstrapped_demos": 3, "max_labeled_demos": 0}
        ),
    )


_TASKS: dict[str, Callable[[], Task]] = {"tickets": _tickets, "multihop": _multihop}


def list_tasks() -> list[str]:
    """The names of the built-in tasks."""
    return sorted(_TASKS)


def load_task(name: str) -> Task:
    """The built-in task called ``name`` (see :func:`list_tasks`), with fresh data lists."""
    factory = _TASKS.get(name.strip().lower())
    if factory is None:
        close = difflib.get_close_matches(name, list(_TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"No built-in task {name!r}; the tasks are: {', '.join(list_tasks())}.{hint}"
        )
    return factory()
