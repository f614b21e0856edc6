"""Instruction proposal: candidate instructions for each predictor, written by an LM.

Each proposal is grounded in three things the proposer shows the LM:

* a summary of the training data, computed locally (no LM call): the fields, their sizes,
  the distribution of short outputs, and a few rows;
* the program's structure: every predictor's signature and instruction, and which outputs
  feed which inputs;
* demos for the predictor (bootstrapped ones when the caller has them, else labeled rows),

plus a *tip* that varies the style (concise, detailed, persona, edge cases, ...) so the
candidates differ. With ``history`` (earlier instructions and their scores) the LM is asked
to improve on the best of them; :class:`~pliable.optimizers.InstructionHillClimb` uses that.

The proposer model can differ from the task model: ``InstructionProposer(prompt_lm=...)``.
Every candidate list starts with the predictor's current instruction, so "no change" is
always a candidate; proposals that are empty, duplicates, or fail are dropped (and logged).
Replies that talk about the instruction instead of giving one ("Create an instruction for
...", "The provided instruction ...", "Can you ...?"), which small proposer models often
write, are dropped and asked again (:func:`not_an_instruction`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import RUN_STOPPING, BudgetExceededError, UsageError
from pliable.lm.types import LanguageModel
from pliable.programs.module import Module
from pliable.programs.predict import Predict
from pliable.signatures import InputField, OutputField, Signature

__all__ = [
    "DEFAULT_TIPS",
    "InstructionProposer",
    "check_proposer_args",
    "data_summary",
    "not_an_instruction",
    "program_summary",
    "proposer_for",
]

logger = logging.getLogger(__name__)

DEFAULT_TIPS: tuple[str, ...] = (
    "Keep the instruction short and direct: one or two sentences.",
    "Be detailed: say exactly what each output must contain and in which form.",
    "Start with a persona: tell the model what expert it is acting as.",
    "Point out the edge cases and mistakes to avoid, judging from the examples.",
    "Explain the reasoning the model should follow before it answers.",
    "Describe the format of the answer precisely, with the allowed values.",
)

_MAX_CHARS = 800
# errors that are the caller's or the run's, not one proposal's bad luck
_NOT_NOISE: tuple[type[Exception], ...] = (UsageError, *RUN_STOPPING)


class ProposeInstruction(Signature):
    """You write the instruction for one step of a language-model program. Read the task
    data, the program and the examples, follow the tip, and reply with only the new
    instruction: plain sentences addressed to the model, no preamble and no quotes."""

    task_data: str = InputField(desc="a summary of the training data")
    program: str = InputField(desc="the program's steps and how they connect")
    step: str = InputField(desc="the step to write an instruction for: its inputs and outputs")
    current_instruction: str = InputField()
    examples: str = InputField(desc="worked examples of this step")
    earlier_attempts: str = InputField(desc="instructions tried before, with their scores")
    tip: str = InputField()
    instruction: str = OutputField(desc="the new instruction")


def _short(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def data_summary(examples: Sequence[Example], *, rows: int = 3) -> str:
    """A readable summary of a dataset, computed locally."""
    if not examples:
        return "No training examples."
    inputs = set(examples[0].input_keys or ())
    fields: list[str] = []
    for ex in examples:
        fields += [k for k in ex if k not in fields]
    lines = [f"{len(examples)} examples. Fields:"]
    for name in fields:
        values = [ex[name] for ex in examples if name in ex]
        kind = "input" if name in inputs else "output"
        lengths = [len(str(v)) for v in values]
        line = f"- {name} ({kind}, {len(values)} rows, about {sum(lengths) // len(lengths)} chars)"
        counts = Counter(_short(v, 40) for v in values)
        if kind == "output" and len(counts) <= 12:
            top = ", ".join(f"{v!r} {100 * c // len(values)}%" for v, c in counts.most_common(6))
            line += f"; {len(counts)} distinct values: {top}"
        lines.append(line)
    lines.append("Some rows:")
    for ex in examples[:rows]:
        lines.append("  " + "; ".join(f"{k}={_short(ex[k], 100)}" for k in fields if k in ex))
    return "\n".join(lines)


def program_summary(program: Module) -> str:
    """Each predictor's signature and instruction, and which outputs feed which inputs."""
    named = program.named_predictors()
    lines = [f"The program {type(program).__name__} has {len(named)} step(s):"]
    for name, p in named:
        lines.append(f"- {name}: {p.signature.signature_string()}")
        lines.append(f"  instruction: {_short(p.signature.instructions, 300)}")
    for name, p in named:
        for other, q in named:
            shared = set(p.signature.output_fields) & set(q.signature.input_fields)
            if other != name and shared:
                lines.append(f"- {name} feeds {', '.join(sorted(shared))} into {other}")
    return "\n".join(lines)


