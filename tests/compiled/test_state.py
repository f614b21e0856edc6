"""One program state (dump_state / load_state), the registry of program kinds, the allowlist
of LM options a file may carry, and the resume hash that reads the same state."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import pliable as pl
from pliable.compiled.kinds import program_kind, unregister_program_kind
from pliable.lm.options import SAMPLING_OPTIONS, check_file_options, file_options, redact_url
from pliable.optimizers.state import state_hash


class Person(BaseModel):
    name: str


class PersonWithAge(BaseModel):
    name: str
    age: int


def qa(**kwargs):
    return pl.Predict("question -> answer", **kwargs)


# -- the hash reads the whole state --------------------------------------------------------


def test_state_hash_changes_with_everything_that_changes_a_prompt():
    base = state_hash(qa())
    assert state_hash(qa()) == base  # the same state, the same hash

    class Described(pl.Signature):
        question: str = pl.InputField(desc="a sum to work out")
        answer: str = pl.OutputField()

    class Plain(pl.Signature):
        question: str = pl.InputField()
        answer: str = pl.OutputField()

    assert state_hash(pl.Predict(Described)) != state_hash(pl.Predict(Plain))
    assert state_hash(pl.Predict("question -> answer: int")) != base
    one = pl.Signature("question -> answer: Person", types={"Person": Person})
    more = pl.Signature("question -> answer: Person", types={"Person": PersonWithAge})
    assert state_hash(pl.Predict(one)) != state_hash(pl.Predict(more))  # the model gained a field
    changed = qa()
    changed.signature = changed.signature.with_instructions("Answer briefly.")
    assert state_hash(changed) != base
    demo = qa()
    demo.demos = [pl.Example(question="q", answer="a")]
    assert state_hash(demo) != base
    assert state_hash(qa(adapter=pl.JSONAdapter())) != base
    assert state_hash(qa(temperature=0.5)) != base
    assert state_hash(pl.ChainOfThought("question -> answer")) != base


def adder_lm():
    """Right only when the prompt says the question is a sum."""

    def answer(messages):
        text = "\n".join(m["content"] for m in messages)
        q = messages[-1]["content"].split("[[question]]\n", 1)[-1].split("\n", 1)[0]
        a, b = (int(x) for x in q.split("+"))
        return f"[[answer]]\n{a + b if 'a sum' in text else 0}"

    return pl.FunctionLM(answer)


def rows(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def test_a_changed_description_is_never_resumed_from_an_old_score(tmp_path):
    def program(desc):
        class Sig(pl.Signature):
            question: str = pl.InputField(desc=desc)
            answer: str = pl.OutputField()

        return pl.Predict(Sig, lm=adder_lm(), adapter=pl.ChatAdapter())

    def exact(example, pred):
        return example.answer == pred.answer

    opt = pl.BootstrapRandomSearch(exact, num_candidates=2, max_bootstrapped_demos=1)
    first = opt.compile(
        program("the question"), trainset=rows(4), valset=rows(4, 10), run_dir=tmp_path
    )
    assert first.report.baseline.score == 0.0
    # the run log knows the program by the hash of its whole state, descriptions included,
    # so the recorded 0.0 is not taken for the changed program: the run says so and stops
    with pytest.raises(pl.UsageError, match="'program'"):
        opt.compile(program("a sum"), trainset=rows(4), valset=rows(4, 10), run_dir=tmp_path)
    fresh = opt.compile(
        program("a sum"), trainset=rows(4), valset=rows(4, 10), run_dir=tmp_path / "new"
    )
    assert fresh.report.baseline.score == 1.0


# -- load_state is all or nothing ------------------------------------------------------------


class TwoSteps(pl.Module):
    def __init__(self):
        self.first = pl.Predict("question -> draft")
        self.second = pl.Predict("question, draft -> answer")


def test_load_state_changes_nothing_when_any_part_is_bad():
    source = TwoSteps()
    source.first.demos = [pl.Example(question="q", draft="d")]
    source.second.signature = source.second.signature.with_instructions("Be brief.")
    state = json.loads(json.dumps(source.dump_state()))
    target = TwoSteps()
    before = target.dump_state()
    bad = json.loads(json.dumps(state))
    bad["predictors"]["second"]["lm"] = {
        "model": "openai/gpt-4o-mini",
        "options": {"api_base": "http://127.0.0.1:9/v1"},
    }
    with pytest.raises(pl.CompiledFileError, match="api_base"):
        target.load_state(bad)
    assert target.dump_state() == before  # the first predictor was not touched either
    target.load_state(state)
    assert target.dump_state() == state


def test_from_state_rebuilds_what_dump_state_wrote():
    cot = pl.ChainOfThought("question -> answer: int", temperature=0.0)
    cot.demos = [pl.Example(question="1+1", reasoning="r", answer=2)]
    state = json.loads(json.dumps(cot.dump_state()))
    again = pl.ChainOfThought.from_state(state)
    assert again.dump_state() == cot.dump_state()
    with pytest.raises(pl.CompiledFileError, match="ChainOfThought"):
        pl.Predict.from_state(state)


# -- the registry of program kinds ---------------------------------------------------------


class Registered(pl.Module):
    def __init__(self):
        self.step = pl.Predict("text -> label")

    def forward(self, text):
        return self.step(text=text)


def test_a_registered_kind_is_saved_and_loaded_by_its_name(tmp_path):
    with pytest.raises(pl.CompiledFileError, match="register_program_kind"):
        pl.load(Registered().save(tmp_path / "before.json"))
    pl.register_program_kind("tests.Registered", Registered)
    try:
        program = Registered()
        program.step.demos = [pl.Example(text="t", label="l")]
        path = program.save(tmp_path / "r.json")
        assert json.loads(path.read_text())["program"] == "tests.Registered"
        loaded = pl.load(path)
        assert type(loaded) is Registered
        assert loaded.dump_state() == program.dump_state()
        pl.register_program_kind("tests.Registered", Registered)  # the same again: fine
        with pytest.raises(pl.ConfigurationError, match="already registered"):
            pl.register_program_kind("tests.Registered", TwoSteps)
        with pytest.raises(pl.ConfigurationError, match="already registered as"):
            pl.register_program_kind("tests.Other", Registered)
    finally:
        unregister_program_kind("tests.Registered")
    with pytest.raises(pl.ConfigurationError, match="dotted name"):
        pl.register_program_kind("not a name", Registered)
    with pytest.raises(pl.ConfigurationError, match="from_state"):
        pl.register_program_kind("tests.NotAProgram", int)


def test_builtin_kinds_come_from_entry_points_without_importing_programs():
    code = (
        "import sys, pliable.compiled.kinds as k\n"
        "assert 'pliable.programs.rag' not in sys.modules\n"
        "cls = k.program_kind('pliable.RAG')\n"
        "print(cls.__module__, cls.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pliable.programs.rag", "RAG"]
    for name in ("pliable.Predict", "pliable.ChainOfThought", "pliable.KNNProgram"):
        assert program_kind(name) is not None
    assert program_kind("os.system") is None


# -- LM options: an allowlist, both ways -------------------------------------------------------


def test_saving_keeps_only_sampling_options_and_says_what_it_left_out(tmp_path, caplog):
    secret = "sk-do-not-write-me"
    lm = pl.LM(
        "openai/gpt-4o-mini",
        api_key=secret,
        api_base=f"https://user:{secret}@example.invalid/v1",
        temperature=0.1,
        max_tokens=64,
        extra_body={"api_key": secret},
        default_headers={"Authorization": f"Bearer {secret}"},
        bearer=secret,
        passwd=secret,
        cookie=secret,
        metadata={"authorization": secret},
        my_odd_option=secret,
    )
    program = qa(lm=lm, top_p=0.9, session_token=secret, proxy=secret)
    with caplog.at_level(logging.WARNING, logger="pliable"):
        path = program.save(tmp_path / "qa.json")
    text = path.read_text()
    assert secret not in text
    saved = json.loads(text)["predictors"]["self"]
    assert saved["lm"]["options"] == {"temperature": 0.1, "max_tokens": 64}
    assert saved["config"] == {"top_p": 0.9}
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "my_odd_option" in warned
    assert "extra_body" in warned
    assert secret not in warned  # names only, never values
    assert secret not in repr(lm)
    assert "***@example.invalid" in repr(lm)


def test_file_options_and_their_check():
    kept, dropped = file_options({"temperature": 0, "stop": ("a",), "api_base": "x", "n": 0})
    assert kept == {"temperature": 0, "stop": ["a"]}
    assert dropped == ["api_base", "n"]
    assert check_file_options({"temperature": 0.2, "seed": 3}, "lm.options") is None
    assert "timeout" in (check_file_options({"timeout": 1}, "lm.options") or "")
    assert "number" in (check_file_options({"temperature": "hot"}, "lm.options") or "")
    assert "max_tokens" in SAMPLING_OPTIONS
    assert "api_key" not in SAMPLING_OPTIONS
    assert redact_url("http://a:b@host:1/v1") == "http://***@host:1/v1"
    assert redact_url("http://host/v1") == "http://host/v1"


@pytest.mark.parametrize(
    "model",
    ["", "local//etc/passwd", "local/../x.gguf", "/tmp/x.gguf", "local/custom.gguf", "a b"],
)
def test_a_file_never_names_a_path_or_an_empty_model(tmp_path, model):
    path = qa(lm=pl.LM("openai/gpt-4o-mini")).save(tmp_path / "qa.json")
    data = json.loads(path.read_text())
    data["predictors"]["self"]["lm"]["model"] = model
    path.write_text(json.dumps(data))
    with pytest.raises(pl.CompiledFileError, match="model"):
        pl.load(path)


# -- the CLI: --model replaces the file's model ---------------------------------------------


def test_cli_model_overrides_the_file(tmp_path: Path, capsys):
    from pliable.cli import main

    pl.register_provider("clidemo", lambda model, settings: pl.FunctionLM(lambda m: "from demo"))
    try:
        path = qa(lm=pl.LM("openai/gpt-4o-mini"), adapter=pl.ChatAdapter()).save(
            tmp_path / "qa.json"
        )
        code = main(["run", str(path), "--model", "clidemo/x", "--no-cache", "-i", "question=q"])
        out = capsys.readouterr().out
    finally:
        from pliable.lm.providers import unregister_provider

        unregister_provider("clidemo")
    assert code == 0, out
    assert json.loads(out.splitlines()[-1]) == {"answer": "from demo"}


def test_history_and_cache_keys_never_hold_credentials_under_unusual_names():
    from pliable.lm.cache import request_key

    secret = "sk-history-secret"
    pl.register_provider("histdemo", lambda model, settings: pl.FunctionLM(lambda m: "ok"))
    try:
        lm = pl.LM(
            "histdemo/x",
            cache=False,
            extra_body={"api_key": secret},
            default_headers={"Authorization": secret},
            bearer=secret,
            cookie=secret,
            metadata={"authorization": secret},
            temperature=0,
        )
        lm.complete([{"role": "user", "content": "hi"}])
    finally:
        from pliable.lm.providers import unregister_provider

        unregister_provider("histdemo")
    (entry,) = lm.history.last(1)
    assert secret not in json.dumps(dict(entry.options), default=str)
    assert secret not in entry.render()
    assert entry.options["temperature"] == 0
    base = {"model": "m", "messages": [], "temperature": 0}
    assert request_key({**base, "api_key": "a"}) == request_key({**base, "api_key": "b"})
    assert request_key({**base, "extra_body": {"top_k": 1}}) != request_key(
        {**base, "extra_body": {"top_k": 2}}
    )


# -- what a review found: limits, depth, and the paths a file reaches through a folder ------


def test_deep_nesting_is_refused_before_anything_reads_it(tmp_path):
    path = qa().save(tmp_path / "qa.json")
    data = json.loads(path.read_text())
    value: object = "x"
    for _ in range(900):
        value = [value]
    data["predictors"]["self"]["demos"] = [{"question": value, "answer": "a"}]
    path.write_text(json.dumps(data))
    for read in (pl.load, pl.render_prompts):
        with pytest.raises(pl.CompiledFileError, match="levels deep"):
            read(path)


def test_a_template_with_many_placeholders_is_refused_quickly():
    from pliable.adapters.template import TemplateAdapter

    config = {"template": {"user": "{question}" * 200_000}}
    with pytest.raises(pl.UsageError, match="placeholders"):
        TemplateAdapter.from_dict(config)


def test_a_retriever_folder_named_by_a_file_cannot_name_a_model_path(tmp_path):
    from pliable.lm.embeddings import FunctionEmbedder

    corpus = ["Paris is in France.", "Berlin is in Germany."]
    embedder = FunctionEmbedder(lambda texts: [[len(t), 1.0] for t in texts], name="len")
    retriever = pl.EmbeddingRetriever(corpus, embedder)
    retriever.save(tmp_path / "index")
    path = pl.RAG("question -> answer", retriever=retriever).save(tmp_path / "rag.json")
    manifest_path = tmp_path / "index" / "retriever.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["embedding"]["embedder"] = {"kind": "local", "name": "local//tmp/evil.gguf"}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(pl.CompiledFileError, match="never a path"):
        pl.load(path)
    assert isinstance(pl.load(path, retriever=retriever), pl.RAG)  # yours: nothing read
    data = json.loads(path.read_text())
    data["program_config"]["k"] = 10**12
    path.write_text(json.dumps(data))
    with pytest.raises(pl.CompiledFileError, match="from 1 to"):
        pl.load(path, retriever=retriever)


@pytest.mark.parametrize(
    ("options", "shown"),
    [({"n": 65}, "1 to 64"), ({"max_tokens": 10**9}, "1 to"), ({"top_logprobs": 10**9}, "0 to")],
)
def test_a_file_cannot_multiply_what_a_call_costs(tmp_path, options, shown):
    path = qa(lm=pl.LM("openai/gpt-4o-mini")).save(tmp_path / "qa.json")
    data = json.loads(path.read_text())
    data["predictors"]["self"]["lm"]["options"] = options
    path.write_text(json.dumps(data))
    with pytest.raises(pl.CompiledFileError, match=shown):
        pl.load(path)


def test_redaction_hides_every_part_of_a_credential():
    assert redact_url("http://u:p@ss@h/v1?api_key=S&x=1") == "http://***@h/v1?api_key=***&x=1"
    assert "S" not in repr(pl.LM("openai/x", api_base="http://u:p@ss@h/v1?api_key=S"))


def test_orders_that_never_reach_a_prompt_leave_the_hash_alone():
    a = qa(lm=pl.LM("openai/x", temperature=0, max_tokens=5))
    b = qa(lm=pl.LM("openai/x", max_tokens=5, temperature=0))
    assert state_hash(a) == state_hash(b)
    a.demos = [pl.Example(question="q", answer="a")]
    b.demos = [pl.Example(answer="a", question="q")]
    assert state_hash(a) == state_hash(b)
