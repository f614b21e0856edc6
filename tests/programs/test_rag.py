"""RAG and MultiHopQA: notes across hops, whole-program bootstrapping, restore from JSON."""

from __future__ import annotations

import pytest

import pliable as pl
from pliable.programs.rag import RAG, MultiHopQA
from pliable.programs.retrieve import BM25Retriever

CORPUS = [
    {"id": "p-orla", "text": "Orla Venkt is a painter. Orla Venkt was born in Hobbin."},
    {"id": "t-hobbin", "text": "Hobbin is a small town. The Olla River runs through Hobbin."},
    {"id": "t-wennick", "text": "Wennick is a town. The Corrin River runs through Wennick."},
    {"id": "p-nuala", "text": "Nuala Briskel plays the harp. Nuala Briskel was born in Wennick."},
]
QUESTIONS = [
    ("Which river runs through the town where Orla Venkt was born?", "Olla River"),
    ("Which river runs through the town where Nuala Briskel was born?", "Corrin River"),
]


def field(message: str, name: str) -> str:
    return message.split(f"[[{name}]]\n", 1)[1].split("\n\n", 1)[0]


def scripted_model(messages, options):
    """Query step: the person's name on hop 1, the town found in the notes on hop 2.
    Answer step: the river named in the notes."""
    last = messages[-1]["content"]
    if "Reply with your query only." in last:
        notes = field(last, "notes")
        for town in ("Hobbin", "Wennick"):
            if f"born in {town}" in notes:
                return f"[[query]]\n{town} river"
        name = " ".join(field(last, "question").split()[-4:-2])
        return f"[[query]]\n{name}"
    notes = field(last, "notes")
    for river in ("Olla River", "Corrin River"):
        if f"The {river} runs" in notes:
            return f"[[answer]]\n{river}"
    return "[[answer]]\nunknown"


@pytest.fixture
def retriever(tmp_path):
    index = BM25Retriever(CORPUS)
    index.save(tmp_path / "index")
    return pl.load_retriever(tmp_path / "index")


def examples():
    return [pl.Example(question=q, answer=a).with_inputs("question") for q, a in QUESTIONS]


def test_multihop_collects_notes_across_hops(retriever):
    program = MultiHopQA(retriever=retriever, hops=2, k=1)
    with pl.using(lm=pl.FunctionLM(scripted_model)):
        pred = program(question=QUESTIONS[0][0])
    assert pred.answer == "Olla River"
    assert pred.queries == ["Orla Venkt", "Hobbin river"]
    assert [p.id for p in pred.passages] == ["p-orla", "t-hobbin"]


def test_bootstrap_of_a_two_hop_program_gives_demos_to_both_stages(retriever):
    program = MultiHopQA(retriever=retriever, hops=2, k=1)
    exact = pl.metrics.exact_match("answer")
    with pl.using(lm=pl.FunctionLM(scripted_model)):
        compiled = pl.BootstrapFewShot(
            exact, max_bootstrapped_demos=4, max_labeled_demos=0
        ).compile(program, trainset=examples())
    stages = dict(compiled.named_predictors())
    query_demos = stages["generate_query"].demos
    # both hops of both questions: the second hop's demo carries the first hop's notes
    assert [d.query for d in query_demos] == [
        "Orla Venkt",
        "Hobbin river",
        "Nuala Briskel",
        "Wennick river",
    ]
    assert query_demos[0].notes == []
    assert "born in Hobbin" in query_demos[1].notes[0]
    assert [d.answer for d in stages["answer"].demos] == ["Olla River", "Corrin River"]


def test_a_compiled_multihop_program_restores_without_user_code(retriever, tmp_path):
    program = MultiHopQA(retriever=retriever, hops=2, k=1)
    exact = pl.metrics.exact_match("answer")
    with pl.using(lm=pl.FunctionLM(scripted_model)):
        compiled = pl.BootstrapFewShot(
            exact, max_bootstrapped_demos=2, max_labeled_demos=0
        ).compile(program, trainset=examples())
    path = compiled.save(tmp_path / "multihop.json")
    restored = pl.load(path)
    assert type(restored) is MultiHopQA
    assert (restored.hops, restored.k) == (2, 1)
    assert restored.retrieve.retriever.reference() == retriever.reference()
    for name in ("generate_query", "answer"):
        assert restored.render(name, question="q", notes=["n"]) == compiled.render(
            name, question="q", notes=["n"]
        )
    with pl.using(lm=pl.FunctionLM(scripted_model)):
        assert restored(question=QUESTIONS[1][0]).answer == "Corrin River"


def test_restore_with_another_retriever_and_a_missing_index(retriever, tmp_path):
    program = RAG(retriever=retriever, k=2, reasoning=False)
    path = program.save(tmp_path / "rag.json")
    other = BM25Retriever(CORPUS[:2])
    assert pl.load(path, retriever=other).retrieve.retriever is other
    unsaved = RAG(retriever=BM25Retriever(CORPUS), k=2).save(tmp_path / "unsaved.json")
    restored = pl.load(unsaved)  # no folder to reload from: the program has no retriever
    with pytest.raises(pl.UsageError, match="retriever"):
        restored(question="x")


def test_rag_answers_from_the_retrieved_context(retriever):
    seen = []

    def model(messages, options):
        seen.append(messages[-1]["content"])
        return "[[answer]]\nHobbin"

    program = RAG(retriever=retriever, k=1, reasoning=False)
    with pl.using(lm=pl.FunctionLM(model)):
        pred = program(question="Where was Orla Venkt born?")
    assert pred.answer == "Hobbin"
    assert [p.id for p in pred.passages] == ["p-orla"]
    assert "Orla Venkt was born in Hobbin" in field(seen[0], "context")


def test_react_restores_with_its_tools_and_says_when_they_are_missing(tmp_path):
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    program = pl.ReAct("question -> answer", tools=[add], max_steps=3)
    path = program.save(tmp_path / "react.json")
    with pytest.raises(pl.CompiledFileError, match=r"tools \['add'\]"):
        pl.load(path)
    restored = pl.load(path, tools=[add])
    assert type(restored) is pl.ReAct
    assert restored.render("react", question="q", trajectory="t") == program.render(
        "react", question="q", trajectory="t"
    )


@pytest.mark.parametrize(("kwargs", "shown"), [({"hops": 0}, "hops"), ({"k": -1}, "k")])
def test_bad_settings_are_refused(kwargs, shown):
    with pytest.raises(pl.UsageError, match=shown):
        MultiHopQA(**kwargs)


def test_a_file_fills_only_a_program_built_with_its_settings(retriever, tmp_path):
    path = RAG(retriever=retriever, k=2, reasoning=False).save(tmp_path / "rag.json")
    same = RAG(retriever=BM25Retriever(CORPUS[:2]), k=2, reasoning=False)
    assert same.load(path) is same  # another retriever is fine: it is yours
    other = RAG(retriever=retriever, k=3, reasoning=False)
    with pytest.raises(pl.CompiledFileError, match="program_config"):
        other.load(path)
    assert other.k == 3
