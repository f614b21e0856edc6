"""Read a DSPy saved program into the equivalent pliable program.

    qa = pl.from_dspy("dspy_qa.json")                        # a DSPy Predict / ChainOfThought
    rag = pl.from_dspy("dspy_rag.json", program=MyRAG())     # several predictors: yours, by name

The file is what DSPy 3 writes with ``program.save("x.json")`` (``save_program=False``): one
object per predictor, by DSPy's predictor name (``"generate_query.predict"``, ``"answer"``),
or, for a lone ``dspy.Predict``, that predictor's own state; a ``"metadata"`` object beside
them. Each predictor's state holds its signature as ``{"instructions": ..., "fields":
[{"prefix": "Question:", "description": "${question}"}, ...]}`` (inputs, then outputs), its
``demos`` as objects of field values (bootstrapped ones with ``"augmented": true``), and its LM.

What maps:

* the instructions, word for word;
* the fields, in order, with their descriptions (DSPy's placeholder description
  ``${name}`` means "none");
* the demos, both bootstrapped (``augmented``) and labeled, keeping the values of the
  signature's fields (DSPy's ``augmented`` flag and other columns are dropped, as are demos
  with no output value, which neither DSPy nor pliable shows);
* a DSPy ``ChainOfThought`` (its predictor is ``<name>.predict`` and its first output is
  ``reasoning``) becomes a ``pl.ChainOfThought``; a ``dspy.Predict``, a ``pl.Predict``.

What does not: DSPy's field prefixes (DSPy 3's adapters do not show them, and pliable's name
fields by their names; they only help recover the names), field types (DSPy does not save
them: text, unless ``program=`` declares them), the LM, ``traces`` and ``train``, a
predictor's decision settings (``"fields"``), and a retriever's ``k``. A ``dspy.Flex``
(whose state is code) is refused.

DSPy's state names neither the fields nor which of them are inputs. Without ``program=``
pliable reads them from DSPy's defaults: the description ``${name}``, the prefix
(``"Question:"`` is the field ``question``), the demos' keys, and the default instructions
("Given the fields `question`, produce the fields `answer`."), which give the inputs; for a
ChainOfThought the inputs are the fields before ``reasoning``. When the instructions were
changed (an optimizer's) or a field has a custom prefix and description, pass ``program=`` a
pliable program with the same fields, e.g. ``program=pl.Predict("question -> answer")``
(``--signature`` on the command line): the program gives names, inputs and types.

Loading runs no code and imports nothing the file names: the JSON is parsed, checked in full,
turned into pliable predictor states, and checked again by pliable's own state reader before
any predictor is changed. Every problem is a :class:`~pliable.errors.CompiledFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pliable.errors import CompiledFileError, UsageError
from pliable.programs.dspy_state import (
    REASONING,
    DSPyField,
    DSPyPredictor,
    default_split,
    dspy_prefix,
    field_names,
    plan_predictor,
    read_dspy_state,
)

if TYPE_CHECKING:
    from pliable.programs.module import Module
    from pliable.programs.predict import Predict
    from pliable.programs.predictor_state import PredictorUpdate

__all__ = ["DSPyField", "DSPyPredictor", "dspy_prefix", "from_dspy", "read_dspy_state"]

M = TypeVar("M", bound="Module")


# --- building pliable states -----------------------------------------------------------------


def _demos(pred: DSPyPredictor, names: Sequence[str], outputs: Sequence[str]) -> list[Any]:
    kept = []
    for demo in pred.demos:
        values = {k: demo[k] for k in names if k in demo}
        if any(k in values for k in outputs):
            kept.append(values)
    return kept


def _predictor_state(kind: str, signature: Mapping[str, Any], demos: list[Any]) -> dict[str, Any]:
    return {"kind": kind, "signature": dict(signature), "demos": demos, "adapter": None}


def _new_predictor(pred: DSPyPredictor, where: str, cot: bool | None) -> Predict:
    from pliable.programs.predictor_state import read_predictor

    plan = plan_predictor(pred, where, cot)
    inputs, outputs = plan.names[: plan.n_inputs], plan.names[plan.n_inputs :]

    def field(i: int, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "type": {"type": "str"}}
        if pred.fields[i].desc:
            out["desc"] = pred.fields[i].desc
        return out

    signature = {
        "name": "StringSignature",
        "instructions": pred.instructions,
        "inputs": [field(i, n) for i, n in enumerate(inputs)],
        "outputs": [field(plan.n_inputs + i, n) for i, n in enumerate(outputs)],
    }
    state = _predictor_state(plan.kind, signature, _demos(pred, plan.names, outputs))
    where_p = f"{where}: DSPy predictor {pred.name!r}"
    return read_predictor(state, where_p, restore_lm=False).new_predictor()


def _pairs(
    dspy: Mapping[str, DSPyPredictor], mine: Mapping[str, Predict], program: Module, where: str
) -> list[tuple[DSPyPredictor, str]]:
    """Each DSPy predictor with the pliable predictor of the same name (``x.predict``, a
    ChainOfThought's inner predictor, is pliable's ``x``; a lone one matches a lone one)."""
    if len(dspy) == 1 and len(mine) == 1:
        return [(next(iter(dspy.values())), next(iter(mine)))]
    pairs: list[tuple[DSPyPredictor, str]] = []
    taken: set[str] = set()
    for name, pred in dspy.items():
        candidates = [name]
        if name.endswith(".predict"):
            candidates.append(name[: -len(".predict")])
        if name in ("predict", "self"):
            candidates.append("self")
        match = next((c for c in candidates if c in mine and c not in taken), None)
        if match is not None:
            taken.add(match)
            pairs.append((pred, match))
    lost_dspy = [n for n in dspy if n not in {p.name for p, _ in pairs}]
    lost_mine = [n for n in mine if n not in taken]
    if lost_dspy or lost_mine:
        raise CompiledFileError(
            f"{where} does not fit {type(program).__name__}: the DSPy predictors are "
            f"{list(dspy)} and the pliable program's are {list(mine)}; no match for DSPy "
            f"{lost_dspy or 'none'} nor for pliable {lost_mine or 'none'}. Pass program= a "
            "program whose named_predictors() have the DSPy names (DSPy's 'x.predict', a "
            "ChainOfThought, is pliable's 'x')."
        )
    return pairs


def _update_for(pred: DSPyPredictor, name: str, current: Predict, where: str) -> PredictorUpdate:
    from pliable.programs.predict import ChainOfThought
    from pliable.programs.predictor_state import read_predictor

    at = f"{where}: DSPy predictor {pred.name!r} (pliable {name!r})"
    sig = current.signature
    mine = [*sig.input_fields, *sig.output_fields]
    found = field_names(pred)
    dspy_side = [f.label(n) for f, (n, _) in zip(pred.fields, found, strict=True)]
    split = default_split(pred.instructions)
    if split is not None:
        ins, outs = split
        if len(ins) + len(outs) + 1 == len(found) and mine[len(ins) : len(ins) + 1] == [REASONING]:
            outs = [REASONING, *outs]
        split = (ins, outs)
    problem = None
    if len(pred.fields) != len(mine):
        problem = f"{len(pred.fields)} fields in DSPy but {len(mine)} in pliable"
    elif split is not None and (
        split[0] != list(sig.input_fields) or split[1] != list(sig.output_fields)
    ):
        problem = (
            f"DSPy's instructions give the inputs {split[0]} and outputs {split[1]}, "
            f"pliable's signature {sig.signature_string()!r}"
        )
    else:
        for i, (dname, sure) in enumerate(found):  # a custom prefix is no name: by position
            if sure and dname != mine[i]:
                problem = f"field {i} is {dname!r} in DSPy but {mine[i]!r} in pliable"
                break
    if problem is None:
        extra = sorted(pred.augmented_keys - set(mine))
        if extra:
            problem = f"the DSPy demos have the field(s) {extra}, which pliable's lacks"
    if problem is not None:
        raise CompiledFileError(
            f"{at}: the fields do not match ({problem}). DSPy: {dspy_side}; pliable: "
            f"{mine} ({sig.signature_string()!r}). Give the pliable predictor the DSPy "
            "predictor's fields, in its order (a DSPy ChainOfThought is a pl.ChainOfThought)."
        )
    descs = {n: f.desc for n, f in zip(mine, pred.fields, strict=True)}
    signature = sig.to_dict()
    signature["instructions"] = pred.instructions
    for side in ("inputs", "outputs"):
        fields = []
        for item in signature[side]:
            item = {k: v for k, v in item.items() if k != "desc"}
            if descs[item["name"]]:
                item["desc"] = descs[item["name"]]
            fields.append(item)
        signature[side] = fields
    kind = "ChainOfThought" if isinstance(current, ChainOfThought) else "Predict"
    demos = _demos(pred, mine, list(sig.output_fields))
    state = _predictor_state(kind, signature, demos)
    return read_predictor(state, at, current=current, restore_lm=False)


@overload
def from_dspy(
    source: str | os.PathLike[str] | Mapping[str, Any],
    program: None = None,
    *,
    cot: bool | None = None,
) -> Predict: ...


@overload
def from_dspy(
    source: str | os.PathLike[str] | Mapping[str, Any],
    program: M,
    *,
    cot: bool | None = None,
) -> M: ...


def from_dspy(
    source: str | os.PathLike[str] | Mapping[str, Any],
    program: Module | None = None,
    *,
    cot: bool | None = None,
) -> Module:
    """The pliable program equivalent to a DSPy saved program (``program.save("x.json")``).

    Without ``program``, the file must hold one predictor (a ``dspy.Predict`` or
    ``dspy.ChainOfThought``): the result is a new ``pl.Predict`` / ``pl.ChainOfThought`` with
    its instructions, fields and demos. ``cot=True`` makes it a ``pl.ChainOfThought`` (its
    first output must be ``reasoning``), ``cot=False`` a ``pl.Predict``; by default a DSPy
    ChainOfThought is one.

    With ``program`` (a pliable program whose ``named_predictors()`` match DSPy's predictor
    names: DSPy's ``"generate_query.predict"`` is pliable's ``"generate_query"``), each
    predictor takes the instructions, descriptions and demos of its DSPy namesake, keeping
    its own field types, adapter, LM and settings; ``program`` is returned. Every predictor
    is checked (names, fields, demo values) before any is changed.

    See the module docstring for what maps and what DSPy's file lacks. Raises
    :class:`~pliable.errors.CompiledFileError` naming the predictor and field at fault.
    """
    from pliable.programs.module import Module

    dspy, where = read_dspy_state(source)
    if program is None:
        if len(dspy) != 1:
            raise CompiledFileError(
                f"{where} holds {len(dspy)} DSPy predictors ({list(dspy)}), so pliable cannot "
                "tell the program around them. Pass program= a pliable program with "
                "predictors of those names: pl.from_dspy(path, program=MyProgram())."
            )
        return _new_predictor(next(iter(dspy.values())), where, cot)
    if isinstance(program, type) or not isinstance(program, Module):
        shown = program.__name__ if isinstance(program, type) else type(program).__name__
        raise UsageError(
            f"pl.from_dspy(path, program=...) takes a pliable program instance; got {shown}. "
            "Build it first: program=MyProgram()."
        )
    if cot is not None:
        raise UsageError(
            "pl.from_dspy: cot= is for imports without program=; with a program, its own "
            "predictors say which are ChainOfThought."
        )
    mine = dict(program.named_predictors())
    pairs = _pairs(dspy, mine, program, where)
    updates = [(mine[name], _update_for(pred, name, mine[name], where)) for pred, name in pairs]
    for predictor, update in updates:  # everything is checked: this cannot fail
        predictor.signature = update.signature
        predictor.demos = list(update.demos)
    return program
