"""``pl.LM``: one type for every model, with caching, retries, usage and history.

    lm = pl.LM()                                   # the embedded local model (SmolLM2-135M)
    lm = pl.LM("local/gemma3-270m")                # the other packaged local model
    lm = pl.LM("openai/gpt-4o-mini", temperature=0)
    lm = pl.LM("hosted_vllm/my-model", api_base="http://127.0.0.1:8000/v1")
    lm = pl.LM("openai/my-model", api_base=["http://a:8000/v1", "http://b:8000/v1"])  # spread

Each request is looked up in the cache first (key: model, messages, every sampling option and
a ``sample`` index; never the API key or ``api_base``). A miss goes to the backend chosen by
:func:`~pliable.lm.providers.make_backend`, retried with exponential backoff on rate limits,
timeouts and server errors. Every call, hit or miss, is added to the usage trackers
(``pl.track_usage()``) and to the bounded history (``lm.history``, ``pl.inspect_history``).

Inside a compile with a ``run_dir`` the run log journals every request (see
:class:`~pliable.lm.usage.RequestJournal`), and without a persistent cache (``cache=False``, a
memory-only or read-only one) every answer's texts too: a miss in the cache (or with no cache)
first takes the answer a killed earlier run of the same compile got for the same request, if
the log has one it has not replayed yet; it costs nothing, like a cache hit. With a persistent
cache the earlier run's answers are in the cache.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pliable._async import sleep as _sleep
from pliable._async import to_thread as _to_thread
from pliable.errors import ConfigurationError, ProviderError
from pliable.lm.cache import Cache, request_key
from pliable.lm.history import GLOBAL_HISTORY, History, HistoryEntry
from pliable.lm.options import is_secret_option, redact_url
from pliable.lm.providers import make_backend
from pliable.lm.types import Completion, LanguageModel, Message, Usage
from pliable.lm.usage import (
    CallRecord,
    accounted_by_caller,
    backend_accounts,
    journaling,
    record_call,
    replay_answer,
    reserve_call,
)

__all__ = ["DEFAULT_MODEL", "LM"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "local/smollm2"
_KEY_MEMO = 4096
_SECRET_SETTINGS = ("api_key",)
_default_caches: dict[str, Cache] = {}
_default_lock = threading.Lock()


def _shared_cache(directory: str | Path | None) -> Cache:
    """One Cache object per directory in this process (they share the memory layer)."""
    from pliable.lm.cache import default_cache_dir

    key = str(Path(directory or default_cache_dir()).expanduser().resolve())
    with _default_lock:
        if key not in _default_caches:
            _default_caches[key] = Cache(key)
        return _default_caches[key]


class LM:
    """A language model: the embedded local one by default, or any litellm provider.

    Args:
        model: ``"local/smollm2"`` (the default), ``"local/gemma3-270m"``,
            ``"local/path/to/model.gguf"``, or any litellm model name.
        cache: ``True`` (the shared on-disk cache under the user cache directory, or
            ``$PLIABLE_CACHE_DIR``), ``False`` (none), a directory, or a ``Cache``.
        num_retries: retries of rate limits, timeouts and server errors.
        retry_delay: the first backoff delay in seconds (doubled each retry, with jitter).
        history_size: how many calls ``lm.history`` keeps.
        api_key, api_base, timeout: provider settings; never cached, logged or saved.
            ``api_base`` may list several endpoints of the same model: requests are spread
            over them and fail over (see :mod:`pliable.lm.endpoints`).
        supports_response_schema: override whether JSON-schema output is sent.
        **defaults: sampling options for every call (``temperature``, ``max_tokens``, ...).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        cache: bool | str | Path | Cache = True,
        num_retries: int = 3,
        retry_delay: float = 0.5,
        history_size: int = 100,
        api_key: str | None = None,
        api_base: str | Sequence[str] | None = None,
        timeout: float | None = None,
        supports_response_schema: bool | None = None,
        **defaults: Any,
    ) -> None:
        if num_retries < 0 or retry_delay < 0:
            raise ConfigurationError(
                f"LM({model!r}): num_retries and retry_delay must be >= 0; got "
                f"num_retries={num_retries}, retry_delay={retry_delay}."
            )
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ConfigurationError(
                f"LM(model={model!r}): name a model, e.g. 'openai/gpt-4o-mini' or "
                "'local/smollm2', or leave it out for the embedded local model."
            )
        self.model = model or DEFAULT_MODEL
        from pliable.lm.providers import LOCAL_SETTINGS

        local = {k: defaults.pop(k) for k in LOCAL_SETTINGS if k in defaults}
        if local and not self.model.startswith("local"):
            raise ConfigurationError(
                f"LM({self.model!r}): {', '.join(sorted(local))} only apply to local models "
                "(local/...). Remove them."
            )
        if api_base is not None and not isinstance(api_base, str):  # several endpoints
            from pliable.lm.endpoints import endpoint_urls

            api_base = endpoint_urls(self.model, api_base)
        self.defaults = dict(defaults)
        self.num_retries = num_retries
        self.retry_delay = retry_delay
        self.history = History(history_size)
        self._settings: dict[str, Any] = {
            k: v
            for k, v in {
                "api_key": api_key,
                "api_base": api_base,
                "timeout": timeout,
                "supports_response_schema": supports_response_schema,
                **local,
            }.items()
            if v is not None
        }
        self._cache_setting = cache
        self._cache: Cache | None = None
        self._backend: LanguageModel | None = None
        self._init_lock = threading.Lock()
        self._keys: dict[tuple[Any, ...], str] = {}

    # --- pieces made on first use (LM() itself stays cheap) ----------------------------------
    @property
    def backend(self) -> LanguageModel:
        if self._backend is None:
            with self._init_lock:
                if self._backend is None:
                    if isinstance(self._settings.get("api_base"), tuple):  # several
                        from pliable.lm.endpoints import EndpointPool

                        self._backend = EndpointPool(self.model, self._settings)
                    else:
                        self._backend = make_backend(self.model, self._settings)
        return self._backend

    @property
    def cache(self) -> Cache | None:
        setting = self._cache_setting
        if setting is False:
            return None
        if self._cache is None:
            if setting is True:
                self._cache = _shared_cache(None)
            elif isinstance(setting, (str, Path)):
                self._cache = _shared_cache(setting)
            else:
                self._cache = setting
        return self._cache

    @property
    def supports_response_schema(self) -> bool:
        explicit = self._settings.get("supports_response_schema")
        if explicit is not None:
            return bool(explicit)
        return bool(getattr(self.backend, "supports_response_schema", False))

    def __repr__(self) -> str:
        api_base = self._settings.get("api_base")
        if isinstance(api_base, tuple):  # several endpoints
            base = f", api_base={[redact_url(u) for u in api_base]!r}"
        else:
            base = f", api_base={redact_url(str(api_base))!r}" if api_base is not None else ""
        return f"LM({self.model!r}{base})"

    def __deepcopy__(self, memo: dict[int, Any]) -> LM:
        return self  # shared with every copy of a program

    # --- calls --------------------------------------------------------------------------------
    def _prepare(
        self, messages: Sequence[Message], options: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None, int]:
        opts = {**self.defaults, **options}
        sample = int(opts.pop("sample", 0) or 0)
        if self.cache is None and not journaling():  # the key finds a cached or logged answer
            return opts, None, sample
        return opts, self._key(messages, opts, sample), sample

    def _sampled(self, opts: dict[str, Any], sample: int) -> dict[str, Any]:
        """Options for the backend: sample ``k`` of a request shifts the seed by ``k``, so a
        seeded model (the local one always is) gives a fresh sample, not the same text."""
        if sample and ("seed" in opts or self.model.startswith("local")):
            return {**opts, "seed": int(opts.get("seed") or 0) + sample}
        return opts

    def _key(self, messages: Sequence[Message], opts: dict[str, Any], sample: Any) -> str:
        """The cache key, memoised by exact request: hashing the canonical JSON of a long
        prompt costs microseconds, while a tuple of the same strings hashes almost for free
        (Python caches a string's hash, and the instructions and demos are the same string
        objects call after call)."""
        try:
            exact: tuple[Any, ...] | None = (
                tuple((m["role"], m["content"]) for m in messages),
                tuple(sorted(opts.items())),
                sample,
            )
            key = self._keys.get(exact)  # type: ignore[arg-type]
        except TypeError:  # an unhashable option (a dict, a list): no memo
            exact, key = None, None
        if key is None:
            key = request_key({**opts, "model": self.model, "messages": messages, "sample": sample})
            if exact is not None:
                with self._init_lock:
                    if len(self._keys) >= _KEY_MEMO:
                        self._keys.clear()
                    self._keys[exact] = key
        return key

    def _hit(
        self, key: str | None, messages: Sequence[Message], opts: dict[str, Any]
    ) -> Completion | None:
        if key is None:
            return None
        cache = self.cache
        counts = backend_accounts()  # only the pl.LM that accounts for a call replays it
        stored = cache.get(key) if cache is not None else None
        if stored is None and counts:
            stored = replay_answer(key)  # a killed run's answer (checked when its log was read)
        if stored is None:
            return None
        try:
            u = stored["usage"]
            usage = Usage(int(u["prompt_tokens"]), int(u["completion_tokens"]), 0.0)
            completion = Completion(tuple(stored["texts"]), self.model, usage, cached=True)
        except (KeyError, TypeError, ValueError):
            logger.warning("Ignoring a malformed cache entry for %s (key %s)", self.model, key)
            return None
        self._record(messages, opts, completion, latency=0.0, counts=counts)
        return completion

    def _logs_texts(self) -> bool:
        """Whether a run log keeps this LM's answers for a resumed run to replay: only without
        a persistent cache (with one, the answers are there)."""
        cache = self.cache
        return cache is None or not cache.persistent or cache.read_only

    def _store(self, key: str | None, completion: Completion) -> None:
        cache = self.cache
        if key is None or cache is None:
            return
        u = completion.usage
        cache.put(
            key,
            {
                "texts": list(completion.texts),
                "usage": {
                    "prompt_tokens": u.prompt_tokens,
                    "completion_tokens": u.completion_tokens,
                    "cost": u.cost,
                },
            },
        )

    def _record(
        self,
        messages: Sequence[Message],
        opts: dict[str, Any],
        completion: Completion,
        latency: float,
        *,
        counts: bool = True,
        key: str | None = None,
    ) -> None:
        u = completion.usage
        if counts:
            record_call(
                CallRecord(
                    self.model,
                    u.prompt_tokens,
                    u.completion_tokens,
                    0.0 if completion.cached else u.cost,
                    latency,
                    completion.cached,
                ),
                key=key,
                texts=completion.texts if self._logs_texts() else None,
            )
        shown = {k: v for k, v in opts.items() if not is_secret_option(k)}
        entry = HistoryEntry(
            self.model,
            tuple(messages),
            shown,
            completion.texts,
            u,
            completion.cached,
            latency,
            time.time(),
        )
        self.history.append(entry)
        GLOBAL_HISTORY.append(entry)

    def _backoff(self, attempt: int, exc: ProviderError) -> float:
        """The wait before retrying after ``exc``; re-raises it when it is final (not
        retryable, or the last attempt)."""
        if not exc.retryable or attempt == self.num_retries:
            exc.attempts = attempt + 1
            raise exc
        delay = self.retry_delay * (2.0**attempt) * (0.5 + random.random() / 2)
        logger.info(
            "%s; retrying %s in %.2fs (attempt %d of %d)",
            type(exc).__name__,
            self.model,
            delay,
            attempt + 2,
            self.num_retries + 1,
        )
        return delay

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        """Answer ``messages``: from the cache, else from the model (with retries)."""
        opts, key, sample = self._prepare(messages, options)
        hit = self._hit(key, messages, opts)
        if hit is not None:
            return hit
        backend = self.backend
        counts = backend_accounts()  # False inside another pl.LM's provider: counted there
        if counts:
            reserve_call()
        start = time.perf_counter()
        for attempt in range(self.num_retries + 1):
            try:
                with accounted_by_caller():
                    completion = backend.complete(messages, **self._sampled(opts, sample))
                break
            except ProviderError as exc:
                time.sleep(self._backoff(attempt, exc))
        latency = time.perf_counter() - start
        self._store(key, completion)
        self._record(messages, opts, completion, latency, counts=counts, key=key)
        return completion

    async def acomplete(self, messages: Sequence[Message], **options: Any) -> Completion:
        """The async form of :meth:`complete` (``litellm.acompletion`` for remote models)."""
        opts, key, sample = self._prepare(messages, options)
        hit = self._hit(key, messages, opts)
        if hit is not None:
            return hit
        backend = self.backend
        native = getattr(backend, "acomplete", None)
        counts = backend_accounts()
        if counts:
            reserve_call()
        start = time.perf_counter()
        for attempt in range(self.num_retries + 1):
            try:
                with accounted_by_caller():
                    if native is not None:
                        completion: Completion = await native(
                            messages, **self._sampled(opts, sample)
                        )
                    else:
                        completion = await _to_thread(
                            backend.complete, messages, **self._sampled(opts, sample)
                        )
                break
            except ProviderError as exc:
                await _sleep(self._backoff(attempt, exc))
        latency = time.perf_counter() - start
        self._store(key, completion)
        self._record(messages, opts, completion, latency, counts=counts, key=key)
        return completion
