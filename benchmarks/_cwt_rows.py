"""One row of ``compile_wall_time.py``, both ends.

The parent's end (:func:`run_row`): the row runs in a fresh process, ``python
compile_wall_time.py --worker SPEC.json``, with an exported ``src/`` first on ``PYTHONPATH``
for another ref; a server row gets a fresh llama.cpp server (``_llama_server.LlamaServer``,
its start reported as the model load) and a ``CountingProxy`` whose count is the row's LM
calls. The worker prints one line ``CWT_RESULT {json}`` on stdout; the parent checks that it
imported the pliable it was meant to.

The worker's end (:func:`run_worker`): one compile, ``compile_vs_dspy.py``'s own, through its
code: :class:`Side` is its :class:`_cvd_pliable.PliableSide` and :class:`_cvd_dspy.DspySide`
(the same programs, signatures, instructions, metrics and optimizer settings) on the examples
the parent passes in the spec (so every row, whatever pliable it imports, compiles on the
same data). Timed: the compile call alone (``wall_seconds``). Apart: importing the
frameworks, and for the embedded model its load (``load_seconds``, ``LocalLM.load()`` before
the compile).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from _common import ROOT_DIR
from _cvd_common import Config, Endpoints, is_cot, short_error, to_dspy
from _cvd_dspy import DspySide
from _cvd_metric import init_metric, is_generative
from _cvd_pliable import PliableSide
from _llama_server import CountingProxy, LlamaServer, _die_with_parent
from _models import slug

RESULT_MARK = "CWT_RESULT "
SCRIPT = Path(__file__).resolve().parent / "compile_wall_time.py"


@dataclass(frozen=True)
class _Url:
    """What :class:`_cvd_common.Endpoints` reads of a proxy: its address."""

    base_url: str


def endpoints(alias: str, base_url: str) -> Endpoints:
    """The endpoints of ``compile_vs_dspy``'s sides: the student (and teacher) at the proxy."""
    url = cast(Any, _Url(base_url))
    return Endpoints(f"openai/{alias}", f"openai/{alias}", url, url, has_teacher=False)


class Side(PliableSide, DspySide):
    """Both halves of ``compile_vs_dspy``'s ``Runner`` on given data, without a teacher."""

    def __init__(
        self, cfg: Config, ends: Endpoints, train: list[Any], val: list[Any], seed: int
    ) -> None:
        self.cfg, self.endpoints, self.seed = cfg, ends, seed
        self.train, self.val, self.test = train, val, []
        self.generative = is_generative(train[0])
        self.dtrain: list[Any] = []
        self.dval: list[Any] = []
        self.max_errors = len(train) + len(val) + 1  # no stop on unparseable replies
        self._tested = {}

    def task_max_tokens(self, pair: str | None = None) -> int:
        return self.cfg.cot_max_tokens if pair and is_cot(pair) else self.cfg.max_tokens

    def bootstrap_teacher(self, pair: str) -> bool:
        return False  # one model: the student bootstraps on both sides


def examples_to_json(examples: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"values": dict(e), "inputs": sorted(e.inputs())} for e in examples]


def examples_from_json(rows: Sequence[dict[str, Any]]) -> list[Any]:
    import pliable as pl

    return [pl.Example(**r["values"]).with_inputs(*r["inputs"]) for r in rows]


# --------------------------------------------------------------------------- the parent's end


def spawn(spec: dict[str, Any], workdir: Path, src: Path | None) -> dict[str, Any]:
    """Run one row in a fresh process; its result (or why there is none)."""
    path = workdir / f"spec-{spec['compile']}-{spec['row']}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--worker", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        check=False,
    )
    seconds = round(time.perf_counter() - start, 2)
    lines = proc.stdout.splitlines()
    results = [ln[len(RESULT_MARK) :] for ln in lines if ln.startswith(RESULT_MARK)]
    for ln in lines:
        if not ln.startswith(RESULT_MARK):
            print(ln, file=sys.stderr)
    if not results:
        return {"status": "failed", "error": f"worker exited {proc.returncode}, no result"}
    out: dict[str, Any] = json.loads(results[-1])
    out["process_seconds"] = seconds
    expected = (src or ROOT_DIR / "src") / "pliable"
    if Path(out["pliable_path"]) != expected.resolve():
        out.update(status="failed", error=f"imported {out['pliable_path']}, not {expected}")
    return out


