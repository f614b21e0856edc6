"""Read a DSPy saved state (``program.save("x.json")``) and tell its fields' names and directions.

:func:`read_dspy_state` parses and checks the JSON in full (no code runs, nothing it names is
imported) into :class:`DSPyPredictor` values; :func:`plan_predictor` reads one of them without
a pliable program: its field names (DSPy saves none), which are inputs, and whether it is a
ChainOfThought. :mod:`pliable.programs.dspy_import` builds pliable programs from them. Every
problem is a :class:`~pliable.errors.CompiledFileError`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pliable.compiled.io import MAX_PREDICTORS, read_capped
from pliable.errors import CompiledFileError, UsageError

__all__ = [
    "REASONING",
    "DSPyField",
    "DSPyPredictor",
    "PredictorPlan",
    "default_split",
    "dspy_prefix",
    "field_names",
    "plan_predictor",
    "read_dspy_state",
]

logger = logging.getLogger(__name__)

REASONING = "reasoning"  # the first output of a DSPy (and a pliable) ChainOfThought
_DEFAULT_DESC = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_DEFAULT_INSTRUCTIONS = re.compile(r"^Given the fields (.*), produce the fields (.*)\.$", re.DOTALL)
_TICKED = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`$")
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
    data = read_capped(source, "a DSPy state file pliable reads")
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


def default_split(instructions: str) -> tuple[list[str], list[str]] | None:
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


def field_names(pred: DSPyPredictor) -> list[tuple[str | None, bool]]:
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
class PredictorPlan:
    """A DSPy predictor read as a pliable one: field names, where outputs start, kind."""

    names: list[str]
    n_inputs: int
    kind: str


def _signature_hint(names: Sequence[str | None], n_inputs: int | None) -> str:
    shown = [n or "?" for n in names]
    cut = n_inputs if n_inputs is not None else max(len(shown) - 1, 0)
    return f"{', '.join(shown[:cut])} -> {', '.join(shown[cut:])}"


def plan_predictor(pred: DSPyPredictor, where: str, cot: bool | None) -> PredictorPlan:
    """Names, inputs and kind of a DSPy predictor read without a pliable program."""
    at = f"{where}: DSPy predictor {pred.name!r}"
    found = field_names(pred)
    names: list[str | None] = [n for n, _ in found]
    certain = [c for _, c in found]
    n_inputs: int | None = None
    split = default_split(pred.instructions)
    if split is not None:
        ins, outs = split
        if len(ins) + len(outs) + 1 == len(names) and names[len(ins)] == REASONING:
            outs = [REASONING, *outs]
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
    if n_inputs is None and wants_cot and REASONING in names[1:-1]:
        n_inputs = names.index(REASONING)  # ChainOfThought puts reasoning first of the outputs
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
    if cot is True and (first_output != REASONING or n_inputs + 1 >= len(complete)):
        raise CompiledFileError(
            f"{at}: --cot / cot=True needs `reasoning` as the first output, as a DSPy "
            f"ChainOfThought writes it; its fields are {_signature_hint(complete, n_inputs)!r}. "
            "Import it without cot=True (a Predict)."
        )
    chain = first_output == REASONING and n_inputs + 1 < len(complete) and wants_cot
    return PredictorPlan(complete, n_inputs, "ChainOfThought" if chain else "Predict")


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