def _step(predictor: Predict) -> str:
    sig = predictor.signature
    parts = [f"inputs: {', '.join(sig.input_fields)}; outputs: {', '.join(sig.output_fields)}"]
    for name, f in sig.fields.items():
        desc = getattr(f, "desc", None)
        if desc:
            parts.append(f"{name}: {desc}")
    return "\n".join(parts)


def _render_demos(demos: Sequence[Example], limit: int = 3) -> str:
    if not demos:
        return "none"
    return "\n".join(
        f"{i}. " + "; ".join(f"{k}={_short(v, 120)}" for k, v in dict(d).items())
        for i, d in enumerate(demos[:limit], 1)
    )


def _render_history(history: Sequence[tuple[str, float]]) -> str:
    if not history:
        return "none yet"
    ordered = sorted(history, key=lambda h: h[1])  # worst first, best last
    return "\n".join(f"score {score:.3f}: {_short(text, 300)}" for text, score in ordered[-6:])


_PREFIX = re.compile(r"^\s*(new\s+)?(instruction|answer|output)\s*[:\-]\s*", re.IGNORECASE)


def clean_instruction(text: str) -> str:
    """Strip what small models wrap around an instruction: labels, quotes, markers."""
    text = re.sub(r"\[\[\s*\w+\s*\]\]", " ", text)
    text = _PREFIX.sub("", text.strip())
    text = text.strip().strip("\"'`").strip()
    text = " ".join(text.split())
    return text[:_MAX_CHARS].rstrip()


# What a small proposer writes instead of an instruction: a request for one ("Create an
# instruction for ..."), remarks on the one it was shown ("The provided instruction ..."), a
# question back ("Can you ...?"), or its own input fields echoed.
_ABOUT_INSTRUCTIONS = (
    re.compile(
        r"\b(?:create|write|generate|modify|improve|rewrite|craft|design|propose|come up with)"
        r"\b\W+(?:\w+\W+){0,4}?instructions?\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:the|this|that|provided|current|original|given|above|following|previous)"
        r"\s+(?:new\s+)?instruction\b",
        re.IGNORECASE,
    ),
)
_QUESTION_BACK = re.compile(r"^(?:can|could|would|will)\s+you\b|^how\s+about\b", re.IGNORECASE)
_ECHOED_FIELDS = re.compile(r"\b(?:task_data|earlier_attempts|current_instruction)\b")


def not_an_instruction(text: str, predictor: Predict) -> str | None:
    """Why ``text`` is about writing an instruction rather than one addressed to the model
    (a request for one, remarks on the current one, a question back, the proposer's own
    fields echoed), or None when it reads as an instruction. Mentions of "instruction" are
    allowed when the step itself is about instructions (a field or its current instruction
    names them)."""
    if _QUESTION_BACK.search(text):
        return "asks a question back"
    if _ECHOED_FIELDS.search(text):
        return "echoes the proposer's fields"
    sig = predictor.signature
    own = " ".join([sig.instructions, *sig.fields]).lower()
    if "instruction" not in own and any(p.search(text) for p in _ABOUT_INSTRUCTIONS):
        return "talks about the instruction instead of giving it"
    return None


