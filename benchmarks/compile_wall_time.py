"""Compile wall time, side by side (issue 18, item 3): the same compile at equal LM calls, by
DSPy and by pliable before and after the embedded engine's multi-prefix KV cache (and its
batched decoding, where it exists), all on Qwen2.5-Coder-0.5B.

Two compiles, each ``compile_vs_dspy.py``'s own code (``_cvd_pliable.PliableSide`` and
``_cvd_dspy.DspySide``: the same programs, signatures, instructions, metrics and optimizer
settings), with ``local/qwen2.5-coder-0.5b`` as the only model (no teacher):

* ``random_search``: DSPy ``BootstrapFewShotWithRandomSearch`` vs ``pl.BootstrapRandomSearch``
  (4 bootstrapped + 4 labeled demos; DSPy's ``num_candidate_programs=N`` tries N + 3
  programs, pliable gets ``num_candidates=N + 3``; N = ``--candidates``, 4) with a ``Predict``
  program on a multiple-choice task (``--mc-task``, sports_understanding; metric
  ``pl.metrics.multiple_choice()``), task calls at ``max_tokens`` 32;
* ``cot``: the same pair with ``ChainOfThought`` programs on object_counting (``--cot-task``;
  generative, ``_cvd_metric.number_match``), task calls at ``max_tokens`` 256.

Data: ``_cvd_common.load_split`` as in ``compile_vs_dspy.py`` (``pl.load_bigbench(task,
seed=0, limit=train+val+test)`` from ``../shared/data/bigbench/``, found by pliable, then
``pl.split``), so train/val are compile_vs_dspy's seed-0 train/val (20/20; the test split is
drawn only for that and not used). The parent loads it once and hands the same examples to
every row.

Rows, each run in a fresh process (``--worker``: model load and imports apart, only the
compile call timed), each with an empty LM cache directory (hits within a run allowed on both
sides, as in compile_vs_dspy), all with the same ``--threads`` (the optimizers'
``num_threads``, 4) and the same llama.cpp compute threads (``--llama-threads``, default all
cores; the server's ``--n_threads`` and the embedded ``n_threads``):

* ``dspy``: DSPy through llama-cpp-python's OpenAI-compatible server (``_llama_server``'s
  ``LlamaServer`` on the same GGUF, a fresh server per row) and a ``CountingProxy``; its LM
  calls, counted at the proxy, are the budget of every pliable row of that compile;
* ``pliable-server``: pliable (the work tree, or ``--after-ref``) through the same kind of
  server and proxy, ``pl.Budget(lm_calls=<DSPy's calls>)``;
* ``before``: pliable at ``--before-ref`` (default ``90fc890^``, the parent of the commit that
  added ``local_prefixes.py``; ``git archive`` of ``src/`` first on ``PYTHONPATH``, same venv)
  on the embedded model ``pl.LM("local/qwen2.5-coder-0.5b")``, same budget;
* ``after``: pliable HEAD on the embedded model (multi-prefix cache on by default);
* ``after-parallel``: the same with ``parallel=--parallel`` (4): skipped, with a note, by a
  pliable whose local LM has no such option;
* ``after-noprefix`` (not run by default): HEAD with ``prefix_cache_mb=0``, to tell the
  prefix cache apart from everything else that changed since ``--before-ref``.

The budget is an upper bound (an optimizer that stops on its own settings uses fewer), so the
table shows the calls each row made and seconds per call. LM calls of the server rows are the
proxy's count; of the embedded rows, pliable's own (``report.lm_calls``, which excludes cache
hits, as the proxy never sees them). Every pliable row uses ``pl.ChatAdapter`` (``--adapter
chat``, the default), the adapter pliable picks for the server and DSPy's default, so all rows
send the same kind of prompt; ``--adapter default`` lets the embedded rows use their default
JSON adapter with a grammar instead. (DSPy's ChatAdapter retries a reply it cannot parse
with its JSONAdapter: those calls reach the proxy and count.) The server is
``_llama_server.py``'s, with the patches that pliable's embedded model applies too. The
valset scores (the baseline program, the best candidate, the program returned; DSPy's are
its random search's own scores) show that the compiles did comparable work.

The pliable HEAD rows (b, d, e; and the metric of row a) import the work tree's ``src/``
(``git`` / ``git_end`` in the JSON, ``-dirty(src)`` when it has uncommitted changes), or
``src/`` as committed at ``--after-ref`` (exported like ``--before-ref``) to pin them.

Output per compile: wall seconds (median over ``--repeats``, rows interleaved; the budget is
the first DSPy run's calls), model load, LM calls, s/call, and ratios: each row's time over
DSPy's (below 1 is faster) and after over before. ``--quick``: 4/4 examples, 1 candidate: a
smoke test of the pipeline, not a result.
Writes benchmarks/results/compile_wall_time.json (``_quick`` with ``--quick``; ``--out``),
rewritten after every run; ``--resume`` keeps the runs already in it (same settings; a
failed run is run again).

Run:  .venv/bin/python benchmarks/compile_wall_time.py [--quick] [--compiles random_search cot]
          [--rows dspy pliable-server before after after-parallel] [--threads 4] [--repeats 1]

One row, both ends (the process it runs in, the server and proxy of a server row, and the
worker in that process) is ``_cwt_rows.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from _common import (
    RESULTS_DIR,
    export_src,
    git_revision,
    machine_info,
    now_iso,
    package_version,
    table,
    write_json,
)
from _cvd_common import Config, load_split, log
from _cwt_rows import examples_to_json, run_row, run_worker

MODEL = "local/qwen2.5-coder-0.5b"
COMPILES = {"random_search": "random_search", "cot": "cot_random_search"}  # -> cvd pair
ROWS = ["dspy", "pliable-server", "before", "after", "after-parallel"]
ALL_ROWS = [*ROWS, "after-noprefix"]
TITLES = {
    "dspy": "a. DSPy, llama.cpp server",
    "pliable-server": "b. pliable, same server",
    "before": "c. pliable before, embedded",
    "after": "d. pliable HEAD, embedded",
    "after-parallel": "e. pliable HEAD, embedded, parallel",
    "after-noprefix": "pliable HEAD, embedded, prefix_cache_mb=0",
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--compiles", nargs="+", choices=list(COMPILES), default=list(COMPILES))
    ap.add_argument("--rows", nargs="+", choices=ALL_ROWS, default=ROWS)
    ap.add_argument("--threads", type=int, default=4, help="optimizers' num_threads (both)")
    ap.add_argument(
        "--llama-threads",
        type=int,
        default=os.cpu_count() or 1,
        help="llama.cpp compute threads, server and embedded (default: all cores)",
    )
    ap.add_argument("--parallel", type=int, default=4, help="parallel= of after-parallel")
    ap.add_argument("--quick", action="store_true", help="4/4 examples, 1 candidate (smoke)")
    ap.add_argument("--train", type=int, help="train examples (20; quick 4)")
    ap.add_argument("--val", type=int, help="val examples (20; quick 4)")
    ap.add_argument("--candidates", type=int, help="DSPy num_candidate_programs (4; quick 1)")
    ap.add_argument("--mc-task", default="sports_understanding")
    ap.add_argument("--cot-task", default="object_counting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1, help="runs per row (median reported)")
    ap.add_argument("--adapter", choices=["chat", "default"], default="chat")
    ap.add_argument("--before-ref", default="90fc890^")
    ap.add_argument("--after-ref", help="pliable HEAD rows from this ref (default: work tree)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--resume", action="store_true", help="keep the runs already in --out")
    ap.add_argument("--server-log", type=Path, help="append the llama.cpp servers' logs here")
    return ap


def make_config(args: argparse.Namespace, task: str, cot_task: str) -> Config:
    quick = args.quick
    return Config(
        quick=quick,
        tasks=[task],
        seeds=[args.seed],
        n_train=args.train or (4 if quick else 20),
        n_val=args.val or (4 if quick else 20),
        n_test=8 if quick else 100,  # drawn only to split as compile_vs_dspy does
        pairs=["random_search"],
        max_tokens=32,
        prompt_max_tokens=128,
        num_threads=args.threads,
        candidate_programs=args.candidates or (1 if quick else 4),
        gepa_max_metric_calls=None,
        mipro_trials=None,
        mipro_candidates=None,
        model=MODEL,
        teacher=MODEL,
        cot_pairs=["random_search"],
        cot_tasks=[cot_task],
        cot_max_tokens=256,
    )


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """What a resumed file must have been made with."""
    keys = ["threads", "llama_threads", "parallel", "quick", "train", "val", "candidates"]
    keys += ["mc_task", "cot_task", "seed", "adapter", "before_ref", "after_ref"]
    return {k: getattr(args, k) for k in keys}


def ok_runs(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in rec.get("runs", []) if r.get("status") == "ok"]


def median_of(rec: dict[str, Any], key: str) -> float | None:
    values = [r[key] for r in ok_runs(rec) if r.get(key) is not None]
    return statistics.median(values) if values else None


def row_summary(rec: dict[str, Any]) -> dict[str, Any]:
    wall, calls = median_of(rec, "wall_seconds"), median_of(rec, "lm_calls")
    per_call = wall / calls if wall is not None and calls else None
    runs = ok_runs(rec)
    return {
        "wall_seconds": wall,
        "load_seconds": median_of(rec, "load_seconds"),
        "lm_calls": calls,
        "seconds_per_call": per_call,
        "val": runs[0].get("val") if runs else None,
        "runs_ok": len(runs),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def summarize(comp: dict[str, Any]) -> dict[str, Any]:
    rows = {row: row_summary(rec) for row, rec in comp["rows"].items()}
    dspy = rows.get("dspy", {})
    for s in rows.values():
        s["wall_vs_dspy"] = ratio(s["wall_seconds"], dspy.get("wall_seconds"))
        s["per_call_vs_dspy"] = ratio(s["seconds_per_call"], dspy.get("seconds_per_call"))
    before = rows.get("before", {})
    after = {
        f"{row}/before": {
            "wall": ratio(rows[row]["wall_seconds"], before.get("wall_seconds")),
            "per_call": ratio(rows[row]["seconds_per_call"], before.get("seconds_per_call")),
        }
        for row in ("after", "after-parallel", "after-noprefix")
        if row in rows and before
    }
    return {"rows": rows, "after_vs_before": after}


def _cell(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}"


def render(name: str, comp: dict[str, Any]) -> str:
    summary = comp["summary"]
    headers = ["row", "wall s", "load s", "LM calls", "s/call", "÷DSPy wall", "÷DSPy s/call"]
    headers += ["val base/best/final %", "note"]
    lines = []
    for row, rec in comp["rows"].items():
        s = summary["rows"][row]
        last = rec["runs"][-1] if rec.get("runs") else {}
        val = s["val"] or {}
        note = last.get("status", "")
        if last.get("status") not in ("ok", None):
            note += f": {last.get('error') or last.get('note')}"
        if last.get("stopped"):
            note += f"; stopped: {last['stopped']}"[:60]
        lines.append(
            [
                TITLES[row],
                _cell(s["wall_seconds"], ".1f"),
                _cell(s["load_seconds"], ".1f"),
                _cell(s["lm_calls"], ".0f"),
                _cell(s["seconds_per_call"], ".2f"),
                _cell(s["wall_vs_dspy"], ".2f"),
                _cell(s["per_call_vs_dspy"], ".2f"),
                "/".join(_pct(val.get(k)) for k in ("baseline", "best", "final")),
                note,
            ]
        )
    text = [f"\n{name}: {comp['optimizers']} on {comp['task']}, budget {comp['budget']}"]
    text.append(table(headers, lines))
    for key, r in summary["after_vs_before"].items():
        text.append(f"{key}: wall {_cell(r['wall'], '.2f')}, s/call {_cell(r['per_call'], '.2f')}")
    return "\n".join(text)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def new_result(args: argparse.Namespace, gguf: Path, out_path: Path) -> dict[str, Any]:
    """The results JSON: a new one, or the one in ``out_path`` with ``--resume``."""
    result: dict[str, Any] = {
        "benchmark": "compile_wall_time",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": now_iso(),
        "git": git_revision(),
        "machine": machine_info(),
        "versions": {
            n: package_version(n) for n in ("pliable", "dspy", "litellm", "llama_cpp_python")
        },
        "settings": settings_of(args),
        "model": {"name": MODEL, "gguf": str(gguf)},
        "load_avg_start": list(os.getloadavg()),
        "compiles": {},
        "sessions": [],
    }
    if args.resume and out_path.is_file():
        previous = json.loads(out_path.read_text(encoding="utf-8"))
        if previous.get("settings") != result["settings"]:
            raise SystemExit(f"--resume: {out_path} has other settings: {previous.get('settings')}")
        for key in ("compiles", "started", "load_avg_start", "sessions"):
            result[key] = previous.get(key, result[key])
    result["sessions"].append({"started": now_iso(), "command": result["command"]})
    result["sessions"][-1].update(git=result["git"], wall_seconds=0.0)
    return result


class Saver:
    """Writes the results JSON, with the wall time of this session and of all of them."""

    def __init__(self, result: dict[str, Any], out_path: Path) -> None:
        self.result, self.out_path = result, out_path
        self.earlier = sum(x.get("wall_seconds", 0) for x in result["sessions"][:-1])
        self.started = time.perf_counter()

    def __call__(self) -> None:
        session = round(time.perf_counter() - self.started, 1)
        self.result["sessions"][-1]["wall_seconds"] = session
        self.result["wall_seconds"] = round(self.earlier + session, 1)
        write_json(self.out_path, self.result)


def run_compile(
    name: str,
    args: argparse.Namespace,
    result: dict[str, Any],
    ctx: dict[str, Any],
    save: Saver,
) -> None:
    """Every row of one compile (``--repeats`` times, rows interleaved), then its table."""
    pair = COMPILES[name]
    task = args.cot_task if name == "cot" else args.mc_task
    cfg = make_config(args, task, args.cot_task)
    train, val, _ = load_split(cfg, task, args.seed)
    optimizers = "BootstrapFewShotWithRandomSearch vs BootstrapRandomSearch"
    comp = result["compiles"].setdefault(
        name,
        {
            "task": task,
            "pair": pair,
            "optimizers": optimizers + (" (ChainOfThought)" if name == "cot" else ""),
            "split": {"train": len(train), "val": len(val)},
            "config": cfg.to_dict(),
            "budget": None,
            "rows": {},
        },
    )
    base = {
        "compile": name,
        "pair": pair,
        "config": cfg.to_dict(),
        "seed": args.seed,
        "train": examples_to_json(train),
        "val": examples_to_json(val),
        "model": MODEL,
        "gguf": str(ctx["gguf"]),
        "llama_threads": args.llama_threads,
        "adapter": args.adapter,
    }
    extras: dict[str, dict[str, Any]] = {
        "after-parallel": {"parallel": args.parallel},
        "after-noprefix": {"prefix_cache_mb": 0},
    }
    rows = [r for r in ALL_ROWS if r in args.rows]  # a fixed order: DSPy first (the budget)
    for repeat in range(args.repeats):
        for row in rows:
            rec = comp["rows"].setdefault(row, {"title": TITLES[row], "runs": []})
            if len([r for r in rec["runs"] if r.get("status") in ("ok", "skipped")]) > repeat:
                continue  # done in an earlier session (--resume); a failed run is run again
            dspy_runs = ok_runs(comp["rows"].get("dspy", {}))
            budget = None if row == "dspy" or not dspy_runs else dspy_runs[0]["lm_calls"]
            if row != "dspy":
                comp["budget"] = budget
            cache_dir = ctx["workdir"] / f"cache-{name}-{row}-{repeat}-{len(rec['runs'])}"
            cache_dir.mkdir()
            spec = {
                **base,
                "row": row,
                "side": "dspy" if row == "dspy" else "pliable",
                "engine": "server" if row in ("dspy", "pliable-server") else "embedded",
                "budget": budget,
                "lm_extra": extras.get(row, {}),
                "cache_dir": str(cache_dir),
            }
            log(f"{name} {row} (run {repeat + 1}/{args.repeats}, budget {budget})")
            src = ctx["sources"]["before" if row == "before" else "head"]
            run = run_row(row, spec, ctx["workdir"], src, args.server_log)
            run["budget"] = budget
            rec["runs"].append(run)
            log(
                f"  {run.get('status')}: {run.get('wall_seconds')} s, "
                f"{run.get('lm_calls')} calls {run.get('error') or run.get('note') or ''}"
            )
            comp["summary"] = summarize(comp)
            save()
    comp["summary"] = summarize(comp)
    comp["table"] = render(name, comp)
    print(comp["table"], flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return run_worker(args.worker)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the worker and server are stopped
    from pliable.lm.local import resolve_local_model

    gguf = Path(resolve_local_model(MODEL))
    out_path = args.out or RESULTS_DIR / f"compile_wall_time{'_quick' if args.quick else ''}.json"
    result = new_result(args, gguf, out_path)
    save = Saver(result, out_path)
    with tempfile.TemporaryDirectory(prefix="compile_wall_time-") as tmp:
        workdir = Path(tmp)
        sources: dict[str, Path | None] = {"head": None, "before": None}
        refs: dict[str, Any] = {"head_rows": args.after_ref or "work tree"}
        for key, ref in (("before", args.before_ref), ("head", args.after_ref)):
            if ref and (key == "head" or "before" in args.rows):
                refs[key] = {"ref": ref, "commit": export_src(ref, workdir / key)}
                sources[key] = workdir / key / "src"
        result["sources"] = refs
        ctx = {"gguf": gguf, "workdir": workdir, "sources": sources}
        for name in args.compiles:
            run_compile(name, args, result, ctx, save)
    result["load_avg_end"] = list(os.getloadavg())
    result["git_end"] = git_revision()  # the work tree may change during a long run
    result["finished"] = now_iso()
    save()
    print(f"\nWall time {result['wall_seconds']:.0f} s. JSON: {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
