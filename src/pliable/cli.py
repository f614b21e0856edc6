"""The ``pliable`` command line.

    pliable signature "question -> answer: int"           # check a signature string
    pliable signature "question -> answer" --json         # its stable JSON form
    pliable render "question -> answer" -i question="2+2?" [--adapter json] [--demos demos.jsonl]
    pliable run "question -> answer" -i question="2+2?" [--model openai/gpt-4o-mini]

More commands (compile, evaluate) arrive with the optimizers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _signature(args: argparse.Namespace) -> int:
    from pliable.signatures import ensure_signature

    sig = ensure_signature(args.signature)
    if args.json:
        print(json.dumps(sig.to_dict(), indent=2, sort_keys=True))
        return 0
    print(sig.signature_string())
    print(f"instructions: {sig.instructions}")
    for f in sig.fields.values():
        desc = f" - {f.desc}" if f.desc else ""
        print(f"  {f.kind:<6} {f.name}: {f.type_name}{desc}")
    return 0


def _parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    from pliable.errors import UsageError

    values: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--input takes name=value; got {item!r}.")
        values[name] = value
    return values


def _load_demos(path: str | None) -> list[Any]:
    from pliable.data import Example

    return [Example(row) for row in _read_jsonl(path)] if path else []


def _render(args: argparse.Namespace) -> int:
    from pliable.adapters import ChatAdapter, JSONAdapter
    from pliable.signatures import ensure_signature

    sig = ensure_signature(args.signature)
    adapter = JSONAdapter() if args.adapter == "json" else ChatAdapter()
    inputs = _parse_assignments(args.input)
    messages = adapter.format(sig, inputs, demos=_load_demos(args.demos))
    if args.json:
        print(json.dumps(messages, indent=2, ensure_ascii=False))
        return 0
    for m in messages:
        print(f"--- {m['role']} ---")
        print(m["content"])
    return 0


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    from pliable.errors import UsageError

    rows = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}, line {number}: not valid JSON ({exc}).") from exc
            if not isinstance(row, dict):
                raise UsageError(f"{path}, line {number}: expected a JSON object, got {row!r}.")
            rows.append(row)
    return rows


def _run(args: argparse.Namespace) -> int:
    from pliable.adapters import ChatAdapter, JSONAdapter
    from pliable.adapters.values import to_jsonable
    from pliable.lm import LM
    from pliable.programs import ChainOfThought, Predict
    from pliable.settings import using

    options: dict[str, Any] = {}
    if args.max_tokens is not None:
        options["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        options["temperature"] = args.temperature
    lm = LM(args.model, cache=not args.no_cache, **options)
    adapter = JSONAdapter() if args.adapter == "json" else ChatAdapter()
    program = (ChainOfThought if args.cot else Predict)(args.signature, adapter=adapter)
    rows = _read_jsonl(args.inputs) if args.inputs else [_parse_assignments(args.input)]
    failed = 0
    with using(lm=lm):
        results = program.batch(rows, num_threads=1, progress=None if args.inputs else False)
    for result in results:
        if isinstance(result, Exception):
            failed += 1
            print(json.dumps({"error": str(result).splitlines()[0]}))
        else:
            print(json.dumps(to_jsonable(dict(result)), ensure_ascii=False))
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from pliable import __version__

    parser = argparse.ArgumentParser(prog="pliable", description="Programmatic prompting.")
    parser.add_argument("--version", action="version", version=f"pliable {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_sig = sub.add_parser("signature", help="parse a signature string and show its fields")
    p_sig.add_argument("signature", help='e.g. "question -> answer: int"')
    p_sig.add_argument("--json", action="store_true", help="print the stable JSON form")
    p_sig.set_defaults(run=_signature)

    p_render = sub.add_parser("render", help="show the prompt an adapter sends")
    p_render.add_argument("signature")
    p_render.add_argument("-i", "--input", action="append", default=[], metavar="NAME=VALUE")
    p_render.add_argument("--adapter", choices=["chat", "json"], default="chat")
    p_render.add_argument("--demos", help="a JSONL file of demo rows")
    p_render.add_argument("--json", action="store_true", help="print the messages as JSON")
    p_render.set_defaults(run=_render)

    p_run = sub.add_parser("run", help="run a signature on one input or a JSONL of inputs")
    p_run.add_argument("signature")
    p_run.add_argument("-i", "--input", action="append", default=[], metavar="NAME=VALUE")
    p_run.add_argument("--inputs", help="a JSONL file, one object of inputs per line")
    p_run.add_argument("--model", help="a litellm model name; default: the embedded local model")
    p_run.add_argument("--adapter", choices=["chat", "json"], default="chat")
    p_run.add_argument("--cot", action="store_true", help="reason step by step first")
    p_run.add_argument("--max-tokens", type=int)
    p_run.add_argument("--temperature", type=float)
    p_run.add_argument("--no-cache", action="store_true")
    p_run.set_defaults(run=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pliable.errors import PliableError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except PliableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
