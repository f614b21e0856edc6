import pytest

import pliable as pl


def test_error_tree_splits_by_who_is_at_fault():
    assert issubclass(pl.UsageError, pl.PliableError)
    for cls in (pl.SignatureError, pl.InputError, pl.ConfigurationError):
        assert issubclass(cls, pl.UsageError)
    assert issubclass(pl.ScriptExhaustedError, pl.LMError)
    assert issubclass(pl.ParseError, pl.PliableError)
    assert not issubclass(pl.ParseError, pl.UsageError)


def test_parse_error_shows_long_raw_text_with_both_ends():
    raw = "start " + "x" * 5000 + " end"
    err = pl.ParseError("bad", raw_text=raw, expected_fields=["a"], adapter="chat")
    assert err.raw_text == raw
    text = str(err)
    assert text.count("start") == 1
    assert "x end" in text
    assert "characters cut" in text
    assert len(text) < 3000


def test_parse_errors_chain_their_cause():
    with pytest.raises(pl.ParseError) as info:
        pl.Predict("q -> a: int", lm=pl.ScriptedLM(["lots"]))(q="x")
    assert isinstance(info.value.__cause__, ValueError)
