"""Zero-shot prompt formats on every local model: do replies parse and name a choice?

    .venv/bin/python benchmarks/format_robustness.py --git-ref HEAD          # the record
    .venv/bin/python benchmarks/format_robustness.py --models local/smollm2 --limit 5
    .venv/bin/python benchmarks/format_robustness.py --tables results/format_robustness.json

For each local model, four adapters run on the same GGUF file and llama.cpp build: pliable's
``ChatAdapter`` and ``JSONAdapter`` on pliable's embedded engine (``pl.LM("local/...")``, what
a pliable user runs; the JSON adapter's schema becomes a grammar there), and DSPy 3.4.1's
``ChatAdapter`` and ``JSONAdapter`` through llama.cpp's OpenAI-compatible server
(``benchmarks/_llama_server.py``, 2 threads like the embedded engine) behind a counting proxy.
That server takes ``response_format`` only as ``json_object``; DSPy falls back to it by
itself. Each runs the same program a new user would
write, ``Predict("question, choices: list[str] -> answer")`` with no instructions and no
demos, at temperature 0, on a fixed sample (``--limit``, seed 0) of every multiple-choice
task in ``shared/data/bigbench/``. For each cell it records the share of replies that parse
and name a choice, the score (``multiple_choice``: the answer names the gold choice), the LM
calls that reached the server (DSPy's ChatAdapter retries with its JSONAdapter on a parse
failure, which costs a call) and the seconds.

Both frameworks send what their adapters send by default. Results go
to ``benchmarks/results/format_robustness.json`` after every cell; ``--resume`` keeps the
finished cells of a run with the same settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import export_src, git_revision, machine_info, now_iso, package_version, table
from _llama_server import CountingProxy, LlamaServer

RESULTS = Path(__file__).resolve().parent / "results" / "format_robustness.json"
MODELS = [
    "local/smollm2",
    "local/gemma3-270m",
    "local/qwen2.5-coder-0.5b",
    "local/qwen2.5-coder-1.5b",
]
ADAPTERS = ["pliable-chat", "pliable-json", "dspy-chat", "dspy-json"]
SIGNATURE = "question, choices: list[str] -> answer"


def multiple_choice_tasks() -> list[str]:
    """Every task file in the BIG-bench folder whose examples carry ``target_scores``."""
    from pliable.data.bigbench import bigbench_dir

    names = []
    for path in sorted(bigbench_dir().glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        examples = data.get("examples") or []
        if examples and all("target_scores" in ex for ex in examples):
            names.append(path.stem)
    return names


def _examples(task: str, limit: int) -> list[Any]:
    from pliable.data.bigbench import load_bigbench

    return list(load_bigbench(task, limit=limit, seed=0))


def _names_choice(answer: Any, choices: list[str]) -> bool:
    from pliable.evaluation.metrics import choice_index

    return answer is not None and choice_index(answer, choices) is not None


def _correct(answer: Any, choices: list[str], gold: str) -> bool:
    from pliable.evaluation.metrics import choice_index

    named = None if answer is None else choice_index(answer, choices)
    return named is not None and named == choice_index(gold, choices)


def _pliable_caller(adapter: str, model: str, max_tokens: int) -> Callable[[Any], Any]:
    import pliable as pl

    lm = pl.LM(model, cache=False, temperature=0, max_tokens=max_tokens)
    chosen = pl.JSONAdapter() if adapter == "pliable-json" else pl.ChatAdapter()
    program = pl.Predict(SIGNATURE, adapter=chosen, lm=lm)

    def call(ex: Any) -> Any:
        return program(question=ex.question, choices=list(ex.choices)).answer

    return call


def _dspy_caller(adapter: str, base: str, max_tokens: int) -> Callable[[Any], Any]:
    import dspy

    lm = dspy.LM(
        "openai/local",
        api_base=base + "/v1",
        api_key="none",
        cache=False,
        num_retries=0,
        temperature=0.0,
        max_tokens=max_tokens,
    )
    chosen = dspy.JSONAdapter() if adapter == "dspy-json" else dspy.ChatAdapter()
    program = dspy.Predict(SIGNATURE)

    def call(ex: Any) -> Any:
        with dspy.context(lm=lm, adapter=chosen):
            return program(question=ex.question, choices=list(ex.choices)).answer

    return call


def run_cell(
    adapter: str,
    model: str,
    task: str,
    examples: list[Any],
    proxy: CountingProxy,
    max_tokens: int,
) -> dict[str, Any]:
    import pliable as pl

    if adapter.startswith("dspy"):
        call = _dspy_caller(adapter, proxy.base_url, max_tokens)
    else:
        call = _pliable_caller(adapter, model, max_tokens)
    named = correct = 0
    failures: dict[str, int] = {}
    before = proxy.snapshot()
    start = time.perf_counter()
    with pl.track_usage() as usage:
        for ex in examples:
            try:
                answer = call(ex)
            except Exception as exc:  # a parse failure (or any error): a reply that did not parse
                kind = type(exc).__name__
                failures[kind] = failures.get(kind, 0) + 1
                continue
            choices = list(ex.choices)
            named += _names_choice(answer, choices)
            correct += _correct(answer, choices, ex.answer)
    seconds = time.perf_counter() - start
    spent = proxy.snapshot().minus(before)
    if not adapter.startswith("dspy"):  # the embedded engine: its calls are counted by pliable
        total = usage.total
        spent.calls = total.calls
        spent.prompt_tokens = total.prompt_tokens
        spent.completion_tokens = total.completion_tokens
    n = len(examples)
    return {
        "adapter": adapter,
        "task": task,
        "n": n,
        "named": named / n,
        "score": correct / n,
        "errors": failures,
        "calls": spent.calls,
        "prompt_tokens": spent.prompt_tokens,
        "completion_tokens": spent.completion_tokens,
        "seconds": seconds,
    }


def _gguf(model: str) -> Path:
    from pliable.lm.packaged import resolve_local_model

    return resolve_local_model(model)


def tables(data: dict[str, Any]) -> str:
    rows = data["rows"]
    out = []
    models = [m for m in data["settings"]["models"] if any(r["model"] == m for r in rows)]
    adapters = [a for a in ADAPTERS if any(r["adapter"] == a for r in rows)]
    tasks = sorted({r["task"] for r in rows})
    body = []
    for model in models:
        for adapter in adapters:
            mine = {r["task"]: r for r in rows if r["model"] == model and r["adapter"] == adapter}
            if not mine:
                continue
            cells = [
                f"{mine[t]['named']:.0%} / {mine[t]['score']:.0%}" if t in mine else "-"
                for t in tasks
            ]
            done = list(mine.values())
            n = sum(r["n"] for r in done)
            parsed = 1 - sum(sum(r["errors"].values()) for r in done) / n
            named = sum(r["named"] * r["n"] for r in done) / n
            score = sum(r["score"] * r["n"] for r in done) / n
            calls = sum(r["calls"] for r in done)
            seconds = sum(r["seconds"] for r in done)
            body.append(
                [
                    model.removeprefix("local/"),
                    adapter,
                    *cells,
                    f"{parsed:.1%}",
                    f"{named:.1%}",
                    f"{score:.1%}",
                    f"{calls / n:.2f}",
                    f"{seconds / n:.2f}",
                ]
            )
    headers = ["model", "adapter", *tasks, "parses", "names a choice", "score", "calls/ex", "s/ex"]
    out.append(table(headers, body, left=2))
    out.append("")
    out.append(
        "Cells: share of replies that parse and name a choice / score, per task. parses: "
        "replies that raised no error (a DSPy retry with its JSON adapter counts as parsed)."
    )
    commits = sorted({str(r.get("commit")) for r in rows})
    out.append(f"Measured at commit(s) {', '.join(commits)}.")
    return "\n".join(out)


def _save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run(args: argparse.Namespace, commit: str | None) -> dict[str, Any]:
    tasks = args.tasks or multiple_choice_tasks()
    settings = {
        "models": args.models,
        "adapters": args.adapters,
        "tasks": tasks,
        "limit": args.limit,
        "max_tokens": args.max_tokens,
        "signature": SIGNATURE,
    }
    data: dict[str, Any] = {"settings": settings, "rows": []}
    if args.resume and args.out.exists():
        old = json.loads(args.out.read_text(encoding="utf-8"))
        kept = {k: old.get("settings", {}).get(k) for k in ("limit", "max_tokens", "signature")}
        if kept != {k: settings[k] for k in kept}:
            raise SystemExit(
                f"--resume: {args.out} was made with {kept}; this run has "
                f"{ {k: settings[k] for k in kept} }. Use another --out."
            )
        data["rows"] = old["rows"]  # each row names the commit it was measured at
    data.update(
        commit=commit,
        started=data.get("started") or now_iso(),
        machine=machine_info(),
        versions={"dspy": package_version("dspy-ai") or package_version("dspy")},
    )
    for model in args.models:
        path = _gguf(model)  # an unknown model fails here, before any work
        todo = [
            (a, t)
            for a in args.adapters
            for t in tasks
            if not any(
                r["model"] == model and r["adapter"] == a and r["task"] == t for r in data["rows"]
            )
        ]
        if not todo:
            continue
        with (
            LlamaServer(path, alias="local", n_ctx=args.n_ctx) as server,
            CountingProxy(server.base_url) as proxy,
        ):
            for adapter, task in todo:
                examples = _examples(task, args.limit)
                cell = run_cell(adapter, model, task, examples, proxy, args.max_tokens)
                row = {"model": model, "commit": commit, **cell}
                data["rows"].append(row)
                _save(args.out, data)
                print(
                    f"{model} {adapter} {task}: names a choice {row['named']:.0%}, "
                    f"score {row['score']:.0%}, {row['calls']} calls, {row['seconds']:.0f} s",
                    flush=True,
                )
    data["finished"] = now_iso()
    _save(args.out, data)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--adapters", nargs="+", default=ADAPTERS, choices=ADAPTERS)
    parser.add_argument("--tasks", nargs="+", help="default: every multiple-choice task")
    parser.add_argument("--limit", type=int, default=40, help="examples per task (seed 0)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--git-ref", help="run src/ as committed at this ref (git archive)")
    parser.add_argument(
        "--tables", type=Path, nargs="+", help="print the tables of results files (rows merged)"
    )
    args = parser.parse_args(argv)
    if args.tables:
        files = [json.loads(p.read_text(encoding="utf-8")) for p in args.tables]
        merged = {**files[0], "rows": [r for f in files for r in f["rows"]]}
        merged["settings"] = {**files[0]["settings"], "models": MODELS}
        print(tables(merged))
        return 0
    if args.limit < 1:
        parser.error(f"--limit must be at least 1; got {args.limit}")
    with tempfile.TemporaryDirectory() as tmp:
        commit = git_revision()
        if args.git_ref:
            commit = export_src(args.git_ref, Path(tmp) / "export")
            sys.path.insert(0, str(Path(tmp) / "export" / "src"))
        data = run(args, commit)
    print(tables(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
