"""The public door: everything users need is in ``pliable.__all__``, sorted, and nothing else."""

import types

import pliable


def test_all_is_sorted_and_unique():
    assert list(pliable.__all__) == sorted(set(pliable.__all__))


def test_all_names_exist():
    missing = [n for n in pliable.__all__ if not hasattr(pliable, n)]
    assert missing == []


def test_every_public_attribute_is_exported():
    for name in pliable.__all__:  # most are lazy (PEP 562): read them all first
        getattr(pliable, name)
    public = {
        name
        for name, value in vars(pliable).items()
        if not name.startswith("_")
        # submodules become attributes when imported; pl.metrics is the one exported module
        and not (isinstance(value, types.ModuleType) and name not in pliable.__all__)
    }
    assert public == set(pliable.__all__)
    assert set(dir(pliable)) >= set(pliable.__all__)


def test_from_import_and_attribute_give_the_same_object():
    from pliable import Predict, metrics

    assert Predict is pliable.Predict
    assert metrics is pliable.metrics
    assert isinstance(metrics, types.ModuleType)
    assert metrics.__name__ == "pliable.evaluation.metrics"


def test_unknown_names_raise_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pliable.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from pliable import Nope  # noqa: F401


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
    import pliable.evaluation
    import pliable.lm
    import pliable.optimizers
    import pliable.programs
    import pliable.programs.retrieve
    import pliable.signatures

    for mod in (
        pliable.adapters,
        pliable.data,
        pliable.evaluation,
        pliable.lm,
        pliable.optimizers,
        pliable.programs,
        pliable.programs.retrieve,
        pliable.signatures,
    ):
        assert list(mod.__all__) == sorted(mod.__all__), mod.__name__
        assert all(hasattr(mod, n) for n in mod.__all__), mod.__name__
