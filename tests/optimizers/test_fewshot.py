import pytest

import pliable as pl


def examples(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def adder(fail_on=()):
    """A fake LM that adds correctly except for questions in ``fail_on``."""

    def answer(messages):
        q = messages[-1]["content"].split("\n")[1]
        a, b = q.split("+")
        value = int(a) + int(b)
        if q in fail_on:
            value += 1
        return f"[[reasoning]]\n{a} plus {b}\n\n[[answer]]\n{value}"

    return pl.FunctionLM(answer)


def exact(example, pred):
    return example.answer == pred.answer


def test_labeled_fewshot_exact_count_and_copy():
    program = pl.Predict("question -> answer")
    compiled = pl.LabeledFewShot(k=3).compile(program, trainset=examples(10))
    assert len(compiled.demos) == 3
    assert program.demos == []  # the original is untouched
    assert compiled.report.optimizer == "LabeledFewShot"
    small = pl.LabeledFewShot(k=5).compile(program, trainset=examples(2))
    assert len(small.demos) == 2
    assert "asked for 5" in small.report.notes[0]


@pytest.mark.parametrize(
    ("boot", "labeled", "total"), [(0, 0, 0), (2, 0, 2), (2, 3, 3), (2, 5, 5), (4, 1, 4), (4, 4, 4)]
)
def test_labeled_demos_top_up_to_max_labeled_demos_in_all(boot, labeled, total):
    # DSPy's meaning: labeled demos fill the slots the bootstrapped ones leave, up to
    # max_labeled_demos demos in all; bootstrapped demos are never dropped for the cap
    program = pl.ChainOfThought("question -> answer", lm=adder())
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=boot, max_labeled_demos=labeled)
    compiled = opt.compile(program, trainset=examples(10))
    demos = compiled.demos
    assert len(demos) == total
    assert all("reasoning" in d for d in demos[:boot])  # from traces: full outputs
    assert all("reasoning" not in d for d in demos[boot:])  # labeled: raw examples
    used = [d.question for d in demos]
    assert len(set(used)) == len(used)  # no example is both bootstrapped and labeled


def test_labeled_demos_fill_the_slots_failed_bootstraps_leave():
    wrong = {f"{i}+{i}" for i in range(1, 8)}  # only 0+0, 8+8, 9+9 pass
    program = pl.ChainOfThought("question -> answer", lm=adder(fail_on=wrong))
    compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=4, max_labeled_demos=5).compile(
        program, trainset=examples(10)
    )
    booted = [d for d in compiled.demos if "reasoning" in d]
    assert [d.question for d in booted] == ["0+0", "8+8", "9+9"]
    assert len(compiled.demos) == 5  # three bootstrapped, two labeled


def test_bootstrap_keeps_only_runs_that_pass_the_metric():
    wrong = {"0+0", "1+1", "2+2"}
    program = pl.ChainOfThought("question -> answer", lm=adder(fail_on=wrong))
    compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=3, max_labeled_demos=0).compile(
        program, trainset=examples(8)
    )
    assert [d.question for d in compiled.demos] == ["3+3", "4+4", "5+5"]
    assert "3 failed it" in compiled.report.notes[-1]


def test_all_failing_bootstrap_falls_back_to_labeled_demos():
    program = pl.ChainOfThought(
        "question -> answer", lm=adder(fail_on={f"{i}+{i}" for i in range(5)})
    )
    compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=2).compile(
        program, trainset=examples(5)
    )
    assert len(compiled.demos) == 2
    assert all("reasoning" not in d for d in compiled.demos)
    assert "tried 5 of 5 train examples: 0 passed" in compiled.report.notes[-1]


def test_metric_exceptions_skip_the_example():
    def flaky(example, pred):
        if example.question == "1+1":
            raise RuntimeError("metric broke")
        return exact(example, pred)

    program = pl.ChainOfThought("question -> answer", lm=adder())
    compiled = pl.BootstrapFewShot(flaky, max_bootstrapped_demos=2, max_labeled_demos=0).compile(
        program, trainset=examples(4)
    )
    assert [d.question for d in compiled.demos] == ["0+0", "2+2"]
    assert "1 raised errors" in compiled.report.notes[-1]