class InstructionProposer:
    """Writes candidate instructions for a program's predictors.

    Args:
        prompt_lm: the LM that writes proposals (default: the task's LM, from ``pl.using``).
        tips: style tips cycled over the candidates.
        temperature: sampling temperature of proposals (each gets its own ``sample`` index,
            so cached runs replay exactly).
        rows: rows of training data shown in the summary.
        max_tokens: the longest proposal (overrides the LM's own ``max_tokens``).
    """

    def __init__(
        self,
        *,
        prompt_lm: LanguageModel | None = None,
        tips: Sequence[str] = DEFAULT_TIPS,
        temperature: float = 1.0,
        rows: int = 3,
        max_tokens: int = 256,
        seed: int = 0,
    ) -> None:
        self.max_tokens = max_tokens
        self.prompt_lm = prompt_lm
        self.tips = tuple(tips) or DEFAULT_TIPS
        self.temperature = temperature
        self.rows = rows
        self.seed = seed

    def settings(self) -> dict[str, Any]:
        return {
            "prompt_lm": getattr(self.prompt_lm, "model", None),
            "tips": list(self.tips),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }

    def propose(
        self,
        program: Module,
        trainset: Sequence[Example],
        *,
        n: int,
        demos: Mapping[str, Sequence[Example]] | None = None,
        history: Mapping[str, Sequence[tuple[str, float]]] | None = None,
        predictors: Sequence[str] | None = None,
        round: int = 0,
    ) -> dict[str, list[str]]:
        """Up to ``n`` instructions per predictor, the current one first.

        ``demos`` maps predictor names to examples shown to the proposer; ``history`` maps
        them to earlier (instruction, score) pairs; ``predictors`` limits which predictors
        get proposals; ``round`` separates the samples of successive calls.
        A :class:`~pliable.errors.BudgetExceededError` stops proposing and returns what was
        written so far.
        """
        summary = data_summary(trainset, rows=self.rows)
        structure = program_summary(program)
        writer = Predict(ProposeInstruction, lm=self.prompt_lm)
        out: dict[str, list[str]] = {}
        wanted = set(predictors) if predictors is not None else None
        named = [(k, p) for k, p in program.named_predictors() if wanted is None or k in wanted]
        stop = False
        for index, (name, predictor) in enumerate(named):
            current = predictor.signature.instructions
            found = [current]
            shown = list((demos or {}).get(name) or _labeled_for(predictor, trainset))
            # n - 1 proposals are asked for; a reply that is not an instruction is asked
            # again, at most n - 1 times in all
            asked, dropped = max(0, n - 1), 0
            for i in range(2 * asked):
                if stop or i >= asked + dropped:
                    break
                tip = self.tips[(i + index + self.seed) % len(self.tips)]
                writer.config = {
                    "max_tokens": self.max_tokens,
                    "temperature": self.temperature,
                    "sample": (self.seed * 1_000 + round) * 1_000 + i + 1,
                }
                try:
                    text = writer(
                        task_data=summary,
                        program=structure,
                        step=f"{name}\n{_step(predictor)}",
                        current_instruction=current,
                        examples=_render_demos(shown),
                        earlier_attempts=_render_history((history or {}).get(name, ())),
                        tip=tip,
                    ).instruction
                except BudgetExceededError:
                    logger.info("proposal stopped by the budget")
                    stop = True
                    break
                except _NOT_NOISE:
                    raise  # no LM configured, a bad option, a bad key: not noise
                except Exception as exc:  # one bad proposal is skipped
                    logger.info("proposal %d for %s failed: %r", i, name, exc)
                    continue
                cleaned = clean_instruction(str(text))
                why = not_an_instruction(cleaned, predictor)
                if why is not None:
                    logger.info("proposal %d for %s dropped (%s): %r", i, name, why, cleaned)
                    dropped += 1
                    continue
                if len(cleaned) >= 8 and cleaned not in found:
                    found.append(cleaned)
            out[name] = found
        if stop:
            for name, _ in named:
                out.setdefault(name, [dict(named)[name].signature.instructions])
        return out


def _labeled_for(predictor: Predict, examples: Sequence[Example]) -> list[Example]:
    from pliable.optimizers.labeled_few_shot import labeled_demos

    return labeled_demos(predictor, examples, 3)


def check_proposer_args(owner: str, prompt_lm: Any, proposer: Any) -> None:
    """Refuse a ``prompt_lm`` that is not an LM, a ``proposer`` that is not an
    :class:`InstructionProposer`, or both at once (``owner`` names the optimizer)."""
    if proposer is not None and prompt_lm is not None:
        raise UsageError(
            f"{owner} takes prompt_lm=... or proposer=..., not both; got prompt_lm={prompt_lm!r} "
            f"and proposer={proposer!r}. Use proposer=InstructionProposer(prompt_lm=...)."
        )
    if proposer is not None and not isinstance(proposer, InstructionProposer):
        raise UsageError(
            f"{owner}(proposer=...) takes an InstructionProposer; got "
            f"{type(proposer).__name__} {proposer!r}."
        )
    if prompt_lm is not None and not isinstance(prompt_lm, LanguageModel):
        raise UsageError(
            f"{owner}(prompt_lm=...) takes a language model such as pl.LM('provider/model'); "
            f"got {type(prompt_lm).__name__} {prompt_lm!r}."
        )


def proposer_for(
    program: Module,
    prompt_lm: LanguageModel | None,
    proposer: InstructionProposer | None,
    seed: int,
) -> InstructionProposer:
    """The given proposer, else one writing with ``prompt_lm``, else with the first LM set on
    one of the program's predictors, else with the ``pl.using`` one."""
    if proposer is not None:
        return proposer
    lm = prompt_lm or next((p.lm for p in program.predictors() if p.lm), None)
    return InstructionProposer(prompt_lm=lm, seed=seed)