def run_row(
    row: str, spec: dict[str, Any], workdir: Path, src: Path | None, server_log: Path | None
) -> dict[str, Any]:
    """One row (``spec``) in a fresh process, with ``src`` first on its path (None: the
    installed pliable); a server row through a fresh server and counting proxy."""
    load0 = os.getloadavg()[0]
    if row in ("dspy", "pliable-server"):
        try:
            out = _run_served(row, spec, workdir, src, server_log)
        except RuntimeError as exc:  # the server did not start, or died
            out = {"status": "failed", "error": str(exc)}
    else:
        out = spawn(spec, workdir, src)
    out["load_avg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return out


def _run_served(
    row: str, spec: dict[str, Any], workdir: Path, src: Path | None, server_log: Path | None
) -> dict[str, Any]:
    """A row through a fresh llama.cpp server and a counting proxy."""
    alias = slug(spec["model"])
    with contextlib.ExitStack() as stack:
        start = time.perf_counter()
        server = stack.enter_context(
            LlamaServer(
                Path(spec["gguf"]),
                alias=alias,
                n_threads=spec["llama_threads"],
                log_path=server_log,
            )
        )
        load = round(time.perf_counter() - start, 3)
        proxy = stack.enter_context(CountingProxy(server.base_url))
        out = spawn({**spec, "alias": alias, "api_base": proxy.base_url}, workdir, src)
        counts = proxy.snapshot().to_dict()
        server.check_alive()
    out["load_seconds"] = load  # the server's start: its model load
    out["proxy"] = counts
    if row == "pliable-server":
        out["pliable_lm_calls"] = out.get("lm_calls")  # pliable's own count, for comparison
    out["lm_calls"] = counts["lm_calls"]
    return out


# --------------------------------------------------------------------------- in the worker


def _quiet() -> None:
    for name in ("dspy", "LiteLLM", "httpx", "pliable"):
        logging.getLogger(name).setLevel(logging.WARNING)


def parallel_supported() -> bool:
    """Whether this pliable's ``pl.LM("local/...")`` takes ``parallel=``."""
    from pliable.lm import providers
    from pliable.lm.local import LocalLM

    settings = getattr(providers, "LOCAL_SETTINGS", ())
    return "parallel" in settings and "parallel" in inspect.signature(LocalLM.__init__).parameters


def run_dspy(spec: dict[str, Any], side: Side) -> dict[str, Any]:
    pair = spec["pair"]
    side.dtrain, side.dval = to_dspy(side.train), to_dspy(side.val)
    task_lm, prompt_lm = side.dspy_lms(Path(spec["cache_dir"]), pair)
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        _opt, compiled = side.dspy_compile(pair, task_lm, prompt_lm)
    wall = time.perf_counter() - start
    # BootstrapFewShotWithRandomSearch: every program tried, best first, score in percent
    tried = getattr(compiled, "candidate_programs", None) or []
    scores = [float(c["score"]) / 100 for c in tried]
    baseline = next((float(c["score"]) / 100 for c in tried if c.get("seed") == -3), None)
    best = max(scores) if scores else None
    return {
        "status": "ok",
        "wall_seconds": round(wall, 3),
        "val": {"baseline": baseline, "best": best, "final": best},
        "candidates": len(tried),
        "demos": len(compiled.predictors()[0].demos),
    }


def _task_lm(spec: dict[str, Any], side: Side, out: dict[str, Any]) -> Any:
    """The task LM of a pliable row: through the server's proxy, or the embedded model
    (loaded here, timed apart)."""
    import pliable as pl

    pair, cache = spec["pair"], Path(spec["cache_dir"])
    if spec["engine"] == "server":
        return side.pl_lms(cache, pair)[0]
    extra = dict(spec["lm_extra"])
    lm = pl.LM(
        spec["model"],
        cache=str(cache),
        temperature=0,
        max_tokens=side.task_max_tokens(pair),
        n_threads=spec["llama_threads"],
        **extra,
    )
    backend: Any = lm.backend  # a LocalLM
    start = time.perf_counter()
    backend.load()
    out["load_seconds"] = round(time.perf_counter() - start, 3)
    out["gguf"] = str(getattr(backend, "path", ""))
    out["backend"] = repr(backend)
    return lm


def run_pliable(spec: dict[str, Any], side: Side, out: dict[str, Any]) -> dict[str, Any]:
    import pliable as pl

    if "parallel" in spec["lm_extra"] and not parallel_supported():
        return {"status": "skipped", "note": "this pliable's local LM has no parallel= option"}
    pair = spec["pair"]
    task_lm = _task_lm(spec, side, out)
    backend = task_lm.backend
    stats0 = getattr(backend, "stats", None) if spec["engine"] == "embedded" else None
    optimizer = side.pl_optimizer(pair, None, side.cfg.candidate_programs + 3)
    budget = pl.Budget(lm_calls=spec["budget"]) if spec["budget"] is not None else None
    context: dict[str, Any] = {"lm": task_lm}
    if spec["adapter"] == "chat":
        context["adapter"] = pl.ChatAdapter()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr), pl.using(**context):
        compiled = optimizer.compile(
            side.pl_program(is_cot(pair)),
            trainset=side.train,
            valset=side.val,
            budget=budget,
            progress=False,
        )
    wall = time.perf_counter() - start
    report = compiled.report
    scored = [c["score"] for c in report.candidates if isinstance(c.get("score"), float)]
    result: dict[str, Any] = {
        "status": "ok",
        "wall_seconds": round(wall, 3),
        "lm_calls": report.lm_calls,
        "cache_hits": report.cache_hits,
        "prompt_tokens": report.prompt_tokens,
        "completion_tokens": report.completion_tokens,
        "stopped": report.stopped,
        "selected": report.selected,
        "candidates": len(report.candidates),
        "demos": sum(len(p.demos) for p in compiled.predictors()),
        "val": {
            "baseline": None if report.baseline is None else report.baseline.score,
            "best": max(scored) if scored else None,
            "final": None if report.final is None else report.final.score,
        },
    }
    if stats0 is not None:
        result["prefill"] = dataclasses.asdict(backend.stats - stats0)
    return result


def run_worker(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    import pliable as pl

    init_metric()
    _quiet()
    out: dict[str, Any] = {
        "row": spec["row"],
        "pliable_path": str(Path(pl.__file__).resolve().parent),
        "pliable_version": pl.__version__,
        "pid": os.getpid(),
    }
    try:
        train = examples_from_json(spec["train"])
        val = examples_from_json(spec["val"])
        ends = endpoints(spec.get("alias") or "none", spec.get("api_base") or "http://unused")
        side = Side(Config(**spec["config"]), ends, train, val, spec["seed"])
        if spec["side"] == "dspy":
            import dspy

            out["dspy_version"] = getattr(dspy, "__version__", None)
            out["import_seconds"] = round(time.perf_counter() - start, 3)
            out.update(run_dspy(spec, side))
        else:
            out["import_seconds"] = round(time.perf_counter() - start, 3)
            out.update(run_pliable(spec, side, out))
    except Exception as exc:
        out.update(status="failed", error=short_error(exc), traceback=traceback.format_exc())
        print(out["traceback"], file=sys.stderr)
    print(RESULT_MARK + json.dumps(out, default=str), flush=True)
    return 0