def test_empty_trainset_gives_no_demos_and_bad_sets_are_refused():
    program = pl.Predict("question -> answer", lm=adder())
    compiled = pl.BootstrapFewShot(exact).compile(program, trainset=[])
    assert compiled.demos == []
    with pytest.raises(pl.UsageError, match=r"trainset\[0\] must be a pl.Example with its inputs"):
        pl.BootstrapFewShot(exact).compile(program, trainset=[pl.Example(question="q")])
    with pytest.raises(pl.UsageError, match="metric"):
        pl.BootstrapFewShot(lambda: 1)


class TwoStage(pl.Module):
    def __init__(self):
        self.rewrite = pl.Predict("question -> expression")
        self.solve = pl.ChainOfThought("expression -> answer")

    def forward(self, question):
        expression = self.rewrite(question=question).expression
        return self.solve(expression=expression)


def two_stage_lm():
    def answer(messages):
        last = messages[-1]["content"]
        if last.startswith("[[question]]"):
            return "[[expression]]\n" + last.split("\n")[1]
        a, b = last.split("\n")[1].split("+")
        return f"[[reasoning]]\nadd\n\n[[answer]]\n{int(a) + int(b)}"

    return pl.FunctionLM(answer)


def test_multi_stage_program_gets_demos_for_every_stage_from_the_same_runs():
    program = TwoStage()
    with pl.using(lm=two_stage_lm()):
        compiled = pl.BootstrapFewShot(
            exact, max_bootstrapped_demos=2, max_labeled_demos=0
        ).compile(program, trainset=examples(5))
    rewrite, solve = compiled.rewrite.demos, compiled.solve.demos
    assert [d.question for d in rewrite] == ["0+0", "1+1"]
    assert [d.expression for d in rewrite] == ["0+0", "1+1"]
    assert [d.expression for d in solve] == ["0+0", "1+1"]
    assert [d.answer for d in solve] == ["0", "2"]
    assert set(solve[0].input_keys) == {"expression"}


def test_bootstrapped_demos_show_the_label_not_the_teachers_words_for_it():
    # The teacher says the answer its own way ("The sum is 4."); a lenient metric accepts it,
    # but the demo shows the example's label, so the student is not taught that wording.
    # The reasoning, which no label covers, stays the teacher's.
    def answer(messages):
        a, b = messages[-1]["content"].split("\n")[1].split("+")
        return f"[[reasoning]]\n{a} plus {b}\n\n[[answer]]\nThe sum is {int(a) + int(b)}."

    def lenient(example, pred):
        return example.answer in pred.answer

    program = pl.ChainOfThought("question -> answer", lm=pl.FunctionLM(answer))
    compiled = pl.BootstrapFewShot(lenient, max_bootstrapped_demos=2, max_labeled_demos=0).compile(
        program, trainset=examples(4, start=1)
    )
    assert [d.answer for d in compiled.demos] == ["2", "4"]
    assert [d.reasoning for d in compiled.demos] == ["1 plus 1", "2 plus 2"]


def test_only_the_last_call_producing_a_label_shows_it():
    # A two-step program whose first step also outputs ``answer`` (a draft): the draft stays
    # the teacher's, the final step's demo shows the label.
    class Draft(pl.Module):
        def __init__(self):
            self.draft = pl.Predict("question -> answer")
            self.final = pl.Predict("question, draft -> answer")

        def forward(self, question):
            draft = self.draft(question=question).answer
            return self.final(question=question, draft=draft)

    def answer(messages):
        last = messages[-1]["content"]
        a, b = last.split("\n")[1].split("+")
        if "[[draft]]" in last:
            return f"[[answer]]\nIt is {int(a) + int(b)}"
        return f"[[answer]]\nmaybe {int(a) + int(b)}"

    with pl.using(lm=pl.FunctionLM(answer)):
        compiled = pl.BootstrapFewShot(
            lambda ex, pred: ex.answer in pred.answer,
            max_bootstrapped_demos=1,
            max_labeled_demos=0,
        ).compile(Draft(), trainset=examples(2, start=3))
    assert [d.answer for d in compiled.draft.demos] == ["maybe 6"]
    assert [d.answer for d in compiled.final.demos] == ["6"]
    assert [d.draft for d in compiled.final.demos] == ["maybe 6"]


