"""Errors that are not about one example (a missing model, a rejected key, a spent budget) stop
``evaluate``, ``batch`` and the optimizers at the first one, instead of being recorded once
per example; provider errors are named by what they mean, whatever status litellm gives."""

import pytest

import pliable as pl
from pliable.errors import (
    RUN_STOPPING,
    ConfigurationError,
    LMAuthError,
    LMBadRequestError,
    LMRateLimitError,
    LMServerError,
)
from pliable.evaluation import metrics
from pliable.lm.litellm_backend import map_provider_error, unknown_provider

EXAMPLES = [pl.Example(question=f"q{i}", answer="a").with_inputs("question") for i in range(6)]


def failing(error):
    calls = []

    def reply(messages):
        calls.append(messages)
        raise error

    return pl.FunctionLM(reply), calls


ERRORS = [
    ConfigurationError("Unknown local model 'local/nosuch'."),
    LMAuthError("Missing credentials", model="openai/gpt-4o-mini"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_evaluate_raises_the_first_run_stopping_error(error):
    lm, calls = failing(error)
    with pl.using(lm=lm), pytest.raises(type(error)):
        pl.evaluate(pl.Predict("question -> answer"), EXAMPLES, metrics.exact_match())
    assert len(calls) == 1


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_batch_raises_the_first_run_stopping_error(error):
    lm, calls = failing(error)
    with pl.using(lm=lm), pytest.raises(type(error)):
        pl.Predict("question -> answer").batch([{"question": "x"}] * 4)
    assert len(calls) == 1


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_optimizer_stops_at_the_first_run_stopping_error(error):
    lm, calls = failing(error)
    optimizer = pl.BootstrapFewShot(metrics.exact_match(), max_bootstrapped_demos=2)
    with pl.using(lm=lm), pytest.raises(type(error)):
        optimizer.compile(pl.Predict("question -> answer"), trainset=EXAMPLES)
    assert len(calls) == 1


def test_an_error_about_one_example_is_still_recorded_per_example():
    lm, calls = failing(LMBadRequestError("prompt too long", model="m"))
    with pl.using(lm=lm):
        result = pl.evaluate(pl.Predict("question -> answer"), EXAMPLES, metrics.exact_match())
    assert result.n_errors == len(EXAMPLES) == len(calls)
    assert LMBadRequestError not in RUN_STOPPING


class Raised(Exception):
    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def named(name):
    return type(name, (Raised,), {})


@pytest.mark.parametrize(
    ("name", "status", "message", "expected"),
    [
        # OpenAI's client reports a missing key as a 500
        (
            "InternalServerError",
            500,
            "OpenAIException - Missing credentials. Set OPENAI_API_KEY",
            LMAuthError,
        ),
        ("AuthenticationError", 401, "Incorrect API key provided", LMAuthError),
        ("BadRequestError", 400, "invalid x-api-key", LMAuthError),
        ("InternalServerError", 500, "upstream connect error", LMServerError),
        ("RateLimitError", 429, "Rate limit reached for your API key", LMRateLimitError),
        ("BadRequestError", 400, "max_tokens is too large", LMBadRequestError),
    ],
)
def test_provider_errors_are_named_by_what_they_mean(name, status, message, expected):
    error = map_provider_error(named(name)(message, status), "openai/gpt-4o-mini")
    assert type(error) is expected
    assert error.provider_message == message


def test_an_auth_error_names_the_provider_s_key_variable_and_is_not_retried():
    error = map_provider_error(named("AuthenticationError")("no key", 401), "anthropic/claude-x")
    assert "ANTHROPIC_API_KEY" in str(error)
    assert "Not retried" in str(error)
    assert not error.retryable


@pytest.mark.parametrize(
    ("model", "suggested"),
    [
        ("smollm2", "'local/smollm2'"),
        ("qwen2.5-coder-1.5b", "'local/qwen2.5-coder-1.5b'"),
        ("opnai/gpt-4o-mini", "'openai/gpt-4o-mini'"),
    ],
)
def test_an_unknown_provider_suggests_the_nearest_name(model, suggested):
    error = unknown_provider(model)
    assert isinstance(error, ConfigurationError)
    assert f"Unknown model {model!r}" in str(error)
    assert f"Did you mean {suggested}" in str(error)


def test_a_name_near_nothing_gets_no_suggestion():
    assert "Did you mean" not in str(unknown_provider("zzzzzz/qqqq"))


@pytest.mark.parametrize("model", ["", "   "])
def test_an_empty_model_name_is_refused_not_replaced_by_the_default(model):
    with pytest.raises(ConfigurationError, match="name a model"):
        pl.LM(model)
