"""``Module``: the base of every program. Predictors are found by walking attributes."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pliable._async import to_thread as _to_thread
from pliable.errors import UsageError

if TYPE_CHECKING:
    from pliable.data.example import Prediction
    from pliable.lm.types import Message
    from pliable.programs.predict import Predict

__all__ = ["Module", "Wrapper", "copy_structure"]

M = TypeVar("M", bound="Module")


class Module:
    """Base class of programs: subclass it, create predictors in ``__init__``, write ``forward``.

    ::

        class RAG(pl.Module):
            def __init__(self):
                self.answer = pl.ChainOfThought("context, question -> answer")

            def forward(self, question):
                return self.answer(context=search(question), question=question)

    No registration is needed: :meth:`named_predictors` finds predictors held in attributes,
    in nested modules, and in lists, tuples and dicts of them.
    """

    #: What the optimizer that compiled this program measured (saved with it), if anything.
    report: Any = None

    def __call__(self, /, *args: Any, **kwargs: Any) -> Prediction:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Prediction:
        raise UsageError(
            f"{type(self).__name__} has no forward() method. Define "
            "`def forward(self, **inputs)` returning a pl.Prediction."
        )

    async def acall(self, /, *args: Any, **kwargs: Any) -> Prediction:
        """Await the program: its ``aforward`` if it defines one, else ``forward`` in a thread."""
        aforward = getattr(self, "aforward", None)
        if aforward is not None:
            result: Prediction = await aforward(*args, **kwargs)
            return result
        return await _to_thread(self.forward, *args, **kwargs)

    def batch(
        self,
        examples: Iterable[Mapping[str, Any]],
        *,
        num_threads: int = 4,
        max_errors: int | None = None,
        progress: bool | None = None,
    ) -> list[Prediction | Exception]:
        """Run the program on many inputs (Examples or dicts) with a bounded thread pool.

        Results come back in input order; a failed example's exception takes its place.
        More than ``max_errors`` failures stops the batch with ``BatchError``. The progress
        bar shows on a terminal by default; ``progress=False`` turns it off.
        """
        from pliable.programs.batch import run_batch

        return run_batch(
            self, examples, num_threads=num_threads, max_errors=max_errors, progress=progress
        )

    def _walk(self, prefix: str, seen: set[int]) -> Iterator[tuple[str, Predict]]:
        from pliable.programs.predict import Predict

        def visit(name: str, value: Any) -> Iterator[tuple[str, Predict]]:
            if id(value) in seen:
                return
            if isinstance(value, Predict):
                seen.add(id(value))
                yield name, value
            elif isinstance(value, Module):
                seen.add(id(value))
                yield from value._walk(name + ".", seen)
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    yield from visit(f"{name}[{i}]", item)
            elif isinstance(value, dict):
                for key, item in value.items():
                    yield from visit(f"{name}[{key!r}]", item)

        for attr, value in vars(self).items():
            yield from visit(prefix + attr, value)

    def named_predictors(self) -> list[tuple[str, Predict]]:
        """``(path, predictor)`` for every predictor in this program, in attribute order."""
        from pliable.programs.predict import Predict

        if isinstance(self, Predict):
            return [("self", self)]
        return list(self._walk("", {id(self)}))

    def predictors(self) -> list[Predict]:
        return [p for _, p in self.named_predictors()]

    def deepcopy(self: M) -> M:
        """An independent copy: demos and settings are copied, LMs are shared."""
        return copy.deepcopy(self)

    def reset_copy(self: M) -> M:
        """A copy with every predictor reset (no demos, original instructions)."""
        new = self.deepcopy()
        for p in new.predictors():
            p.reset()
        return new

    # --- state (one writer: dump_state; see pliable.compiled for the file) ------------------
    def dump_state(self) -> dict[str, Any]:
        """This program's compiled state as plain JSON: each predictor's signature (with its
        instructions), demos, adapter, LM and options, by name, plus what a subclass adds
        (:meth:`extra_state`). Saving, loading and the resume hash all read this."""
        from pliable.programs.predictor_state import dump_predictor

        state: dict[str, Any] = {
            "predictors": {name: dump_predictor(p, name) for name, p in self.named_predictors()}
        }
        state.update(self.extra_state())
        return state

    def extra_state(self) -> dict[str, Any]:
        """State beyond the predictors (a subclass's own settings), as JSON sections of the
        compiled file. Override with :meth:`prepare_extra_state` to read them back."""
        return {}

    def prepare_state(
        self, state: Mapping[str, Any], *, lm: Any = None, **context: Any
    ) -> Callable[[], None]:
        """Check ``state`` (as :meth:`dump_state` writes it) against this program in full,
        and return the function that applies it. Nothing is changed until that is called,
        and calling it cannot fail. Raises :class:`~pliable.errors.CompiledFileError`."""
        from pliable.errors import CompiledFileError
        from pliable.programs.predictor_state import read_predictor

        if not isinstance(state, Mapping) or not isinstance(state.get("predictors"), Mapping):
            raise CompiledFileError("the state has no 'predictors' object.")
        known = {"predictors", *self.extra_state()}
        unknown = sorted(str(k)[:40] for k in set(state) - known)
        if unknown:
            raise CompiledFileError(
                f"it has the section(s) {unknown}, which a {type(self).__name__} does not hold "
                f"(its state has {sorted(known)}). Is it the file of another kind of program?"
            )
        given = state["predictors"]
        mine = dict(self.named_predictors())
        missing = sorted(set(mine) - set(given))
        extra = sorted(str(k)[:60] for k in set(given) - set(mine))
        if missing or extra:
            raise CompiledFileError(
                f"it does not fit {type(self).__name__}: predictors in the program but not the "
                f"file: {missing or 'none'}; in the file but not the program: "
                f"{extra or 'none'}. Load it into the program it was compiled from."
            )
        updates = {
            name: read_predictor(given[name], f"predictor {name!r}", current=p, lm=lm)
            for name, p in mine.items()
        }
        apply_extra = self.prepare_extra_state(state, lm=lm, **context)

        def apply() -> None:
            for name, update in updates.items():
                update.apply(mine[name])
            apply_extra()

        return apply

    def prepare_extra_state(
        self, state: Mapping[str, Any], *, lm: Any = None, **context: Any
    ) -> Callable[[], None]:
        """Check the sections :meth:`extra_state` wrote; return what applies them. By default
        they are settings fixed when the program was built, so the file's must be this
        program's (else it is the file of another program)."""
        from pliable.errors import CompiledFileError

        for key, mine in self.extra_state().items():
            if key in state and self.comparable(key, state[key]) != self.comparable(key, mine):
                raise CompiledFileError(
                    f"its {key!r} section is not this {type(self).__name__}'s (the file: "
                    f"{str(state[key])[:200]}; this program: {str(mine)[:200]}). Load it with "
                    "pl.load(path), or into a program built with the same settings."
                )
        return lambda: None

    def comparable(self, section: str, value: Any) -> Any:
        """The part of an :meth:`extra_state` section that must agree between a file and
        the program it fills (all of it by default)."""
        return value

    def load_state(self, state: Mapping[str, Any], *, lm: Any = None, **context: Any) -> None:
        """Replace this program's state with ``state``: all of it, or, on any error
        (:class:`~pliable.errors.CompiledFileError`), nothing. ``lm`` replaces the LM the
        state records for every predictor."""
        self.prepare_state(state, lm=lm, **context)()

    @classmethod
    def from_state(cls, state: Mapping[str, Any], /, *, lm: Any = None, **context: Any) -> Module:
        """A new program of this class holding ``state``: built with no arguments, then
        :meth:`load_state`. Classes whose constructor needs arguments override this (or are
        loaded by filling one you built: ``MyProgram(...).load(path)``)."""
        program = cls()
        program.load_state(state, lm=lm, **context)
        return program

    def save(self, path: str | os.PathLike[str], report: Any = None) -> Path:
        """Write the compiled prompt (signatures, instructions, demos, settings) as JSON."""
        from pliable.compiled.io import save

        return save(self, path, report=report)

    def load(self, path: str | os.PathLike[str], *, lm: Any = None, **context: Any) -> Module:
        """Fill this program from a compiled file, by predictor name; all or nothing."""
        from pliable.compiled.io import load

        loaded: Module = load(path, program=self, lm=lm, **context)
        return loaded

    def render(
        self, predictor: str | None = None, /, lm: Any = None, **inputs: Any
    ) -> list[Message]:
        """The exact chat messages a predictor would send for ``inputs``.

        A program with one predictor needs no name; otherwise name it as in
        :meth:`named_predictors`. ``lm`` (an LM or a model name) is the LM the call would go
        to, when it is not the predictor's own: the default adapter depends on it.
        """
        named = dict(self.named_predictors())
        if predictor is None:
            if len(named) != 1:
                raise UsageError(
                    f"{type(self).__name__} has {len(named)} predictors "
                    f"({', '.join(named) or 'none'}); say which: program.render(name, ...)."
                )
            (chosen,) = named.values()
        elif predictor in named:
            chosen = named[predictor]
        else:
            raise UsageError(
                f"No predictor {predictor!r} in {type(self).__name__}; it has: "
                f"{', '.join(named) or 'none'}."
            )
        return chosen.messages(lm, **inputs)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        lines += [f"  {name} = {p!r}" for name, p in self.named_predictors()]
        return "\n".join([*lines, ")"])


class Wrapper(Module):
    """A module around one ``program`` whose predictors are its own, by the same names
    (``KNNProgram``, ``SoftPromptProgram``)."""

    program: Module

    def named_predictors(self) -> list[tuple[str, Predict]]:
        return self.program.named_predictors()

    def _walk(self, prefix: str, seen: set[int]) -> Iterator[tuple[str, Predict]]:
        from pliable.programs.predict import Predict

        if not isinstance(self.program, Predict):
            yield from self.program._walk(prefix, seen)
        elif id(self.program) not in seen:
            seen.add(id(self.program))
            yield prefix.rstrip(".") or "self", self.program


def copy_structure(value: Any, memo: dict[int, Any]) -> Any:
    """Copy the modules and predictors in ``value`` (as ``named_predictors`` walks them);
    share everything else. ``memo`` maps each original's id to its copy."""
    from pliable.programs.predict import Predict

    def copied(value: Any) -> Any:
        key = id(value)
        if key in memo:
            return memo[key]
        if isinstance(value, Predict):
            memo[key] = copy.copy(value)  # config and signature are replaced, never mutated
            return memo[key]
        if isinstance(value, Module):
            new_module = copy.copy(value)
            memo[key] = new_module
            for attr, item in vars(value).items():
                swapped = copied(item)
                if swapped is not item:
                    vars(new_module)[attr] = swapped
            return new_module
        if isinstance(value, (list, tuple, dict)):
            pairs = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            swapped_pairs = [(k, copied(item)) for k, item in pairs]
            if all(new is old for (_, new), (_, old) in zip(swapped_pairs, pairs, strict=True)):
                return value
            if isinstance(value, tuple):
                items = [item for _, item in swapped_pairs]
                return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
            container = copy.copy(value)
            for k, item in swapped_pairs:
                container[k] = item
            return container
        return value

    return copied(value)
