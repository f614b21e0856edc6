"""Context-scoped defaults: which LM and adapter a program uses when none is passed.

An explicit ``lm=`` / ``adapter=`` on a module or a call always wins. Otherwise the value set
by the innermost ``with pl.using(...)`` block applies, then the one set by ``pl.configure``.
Both live in :mod:`contextvars`, so a ``using`` block affects only the code (and the worker
threads pliable starts) inside it; tests need no global reset.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.lm.types import LanguageModel

__all__ = ["Settings", "configure", "current", "using"]

_UNSET: Any = object()


@dataclass(frozen=True)
class Settings:
    lm: LanguageModel | None = None
    adapter: Adapter | None = None


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar(
    "pliable_settings", default=None
)
_EMPTY = Settings()


def current() -> Settings:
    """The settings in force here."""
    return _current.get() or _EMPTY


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
    """Set defaults for the rest of the current context (meant for scripts and notebooks)."""
    _current.set(_merged(lm, adapter))
