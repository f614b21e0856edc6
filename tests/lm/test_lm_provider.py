"""pl.LM against a scripted OpenAI-compatible server on 127.0.0.1: retries, errors, cost."""

import json
import logging
import subprocess
import sys
import textwrap

import pytest

import pliable as pl

from .openai_server import FakeOpenAI, Reply

SECRET = "sk-test-do-not-leak-42"
MESSAGES = [{"role": "user", "content": "Capital of France?"}]


def make_lm(server, **kw):
    kw.setdefault("cache", False)
    kw.setdefault("retry_delay", 0.01)
    return pl.LM("openai/gpt-4o-mini", api_base=server.base_url, api_key=SECRET, **kw)


def test_answers_through_litellm_and_sends_the_key_and_options():
    with FakeOpenAI([Reply(text="Paris")]) as server:
        out = make_lm(server, temperature=0.3).complete(MESSAGES, max_tokens=20)
    assert out.texts == ("Paris",)
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["temperature"] == 0.3
    assert req["body"]["max_tokens"] == 20
    assert req["headers"]["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_transient_errors_then_succeeds(status):
    with FakeOpenAI(
        [Reply(status=status, error="slow down"), Reply(status=status), Reply()]
    ) as server:
        out = make_lm(server, num_retries=3).complete(MESSAGES)
    assert out.text == "[[answer]]\nParis"
    assert len(server.requests) == 3


def test_gives_up_after_num_retries_and_keeps_the_provider_message():
    with (
        FakeOpenAI([Reply(status=429, error="Rate limit reached for gpt-4o-mini")]) as server,
        pytest.raises(pl.LMRateLimitError) as info,
    ):
        make_lm(server, num_retries=2).complete(MESSAGES)
    assert len(server.requests) == 3
    err = info.value
    assert err.attempts == 3
    assert err.status_code == 429
    assert "Rate limit reached for gpt-4o-mini" in str(err)
    assert "after 3 attempts" in str(err)


def test_auth_error_is_not_retried_and_says_what_to_do():
    with (
        FakeOpenAI([Reply(status=401, error="Incorrect API key provided")]) as server,
        pytest.raises(pl.LMAuthError) as info,
    ):
        make_lm(server, num_retries=3).complete(MESSAGES)
    assert len(server.requests) == 1
    assert "Incorrect API key provided" in str(info.value)
    assert "api_key" in str(info.value)
    assert SECRET not in str(info.value)


def test_bad_request_is_not_retried():
    with (
        FakeOpenAI([Reply(status=400, error="max_tokens is too large")]) as server,
        pytest.raises(pl.LMBadRequestError, match="max_tokens is too large"),
    ):
        make_lm(server, num_retries=3).complete(MESSAGES)
    assert len(server.requests) == 1


def test_timeout_is_retried_then_raised():
    with FakeOpenAI([Reply(delay=1.5)]) as server, pytest.raises(pl.LMTimeoutError):
        make_lm(server, num_retries=1, timeout=0.3).complete(MESSAGES)
    assert len(server.requests) == 2


def test_tokens_and_cost_are_accounted_from_litellm_pricing():
    import litellm

    price = litellm.model_cost["gpt-4o-mini"]
    with FakeOpenAI([Reply(prompt_tokens=1000, completion_tokens=500)]) as server:
        lm = make_lm(server)
        with pl.track_usage() as usage:
            out = lm.complete(MESSAGES)
            lm.complete(MESSAGES)
    expected = 1000 * price["input_cost_per_token"] + 500 * price["output_cost_per_token"]
    assert out.usage.prompt_tokens == 1000
    assert out.usage.completion_tokens == 500
    assert out.usage.cost == pytest.approx(expected)
    per_model = usage.by_model()["openai/gpt-4o-mini"]
    assert per_model.calls == 2
    assert per_model.cost == pytest.approx(2 * expected)
    assert usage.total.total_tokens == 3000


def test_cache_hits_cost_nothing_and_are_reported_as_hits(tmp_path):
    with FakeOpenAI([Reply()]) as server:
        lm = make_lm(server, cache=tmp_path / "cache")
        with pl.track_usage() as usage:
            first = lm.complete(MESSAGES)
            second = lm.complete(MESSAGES)
            fresh = lm.complete(MESSAGES, sample=1)
    assert len(server.requests) == 2  # the repeat was a hit; sample=1 asked for a new one
    assert (first.cached, second.cached, fresh.cached) == (False, True, False)
    assert second.texts == first.texts
    totals = usage.total
    assert (totals.calls, totals.cache_hits) == (2, 1)
    assert "sample" not in server.requests[1]["body"]


def test_secrets_stay_out_of_cache_history_repr_and_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI([Reply(status=500), Reply()]) as server:
        lm = make_lm(server, cache=tmp_path / "c", num_retries=1)
        lm.complete(MESSAGES)
    for path in (tmp_path / "c").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()
    assert SECRET not in repr(lm)
    assert SECRET not in repr(lm.history.last(1))
    assert SECRET not in caplog.text
    history = pl.inspect_history(1, lm=lm, show=False)
    assert history[0].texts == ("[[answer]]\nParis",)


def test_cache_is_shared_across_processes(tmp_path):
    script = textwrap.dedent(
        """
        import json, sys
        import pliable as pl
        lm = pl.LM("openai/gpt-4o-mini", api_base=sys.argv[1], api_key="sk-x", cache=sys.argv[2])
        out = lm.complete([{"role": "user", "content": "Capital of France?"}])
        print(json.dumps({"text": out.text, "cached": out.cached}))
        """
    )
    runner = tmp_path / "run.py"
    runner.write_text(script)
    with FakeOpenAI([Reply(text="Paris")]) as server:
        outs = [
            json.loads(
                subprocess.run(
                    [sys.executable, str(runner), server.base_url, str(tmp_path / "shared")],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=120,
                ).stdout
            )
            for _ in range(2)
        ]
    assert outs == [{"text": "Paris", "cached": False}, {"text": "Paris", "cached": True}]
    assert len(server.requests) == 1


def test_predict_end_to_end_and_async(tmp_path):
    import asyncio

    with FakeOpenAI([Reply(text="[[answer]]\n42")]) as server:
        qa = pl.Predict("question -> answer: int", lm=make_lm(server))
        assert qa(question="6*7?").answer == 42
        assert asyncio.run(qa.acall(question="6*7?")).answer == 42
    assert len(server.requests) == 2


def test_registered_provider_serves_its_prefix():
    calls = []

    def factory(model, settings):
        calls.append((model, dict(settings)))
        return pl.FunctionLM(lambda m: "[[answer]]\nmine")

    pl.register_provider("mine", factory)
    lm = pl.LM("mine/model-1", cache=False, api_base="http://127.0.0.1:1")
    assert lm.complete(MESSAGES).text == "[[answer]]\nmine"
    assert calls == [("mine/model-1", {"api_base": "http://127.0.0.1:1"})]
    with pytest.raises(pl.ConfigurationError):
        pl.register_provider("bad/prefix", factory)


def test_credentials_in_options_change_neither_cache_key_nor_history(tmp_path):
    with FakeOpenAI([Reply()]) as server:
        lm = make_lm(server, cache=tmp_path / "k")
        lm.complete(MESSAGES, extra_headers={"X-Api-Key": "one"})
        hit = lm.complete(MESSAGES, extra_headers={"X-Api-Key": "two"})
    assert hit.cached
    assert len(server.requests) == 1
    assert all("extra_headers" not in e.options for e in lm.history)


def test_sample_index_shifts_the_seed_for_seeded_requests():
    seen = []
    pl.register_provider(
        "seeded", lambda m, s: pl.FunctionLM(lambda msgs, o: seen.append(o) or "x")
    )
    lm = pl.LM("seeded/m", cache=False, seed=5)
    lm.complete(MESSAGES)
    lm.complete(MESSAGES, sample=2)
    pl.LM("seeded/m", cache=False).complete(MESSAGES, sample=3)
    assert [o.get("seed") for o in seen] == [5, 7, None]
    assert all("sample" not in o for o in seen)


def test_async_calls_retry_and_hit_the_cache(tmp_path):
    import asyncio

    with FakeOpenAI([Reply(status=429), Reply(text="[[answer]]\n7")]) as server:
        lm = make_lm(server, num_retries=2, cache=tmp_path / "a")
        qa = pl.Predict("question -> answer: int", lm=lm)
        first = asyncio.run(qa.acall(question="3+4"))
        again = asyncio.run(qa.acall(question="3+4"))
    assert (first.answer, again.answer) == (7, 7)
    assert len(server.requests) == 2  # one 429, one success; the repeat was a cache hit
    assert lm.history.last(1)[0].cached
