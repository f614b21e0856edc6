"""Hostile compiled files (issue 14, item 8): every file of the corpus in ``hostile_corpus.py``
must be refused with ``pl.CompiledFileError`` (exit code 2 and one line on stderr from the CLI)
by every entry point that reads a compiled file, except where its hostile part is inert to
that entry point (a name that is never imported; see ``may_accept``), where it may also be
accepted:

- ``pl.load(path)`` (and also with the tools of a ReAct file or the embedder of a KNN file,
  where they do not replace the hostile part: ``hostile_corpus.load_kwargs``),
- ``pl.load(path, program=p)`` and ``p.load(path)`` for a ``Predict`` and a ``ChainOfThought``
  ``p``, which must be unchanged afterwards (``p.dump_state()`` before and after),
- ``pl.render_prompts(path)``,
- ``pliable inspect path`` and ``pliable run path --inputs ...``, in-process,

with nothing else happening: the target module the files name is never imported (nor anything
in it called: it records both in a marker file), the loopback sink the endpoint options point
at receives no connection, no cache file appears where a file asked for one, and no call runs
longer than ``TIMEOUT`` seconds. A few files also go through ``pliable inspect`` in a
subprocess. Positive controls show that the valid files the corpus comes from do load, that
the marker, the sink and the timeout work, so that the corpus cannot pass by accident.

Files that name ``os:abort`` come last: if one is obeyed, the test process dies there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import pliable as pl

HERE = Path(__file__).parent
TARGET_DIR = HERE / "hostile_target"
TARGET = "pliable_hostile_target_7c1f"
MARKER_ENV = "PLIABLE_HOSTILE_MARKER"
API_KEY = "sk-hostile-test"
TIMEOUT = 30.0  # seconds per call; a call still running then is a hang (a loaded CI box is slow)
QUESTION = "question -> answer"
FAKE_PROVIDER = "hostilefake"  # `pliable run --model hostilefake/x` answers without a model


def _load_corpus_module() -> types.ModuleType:
    name = "pliable_hostile_corpus"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "hostile_corpus.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and pl.Signature resolve its classes through it
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus_module()
FILE_IDS: list[str] = corpus.hostile_ids(TARGET)

# --- the loopback sink, the deadline, the environment ----------------------------------------


class Sink:
    """An HTTP listener on 127.0.0.1 that records every connection and request (answering
    401), so that a request a hostile file redirected here is seen."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                super().setup()
                sink.record(f"connection from {self.client_address[0]}")

            def log_message(self, *args: Any) -> None:
                pass

            def answer(self) -> None:
                headers = dict(self.headers.items())
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(size, 1 << 20)).decode("utf-8", "replace")
                sink.record(f"{self.command} {self.path} headers={headers} body={body[:4000]}")
                reply = b'{"error": {"message": "hostile-test sink", "type": "auth"}}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer
            do_HEAD = do_OPTIONS = do_CONNECT = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, event: str) -> None:
        with self._lock:
            self.events.append(event)

    def count(self) -> int:
        with self._lock:
            return len(self.events)

    def since(self, start: int) -> list[str]:
        with self._lock:
            return self.events[start:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Hang(BaseException):
    """Raised in the main thread when a call outlives its deadline. A BaseException, so that
    no ``except Exception`` in pliable turns a hang into a CompiledFileError."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread after ``seconds``, and again every second after that:
    a first Hang can be caught by code that then waits for a stuck worker thread."""
    armed = [True]

    def on_alarm(signum: int, frame: object) -> None:
        if armed[0]:
            raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Corpus:
    root: Path
    files: dict[str, Path]
    marker: Path
    cache: Path  # every cache path a hostile file names is under it
    traces: list[str] = field(default_factory=list)  # side effects seen, by file


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, sink: Sink) -> Corpus:
    root = tmp_path_factory.mktemp("hostile")
    files = corpus.hostile_files(root, TARGET, sink.url)
    assert [file_id for file_id, _ in files] == FILE_IDS, "the ids changed between two runs"
    return Corpus(root, dict(files), root / "marker.txt", root / corpus.CACHE_SUBDIR)


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch, hostile: Corpus) -> Corpus:
    """The environment every hostile file is read in: a key a leak would send, the marker
    file, the target module importable by name, offline model hubs, a private cache."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv(MARKER_ENV, str(hostile.marker))
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(hostile.root / "pliable-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.syspath_prepend(str(TARGET_DIR))
    pl.register_provider(FAKE_PROVIDER, lambda model, settings: pl.FunctionLM(lambda m: "x"))
    monkeypatch.chdir(hostile.root)  # relative paths in the files land in the corpus folder
    return hostile


# --- one file through every entry point --------------------------------------------------------


def _describe(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {first}"


# Where a file's hostile part is inert, an entry point may accept the file, but everything else
# still holds (nothing imported, called or sent, no other exception, no hang). The parts:
# - a type's "ref" (an enum's or model's import path) is never read: types are rebuilt from
#   their structure, so every entry point may accept such a file (likewise a ReAct tool's
#   recorded argument schema, which is only compared with the tool you pass);
# - a custom program's name ("module:Class") is never imported: pl.load(path) refuses it, but
#   a program you supply may be filled from the file, and the prompts render without it;
# - the sections rendering does not read (a RAG's or ReAct's program_config, a KNN or soft
#   prompt section, predictors a kind would not accept) are inert to render_prompts and
#   inspect, which show each predictor's prompt from the file alone;
# - a 10 MB string is data, not a danger; so is a report value the report schema allows.
RENDERERS = frozenset({"pl.render_prompts(path)", "pliable inspect"})
FILLS = frozenset(
    f"{fill}"
    for kind in ("Predict", "ChainOfThought")
    for fill in (f"pl.load(path, program={kind}(...))", f"{kind}(...).load(path)")
)
_RENDER_INERT = ("program_config", "knn.", "knn=", "soft_prompt", "predictors.missing-one")


def may_accept(file_id: str, label: str) -> bool:
    """Whether ``label`` (an entry point) may accept the file ``file_id`` (see above)."""
    if ".ref=" in file_id or file_id.endswith("=enum-ref") or file_id.startswith("size.10MB"):
        return True
    if file_id.startswith("predict.report."):  # what the report schema lets through is data
        return True
    if file_id.endswith("tools.schema=ref"):  # only compared with your tool's (and logged)
        return True
    name = file_id.split(".program=", 1)[1] if ".program=" in file_id else None
    custom = name is not None and not name.strip("'").startswith("pliable.") and name != "''"
    if custom and label in FILLS | RENDERERS:
        return True
    return bool(
        label in RENDERERS and (name is not None or any(p in file_id for p in _RENDER_INERT))
    )


_CURRENT = [""]  # the id of the file being tested


def _refused(label: str, call: Callable[[], object]) -> list[str]:
    """[] if ``call()`` raised CompiledFileError in time (or accepted a file it may accept),
    else what went wrong."""
    try:
        with deadline(TIMEOUT):
            call()
    except pl.CompiledFileError:
        return []
    except Hang:
        return [f"{label}: still running after {TIMEOUT:g} s (a hang)"]
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit included: that is what is being tested
        return [f"{label}: raised {_describe(exc)} instead of CompiledFileError"]
    return [] if may_accept(_CURRENT[0], label) else [f"{label}: accepted the file"]


def _snapshot(label: str, program: Any, problems: list[str]) -> Any:
    try:
        return program.dump_state()
    except Exception as exc:
        problems.append(f"{label}: program.dump_state() raised {_describe(exc)}")
        return None


def _fill_refused(label: str, make: Callable[[], Any], load: Callable[[Any], object]) -> list[str]:
    """Refused, and the program it was loaded into unchanged (or, where the file may be
    accepted, accepted: then the program holds the file's state)."""
    problems: list[str] = []
    program = make()
    before = _snapshot(label, program, problems)
    accepted = []

    def call() -> None:
        load(program)
        accepted.append(True)

    problems += _refused(label, call)
    if before is not None and not accepted:
        after = _snapshot(label, program, problems)
        if after is not None and after != before:
            problems.append(f"{label}: the target program changed: {_difference(before, after)}")
    return problems


def _difference(before: Any, after: Any, where: str = "state") -> str:
    """Where two JSON values first differ, readably."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            if before.get(key, ...) != after.get(key, ...):
                return _difference(before.get(key, ...), after.get(key, ...), f"{where}.{key}")
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            if old != new:
                return _difference(old, new, f"{where}[{i}]")
    return f"{where}: {before!r:.100} -> {after!r:.100}"


def _cli_refused(argv: list[str]) -> list[str]:
    """The CLI in-process: exit code 2 and one line on stderr, no traceback."""
    from pliable.cli import main

    label = f"pliable {argv[0]}"
    out, err = io.StringIO(), io.StringIO()
    code: object = "no exit code"

    def call() -> None:
        nonlocal code
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code

    try:
        with deadline(TIMEOUT):
            call()
    except Hang:
        return [f"{label}: still running after {TIMEOUT:g} s (a hang)"]
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return [f"{label}: raised {_describe(exc)} (a traceback) instead of exiting with 2"]
    problems = []
    if code in (0, 1) and may_accept(_CURRENT[0], label) and "Traceback" not in err.getvalue():
        return []  # accepted (run: on the fake model; 1 if its answer did not parse)
    if code != 2:
        problems.append(f"{label}: exit code {code!r}, expected 2")
    text = err.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or "Traceback" in text:
        problems.append(f"{label}: {len(lines)} lines on stderr, expected one: {text[:300]!r}")
    return problems


def _entry_points(file_id: str, path: Path, inputs: Path) -> list[str]:
    problems = _refused("pl.load(path)", lambda: pl.load(path))
    extra = corpus.load_kwargs(file_id)
    if extra:
        label = f"pl.load(path, {', '.join(f'{k}=...' for k in extra)})"
        problems += _refused(label, lambda: pl.load(path, **extra))
    for kind in (pl.Predict, pl.ChainOfThought):
        name = kind.__name__

        def make(kind: Any = kind) -> Any:
            return kind(QUESTION)

        problems += _fill_refused(
            f"pl.load(path, program={name}(...))", make, lambda p: pl.load(path, program=p)
        )
        problems += _fill_refused(f"{name}(...).load(path)", make, lambda p: p.load(path))
    problems += _refused("pl.render_prompts(path)", lambda: pl.render_prompts(path))
    problems += _cli_refused(["inspect", str(path)])
    # --model: where a file is accepted, run calls a fake model, not the embedded one (the
    # file's LM settings are still checked: --model only replaces the LM they would build)
    run = ["run", str(path), "--inputs", str(inputs), "--model", f"{FAKE_PROVIDER}/x"]
    problems += _cli_refused(run)
    return problems


def _side_effects(hostile: Corpus, sink: Sink, sink_start: int, tag: str) -> list[str]:
    """What the file made happen; each trace is cleared so the next file starts clean.
    Requests carrying ``tag`` (this file's `pliable run` input) are this file's for sure."""
    problems = []
    if TARGET in sys.modules:
        problems.append(f"the target module {TARGET} was imported")
        del sys.modules[TARGET]
    if hostile.marker.exists():
        events = hostile.marker.read_text("utf-8").split()
        problems.append(f"the target module recorded {events}")
        hostile.marker.unlink()
    events = sink.since(sink_start)
    mine = [e for e in events if tag in e]
    if mine:
        problems.append(f"the sink received {len(mine)} requests for this file: {mine[:2]}")
    if len(events) > len(mine):
        problems.append(
            f"the sink received {len(events) - len(mine)} other connections or requests "
            f"during this file (from this file, or threads an earlier file left): {events[:3]}"
        )
    if hostile.cache.exists():
        written = sorted(str(p.relative_to(hostile.cache)) for p in hostile.cache.rglob("*"))
        problems.append(f"files appeared at a cache path the file named: {written[:5]}")
        shutil.rmtree(hostile.cache)
    return problems


# --- positive controls and the whole corpus ----------------------------------------------------


def test_compiled_file_error_is_a_usage_error() -> None:
    assert issubclass(pl.CompiledFileError, pl.UsageError)


def test_the_corpus_is_large_and_covers_every_category(hostile: Corpus) -> None:
    files = list(hostile.files.items())
    assert len(files) >= 200
    assert len(set(hostile.files)) == len(files)
    for file_id, path in files:
        assert path.name.endswith(".json"), file_id  # the CLI takes .json paths as files
        assert path.exists(), file_id
        assert hostile.root in path.parents, file_id
    ids = list(hostile.files)
    target_names = [i for i in ids if TARGET in i or "target" in i or "Evil" in i]
    assert len(target_names) >= 40
    for name in corpus.DANGEROUS_NAMES:
        assert any(name in i for i in ids), name
    lm_options = [i for i in ids if ".lm.options." in i or ".config." in i]
    assert len(lm_options) >= 40
    assert sum(i.startswith("size.") for i in ids) >= 8
    assert sum(i.startswith("notjson.") for i in ids) >= 15
    # files naming dangerous callables come last
    dangerous = [n for n, i in enumerate(ids) if any(d in i for d in corpus.DANGEROUS_NAMES)]
    assert dangerous == list(range(len(ids) - len(dangerous), len(ids)))


def test_the_valid_files_load_render_and_inspect(tmp_path: Path, guarded: Corpus) -> None:
    """The files the corpus mutates are accepted: the refusals are about the mutations."""
    from pliable.cli import main

    valid = corpus.valid_files(tmp_path)
    assert {name for name, _ in valid} >= {"predict", "cot", "typed", "rag", "react", "knn"}
    for name, path in valid:
        with deadline(60):
            program = pl.load(path, **corpus.load_kwargs(name))
        assert isinstance(program, pl.Module), name
        if name != "knn":  # a KNN program chooses its demos per call: not renderable
            prompts = pl.render_prompts(path)
            assert prompts, name
            assert all(prompts.values()), name
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert main(["inspect", str(path)]) == 0, name
        assert out.getvalue().strip(), name
    files = dict(valid)
    for kind, name in ((pl.Predict, "predict"), (pl.ChainOfThought, "cot")):
        target = kind(QUESTION)
        before = target.dump_state()
        assert target.load(files[name]) is not None
        assert target.dump_state() != before, f"{name}: loading changed nothing"
        other = kind(QUESTION)
        assert pl.load(files[name], program=other) is not None
        assert other.dump_state() == target.dump_state()
    assert TARGET not in sys.modules
    assert not guarded.marker.exists()


def _target_env(marker: Path, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[MARKER_ENV] = str(marker)
    env["OPENAI_API_KEY"] = API_KEY
    env["PLIABLE_CACHE_DIR"] = str(tmp / "pliable-cache")
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(TARGET_DIR), os.environ.get("PYTHONPATH")) if p
    )
    return env


def test_the_marker_records_an_import_and_every_call(tmp_path: Path) -> None:
    """Without this, an absent marker would prove nothing."""
    marker = tmp_path / "marker.txt"
    calls = "; ".join(
        f"getattr(t, {name!r})" + ("('red')" if name == "Color" else "()")
        for name in corpus.TARGET_CALLABLES
        if name not in ("Addr", "Person")
    )
    script = f"import {TARGET} as t; {calls}; t.Person(name='a', age=1, addr={{'city': 'c'}})"
    subprocess.run(
        [sys.executable, "-c", script],
        env=_target_env(marker, tmp_path),
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    events = marker.read_text("utf-8").split()
    assert events[0] == "import"
    for name in corpus.TARGET_CALLABLES:
        assert any(e.split(":", 1)[1].split(".")[0] == name for e in events[1:]), (name, events)
    assert TARGET not in sys.modules


def test_the_target_module_is_importable_by_name_in_the_tests(guarded: Corpus) -> None:
    """In the guarded environment a lookup by name finds it (without importing it)."""
    spec = importlib.util.find_spec(TARGET)
    assert spec is not None
    assert spec.origin is not None
    assert Path(spec.origin).resolve().parent == TARGET_DIR.resolve()
    assert TARGET not in sys.modules


def test_the_sink_records_requests(sink: Sink) -> None:
    start = sink.count()
    request = urllib.request.Request(sink.url + "/chat/completions", data=b"{}", method="POST")
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    assert any(e.startswith("POST /v1/chat/completions") for e in sink.since(start))
    del sink.events[start:]  # not a hostile file's doing


def test_the_deadline_interrupts_a_hang() -> None:
    began = time.monotonic()
    with pytest.raises(Hang), deadline(0.2):
        time.sleep(10)
    assert time.monotonic() - began < 5


def _cli_command() -> list[str]:
    if importlib.util.find_spec("pliable.cli") is not None:
        return [sys.executable, "-m", "pliable.cli"]
    return [str(Path(sys.executable).with_name("pliable"))]


SUBPROCESS_IDS = [
    "predict.self.adapter=os:abort",
    "predict.self.adapter=sys:exit",
    f"predict.self.adapter={TARGET}:EvilAdapter",
    "predictlm.lm.options.api_base",
    "size.signature-type-100k-deep",
    "notjson.utf-16",
]


def test_inspect_refuses_in_a_subprocess(hostile: Corpus, sink: Sink, tmp_path: Path) -> None:
    """``pliable inspect`` as a user runs it, from a folder holding the target module (the
    current folder is importable under ``python -m``): exit 2, one line, nothing imported."""
    assert set(SUBPROCESS_IDS) <= set(hostile.files)
    start = sink.count()
    running = []
    for n, file_id in enumerate(SUBPROCESS_IDS):
        marker = tmp_path / f"marker-{n}.txt"
        process = subprocess.Popen(
            [*_cli_command(), "inspect", str(hostile.files[file_id])],
            env=_target_env(marker, tmp_path),
            cwd=TARGET_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running.append((file_id, marker, process))
    problems = []
    for file_id, marker, process in running:
        try:
            _, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            problems.append(f"{file_id}: still running after 120 s")
            continue
        lines = [line for line in err.splitlines() if line.strip()]
        if process.returncode != 2:
            problems.append(f"{file_id}: exit code {process.returncode}, expected 2")
        if len(lines) != 1 or "Traceback" in err:
            problems.append(f"{file_id}: {len(lines)} lines on stderr: {err[-300:]!r}")
        if marker.exists():
            problems.append(f"{file_id}: the target module recorded {marker.read_text().split()}")
    if sink.since(start):
        problems.append(f"the sink received {sink.since(start)[:4]}")
    assert not problems, "\n".join(problems)


# --- the corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize("file_id", FILE_IDS)
def test_hostile_file_is_refused(file_id: str, guarded: Corpus, sink: Sink) -> None:
    path = guarded.files[file_id]
    _CURRENT[0] = file_id
    tag = f"hostile-input-{FILE_IDS.index(file_id)}"
    inputs = guarded.root / "inputs" / f"{tag}.jsonl"
    inputs.parent.mkdir(exist_ok=True)
    inputs.write_text(json.dumps({"question": tag}) + "\n", "utf-8")
    start = sink.count()
    problems = _entry_points(file_id, path, inputs)
    traces = _side_effects(guarded, sink, start, tag)
    guarded.traces += [f"{file_id}: {trace}" for trace in traces]
    problems += traces
    assert not problems, f"{file_id} ({path.name}):\n  " + "\n  ".join(problems)


def test_no_trace_after_the_corpus(hostile: Corpus, sink: Sink) -> None:
    """After every file (this test runs after them, in file order): nothing imported, no
    marker, no request, no cache file; ``traces`` lists what each file left."""
    assert not hostile.traces, "\n".join(hostile.traces[:50])
    assert TARGET not in sys.modules
    assert not hostile.marker.exists()
    assert not sink.events
    assert not hostile.cache.exists()
