"""Context-scoped defaults: which LM and adapter a program uses when none is passed.

An explicit ``lm=`` / ``adapter=`` on a module or a call always wins. Otherwise the value set
by the innermost ``with pl.using(...)`` block applies, then the one set by ``pl.configure``,
and with nothing configured, the embedded local model (``pl.LM()``, one per process). Set the
environment variable ``PLIABLE_DEFAULT_LM=off`` to make a missing LM an error instead (useful
in test suites, so a forgotten fake never loads a real model).
Both live in :mod:`contextvars`, so a ``using`` block affects only the code (and the worker
threads pliable starts) inside it; tests need no global reset.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.lm.types import LanguageModel

__all__ = ["Settings", "configure", "current", "default_lm", "using"]

_UNSET: Any = object()


@dataclass(frozen=True)
class Settings:
    lm: LanguageModel | None = None
    adapter: Adapter | None = None


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar(
    "pliable_settings", default=None
)


_default_lm: LanguageModel | None = None
_default_lock = threading.Lock()


def default_lm() -> LanguageModel | None:
    """The process-wide embedded model used when no LM is configured (``None`` if disabled)."""
    global _default_lm
    if os.environ.get("PLIABLE_DEFAULT_LM", "").strip().lower() in ("off", "0", "false", "no"):
        return None
    with _default_lock:
        if _default_lm is None:
            from pliable.lm.lm import LM

            _default_lm = LM()
        return _default_lm


_configured = Settings()  # set by configure(): seen by every thread


def current() -> Settings:
    """The settings in force here: the innermost ``using`` block, else ``configure``'s."""
    return _current.get() or _configured


def _merged(lm: Any, adapter: Any) -> Settings:
    changes: dict[str, Any] = {}
    if lm is not _UNSET:
        changes["lm"] = lm
    if adapter is not _UNSET:
        changes["adapter"] = adapter
    return replace(current(), **changes)


@contextmanager
def using(*, lm: Any = _UNSET, adapter: Any = _UNSET) -> Iterator[Settings]:
    """Use ``lm`` / ``adapter`` as defaults inside the ``with`` block only."""
    token = _current.set(_merged(lm, adapter))
    try:
        yield current()
    finally:
        _current.reset(token)


def configure(*, lm: Any = _UNSET, adapter: Any = _UNSET) -> None:
    """Set process-wide defaults, seen by every thread (meant for scripts and notebooks).

    ``using`` blocks still take precedence where they are open.
    """
    global _configured
    changes: dict[str, Any] = {}
    if lm is not _UNSET:
        changes["lm"] = lm
    if adapter is not _UNSET:
        changes["adapter"] = adapter
    with _default_lock:
        _configured = replace(_configured, **changes)
