"""The majority-answer floor in every compile: measured once on the valset at 0 LM calls, shown
beside the baseline in ``compiled.report`` (object, dict and saved file) and its summary, and
never a "beats the baseline" without saying, on the same line, that the floor is not beaten."""

from __future__ import annotations

import json

import pytest

import pliable as pl
from pliable.evaluation import metrics


def gold(q: str) -> str:
    """Train questions t0..t19 are 70% "no", dev questions d0..d29 60% "no"."""
    i, cut = int(q[1:]), (7 if q[0] == "t" else 6)
    return "no" if i % 10 < cut else "yes"


def examples(prefix: str, n: int) -> list[pl.Example]:
    return [pl.Example(q=f"{prefix}{i}", a=gold(f"{prefix}{i}")).with_inputs("q") for i in range(n)]


TRAIN, DEV = examples("t", 20), examples("d", 30)


def model(right_with_demos):
    """Wrong on every question zero-shot; with demos, right where ``right_with_demos(i)``."""

    def reply(messages):
        q = messages[-1]["content"].split("[[q]]\n")[1].split("\n")[0]
        right = len(messages) > 2 and right_with_demos(int(q[1:]))
        answer = gold(q) if right else {"no": "yes", "yes": "no"}[gold(q)]
        return f"[[a]]\n{answer}"

    return pl.FunctionLM(reply)


def compile_with(lm, signature="q -> a: Literal['yes', 'no']", **options):
    optimizer = pl.LabeledFewShot(2)
    optimizer.metric = metrics.exact_match("a")  # so it measures baseline and final
    with pl.using(lm=lm):
        return optimizer.compile(pl.Predict(signature), trainset=TRAIN, valset=DEV, **options)


def beats_lines(summary: str) -> list[str]:
    return [line for line in summary.splitlines() if "beats the baseline" in line]


def test_a_program_that_beats_the_baseline_but_not_the_floor_is_told_so_on_the_same_line():
    compiled = compile_with(model(lambda i: i % 2 == 0))  # 0.0 -> 0.5, floor 0.6
    report = compiled.report
    assert report.baseline.score == 0.0
    assert report.final.score == pytest.approx(0.5)
    assert report.floor["score"] == pytest.approx(0.6)
    assert report.floor["answer"] == "no"
    assert report.floor["source"] == "trainset"
    assert report.floor_comparison["verdict"] == "at or below"
    summary = report.summary()
    (line,) = beats_lines(summary)
    assert "but it is at or below the majority-answer floor 0.600 (always 'no')" in line
    assert "floor:    0.600 always 'no'" in summary
    assert "0 LM calls" in summary
    assert "final:    0.500 [" in summary
    assert "(at or below the floor)" in summary
    baseline_line = next(s for s in summary.splitlines() if s.startswith("  baseline:"))
    assert "(at or below the floor)" in baseline_line


def test_a_program_above_the_floor_says_so_too():
    compiled = compile_with(model(lambda i: True))  # 0.0 -> 1.0, floor 0.6
    report = compiled.report
    assert report.floor_comparison["verdict"] == "above"
    (line,) = beats_lines(report.summary())
    assert "and is above the majority-answer floor 0.600" in line
    assert "final:    1.000 [" in report.summary()
    assert "(above the floor)" in report.summary()


def test_a_gain_just_over_the_floor_is_not_clearly_above_it():
    compiled = compile_with(model(lambda i: i % 3 != 0))  # 0.0 -> 0.667, floor 0.6
    versus = compiled.report.floor_comparison
    assert versus["verdict"] == "not clearly above"
    (line,) = beats_lines(compiled.report.summary())
    assert "but it is not clearly above the majority-answer floor 0.600" in line
    assert "95% CI" in line


def test_a_baseline_below_the_floor_is_no_safe_default_for_a_gain_inside_the_noise():
    # zero-shot 0.0 (below the floor 0.6); with demos 1 of 30 right: inside the noise, but the
    # baseline is not kept on that account, and the program kept is flagged as unusable
    compiled = compile_with(model(lambda i: i == 0))
    report = compiled.report
    assert report.selected == "compiled"
    assert [len(p.demos) for p in compiled.predictors()] == [2]
    assert any(
        "inside the noise" in n
        and "below the majority-answer floor 0.600" in n
        and "kept the compiled program" in n
        for n in report.notes
    )
    assert report.floor_comparison["verdict"] == "at or below"
    assert report.usable is False
    assert "below the majority-answer floor 0.600 (always 'no')" in report.unusable
    assert report.summary().splitlines()[1].startswith("  NO USABLE PROGRAM: ")
    assert report.to_dict()["usable"] is False


