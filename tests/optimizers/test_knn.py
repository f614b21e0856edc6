"""KNNFewShot and the embedders, with a deterministic bag-of-letters embedder and fake LMs."""

import asyncio
import json
import math
import string
import threading
import time

import numpy as np
import pytest

import pliable as pl
from pliable.errors import CompiledFileError, ConfigurationError, LMRateLimitError, UsageError
from pliable.lm import embeddings
from pliable.lm.embeddings import (
    Embedder,
    FunctionEmbedder,
    LiteLLMEmbedder,
    LocalEmbedder,
    l2_normalize,
    make_embedder,
)
from pliable.optimizers.knn_few_shot import KNNFewShot, KNNProgram

WORDS = ["aaaa", "bbbb", "cccc", "dddd", "aabb", "ccdd", "abcd", "eeee"]


def values_of(text):
    """The values of an embedded text's ``name: value`` lines, joined."""
    return " ".join(line.split(": ", 1)[1] for line in text.splitlines() if ": " in line)


def letter_bag(texts):
    return [[values_of(t).count(c) for c in string.ascii_lowercase] for t in texts]


class Recording:
    """A bag-of-letters embedder that records every batch it is given."""

    def __init__(self):
        self.batches = []
        self.lock = threading.Lock()
        self.embedder = FunctionEmbedder(self, name="letters")

    def __call__(self, texts):
        with self.lock:
            self.batches.append(list(texts))
        return letter_bag(texts)


def trainset(words=WORDS):
    return [pl.Example(question=w, answer=w.upper()).with_inputs("question") for w in words]


def echo_lm(delay=0.0):
    def answer(messages):
        if delay:
            time.sleep(delay)
        return "[[answer]]\n" + messages[-1]["content"].split("\n")[1].upper()

    return pl.FunctionLM(answer)


def demo_questions(call):
    """The demo questions in a recorded prompt: the user turns before the last one."""
    return [m["content"].split("\n")[1] for m in call.messages[1:-1] if m["role"] == "user"]


def expected(query, words, k):
    """Brute force: the k words nearest to ``query`` by cosine similarity, ties to the first."""

    def unit(word):
        v = [word.count(c) for c in string.ascii_lowercase]
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    q = unit(query)
    sims = [sum(a * b for a, b in zip(q, unit(w), strict=True)) for w in words]
    order = sorted(range(len(words)), key=lambda i: (-round(sims[i], 6), i))
    return [words[i] for i in order[:k]]


def compile_knn(k, words=WORDS, lm=None, **kwargs):
    rec = Recording()
    program = pl.Predict("question -> answer", lm=lm or echo_lm())
    compiled = KNNFewShot(k, rec.embedder, **kwargs).compile(program, trainset=trainset(words))
    return program, compiled, rec


# --- choosing demos -------------------------------------------------------------------------


def test_nearest_examples_become_the_demos_of_each_call():
    lm = echo_lm()
    _, compiled, _ = compile_knn(3, lm=lm)
    assert isinstance(compiled, KNNProgram)
    assert compiled(question="aaab").answer == "AAAB"
    assert compiled(question="cdd").answer == "CDD"
    assert demo_questions(lm.calls[0]) == ["aaaa", "aabb", "abcd"]  # worked out by hand
    assert demo_questions(lm.calls[1]) == expected("cdd", WORDS, 3)
    assert demo_questions(lm.calls[1])[0] == "ccdd"
    # the demos are the trainset's own examples, labels included
    assert compiled.demos_for(question="aaab")["self"][0] == trainset()[0]
    assert "AAAA" in [m["content"] for m in lm.calls[0].messages]


@pytest.mark.parametrize("k", [0, 1, 3, len(WORDS), len(WORDS) + 5])
def test_demo_count_is_exactly_min_k_and_trainset_size(k):
    lm = echo_lm()
    _, compiled, _ = compile_knn(k, lm=lm)
    for query in ["a", "bcd", "eeeb", "zzz"]:
        compiled(question=query)
        assert len(demo_questions(lm.calls[-1])) == min(k, len(WORDS))
        assert demo_questions(lm.calls[-1]) == expected(query, WORDS, k)


