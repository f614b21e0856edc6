"""pl.LM over several OpenAI-compatible endpoints (``api_base=[...]``), against scripted
servers on 127.0.0.1: spreading, failover and cool-off, with the cache, usage and budgets of
a single endpoint (one logical request is one counted call, whichever endpoint served it)."""

import asyncio
import contextlib
import contextvars
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import pliable as pl
from pliable.lm.endpoints import EndpointPool
from pliable.lm.litellm_backend import LiteLLMBackend

from .openai_server import FakeOpenAI, Reply

SECRET = "sk-test-do-not-leak-42"
MESSAGES = [{"role": "user", "content": "Capital of France?"}]


def make_lm(*servers, **kw):
    kw.setdefault("cache", False)
    kw.setdefault("retry_delay", 0.01)
    urls = [s if isinstance(s, str) else s.base_url for s in servers]
    return pl.LM("openai/smollm2", api_base=urls, api_key=SECRET, **kw)


def closed_url():
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def ask(lm, i):
    return lm.complete([{"role": "user", "content": f"question {i}"}])


def test_one_thread_s_requests_alternate_over_the_endpoints():
    with FakeOpenAI([Reply()]) as a, FakeOpenAI([Reply()]) as b, FakeOpenAI([Reply()]) as c:
        lm = make_lm(a, b, c)
        for i in range(6):
            ask(lm, i)
    assert [len(s.requests) for s in (a, b, c)] == [2, 2, 2]
    assert isinstance(lm.backend, EndpointPool)
    assert [e["served"] for e in lm.backend.stats()] == [2, 2, 2]


def test_concurrent_requests_go_to_the_least_busy_endpoint():
    with FakeOpenAI([Reply(delay=0.3)]) as a, FakeOpenAI([Reply(delay=0.3)]) as b:
        lm = make_lm(a, b)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda i: ask(lm, i), range(4)))
    assert [len(s.requests) for s in (a, b)] == [2, 2]


def test_a_failed_endpoint_is_skipped_and_the_request_counted_once():
    with FakeOpenAI([Reply(status=503)]) as down, FakeOpenAI([Reply()]) as up:
        lm = make_lm(down, up, num_retries=0)  # failover needs no LM retry
        with pl.track_usage() as usage:
            texts = [ask(lm, i).text for i in range(4)]
    assert texts == ["[[answer]]\nParis"] * 4
    assert len(down.requests) == 1  # then cooling off
    assert len(up.requests) == 4
    assert usage.total.calls == 4
    assert usage.total.prompt_tokens == 4 * 11
    stats = lm.backend.stats()
    assert stats[0]["failed"] == 1
    assert stats[0]["down_for"] > 0
    assert stats[1]["failed"] == 0
    assert stats[1]["down_for"] == 0


def test_connection_refused_fails_over_within_one_budgeted_call():
    with FakeOpenAI([Reply()]) as up:
        lm = make_lm(closed_url(), up, num_retries=0)
        with pl.track_usage(budget=pl.Budget(lm_calls=2)) as usage:
            ask(lm, 0)
            ask(lm, 1)
            with pytest.raises(pl.BudgetExceededError):
                ask(lm, 2)
    assert usage.total.calls == usage.spent().lm_calls == 2
    assert len(up.requests) == 2


def test_a_timeout_fails_over():
    with FakeOpenAI([Reply(delay=2.0)]) as slow, FakeOpenAI([Reply()]) as fast:
        lm = make_lm(slow, fast, num_retries=0, timeout=0.5)
        with pl.track_usage() as usage:
            assert ask(lm, 0).text == "[[answer]]\nParis"
    assert usage.total.calls == 1
    assert (len(slow.requests), len(fast.requests)) == (1, 1)


def test_an_endpoint_is_tried_again_after_its_cool_off():
    with FakeOpenAI([Reply(status=500), Reply()]) as flaky, FakeOpenAI([Reply()]) as steady:
        lm = make_lm(flaky, steady, num_retries=0)
        lm.backend.cool_off = 2.0  # long enough for a loaded machine between two calls
        ask(lm, 0)  # flaky fails, steady answers
        ask(lm, 1)  # flaky is cooling off
        assert (len(flaky.requests), len(steady.requests)) == (1, 2)
        time.sleep(2.05)
        ask(lm, 2)
        ask(lm, 3)
    assert (len(flaky.requests), len(steady.requests)) == (2, 3)


def test_when_every_endpoint_fails_lm_retries_and_counts_one_call():
    with FakeOpenAI([Reply(status=500)]) as a, FakeOpenAI([Reply(status=502)]) as b:
        lm = make_lm(a, b, num_retries=2)
        with pl.track_usage() as usage, pytest.raises(pl.LMServerError) as info:
            ask(lm, 0)
    assert info.value.attempts == 3
    assert usage.spent().lm_calls == 1  # reserved once; nothing answered
    # attempt 1 tries both; each retry tries the endpoint whose cool-off ends first
    assert len(a.requests) + len(b.requests) == 4


def test_all_endpoints_down_then_one_back_answers_on_a_retry():
    with FakeOpenAI([Reply(status=500), Reply(status=500), Reply()]) as a:
        lm = make_lm(a, closed_url(), num_retries=3)
        with pl.track_usage() as usage:
            assert ask(lm, 0).text == "[[answer]]\nParis"
    assert usage.total.calls == 1
    assert len(a.requests) == 3


