"""Several OpenAI-compatible endpoints behind one ``pl.LM``: spread, fail over, cool off.

    lm = pl.LM(
        "openai/smollm2",
        api_base=["http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1"],
        timeout=60,
    )

:class:`EndpointPool` is the backend such an LM gets: one backend per URL (made by
:func:`~pliable.lm.providers.make_backend` with that ``api_base``, so litellm and registered
providers both work) and, for each request, the healthy endpoint with the fewest requests in
flight (ties in turn, so one thread's calls alternate). An endpoint that fails with a
retryable error (connection refused or reset, a 5xx, a timeout, a rate limit) is marked down
for :data:`COOL_OFF` seconds and the request goes at once to another healthy endpoint; when
every endpoint has failed, the error goes to :class:`~pliable.lm.LM`, which retries with
backoff, and a retry while all are down tries the endpoint whose cool-off ends first.

All of this happens inside one backend call, so :class:`~pliable.lm.LM` sees one request:
it is counted once against usage and budgets however many endpoints it tried, its cache key
is the one it would have with a single endpoint (``api_base`` is never part of a key), and no
URL is written anywhere (log lines name an endpoint by its number; ``repr`` by its count).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pliable._async import to_thread as _to_thread
from pliable.errors import ConfigurationError, ProviderError
from pliable.lm.providers import make_backend
from pliable.lm.types import Completion, LanguageModel, Message

__all__ = ["COOL_OFF", "EndpointPool", "endpoint_urls"]

logger = logging.getLogger(__name__)

#: Seconds an endpoint that failed is skipped before it is tried again.
COOL_OFF = 30.0


def endpoint_urls(model: str, api_base: Sequence[str]) -> str | tuple[str, ...]:
    """``api_base`` given as a list: one URL as a plain string, several as a tuple."""
    if isinstance(api_base, str):
        urls = [api_base]
    else:
        urls = list(api_base) if isinstance(api_base, (list, tuple)) else []
    if not urls or not all(isinstance(u, str) and u.strip() for u in urls):
        raise ConfigurationError(
            f"LM({model!r}): api_base takes a URL or a non-empty list of URLs, e.g. "
            "['http://127.0.0.1:8001/v1', 'http://127.0.0.1:8002/v1']."
        )
    if len(set(urls)) < len(urls):
        raise ConfigurationError(f"LM({model!r}): api_base lists the same URL twice.")
    if len(urls) > 1 and model.startswith("local"):
        raise ConfigurationError(
            f"LM({model!r}): a local model runs in this process; several api_base URLs "
            "apply to served models (e.g. 'openai/<name>' for llama.cpp or vLLM servers)."
        )
    return urls[0] if len(urls) == 1 else tuple(urls)


class EndpointPool:
    """One model served by several endpoints; a :class:`~pliable.lm.types.LanguageModel`.

    Args:
        model: the model name, as given to ``pl.LM``.
        settings: the LM's provider settings; ``settings["api_base"]`` lists the URLs.
        cool_off: seconds a failed endpoint is skipped (default :data:`COOL_OFF`).
        clock: the time source (``time.monotonic``), for tests.
    """

    def __init__(
        self,
        model: str,
        settings: Mapping[str, Any],
        *,
        cool_off: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        urls = settings.get("api_base")
        if isinstance(urls, str) or not isinstance(urls, Sequence) or not urls:
            raise ConfigurationError(f"EndpointPool({model!r}) needs a list of api_base URLs.")
        self.model = model
        self.cool_off = COOL_OFF if cool_off is None else float(cool_off)
        self._clock = clock
        self._backends: list[LanguageModel] = [
            make_backend(model, {**settings, "api_base": url}) for url in urls
        ]
        n = len(self._backends)
        self._lock = threading.Lock()
        self._busy = [0] * n  # requests in flight
        self._down_until = [0.0] * n
        self._served = [0] * n
        self._failed = [0] * n
        self._next = 0  # the endpoint that wins the next tie

    def __repr__(self) -> str:  # never shows a URL
        return f"EndpointPool({self.model!r}, {len(self._backends)} endpoints)"

    def __len__(self) -> int:
        return len(self._backends)

    @property
    def supports_response_schema(self) -> bool:
        return bool(getattr(self._backends[0], "supports_response_schema", False))

    def stats(self) -> list[dict[str, Any]]:
        """Per endpoint, in the order given: requests served, failures, requests in flight,
        and the seconds left of its cool-off (0 when healthy). No URLs."""
        with self._lock:
            now = self._clock()
            return [
                {
                    "endpoint": i,
                    "served": self._served[i],
                    "failed": self._failed[i],
                    "in_flight": self._busy[i],
                    "down_for": max(0.0, self._down_until[i] - now),
                }
                for i in range(len(self._backends))
            ]

    # --- choosing ----------------------------------------------------------------------------
    def _acquire(self, tried: set[int]) -> int | None:
        """The endpoint for the next attempt of a request that already tried ``tried``: the
        healthy one with the fewest requests in flight (ties in turn); with none healthy, on
        a request's first attempt, the one whose cool-off ends first; else None."""
        n = len(self._backends)
        with self._lock:
            now = self._clock()
            healthy = [i for i in range(n) if i not in tried and self._down_until[i] <= now]
            if healthy:
                index = min(healthy, key=lambda i: (self._busy[i], (i - self._next) % n))
            elif not tried:
                index = min(range(n), key=lambda i: self._down_until[i])
            else:
                return None
            self._next = (index + 1) % n
            self._busy[index] += 1
            return index

    def _release(self, index: int, error: BaseException | None) -> None:
        with self._lock:
            self._busy[index] -= 1
            if error is None:
                self._served[index] += 1
                self._down_until[index] = 0.0
            elif isinstance(error, ProviderError) and error.retryable:
                self._failed[index] += 1
                self._down_until[index] = self._clock() + self.cool_off
        if isinstance(error, ProviderError) and error.retryable:
            logger.warning(
                "%s: endpoint %d of %d failed (%s); skipped for %.0f s",
                self.model,
                index + 1,
                len(self._backends),
                type(error).__name__,
                self.cool_off,
            )

    @staticmethod
    def _final(error: BaseException) -> bool:
        """True for an error that another endpoint would not fix (a bad request, a key)."""
        return not (isinstance(error, ProviderError) and error.retryable)

    # --- calls -------------------------------------------------------------------------------
    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        tried: set[int] = set()
        last: BaseException | None = None
        while (index := self._acquire(tried)) is not None:
            try:
                completion = self._backends[index].complete(messages, **options)
            except BaseException as exc:
                self._release(index, exc)
                if self._final(exc):
                    raise
                tried.add(index)
                last = exc
                continue
            self._release(index, None)
            return completion
        assert last is not None  # _acquire gives a first attempt at least
        raise last

    async def acomplete(self, messages: Sequence[Message], **options: Any) -> Completion:
        tried: set[int] = set()
        last: BaseException | None = None
        while (index := self._acquire(tried)) is not None:
            backend = self._backends[index]
            native = getattr(backend, "acomplete", None)
            try:
                if native is not None:
                    completion: Completion = await native(messages, **options)
                else:
                    completion = await _to_thread(backend.complete, messages, **options)
            except BaseException as exc:
                self._release(index, exc)
                if self._final(exc):
                    raise
                tried.add(index)
                last = exc
                continue
            self._release(index, None)
            return completion
        assert last is not None
        raise last
