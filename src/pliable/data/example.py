"""``Example`` (a row of data with input/label roles) and ``Prediction`` (a program's output)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pliable.errors import UsageError

__all__ = ["Example", "Prediction"]


class Example(Mapping[str, Any]):
    """A row of named values; some are marked as inputs, the rest are labels.

    >>> ex = Example(question="2+2?", answer="4").with_inputs("question")
    >>> ex.inputs().question, ex.labels().answer
    ('2+2?', '4')

    Values are read as attributes or keys. An ``Example`` is not changed in place by
    pliable: ``with_inputs``, ``copy`` and ``without`` return new examples.
    """

    __slots__ = ("_input_keys", "_values")
    _values: dict[str, Any]
    _input_keys: frozenset[str] | None

    def __init__(self, base: Mapping[str, Any] | None = None, /, **values: Any) -> None:
        merged: dict[str, Any] = dict(base or {})
        merged.update(values)
        object.__setattr__(self, "_values", merged)
        keys = getattr(base, "_input_keys", None) if isinstance(base, Example) else None
        object.__setattr__(self, "_input_keys", keys)

    # Mapping protocol
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._values), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise AttributeError(
                f"{type(self).__name__} has no field `{name}`; it has: "
                f"{', '.join(self._values) or '(nothing)'}.{hint}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise UsageError(
            f"{type(self).__name__} values are read-only: cannot set `{name}` = {value!r}. "
            f"Build a new one with .copy({name}=...)."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._values, self._input_keys, self._extra_state()))

    def _extra_state(self) -> Any:
        return None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Example):
            return (
                type(self) is type(other)
                and self._values == other._values
                and (self._input_keys == other._input_keys)
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._values))))

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        marks = f", inputs={sorted(self._input_keys)}" if self._input_keys is not None else ""
        return f"{type(self).__name__}({body}{marks})"

    # Roles
    def with_inputs(self, *keys: str) -> Example:
        """A copy in which ``keys`` are the inputs and every other field is a label."""
        missing = [k for k in keys if k not in self._values]
        if missing:
            raise UsageError(
                f"with_inputs: {', '.join(map(repr, missing))} not in this example "
                f"(fields: {', '.join(self._values)})."
            )
        out = self.copy()
        object.__setattr__(out, "_input_keys", frozenset(keys))
        return out

    @property
    def input_keys(self) -> frozenset[str] | None:
        return self._input_keys

    def inputs(self) -> Example:
        """The input fields only. Raises if ``with_inputs`` was never called."""
        if self._input_keys is None:
            raise UsageError(
                f"{self!r} has no inputs marked. Call .with_inputs('field', ...) first "
                "(loaders do this for you when given inputs=[...])."
            )
        return self._subset(k for k in self._values if k in self._input_keys)

    def labels(self) -> Example:
        """Every field that is not an input."""
        keys = self._input_keys or frozenset()
        return self._subset(k for k in self._values if k not in keys)

    def _subset(self, keys: Iterable[str]) -> Example:
        out = Example({k: self._values[k] for k in keys})
        if self._input_keys is not None:
            object.__setattr__(out, "_input_keys", self._input_keys & set(out._values))
        return out

    def copy(self, **changes: Any) -> Example:
        out = type(self).__new__(type(self))
        object.__setattr__(out, "_values", {**self._values, **changes})
        object.__setattr__(out, "_input_keys", self._input_keys)
        return out

    def without(self, *keys: str) -> Example:
        out = self.copy()
        object.__setattr__(out, "_values", {k: v for k, v in self._values.items() if k not in keys})
        return out

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)


class Prediction(Example):
    """The outputs of one program call, read as attributes: ``pred.answer``.

    ``completions`` holds every parsed choice when the LM was asked for several (``n > 1``);
    the prediction's own values are the first choice's.
    """

    __slots__ = ("_completions",)

    def __init__(self, base: Mapping[str, Any] | None = None, /, **values: Any) -> None:
        super().__init__(base, **values)
        object.__setattr__(self, "_completions", None)

    @classmethod
    def from_completions(cls, completions: list[dict[str, Any]]) -> Prediction:
        if not completions:
            raise UsageError("A Prediction needs at least one completion.")
        pred = cls(completions[0])
        if len(completions) > 1:
            object.__setattr__(pred, "_completions", tuple(cls(c) for c in completions))
        return pred

    def _extra_state(self) -> Any:
        return getattr(self, "_completions", None)

    @property
    def completions(self) -> tuple[Prediction, ...]:
        return getattr(self, "_completions", None) or (self,)


def _rebuild(
    cls: type[Example], values: dict[str, Any], input_keys: frozenset[str] | None, extra: Any
) -> Example:
    out = cls.__new__(cls)
    object.__setattr__(out, "_values", dict(values))
    object.__setattr__(out, "_input_keys", input_keys)
    if isinstance(out, Prediction):
        object.__setattr__(out, "_completions", extra)
    return out