def test_a_bad_request_is_not_sent_to_another_endpoint():
    with FakeOpenAI([Reply(status=400, error="bad")]) as a, FakeOpenAI([Reply()]) as b:
        lm = make_lm(a, b)
        with pytest.raises(pl.LMBadRequestError):
            ask(lm, 0)
    assert (len(a.requests), len(b.requests)) == (1, 0)
    assert lm.backend.stats()[0]["down_for"] == 0


def test_the_cache_key_does_not_depend_on_the_endpoints(tmp_path):
    with FakeOpenAI([Reply(text="Paris")]) as a, FakeOpenAI([Reply()]) as b:
        single = pl.LM(
            "openai/smollm2", api_base=a.base_url, api_key=SECRET, cache=tmp_path, max_tokens=8
        )
        first = single.complete(MESSAGES)
        pooled = make_lm(b, a, cache=tmp_path, max_tokens=8)
        with pl.track_usage() as usage:
            again = pooled.complete(MESSAGES)
    assert again.cached
    assert again.texts == first.texts == ("Paris",)
    assert (len(a.requests), len(b.requests)) == (1, 0)
    assert (usage.total.calls, usage.total.cache_hits) == (0, 1)
    options = {"max_tokens": 8}
    assert pooled._key(MESSAGES, options, 0) == single._key(MESSAGES, options, 0)


def test_many_threads_with_a_flaky_endpoint_count_each_request_once():
    flaky_script = [Reply(status=500) if i % 3 == 0 else Reply() for i in range(60)]
    with FakeOpenAI(flaky_script) as flaky, FakeOpenAI([Reply()]) as steady:
        lm = make_lm(flaky, steady, num_retries=5)
        lm.backend.cool_off = 0.01
        with pl.track_usage() as usage, ThreadPoolExecutor(8) as pool:
            # each thread in a copy of this context, which holds the usage tracker
            jobs = [pool.submit(contextvars.copy_context().run, ask, lm, i) for i in range(40)]
            out = [job.result() for job in jobs]
    assert len(out) == 40
    assert usage.total.calls == 40
    stats = lm.backend.stats()
    assert sum(e["served"] for e in stats) == 40
    assert all(e["in_flight"] == 0 for e in stats)
    assert len(flaky.requests) + len(steady.requests) == 40 + stats[0]["failed"]
    assert stats[0]["served"] > 0
    assert stats[1]["served"] > 0


def test_async_calls_spread_and_fail_over():
    with (
        FakeOpenAI([Reply(delay=0.2)]) as a,
        FakeOpenAI([Reply(delay=0.2)]) as b,
        FakeOpenAI([Reply(status=503)]) as down,
    ):
        lm = make_lm(a, b, down, num_retries=0)

        async def main():
            return await asyncio.gather(
                *(lm.acomplete([{"role": "user", "content": f"q{i}"}]) for i in range(6))
            )

        with pl.track_usage() as usage:
            out = asyncio.run(main())
    assert len(out) == 6
    assert usage.total.calls == 6
    assert 1 <= len(down.requests) <= 2  # those sent before its first failure came back
    assert len(a.requests) >= 2
    assert len(b.requests) >= 2


def test_a_compile_over_two_endpoints_counts_what_it_asked(tmp_path):
    with FakeOpenAI([Reply(text="[[answer]]\nParis")]) as a, FakeOpenAI([Reply()]) as b:
        lm = make_lm(a, b)
        train = [
            pl.Example(question=f"q{i}", answer="Paris").with_inputs("question") for i in range(6)
        ]
        optimizer = pl.BootstrapFewShot(
            metric=lambda ex, pred, trace=None: pred.answer == ex.answer,
            max_bootstrapped_demos=2,
            num_threads=2,
        )
        with pl.using(lm=lm), pl.track_usage() as usage:
            compiled = optimizer.compile(pl.Predict("question -> answer"), trainset=train)
    assert compiled.predictors()[0].demos
    assert len(a.requests) > 0
    assert len(b.requests) > 0
    assert len(a.requests) + len(b.requests) == usage.total.calls


def test_api_base_lists_are_checked():
    with pytest.raises(pl.ConfigurationError, match="non-empty list"):
        pl.LM("openai/m", api_base=[])
    with pytest.raises(pl.ConfigurationError, match="non-empty list"):
        pl.LM("openai/m", api_base=["http://127.0.0.1:1/v1", 3])
    with pytest.raises(pl.ConfigurationError, match="twice"):
        pl.LM("openai/m", api_base=["http://127.0.0.1:1/v1"] * 2)
    with pytest.raises(pl.ConfigurationError, match="local model"):
        pl.LM("local/smollm2", api_base=["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"])
    one = pl.LM("openai/m", api_base=["http://127.0.0.1:1/v1"])
    assert isinstance(one.backend, LiteLLMBackend)  # a list of one is a plain api_base


def test_no_url_or_key_in_logs_or_the_pool_repr(caplog):
    caplog.set_level(logging.DEBUG, logger="pliable")
    with FakeOpenAI([Reply(status=500)]) as down, FakeOpenAI([Reply()]) as up:
        lm = make_lm(down, up, num_retries=0)
        ask(lm, 0)
    assert "endpoint 1 of 2 failed (LMServerError)" in caplog.text
    port = down.base_url.rsplit(":", 1)[1]
    pliable_logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pliable"))
    assert port not in pliable_logs
    assert SECRET not in pliable_logs
    assert repr(lm.backend) == "EndpointPool('openai/smollm2', 2 endpoints)"
    assert SECRET not in repr(lm)
    secret_url = pl.LM("openai/m", api_base=["http://u:pw@h1/v1", "http://h2/v1"])
    assert "pw" not in repr(secret_url)
