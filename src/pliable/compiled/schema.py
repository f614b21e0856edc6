"""The compiled-program file: pydantic models that define and validate it.

A compiled program is one JSON file, written with sorted keys and an indent of 2 so it diffs
well::

    {
      "schema_version": 3,
      "pliable_version": "0.1.0",
      "litellm_version": "1.110.2",
      "program": "pliable.ChainOfThought",           # a registered program kind
      "predictors": {
        "self": {
          "kind": "ChainOfThought",
          "signature": {...},                         # Signature.to_dict(): fields, types, descs
          "demos": [{"question": "...", "reasoning": "...", "answer": "..."}],
          "adapter": "chat",
          "lm": {"model": "local/smollm2", "options": {"temperature": 0}},
          "config": {}
        }
      },
      "report": {...}                                 # what the optimizer measured, or null
    }

The JSON Schema of this file is :func:`json_schema` (published as
``schemas/compiled-program.schema.json``). Everything but the envelope is the program's own
``dump_state()``. LM options and predictor configs hold sampling options only (an allowlist,
:data:`pliable.lm.options.SAMPLING_OPTIONS`): no endpoint, key, header or path is ever
written, and a file that holds one is refused when read.

Versions: 3 names a KNN or soft-prompt program by its own kind (``pliable.KNNProgram``,
``pliable.SoftPromptProgram``, the inner program's kind inside its section); 2 made
``"adapter": null`` mean the default for the LM; 1 meant chat by it. Older files are
migrated when read (:func:`pliable.compiled.io.migrate`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "CompiledFile",
    "LMSettings",
    "PredictorState",
    "json_schema",
]

# 3: KNN and soft-prompt programs are kinds of their own (the wrapped program's kind is in their
# section). 2: "adapter": null means the default for the LM (JSON where it enforces a JSON
# schema, else chat); in version 1 files it meant chat, and they still load that way.
SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LMSettings(_Strict):
    """The LM a predictor was compiled with: its name and sampling options, never secrets."""

    model: str = Field(description="The model name, e.g. 'local/smollm2' or 'openai/gpt-4o-mini'.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Sampling options (temperature, max_tokens, ...)."
    )
    restorable: bool = Field(
        default=True, description="Whether loading may rebuild it as pl.LM(model, **options)."
    )


class PredictorState(_Strict):
    """One predictor's learned state: signature (with instructions), demos and settings."""

    kind: Literal["Predict", "ChainOfThought"]
    signature: dict[str, Any] = Field(description="The signature's JSON form (Signature.to_dict).")
    demos: list[dict[str, Any]] = Field(default_factory=list)
    adapter: str | None = Field(
        default=None,
        description="'chat', 'json', 'template' (the built-in adapters), or 'module:Class' of a "
        "custom adapter, which loads only into a program whose predictor already has it; null: "
        "the default for the LM the program runs on (JSON where the LM enforces a JSON schema, "
        "as every local model does, else chat; in schema version 1 files, chat).",
    )
    adapter_config: dict[str, Any] | None = Field(
        default=None,
        description="The settings of an adapter that carries state (its to_dict(), rebuilt "
        "with from_dict()), e.g. a TemplateAdapter's template; absent for the others.",
    )
    lm: LMSettings | None = None
    config: dict[str, Any] = Field(
        default_factory=dict, description="Sampling options of the predictor's calls."
    )


class ScoreSection(BaseModel):
    """A score the report records (``baseline``, ``final``, ``floor``): read by ``pliable
    inspect``, ``pliable compare`` and the report page, so its numbers are checked."""

    model_config = ConfigDict(extra="allow", strict=True)

    score: float | None = Field(default=None, allow_inf_nan=False)
    n: int | None = Field(default=None, ge=0)


class Report(BaseModel):
    """What the optimizer measured (``CompileReport.to_dict()``): free-form, except the
    parts that tools read and print."""

    model_config = ConfigDict(extra="allow", strict=True)

    optimizer: str | None = Field(default=None, max_length=200)
    baseline: ScoreSection | None = None
    final: ScoreSection | None = None
    floor: ScoreSection | None = None
    lm_calls: int | None = Field(default=None, ge=0)


_PREDICTOR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[(\d+|'[^'\\]{0,200}')\])*$"


class CompiledFile(_Strict):
    """A whole compiled program."""

    schema_version: int = Field(description="The version of this file format.")
    pliable_version: str
    litellm_version: str | None = None
    program: str = Field(
        description="The program kind, as registered with pl.register_program_kind: "
        "'pliable.Predict', 'pliable.ChainOfThought', 'pliable.RAG', 'pliable.MultiHopQA', "
        "'pliable.ReAct', 'pliable.KNNProgram', 'pliable.SoftPromptProgram', a user's "
        "registered kind, or 'module:Class' of an unregistered custom program (loaded only "
        "with pl.load(path, program=MyProgram) or MyProgram().load(path))."
    )
    predictors: dict[Annotated[str, StringConstraints(pattern=_PREDICTOR_NAME)], PredictorState] = (
        Field(
            min_length=1,
            description="By path in the program, as named by Module.named_predictors().",
        )
    )
    report: Report | None = Field(default=None, description="The compile report.")
    knn: dict[str, Any] | None = Field(
        default=None,
        description="For a KNNFewShot program: the wrapped program's kind, k, input fields, "
        "embedder and the demo pool (the predictors' demos are chosen per input from the pool).",
    )
    program_config: dict[str, Any] | None = Field(
        default=None,
        description="For a built-in multi-step program ('pliable.RAG', 'pliable.MultiHopQA', "
        "'pliable.ReAct'): what rebuilds it (its signature, settings, the retriever's folder "
        "or the tools' names and argument schemas).",
    )
    soft_prompt: dict[str, Any] | None = Field(
        default=None,
        description="For a soft-prompt program (pliable.optimizers.soft): the wrapped "
        "program's kind, the method, the "
        "adapter folder (PEFT's own files, relative to this file), the base model, and the "
        "sha256 of the base model's files and of the adapter's tensors.",
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the compiled-program file."""
    schema = CompiledFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pliable compiled program"
    return schema
