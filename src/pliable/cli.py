"""The ``pliable`` command line.

    pliable signature "question -> answer: int"           # check a signature string
    pliable signature "question -> answer" --json         # its stable JSON form
    pliable render "question -> answer" -i question="2+2?" [--adapter json] [--demos demos.jsonl]
    pliable run "question -> answer" -i question="2+2?" [--model openai/gpt-4o-mini]
    pliable compile --task tickets --out tickets.json          # the built-in example task
    pliable compile "question -> answer" --train t.jsonl --dev d.jsonl --inputs question
    pliable eval tickets.json --task tickets
    pliable inspect tickets.json

With no --model, the embedded local model runs in-process. The exit codes are in
``pliable._cli_checks.EXIT_CODES`` (shown by ``pliable --help`` and in the README): 0 done; 1
examples failed past --max-error-rate; 2 bad usage, data, file or configuration; 3 the LM
failed or a budget ran out; 4 the LM's answer could not be parsed; 5 no usable program.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pliable.errors import SignatureError

__all__ = ["main"]

ADAPTERS = ["auto", "chat", "json"]
RATE_HELP = (
    "fail (exit 1) when more than this fraction of the examples fail; default: only when "
    "every example fails"
)
ADAPTER_HELP = (
    "auto (default): JSON for an LM that enforces a JSON schema (every local model), else chat"
)


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
    from pliable.errors import UsageError
    from pliable.signatures import ensure_signature

    if args.signature.endswith((".json", ".py")) or ".py:" in args.signature:
        raise UsageError(
            f'render takes a signature string such as "question -> answer"; for the '
            f"prompts of {args.signature} use `pliable inspect FILE` (a compiled .json)."
        )

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
    """The objects of a JSONL file, one a line. A bad file or line is a one-line
    :class:`~pliable.errors.DataError` naming the file and the line: not UTF-8 (with the byte
    offset), broken JSON, JSON too deep or with too long an integer, or not an object."""
    from pliable.data.readers import loads_json, not_utf8_error, show
    from pliable.errors import DataError

    rows = []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = loads_json(line)
                except ValueError as exc:
                    raise DataError(
                        f"{path}, line {number}: {exc}: {show(line.rstrip())}. What to do: fix "
                        "the line; the file holds one JSON object a line.",
                        source=path,
                        line=number,
                        value=line,
                    ) from exc
                if not isinstance(row, dict):
                    raise DataError(
                        f"{path}, line {number}: expected a JSON object, got {show(row)}. "
                        'What to do: write one object a line, e.g. {"question": "..."}.',
                        source=path,
                        line=number,
                        value=row,
                    )
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise not_utf8_error(path, exc) from exc
    return rows


def _run(args: argparse.Namespace) -> int:
    from pliable._cli_jobs import load_program
    from pliable.adapters.values import to_jsonable
    from pliable.errors import UsageError
    from pliable.lm import LM
    from pliable.settings import using

    options: dict[str, Any] = {}
    if args.max_tokens is not None:
        options["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        options["temperature"] = args.temperature
    from pliable._cli_checks import check_model, failed_past

    check_model(args.model)
    lm = LM(args.model, cache=not args.no_cache, **options)
    # --model replaces the LM a compiled file records; without it, the file's model runs
    program = load_program(
        args.signature, cot=args.cot, adapter=args.adapter, lm=lm if args.model else None
    )
    if not args.inputs:  # one input: its error is the run's (exit 2, 3 or 4 by its kind)
        with using(lm=lm):
            prediction = program(**_parse_assignments(args.input))
        print(json.dumps(to_jsonable(dict(prediction)), ensure_ascii=False))
        return 0
    rows = _read_jsonl(args.inputs)
    if not rows:
        raise UsageError(f"--inputs {args.inputs}: no rows; write one JSON object per line.")
    with using(lm=lm):
        results = program.batch(rows, num_threads=1, progress=False if args.quiet else None)
    failures = [r for r in results if isinstance(r, Exception)]
    for result in results:
        if isinstance(result, Exception):
            print(json.dumps({"error": str(result).splitlines()[0]}))
        else:
            print(json.dumps(to_jsonable(dict(result)), ensure_ascii=False))
    if failed_past(len(failures), len(rows), args.max_error_rate):
        first = str(failures[0]).splitlines()[0]
        print(
            f"error: {len(failures)} of {len(rows)} inputs failed; the first: {first}",
            file=sys.stderr,
        )
        return 1
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pliable._cli_compare import compare_job

    return compare_job(args)


def build_parser() -> argparse.ArgumentParser:
    from pliable import __version__
    from pliable._cli_checks import (
        OneLineParser,
        at_least,
        error_rate,
        exit_code_table,
        non_negative_number,
    )

    parser = OneLineParser(
        prog="pliable",
        description="Programmatic prompting.",
        epilog=exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    p_run.add_argument("--adapter", choices=ADAPTERS, default="auto", help=ADAPTER_HELP)
    p_run.add_argument("--cot", action="store_true", help="reason step by step first")
    p_run.add_argument("--max-tokens", type=at_least(1))
    p_run.add_argument("--temperature", type=non_negative_number)
    p_run.add_argument("--no-cache", action="store_true")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.add_argument("--max-error-rate", type=error_rate, help=RATE_HELP)
    p_run.set_defaults(run=_run)

    from pliable import _cli_jobs as jobs

    def shared(p: argparse.ArgumentParser) -> None:
        p.add_argument("--task", help="a built-in example task (e.g. tickets)")
        p.add_argument("--bigbench", help="a BIG-bench task name or file (split 50/50)")
        p.add_argument("--train", help="training examples (JSONL, CSV, JSON)")
        p.add_argument("--dev", help="dev examples (JSONL, CSV, JSON)")
        p.add_argument("--inputs", help="comma-separated input fields of the data files")
        p.add_argument(
            "--metric",
            help="exact_match[:field], f1, multiple_choice, passage_match, or file.py:function",
        )
        p.add_argument("--model", help="a litellm model name; default: the embedded local model")
        p.add_argument("--cot", action="store_true", help="for a signature: reason first")
        p.add_argument("--adapter", choices=ADAPTERS, default="auto", help=ADAPTER_HELP)
        p.add_argument("--max-calls", type=at_least(0), help="stop after this many LM calls")
        p.add_argument("--max-tokens", type=at_least(1), default=None)
        p.add_argument("--threads", type=at_least(1), default=1)
        p.add_argument("--limit", type=at_least(1), help="use at most this many dev examples")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--no-cache", action="store_true")
        p.add_argument("--max-error-rate", type=error_rate, help=RATE_HELP)
        p.add_argument(
            "--skip-bad-rows", action="store_true", help="skip data rows that do not load"
        )
        p.add_argument("--quiet", action="store_true", help="no progress bars or chatter")

    p_compile = sub.add_parser("compile", help="compile a program against a dev set")
    p_compile.add_argument("program", nargs="?", help="a signature, file.py:object or .json")
    shared(p_compile)
    p_compile.add_argument("--optimizer", choices=jobs.OPTIMIZERS)
    p_compile.add_argument(
        "--teacher",
        metavar="MODEL",
        help="a stronger model that bootstraps demos and writes or reflects on instructions "
        "(e.g. local/qwen2.5-coder-1.5b); --model stays the one compiled for",
    )
    p_compile.add_argument(
        "--auto", choices=["light", "medium", "heavy"], help="for joint: the search preset"
    )
    p_compile.add_argument("--storage", metavar="URL", help=jobs.STORAGE_HELP)
    p_compile.add_argument("--study-name", metavar="NAME", help=jobs.STUDY_NAME_HELP)
    p_compile.add_argument(
        "--budget-calls", type=at_least(0), help="stop cleanly after this many calls"
    )
    p_compile.add_argument(
        "--budget-tokens", type=at_least(0), help="stop cleanly after these tokens"
    )
    p_compile.add_argument(
        "--budget-usd", type=non_negative_number, help="stop cleanly after this cost"
    )
    p_compile.add_argument(
        "--budget-seconds", type=non_negative_number, help="stop cleanly after this time"
    )
    p_compile.add_argument(
        "--run-dir", help="log the run here; rerun with the same folder to resume"
    )
    p_compile.add_argument(
        "--estimate", action="store_true", help="print the planned LM calls and cost, then stop"
    )
    p_compile.add_argument(
        "--keep-insignificant",
        action="store_true",
        help="keep the compiled program even when its gain is inside the noise",
    )
    p_compile.add_argument("--max-demos", type=at_least(0), help="bootstrapped demos per predictor")
    p_compile.add_argument(
        "--max-labeled", type=at_least(0), help="labeled demos top up to this many in all"
    )
    p_compile.add_argument("--candidates", type=at_least(1), default=6, help="for random-search")
    p_compile.add_argument("--out", help="write the compiled program here (JSON)")
    p_compile.set_defaults(run=jobs.compile_job)

    p_eval = sub.add_parser("eval", help="score a program on a dev set, with a 95%% CI")
    p_eval.add_argument("program", nargs="?", help="a signature, file.py:object or .json")
    shared(p_eval)
    p_eval.set_defaults(run=jobs.eval_job)

    p_compare = sub.add_parser(
        "compare", help="score hard, programmatic and soft prompts on one dev set"
    )
    p_compare.add_argument(
        "programs",
        nargs="+",
        help="template files (.txt/.md/.prompt), compiled .json files, or zero-shot",
    )
    p_compare.add_argument("--signature", help="the task's signature, for data files")
    shared(p_compare)
    p_compare.set_defaults(run=_compare)

    p_report = sub.add_parser("report", help="write a compile run's HTML report page")
    p_report.add_argument("run_dir", help="the --run-dir of a compile")
    p_report.add_argument("--out", help="where to write the page (default RUN_DIR/report.html)")
    p_report.set_defaults(run=jobs.report_job)

    p_inspect = sub.add_parser("inspect", help="print a compiled program's prompts")
    p_inspect.add_argument("file")
    p_inspect.set_defaults(run=jobs.inspect_job)

    from pliable._cli_interop import add_export, add_import_dspy

    add_import_dspy(sub)
    add_export(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    """The error's first line, plus its 'What to do' line when it has one, with the library's
    Python advice said as CLI flags."""
    from pliable._cli_checks import cli_words

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    todo = next((line for line in lines[1:] if line.startswith("What to do")), None)
    text = lines[0] + (f" {todo}" if todo else "") if lines else type(exc).__name__
    return cli_words(text)


def _signature_line(exc: SignatureError) -> str:
    """A signature error on one line: what is wrong, where (its column in the signature text,
    when the error carries one), and how fields are written."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[0]
    if exc.text is not None and exc.column is not None:
        line += f", at column {exc.column} of {exc.text!r}"
    return f"{line}. {exc.advice}" if exc.advice else line


def main(argv: Sequence[str] | None = None) -> int:
    from pliable.errors import (
        BudgetExceededError,
        LMError,
        ParseError,
        PliableError,
        SignatureError,
    )

    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except SignatureError as exc:
        print(f"error: {_signature_line(exc)}", file=sys.stderr)
        return 2
    except (LMError, BudgetExceededError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 3
    except ParseError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 4
    except (PliableError, OSError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
