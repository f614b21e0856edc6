"""Whole-process import time: ``python -c "import pliable"`` vs ``import dspy`` vs ``pass``.

Also timed: ``import pliable as pl; pl.Predict``, the import a first call needs (``import
pliable`` itself is lazy, PEP 562: it loads the errors and the version, and each other name
loads its module when first read). DSPy (the ``bench`` extra, dspy-ai 3.4.1) is skipped, with
a note, when it is not installed.

Each command runs in a fresh interpreter; the wall time of the whole process (start-up,
imports, exit) is measured from the parent. Bytecode caches go to a private
``PYTHONPYCACHEPREFIX`` directory (nothing is written into src/ or site-packages, and an
inherited ``PYTHONDONTWRITEBYTECODE`` is dropped). One discarded run per command warms the OS
file cache and writes the ``.pyc`` files, then the commands run round-robin ``--runs`` times
and the median is reported.

Optionally (``--cold-runs``, default 5) the same commands run with ``PYTHONPYCACHEPREFIX``
pointing at a new empty directory for every run, so no ``.pyc`` is found and every module
(standard library included) is compiled from source: an upper bound for a first run, not a
cold-disk measurement (the OS file cache stays warm).

Wall times on a shared machine are noisy: the load average before and after is printed and
recorded; rerun when it is high.

Finally ``python -X importtime -c "import pliable"`` runs ``--importtime-runs`` times and the
median self / cumulative microseconds per module are reported (top 10 by cumulative time and
top 10 by self time).

By default the installed pliable (the editable work tree) is measured. ``--git-ref REF``
measures a committed revision instead: ``git archive REF src`` is unpacked into a temporary
directory that goes first on ``PYTHONPATH`` (the work tree is not touched).

Run:  .venv/bin/python benchmarks/import_time.py [--runs 15] [--cold-runs 5] [--git-ref HEAD]
Writes benchmarks/results/import_time.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

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

GOAL_MS = 30.0  # issue 14: whole-process `import pliable`, warm median, at most this
COMMANDS: dict[str, str] = {
    "baseline": "pass",
    "pliable": "import pliable",
    "pliable_predict": "import pliable as pl; pl.Predict",
    "dspy": "import dspy",
}


def run_once(python: str, code: str, cwd: str, env: dict[str, str]) -> float:
    """Wall time in ms of one fresh interpreter running ``code``."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", code],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = (time.perf_counter() - t0) * 1000.0
    if proc.returncode != 0:
        raise SystemExit(
            f"`{python} -c {code!r}` failed ({proc.returncode}):\n{proc.stderr.decode()}"
        )
    return elapsed


def summarize(samples: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
        "stdev_ms": round(statistics.stdev(samples), 1) if len(samples) > 1 else 0.0,
        "samples_ms": [round(s, 1) for s in samples],
    }


def measure(
    python: str,
    runs: int,
    cwd: str,
    env: dict[str, str],
    commands: dict[str, str],
    *,
    cold: bool = False,
) -> dict[str, dict[str, Any]]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    if not cold:
        for code in commands.values():  # discarded warm-up: page cache + .pyc files
            run_once(python, code, cwd, env)
    for _ in range(runs):
        for name, code in commands.items():  # round-robin, so drift hits all alike
            run_env = env
            if cold:
                prefix = tempfile.mkdtemp(prefix="pycache-cold-", dir=cwd)
                run_env = {**env, "PYTHONPYCACHEPREFIX": prefix}
            samples[name].append(run_once(python, code, cwd, run_env))
    return {name: summarize(s) for name, s in samples.items()}


