"""What the CLI checks before its first LM call, and how it reports failure: the exit codes,
one-line argument errors, numeric ranges, the output path, the model name, the metric against
the first example, and when a run with failed examples fails."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from pliable.errors import BudgetExceededError, UsageError

__all__ = [
    "EXIT_CODES",
    "OneLineParser",
    "at_least",
    "check_metric",
    "check_model",
    "check_out",
    "cli_words",
    "error_rate",
    "failed_past",
]

logger = logging.getLogger(__name__)

#: Every exit code of ``pliable``, as the README's table lists them (a test checks both).
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "success"),
    (1, "examples failed past --max-error-rate (default: every example failed)"),
    (2, "bad usage, data, file or configuration (nothing was sent to an LM)"),
    (3, "the LM failed (auth, network, provider) or a budget ran out"),
    (4, "the LM's answer could not be parsed (run, on one input)"),
    (5, "compile found no usable program (below the majority-answer floor); no --out written"),
    (130, "interrupted (Ctrl-C)"),
)


def exit_code_table() -> str:
    """The exit codes as lines for ``pliable --help``."""
    return "exit codes:\n" + "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit 2), naming the command's
    ``--help`` instead of printing the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}. See `{self.prog} --help`.", file=sys.stderr)
        raise SystemExit(2)


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def non_negative_number(text: str) -> float:
    """An argparse type: a finite number ``>= 0``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def error_rate(text: str) -> float:
    """An argparse type: a fraction in [0, 1]."""
    value = non_negative_number(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"is a fraction between 0 and 1, got {text}")
    return value


def failed_past(errors: int, total: int, max_rate: float | None) -> bool:
    """Whether ``errors`` of ``total`` examples failing fails the run: more than ``max_rate``
    of them, or (no rate given) every one of them."""
    if total <= 0 or errors <= 0:
        return False
    if max_rate is None:
        return errors == total
    return errors / total > max_rate


def check_out(path: str | None, option: str = "--out") -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder; name a file, e.g. {target / 'out.json'}.")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {parent} does not exist. Create it first.")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable. Choose another path.")


def check_model(name: str | None, option: str = "--model") -> None:
    """Refuse an empty or blank model name (``None`` means the embedded default)."""
    if name is not None and not name.strip():
        raise UsageError(
            f"{option} is empty; name a model (e.g. local/smollm2 or openai/gpt-4o-mini), "
            "or leave the option out for the embedded local model."
        )


def check_metric(metric: Callable[..., Any], example: Any, outputs: Sequence[str]) -> None:
    """Call ``metric`` on ``example`` with its own labels as the prediction (no LM call), so
    a metric that reads a field the data lacks fails before the run instead of on every
    example. Other failures (a metric that needs a real trace) are left to the run.
    ``outputs`` are the program's output fields, when known (for the message)."""
    from pliable.data.example import Prediction
    from pliable.data.score import metric_name, to_score
    from pliable.evaluation.metric_base import metric_caller
    from pliable.lm.usage import track_usage

    call, _ = metric_caller(metric)
    labels = Prediction(example.labels().to_dict())
    try:
        with track_usage(max_calls=0):  # a metric that calls an LM is not checked here
            to_score(call(example, labels, []), metric)
    except BudgetExceededError:
        return
    except UsageError:
        raise
    except (AttributeError, KeyError) as exc:  # a field the data or the program lacks
        fields = f" (the program's outputs: {', '.join(outputs)})" if outputs else ""
        raise UsageError(
            f"the metric {metric_name(metric)} fails on the first dev example, scored "
            f"against its own labels{fields}: {type(exc).__name__}: {exc}. Check --metric "
            "(e.g. exact_match:FIELD) against the data's fields."
        ) from exc
    except Exception as exc:  # e.g. a metric reading a real trace: the run will tell
        logger.info("the metric could not be checked on the first example: %r", exc)


# Advice the library writes in Python, as the CLI says it.
_CLI_WORDS = (
    ("(--max-calls / track_usage(max_calls=...))", "(--max-calls)"),
    ("compile(..., require_significance=False)", "--keep-insignificant"),
    ("load_examples(path, inputs=[...], skip_bad_rows=True)", "--skip-bad-rows"),
    ("skip_bad_rows=True", "--skip-bad-rows"),
)


def cli_words(text: str) -> str:
    """``text`` with the library's Python advice replaced by the CLI flag that does it."""
    for python, flag in _CLI_WORDS:
        text = text.replace(python, flag)
    return text
