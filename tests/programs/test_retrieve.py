"""Retrieval: BM25 and embedding retrievers, their on-disk form, and the Retrieve module."""

import asyncio
import copy
import json
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import bm25s
import numpy as np
import pytest

import pliable as pl
from pliable.errors import ConfigurationError, DataError, InputError, UsageError
from pliable.lm import embeddings
from pliable.lm.embeddings import FunctionEmbedder, LiteLLMEmbedder
from pliable.programs.retrieve import (
    BM25Retriever,
    EmbeddingRetriever,
    Passage,
    Retrieve,
    Retriever,
    load_retriever,
    normalize_corpus,
)

CORPUS = {
    "paris": "Paris is the capital and largest city of France.",
    "berlin": "Berlin is the capital of Germany, on the river Spree.",
    "eiffel": "The Eiffel Tower is a wrought-iron tower in Paris.",
    "banana": "Bananas are yellow fruit that grow in bunches.",
    "python": "Python is a programming language created by Guido van Rossum.",
    "spree": "The Spree flows through Berlin and joins the Havel.",
}
VOCAB = ["paris", "france", "berlin", "germany", "eiffel", "tower", "banana", "yellow", "python"]


def bag_of_words(texts):
    """A deterministic embedding: the count of each VOCAB word in the text."""
    return [[float(t.lower().count(w)) for w in VOCAB] for t in texts]


class CountingEmbedder(FunctionEmbedder):
    """A FunctionEmbedder that counts the texts it embeds."""

    def __init__(self, fn=bag_of_words, name="bow"):
        super().__init__(fn, name=name)
        self.calls = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return super().embed(texts)


def ids(hits):
    return [p.id for p in hits]


# --- corpus --------------------------------------------------------------------------------------


def test_corpus_forms_give_ids_texts_and_metadata():
    assert [(p.id, p.text) for p in normalize_corpus(["a text", "b text"])] == [
        ("0", "a text"),
        ("1", "b text"),
    ]
    assert ids(normalize_corpus({"x": "one", "y": "two"})) == ["x", "y"]
    rows = normalize_corpus([{"id": 7, "text": "seven", "url": "u7"}, {"text": "no id"}])
    assert [(p.id, p.text, dict(p.metadata)) for p in rows] == [
        ("7", "seven", {"url": "u7"}),
        ("1", "no id", {}),
    ]
    examples = normalize_corpus([pl.Example(id="e1", text="from an example", year=2001)])
    assert (examples[0].id, examples[0].metadata["year"]) == ("e1", 2001)
    again = normalize_corpus([Passage("p", "kept", 3.5, {"k": 1})])
    assert again[0] == Passage("p", "kept", 0.0, {"k": 1})
    assert str(again[0]) == "kept"


@pytest.mark.parametrize(
    ("corpus", "message", "line"),
    [
        (
            [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "a", "text": "z"}],
            r"row 3: the id 'a' is already used by row 1",
            3,
        ),
        (["fine", "   "], r"row 2: passage '1' has empty text", 2),
        ([{"id": "a", "body": "x"}], r"row 1: no 'text' key \(keys: id, body\)", 1),
        ([{"id": 1.5, "text": "x"}], r"row 1: the id 1.5 is a float", 1),
        (["ok", 42], r"row 2: 42 is a int", 2),
        ("just one string", r"single str", None),
        ([], r"corpus is empty", None),
    ],
)
def test_corpus_errors_name_the_row(corpus, message, line):
    with pytest.raises(DataError, match=message) as info:
        normalize_corpus(corpus)
    assert info.value.line == line
    assert info.value.source == "corpus"


# --- BM25 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bm25():
    return BM25Retriever(CORPUS)


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("What is the capital of France?", "paris"),
        ("capital of Germany", "berlin"),
        ("wrought-iron tower", "eiffel"),
        ("yellow fruit", "banana"),
        ("who created the Python language", "python"),
        ("what joins the Havel?", "spree"),
    ],
)
def test_bm25_ranks_the_keyword_match_first(bm25, query, best):
    assert bm25.search(query, k=3)[0].id == best


