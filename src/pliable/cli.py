"""The ``pliable`` command line.

    pliable signature "question -> answer: int"           # check a signature string
    pliable signature "question -> answer" --json         # its stable JSON form
    pliable render "question -> answer" -i question="2+2?" [--adapter json] [--demos demos.jsonl]

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
    from pliable.errors import UsageError

    if path is None:
        return []
    demos = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                demos.append(Example(json.loads(line)))
            except ValueError as exc:
                raise UsageError(f"{path}, line {number}: not valid JSON ({exc}).") from exc
    return demos


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
