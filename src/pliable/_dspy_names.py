"""DSPy's names and their pliable equivalents, for people porting a DSPy program.

``DSPY_NAMES`` maps a name of the ``dspy`` package (``dspy.GEPA``; ``DummyLM`` lives in
``dspy.utils``) to the ``pl.<name>`` (or names) that do the same job. Reading a DSPy name that
pliable spells differently (``pl.GEPA``) raises an ``AttributeError`` naming the equivalent
(:func:`hint`, called from the package's ``__getattr__`` only when a name is missing, so this
module costs ``import pliable`` nothing). ``pl.settings`` gives the hint only until something
imports the module ``pliable.settings`` (any predictor call does); from then on Python binds
that module as ``pl.settings``, and its ``configure`` is ``pl.configure``. The docs page
``docs/coming-from-dspy.md`` shows the same table; tests/test_docs.py checks that the two
agree and that every pliable name exists.

This module imports nothing from pliable (it sits in the bottom layer, beside ``errors``).
"""

from __future__ import annotations

__all__ = ["DSPY_NAMES", "hint"]

DSPY_NAMES: dict[str, tuple[str, ...]] = {
    # Programs and their parts.
    "Predict": ("Predict",),
    "ChainOfThought": ("ChainOfThought",),
    "ReAct": ("ReAct",),
    "Tool": ("Tool",),
    "Module": ("Module",),
    "Signature": ("Signature",),
    "InputField": ("InputField",),
    "OutputField": ("OutputField",),
    "BestOfN": ("BestOfN",),
    "Refine": ("Refine",),
    "majority": ("MajorityVote",),
    "Parallel": ("Parallel",),
    "Retrieve": ("Retrieve",),
    "Adapter": ("Adapter",),
    "ChatAdapter": ("ChatAdapter",),
    "JSONAdapter": ("JSONAdapter",),
    # Data.
    "Example": ("Example",),
    "Prediction": ("Prediction",),
    # Language models and settings.
    "LM": ("LM",),
    "DummyLM": ("ScriptedLM", "FunctionLM"),
    "configure": ("configure",),
    "context": ("using",),
    "settings": ("configure", "using"),
    "inspect_history": ("inspect_history",),
    "track_usage": ("track_usage",),
    "load": ("load",),
    # Evaluation.
    "Evaluate": ("evaluate",),
    # Optimizers.
    "LabeledFewShot": ("LabeledFewShot",),
    "BootstrapFewShot": ("BootstrapFewShot",),
    "BootstrapFewShotWithRandomSearch": ("BootstrapRandomSearch",),
    "KNNFewShot": ("KNNFewShot",),
    "MIPROv2": ("JointSearch",),
    "GEPA": ("Reflective",),
    "COPRO": ("InstructionHillClimb",),
}


def hint(name: str) -> str | None:
    """The error message for ``pl.<name>`` when ``name`` is a DSPy name that pliable spells
    differently, else ``None``."""
    equivalents = DSPY_NAMES.get(name)
    if equivalents is None or name in equivalents:
        return None
    use = " or ".join(f"pl.{equivalent}" for equivalent in equivalents)
    where = "dspy.utils" if name == "DummyLM" else "dspy"
    noun = "equivalent" if len(equivalents) == 1 else "equivalents"
    return (
        f"pliable has no {name}; use {use} (pliable's {noun} of {where}.{name}). "
        "The DSPy names and their pliable equivalents: the 'Coming from DSPy' page of the docs."
    )
