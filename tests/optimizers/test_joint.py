import json
from collections import Counter

import pytest

import pliable as pl
from pliable.optimizers.instruction_proposer import InstructionProposer
from pliable.optimizers.joint_search import PRESETS, JointSearch
from pliable.optimizers.runlog import RunLog

optuna = pytest.importorskip("optuna")

MAGIC = "Add the two numbers exactly and reply with the sum (MAGIC)."
ORIGINAL = "Given `question`, produce `answer`."


def examples(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


class Fakes:
    """A task LM that adds correctly only under the MAGIC instruction, and a proposer LM
    that writes MAGIC when its tip asks for detail (the second proposal)."""

    def __init__(self):
        self.task_calls = 0
        self.proposals = 0
        self.task = pl.FunctionLM(self._task)
        self.prompt = pl.FunctionLM(self._propose)

    def _task(self, messages):
        last = messages[-1]["content"]
        assert last.startswith("[[question]]"), "the task LM got a proposal prompt"
        self.task_calls += 1
        a, b = last.split("\n")[1].split("+")
        good = "MAGIC" in messages[0]["content"]
        return f"[[answer]]\n{int(a) + int(b) if good else 0}"

    def _propose(self, messages, options):
        assert messages[-1]["content"].startswith("[[task_data]]")
        self.proposals += 1
        if "Be detailed" in messages[-1]["content"]:
            return f"[[instruction]]\n{MAGIC}"
        return f"[[instruction]]\nAnswer the question, attempt {options['sample']}."

    @property
    def calls(self):
        return self.task_calls + self.proposals


def search(fakes, **kwargs):
    kwargs.setdefault("num_threads", 1)
    return JointSearch(exact, prompt_lm=fakes.prompt, **kwargs)


def trial_entries(report):
    return {
        c["trial"]: c for c in report.candidates if c["name"].startswith("trial ") and "trial" in c
    }


def test_picks_the_instruction_that_makes_answers_correct():
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    compiled = search(fakes).compile(program, trainset=examples(8), valset=examples(20, 100))
    report = compiled.report
    assert compiled.signature.instructions == MAGIC
    assert program.signature.instructions == ORIGINAL  # the program passed in is untouched
    assert report.baseline.score == 0.0
    assert report.final.score == 1.0
    assert report.selected == "compiled"
    assert report.candidates[0]["name"] == "baseline"
    assert fakes.proposals == 2  # light: 3 instructions, the current one and 2 proposals
    assert "best candidate on the valset: trial" in " ".join(report.notes)
    assert any("self: 3 instruction candidates, 6 demo-set candidates" in n for n in report.notes)


def test_tpe_is_told_the_minibatch_means_and_params_map_to_candidates(tmp_path):
    fakes = Fakes()
    url = f"sqlite:///{tmp_path}/s.db"
    program = pl.Predict("question -> answer", lm=fakes.task)
    opt = search(fakes, num_trials=8, minibatch_size=6, storage=url, study_name="s")
    compiled = opt.compile(program, trainset=examples(8), valset=examples(20, 100))
    study = optuna.load_study(study_name="s", storage=url)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 8
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    texts = study.user_attrs["pliable_instructions"]["self"]
    assert texts[0] == ORIGINAL
    assert MAGIC in texts
    entries = trial_entries(compiled.report)
    assert sorted(entries) == list(range(8))
    values = set()
    for t in trials:
        entry = entries[t.number]
        assert t.value == entry["minibatch_score"]
        assert entry["minibatch_size"] == 6
        index, demos = t.params["self.instruction"], t.params["self.demos"]
        assert entry["choice"] == {"self": {"instruction": index, "demos": demos}}
        assert entry["instructions"]["self"] == texts[index]
        assert (entry["demos"] == 0) == (demos == 0)  # demo set 0 is "no demos"
        assert t.value == (1.0 if texts[index] == MAGIC else 0.0)
        values.add(t.value)
    assert values == {0.0, 1.0}  # the sampler saw both outcomes


def test_minibatches_per_trial_and_full_evaluations_every_n_trials(tmp_path):
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    valset = examples(40, 100)
    opt = search(fakes, num_trials=6, minibatch_size=5, full_eval_every=3)
    compiled = opt.compile(program, trainset=examples(8), valset=valset, run_dir=tmp_path / "run")
    names = [c["name"] for c in compiled.report.candidates]
    kinds = ["full" if "full valset" in n else n.split()[0] for n in names]
    assert kinds == ["baseline"] + ["trial"] * 3 + ["full"] + ["trial"] * 3 + ["full", "full"]
    events = RunLog.read(tmp_path / "run" / "run.jsonl")
    rows = Counter(e["state"] for e in events if e["event"] == "row")
    candidates = [e for e in events if e["event"] == "candidate"]
    full_states = {c["state"] for c in candidates if c["full"] is not None}
    trials_per_state = Counter(c["state"] for c in candidates if c["name"].startswith("trial "))
    for c in candidates:
        if c["full"] is not None:
            assert len(c["full"]) == 40
        else:
            assert c["minibatch_size"] == 5
    for state, n in rows.items():
        if state in full_states:
            assert n == 40
        else:  # scored only on minibatches: at most 5 examples per trial
            assert n <= 5 * trials_per_state[state]
    assert sum(rows.values()) <= 40 * len(full_states) + 5 * 6
    assert len(full_states - {compiled.report.candidates[0]["state"]}) <= 6 // 3 + 1


def test_estimate_plans_each_phase():
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    opt = search(fakes, num_trials=7, minibatch_size=5, full_eval_every=3)
    plan = opt.estimate(program, trainset=examples(8), valset=examples(4)).phases
    assert plan == {
        "baseline on the valset": 4,
        "bootstrap 4 demo sets (teacher runs)": 32,  # light: 6 sets, none and labeled free
        "propose 2 instructions per predictor": 2,
        "7 trials on minibatches of 4": 28,
        "3 full evaluations on the valset": 12,
        "final score on the valset": 4,
    }
    assert fakes.calls == 0


def test_budget_stops_the_search_with_the_best_so_far():
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    opt = search(fakes, num_trials=10, minibatch_size=8, full_eval_every=2)
    budget = pl.Budget(lm_calls=20 + 8 + 2 + 2 * 8 + 20 + 5)
    compiled = opt.compile(program, trainset=examples(8), valset=examples(20, 100), budget=budget)
    report = compiled.report
    assert report.stopped
    assert "LM calls" in report.stopped
    assert fakes.calls <= budget.lm_calls
    assert report.lm_calls <= budget.lm_calls
    assert "budget reached during the search" in report.notes
    assert any(c["name"].startswith("trial ") for c in report.candidates)
    scored = [c for c in report.candidates if c["score"] is not None]
    best = max(scored, key=lambda c: c["score"])  # max keeps the first of equals
    assert compiled.signature.instructions == best["instructions"]["self"]


def test_budget_spent_building_candidates_skips_the_search():
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    compiled = search(fakes).compile(
        program, trainset=examples(8), valset=examples(10, 100), budget=pl.Budget(lm_calls=14)
    )
    report = compiled.report
    assert report.stopped
    assert fakes.calls == 14
    assert any("search was skipped" in n for n in report.notes)
    assert [c["name"] for c in report.candidates] == ["baseline"]
    assert compiled.signature.instructions == ORIGINAL


def test_workers_sharing_a_study_do_not_repeat_completed_trials(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    train, val = examples(8), examples(20, 100)
    first = Fakes()
    program = pl.Predict("question -> answer", lm=first.task)
    search(first, num_trials=4, storage=url, study_name="shared").compile(
        program, trainset=train, valset=val
    )
    second = Fakes()
    program = pl.Predict("question -> answer", lm=second.task)
    again = search(second, num_trials=4, storage=url, study_name="shared").compile(
        program, trainset=train, valset=val
    )
    assert trial_entries(again.report) == {}  # the 4 completed trials were not run again
    assert any("ran 0 new trials" in n for n in again.report.notes)
    # it still scores the study's most promising configuration on the full valset
    assert again.signature.instructions == MAGIC
    assert again.report.candidates[-1]["name"].endswith("on the full valset")
    third = Fakes()
    program = pl.Predict("question -> answer", lm=third.task)
    more = search(third, num_trials=6, storage=url, study_name="shared").compile(
        program, trainset=train, valset=val
    )
    assert sorted(trial_entries(more.report)) == [4, 5]
    study = optuna.load_study(study_name="shared", storage=url)
    assert len(study.trials) == 6
    # a search with other candidates is refused the study
    with pytest.raises(pl.UsageError, match="searched with other candidates"):
        search(Fakes(), num_instructions=2, storage=url, study_name="shared").compile(
            program, trainset=train, valset=val
        )


def test_storage_without_a_study_name_finds_the_same_study_again(tmp_path):
    url = f"sqlite:///{tmp_path}/auto.db"
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    opt = search(fakes, num_trials=3, storage=url)
    opt.compile(program, trainset=examples(8), valset=examples(10, 100))
    again = opt.compile(program, trainset=examples(8), valset=examples(10, 100))
    assert trial_entries(again.report) == {}
    names = optuna.get_all_study_names(storage=url)
    assert len(names) == 1
    assert names[0].startswith("pliable-joint-")


def test_a_resumed_run_replays_the_same_trials_without_new_evaluations(tmp_path):
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    opt = search(fakes, num_trials=8, minibatch_size=5)
    kwargs = {"trainset": examples(8), "valset": examples(20, 100), "run_dir": tmp_path / "r"}
    first = opt.compile(program, **kwargs)
    before = fakes.calls
    second = opt.compile(program, **kwargs)
    # only bootstrapping (4 sets of 8) and proposals (2) run again: every trial is memoised
    assert fakes.calls - before <= 4 * 8 + 2
    choices = [(c["name"], c.get("choice")) for c in first.report.candidates]
    assert [(c["name"], c.get("choice")) for c in second.report.candidates] == choices
    assert second.signature.instructions == first.signature.instructions == MAGIC


class TwoStage(pl.Module):
    def __init__(self):
        self.rewrite = pl.Predict("question -> expression")
        self.solve = pl.Predict("expression -> answer")

    def forward(self, question):
        return self.solve(expression=self.rewrite(question=question).expression)


def test_every_predictor_gets_its_own_choices(tmp_path):
    def lm(messages):
        last = messages[-1]["content"]
        if last.startswith("[[task_data]]"):
            return "[[instruction]]\nDo this step carefully and exactly."
        if last.startswith("[[question]]"):
            return "[[expression]]\n" + last.split("\n")[1]
        a, b = last.split("\n")[1].split("+")
        return f"[[answer]]\n{int(a) + int(b)}"

    url = f"sqlite:///{tmp_path}/two.db"
    with pl.using(lm=pl.FunctionLM(lm)):
        opt = JointSearch(exact, num_trials=4, storage=url, study_name="two", num_threads=1)
        compiled = opt.compile(TwoStage(), trainset=examples(6), valset=examples(6, 50))
    study = optuna.load_study(study_name="two", storage=url)
    assert set(study.trials[0].params) == {
        "rewrite.instruction",
        "rewrite.demos",
        "solve.instruction",
        "solve.demos",
    }
    entry = trial_entries(compiled.report)[0]
    assert set(entry["choice"]) == {"rewrite", "solve"}


def test_without_prompt_lm_the_programs_own_lm_writes_the_proposals():
    fakes = Fakes()

    def both(messages, options):
        if messages[-1]["content"].startswith("[[task_data]]"):
            return fakes._propose(messages, options)
        return fakes._task(messages)

    program = pl.Predict("question -> answer", lm=pl.FunctionLM(both))
    opt = JointSearch(exact, num_trials=6, num_threads=1)
    compiled = opt.compile(program, trainset=examples(8), valset=examples(20, 100))
    assert fakes.proposals == 2
    assert compiled.signature.instructions == MAGIC
    assert opt.settings()["prompt_lm"] is None


def test_auto_presets_and_explicit_overrides():
    light = JointSearch(exact)
    assert light.auto == "light"
    for auto, preset in PRESETS.items():
        opt = JointSearch(exact, auto=auto)
        assert {k: getattr(opt, k) for k in preset} == preset
    assert PRESETS["light"]["num_trials"] < PRESETS["medium"]["num_trials"]
    assert PRESETS["medium"]["num_trials"] < PRESETS["heavy"]["num_trials"]
    mixed = JointSearch(exact, auto="medium", num_trials=7, minibatch_size=3)
    assert (mixed.num_trials, mixed.minibatch_size) == (7, 3)
    assert mixed.num_instructions == PRESETS["medium"]["num_instructions"]
    explicit = JointSearch(
        exact,
        auto=None,
        num_instructions=2,
        num_demo_sets=1,
        num_trials=3,
        minibatch_size=4,
        full_eval_every=2,
    )
    assert explicit.num_demo_sets == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"auto": "huge"}, r"auto=\.\.\.\) takes 'light', 'medium', 'heavy' or None; got 'huge'"),
        ({"auto": None, "num_trials": 5}, "missing: num_instructions, num_demo_sets"),
        ({"num_trials": 0}, r"num_trials=\.\.\.\) must be an integer >= 1; got 0"),
        ({"minibatch_size": "8"}, r"minibatch_size=\.\.\.\) must be an integer >= 1; got '8'"),
        ({"full_eval_every": True}, r"full_eval_every=\.\.\.\) must be an integer"),
        ({"max_labeled_demos": -1}, r"max_labeled_demos=\.\.\.\) must be an integer >= 0"),
        ({"storage": "study.db"}, r"storage=\.\.\.\) takes an Optuna storage URL; got 'study.db'"),
        ({"study_name": ""}, r"study_name=\.\.\.\) takes a non-empty str"),
        ({"proposer": "writer"}, r"proposer=\.\.\.\) takes an InstructionProposer; got str"),
        ({"prompt_lm": "gpt-4o"}, r"prompt_lm=\.\.\.\) takes a language model .* got str"),
        (
            {"proposer": InstructionProposer(), "prompt_lm": pl.FunctionLM(lambda m: "")},
            "prompt_lm=... or proposer=..., not both",
        ),
    ],
)
def test_bad_arguments_are_refused_with_what_to_do(kwargs, match):
    with pytest.raises(pl.UsageError, match=match):
        JointSearch(exact, **kwargs)