def test_hits_carry_id_and_score_sorted_best_first(bm25):
    hits = bm25.search("Berlin Spree river", k=4)
    assert len(hits) == 4
    assert all(isinstance(h, Passage) and isinstance(h.score, float) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert set(ids(hits[:2])) == {"berlin", "spree"}
    assert hits[0].score > 0
    assert hits[0].text == CORPUS[hits[0].id]


def test_k_larger_than_the_corpus_returns_everything_ties_in_corpus_order(bm25):
    assert ids(bm25.search("zzz unknown words", k=100)) == list(CORPUS)  # all score 0
    assert all(h.score == 0.0 for h in bm25.search("zzz", k=100))
    assert len(bm25.search("Paris", k=100)) == len(CORPUS) == len(bm25)


def test_ties_keep_corpus_order_whatever_the_corpus_size():
    texts = ["rivers and lakes", "rivers", "mountains"]  # three scores for "rivers"
    corpus = {f"doc{i:03d}": texts[(i * 7) % 3] for i in range(300)}
    expected = sorted(
        corpus, key=lambda d: ["rivers", "rivers and lakes", "mountains"].index(corpus[d])
    )
    bm25 = BM25Retriever(corpus)
    assert ids(bm25.search("rivers", k=300)) == expected  # sorted() is stable: corpus order
    assert ids(bm25.search("rivers", k=7)) == expected[:7]

    def embed(batch):
        return [[1.0, 0.0] if "rivers" in t else [0.0, 1.0] for t in batch]

    embedded = EmbeddingRetriever(corpus, FunctionEmbedder(embed))
    by_vector = sorted(corpus, key=lambda d: "rivers" not in corpus[d])
    assert ids(embedded.search("rivers", k=300)) == by_vector
    assert ids(embedded.search("rivers", k=5)) == by_vector[:5]


def test_search_arguments_are_checked(bm25):
    with pytest.raises(InputError, match="query must be a string"):
        bm25.search(["Paris"], k=1)
    with pytest.raises(InputError, match="k must be a positive"):
        bm25.search("Paris", k=0)


def test_bm25_stopwords_and_settings():
    with_stop = BM25Retriever(["the cat", "a dog"])
    without = BM25Retriever(["the cat", "a dog"], stopwords=None)
    assert with_stop.search("the", k=1)[0].score == 0.0
    assert without.search("the", k=1)[0].score > 0.0
    custom = BM25Retriever(["red cat", "blue dog"], stopwords=["red"])
    assert custom.search("red", k=1)[0].score == 0.0
    with pytest.raises(UsageError, match="stopwords='klingon'"):
        BM25Retriever(["x y"], stopwords="klingon")
    with pytest.raises(UsageError, match=r"b must be a number from 0\.0 to 1\.0; got 2"):
        BM25Retriever(["some text"], b=2)
    with pytest.raises(DataError, match="No passage of the corpus has a word left"):
        BM25Retriever(["the", "a an"])


# --- embeddings ----------------------------------------------------------------------------------


def test_embedding_retriever_ranks_by_cosine_similarity():
    emb = CountingEmbedder()
    retriever = EmbeddingRetriever(CORPUS, emb, batch_size=4)
    assert [len(c) for c in emb.calls] == [4, 2]  # the corpus, in batches
    hits = retriever.search("yellow banana", k=2)
    assert hits[0].id == "banana"
    assert hits[0].score == pytest.approx(1.0)
    assert hits[1].score < hits[0].score
    assert ids(retriever.search("Eiffel tower in Paris", k=1)) == ["eiffel"]
    assert retriever.dimension == len(VOCAB)
    assert retriever.vectors.shape == (len(CORPUS), len(VOCAB))
    assert len(retriever.search("python", k=50)) == len(CORPUS)


def test_embedder_must_look_like_one():
    with pytest.raises(UsageError, match="embedder must have a `name`"):
        EmbeddingRetriever(["a"], embedder=lambda texts: texts)


# --- saving and loading ---------------------------------------------------------------------------


def _no_pickle_files(directory):
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if p.suffix in (".pkl", ".pickle", ".joblib")]
    for path in files:
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises for an object (pickled) array
        elif path.suffix in (".json", ".jsonl"):
            for line in (
                path.read_text("utf-8").splitlines()
                if path.suffix == ".jsonl"
                else [path.read_text("utf-8")]
            ):
                json.loads(line)
        else:
            raise AssertionError(f"unexpected file {path}")
    return files


@pytest.fixture
def no_pickle(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)


