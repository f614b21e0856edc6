"""Fake LMs for tests: :class:`ScriptedLM` (canned answers) and :class:`FunctionLM` (your code).

Both are real :class:`~pliable.lm.LanguageModel` implementations: programs call them exactly
as they call a provider, and their text goes through the adapter's real parsing. Every call is
recorded in ``lm.calls`` (messages and options), so tests can assert on the prompts sent.

    lm = pl.ScriptedLM(["Paris"])                    # answers in order
    lm = pl.ScriptedLM({"capital of France": "Paris",  # keyed by a substring of the last message
                        "2+2": ["4", "four"]})          # a list is used up in order
    lm = pl.FunctionLM(lambda messages, options: messages[-1]["content"].upper())

A scripted LM that has no answer for a call raises :class:`~pliable.errors.ScriptExhaustedError`
naming the call's number and its prompt; it never invents a placeholder.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pliable.errors import ScriptExhaustedError, UsageError
from pliable.lm.types import Completion, Message, Usage
from pliable.lm.usage import CallRecord, backend_accounts, record_call, reserve_call

__all__ = ["FakeCall", "FunctionLM", "ScriptedLM"]

_PROMPT_PREVIEW = 1500


@dataclass(frozen=True)
class FakeCall:
    """One recorded call: its 0-based index, the messages and the options it was given."""

    index: int
    messages: tuple[Message, ...]
    options: Mapping[str, Any]

    @property
    def prompt(self) -> str:
        """The last message's text (usually the input being asked about)."""
        return self.messages[-1]["content"] if self.messages else ""


def _count_tokens(text: str) -> int:
    """A rough, deterministic token count for fake usage: one token per 4 characters."""
    return (len(text) + 3) // 4


class _FakeLM:
    def __init__(self, model: str, supports_response_schema: bool) -> None:
        self.model = model
        self.supports_response_schema = supports_response_schema
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()

    def _answers(self, call: FakeCall, n: int) -> list[str]:
        raise NotImplementedError

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        n = int(options.get("n") or 1)
        counts = backend_accounts()  # fakes count against budgets like real models
        if counts:
            reserve_call()
        with self._lock:
            call = FakeCall(len(self.calls), tuple(messages), dict(options))
            self.calls.append(call)
            texts = self._answers(call, n)
        prompt_tokens = sum(_count_tokens(m["content"]) for m in messages)
        usage = Usage(prompt_tokens, sum(_count_tokens(t) for t in texts), 0.0)
        if counts:
            record_call(
                CallRecord(
                    self.model, usage.prompt_tokens, usage.completion_tokens, 0.0, 0.0, False
                )
            )
        return Completion(tuple(texts), self.model, usage)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, calls={len(self.calls)})"

    def __deepcopy__(self, memo: dict[int, Any]) -> _FakeLM:
        return self  # an LM is a shared resource, never copied with a program


class ScriptedLM(_FakeLM):
    """Answers from a script: a list used in order, or a mapping keyed by a substring.

    Args:
        script: a sequence of answer texts (one per call, or per choice when ``n > 1``), or a
            mapping from a substring of the last message to an answer. A mapping value that is
            a string answers every matching call; a list is used up in order. Keys are tried
            in order and the first one found in the last message wins.
        model: the name reported in completions.
        supports_response_schema: whether the JSON adapter may send a JSON-schema
            ``response_format`` (it is recorded in ``calls``, not enforced).
    """

    def __init__(
        self,
        script: Sequence[str] | Mapping[str, str | Sequence[str]],
        *,
        model: str = "fake/scripted",
        supports_response_schema: bool = False,
    ) -> None:
        super().__init__(model, supports_response_schema)
        if isinstance(script, str):
            raise UsageError(
                f"ScriptedLM takes a list of answers or a mapping, not one string ({script!r}). "
                f"Write ScriptedLM([{script!r}])."
            )
        self._keyed: dict[str, list[str] | str] | None = None
        self._queue: list[str] = []
        if isinstance(script, Mapping):
            self._keyed = {k: v if isinstance(v, str) else list(v) for k, v in script.items()}
        else:
            self._queue = list(script)
        self._total = len(self._queue)
        self._used = 0

    @property
    def remaining(self) -> int:
        """Answers left in an ordered script (0 for a keyed one)."""
        return len(self._queue) - self._used

    def _exhausted(self, call: FakeCall, why: str) -> ScriptExhaustedError:
        prompt = call.prompt
        shown = prompt if len(prompt) <= _PROMPT_PREVIEW else prompt[:_PROMPT_PREVIEW] + " ..."
        return ScriptExhaustedError(
            f"ScriptedLM has no answer for call #{call.index} (0-based): {why}\n"
            f"Last message of that call:\n    {shown.replace(chr(10), chr(10) + '    ')}\n"
            "What to do: add answers to the script, or check why the program made this call.",
            call_index=call.index,
            prompt=prompt,
        )

    def _answers(self, call: FakeCall, n: int) -> list[str]:
        if self._keyed is None:
            if self._used + n > len(self._queue):
                raise self._exhausted(
                    call, f"the script had {self._total} answers and {self._used} were used."
                )
            out = self._queue[self._used : self._used + n]
            self._used += n
            return out
        for key, value in self._keyed.items():
            if key in call.prompt:
                if isinstance(value, str):
                    return [value] * n
                if len(value) < n:
                    raise self._exhausted(call, f"the answers for key {key!r} are used up.")
                out, self._keyed[key] = value[:n], value[n:]
                return out
        raise self._exhausted(
            call, f"no key is a substring of the last message. Keys: {list(self._keyed)}."
        )


AnswerFn = Callable[..., "str | Sequence[str]"]


class FunctionLM(_FakeLM):
    """Answers by calling ``fn(messages)`` or ``fn(messages, options)``.

    ``fn`` returns the answer text, or a list of texts (one per choice when ``n > 1``).
    """

    def __init__(
        self,
        fn: AnswerFn,
        *,
        model: str = "fake/function",
        supports_response_schema: bool = False,
    ) -> None:
        super().__init__(model, supports_response_schema)
        if not callable(fn):
            raise UsageError(f"FunctionLM needs a callable; got {fn!r}.")
        self._fn = fn
        try:
            params = inspect.signature(fn).parameters
            self._pass_options = len(params) >= 2 or any(
                p.kind is p.VAR_POSITIONAL for p in params.values()
            )
        except (TypeError, ValueError):
            self._pass_options = True

    def _answers(self, call: FakeCall, n: int) -> list[str]:
        messages = list(call.messages)
        result = (
            self._fn(messages, dict(call.options)) if self._pass_options else self._fn(messages)
        )
        texts: list[Any] = (
            [result]
            if isinstance(result, str)
            else list(result)
            if isinstance(result, (list, tuple))
            else []
        )
        if not texts or not all(isinstance(t, str) for t in texts):
            raise UsageError(
                f"FunctionLM's function must return a string or a list of strings; "
                f"call #{call.index} returned {result!r}."
            )
        if len(texts) == 1 and n > 1:
            texts = texts * n
        if len(texts) < n:
            raise UsageError(
                f"FunctionLM's function returned {len(texts)} texts for call #{call.index}, "
                f"which asked for n={n}. Return one text (reused) or n texts."
            )
        return texts[:n]