def test_ties_go_to_the_earlier_example_and_unrelated_inputs_still_get_k():
    words = ["xy", "yx", "xxyy", "q"]
    _, compiled, _ = compile_knn(2, words=words)
    assert [d.question for d in compiled.demos_for(question="xy")["self"]] == ["xy", "yx"]
    # no letter in common with anything: all similarities are 0, so the first examples
    assert [d.question for d in compiled.demos_for(question="zz")["self"]] == ["xy", "yx"]


def test_trainset_is_embedded_once_in_one_batch_as_name_value_lines():
    rec = Recording()
    rows = [
        pl.Example(context="ctx one", question="q1", n=3, answer="a").with_inputs(
            "context", "question", "n"
        ),
        pl.Example(context="ctx two", question="q2", n=[1, 2], answer="b").with_inputs(
            "context", "question", "n"
        ),
    ]
    program = pl.Predict("context, question, n -> answer", lm=echo_lm())
    compiled = KNNFewShot(1, rec.embedder).compile(program, trainset=rows)
    assert rec.batches == [
        ["context: ctx one\nquestion: q1\nn: 3", "context: ctx two\nquestion: q2\nn: [1, 2]"]
    ]
    compiled(question="q9", n=4, context="c9")  # keyword order does not matter
    assert rec.batches[1] == ["context: c9\nquestion: q9\nn: 4"]
    compiled(context="c9", question="q9", n=4)
    compiled.render(context="c9", question="q9", n=4)
    assert len(rec.batches) == 2  # a repeated input's vector is reused
    assert compiled.input_fields == ("context", "question", "n")

    only = KNNFewShot(1, rec.embedder, input_fields=["question"]).compile(program, trainset=rows)
    assert rec.batches[2] == ["question: q1", "question: q2"]
    only(question="q1", n=0, context="anything")
    assert rec.batches[3] == ["question: q1"]
    assert only.report.settings == {
        "k": 1,
        "input_fields": ["question"],
        "num_threads": 4,
        "embedder": "letters",
    }


def test_a_call_without_any_embedded_input_is_refused():
    _, compiled, _ = compile_knn(2)
    with pytest.raises(UsageError, match=r"by the inputs \['question'\]"):
        compiled.demos_for(query="aaaa")


def test_empty_trainset_gives_zero_demos_and_embeds_nothing():
    lm = echo_lm()
    rec = Recording()
    program = pl.Predict("question -> answer", lm=lm)
    compiled = KNNFewShot(4, rec.embedder).compile(program, trainset=[])
    assert compiled(question="aaaa").answer == "AAAA"
    assert demo_questions(lm.calls[0]) == []
    assert rec.batches == []
    assert "empty" in compiled.report.notes[0]


# --- threads, copies and traces ---------------------------------------------------------------


class SlowStart(pl.Module):
    """Works a little (as retrieval would) before its predictor formats the prompt."""

    def __init__(self, lm):
        self.answer = pl.Predict("question -> answer", lm=lm)

    def forward(self, question):
        time.sleep(0.002)  # other calls choose their demos meanwhile
        return self.answer(question=question)


def test_concurrent_calls_each_get_their_own_demos():
    lm = echo_lm(delay=0.001)
    compiled = KNNFewShot(3, Recording().embedder).compile(SlowStart(lm), trainset=trainset())
    queries = [w[:n] + x for w in WORDS for n in (1, 2, 3) for x in ("", "e")]
    with pl.ContextThreadPool(max_workers=8) as pool:
        answers = list(pool.map(lambda q: compiled(question=q).answer, queries))
    assert answers == [q.upper() for q in queries]
    assert len(lm.calls) == len(queries)
    for call in lm.calls:
        query = call.prompt.split("\n")[1]
        assert demo_questions(call) == expected(query, WORDS, 3), query
    assert compiled.program.answer.demos == []  # never written per call


def test_the_original_program_is_not_modified():
    lm = echo_lm()
    program = pl.Predict("question -> answer", lm=lm)
    static = pl.Example(question="static", answer="STATIC").with_inputs("question")
    program.demos = [static]
    compiled = KNNFewShot(2, Recording().embedder).compile(program, trainset=trainset())
    compiled(question="abab")
    assert program.demos == [static]
    assert compiled.program is not program
    assert compiled.program.demos == []  # the compiled copy's demos come per call only
    assert demo_questions(lm.calls[0]) == ["aabb", "aaaa"]  # tied with abcd: first wins
    assert compiled.program.lm is lm  # LMs are shared, not copied