def yes_no_model(right_with_demos):
    """Always 'no' zero-shot (the floor's own answer: 0.6 on the dev set); with demos, right
    where ``right_with_demos(i)``, else 'no'."""

    def reply(messages):
        q = messages[-1]["content"].split("[[q]]\n")[1].split("\n")[0]
        answer = gold(q) if len(messages) > 2 and right_with_demos(int(q[1:])) else "no"
        return f"[[a]]\n{answer}"

    return pl.FunctionLM(reply)


def test_a_baseline_at_the_floor_is_no_safe_default_either():
    # dev d6 (a "yes") is the only question the demos fix: 0.600 -> 0.633, inside the noise;
    # the baseline only ties always answering 'no', so it is not protected from the gain
    compiled = compile_with(yes_no_model(lambda i: i == 6))
    report = compiled.report
    assert report.baseline.score == pytest.approx(0.6)
    assert report.selected == "compiled"
    assert [len(p.demos) for p in compiled.predictors()] == [2]
    (note,) = [n for n in report.notes if "no safe default" in n]
    assert "at or below the majority-answer floor 0.600 (always 'no')" in note
    assert "which scores 0.633 against the baseline's 0.600" in note
    assert report.usable is True


def test_a_baseline_not_clearly_above_the_floor_is_no_safe_default():
    # zero-shot right on 20 of 30 (0.667 against the floor's 0.600: inside the noise);
    # with demos 21 of 30: the compiled program is kept though its gain is inside the noise
    right = {i for i in range(30) if i % 10 < 6} | {6, 7}  # every "no" and two "yes"

    def reply(messages):
        q = messages[-1]["content"].split("[[q]]\n")[1].split("\n")[0]
        i = int(q[1:])
        fixed = right | ({8} if len(messages) > 2 and q[0] == "d" else set())
        return f"[[a]]\n{gold(q) if i in fixed else 'no'}"

    report = compile_with(pl.FunctionLM(reply)).report
    assert report.baseline.score == pytest.approx(20 / 30)
    assert report.selected == "compiled"
    (note,) = [n for n in report.notes if "no safe default" in n]
    assert "not clearly above the majority-answer floor 0.600" in note


def test_a_baseline_clearly_above_the_floor_is_kept_when_the_gain_is_inside_the_noise():
    # zero-shot wrong only on d0, d1, d2 (0.9, far above the floor 0.6); demos fix d0
    def reply(messages):
        q = messages[-1]["content"].split("[[q]]\n")[1].split("\n")[0]
        wrong = {0, 1, 2} - ({0} if len(messages) > 2 else set())
        flip = q[0] == "d" and int(q[1:]) in wrong
        return f"[[a]]\n{ ({'no': 'yes', 'yes': 'no'}[gold(q)] if flip else gold(q)) }"

    compiled = compile_with(pl.FunctionLM(reply))
    report = compiled.report
    assert report.baseline.score == pytest.approx(0.9)
    assert report.selected == "baseline"
    assert [len(p.demos) for p in compiled.predictors()] == [0]
    assert not any("no safe default" in n for n in report.notes)
    assert any("inside the noise" in n and "kept the program passed in" in n for n in report.notes)
    assert report.usable is True
    assert "NO USABLE PROGRAM" not in report.summary()


def test_a_compiled_program_above_the_floor_is_usable():
    report = compile_with(model(lambda i: True)).report
    assert report.selected == "compiled"
    assert report.usable is True


def test_the_floor_spends_no_lm_call_and_is_saved_with_the_program(tmp_path):
    lm = model(lambda i: True)
    compiled = compile_with(lm)
    # baseline + final on 30 val examples, nothing for the floor
    assert compiled.report.lm_calls == 60 == len(lm.calls)
    path = compiled.save(tmp_path / "yes_no.json")
    saved = json.loads(path.read_text())["report"]
    assert saved["floor"]["score"] == pytest.approx(0.6)
    assert saved["floor"]["lm_calls"] == 0
    assert saved["floor_comparison"]["verdict"] == "above"
    assert pl.load(path).report["floor"]["answer"] == "no"


