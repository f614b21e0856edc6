"""``Predict``: one LM step for a signature. ``ChainOfThought``: the same, reasoning first."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pliable import settings
from pliable._async import to_thread as _to_thread
from pliable.adapters.auto import default_adapter, default_adapter_for_model
from pliable.compiled.kinds import register_program_kind
from pliable.data.example import Example, Prediction
from pliable.errors import (
    CompiledFileError,
    ConfigurationError,
    InputError,
    ParseError,
    UsageError,
)
from pliable.programs.module import Module
from pliable.programs.tracing import TraceEntry, record
from pliable.signatures.fields import OutputField
from pliable.signatures.signature import Signature, ensure_signature
from pliable.signatures.types import optional_inner

if TYPE_CHECKING:
    from typing_extensions import Self

    from pliable.adapters.base import Adapter
    from pliable.adapters.template_value import Template
    from pliable.lm.types import Completion, LanguageModel, Message

__all__ = ["ChainOfThought", "Predict"]

_RESERVED_INPUTS = frozenset({"lm", "config"})
_PREDICTION_ATTRS = frozenset(n for n in dir(Prediction) if not n.startswith("_"))
_REASONING_DESC = "think step by step"


@lru_cache(maxsize=512)
def _validator(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _check_input(name: str, annotation: Any, value: Any) -> Any:
    """Validate one input value against its declared type; text fields take anything."""
    if annotation is str or annotation is Any:
        return value
    from pydantic import ValidationError

    try:
        return _validator(annotation).validate_python(value)
    except ValidationError as exc:
        from pliable.signatures.types import type_name

        reason = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        raise InputError(
            f"Input `{name}` should be {type_name(annotation)}, but got "
            f"{type(value).__name__} {value!r} ({reason}). Pass a value of that type, or "
            "declare the field with the type you pass.",
            field=name,
            value=value,
        ) from exc


class Predict(Module):
    """Ask the LM for the signature's outputs, given its inputs.

    Args:
        signature: a signature class or string form, e.g. ``"question -> answer: int"``.
        instructions: replaces the signature's instructions.
        lm: the LM to use (else the ``pl.using`` / ``pl.configure`` default).
        adapter: the adapter to use (else the context's, else the default for the LM: JSON
            where it enforces a JSON schema, as local models do, else chat; see
            :mod:`pliable.adapters.auto`).
        **config: LM options for every call (``temperature``, ``max_tokens``, ``n``, ...).

    Optimizers write ``demos`` (a list of :class:`~pliable.Example`) and may replace
    ``signature`` with one whose instructions differ; :meth:`reset` undoes both.
    """

    def __init__(
        self,
        signature: str | type[Signature],
        instructions: str | None = None,
        *,
        lm: LanguageModel | None = None,
        adapter: Adapter | None = None,
        **config: Any,
    ) -> None:
        self.signature: type[Signature] = ensure_signature(signature, instructions)
        clash = _RESERVED_INPUTS & set(self.signature.fields)
        if clash:
            raise UsageError(
                f"{type(self).__name__}: a field cannot be named {sorted(clash)[0]!r} "
                "(the name is reserved for the call's own options). Rename the field."
            )
        hidden = _PREDICTION_ATTRS & set(self.signature.output_fields)
        if hidden:
            raise UsageError(
                f"{type(self).__name__}: an output cannot be named {sorted(hidden)[0]!r}: "
                f"pred.{sorted(hidden)[0]} is a Prediction method, so the value would be "
                "hidden. Rename the field."
            )
        self.lm = lm
        self.adapter = adapter
        self.config: dict[str, Any] = dict(config)
        self.demos: list[Example] = []
        self._initial_signature = self.signature

    @classmethod
    def from_template(
        cls,
        template: Template,
        signature: str | type[Signature],
        *,
        output_format: str = "chat",
        allow_unused: bool = False,
        reply_instruction: bool | None = None,
        **predict_kwargs: Any,
    ) -> Self:
        """A predictor that sends ``template`` (a hand-written :class:`~pliable.Template`) for
        ``signature``: ``pl.Predict.from_template(t, "question -> answer", lm=lm)``, or
        ``pl.ChainOfThought.from_template(...)``. ``predict_kwargs`` are ``lm=`` and LM
        options; see :class:`~pliable.adapters.template.TemplateAdapter` for the others."""
        from pliable.adapters.template import TemplateAdapter

        if "instructions" in predict_kwargs or "adapter" in predict_kwargs:
            raise UsageError(
                f"{cls.__name__}.from_template(...): the template is the prompt, so it sets "
                "the instructions and the adapter; do not pass instructions= or adapter=."
            )
        sig = ensure_signature(signature)
        template.check(sig, allow_unused=allow_unused)
        adapter = TemplateAdapter(
            template,
            output_format=output_format,
            allow_unused=allow_unused,
            reply_instruction=reply_instruction,
        )
        return cls(
            sig.with_instructions(template.as_instructions()), adapter=adapter, **predict_kwargs
        )

    def accepts_demo(self, example: Mapping[str, Any]) -> bool:
        """Whether a raw example can be a demo here: it holds every input and an output."""
        sig = self.signature
        has_inputs = all(n in example for n in sig.input_fields)
        return has_inputs and any(n in example for n in sig.output_fields)

    def reset(self) -> None:
        """Forget demos and instruction changes made since construction."""
        self.demos = []
        self.signature = self._initial_signature

    def __deepcopy__(self, memo: dict[int, Any]) -> Predict:
        new = copy.copy(self)
        memo[id(self)] = new
        new.demos = copy.deepcopy(self.demos, memo)
        new.config = copy.deepcopy(self.config, memo)
        return new  # signature is immutable; lm and adapter are shared

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.signature.signature_string()!r}, demos={len(self.demos)})"
        )

    def __call__(self, /, *args: Any, **kwargs: Any) -> Prediction:
        if args:
            names = ", ".join(f"{n}=..." for n in self.signature.input_fields)
            raise InputError(
                f"{type(self).__name__} takes its inputs by name: call it as ({names}); "
                f"got positional {args!r}."
            )
        return self.forward(**kwargs)

    def _inputs(self, given: Mapping[str, Any]) -> dict[str, Any]:
        fields = self.signature.input_fields
        unknown = [k for k in given if k not in fields]
        if unknown:
            name = unknown[0]
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise InputError(
                f"Unknown input `{name}` = {given[name]!r} for "
                f"{self.signature.signature_string()!r}. Inputs are: "
                f"{', '.join(fields) or '(none)'}.{hint}",
                field=name,
                value=given[name],
            )
        values: dict[str, Any] = {}
        missing = []
        for name, f in fields.items():
            if name in given:
                values[name] = _check_input(name, f.annotation, given[name])
            elif optional_inner(f.annotation) is None:
                missing.append(name)
        if missing:
            raise InputError(
                f"Missing input(s) {', '.join(f'`{m}`' for m in missing)} for "
                f"{self.signature.signature_string()!r}; got {sorted(given) or 'none'}. "
                f"Pass every input by name.",
                field=missing[0] if len(missing) == 1 else None,
            )
        return values

    def resolved_adapter(self, lm: LanguageModel | str | None = None) -> Adapter:
        """The adapter a call to ``lm`` uses: the predictor's, else the context's, else the
        default for the LM (:func:`~pliable.adapters.auto.default_adapter`: JSON where the LM
        enforces a JSON schema, chat elsewhere). ``lm`` may be a model name; without it, the
        LM a call would use (the predictor's, the context's, else the embedded model)."""
        chosen = self.adapter or settings.current().adapter
        if chosen is not None:
            return chosen
        if isinstance(lm, str):
            return default_adapter_for_model(lm)
        if lm is None:
            lm = self.lm or settings.current().lm or settings.default_lm()
        return default_adapter(lm)

    def _resolve_lm(self, lm: LanguageModel | None) -> LanguageModel:
        chosen = (
            next((c for c in (lm, self.lm, settings.current().lm) if c is not None), None)
            or settings.default_lm()
        )
        if chosen is None:
            raise ConfigurationError(
                f"No LM for {type(self).__name__}({self.signature.signature_string()!r}), and "
                "the embedded default is off (PLIABLE_DEFAULT_LM=off). Pass lm=... to the "
                "predictor or the call, or set a default with `with pl.using(lm=...):` "
                "(or pl.configure(lm=...) in a script). For tests, use pl.ScriptedLM([...]) "
                "or pl.FunctionLM(fn)."
            )
        return chosen

    def _prepare(
        self, inputs: Mapping[str, Any], lm: LanguageModel | None, config: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], LanguageModel, Adapter, list[Message], dict[str, Any]]:
        values = self._inputs(inputs)
        model = self._resolve_lm(lm)
        adapter = self.resolved_adapter(model)
        messages = adapter.format(self.signature, values, demos=self.demos)
        options = {
            **self.config,
            **(config or {}),
            **adapter.request_options(self.signature, model),
        }
        return values, model, adapter, messages, options

    def messages(self, /, lm: LanguageModel | str | None = None, **inputs: Any) -> list[Message]:
        """The exact chat messages a call with ``inputs`` sends to ``lm`` (an LM or a model
        name; default: the LM a call would use). No LM is called."""
        values = self._inputs(inputs)
        adapter = self.resolved_adapter(lm)
        return adapter.format(self.signature, values, demos=self.demos)

    def prompt_messages(
        self, inputs: Mapping[str, Any] | None = None, /, lm: LanguageModel | str | None = None
    ) -> list[Message]:
        """The messages a call sends, with a ``{field}`` placeholder for each input not in
        ``inputs`` (the given ones are checked and converted as a call would). What
        ``pl.render_prompts`` shows for a compiled file."""
        given = dict(inputs or {})
        unknown = sorted(set(given) - set(self.signature.input_fields))
        if unknown:
            raise InputError(
                f"Unknown input(s) {unknown} for {self.signature.signature_string()!r}.",
                field=unknown[0],
            )
        values = {
            f: _check_input(f, field.annotation, given[f]) if f in given else "{" + f + "}"
            for f, field in self.signature.input_fields.items()
        }
        return self.resolved_adapter(lm).format(self.signature, values, demos=self.demos)

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], /, *, lm: LanguageModel | None = None, **context: Any
    ) -> Predict:
        """A predictor rebuilt from its compiled state (one predictor, named ``self``).
        ``restore_lm=False`` (in ``context``) checks the state's LM settings but builds no
        LM, as rendering a file's prompts does."""
        from pliable.programs.predictor_state import read_predictor

        predictors = state.get("predictors") if isinstance(state, Mapping) else None
        extra = sorted(str(k)[:40] for k in state if k != "predictors") if predictors else []
        if extra:
            raise CompiledFileError(
                f"it has the section(s) {extra}, which a {cls.__name__} file does not hold. "
                "Is it the file of another kind of program?"
            )
        if not isinstance(predictors, Mapping) or list(predictors) != ["self"]:
            names = (
                sorted(str(n)[:40] for n in predictors) if isinstance(predictors, Mapping) else []
            )
            raise CompiledFileError(
                f"a {cls.__name__} file has one predictor named 'self'; found {names}."
            )
        update = read_predictor(
            predictors["self"],
            "predictor 'self'",
            lm=lm,
            restore_lm=bool(context.get("restore_lm", True)),
        )
        if update.kind != cls.__name__:
            raise CompiledFileError(
                f"the file says its predictor is a {update.kind}, but its program kind is "
                f"{cls.__name__}."
            )
        return update.new_predictor()

    def _finish(
        self, values: dict[str, Any], adapter: Adapter, completion: Completion
    ) -> Prediction:
        parsed: list[dict[str, Any]] = []
        first_error: ParseError | None = None
        for text in completion.texts:
            try:
                parsed.append(adapter.parse(self.signature, text))
            except ParseError as exc:  # with n > 1, keep the choices that parse
                first_error = first_error or exc
        if not parsed:
            assert first_error is not None
            raise first_error
        prediction = Prediction.from_completions(parsed)
        record(TraceEntry(self, values, prediction))
        return prediction

    def forward(
        self,
        /,
        *,
        lm: LanguageModel | None = None,
        config: Mapping[str, Any] | None = None,
        **inputs: Any,
    ) -> Prediction:
        """Run one LM call. ``lm`` and ``config`` override the predictor's for this call."""
        values, model, adapter, messages, options = self._prepare(inputs, lm, config)
        return self._finish(values, adapter, model.complete(messages, **options))

    async def acall(
        self,
        /,
        *,
        lm: LanguageModel | None = None,
        config: Mapping[str, Any] | None = None,
        **inputs: Any,
    ) -> Prediction:
        """The async form of a call: awaits the LM's ``acomplete`` when it has one."""
        values, model, adapter, messages, options = self._prepare(inputs, lm, config)
        native = getattr(model, "acomplete", None)
        if native is not None:
            completion: Completion = await native(messages, **options)
        else:
            completion = await _to_thread(model.complete, messages, **options)
        return self._finish(values, adapter, completion)


class ChainOfThought(Predict):
    """``Predict`` with a ``reasoning`` output written before the signature's outputs."""

    def __init__(
        self,
        signature: str | type[Signature],
        instructions: str | None = None,
        *,
        reasoning_desc: str = _REASONING_DESC,
        lm: LanguageModel | None = None,
        adapter: Adapter | None = None,
        **config: Any,
    ) -> None:
        base = ensure_signature(signature, instructions)
        extended = base.prepend("reasoning", OutputField(desc=reasoning_desc), str)
        super().__init__(extended, lm=lm, adapter=adapter, **config)


register_program_kind("pliable.Predict", Predict)
register_program_kind("pliable.ChainOfThought", ChainOfThought)