class TwoStage(pl.Module):
    def __init__(self, lm):
        self.draft = pl.Predict("question -> answer", lm=lm)
        self.polish = pl.Predict("question, draft -> answer", lm=lm)
        self.helpers = {"unused": [1, 2]}

    def forward(self, question):
        draft = self.draft(question=question).answer
        return self.polish(question=question, draft=draft)


def test_multi_stage_traces_name_the_compiled_predictors():
    lm = echo_lm()
    compiled = KNNFewShot(2, Recording().embedder).compile(TwoStage(lm), trainset=trainset())
    assert [n for n, _ in compiled.named_predictors()] == ["draft", "polish"]
    assert any("polish: only 0 of 8" in note for note in compiled.report.notes)
    with pl.trace() as t:
        compiled("bbbc")  # positional, named by TwoStage.forward
    assert [e.predictor for e in t] == [compiled.program.draft, compiled.program.polish]
    assert t[1].inputs == {"question": "bbbc", "draft": "BBBC"}
    assert demo_questions(lm.calls[0]) == ["bbbb", "aabb"] == expected("bbbc", WORDS, 2)
    assert demo_questions(lm.calls[1]) == []  # no train example has a `draft`
    assert compiled.program.helpers is compiled.with_demos({}).helpers  # shared, not copied


def test_trace_entries_reach_the_trace_when_the_call_raises():
    def fail(messages):
        raise RuntimeError("boom")

    compiled = KNNFewShot(1, Recording().embedder).compile(TwoStage(echo_lm()), trainset=trainset())
    compiled.program.polish.lm = pl.FunctionLM(fail)
    with pl.trace() as t, pytest.raises(RuntimeError, match="boom"):
        compiled(question="aaaa")
    assert [e.predictor for e in t] == [compiled.program.draft]


def test_bootstrapping_with_a_knn_teacher_finds_its_predictors():
    teacher = KNNFewShot(2, Recording().embedder).compile(
        pl.Predict("question -> answer", lm=echo_lm()), trainset=trainset()
    )
    student = pl.Predict("question -> answer", lm=echo_lm())
    boot = pl.BootstrapFewShot(
        lambda ex, pred: ex.answer == pred.answer,
        max_bootstrapped_demos=3,
        max_labeled_demos=0,
        teacher=teacher,
    )
    compiled = boot.compile(student, trainset=trainset())
    assert [d.question for d in compiled.demos] == WORDS[:3]


def test_deepcopy_copies_the_program_and_shares_the_pool():
    _, compiled, rec = compile_knn(2)
    twin = compiled.deepcopy()
    assert twin.program is not compiled.program
    assert twin.embedder is compiled.embedder
    assert twin.pool_embeddings() is compiled.pool_embeddings()
    assert not compiled.pool_embeddings().flags.writeable
    assert len(rec.batches) == 1  # no re-embedding
    assert twin.demos_for(question="dd") == compiled.demos_for(question="dd")


def test_render_shows_the_demos_chosen_for_the_input():
    _, compiled, _ = compile_knn(1)
    messages = compiled.render(question="ccc")
    assert [m["content"] for m in messages[1:3]] == ["[[question]]\ncccc", "CCCC"]


def test_async_calls_choose_demos_too():
    lm = echo_lm()
    _, compiled, _ = compile_knn(2, lm=lm)

    async def main():
        return await asyncio.gather(*(compiled.acall(question=q) for q in ["aaa", "ddd"]))

    with pl.trace() as t:
        predictions = asyncio.run(main())
    assert [p.answer for p in predictions] == ["AAA", "DDD"]
    assert sorted(demo_questions(c)[0] for c in lm.calls) == ["aaaa", "dddd"]
    assert {e.predictor for e in t} == {compiled.program}


def test_a_metric_with_a_valset_scores_before_and_after():
    def knows(messages):
        shown = "".join(m["content"] for m in messages[:-1])
        question = messages[-1]["content"].split("\n")[1]
        return "[[answer]]\n" + (question.upper() if question in shown else "?")

    program = pl.Predict("question -> answer", lm=pl.FunctionLM(knows))
    opt = KNNFewShot(1, Recording().embedder, metric=lambda ex, pred: ex.answer == pred.answer)
    compiled = opt.compile(program, trainset=trainset(), valset=trainset()[:4])
    assert compiled.report.baseline.score == 0.0
    assert compiled.report.final.score == 1.0  # each question's nearest example is itself


