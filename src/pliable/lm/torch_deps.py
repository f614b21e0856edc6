"""The optional dependencies of the soft-prompt optimizers, imported only when needed.

``import pliable`` never imports torch, transformers or peft; these helpers do, on first use,
and raise :class:`~pliable.errors.ConfigurationError` naming the extra to install when one is
missing. The modules come back typed as ``Any`` so that pliable type-checks the same whether
they are installed or not.
"""

from __future__ import annotations

import importlib
from typing import Any

from pliable.errors import ConfigurationError

__all__ = [
    "INSTALL_HINT",
    "peft",
    "require",
    "safetensors_torch",
    "torch",
    "transformers",
    "versions",
]

INSTALL_HINT = 'pip install "pliable[soft]"'
_NEEDED = ("torch", "transformers", "peft", "safetensors")


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            f"The soft-prompt optimizers need {', '.join(_NEEDED)} (and gguf to read GGUF "
            f"files); importing {name!r} failed ({exc}). Run: {INSTALL_HINT}"
        ) from exc


def require() -> None:
    """Check that every dependency imports; raise ConfigurationError naming the extra if not."""
    for name in _NEEDED:
        _import(name)


def torch() -> Any:
    return _import("torch")


def transformers() -> Any:
    return _import("transformers")


def peft() -> Any:
    return _import("peft")


def safetensors_torch() -> Any:
    return _import("safetensors.torch")


def versions() -> dict[str, str | None]:
    """The installed versions of the libraries an adapter depends on."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in ("torch", "transformers", "peft"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out
