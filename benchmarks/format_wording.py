"""Which reply instruction makes the chat format work zero-shot on every local model family.

    python benchmarks/format_wording.py                      # all variants, all local models
    python benchmarks/format_wording.py --models local/smollm2 --limit 10

The ChatAdapter asks for each output after a ``[[name]]`` marker line. How the last line of the
prompt says so decides whether a model writes the value at all: told "Reply with [[answer]].",
Qwen2.5-Coder writes exactly ``[[answer]]`` and stops. This script scores candidate wordings
(``VARIANTS``) zero-shot on every packaged local model, on pliable's own built-in data only
(the tickets and multihop tasks, recast as four kinds of step: a Literal label, a pick among
listed choices, reading comprehension, and a two-output chain of thought), so the wording is
chosen on data that is neither BIG-bench nor any benchmark it is later judged on.

The variant ``json`` is pliable's ``JSONAdapter`` (a grammar on local models), for comparison.
It prints a table (per model x variant: the share of replies that parse, and the score) and
writes ``benchmarks/results/format_wording.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import pliable as pl
from pliable.errors import ParseError
from pliable.evaluation.metrics import choice_index
from pliable.evaluation.text import normalize_answer
from pliable.tasks.catalog import PRODUCTS, TicketProduct, load_task, multihop_corpus

MODELS = [
    "local/smollm2",
    "local/gemma3-270m",
    "local/qwen2.5-coder-0.5b",
    "local/qwen2.5-coder-1.5b",
]
RESULTS = Path(__file__).resolve().parent / "results" / "format_wording.json"


Marker = Callable[[str], str]


def _names(signature: type[pl.Signature]) -> list[str]:
    return list(signature.output_fields)


def _old(signature: type[pl.Signature], m: Marker) -> str:
    return "Reply with " + ", ".join(m(n) for n in _names(signature)) + "."


def _next_line(signature: type[pl.Signature], m: Marker) -> str:
    parts = [f"{m(n)} followed by its value on the next line" for n in _names(signature)]
    return "Reply with " + ", then ".join(parts) + "."


def _named(signature: type[pl.Signature], m: Marker) -> str:
    parts = [
        f"{m(n)} followed by your {n.replace('_', ' ')} on the next line" for n in _names(signature)
    ]
    return "Reply with " + ", then ".join(parts) + "."


def _each_marker(signature: type[pl.Signature], m: Marker) -> str:
    names = ", then ".join(m(n) for n in _names(signature))
    return f"Reply with each marker on its own line, followed by its value: {names}."


def _skeleton(signature: type[pl.Signature], m: Marker) -> str:
    body = "\n\n".join(f"{m(n)}\n<{n}>" for n in _names(signature))
    return "Reply in this format, replacing each <...> with its value:\n" + body


def _write_after(signature: type[pl.Signature], m: Marker) -> str:
    names = _names(signature)
    if len(names) == 1:
        return f"Write {m(names[0])} on a line, then your {names[0]} on the next line."
    parts = ", then ".join(m(n) for n in names)
    return f"Write {parts}, each marker on its own line with its value on the lines below it."


def _brackets(name: str) -> str:
    return f"[[{name}]]"


def _hashed(name: str) -> str:
    return f"[[ ## {name} ## ]]"


def _heading(name: str) -> str:
    return f"## {name}"


def _same_line(signature: type[pl.Signature], m: Marker) -> str:
    parts = [
        f"{m(n)} followed by your {n.replace('_', ' ')} on the same line" for n in _names(signature)
    ]
    return "Reply with " + ", then ".join(parts) + "."


def _bare_single(signature: type[pl.Signature], m: Marker) -> str:
    names = _names(signature)
    if len(names) == 1:
        return f"Reply with your {names[0].replace('_', ' ')} only."
    return _named(signature, m)


Reminder = Callable[[type[pl.Signature], Marker], str]
# How a demo's outputs (the assistant turns) are written: "next-line" puts each value on the
# lines after its marker (pliable's format until issue 15), "same-line" after the marker on
# its line, "bare-single" writes a lone output's value without a marker.
Layout = str
# name -> (field marker, reply instruction after the inputs[, layout of demo outputs])
VARIANTS: dict[str, tuple[Marker, Reminder] | tuple[Marker, Reminder, Layout]] = {
    "old": (_brackets, _old),
    "next-line": (_brackets, _next_line),
    "named": (_brackets, _named),
    "each-marker": (_brackets, _each_marker),
    "skeleton": (_brackets, _skeleton),
    "write-after": (_brackets, _write_after),
    "hashed-next-line": (_hashed, _next_line),
    "heading-next-line": (_heading, _next_line),
    "same-line": (_brackets, _same_line, "same-line"),
    "bare-single": (_brackets, _bare_single, "bare-single"),
}


class VariantAdapter(pl.ChatAdapter):
    """The ChatAdapter with another field marker, reply instruction and demo layout."""

    def __init__(self, variant: tuple[Any, ...]) -> None:
        self._marker, self._reminder = variant[0], variant[1]
        self._layout = variant[2] if len(variant) > 2 else "next-line"

    def field_marker(self, name: str) -> str:
        return self._marker(name)

    def reply_reminder(self, signature: type[pl.Signature]) -> str:
        return self._reminder(signature, self._marker)

    def format_outputs(self, signature: type[pl.Signature], values: Mapping[str, Any]) -> str:
        names = [n for n in signature.output_fields if n in values]
        if self._layout == "bare-single" and len(signature.output_fields) == 1 and names:
            return self.render_output(signature, names[0], values[names[0]])
        sep = " " if self._layout == "same-line" else "\n"
        return "\n\n".join(
            f"{self.field_marker(n)}{sep}{self.render_output(signature, n, values[n])}"
            for n in names
        )


# --------------------------------------------------------------------------- the steps


class TicketChoice(pl.Signature):
    """Pick the product this customer support ticket is about."""

    ticket: str = pl.InputField()
    choices: list[str] = pl.InputField()
    product: str = pl.OutputField()


class ReadAndAnswer(pl.Signature):
    """Answer the question from the context."""

    context: str = pl.InputField()
    question: str = pl.InputField()
    answer: str = pl.OutputField(desc="a short phrase")


def _tickets(limit: int, split: str = "dev") -> list[pl.Example]:
    task = load_task("tickets")
    return (task.devset if split == "dev" else task.trainset)[:limit]


def _choice_rows(limit: int, split: str = "dev") -> list[pl.Example]:
    rng = random.Random(0 if split == "dev" else 1)
    rows = []
    for ex in _tickets(limit, split):
        others = rng.sample([p for p in PRODUCTS if p != ex.product], 3)
        choices = [*others, ex.product]
        rng.shuffle(choices)
        rows.append(
            pl.Example(ticket=ex.ticket, choices=choices, product=ex.product).with_inputs(
                "ticket", "choices"
            )
        )
    return rows


def _reading_rows(limit: int, split: str = "dev") -> list[pl.Example]:
    task = load_task("multihop")
    corpus = {p["id"]: p for p in multihop_corpus()}
    rows = []
    for ex in (task.devset if split == "dev" else task.trainset)[:limit]:
        context = "\n".join(f"{corpus[h]['title']}: {corpus[h]['text']}" for h in ex.hops)
        rows.append(
            pl.Example(context=context, question=ex.question, answer=ex.answer).with_inputs(
                "context", "question"
            )
        )
    return rows


def _label_ok(ex: pl.Example, pred: Mapping[str, Any]) -> bool:
    return normalize_answer(pred["product"]) == normalize_answer(ex.product)


def _choice_ok(ex: pl.Example, pred: Mapping[str, Any]) -> bool:
    index = choice_index(pred["product"], ex.choices)
    return index is not None and ex.choices[index] == ex.product


def _reading_ok(ex: pl.Example, pred: Mapping[str, Any]) -> bool:
    return normalize_answer(ex.answer) in normalize_answer(str(pred["answer"]))


Step = tuple[str, Callable[[pl.Adapter], pl.Module], Callable[..., list[pl.Example]], Any]


def _steps() -> list[Step]:
    return [
        (
            "label",
            lambda a: pl.Predict(TicketProduct, adapter=a, max_tokens=32),
            _tickets,
            _label_ok,
        ),
        (
            "choice",
            lambda a: pl.Predict(TicketChoice, adapter=a, max_tokens=32),
            _choice_rows,
            _choice_ok,
        ),
        (
            "reading",
            lambda a: pl.Predict(ReadAndAnswer, adapter=a, max_tokens=48),
            _reading_rows,
            _reading_ok,
        ),
        (
            "cot",
            lambda a: pl.ChainOfThought(TicketChoice, adapter=a, max_tokens=200),
            _choice_rows,
            _choice_ok,
        ),
    ]


def run_one(model: str, variant: str, step: Step, limit: int, demos: int = 0) -> dict[str, Any]:
    name, make, rows, ok = step
    program = make(pl.JSONAdapter() if variant == "json" else VariantAdapter(VARIANTS[variant]))
    if demos:  # labeled demos from the task's trainset (never the examples scored)
        for predictor in program.predictors():
            predictor.demos = rows(demos, "train")
    examples = rows(limit if name != "cot" else max(1, limit // 2))
    parsed = correct = 0
    start = time.perf_counter()
    with pl.using(lm=pl.LM(model, cache=False, temperature=0.0)):
        for ex in examples:
            try:
                pred = program(**ex.inputs())
            except ParseError:
                continue
            parsed += 1
            correct += bool(ok(ex, pred))
    n = len(examples)
    return {
        "model": model,
        "variant": variant,
        "demos": demos,
        "step": name,
        "n": n,
        "parsed": parsed / n,
        "score": correct / n,
        "seconds": time.perf_counter() - start,
    }


def table(rows: list[dict[str, Any]]) -> str:
    steps = sorted({r["step"] for r in rows})
    lines = ["| model | variant | " + " | ".join(steps) + " | mean parse | mean score |"]
    lines.append("|:--|:--|" + "--:|" * (len(steps) + 2))
    keys = sorted({(r["model"], r["variant"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for model, variant in keys:
        mine = {r["step"]: r for r in rows if r["model"] == model and r["variant"] == variant}
        cells = [
            f"{mine[s]['parsed']:.0%} / {mine[s]['score']:.0%}" if s in mine else "-" for s in steps
        ]
        parse = sum(r["parsed"] for r in mine.values()) / len(mine)
        score = sum(r["score"] for r in mine.values()) / len(mine)
        lines.append(
            f"| {model} | {variant} | " + " | ".join(cells) + f" | {parse:.0%} | {score:.0%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    names = [*VARIANTS, "json"]  # "json": pliable's JSONAdapter, for comparison
    parser.add_argument("--variants", nargs="+", default=names, choices=names)
    parser.add_argument("--limit", type=int, default=30, help="examples per step (cot: half)")
    parser.add_argument(
        "--demos", type=int, default=0, help="labeled demos per step, from the trainset (k-shot)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--resume", action="store_true", help="keep finished cells of --out")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    if args.resume and args.out.exists():
        rows = json.loads(args.out.read_text())["rows"]
    if any(r.get("demos", 0) != args.demos for r in rows):
        raise SystemExit(f"--resume: {args.out} was measured with another --demos")
    done = {(r["model"], r["variant"], r["step"]) for r in rows}
    for model in args.models:
        for variant in args.variants:
            for step in _steps():
                if (model, variant, step[0]) in done:
                    continue
                row = run_one(model, variant, step, args.limit, args.demos)
                rows.append(row)
                print(
                    f"{model} {variant} {step[0]}: parsed {row['parsed']:.0%} "
                    f"score {row['score']:.0%} ({row['seconds']:.0f} s)",
                    flush=True,
                )
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({"limit": args.limit, "rows": rows}, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
