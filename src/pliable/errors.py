"""Every error pliable raises, split by who is at fault.

::

    PliableError                  base of everything below
    ├── UsageError                your code called pliable wrongly: fix the call
    │   ├── SignatureError        a malformed signature string, class or field operation
    │   ├── InputError            an unknown, missing or wrongly typed input to a program
    │   │   └── ToolArgumentError a tool called with arguments that do not fit it
    │   ├── DataError             a data file or row can't be loaded (file:line, field)
    │   ├── CompiledFileError     a compiled-program file is unreadable, invalid or refused
    │   └── ConfigurationError    no LM configured, an unknown option, a bad setting
    ├── LMError                   the language model call itself failed
    │   ├── ScriptExhaustedError  a fake LM ran out of scripted answers
    │   └── ProviderError         the provider refused or failed; keeps its message
    │       ├── LMAuthError           bad or missing credentials (not retried)
    │       ├── LMBadRequestError     the provider rejected the request (not retried)
    │       ├── LMRateLimitError      429: too many requests (retried with backoff)
    │       ├── LMTimeoutError        no answer in time (retried with backoff)
    │       └── LMServerError         5xx or connection failure (retried with backoff)
    ├── ParseError                the LM answered, but its text could not be read
    ├── BatchError                more examples of a batch failed than max_errors allows
    ├── EvaluationError           more examples of an evaluation failed than max_errors allows
    └── BudgetExceededError       a track_usage(max_calls=...) limit stopped a new LM call

 RUN_STOPPING (a tuple, not a class) lists the errors that are not about one example:
BudgetExceededError, ConfigurationError and LMAuthError stop ``evaluate()``, ``batch()`` and
every optimizer at the first one instead of being recorded once per example.

Every message says what was wrong, shows the offending value, and says what to do next.
Errors raised while handling another error chain it (``raise ... from exc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BatchError",
    "BudgetExceededError",
    "CompiledFileError",
    "ConfigurationError",
    "DataError",
    "EvaluationError",
    "InputError",
    "LMAuthError",
    "LMBadRequestError",
    "LMError",
    "LMRateLimitError",
    "LMServerError",
    "LMTimeoutError",
    "ParseError",
    "PliableError",
    "ProviderError",
    "RUN_STOPPING",
    "ScriptExhaustedError",
    "SignatureError",
    "ToolArgumentError",
    "UsageError",
]

_RAW_PREVIEW = 2000


def _preview(text: str, limit: int = _RAW_PREVIEW) -> str:
    """Shorten ``text`` for an error message, keeping both ends."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


class PliableError(Exception):
    """Base class of every error pliable raises."""


class UsageError(PliableError):
    """The calling code used pliable wrongly; the message says how to fix the call."""


class SignatureError(UsageError):
    """A signature string, class or field operation is malformed.

    When the error is at a place in a signature string, ``text`` is that string, ``column`` the
    1-based position of the bad part in it, and ``advice`` how to write it instead (the message
    shows the same with a caret picture); all three are ``None`` otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        column: int | None = None,
        advice: str | None = None,
    ) -> None:
        super().__init__(message)
        self.text = text
        self.column = column
        self.advice = advice


class InputError(UsageError):
    """A program was called with an unknown, missing or wrongly typed input.

    ``field`` names the input concerned (``None`` when several are), ``value`` is what was
    passed for it.
    """

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class DataError(UsageError):
    """A data source, or one of its rows, cannot be loaded as examples.

    ``source`` is the file (or dataset) concerned, ``line`` the 1-based line of the row (the row
    number for a ``datasets`` dataset; ``None`` for the whole source), ``field`` the field to
    blame when there is one, and ``value`` the offending value.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.field = field
        self.value = value


class ConfigurationError(UsageError):
    """A setting is missing or invalid (for example, no LM is configured)."""


class LMError(PliableError):
    """The language model call failed (network, provider, or a fake LM's script)."""


class ScriptExhaustedError(LMError):
    """A scripted fake LM was called more times than it has answers for.

    ``call_index`` is the 0-based number of the call that found no answer and ``prompt`` the
    text of that call's last message.
    """

    def __init__(self, message: str, *, call_index: int, prompt: str) -> None:
        super().__init__(message)
        self.call_index = call_index
        self.prompt = prompt


