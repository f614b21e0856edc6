"""The command line of ``compile_vs_dspy.py``: its arguments and the settings they make
(full and ``--quick`` defaults)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from _cvd_common import FULL_TASKS, PAIRS, Config
from _models import Models, add_model_args


def build_parser(description: str | None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="1 task x 1 seed, small sets and budgets")
    ap.add_argument("--tasks", nargs="+", help=f"BIG-bench tasks (full: {' '.join(FULL_TASKS)})")
    ap.add_argument("--seeds", nargs="+", type=int, help="seeds (full: 0 1 2; quick: 0)")
    ap.add_argument("--train", type=int, help="train examples (full 20, quick 4)")
    ap.add_argument("--val", type=int, help="val examples (full 20, quick 4)")
    ap.add_argument("--test", type=int, help="test examples (full 100, quick 8)")
    ap.add_argument("--pairs", nargs="+", choices=list(PAIRS), help="which pairs (default all)")
    ap.add_argument(
        "--cot-pairs",
        nargs="*",
        choices=list(PAIRS),
        default=["random_search"],
        help="pairs also run with ChainOfThought programs (as cot_<pair>) on the --cot-tasks "
        "(default: random_search; none: --cot-pairs alone)",
    )
    ap.add_argument(
        "--cot-tasks",
        nargs="*",
        default=["object_counting"],
        help="the tasks of the cot pairs, among --tasks (default: object_counting)",
    )
    ap.add_argument(
        "--cot-max-tokens",
        type=int,
        default=256,
        help="max_tokens of the cot pairs' task calls (and their bootstrapping teacher's)",
    )
    add_model_args(ap)
    ap.add_argument("--max-tokens", type=int, default=32, help="max_tokens of task calls")
    ap.add_argument(
        "--prompt-max-tokens",
        type=int,
        default=128,
        help="max_tokens of instruction-writing calls (proposer, reflection)",
    )
    ap.add_argument("--num-threads", type=int, default=4, help="threads on both sides")
    ap.add_argument(
        "--candidate-programs",
        type=int,
        help="DSPy num_candidate_programs (pliable num_candidates = this + 3); full 3, quick 1",
    )
    ap.add_argument(
        "--gepa-max-metric-calls",
        type=int,
        help="GEPA max_metric_calls instead of auto='light' (quick: 16)",
    )
    ap.add_argument(
        "--mipro-trials",
        type=int,
        help="MIPROv2 num_trials with auto=None, and JointSearch's num_trials (quick: 2)",
    )
    ap.add_argument(
        "--mipro-candidates",
        type=int,
        help="MIPROv2 num_candidates, and JointSearch's instructions and demo sets (quick: 2)",
    )
    ap.add_argument("--out", type=Path, help="JSON result path")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="keep the pairs already in --out (same models and settings), run the missing ones",
    )
    ap.add_argument(
        "--server-log",
        type=Path,
        help="keep the llama.cpp server's log here (a teacher's in PATH.teacher)",
    )
    ap.add_argument(
        "--git-ref",
        help="run pliable's src/ as committed at this ref (git archive, first on PYTHONPATH)",
    )
    ap.add_argument(
        "--tables",
        type=Path,
        metavar="PATH",
        help="print the tables of this results JSON and exit (no server, no DSPy)",
    )
    return ap


def make_config(args: argparse.Namespace, models: Models) -> Config:
    quick = args.quick

    def pick(value: Any, quick_default: Any, full_default: Any) -> Any:
        return value if value is not None else (quick_default if quick else full_default)

    return Config(
        quick=quick,
        tasks=pick(args.tasks, ["sports_understanding"], FULL_TASKS),
        seeds=pick(args.seeds, [0], [0, 1, 2]),
        n_train=pick(args.train, 4, 20),
        n_val=pick(args.val, 4, 20),
        n_test=pick(args.test, 8, 100),
        pairs=pick(args.pairs, list(PAIRS), list(PAIRS)),
        max_tokens=args.max_tokens,
        prompt_max_tokens=args.prompt_max_tokens,
        num_threads=args.num_threads,
        candidate_programs=pick(args.candidate_programs, 1, 3),
        gepa_max_metric_calls=pick(args.gepa_max_metric_calls, 16, None),
        mipro_trials=pick(args.mipro_trials, 2, None),
        mipro_candidates=pick(args.mipro_candidates, 2, None),
        model=models.student,
        teacher=models.teacher,
        cot_pairs=args.cot_pairs,
        cot_tasks=args.cot_tasks,
        cot_max_tokens=args.cot_max_tokens,
    )