def test_bad_arguments_are_refused():
    emb = Recording().embedder
    with pytest.raises(UsageError, match=r"k=\.\.\."):
        KNNFewShot(-1, emb)
    with pytest.raises(UsageError, match="needs an embedder"):
        KNNFewShot(2, lambda texts: texts)
    with pytest.raises(UsageError, match="input_fields"):
        KNNFewShot(2, emb, input_fields="question")
    with pytest.raises(UsageError, match="inputs marked"):
        KNNFewShot(2, emb).compile(pl.Predict("q -> a"), trainset=[pl.Example(q="x", a="y")])


# --- saving -----------------------------------------------------------------------------------


def test_knn_state_round_trips_through_json():
    lm = echo_lm()
    rows = [
        pl.Example(question=w, size=len(w) * i, answer=w.upper()).with_inputs("question", "size")
        for i, w in enumerate(WORDS)
    ]
    rec = Recording()
    program = pl.Predict("question, size: int -> answer", lm=lm)
    compiled = KNNFewShot(3, rec.embedder).compile(program, trainset=rows)
    state = json.loads(json.dumps(compiled.dump_knn_state()))
    assert state["k"] == 3
    assert state["embedder"] == {"kind": "custom", "name": "letters"}
    assert state["input_fields"] == ["question", "size"]
    assert state["pool"][1] == {
        "values": {"question": "bbbb", "size": 4, "answer": "BBBB"},
        "inputs": ["question", "size"],
    }
    assert state["embeddings"] is None

    with pytest.raises(CompiledFileError, match=r"embedder=\.\.\."):
        KNNProgram.from_knn_state(program.deepcopy(), state)
    restored = KNNProgram.from_knn_state(program.deepcopy(), state, embedder=rec.embedder)
    assert restored.examples == compiled.examples
    assert isinstance(restored.examples[2]["size"], int)
    assert restored.demos_for(question="ab", size=2) == compiled.demos_for(question="ab", size=2)

    with_vectors = json.loads(json.dumps(compiled.dump_knn_state(include_embeddings=True)))
    before = len(rec.batches)
    fast = KNNProgram.from_knn_state(program.deepcopy(), with_vectors, embedder=rec.embedder)
    np.testing.assert_array_equal(fast.pool_embeddings(), compiled.pool_embeddings())
    assert len(rec.batches) == before  # the saved vectors were used
    renamed = FunctionEmbedder(rec, name="letters-v2")
    again = KNNProgram.from_knn_state(program.deepcopy(), with_vectors, embedder=renamed)
    again.pool_embeddings()
    assert len(rec.batches) == before + 1  # another embedder: embedded again


def test_a_bad_knn_state_is_refused():
    _, compiled, rec = compile_knn(2)
    state = compiled.dump_knn_state()
    with pytest.raises(CompiledFileError, match="unknown keys"):
        KNNProgram.from_knn_state(compiled.program, {**state, "extra": 1}, embedder=rec.embedder)
    with pytest.raises(CompiledFileError, match="k"):
        KNNProgram.from_knn_state(compiled.program, {**state, "k": "many"}, embedder=rec.embedder)
    vectors = compiled.dump_knn_state(include_embeddings=True)
    vectors["embeddings"]["dimension"] = 5
    with pytest.raises(CompiledFileError, match="expected 8 x 5"):
        KNNProgram.from_knn_state(compiled.program, vectors, embedder=rec.embedder)


# --- embedders --------------------------------------------------------------------------------


def test_function_embedder_normalises_and_checks_its_output():
    emb = FunctionEmbedder(lambda texts: [[3.0, 4.0]] * len(texts), name="fixed")
    assert isinstance(emb, Embedder)
    out = emb.embed(["a", "b"])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.6, 0.8]], rtol=1e-6)
    assert emb.embed([]).shape[0] == 0
    with pytest.raises(UsageError, match=r"shape \(1, 2\) for 2 texts"):
        FunctionEmbedder(lambda texts: [[1.0, 2.0]]).embed(["a", "b"])
    with pytest.raises(UsageError, match="NaN"):
        FunctionEmbedder(lambda texts: [[float("nan")]]).embed(["a"])
    np.testing.assert_array_equal(l2_normalize([[0.0, 0.0]]), [[0.0, 0.0]])


