"""Per-call framework overhead and cache-hit cost: pliable vs DSPy 3.4.1, in one process.

Part 1, framework overhead with a fake LM (no cache). The same programs on both sides:

* ``pl.Predict("question -> answer")`` / ``pl.ChainOfThought(...)`` with a ``pl.FunctionLM``
  that returns a fixed, well-formed reply;
* ``dspy.Predict("question -> answer")`` / ``dspy.ChainOfThought(...)`` with DSPy's ``DummyLM``
  (``dspy.utils.dummies``). DummyLM never caches (it sets ``_cache_responses = False``), and the
  DSPy cache is switched off as well (``dspy.configure_cache`` with both layers disabled). Its
  answers come from a counting iterator, so the script checks that every call reached DummyLM.

each with no demos and with 3 demos. The raw cost of each fake is measured too, by calling it
directly with the very messages its program sent: ``FunctionLM.complete(messages)`` for pliable,
and DummyLM's engine (``DummyEngine._complete_messages(messages)``, which formats the scripted
answer) for DSPy; "net" subtracts it. ``DummyLM(messages=...)`` through DSPy's whole LM layer
is reported as well, for reference.

Part 2, the cache-hit path. pliable: a ``pl.LM("benchfake/x", cache=<tmp dir>)`` whose backend is
a ``FunctionLM`` registered with ``pl.register_provider("benchfake", ...)``; the first call
fills the cache, then the same ``Predict`` call is timed (memory-layer hits). A second
``pl.LM`` on the same directory with ``pl.Cache(dir, memory_entries=0)`` times the SQLite path
(the memory layer keeps nothing, so every hit reads the file). DSPy: a real ``dspy.LM``
(``openai/`` provider) pointed at a scripted OpenAI-compatible server on 127.0.0.1 (the test
helper ``tests/lm/openai_server.py``), with ``dspy.configure_cache`` using a temp directory; the
first call goes to the server, then hits are timed with memory and disk on, and with the memory
layer off (diskcache hits). The script checks that no timed call reached a backend or the server.
The bare LM call on a hit (``lm.complete(messages)`` / ``lm(messages=...)``) is timed too.

Every figure is microseconds per call: the median over ``--repeats`` batches of ``--calls``
calls (pliable and DSPy batches alternate, after a discarded warm-up batch). When a goal is
missed, pliable's side of that part is profiled with cProfile and the top functions are printed.

The programs and fakes are built in ``_overhead_fakes.py``; timing and cProfile are in
``_overhead_timing.py``.

Run:  .venv/bin/python benchmarks/overhead.py [--quick] [--calls N] [--repeats R]
Writes benchmarks/results/overhead.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    git_revision,
    machine_info,
    now_iso,
    package_version,
    table,
    write_json,
)
from _overhead_fakes import (
    ANSWER,
    BACKENDS,
    DSPY_SERVER_REPLY,
    QUESTION,
    build_overhead_cases,
    load_fake_server,
    register_benchfake,
)
from _overhead_timing import Timed, profile, run_round_robin

GOAL_OVERHEAD_RATIO = 10.0  # pliable's per-call overhead <= 1/10 of DSPy's
GOAL_CACHE_RATIO = 10.0  # pliable's cache hit >= 10x faster than DSPy's


# --- tables ---------------------------------------------------------------------------------
def fmt(us: float) -> str:
    return f"{us:,.1f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a"


def hotspot_table(rows: list[dict[str, Any]]) -> str:
    return table(
        ["where (file:line of def)", "function", "calls/call", "own µs/call", "cum µs/call"],
        [
            [
                r["where"],
                r["function"],
                f"{r['calls_per_call']:.1f}",
                f"{r['own_us_per_call']:.2f}",
                f"{r['cum_us_per_call']:.2f}",
            ]
            for r in rows
        ],
        left=2,
    )


# --- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short run (fewer, smaller batches)")
    ap.add_argument("--calls", type=int, help="calls per timed batch (default 1000; quick 200)")
    ap.add_argument("--repeats", type=int, help="timed batches per item (default 9; quick 3)")
    ap.add_argument("--profile-calls", type=int, default=2000, help="calls under cProfile")
    ap.add_argument(
        "--profile", action="store_true", help="profile pliable's side even when goals are met"
    )
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "overhead.json")
    args = ap.parse_args(argv)
    calls = args.calls or (200 if args.quick else 1000)
    repeats = args.repeats or (3 if args.quick else 9)
    profile_calls = min(args.profile_calls, 500) if args.quick else args.profile_calls

    tmp = tempfile.TemporaryDirectory(prefix="pliable-overhead-")
    # Keep DSPy and litellm off the network and out of the home directory.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["DSPY_CACHEDIR"] = os.path.join(tmp.name, "dspy-default")

    import dspy

    import pliable as pl

    # DSPy 3.4.1 deprecates lm(messages=[...]); the bare-LM timings still use it on purpose.
    warnings.filterwarnings("ignore", message="Passing OpenAI-style message", category=Warning)

    load_before = os.getloadavg()
    started = time.perf_counter()
    print(
        f"pliable {package_version('pliable')} ({git_revision()}), dspy "
        f"{package_version('dspy-ai') or package_version('dspy')}; {calls} calls x {repeats} "
        f"repeats per item; load average {load_before[0]:.2f}"
    )

    # -- part 1 --
    register_benchfake(pl)
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    cases = build_overhead_cases(pl, dspy)
    items = [t for c in cases for t in (c.pl_run, c.dspy_run, c.pl_fake, c.dspy_fake)]
    items += [t for c in cases for t in (c.pl_lm_layer, c.dspy_lm_layer)]
    run_round_robin(items, calls, repeats)
    direct = max(1, calls // 5) + calls * repeats  # warm-up + timed calls per item
    for c in cases:
        # pliable's FunctionLM: program calls (one more for the sanity check) plus direct
        # calls; the same for the one behind pl.LM (it gets the program calls through pl.LM);
        # DummyLM: program, engine and DummyLM(messages=...) calls all reach it.
        c.check(1 + 2 * direct, 1 + direct, 1 + 3 * direct)
    print("\nPart 1: framework overhead per call, fake LM, no cache (µs per call, median)\n")
    rows1, summary1 = [], []
    for c in cases:
        pl_net = c.pl_run.median - c.pl_fake.median
        dspy_net = c.dspy_run.median - c.dspy_fake.median
        summary1.append(
            {
                "case": c.name,
                "demos": c.demos,
                "pliable_us": c.pl_run.median,
                "dspy_us": c.dspy_run.median,
                "ratio": c.dspy_run.median / c.pl_run.median,
                "pliable_fake_us": c.pl_fake.median,
                "dspy_fake_us": c.dspy_fake.median,
                "dspy_dummylm_call_us": c.dspy_lm_layer.median,
                "pliable_net_us": pl_net,
                "dspy_net_us": dspy_net,
                "net_ratio": dspy_net / pl_net,
                "dspy_minus_dummylm_call_us": c.dspy_run.median - c.dspy_lm_layer.median,
                "samples": {
                    t.name: t.samples
                    for t in (
                        c.pl_run,
                        c.dspy_run,
                        c.pl_fake,
                        c.dspy_fake,
                        c.pl_lm_layer,
                        c.dspy_lm_layer,
                    )
                },
            }
        )
        rows1.append(
            [
                c.name,
                fmt(c.pl_run.median),
                fmt(c.dspy_run.median),
                ratio(c.dspy_run.median, c.pl_run.median),
                fmt(c.pl_fake.median),
                fmt(c.dspy_fake.median),
                fmt(pl_net),
                fmt(dspy_net),
                ratio(dspy_net, pl_net),
            ]
        )
    headers1 = [
        "case",
        "pliable",
        "dspy",
        "dspy/pliable",
        "pl fake",
        "dspy fake",
        "pliable net",
        "dspy net",
        "dspy/pliable net",
    ]
    table1 = table(headers1, rows1)
    print(table1)
    # Like for like: both LM layers left out (pliable's FunctionLM called directly, DSPy
    # net of its whole DummyLM(messages=...) call), and both LM layers in (pl.LM around the
    # FunctionLM, net of the fake, vs DSPy net of DummyLM's engine).
    like_rows = []
    for c, s1 in zip(cases, summary1, strict=True):
        dspy_excl = c.dspy_run.median - c.dspy_lm_layer.median
        pl_incl = c.pl_lm_layer.median - c.pl_fake.median
        s1["pliable_via_pl_lm_us"] = c.pl_lm_layer.median
        s1["ratio_lm_layers_excluded"] = dspy_excl / s1["pliable_net_us"]
        s1["ratio_lm_layers_included"] = s1["dspy_net_us"] / pl_incl
        like_rows.append(
            [
                c.name,
                fmt(s1["pliable_net_us"]),
                fmt(dspy_excl),
                ratio(dspy_excl, s1["pliable_net_us"]),
                fmt(pl_incl),
                fmt(s1["dspy_net_us"]),
                ratio(s1["dspy_net_us"], pl_incl),
            ]
        )
    table1b = table(
        [
            "case",
            "pl, no LM layer",
            "dspy, no LM layer",
            "ratio",
            "pl, with pl.LM",
            "dspy, with LM layer",
            "ratio",
        ],
        like_rows,
    )
    print("\nLike for like, net of the fakes, with and without each LM layer (µs per call):\n")
    print(table1b)
    worst1 = min(s["net_ratio"] for s in summary1)
    worst1_raw = min(s["ratio"] for s in summary1)
    worst1_like = min(
        min(s["ratio_lm_layers_excluded"], s["ratio_lm_layers_included"]) for s in summary1
    )
    goal1_met = worst1 >= GOAL_OVERHEAD_RATIO
    goal1_like_met = worst1_like >= GOAL_OVERHEAD_RATIO

    # -- part 2 --
    server_mod = load_fake_server()
    pl_dir = os.path.join(tmp.name, "pliable-cache")
    dspy_dir = os.path.join(tmp.name, "dspy-cache")
    backends = BACKENDS.setdefault("benchfake/x", [])
    pl_lm = pl.LM("benchfake/x", cache=pl_dir)
    pl_prog = pl.Predict("question -> answer", lm=pl_lm)
    first = pl_prog(question=QUESTION)  # fills the cache
    if first.answer != ANSWER or len(backends) != 1 or len(backends[0].calls) != 1:
        raise SystemExit(f"pliable's cache-filling call went wrong: {first!r}")
    pl_messages = list(backends[0].calls[0].messages)
    pl_disk_lm = pl.LM("benchfake/x", cache=pl.Cache(pl_dir, memory_entries=0))
    pl_disk_prog = pl.Predict("question -> answer", lm=pl_disk_lm)

    reply = server_mod.Reply(text=DSPY_SERVER_REPLY)
    with server_mod.FakeOpenAI([reply]) as server:
        dspy.configure_cache(
            enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=dspy_dir
        )
        dspy_lm = dspy.LM(
            "openai/bench-model", api_base=server.base_url, api_key="sk-bench", cache=True
        )
        dprog = dspy.Predict("question -> answer")
        dprog.set_lm(dspy_lm)
        dfirst = dprog(question=QUESTION)  # goes to the server; fills memory and disk
        if dfirst.answer != ANSWER or len(server.requests) != 1:
            raise SystemExit(f"DSPy's cache-filling call went wrong: {dfirst!r}")
        dspy_messages = dspy_lm.history[-1]["messages"]
        mem_cache = dspy.cache
        disk_cache = type(mem_cache)(
            enable_disk_cache=True,
            enable_memory_cache=False,
            disk_cache_dir=dspy_dir,
            disk_size_limit_bytes=int(3e10),
        )

        def dspy_with(cache: Any, fn: Callable[[], Any]) -> Callable[[], Any]:
            def call() -> Any:
                dspy.cache = cache  # the two DSPy cache set-ups alternate with the others
                return fn()

            return call

        def dspy_predict() -> Any:
            return dprog(question=QUESTION)

        def dspy_bare() -> Any:
            return dspy_lm(messages=dspy_messages)

        pairs = {
            "Predict, memory hit": (
                Timed("pl Predict memory hit", lambda: pl_prog(question=QUESTION)),
                Timed("dspy Predict memory hit", dspy_with(mem_cache, dspy_predict)),
            ),
            "Predict, disk hit (memory layer off)": (
                Timed("pl Predict SQLite hit", lambda: pl_disk_prog(question=QUESTION)),
                Timed("dspy Predict diskcache hit", dspy_with(disk_cache, dspy_predict)),
            ),
            "bare LM call, memory hit": (
                Timed("pl LM.complete memory hit", lambda: pl_lm.complete(pl_messages)),
                Timed("dspy LM() memory hit", dspy_with(mem_cache, dspy_bare)),
            ),
        }
        for p_t, d_t in pairs.values():  # each must already be a hit, with the right answer
            for t in (p_t, d_t):
                out = t.fn()
                text = out[0] if isinstance(out, list) else getattr(out, "answer", None)
                text = text if text is not None else out.texts[0]
                if ANSWER not in str(text):
                    raise SystemExit(f"{t.name}: unexpected result {out!r}")
        items2 = [t for pair in pairs.values() for t in pair]
        run_round_robin(items2, calls, repeats)
        dspy.cache = mem_cache
        requests = len(server.requests)
    # A backend may be made without being called: the default adapter asks the LM whether
    # it enforces a JSON schema, which the SQLite-only LM answers from a backend of its own.
    if requests != 1 or sum(len(b.calls) for b in backends) != 1:
        raise SystemExit(
            f"a timed call missed the cache: server requests {requests}, pliable backend "
            f"calls {[len(b.calls) for b in backends]}"
        )
    if len(pl_disk_lm.cache._mem) != 0:
        raise SystemExit("pliable's SQLite LM kept entries in memory")
    if len(disk_cache.memory_cache) != 0:
        raise SystemExit("DSPy's memory-off cache kept entries in memory")
    print("\nPart 2: cache hits, same input repeated (µs per call, median)\n")
    rows2, summary2 = [], []
    for label, (p_t, d_t) in pairs.items():
        summary2.append(
            {
                "case": label,
                "pliable_us": p_t.median,
                "dspy_us": d_t.median,
                "ratio": d_t.median / p_t.median,
                "samples": {p_t.name: p_t.samples, d_t.name: d_t.samples},
            }
        )
        rows2.append(
            [
                label,
                fmt(p_t.median),
                fmt(p_t.low),
                fmt(d_t.median),
                fmt(d_t.low),
                ratio(d_t.median, p_t.median),
            ]
        )
    table2 = table(["case", "pliable", "pliable min", "dspy", "dspy min", "dspy/pliable"], rows2)
    print(table2)
    predict_ratios = [s["ratio"] for s in summary2 if s["case"].startswith("Predict")]
    worst2 = min(predict_ratios)
    goal2_met = worst2 >= GOAL_CACHE_RATIO

    # -- verdicts --
    print("\nGoals:")
    verdict1 = (
        f"framework overhead: {'MET' if goal1_met else 'MISSED'} - DSPy's per-call overhead "
        f"net of the fakes is {worst1:.1f}x pliable's in the worst case (goal >= "
        f"{GOAL_OVERHEAD_RATIO:.0f}x; {worst1_raw:.1f}x before subtracting the fakes); like for "
        f"like, with or without both LM layers, at least {worst1_like:.1f}x "
        f"({'met' if goal1_like_met else 'missed'})"
    )
    verdict2 = (
        f"cache hit: {'MET' if goal2_met else 'MISSED'} - pliable's Predict cache hit is "
        f"{worst2:.1f}x faster than DSPy's in the worst case (goal >= {GOAL_CACHE_RATIO:.0f}x)"
    )
    print("  " + verdict1)
    print("  " + verdict2)

    profiles: dict[str, Any] = {}
    if not (goal1_met and goal1_like_met) or args.profile:
        ranked = sorted(zip(summary1, cases, strict=True), key=lambda sc: sc[0]["net_ratio"])
        worst_case = ranked[0][1]
        profiles[f"part 1: pliable {worst_case.name}"] = worst_case.pl_run.fn
        profiles[f"part 1: pliable {worst_case.name}, via pl.LM"] = worst_case.pl_lm_layer.fn
    if not goal2_met or args.profile:
        for label, (p_t, _d_t) in pairs.items():
            if label.startswith("Predict"):
                profiles[f"part 2: pliable {label}"] = p_t.fn
    profile_out: dict[str, Any] = {}
    for label, fn in profiles.items():
        profile_out[label] = found = profile(fn, profile_calls)
        own, cum = found["by_own_time"], found["pliable_by_cumulative_time"]
        print(f"\ncProfile, {label} ({profile_calls} calls; cProfile inflates the times):")
        print("\nTop functions by own time:\n")
        print(hotspot_table(own))
        print("\npliable functions by cumulative time:\n")
        print(hotspot_table(cum))

    load_after = os.getloadavg()
    elapsed = time.perf_counter() - started
    print(f"\nload average {load_before[0]:.2f} -> {load_after[0]:.2f}; {elapsed:.0f} s")
    write_json(
        args.out,
        {
            "benchmark": "overhead",
            "date": now_iso(),
            "git_revision": git_revision(),
            "versions": {
                name: package_version(name) for name in ("pliable", "dspy-ai", "dspy", "litellm")
            },
            "machine": machine_info(),
            "load_average": {"before": list(load_before), "after": list(load_after)},
            "parameters": {"calls": calls, "repeats": repeats, "quick": args.quick},
            "goals": {
                "overhead": {
                    "goal_ratio": GOAL_OVERHEAD_RATIO,
                    "worst_net_ratio": worst1,
                    "worst_raw_ratio": worst1_raw,
                    "met": goal1_met,
                    "worst_like_for_like_ratio": worst1_like,
                    "like_for_like_met": goal1_like_met,
                },
                "cache_hit": {
                    "goal_ratio": GOAL_CACHE_RATIO,
                    "worst_ratio": worst2,
                    "met": goal2_met,
                },
            },
            "overhead": summary1,
            "cache_hit": summary2,
            "profiles": profile_out,
            "elapsed_s": elapsed,
        },
    )
    print(f"wrote {args.out}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
