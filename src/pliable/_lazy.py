"""PEP 562 lazy attributes for pliable's package ``__init__`` files.

A package lists, for every name it exports, the module that defines it; the module is imported
the first time the name is read (``pkg.Name`` or ``from pkg import Name``), and the value is then
stored on the package, so later reads are plain attribute reads. This keeps ``import pliable``
to a few milliseconds: ``pl.Predict`` loads the programs it needs and nothing of the
optimizers, the evaluation code or the compiled-file code.

Each package also imports the same names under ``if TYPE_CHECKING:`` so that type checkers and
editors see them; tests/test_architecture.py checks that the two lists agree. The package
defines ``__getattr__`` and ``__dir__`` under ``if not TYPE_CHECKING:`` so that a type checker
still reports a misspelled name instead of trusting ``__getattr__``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose name ``N`` is read from the module
    ``names[N]``; a name whose module's last component is ``N`` (``"metrics":
    "pliable.evaluation.metrics"``) is that module itself."""

    def __getattr__(name: str) -> object:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(target)
        value = module if target.rpartition(".")[2] == name else getattr(module, name)
        setattr(sys.modules[package], name, value)  # the next read is a plain attribute read
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