class FakeLiteLLM:
    """Stands in for the litellm module: answers embedding requests, in reverse order."""

    def __init__(self, fail=None):
        self.requests = []
        self.fail = fail

    def embedding(self, model, input, **options):
        self.requests.append((model, list(input), options))
        if self.fail is not None:
            raise self.fail
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0]}
            for i, t in enumerate(input)
        ]
        return {"data": list(reversed(data))}


def test_litellm_embedder_batches_and_orders_by_index(monkeypatch):
    fake = FakeLiteLLM()
    monkeypatch.setattr(embeddings, "_litellm_module", lambda: fake)
    emb = LiteLLMEmbedder("openai/text-embedding-3-small", batch_size=2, api_key="sk-secret")
    out = emb.embed(["a", "bbb", "cc", "dddd", ""])
    assert [len(r[1]) for r in fake.requests] == [2, 2, 1]
    assert fake.requests[0][2] == {"api_key": "sk-secret"}
    expected_rows = l2_normalize([[1, 1], [3, 1], [2, 1], [4, 1], [0, 1]])
    np.testing.assert_allclose(out, expected_rows, rtol=1e-6)
    assert "secret" not in repr(emb)
    assert emb.name == "openai/text-embedding-3-small"


def test_litellm_embedder_maps_provider_errors(monkeypatch):
    class RateLimitError(Exception):
        status_code = 429

    monkeypatch.setattr(embeddings, "_litellm_module", lambda: FakeLiteLLM(RateLimitError("slow")))
    with pytest.raises(LMRateLimitError, match="slow"):
        LiteLLMEmbedder("openai/x").embed(["a"])


def test_saved_embedders_are_rebuilt_by_kind():
    assert isinstance(make_embedder("litellm", "openai/x"), LiteLLMEmbedder)
    with pytest.raises(ConfigurationError, match=r"embedder=\.\.\."):
        make_embedder("custom", "letters")
    with pytest.raises(ConfigurationError, match="Unknown local model"):
        LocalEmbedder("local/nope")  # checked when made, before any model loads


def test_compiled_knn_program_saves_and_loads_through_pl_load(tmp_path):
    import pliable as pl
    from pliable.lm.embeddings import FunctionEmbedder

    def letters(texts):
        import numpy as np

        return np.array([[t.count(c) + 0.01 for c in "abcdefghij"] for t in texts], dtype="float32")

    emb = FunctionEmbedder(letters, name="letters")
    train = [
        pl.Example(question=q, answer=a).with_inputs("question")
        for q, a in [("aaa", "1"), ("bbb", "2"), ("ccc", "3")]
    ]
    lm = pl.FunctionLM(lambda m: "[[answer]]\nx")
    program = pl.Predict("question -> answer", lm=lm)
    compiled = pl.KNNFewShot(1, emb).compile(program, trainset=train)
    path = compiled.save(tmp_path / "knn.json")
    restored = pl.load(path, embedder=emb, lm=lm)
    assert restored.render(question="bb") == compiled.render(question="bb")
    assert "bbb" in restored.render(question="bb")[1]["content"]


def test_a_version_2_knn_file_is_migrated_and_loads(tmp_path):
    """Schema version 2 (the previous release) named a KNN file by its inner program."""
    import json

    import pliable as pl
    from pliable.compiled.io import migrate

    _, compiled, rec = compile_knn(2)
    data = json.loads(compiled.save(tmp_path / "v3.json").read_text())
    assert data["program"] == "pliable.KNNProgram"
    assert data["knn"]["program"] == "pliable.Predict"
    old = {**data, "schema_version": 2, "program": "pliable.Predict"}
    old["knn"] = {k: v for k, v in data["knn"].items() if k != "program"}
    assert migrate(old) == data
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(old))
    restored = pl.load(path, embedder=rec.embedder, lm=compiled.program.lm)
    assert isinstance(restored, KNNProgram)
    assert restored.dump_state() == compiled.dump_state()
