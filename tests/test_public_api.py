"""The public door: everything users need is in ``pliable.__all__``, sorted, and nothing else."""

import types

import pliable


def test_all_is_sorted_and_unique():
    assert list(pliable.__all__) == sorted(set(pliable.__all__))


def test_all_names_exist():
    missing = [n for n in pliable.__all__ if not hasattr(pliable, n)]
    assert missing == []


def test_every_public_attribute_is_exported():
    public = {
        name
        for name, value in vars(pliable).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(pliable.__all__)


def test_issue_named_names_are_exported():
    needed = {
        "Signature",
        "InputField",
        "OutputField",
        "Example",
        "Prediction",
        "Module",
        "Predict",
        "ChainOfThought",
        "ScriptedLM",
        "FunctionLM",
    }
    assert needed <= set(pliable.__all__)


def test_subpackage_all_lists_exist():
    import pliable.adapters
    import pliable.data
    import pliable.lm
    import pliable.programs
    import pliable.signatures

    for mod in (pliable.adapters, pliable.data, pliable.lm, pliable.programs, pliable.signatures):
        assert list(mod.__all__) == sorted(mod.__all__), mod.__name__
        assert all(hasattr(mod, n) for n in mod.__all__), mod.__name__