def test_bm25_round_trip_without_reindexing(tmp_path, monkeypatch, bm25, no_pickle):
    queries = ["capital of France", "Berlin river", "yellow", "nothing matches"]
    before = [bm25.search(q, k=3) for q in queries]
    directory = bm25.save(tmp_path / "idx")
    assert directory == (tmp_path / "idx").resolve()
    assert bm25.reference() == {"kind": "bm25", "path": str(directory)}
    _no_pickle_files(directory)

    def refuse(*args, **kwargs):
        raise AssertionError("the index was rebuilt")

    monkeypatch.setattr(bm25s.BM25, "index", refuse)
    monkeypatch.setattr(bm25s.BM25, "build_index_from_tokens", refuse)
    loaded = load_retriever(tmp_path / "idx")
    assert isinstance(loaded, BM25Retriever)
    assert [loaded.search(q, k=3) for q in queries] == before
    assert loaded.reference() == {"kind": "bm25", "path": str(directory)}
    assert (loaded.k1, loaded.b, loaded.stopwords) == (1.5, 0.75, "en")
    assert BM25Retriever.load(directory).search("yellow", k=1)[0].id == "banana"


def test_embedding_round_trip_without_re_embedding(tmp_path, no_pickle):
    emb = CountingEmbedder()
    retriever = EmbeddingRetriever(CORPUS, emb)
    before = retriever.search("Paris France", k=3)
    assert retriever.reference() is None
    directory = retriever.save(tmp_path / "emb")
    files = _no_pickle_files(directory)
    assert {p.name for p in files} == {"retriever.json", "passages.jsonl", "vectors.npy"}
    manifest = json.loads((directory / "retriever.json").read_text())
    assert manifest["embedding"] == {
        "dimension": len(VOCAB),
        "embedder": {"kind": "custom", "name": "bow"},
    }

    fresh = CountingEmbedder()
    loaded = load_retriever({"kind": "embedding", "path": str(directory)}, embedder=fresh)
    assert isinstance(loaded, EmbeddingRetriever)
    assert fresh.calls == []  # the corpus is not embedded again
    assert loaded.search("Paris France", k=3) == before
    assert fresh.calls == [["Paris France"]]
    np.testing.assert_array_equal(loaded.vectors, retriever.vectors)


def test_litellm_embedder_is_rebuilt_from_its_name(tmp_path, monkeypatch):
    class FakeLiteLLM:
        def __init__(self):
            self.models = []

        def embedding(self, model, input, **options):
            self.models.append(model)
            return {
                "data": [{"index": i, "embedding": v} for i, v in enumerate(bag_of_words(input))]
            }

    fake = FakeLiteLLM()
    monkeypatch.setattr(embeddings, "_litellm_module", lambda: fake)
    EmbeddingRetriever(CORPUS, LiteLLMEmbedder("openai/text-embedding-3-small")).save(tmp_path)
    loaded = load_retriever(tmp_path)
    assert isinstance(loaded.embedder, LiteLLMEmbedder)
    assert loaded.search("yellow bananas", k=1)[0].id == "banana"
    assert fake.models == ["openai/text-embedding-3-small"] * 2


def test_a_custom_embedder_must_be_passed_when_loading(tmp_path):
    EmbeddingRetriever(CORPUS, CountingEmbedder()).save(tmp_path)
    with pytest.raises(ConfigurationError, match=r"'bow'.*embedder=\.\.\.") as info:
        load_retriever(tmp_path)
    assert str(tmp_path.resolve()) in str(info.value)


def test_an_embedder_of_another_dimension_is_refused(tmp_path, caplog):
    EmbeddingRetriever(CORPUS, CountingEmbedder()).save(tmp_path)
    short = FunctionEmbedder(lambda texts: [[1.0, 2.0] for _ in texts], name="two-d")
    loaded = EmbeddingRetriever.load(tmp_path, embedder=short)
    assert "built with the embedder 'bow'" in caplog.text  # another name: a warning
    with pytest.raises(UsageError, match=r"vectors of 2 numbers .* holds vectors of 9") as info:
        loaded.search("Paris", k=1)
    assert str(tmp_path.resolve()) in str(info.value)


def test_load_retriever_picks_the_kind_and_checks_references(tmp_path, bm25):
    bm25.save(tmp_path / "b")
    EmbeddingRetriever(CORPUS, CountingEmbedder()).save(tmp_path / "e")
    assert type(load_retriever(tmp_path / "b")) is BM25Retriever
    assert type(load_retriever(tmp_path / "e", embedder=CountingEmbedder())) is EmbeddingRetriever
    with pytest.raises(UsageError, match="holds a 'bm25' retriever"):
        load_retriever({"kind": "embedding", "path": str(tmp_path / "b")})
    with pytest.raises(UsageError, match=r"'kind': \.\.\., 'path': \.\.\."):
        load_retriever({"kind": "bm25"})
    with pytest.raises(UsageError, match="not an embedding one"):
        EmbeddingRetriever.load(tmp_path / "b")
    with pytest.raises(UsageError, match="not a BM25 one"):
        BM25Retriever.load(tmp_path / "e")


