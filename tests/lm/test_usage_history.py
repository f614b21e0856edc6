import io

import pliable as pl


def lm_for(name, tmp_path=None):
    pl.register_provider(name, lambda m, s: pl.FunctionLM(lambda msgs: "[[answer]]\nok"))
    return pl.LM(f"{name}/m", cache=tmp_path if tmp_path is not None else False)


def test_usage_per_model_nested_and_summary(tmp_path):
    a, b = lm_for("usage-a", tmp_path / "c"), lm_for("usage-b")
    qa = pl.Predict("question -> answer")
    with pl.track_usage() as outer:
        qa(question="1", lm=a)
        with pl.track_usage() as inner:
            qa(question="1", lm=a)  # a cache hit
            qa(question="2", lm=b)
    by_model = outer.by_model()
    assert (by_model["usage-a/m"].calls, by_model["usage-a/m"].cache_hits) == (1, 1)
    assert by_model["usage-b/m"].calls == 1
    assert inner.total.calls == 1
    assert inner.total.cache_hits == 1
    table = outer.summary()
    assert table.splitlines()[0].split()[:3] == ["model", "calls", "cache"]
    assert "usage-a/m" in table
    assert table.splitlines()[-1].split()[:3] == ["total", "2", "1"]


def test_history_is_bounded_and_inspect_prints_and_returns(tmp_path):
    pl.register_provider("hist", lambda m, s: pl.FunctionLM(lambda msgs: "[[answer]]\nok"))
    lm = pl.LM("hist/m", cache=False, history_size=2)
    qa = pl.Predict("question -> answer", lm=lm)
    for q in ["first", "second", "third"]:
        qa(question=q)
    assert len(lm.history) == 2
    out = io.StringIO()
    entries = pl.inspect_history(2, lm=lm, file=out)
    assert [e.messages[-1]["content"].split("\n")[1] for e in entries] == ["second", "third"]
    text = out.getvalue()
    assert text.count("=== hist/m") == 2
    assert "--- response ---\n[[answer]]\nok" in text
    assert "--- system ---" in text
    assert pl.inspect_history(1, show=False)[0].model == "hist/m"


def test_max_calls_refuses_new_calls_but_not_cache_hits(tmp_path):
    import pytest

    lm = lm_for("budget", tmp_path / "b")
    qa = pl.Predict("question -> answer", lm=lm)
    with pl.track_usage(max_calls=2) as usage:
        qa(question="1")
        qa(question="2")
        qa(question="1")  # a cache hit is free
        with pytest.raises(pl.BudgetExceededError, match="2 calls were allowed"):
            qa(question="3")
    assert (usage.total.calls, usage.total.cache_hits) == (2, 1)


def test_a_provider_wrapping_another_lm_counts_one_call():
    pl.register_provider("inner-echo", lambda m, s: pl.FunctionLM(lambda msgs: "[[answer]]\nok"))
    inner = pl.LM("inner-echo/x", cache=False)
    pl.register_provider(
        "wrapping", lambda m, s: pl.FunctionLM(lambda msgs, opts: inner.complete(msgs).text)
    )
    program = pl.Predict("question -> answer", lm=pl.LM("wrapping/x", cache=False))
    with pl.track_usage() as usage:
        assert program(question="hi").answer == "ok"
    assert usage.total.calls == 1
    assert list(usage.by_model()) == ["wrapping/x"]
    with pl.track_usage(budget=pl.Budget(lm_calls=1)):
        program(question="hello")  # one call fits a one-call budget


class FakeJournal:
    """A RequestJournal in memory: what pl.LM hands it, and whether it was closed."""

    def __init__(self):
        self.requests, self.answers, self.closed = 0, [], 0

    def sent(self, seconds):
        self.requests += 1

    def answered(self, record, *, key, texts, seconds):
        self.answers.append((key, texts))

    def replay(self, key):
        return None

    def close(self):
        self.closed += 1


def test_a_journal_is_closed_when_its_block_ends_even_by_an_exception():
    from pliable.lm.usage import track_usage

    journal = FakeJournal()
    with track_usage(journal=journal):
        pass
    assert journal.closed == 1
    try:
        with track_usage(journal=journal):
            raise KeyError("boom")
    except KeyError:
        pass
    assert journal.closed == 2


def test_the_journal_gets_answer_texts_only_without_a_persistent_cache(tmp_path):
    from pliable.lm.usage import track_usage

    qa = pl.Predict("question -> answer")
    caches = {
        "disk": tmp_path / "cache",
        "memory": pl.Cache(persistent=False),
        "none": False,
    }
    got = {}
    for name, cache in caches.items():
        lm = lm_for(f"journal-{name}", cache)
        journal = FakeJournal()
        with track_usage(journal=journal):
            qa(question="1", lm=lm)
            qa(question="1", lm=lm)  # a cache hit (or, with no cache, asked again)
        assert journal.requests == len(journal.answers)
        got[name] = [texts for _, texts in journal.answers]
    assert got["disk"] == [None]  # the cache has the answer: the log needs no copy of it
    assert got["memory"] == [("[[answer]]\nok",)]
    assert got["none"] == [("[[answer]]\nok",)] * 2
