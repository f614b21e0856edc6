"""pliable's version, in a module of its own so that any layer can read it without importing
the package's ``__init__`` (keep it equal to ``version`` in pyproject.toml)."""

__version__ = "0.1.0"