def test_a_valset_is_required_and_the_metric_must_be_callable():
    fakes = Fakes()
    program = pl.Predict("question -> answer", lm=fakes.task)
    with pytest.raises(pl.UsageError, match="valset"):
        search(fakes).compile(program, trainset=examples(4))
    with pytest.raises(pl.UsageError, match="metric"):
        JointSearch(lambda: 1)


def test_missing_optuna_is_reported_with_the_install_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "optuna" else real(name, *a)
    )
    with pytest.raises(pl.ConfigurationError, match="pip install optuna"):
        JointSearch(exact)


def test_settings_are_json_friendly_deterministic_and_hide_passwords():
    writer = pl.FunctionLM(lambda m: "", model="fake/writer")
    opt = JointSearch(
        exact,
        proposer=InstructionProposer(prompt_lm=writer),
        storage="postgresql://user:secret@db.example/optuna",
    )
    settings = opt.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings["storage"] == "postgresql://user:***@db.example/optuna"
    assert settings["proposer"]["type"] == "InstructionProposer"
    assert settings["proposer"]["prompt_lm"] == "fake/writer"
    same = JointSearch(
        exact,
        proposer=InstructionProposer(prompt_lm=pl.FunctionLM(lambda m: "", model="fake/writer")),
        storage="postgresql://user:secret@db.example/optuna",
    )
    assert same.settings() == settings
    assert JointSearch(exact, prompt_lm=writer).settings()["prompt_lm"] == "fake/writer"
