"""``pliable import-dspy`` (a DSPy saved program as a pliable compiled file) and
``pliable export`` (a compiled program's prompts for another runtime).

    pliable import-dspy dspy_qa.json --out qa.json                      # Predict / ChainOfThought
    pliable import-dspy dspy_qa.json --out qa.json --signature "question -> answer" [--cot]

The DSPy file is what ``program.save("x.json")`` writes (DSPy 3). The command imports a program
of one predictor (:func:`pliable.programs.dspy_import.from_dspy` says what maps); a program of
several is imported in Python, into the pliable program that matches it:
``pl.from_dspy(path, program=MyProgram()).save("out.json")``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pliable.errors import UsageError

__all__ = ["add_export", "add_import_dspy", "export_job", "import_dspy_job"]


def add_import_dspy(sub: Any) -> None:
    """Register ``import-dspy`` on the ``pliable`` command's subparsers."""
    p = sub.add_parser("import-dspy", help="turn a DSPy saved program (.json) into a pliable one")
    p.add_argument("dspy_state", metavar="DSPY_STATE.json", help='DSPy\'s program.save("x.json")')
    p.add_argument("--out", required=True, help="where to write the pliable compiled program")
    p.add_argument(
        "--cot",
        action="store_true",
        help="make it a ChainOfThought (its first output must be `reasoning`); by default a "
        "DSPy ChainOfThought is one",
    )
    p.add_argument(
        "--signature",
        help='the fields, e.g. "question -> answer: int", when the DSPy file cannot tell '
        "them (DSPy saves no field names, types or directions)",
    )
    p.set_defaults(run=import_dspy_job)


def import_dspy_job(args: argparse.Namespace) -> int:
    from pliable._cli_checks import check_out
    from pliable.compiled.io import save
    from pliable.programs.dspy_import import from_dspy, read_dspy_state
    from pliable.programs.predict import ChainOfThought, Predict

    check_out(args.out)
    predictors, where = read_dspy_state(args.dspy_state)
    if len(predictors) != 1:
        raise UsageError(
            f"{where} holds {len(predictors)} DSPy predictors ({', '.join(predictors)}); the "
            "command line imports a program of one. Import it in Python, into the pliable "
            "program that matches it: pl.from_dspy(path, program=MyProgram()).save(out)."
        )
    if args.signature:
        cls = ChainOfThought if args.cot else Predict
        program: Predict = from_dspy(args.dspy_state, program=cls(args.signature))
    else:
        program = from_dspy(args.dspy_state, cot=True if args.cot else None)
    path = save(program, args.out)
    sig = program.signature.signature_string()
    print(f"{path}: {type(program).__name__} {sig!r}, {len(program.demos)} demos")
    return 0


def add_export(sub: Any) -> None:
    """Register ``export`` on the ``pliable`` command's subparsers."""
    from pliable.compiled.prompt_export import FORMATS

    p = sub.add_parser(
        "export", help="a compiled program's prompts for another runtime (messages, jinja2, ...)"
    )
    p.add_argument("file", help="a compiled program (.json)")
    p.add_argument("--format", choices=FORMATS, default="messages")
    p.add_argument(
        "--out",
        help="a folder for the files (or, for one file, its path); default: print the one file",
    )
    p.add_argument(
        "--model",
        help="render for this model where the file names no adapter (default: the file's)",
    )
    p.add_argument("--dev", help="promptfoo: dev examples (JSONL, CSV, JSON) to make tests of")
    p.add_argument("--inputs", help="promptfoo: the input fields of --dev (comma-separated)")
    p.set_defaults(run=export_job)


def export_job(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pliable._cli_checks import check_out
    from pliable.compiled.prompt_export import export

    devset = None
    if args.dev:
        from pliable.data import load_examples

        if not args.inputs:
            raise UsageError("--dev needs --inputs: the input fields of the dev examples.")
        inputs = [name.strip() for name in args.inputs.split(",") if name.strip()]
        devset = list(load_examples(args.dev, inputs=inputs))
    files = export(args.file, args.format, lm=args.model, devset=devset)
    if not args.out:
        if len(files) != 1:
            raise UsageError(
                f"--format {args.format} writes {len(files)} files ({', '.join(files)}); "
                "pass --out FOLDER."
            )
        (text,) = files.values()
        print(text, end="")
        return 0
    out = Path(args.out)
    if len(files) == 1 and out.suffix and not out.is_dir():
        check_out(args.out)
        targets = {out: next(iter(files.values()))}
    else:
        out.mkdir(parents=True, exist_ok=True)
        targets = {out / name: text for name, text in files.items()}
        folder = out.resolve()
        for path in targets:  # names are made safe; never write outside --out
            if path.resolve().parent != folder:
                raise UsageError(f"export: refusing to write {path} outside {out}.")
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
        print(path, file=sys.stderr)
    return 0
