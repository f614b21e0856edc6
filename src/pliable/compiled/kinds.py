"""The registry of program kinds: the names a compiled file may give in its ``"program"`` key.

A compiled file names the kind of program it holds (``"pliable.Predict"``, ``"pliable.RAG"``,
``"myapp.Classifier"``). Loading looks the name up here and nowhere else: nothing the file
names is ever imported. Kinds come from two places, and pliable's own use both exactly as a
user would:

- :func:`register_program_kind` (``pl.register_program_kind("myapp.Classifier", Classifier)``)
  called by the code that defines the class; pliable's built-in programs register themselves
  this way when their module is imported;
- the ``pliable.program_kinds`` entry-point group of installed distributions (an entry point
  named after the kind, pointing at the class), read once, the first time a name is not
  found. pliable declares its built-ins there too, so ``pl.load`` finds them before their
  modules were imported.

Entry points are metadata of packages the user installed, not text of the file, so a file can
only choose among classes that this environment already offers as program kinds.

A kind is a class with ``from_state(state, **context)`` (``pl.Module`` provides one: build
with no arguments, then ``load_state``) and ``dump_state()``.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Protocol

from pliable.errors import ConfigurationError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ProgramKind",
    "kind_name",
    "program_kind",
    "program_kinds",
    "register_program_kind",
    "unregister_program_kind",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "pliable.program_kinds"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

_by_name: dict[str, type[Any]] = {}
_lock = threading.Lock()
_entry_points_read = False


class ProgramKind(Protocol):
    """What a registered class offers: rebuild from a file's state, and write that state."""

    @classmethod
    def from_state(cls, state: dict[str, Any], /, **context: Any) -> Any: ...

    def dump_state(self) -> dict[str, Any]: ...


def register_program_kind(name: str, cls: type[Any]) -> None:
    """Let compiled files name ``cls`` as ``name`` (a dotted name such as ``"myapp.QA"``).

    ``cls`` needs ``from_state`` and ``dump_state`` (every ``pl.Module`` has them). Saving
    a program of this class writes ``name``; loading a file that names it calls
    ``cls.from_state(state, lm=..., **context)``. Registering the same class again is a
    no-op; another class under a taken name, or a second name for one class, is an error.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"A program kind is a dotted name like 'myapp.QA'; got {name!r}. Pick such a name."
        )
    if not isinstance(cls, type) or not callable(getattr(cls, "from_state", None)):
        raise ConfigurationError(
            f"register_program_kind({name!r}, ...) needs a class with from_state() and "
            f"dump_state() (a pl.Module subclass); got {cls!r}."
        )
    with _lock:
        taken = _by_name.get(name)
        if taken is not None and taken is not cls:
            raise ConfigurationError(
                f"The program kind {name!r} is already registered for "
                f"{taken.__module__}.{taken.__qualname__}. Pick another name for "
                f"{cls.__qualname__}, or unregister_program_kind({name!r}) first."
            )
        other = next((n for n, c in _by_name.items() if c is cls and n != name), None)
        if other is not None:
            raise ConfigurationError(
                f"{cls.__qualname__} is already registered as the program kind {other!r}; a "
                "class has one kind name, which its compiled files carry."
            )
        _by_name[name] = cls


def unregister_program_kind(name: str) -> None:
    """Forget the kind ``name`` (a no-op if it is not registered)."""
    with _lock:
        _by_name.pop(name, None)


def _read_entry_points() -> None:
    global _entry_points_read
    if _entry_points_read:
        return
    _entry_points_read = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _by_name:
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not break loading other kinds
            logger.warning("program kind entry point %s (%s) failed: %s", ep.name, ep.value, exc)
            continue
        if ep.name not in _by_name:
            register_program_kind(ep.name, cls)


def program_kind(name: str) -> type[Any] | None:
    """The class registered as ``name``, or None. Looks at entry points once if needed."""
    with _lock:
        found = _by_name.get(name)
    if found is None and not _entry_points_read:
        _read_entry_points()
        with _lock:
            found = _by_name.get(name)
    return found


def kind_name(program: object) -> str | None:
    """The kind name ``program``'s class is registered under (exact class), or None."""
    cls = type(program)
    with _lock:
        for name, registered in _by_name.items():
            if registered is cls:
                return name
    if not _entry_points_read:
        _read_entry_points()
        return kind_name(program)
    return None


def program_kinds() -> dict[str, type[Any]]:
    """Every registered kind (after reading the entry points), by name."""
    _read_entry_points()
    with _lock:
        return dict(_by_name)
