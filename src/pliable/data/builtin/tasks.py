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
from pliable.evaluate import metrics
from pliable.programs.module import Module
from pliable.programs.predict import Predict
from pliable.signatures import InputField, OutputField, Signature

__all__ = ["PRODUCTS", "Task", "TicketProduct", "list_tasks", "load_task"]

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


@cache
def _rows(filename: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """(split, row) pairs of a JSONL file shipped in this package, read once."""
    text = (
        resources.files(__package__ or "pliable.data.builtin")
        .joinpath(filename)
        .read_text(encoding="utf-8")
    )
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
            {"optimizer": "bootstrap", "max_bootstrapped_demos": 4, "max_labeled_demos": 4}
        ),
        labels=PRODUCTS,
    )


_TASKS: dict[str, Callable[[], Task]] = {"tickets": _tickets}


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