class ProviderError(LMError):
    """A provider call failed. ``provider_message`` is the provider's own text.

    ``retryable`` says whether pliable retries this kind of failure (rate limits, timeouts,
    server errors) or not (auth, bad requests).
    """

    retryable = False
    advice = "Check the model name and the provider's status."

    def __init__(
        self,
        provider_message: str,
        *,
        model: str,
        status_code: int | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(provider_message)
        self.provider_message = provider_message
        self.model = model
        self.status_code = status_code
        self.attempts = attempts

    def __str__(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return (
            f"{type(self).__name__} from model {self.model!r}{status}{tries}: "
            f"{self.provider_message}\nWhat to do: {self.advice}"
        )


class LMAuthError(ProviderError):
    advice = (
        "Check the API key (pass api_key=... to pl.LM or set the provider's environment "
        "variable, e.g. OPENAI_API_KEY). Not retried."
    )


class LMBadRequestError(ProviderError):
    advice = (
        "The provider rejected the request: check the model name, the options passed "
        "(max_tokens, response_format, ...) and the prompt length. Not retried."
    )


class LMRateLimitError(ProviderError):
    retryable = True
    advice = "Slow down (fewer threads), raise num_retries, or raise the provider's quota."


class LMTimeoutError(ProviderError):
    retryable = True
    advice = "Raise timeout=..., use a smaller max_tokens, or check the server is up."


class LMServerError(ProviderError):
    retryable = True
    advice = "The provider failed (5xx or connection). Retry later or check api_base."


class BatchError(PliableError):
    """Too many examples of a batch failed. ``results`` holds what finished, in input order
    (``None`` where an example did not run)."""

    def __init__(self, message: str, results: list[object]) -> None:
        super().__init__(message)
        self.results = results


class BudgetExceededError(PliableError):
    """An LM call was refused because a ``track_usage(max_calls=...)`` limit was reached."""


class ParseError(PliableError):
    """The LM's text could not be turned into the signature's typed outputs.

    Attributes:
        raw_text: the LM's text, exactly as received.
        expected_fields: the output fields the signature asks for, in order.
        found_fields: the fields that were found (and parsed) in ``raw_text``.
        field: the field that failed, when one field is to blame.
        adapter: the name of the adapter that parsed.
    """

    def __init__(
        self,
        reason: str,
        *,
        raw_text: str,
        expected_fields: Sequence[str],
        found_fields: Sequence[str] = (),
        field: str | None = None,
        adapter: str = "",
    ) -> None:
        self.reason = reason
        self.raw_text = raw_text
        self.expected_fields = tuple(expected_fields)
        self.found_fields = tuple(found_fields)
        self.field = field
        self.adapter = adapter
        missing = [f for f in self.expected_fields if f not in self.found_fields]
        where = f" ({adapter})" if adapter else ""
        lines = [
            f"Could not parse the LM's answer{where}: {reason}",
            f"  expected fields: {', '.join(self.expected_fields) or '(none)'}",
            f"  found fields:    {', '.join(self.found_fields) or '(none)'}",
        ]
        if missing:
            lines.append(f"  missing fields:  {', '.join(missing)}")
        lines += [
            "  raw LM text:",
            "    " + _preview(raw_text).replace("\n", "\n    "),
            "What to do: check the prompt with `adapter.format(...)`; a small model may do "
            "better with the JSON adapter (`adapter=pl.JSONAdapter()`) or with demos.",
        ]
        super().__init__("\n".join(lines))


class ToolArgumentError(InputError):
    """A tool was called with arguments that do not fit its signature.

    ``tool`` is the tool's name, ``field`` the (first) argument to blame and ``value`` what was
    passed for it.
    """

    def __init__(
        self, message: str, *, tool: str, field: str | None = None, value: object = None
    ) -> None:
        super().__init__(message, field=field, value=value)
        self.tool = tool


class CompiledFileError(UsageError):
    """A compiled-program file is unreadable, invalid, from a newer pliable, refused (it names
    code, an endpoint or a secret), or does not fit the program it is loaded into. Nothing
    was changed, imported, called or sent."""


class EvaluationError(PliableError):
    """More than ``max_errors`` examples failed. ``rows`` holds the rows finished so far
    (:class:`~pliable.evaluation.EvaluationRow` objects)."""

    def __init__(self, message: str, rows: list[Any]) -> None:
        super().__init__(message)
        self.rows = rows


#: Errors that are not about one example: every example would hit them (no LM configured, an
#: unknown model, a rejected API key, a spent budget), so ``evaluate()``, ``batch()`` and the
#: optimizers stop at the first one and raise it, instead of recording it once per example.
RUN_STOPPING: tuple[type[Exception], ...] = (
    BudgetExceededError,
    ConfigurationError,
    LMAuthError,
)
