"""pl.LM() with no model: the embedded SmolLM2 end to end, offline, through the cache."""

import pytest

import pliable as pl

pytestmark = pytest.mark.integration


class Facts(pl.Signature):
    """Answer with the city and how sure you are."""

    question: str = pl.InputField()
    city: str = pl.OutputField()
    confidence: float = pl.OutputField(desc="0 to 1")
    tags: list[str] = pl.OutputField()


def test_default_lm_answers_caches_and_constrains_json(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lm = pl.LM(cache=tmp_path / "cache", max_tokens=48, temperature=0)
    assert lm.model == "local/smollm2"
    assert lm.supports_response_schema is True

    qa = pl.Predict("question -> answer", lm=lm)
    with pl.track_usage() as usage:
        first = qa(question="What is the capital of France?")
        second = qa(question="What is the capital of France?")
    assert isinstance(first.answer, str)
    assert first.answer.strip()
    assert second.answer == first.answer
    totals = usage.total
    assert (totals.calls, totals.cache_hits) == (1, 1)
    assert totals.prompt_tokens > 0
    assert totals.cost == 0.0

    typed = pl.Predict(Facts, lm=lm, adapter=pl.JSONAdapter())
    pred = typed(question="Which city is the Eiffel Tower in?")
    assert isinstance(pred.city, str)
    assert isinstance(pred.confidence, float)
    assert isinstance(pred.tags, list)
    assert all(isinstance(t, str) for t in pred.tags)
    sent = lm.history.last(1)[0].options
    assert sent["response_format"]["type"] == "json_schema"


def test_with_nothing_configured_predict_runs_the_embedded_model(monkeypatch, tmp_path):
    monkeypatch.delenv("PLIABLE_DEFAULT_LM", raising=False)
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path))
    from pliable import settings

    monkeypatch.setattr(settings, "_default_lm", None)
    with pl.track_usage() as usage:
        pred = pl.Predict("question -> answer", max_tokens=16)(question="Say hello.")
    assert isinstance(pred.answer, str)
    assert list(usage.by_model()) == ["local/smollm2"]
