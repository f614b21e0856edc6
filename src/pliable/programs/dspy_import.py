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

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pliable.compiled.io import MAX_FILE_BYTES, MAX_PREDICTORS
from pliable.errors import CompiledFileError, UsageError

if TYPE_CHECKING:
    from pliable.programs.module import Module
    from pliable.programs.predict import Predict
    from pliable.programs.predictor_state import PredictorUpdate

__all__ = ["DSPyField", "DSPyPredictor", "dspy_prefix", "from_dspy", "read_dspy_state"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound="Module")

_DEFAULT_DESC = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_DEFAULT_INSTRUCTIONS = re.compile(r"^Given the fields (.*), produce the fields (.*)\.$", re.DOTALL)
_TICKED = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`$")
_REASONING = "reasoning"
_AUGMENTED = "augmented"
_NEXT = (
    "Save the DSPy program with program.save('program.json') (DSPy 3, save_program=False) "
    "and import that file; a pliable compiled file loads with pl.load(path)."
)


@dataclass(frozen=True)
class DSPyField:
    """One field of a DSPy predictor's saved signature, as DSPy wrote it."""

    prefix: str
    description: str

    @property
    def default_name(self) -> str | None:
        """The field's name when its description is DSPy's placeholder ``${name}``."""
        match = _DEFAULT_DESC.match(self.description)
        return match.group(1) if match else None

    @property
    def desc(self) -> str:
        """The description pliable keeps: none for DSPy's placeholder."""
        return "" if self.default_name is not None else self.description

    def label(self, name: str | None) -> str:
        return name if name is not None else f"? (prefix {self.prefix!r})"


@dataclass(frozen=True)
class DSPyPredictor:
    """One DSPy predictor's saved state: what pliable reads of it."""

    name: str
    instructions: str
    fields: tuple[DSPyField, ...]
    demos: tuple[Mapping[str, Any], ...]

    @property
    def chain_of_thought_shaped(self) -> bool:
        """Whether DSPy's names say it is a ChainOfThought's inner predictor."""
        return self.name == "predict" or self.name.endswith(".predict")

    @property
    def demo_keys(self) -> list[str]:
        """Every key of every demo, in first-seen order, without DSPy's ``augmented`` flag."""
        seen: dict[str, None] = {}
        for demo in self.demos:
            seen.update((k, None) for k in demo if k != _AUGMENTED)
        return list(seen)

    @property
    def augmented_keys(self) -> set[str]:
        """The keys of the bootstrapped demos, which DSPy writes with every field it had."""
        return {k for d in self.demos if d.get(_AUGMENTED) is True for k in d if k != _AUGMENTED}


def dspy_prefix(name: str) -> str:
    """The prefix DSPy gives a field named ``name`` (its ``infer_prefix`` plus ``:``):
    ``question`` -> ``Question:``, ``search_query`` -> ``Search Query:``."""
    text = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([a-zA-Z])(\d)", r"\1_\2", text)
    text = re.sub(r"(\d)([a-zA-Z])", r"\1_\2", text)
    words = [w if w.isupper() else w.capitalize() for w in text.split("_")]
    return " ".join(words) + ":"


# --- reading the file ------------------------------------------------------------------------


def _not_dspy(where: str, detail: str) -> CompiledFileError:
    return CompiledFileError(f"{where} is not a DSPy program's saved state: {detail}. {_NEXT}")


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(source, Mapping):
        return dict(source), "the state passed to pl.from_dspy"
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(
            f"pl.from_dspy takes the path of a DSPy state file (or its parsed JSON); got "
            f"{type(source).__name__}."
        )
    where = str(source)
    try:
        size = os.path.getsize(source)
        data = Path(source).read_bytes() if size <= MAX_FILE_BYTES else b""
    except OSError as exc:
        raise CompiledFileError(f"Cannot read {where}: {exc}.") from exc
    if size > MAX_FILE_BYTES:
        raise CompiledFileError(
            f"{where} is {size} bytes; pliable reads DSPy state files of at most "
            f"{MAX_FILE_BYTES}. Is it the right file?"
        )
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        pickle = (
            "; pliable never reads DSPy's .pkl files, which run code" if data[:1] == b"\x80" else ""
        )
        raise _not_dspy(where, f"it is not JSON text ({str(exc)[:120]}){pickle}") from exc
    if not isinstance(raw, dict):
        raise _not_dspy(where, f"it holds a JSON {type(raw).__name__}, not an object")
    return raw, where


def _text(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str):
        raise _not_dspy(where, f"{what} must be a string; got {str(value)[:80]!r}")
    return value


def _predictor(name: str, state: Any, where: str) -> DSPyPredictor:
    at = f"predictor {name!r}"
    signature = state.get("signature")
    if not isinstance(signature, Mapping) or not isinstance(signature.get("fields"), list):
        raise _not_dspy(
            where,
            f"{at}: 'signature' must be an object with 'instructions' and a 'fields' list; "
            f"got {str(signature)[:120]!r}",
        )
    instructions = _text(signature.get("instructions"), where, f"{at}: signature.instructions")
    fields = []
    for i, item in enumerate(signature["fields"]):
        if not isinstance(item, Mapping):
            raise _not_dspy(where, f"{at}: signature field {i} must be an object; got {item!r}")
        fields.append(
            DSPyField(
                _text(item.get("prefix", ""), where, f"{at}: signature field {i}: prefix"),
                _text(
                    item.get("description", ""), where, f"{at}: signature field {i}: description"
                ),
            )
        )
    if not fields:
        raise _not_dspy(where, f"{at}: its signature has no fields")
    demos = state.get("demos")
    if not isinstance(demos, list):
        raise _not_dspy(where, f"{at}: 'demos' must be a list; got {str(demos)[:80]!r}")
    for i, demo in enumerate(demos):
        if not isinstance(demo, Mapping):
            raise _not_dspy(
                where, f"{at}: demo {i} must be an object of field values; got {str(demo)[:80]!r}"
            )
    decisions = state.get("fields")
    if isinstance(decisions, Mapping) and decisions:
        logger.warning(
            "%s, %s: its decision settings for %s are not imported (pliable has none).",
            where,
            at,
            ", ".join(str(k)[:40] for k in decisions),
        )
    return DSPyPredictor(name, instructions, tuple(fields), tuple(demos))


def read_dspy_state(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[dict[str, DSPyPredictor], str]:
    """The predictors of a DSPy saved state, by DSPy's names (a lone ``dspy.Predict`` is
    ``"self"``), and a name for the source in messages. Retrievers' states (``{"k": ...}``)
    are skipped; anything else that is not a predictor's state is refused."""
    raw, where = _read(source)
    if "schema_version" in raw and "predictors" in raw:
        raise CompiledFileError(
            f"{where} is a pliable compiled file, not a DSPy state: load it with "
            "pl.load(path) (or program.load(path))."
        )
    if isinstance(raw.get("signature"), Mapping) and "demos" in raw:
        entries: dict[str, Any] = {"self": raw}
    else:
        entries = {str(k): v for k, v in raw.items() if k != "metadata"}
    if not entries:
        raise _not_dspy(where, "it holds no predictor (only 'metadata')" if raw else "it is {}")
    if len(entries) > MAX_PREDICTORS:
        raise _not_dspy(where, f"it has {len(entries)} entries; at most {MAX_PREDICTORS}")
    predictors: dict[str, DSPyPredictor] = {}
    for name, state in entries.items():
        if isinstance(state, Mapping) and "extended_signature" in state:
            raise CompiledFileError(
                f"{where}: predictor {name[:60]!r} was saved by DSPy 2.5 or older "
                "('extended_signature'). Load it in DSPy 3 and save it again, then import."
            )
        if isinstance(state, Mapping) and "module_src" in state:
            raise CompiledFileError(
                f"{where}: {name[:60]!r} is a dspy.Flex, whose state is Python code "
                "('module_src'); pliable never runs code from a file. Import a program of "
                "Predict / ChainOfThought steps."
            )
        if isinstance(state, Mapping) and set(state) == {"k"}:
            continue  # a dspy.Retrieve: its k is not part of any prompt
        if not isinstance(state, Mapping) or not isinstance(state.get("signature"), Mapping):
            got = sorted(str(k)[:40] for k in state) if isinstance(state, Mapping) else state
            raise _not_dspy(
                where,
                f"{name[:60]!r} is not a predictor's state (one has 'signature' and 'demos'); "
                f"got {str(got)[:160]}",
            )
        predictors[name] = _predictor(name, state, where)
    if not predictors:
        raise _not_dspy(where, "it holds no predictor")
    return predictors, where


# --- field names and directions --------------------------------------------------------------


def _default_split(instructions: str) -> tuple[list[str], list[str]] | None:
    """The inputs and outputs DSPy's default instructions name, if they are the default."""
    match = _DEFAULT_INSTRUCTIONS.match(instructions.strip())
    if not match:
        return None
    sides: list[list[str]] = []
    for part in match.groups():
        names = []
        for item in part.split(", ") if part else []:
            ticked = _TICKED.match(item)
            if ticked is None:
                return None
            names.append(ticked.group(1))
        sides.append(names)
    return sides[0], sides[1]


def _field_names(pred: DSPyPredictor) -> list[tuple[str | None, bool]]:
    """Each field's name as DSPy's defaults give it, and whether that is certain (its
    placeholder description, or a demo key with its prefix) or a reading of its prefix."""
    keys = pred.demo_keys
    out: list[tuple[str | None, bool]] = []
    for f in pred.fields:
        if f.default_name is not None:
            out.append((f.default_name, True))
            continue
        matching = [k for k in keys if dspy_prefix(k) == f.prefix]
        if len(matching) == 1:
            out.append((matching[0], True))
            continue
        guess = f.prefix.rstrip(":").strip().lower().replace(" ", "_")
        if guess.isidentifier() and dspy_prefix(guess) == f.prefix:
            out.append((guess, False))
        else:
            out.append((None, False))
    return out


@dataclass(frozen=True)
class _Plan:
    """A DSPy predictor read as a pliable one: field names, where outputs start, kind."""

    names: list[str]
    n_inputs: int
    kind: str


def _signature_hint(names: Sequence[str | None], n_inputs: int | None) -> str:
    shown = [n or "?" for n in names]
    cut = n_inputs if n_inputs is not None else max(len(shown) - 1, 0)
    return f"{', '.join(shown[:cut])} -> {', '.join(shown[cut:])}"


def _plan(pred: DSPyPredictor, where: str, cot: bool | None) -> _Plan:
    """Names, inputs and kind of a DSPy predictor read without a pliable program."""
    at = f"{where}: DSPy predictor {pred.name!r}"
    found = _field_names(pred)
    names: list[str | None] = [n for n, _ in found]
    certain = [c for _, c in found]
    n_inputs: int | None = None
    split = _default_split(pred.instructions)
    if split is not None:
        ins, outs = split
        if len(ins) + len(outs) + 1 == len(names) and names[len(ins)] == _REASONING:
            outs = [_REASONING, *outs]
        if len(ins) + len(outs) == len(names):
            for i, (name, sure) in enumerate(zip(names, certain, strict=True)):
                if sure and name != (ins + outs)[i]:
                    raise CompiledFileError(
                        f"{at}: its instructions name the fields {ins + outs}, but field {i} "
                        f"is {name!r} (description {pred.fields[i].description!r}). Pass "
                        f"program= a pliable program with its fields, e.g. "
                        f"program=pl.Predict({_signature_hint(names, len(ins))!r})."
                    )
            names = [*ins, *outs]
            certain = [True] * len(names)
            n_inputs = len(ins)
    wants_cot = cot if cot is not None else pred.chain_of_thought_shaped
    if n_inputs is None and wants_cot and _REASONING in names[1:-1]:
        n_inputs = names.index(_REASONING)  # ChainOfThought puts reasoning first of the outputs
    unknown = [i for i, n in enumerate(names) if n is None]
    if unknown or n_inputs is None:
        if unknown:
            i = unknown[0]
            why = (
                f"the name of field {i} (prefix {pred.fields[i].prefix!r}, description "
                f"{pred.fields[i].description[:80]!r}) is not recorded: DSPy saves no field "
                "names, and this field has a custom prefix and description"
            )
        else:
            why = (
                "DSPy's state does not record which fields are inputs, and its instructions "
                f"are not DSPy's default ones that list them ({pred.instructions[:80]!r})"
            )
        raise CompiledFileError(
            f"{at}: {why}. Pass program= a pliable program with the same fields, e.g. "
            f"pl.from_dspy(path, program=pl.Predict({_signature_hint(names, n_inputs)!r})) "
            "(on the command line: --signature)."
        )
    complete = [n for n in names if n is not None]
    _check_demo_keys(pred, complete, certain, at)
    first_output = complete[n_inputs] if n_inputs < len(complete) else None
    if n_inputs >= len(complete):
        raise CompiledFileError(f"{at}: its fields {complete} have no output.")
    if cot is True and (first_output != _REASONING or n_inputs + 1 >= len(complete)):
        raise CompiledFileError(
            f"{at}: --cot / cot=True needs `reasoning` as the first output, as a DSPy "
            f"ChainOfThought writes it; its fields are {_signature_hint(complete, n_inputs)!r}. "
            "Import it without cot=True (a Predict)."
        )
    chain = first_output == _REASONING and n_inputs + 1 < len(complete) and wants_cot
    return _Plan(complete, n_inputs, "ChainOfThought" if chain else "Predict")


def _check_demo_keys(
    pred: DSPyPredictor, names: Sequence[str], certain: Sequence[bool], at: str
) -> None:
    """Bootstrapped demos hold every field DSPy had, by name: they must be these fields."""
    augmented = pred.augmented_keys
    extra = sorted(augmented - set(names))
    guessed = [n for n, sure in zip(names, certain, strict=True) if not sure]
    missing = [n for n in guessed if augmented and n not in augmented]
    if extra or missing:
        raise CompiledFileError(
            f"{at}: its bootstrapped demos have the fields {sorted(augmented)}, but its "
            f"signature reads as {list(names)} (names taken from DSPy's prefixes where not "
            "recorded). Pass program= a pliable program with the DSPy program's field names "
            "and directions, e.g. program=pl.Predict('question -> answer')."
        )


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

    plan = _plan(pred, where, cot)
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
    found = _field_names(pred)
    dspy_side = [f.label(n) for f, (n, _) in zip(pred.fields, found, strict=True)]
    split = _default_split(pred.instructions)
    if split is not None:
        ins, outs = split
        if len(ins) + len(outs) + 1 == len(found) and mine[len(ins) : len(ins) + 1] == [_REASONING]:
            outs = [_REASONING, *outs]
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