def importtime(
    python: str, module: str, runs: int, cwd: str, env: dict[str, str]
) -> dict[str, Any]:
    self_us: dict[str, list[int]] = defaultdict(list)
    cum_us: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    parent: dict[str, str] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        lines: list[tuple[str, int]] = []
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            fields = line[len("import time:") :].split("|")
            if len(fields) != 3:
                continue
            name_field = fields[2]
            name = name_field.strip()
            # nesting is shown as two spaces per level after the first space
            level = (len(name_field) - len(name_field.lstrip(" ")) - 1) // 2
            depth[name] = level
            lines.append((name, level))
            self_us[name].append(int(fields[0]))
            cum_us[name].append(int(fields[1]))
        # lines come children first: a module's importer is the next line one level up
        last_at: dict[int, str] = {}
        for name, level in reversed(lines):
            parent.setdefault(name, last_at.get(level - 1, ""))
            last_at[level] = name
    modules = [
        {
            "module": name,
            "depth": depth[name],
            "imported_by": parent.get(name, ""),
            "self_us": int(statistics.median(self_us[name])),
            "cumulative_us": int(statistics.median(cum_us[name])),
        }
        for name in cum_us
    ]
    modules.sort(key=lambda m: m["cumulative_us"], reverse=True)
    by_self = sorted(modules, key=lambda m: m["self_us"], reverse=True)
    by_package: dict[str, int] = defaultdict(int)
    for m in modules:
        by_package[m["module"].split(".")[0].lstrip("_") or m["module"]] += m["self_us"]
    packages = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)
    return {
        "runs": runs,
        "module_count": len(modules),
        "total_us": modules[0]["cumulative_us"] if modules else 0,
        "modules": modules,
        "top_self": by_self[:10],
        "self_by_top_level_package_us": dict(packages),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="warm runs per command (default 15)")
    ap.add_argument(
        "--cold-runs",
        type=int,
        default=5,
        help="runs per command with an empty bytecode cache (default 5; 0 to skip)",
    )
    ap.add_argument("--importtime-runs", type=int, default=5, help="-X importtime runs")
    ap.add_argument("--python", default=sys.executable, help="interpreter to measure")
    ap.add_argument("--git-ref", help="measure pliable's src/ as committed at this git ref")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "import_time.json")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="pliable-bench-") as cwd:  # neutral cwd
        env["PYTHONPYCACHEPREFIX"] = str(Path(cwd) / "pycache-warm")
        source = "installed (work tree)"
        if args.git_ref:
            revision = export_src(args.git_ref, Path(cwd) / "export")
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(Path(cwd) / "export" / "src"), env.get("PYTHONPATH")) if p
            )
            source = f"git {args.git_ref} ({revision})"
        pliable_file = subprocess.run(
            [args.python, "-c", "import pliable; print(pliable.__file__)"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"pliable: {source}: {pliable_file}", flush=True)
        commands = dict(COMMANDS)
        has_dspy = subprocess.run(
            [args.python, "-c", "import importlib.util as u; exit(u.find_spec('dspy') is None)"],
            cwd=cwd,
            env=env,
            check=False,
        )
        if has_dspy.returncode != 0:
            print(
                'note: dspy is not installed; skipped (pip install "dspy-ai==3.4.1", '
                "the bench extra)",
                flush=True,
            )
            del commands["dspy"]
        print(f"warm: {args.runs} runs per command (+1 discarded), round-robin ...", flush=True)
        warm = measure(args.python, args.runs, cwd, env, commands)
        cold = None
        if args.cold_runs > 0:
            print(f"no-bytecode-cache: {args.cold_runs} runs per command ...", flush=True)
            cold = measure(args.python, args.cold_runs, cwd, env, commands, cold=True)
        print(f"-X importtime: {args.importtime_runs} runs ...", flush=True)
        it = importtime(args.python, "pliable", args.importtime_runs, cwd, env)

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b > 0 else "n/a"

    rows = []
    for label, res in (("warm", warm), ("no .pyc", cold)):
        if res is None:
            continue
        for stat in ("median", "min"):
            base = res["baseline"][f"{stat}_ms"]
            pl = res["pliable"][f"{stat}_ms"]
            first = res["pliable_predict"][f"{stat}_ms"]
            row = [f"{label}, {stat}", f"{base:.0f}", f"{pl:.0f}", f"{first:.0f}"]
            if "dspy" in res:
                ds = res["dspy"][f"{stat}_ms"]
                row += [
                    f"{ds:.0f}",
                    f"{pl - base:.0f}",
                    f"{ds - base:.0f}",
                    ratio(ds, pl),
                    ratio(ds - base, pl - base),
                ]
                if stat == "median":
                    res["ratio_dspy_over_pliable"] = round(ds / pl, 2)
                    res["ratio_dspy_over_pliable_net"] = (
                        round((ds - base) / (pl - base), 2) if pl > base else None
                    )
            else:
                row.append(f"{pl - base:.0f}")
            rows.append(row)
    headers = ["mode", "python -c pass", "import pliable", "+ pl.Predict"]
    if "dspy" in warm:
        headers += [
            "import dspy",
            "pliable - pass",
            "dspy - pass",
            "dspy/pliable",
            "dspy/pliable (net)",
        ]
    else:
        headers.append("pliable - pass")
    print()
    print("Whole-process wall time, ms (median and min over the runs)")
    print(table(headers, rows))

    top = it["modules"][:10]
    print()
    print(
        f"python -X importtime -c 'import pliable': top 10 by cumulative time "
        f"(median of {it['runs']} runs, {it['module_count']} modules imported)"
    )
    print(
        table(
            ["module", "imported by", "cumulative ms", "self ms"],
            [
                [
                    m["module"],
                    m["imported_by"] or "-",
                    f"{m['cumulative_us'] / 1000:.1f}",
                    f"{m['self_us'] / 1000:.1f}",
                ]
                for m in top
            ],
            left=2,
        )
    )
    print()
    print("the same, top 10 by self time (the module's own code, without its imports)")
    print(
        table(
            ["module", "imported by", "self ms", "cumulative ms"],
            [
                [
                    m["module"],
                    m["imported_by"] or "-",
                    f"{m['self_us'] / 1000:.1f}",
                    f"{m['cumulative_us'] / 1000:.1f}",
                ]
                for m in it["top_self"]
            ],
            left=2,
        )
    )
    print()
    print("self time summed by top-level package (top 8)")
    print(
        table(
            ["package", "self ms"],
            [
                [k, f"{v / 1000:.1f}"]
                for k, v in list(it["self_by_top_level_package_us"].items())[:8]
            ],
        )
    )

    load_after = os.getloadavg()
    print()
    print(
        f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        f"on {os.cpu_count()} cpus"
    )
    pl_warm = warm["pliable"]["median_ms"]
    verdict = "PASS" if pl_warm <= GOAL_MS else "FAIL"
    print()
    print(
        f"goal: whole-process `import pliable` <= {GOAL_MS:.0f} ms warm (median) -> "
        f"{pl_warm:.1f} ms: {verdict}"
    )

    write_json(
        args.out,
        {
            "benchmark": "import_time",
            "command": "python benchmarks/import_time.py " + " ".join(argv or sys.argv[1:]),
            "date": now_iso(),
            "git": git_revision(),
            "pliable_source": source,
            "load_average_1min": {"before": load_before[0], "after": load_after[0]},
            "machine": machine_info(),
            "versions": {"pliable": package_version("pliable"), "dspy": package_version("dspy")},
            "commands": commands,
            "warm": warm,
            "no_bytecode_cache": cold,
            "importtime_pliable": {**it, "modules": it["modules"][:40]},
            "goal": {
                "pliable_warm_median_ms_at_most": GOAL_MS,
                "value_ms": pl_warm,
                "met": verdict == "PASS",
            },
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