def _saved(tmp_path, kind):
    if kind == "bm25":
        return BM25Retriever(CORPUS).save(tmp_path / kind)
    return EmbeddingRetriever(CORPUS, CountingEmbedder()).save(tmp_path / kind)


@pytest.mark.parametrize(
    ("kind", "damage", "blamed", "message"),
    [
        (
            "bm25",
            lambda d: (d / "retriever.json").write_text("{not json"),
            "retriever.json",
            "cannot be read as JSON",
        ),
        ("bm25", lambda d: (d / "retriever.json").unlink(), "retriever.json", "is missing"),
        ("bm25", lambda d: (d / "passages.jsonl").unlink(), "passages.jsonl", "is missing"),
        (
            "bm25",
            lambda d: (d / "bm25" / "indptr.csc.index.npy").unlink(),
            "indptr.csc.index.npy",
            "is missing",
        ),
        (
            "bm25",
            lambda d: (d / "bm25" / "data.csc.index.npy").write_bytes(b"garbage"),
            "data.csc.index.npy",
            "not a valid .npy",
        ),
        (
            "bm25",
            lambda d: (d / "passages.jsonl").write_text('{"id": "a", "text": "x"}\n'),
            "passages.jsonl",
            "holds 1 passages but the manifest says 6",
        ),
        ("embedding", lambda d: (d / "vectors.npy").unlink(), "vectors.npy", "is missing"),
        (
            "embedding",
            lambda d: np.save(d / "vectors.npy", np.zeros((6, 3), np.float32)),
            "vectors.npy",
            r"shape \(6, 3\); the manifest says float32 of shape \(6, 9\)",
        ),
        (
            "embedding",
            lambda d: (d / "passages.jsonl").write_text("oops\n" * 6),
            "passages.jsonl:1",
            "not valid JSON",
        ),
    ],
)
def test_damaged_files_are_named(tmp_path, kind, damage, blamed, message):
    directory = _saved(tmp_path, kind)
    damage(directory)
    with pytest.raises(DataError, match=message) as info:
        load_retriever(directory, embedder=CountingEmbedder())
    assert blamed in str(info.value)
    assert str(directory) in str(info.value)


def test_manifest_checks(tmp_path):
    directory = _saved(tmp_path, "bm25")
    manifest = json.loads((directory / "retriever.json").read_text())
    for change, message in [
        ({"version": 99}, "newer pliable"),
        ({"kind": "faiss"}, "unknown kind 'faiss'"),
        ({"count": 0}, "invalid passage count 0"),
        ({"format": "other"}, "not a retriever manifest"),
        ({"bm25": {"k1": "high", "b": 0.75, "stopwords": "en"}}, "invalid BM25 settings"),
    ]:
        (directory / "retriever.json").write_text(json.dumps({**manifest, **change}))
        with pytest.raises(DataError, match=message):
            load_retriever(directory)
    with pytest.raises(DataError, match="does not exist"):
        load_retriever(tmp_path / "nowhere")


