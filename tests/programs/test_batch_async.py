import asyncio

import pytest

import pliable as pl


def number_lm():
    def answer(messages):
        q = messages[-1]["content"].split("\n")[1]
        if q == "boom":
            return "[[answer]]\nnot a number"
        return f"[[answer]]\n{len(q)}"

    return pl.FunctionLM(answer)


def test_batch_keeps_order_and_collects_errors_per_example():
    qa = pl.Predict("question -> answer: int", lm=number_lm())
    items = [pl.Example(question="a" * i, answer=i).with_inputs("question") for i in range(1, 9)]
    items.insert(3, {"question": "boom"})
    results = qa.batch(items, num_threads=4, progress=False)
    assert [r.answer for r in results if not isinstance(r, Exception)] == list(range(1, 9))
    assert isinstance(results[3], pl.ParseError)
    assert len(results) == 9


def test_batch_stops_after_max_errors_with_partial_results():
    qa = pl.Predict("question -> answer: int", lm=number_lm())
    with pytest.raises(pl.BatchError, match="max_errors=1") as info:
        qa.batch([{"question": "boom"}] * 6, num_threads=1, max_errors=1, progress=False)
    done = [r for r in info.value.results if r is not None]
    assert len(done) == 2
    assert all(isinstance(r, pl.ParseError) for r in done)
    assert isinstance(info.value.__cause__, pl.ParseError)


def test_batch_workers_see_context_traces_and_usage():
    qa = pl.Predict("question -> answer: int")
    with pl.using(lm=number_lm()), pl.trace() as t:
        results = qa.batch(
            [{"question": "x" * i} for i in range(1, 6)], num_threads=3, progress=False
        )
    assert [r.answer for r in results] == [1, 2, 3, 4, 5]
    assert sorted(e.outputs.answer for e in t) == [1, 2, 3, 4, 5]


def test_batch_rejects_bad_items_and_thread_counts():
    qa = pl.Predict("question -> answer", lm=number_lm())
    with pytest.raises(pl.UsageError, match="num_threads"):
        qa.batch([{"question": "a"}], num_threads=0)
    with pytest.raises(pl.UsageError, match="Examples or dicts"):
        qa.batch(["a question"])  # type: ignore[list-item]


def test_progress_bar_can_be_turned_on_and_off(capsys):
    qa = pl.Predict("question -> answer: int", lm=number_lm())
    qa.batch([{"question": "ab"}] * 3, progress=True)
    assert "/3 [" in capsys.readouterr().err
    qa.batch([{"question": "ab"}] * 3, progress=False)
    assert capsys.readouterr().err == ""


def test_predict_acall_and_module_acall():
    qa = pl.Predict("question -> answer: int", lm=number_lm())

    class Twice(pl.Module):
        def __init__(self):
            self.qa = qa

        def forward(self, question):
            return self.qa(question=question + question)

    async def main():
        direct = await qa.acall(question="abc")
        wrapped = await Twice().acall(question="abc")
        many = await asyncio.gather(*(qa.acall(question="x" * i) for i in range(1, 4)))
        return direct, wrapped, many

    direct, wrapped, many = asyncio.run(main())
    assert (direct.answer, wrapped.answer) == (3, 6)
    assert [p.answer for p in many] == [1, 2, 3]


def test_module_aforward_is_preferred():
    class Native(pl.Module):
        def forward(self, x):
            raise AssertionError("forward should not run")

        async def aforward(self, x):
            return pl.Prediction(y=x * 2)

    assert asyncio.run(Native().acall(x=2)).y == 4