def test_a_file_saved_before_the_floor_existed_still_loads(tmp_path):
    compiled = compile_with(model(lambda i: True))
    path = compiled.save(tmp_path / "old.json")
    data = json.loads(path.read_text())
    del data["report"]["floor"], data["report"]["floor_comparison"]
    path.write_text(json.dumps(data))
    restored = pl.load(path)
    assert "floor" not in restored.report
    assert restored.render(q="d1") == compiled.render(q="d1")


def test_free_text_outputs_compile_without_a_floor():
    compiled = compile_with(model(lambda i: True), signature="q -> a")
    assert compiled.report.floor is None
    assert compiled.report.floor_comparison is None
    assert "floor" not in compiled.report.summary()
    (line,) = beats_lines(compiled.report.summary())
    assert line.endswith(")")  # the plain note, with nothing about a floor


def test_the_run_log_records_the_floor_for_a_crashed_runs_page(tmp_path):
    compile_with(model(lambda i: True), run_dir=tmp_path)
    events = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    floors = [e for e in events if e["event"] == "floor"]
    assert len(floors) == 1
    assert floors[0]["floor"]["answer"] == "no"
    assert events[1]["event"] == "floor"  # right after the header


def test_a_pick_among_candidates_is_set_against_the_floor_at_the_widened_level():
    from types import SimpleNamespace

    from pliable.optimizers.run import Scores
    from pliable.optimizers.selection import versus_floor

    program = pl.Predict("q -> a: Literal['yes', 'no']")
    floor = pl.majority_floor(program, DEV, metrics.exact_match("a"), trainset=TRAIN)
    assert floor is not None
    report = SimpleNamespace(floor_comparison=None)
    run = SimpleNamespace(floor=floor, report=report, note=lambda text: None)
    kept = Scores(values=(1.0,) * 20 + (0.0,) * 10, keys=tuple(str(i) for i in range(30)))
    plain = versus_floor(run, kept)
    widened = versus_floor(run, kept, confidence=1 - 0.05 / 4)
    assert run.report.floor_comparison["confidence"] == pytest.approx(0.9875)
    assert widened.ci_low < plain.ci_low  # a wider interval for the best of 4


def test_a_summary_without_candidates_speaks_of_the_compiled_program():
    # LabeledFewShot compiles one program: no "best candidate", no "0 tried"
    summary = compile_with(model(lambda i: True)).report.summary()
    assert "  compiled − baseline: +1.000 [" in summary
    assert "kept the compiled program" in summary
    assert "best candidate" not in summary
    assert "candidates:" not in summary


def test_random_search_notes_its_best_candidate_without_claiming_it_was_kept():
    # demos fix only d6: the best candidate's gain is inside the noise and the baseline,
    # clearly above the floor, is kept; no note says a candidate was selected
    def reply(messages):
        q = messages[-1]["content"].split("[[q]]\n")[1].split("\n")[0]
        wrong = {0, 1, 2, 6} - ({6} if len(messages) > 2 else set())
        flip = q[0] == "d" and int(q[1:]) in wrong
        return f"[[a]]\n{ ({'no': 'yes', 'yes': 'no'}[gold(q)] if flip else gold(q)) }"

    optimizer = pl.BootstrapRandomSearch(metrics.exact_match("a"), num_candidates=2)
    with pl.using(lm=pl.FunctionLM(reply)):
        report = optimizer.compile(
            pl.Predict("q -> a: Literal['yes', 'no']"), trainset=TRAIN, valset=DEV
        ).report
    assert report.selected == "baseline"
    assert not any("selected candidate" in n for n in report.notes)
    assert any(n.startswith("best candidate on the valset: ") for n in report.notes)
    assert "-> kept the baseline program" in report.summary()


def test_labeled_few_shot_takes_a_metric_and_then_measures_baseline_and_final():
    optimizer = pl.LabeledFewShot(2, metric=metrics.exact_match("a"))
    with pl.using(lm=model(lambda i: True)):
        report = optimizer.compile(
            pl.Predict("q -> a: Literal['yes', 'no']"), trainset=TRAIN, valset=DEV
        ).report
    assert report.baseline.score == 0.0
    assert report.final.score == 1.0
    assert "metric" not in report.settings