def test_save_refuses_a_foreign_directory_and_overwrites_an_old_retriever(tmp_path, bm25):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(UsageError, match=r"not empty and holds no retriever\.json"):
        bm25.save(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    target = tmp_path / "idx"
    EmbeddingRetriever(CORPUS, CountingEmbedder()).save(target)
    BM25Retriever(["only one passage"]).save(target)
    assert not (target / "vectors.npy").exists()
    again = load_retriever(target)
    assert isinstance(again, BM25Retriever)
    assert len(again) == 1


def test_a_save_that_fails_half_way_leaves_nothing_loadable(tmp_path, monkeypatch):
    target = EmbeddingRetriever(CORPUS, CountingEmbedder()).save(tmp_path / "idx")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        EmbeddingRetriever(["new text"], CountingEmbedder()).save(target)
    with pytest.raises(DataError, match=r"retriever\.json is missing \(was the save interrupted"):
        load_retriever(target, embedder=CountingEmbedder())


def test_metadata_that_is_not_json_fails_the_save_naming_the_passage(tmp_path):
    retriever = BM25Retriever([{"id": "odd", "text": "some words", "when": object()}])
    with pytest.raises(DataError, match="Passage 'odd' has metadata that cannot be saved"):
        retriever.save(tmp_path / "idx")
    assert not (tmp_path / "idx" / "retriever.json").exists()


def test_metadata_round_trips(tmp_path):
    retriever = BM25Retriever([{"id": "a", "text": "alpha words", "url": "https://a", "n": [1]}])
    loaded = load_retriever(retriever.save(tmp_path))
    assert loaded.search("alpha", k=1)[0].metadata == {"url": "https://a", "n": [1]}


# --- the Retrieve module -------------------------------------------------------------------------


def test_retrieve_one_query(bm25):
    search = Retrieve(k=2, retriever=bm25)
    pred = search("capital of France")
    assert isinstance(pred, pl.Prediction)
    assert len(pred.passages) == 2
    assert pred.passages[0].id == "paris"
    assert len(search(query="capital", k=5).passages) == 5
    assert search.named_predictors() == []


def test_retrieve_several_queries_merges_by_id_keeping_the_best_score():
    calls = []

    class Fixed(Retriever):
        def search(self, query, k=3):
            calls.append((query, k))
            return {
                "q1": [Passage("a", "A", 3.0), Passage("b", "B", 1.0)],
                "q2": [Passage("b", "B", 5.0), Passage("c", "C", 1.0), Passage("a", "A", 0.5)],
            }[query][:k]

        def __len__(self):
            return 3

    search = Retrieve(k=2, retriever=Fixed())
    assert [(p.id, p.score) for p in search(["q1", "q2"]).passages] == [("b", 5.0), ("a", 3.0)]
    assert [(p.id, p.score) for p in search(["q1", "q2"], k=3).passages] == [
        ("b", 5.0),
        ("a", 3.0),
        ("c", 1.0),  # tied with nothing better: first seen order
    ]
    assert calls[-2:] == [("q1", 3), ("q2", 3)]
    assert [p.id for p in search(["q2", "q1"], k=3).passages] == ["b", "a", "c"]


def test_retrieve_usage_errors(bm25):
    with pytest.raises(UsageError, match=r"no retriever.*retriever=pl.BM25Retriever"):
        Retrieve(k=3)("anything")
    with pytest.raises(InputError, match="non-empty list"):
        Retrieve(retriever=bm25)([])
    with pytest.raises(InputError, match="Every query must be a string"):
        Retrieve(retriever=bm25)(["ok", 3])
    with pytest.raises(InputError, match="k must be a positive"):
        Retrieve(k=0, retriever=bm25)
    with pytest.raises(UsageError, match="search"):
        Retrieve(retriever="not a retriever")

    class Bad(Retriever):
        def search(self, query, k=3):
            return ["plain text"]

        def __len__(self):
            return 1

    with pytest.raises(UsageError, match=r"must return a list of pl\.Passage"):
        Retrieve(retriever=Bad())("q")
    with pytest.raises(UsageError, match="cannot be saved"):
        Bad().save("anywhere")


def test_copies_share_the_retriever(bm25):
    class Program(pl.Module):
        def __init__(self):
            self.retrieve = Retrieve(k=1, retriever=bm25)

        def forward(self, question):
            return self.retrieve(question)

    program = Program()
    clone = program.deepcopy()
    assert clone.retrieve is not program.retrieve
    assert clone.retrieve.retriever is bm25
    assert copy.deepcopy(bm25) is bm25
    assert clone("yellow").passages[0].id == "banana"
    assert asyncio.run(clone.acall("Berlin")).passages[0].id in {"berlin", "spree"}


def test_retrieve_state_is_json_and_restores_without_user_code(tmp_path):
    retriever = BM25Retriever(CORPUS)
    assert Retrieve(k=2, retriever=retriever).settings() == {"k": 2, "retriever": None}
    retriever.save(tmp_path)
    state = json.loads(json.dumps(Retrieve(k=2, retriever=retriever).settings()))
    restored = Retrieve.from_settings(state)
    assert restored.k == 2
    assert restored("capital of Germany").passages[0].id == "berlin"


def test_concurrent_searches_agree(bm25):
    queries = ["capital of France", "yellow fruit", "Berlin", "Python language"] * 10
    expected = [bm25.search(q, k=2) for q in queries]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda q: bm25.search(q, k=2), queries)) == expected


def test_importing_pliable_does_not_import_bm25s_or_numpy():
    code = (
        "import sys, pliable, pliable.programs.retrieve; "
        "print('bm25s' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