def test_compile_report_has_baseline_final_and_usage_and_is_saved(tmp_path):
    pl.register_provider("opt-adder", lambda m, s: adder(fail_on={"3+3"}))
    program = pl.ChainOfThought("question -> answer", lm=pl.LM("opt-adder/m", cache=False))
    compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=0).compile(
        program, trainset=examples(4), valset=examples(5, start=10)
    )
    report = compiled.report
    assert report.baseline.score == 1.0
    assert report.final.n == 5
    assert report.lm_calls == 5 + 2 + 5  # baseline, bootstrap until 2 passed, final
    assert report.dataset["train_size"] == 4
    saved = pl.load(compiled.save(tmp_path / "c.json"))
    assert saved.report["optimizer"] == "BootstrapFewShot"
    assert saved.report["final"]["n"] == 5


def test_random_search_selects_on_valset_with_pruning():
    calls = {"n": 0}

    def lm_answer(messages):
        calls["n"] += 1
        # answers correctly only when shown at least one demo
        q = messages[-1]["content"].split("\n")[1]
        a, b = q.split("+")
        good = len(messages) > 2
        return f"[[answer]]\n{int(a) + int(b) if good else 0}"

    program = pl.Predict("question -> answer", lm=pl.FunctionLM(lm_answer))
    opt = pl.BootstrapRandomSearch(
        exact,
        num_candidates=4,
        max_bootstrapped_demos=2,
        max_labeled_demos=1,
        chunk_size=2,
        num_threads=1,
    )
    compiled = opt.compile(program, trainset=examples(6, start=1), valset=examples(6, start=20))
    names = [c["name"] for c in compiled.report.candidates]
    assert names[:2] == ["zero-shot", "labeled"]
    assert compiled.report.final.score == 1.0
    assert compiled.report.candidates[0]["score"] == 0.0
    assert len(compiled.demos) >= 1
    # later candidates that could not beat a perfect score were pruned early
    assert any(c["score"] is None for c in compiled.report.candidates[2:])
    with pytest.raises(pl.UsageError, match="valset"):
        opt.compile(program, trainset=examples(3))


def test_teacher_sees_labeled_demos_but_never_the_example_it_answers():
    seen = []

    def lm(messages):
        question = messages[-1]["content"].split("\n")[1]
        shown = [m["content"].split("\n")[1] for m in messages[1:-1] if m["role"] == "user"]
        seen.append((question, shown))
        a, b = question.split("+")
        return f"[[answer]]\n{int(a) + int(b)}"

    program = pl.Predict("question -> answer", lm=pl.FunctionLM(lm))
    pl.BootstrapFewShot(exact, max_bootstrapped_demos=3, max_labeled_demos=2).compile(
        program, trainset=examples(6)
    )
    assert seen
    for question, shown in seen:
        assert question not in shown
        assert len(shown) == 2


def test_budget_stops_bootstrap_cleanly_with_the_demos_found_so_far():
    program = pl.Predict("question -> answer", lm=pl.LM("opt-adder/m", cache=False))
    pl.register_provider("opt-adder", lambda m, s: adder())
    compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=4, max_labeled_demos=0).compile(
        program, trainset=examples(6), budget=pl.Budget(lm_calls=2)
    )
    report = compiled.report
    assert report.stopped
    assert "2 LM calls" in report.stopped
    assert report.lm_calls == 2
    # the two calls that were allowed became demos; the budget did not count as failures
    assert len(compiled.predictors()[0].demos) == 2
    assert any("0 raised errors" in n for n in report.notes)


def test_an_outer_max_calls_limit_also_stops_compile_cleanly():
    program = pl.Predict("question -> answer", lm=pl.LM("opt-adder/m", cache=False))
    pl.register_provider("opt-adder", lambda m, s: adder())
    with pl.track_usage(max_calls=5) as usage:
        compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=4).compile(
            program, trainset=examples(6), valset=examples(3)
        )
    assert usage.total.calls == 5
    assert compiled.report.stopped is not None
