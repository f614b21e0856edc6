import threading

import pytest

import pliable as pl


class TwoHop(pl.Module):
    def __init__(self, hops=2):
        self.query = pl.Predict("question, notes -> query")
        self.hops = hops
        self.answer = pl.ChainOfThought("question, notes -> answer")
        self.extra = {"check": pl.Predict("answer -> ok: bool")}
        self.shared = self.query  # the same predictor twice is listed once

    def forward(self, question):
        notes = ""
        for _ in range(self.hops):
            q = self.query(question=question, notes=notes).query
            if q == "stop":
                break
            notes += q + ";"
        return self.answer(question=question, notes=notes)


def echo_lm():
    def answer(messages):
        last = messages[-1]["content"]
        if "Reply with your query only." in last:
            return "stop" if "hop1;" in last else "hop1"
        return "[[reasoning]]\nr\n\n[[answer]]\n" + last.split("[[notes]]\n")[1].split("\n")[0]

    return pl.FunctionLM(answer)


def test_named_predictors_walk_attributes_containers_and_dedupe():
    prog = TwoHop()
    assert [n for n, _ in prog.named_predictors()] == ["query", "answer", "extra['check']"]
    assert pl.Predict("a -> b").named_predictors()[0][0] == "self"


def test_trace_follows_python_control_flow():
    prog = TwoHop(hops=5)
    with pl.using(lm=echo_lm()), pl.trace() as t:
        pred = prog(question="q")
    assert pred.answer == "hop1;"
    names = [e.predictor for e in t]
    assert names == [prog.query, prog.query, prog.answer]
    assert t[1].inputs == {"question": "q", "notes": "hop1;"}
    assert t[1].outputs.query == "stop"
    assert len(t.for_predictor(prog.query)) == 2


def test_no_trace_recorded_outside_a_block_and_nested_blocks_both_record():
    p = pl.Predict("a -> b", lm=pl.ScriptedLM({"": "x"}))
    p(a="0")
    with pl.trace() as outer:
        p(a="1")
        with pl.trace() as inner:
            p(a="2")
    assert [e.inputs["a"] for e in outer] == ["1", "2"]
    assert [e.inputs["a"] for e in inner] == ["2"]


def test_traces_are_per_thread_and_pool_workers_record_into_the_callers_trace():
    p = pl.Predict("a -> b", lm=pl.FunctionLM(lambda m: m[-1]["content"].split("\n")[1]))
    results = {}
    barrier = threading.Barrier(4)

    def worker(i):
        with pl.trace() as t:
            barrier.wait()
            for j in range(20):
                p(a=f"{i}-{j}")
        results[i] = [e.inputs["a"] for e in t]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i in range(4):
        assert results[i] == [f"{i}-{j}" for j in range(20)]

    with pl.trace() as shared, pl.ContextThreadPool(4) as pool:
        list(pool.map(lambda k: p(a=str(k)), range(50)))
    assert sorted(int(e.inputs["a"]) for e in shared) == list(range(50))


def test_context_settings_reach_pool_workers():
    p = pl.Predict("a -> b")
    with pl.using(lm=pl.ScriptedLM({"": "ok"})), pl.ContextThreadPool(2) as pool:
        assert [r.b for r in pool.map(lambda _: p(a="x"), range(3))] == ["ok"] * 3


def test_deepcopy_copies_demos_and_shares_lm():
    lm = pl.ScriptedLM({"": "x"})
    prog = TwoHop()
    prog.query.lm = lm
    prog.query.demos = [pl.Example(question="q", notes="", query="z")]
    copy = prog.deepcopy()
    assert copy.query is not prog.query
    assert copy.query.lm is lm
    assert copy.query.demos == prog.query.demos
    copy.query.demos.append(pl.Example(question="q2", notes="", query="z2"))
    assert len(prog.query.demos) == 1
    assert copy.shared is copy.query  # identity inside the program is kept


def test_reset_copy_clears_demos_and_instructions():
    prog = TwoHop()
    prog.answer.demos = [pl.Example(question="q", notes="", answer="a")]
    prog.answer.signature = prog.answer.signature.with_instructions("New.")
    fresh = prog.reset_copy()
    assert fresh.answer.demos == []
    assert fresh.answer.signature.instructions != "New."
    assert prog.answer.signature.instructions == "New."


def test_module_without_forward_says_what_to_write():
    class Empty(pl.Module):
        pass

    with pytest.raises(pl.UsageError, match="def forward"):
        Empty()()
