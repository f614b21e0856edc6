"""Budgets, the run log, estimates and honest selection, shared by every optimizer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import pliable as pl
from pliable.lm.types import Completion, Usage
from pliable.optimizers.runlog import RunLog


def data(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


def adder(wrong=lambda a, system, prompt: False):
    """Adds the numbers; answers wrong when ``wrong(a, earlier messages, last message)``."""

    def answer(messages):
        q = messages[-1]["content"].split("[[question]]\n", 1)[-1].split("\n", 1)[0]
        a, b = (int(x) for x in q.split("+"))
        before = "\n".join(m["content"] for m in messages[:-1])  # system prompt and demos
        bad = wrong(a, before, messages[-1]["content"])
        return f"[[answer]]\n{a + b + (1 if bad else 0)}"

    return pl.FunctionLM(answer)


class PricedBackend:
    model = "priced"

    def complete(self, messages, **options):
        return Completion(("[[answer]]\n0",), "priced", Usage(100, 10, 0.01))


# -- budgets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [({"lm_calls": -1}, "-1"), ({"usd": float("nan")}, "nan"), ({"tokens": "10"}, "'10'")],
)
def test_budget_rejects_bad_limits(kwargs, shown):
    with pytest.raises(pl.UsageError, match=shown):
        pl.Budget(**kwargs)


def test_budget_limits_tokens_cost_and_time():
    pl.register_provider("priced", lambda m, s: PricedBackend())
    lm = pl.LM("priced/x", cache=False)
    qa = pl.Predict("question -> answer", lm=lm)
    with pl.track_usage(budget=pl.Budget(tokens=250)) as usage:
        qa(question="a")
        qa(question="b")
        qa(question="c")  # 220 tokens spent so far: still under 250
        with pytest.raises(pl.BudgetExceededError, match="250 tokens"):
            qa(question="d")
    assert usage.total.calls == 3
    with pl.track_usage(budget=pl.Budget(usd=0.015)) as usage:
        qa(question="a")
        qa(question="b")
        with pytest.raises(pl.BudgetExceededError, match=r"\$0\.0150"):
            qa(question="c")
    with pl.track_usage(budget=pl.Budget(seconds=0)), pytest.raises(pl.BudgetExceededError):
        qa(question="a")


def test_cache_hits_do_not_count_against_the_budget(tmp_path):
    pl.register_provider("budget-adder", lambda m, s: adder())
    qa = pl.Predict("question -> answer", lm=pl.LM("budget-adder/x", cache=tmp_path))
    with pl.track_usage(budget=pl.Budget(lm_calls=1)) as usage:
        for _ in range(5):
            assert qa(question="2+2").answer == "4"
    assert (usage.total.calls, usage.total.cache_hits) == (1, 4)


def test_prior_spending_counts_against_the_budget():
    qa = pl.Predict("question -> answer", lm=adder())
    prior = pl.lm.Spent(lm_calls=2)
    with pl.track_usage(budget=pl.Budget(lm_calls=3), prior=prior):
        qa(question="1+1")
        with pytest.raises(pl.BudgetExceededError):
            qa(question="2+2")


def test_search_stops_at_the_budget_with_the_best_so_far():
    program = pl.Predict("question -> answer", lm=adder())
    opt = pl.BootstrapRandomSearch(exact, num_candidates=6, num_threads=1)
    compiled = opt.compile(
        program, trainset=data(10), valset=data(8, 20), budget=pl.Budget(lm_calls=30)
    )
    report = compiled.report
    assert report.lm_calls <= 30
    assert report.stopped is not None
    assert "30 LM calls" in report.stopped
    scored = [c for c in report.candidates if c["score"] is not None]
    assert scored, "the baseline and at least one candidate were scored before the stop"
    assert len(report.candidates) < 6
    assert report.summary().count("stopped early") == 1


# -- the run log ---------------------------------------------------------------------------


def test_run_log_refuses_another_run_and_drops_a_torn_line(tmp_path):
    log = RunLog(tmp_path, {"optimizer": "X", "settings": {"k": 1}})
    log.append_rows([{"event": "row", "state": "s", "example": "e", "score": 1.0, "error": None}])
    with (tmp_path / "run.jsonl").open("a") as f:
        f.write('{"event": "row", "sta')  # the process died mid-write
    again = RunLog(tmp_path, {"optimizer": "X", "settings": {"k": 1}})
    assert again.resumed
    assert again.rows == {("s", "e"): (1.0, None)}
    assert (tmp_path / "run.jsonl").read_text().endswith("}\n")
    with pytest.raises(pl.UsageError, match="'settings' is \\{'k': 1\\}, this run's is"):
        RunLog(tmp_path, {"optimizer": "X", "settings": {"k": 2}})


def test_resume_skips_evaluations_recorded_in_the_run_log(tmp_path):
    lm = adder()  # no cache: only the run log can save calls
    program = pl.Predict("question -> answer", lm=lm)
    opt = pl.BootstrapRandomSearch(exact, num_candidates=3, max_bootstrapped_demos=2)
    first = opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=tmp_path)
    calls_first = len(lm.calls)
    second = opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=tmp_path)
    calls_second = len(lm.calls) - calls_first
    bootstrap_calls = 2  # the one bootstrapped candidate re-runs its teacher (no cache here)
    assert calls_second == bootstrap_calls
    assert second.report.final == first.report.final
    assert any("resumed from" in n for n in second.report.notes)
    assert json.loads((tmp_path / "best.json").read_text())["predictors"]
    assert pl.load(tmp_path / "final.json").named_predictors()


def test_run_dir_must_match_the_data(tmp_path):
    program = pl.Predict("question -> answer", lm=adder())
    opt = pl.LabeledFewShot(k=2)
    opt.compile(program, trainset=data(4), run_dir=tmp_path)
    with pytest.raises(pl.UsageError, match="'dataset'"):
        opt.compile(program, trainset=data(5), run_dir=tmp_path)


# -- estimates -----------------------------------------------------------------------------


def test_estimate_is_an_upper_bound_and_checks_the_budget():
    lm = adder()
    program = pl.Predict("question -> answer", lm=lm)
    opt = pl.BootstrapRandomSearch(exact, num_candidates=4, max_bootstrapped_demos=2)
    plan = opt.estimate(program, trainset=data(6), valset=data(6, 10))
    assert len(lm.calls) == 0  # estimating spends nothing
    compiled = opt.compile(program, trainset=data(6), valset=data(6, 10))
    assert 0 < compiled.report.lm_calls <= plan.lm_calls
    assert plan.usd == 0.0
    text = str(opt.estimate(program, trainset=data(6), valset=data(6, 10), budget=pl.Budget(5)))
    assert "does NOT fit" in text
    assert f"total  {plan.lm_calls:>7}".split()[-1] in text


def test_estimate_prices_a_known_model():
    program = pl.Predict("question -> answer", lm=pl.LM("openai/gpt-4o-mini", api_key="sk-x"))
    plan = pl.BootstrapFewShot(exact).estimate(program, trainset=data(5), valset=data(5))
    assert plan.usd is not None
    assert plan.usd > 0
    assert "gpt-4o-mini" in str(plan)
    assert "sk-x" not in str(plan)


# -- honest selection ----------------------------------------------------------------------


def test_a_gain_inside_the_noise_keeps_the_program_passed_in():
    # zero-shot misses 1 of 10; demos fix it: +0.1 on 10 examples is noise
    program = pl.Predict(
        "question -> answer", lm=adder(lambda a, s, p: a == 20 and "[[question]]" not in s)
    )
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=0, max_labeled_demos=2)
    compiled = opt.compile(program, trainset=data(4), valset=data(10, 20))
    report = compiled.report
    assert report.comparison is not None
    assert report.comparison["ci_low"] <= 0
    assert report.selected == "baseline"
    assert compiled.predictors()[0].demos == []
    assert report.final == report.baseline
    assert any("inside the noise" in n for n in report.notes)
    kept = opt.compile(program, trainset=data(4), valset=data(10, 20), require_significance=False)
    assert kept.report.selected == "compiled"
    assert len(kept.predictors()[0].demos) == 2


def test_a_clear_gain_is_kept():
    program = pl.Predict("question -> answer", lm=adder(lambda a, s, p: "[[question]]" not in s))
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=0, max_labeled_demos=2)
    compiled = opt.compile(program, trainset=data(4), valset=data(30, 20))
    assert compiled.report.selected == "compiled"
    assert compiled.report.comparison["ci_low"] > 0
    assert compiled.report.final.score == 1.0
    assert compiled.report.baseline.score == 0.0


def test_resume_refuses_another_metric_or_lm(tmp_path):
    program = pl.Predict("question -> answer")
    opt = pl.BootstrapRandomSearch(exact, num_candidates=2)
    with pl.using(lm=adder()):
        opt.compile(program, trainset=data(4), valset=data(4, 10), run_dir=tmp_path)
    other = pl.BootstrapRandomSearch(lambda e, p: 1.0, num_candidates=2)
    with pl.using(lm=adder()), pytest.raises(pl.UsageError, match="'metric'"):
        other.compile(program, trainset=data(4), valset=data(4, 10), run_dir=tmp_path)
    zero = pl.FunctionLM(lambda m: "[[answer]]\n0", model="fake/zero")
    with pl.using(lm=zero), pytest.raises(pl.UsageError, match="'lm'"):
        opt.compile(program, trainset=data(4), valset=data(4, 10), run_dir=tmp_path)


def test_failed_rows_are_retried_on_resume_not_replayed_as_zeros(tmp_path):
    def outage(messages):
        raise RuntimeError("503 service unavailable")

    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=0, max_labeled_demos=0)
    down = pl.Predict("question -> answer", lm=pl.FunctionLM(outage, model="m"))
    first = opt.compile(down, trainset=data(2), valset=data(4, 10), run_dir=tmp_path)
    assert first.report.baseline.errors == 4
    healthy = adder()
    healthy.model = "m"  # the same program as before: only the outage is over
    up = pl.Predict("question -> answer", lm=healthy)
    second = opt.compile(up, trainset=data(2), valset=data(4, 10), run_dir=tmp_path)
    assert second.report.baseline.score == 1.0
    assert len(healthy.calls) == 4


def test_a_resumed_run_counts_what_the_crashed_one_spent(tmp_path):
    lm = adder()
    program = pl.Predict("question -> answer", lm=lm)
    opt = pl.BootstrapRandomSearch(exact, num_candidates=3, max_bootstrapped_demos=1)
    opt.compile(
        program,
        trainset=data(4),
        valset=data(8, 10),
        run_dir=tmp_path,
        budget=pl.Budget(lm_calls=8),
    )
    assert len(lm.calls) == 8  # the baseline used it all
    again = opt.compile(
        program,
        trainset=data(4),
        valset=data(8, 10),
        run_dir=tmp_path,
        budget=pl.Budget(lm_calls=8),
    )
    assert len(lm.calls) == 8  # nothing left to spend: the earlier 8 calls count
    assert again.report.stopped is not None


def test_the_run_log_counts_every_request_and_replays_each_answer_once(tmp_path):
    from pliable.lm.budget import Spent
    from pliable.lm.usage import CallRecord

    log = RunLog(tmp_path, {"optimizer": "X"})
    for texts in (["first"], ["second"]):
        log.sent(1.0)
        log.answered(CallRecord("m", 10, 2, 0.5, 0.1, False), key="k", texts=texts, seconds=2.0)
    log.sent(3.0)
    log.answered(CallRecord("m", 4, 1, 0.25, 0.1, False), key=None, texts=None, seconds=4.0)
    log.sent(5.0)  # killed with this request in flight: counted, never answered
    log.close()
    again = RunLog(tmp_path, {"optimizer": "X"})
    assert again.prior == Spent(lm_calls=4, tokens=29, usd=1.25, seconds=5.0)
    assert (again.before.calls, again.before.prompt_tokens, again.before.cost) == (4, 24, 1.25)
    replies = [again.replay("k"), again.replay("k"), again.replay("k")]
    assert [r["texts"] if r else None for r in replies] == [["first"], ["second"], None]
    assert again.replay("other") is None
    assert not any(e["event"] in ("request", "answer") for e in again.events)


def test_a_resumed_compile_with_the_cache_off_replays_answers_from_the_run_log(tmp_path):
    sent = []

    def answer(messages):
        sent.append(messages)
        return adder()._fn(messages)

    pl.register_provider("replayed-adder", lambda m, s: pl.FunctionLM(answer))
    program = pl.Predict("question -> answer", lm=pl.LM("replayed-adder/m", cache=False))
    opt = pl.BootstrapRandomSearch(exact, num_candidates=3, max_bootstrapped_demos=2)
    first = opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=tmp_path)
    made = len(sent)
    second = opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=tmp_path)
    assert len(sent) == made  # the teacher's requests were answered from the run log
    assert second.report.final == first.report.final
    assert first.report.lm_calls == made
    assert second.report.lm_calls == made  # every invocation's requests, added up


def open_handles(path):
    """How many file descriptors of this process are open on ``path`` (Linux)."""
    fds = Path("/proc/self/fd")
    target = os.path.realpath(path)
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == target)


def test_the_journal_fsyncs_requests_not_answers_through_one_open_file(tmp_path, monkeypatch):
    from pliable.lm.usage import CallRecord
    from pliable.optimizers import runlog

    log = RunLog(tmp_path, {"optimizer": "X"})
    path = tmp_path / "run.jsonl"
    synced = []  # the file's size at each fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(runlog.os, "fsync", fsync)
    for i in range(3):
        log.sent(float(i))
        assert synced[-1] == path.stat().st_size  # the request is on disk before it is sent
        log.answered(CallRecord("m", 1, 1, 0.0, 0.1, False), key="k", texts=["a"], seconds=1.0)
        assert path.read_text().endswith('"texts": ["a"]}\n')  # written, for kill -9
    assert len(synced) == 3  # one per request, none for the answers
    if Path("/proc/self/fd").is_dir():
        assert open_handles(path) == 1
    log.append({"event": "candidate", "name": "c"})  # through the same file, fsync'd
    assert len(synced) == 4
    log.close()
    if Path("/proc/self/fd").is_dir():
        assert open_handles(path) == 0
    log.append({"event": "end"})  # after the run: opened for this write
    events = RunLog.read(path)
    assert [e["event"] for e in events].count("request") == 3
    assert events[-1] == {"event": "end"}


def test_threads_journaling_at_once_write_whole_lines_and_share_fsyncs(tmp_path, monkeypatch):
    import threading

    from pliable.lm.usage import CallRecord
    from pliable.optimizers import runlog

    log = RunLog(tmp_path, {"optimizer": "X"})
    fsyncs = []
    real = runlog.os.fsync
    monkeypatch.setattr(runlog.os, "fsync", lambda fd: (fsyncs.append(fd), real(fd)))

    def work(t):
        for i in range(50):
            log.sent(1.0)
            record = CallRecord("m", 2, 1, 0.0, 0.1, False)
            log.answered(record, key=f"k{t}-{i}", texts=["x" * 500], seconds=1.0)
            if i % 10 == 0:
                row = {"event": "row", "state": f"s{t}", "example": str(i), "score": 1.0}
                log.append_rows([{**row, "error": None}], spent={"lm_calls": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    lines = (tmp_path / "run.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]  # every line whole
    assert [e["event"] for e in events].count("request") == 400
    assert [e["event"] for e in events].count("answer") == 400
    assert len(fsyncs) <= 1 + 400 + 40  # the header, at most one per request and row batch
    again = RunLog(tmp_path, {"optimizer": "X"})
    assert again.before.calls == 400
    assert again.replay("k7-49") == {
        "texts": ["x" * 500],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "cost": 0.0},
    }


def test_a_damaged_logged_answer_is_not_replayed_and_the_rest_of_the_log_counts(tmp_path, caplog):
    from pliable.lm.usage import CallRecord

    log = RunLog(tmp_path, {"optimizer": "X"})
    for texts in (["first"], ["second"], ["third"]):
        log.sent(1.0)
        log.answered(CallRecord("m", 10, 2, 0.5, 0.1, False), key="k", texts=texts, seconds=2.0)
    log.close()
    path = tmp_path / "run.jsonl"
    text = path.read_text()
    text = text.replace('["first"]', "[1]").replace(
        '"prompt_tokens": 10', '"prompt_tokens": "x"', 1
    )
    lines = text.splitlines(keepends=True)
    lines.insert(3, "this is not JSON\n")  # a damaged line in the middle, then more events
    path.write_text("".join(lines))
    with caplog.at_level("WARNING"):
        again = RunLog(tmp_path, {"optimizer": "X"})
    assert again.before.calls == 3  # every request still counts, the damaged line's too
    assert again.before.prompt_tokens == 20  # what it can read of the damaged usage
    replies = [again.replay("k"), again.replay("k")]
    assert [r["texts"] if r else None for r in replies] == [["second"], ["third"]]
    assert again.replay("k") is None
    warnings = [r for r in caplog.records if "not what pl.LM writes" in r.getMessage()]
    assert len(warnings) == 1
    assert "'texts' holds a value that is not a string" in warnings[0].getMessage()


def test_a_resumed_compile_asks_the_model_again_for_a_damaged_logged_answer(
    tmp_path, caplog, monkeypatch
):
    import shutil

    sent = []

    def answer(messages):
        sent.append(messages)
        return adder()._fn(messages)

    pl.register_provider("damaged-adder", lambda m, s: pl.FunctionLM(answer))
    program = pl.Predict("question -> answer", lm=pl.LM("damaged-adder/m", cache=False))
    opt = pl.BootstrapRandomSearch(exact, num_candidates=3, max_bootstrapped_demos=2)
    run, clean = tmp_path / "run", tmp_path / "clean"
    first = opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=run)
    made = len(sent)
    shutil.copytree(run, clean)
    replayed = []  # the keys a resumed run takes from an intact log
    real = RunLog.replay

    def replay(self, key):
        found = real(self, key)
        if found is not None:
            replayed.append(key)
        return found

    monkeypatch.setattr(RunLog, "replay", replay)
    opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=clean)
    assert len(sent) == made
    assert replayed
    key = replayed[0]
    path = run / "run.jsonl"  # damage every logged answer to that request
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines = [{**e, "texts": {"not": "a list"}} if e.get("key") == key else e for e in lines]
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    with caplog.at_level("WARNING"):
        second = opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=run)
    assert len(sent) == made + replayed.count(key)  # only that request went to the model
    assert second.report.final == first.report.final
    assert sum("not what pl.LM writes" in r.getMessage() for r in caplog.records) == 1


def test_with_a_persistent_cache_the_run_log_keeps_no_answer_texts(tmp_path):
    sent = []

    def answer(messages):
        sent.append(messages)
        return adder()._fn(messages)

    pl.register_provider("cached-adder", lambda m, s: pl.FunctionLM(answer))
    opt = pl.BootstrapRandomSearch(exact, num_candidates=3, max_bootstrapped_demos=2)
    kept = []
    for cache in (tmp_path / "cache", pl.Cache(persistent=False), False):
        run_dir = tmp_path / f"run-{len(kept)}"
        program = pl.Predict("question -> answer", lm=pl.LM("cached-adder/m", cache=cache))
        opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=run_dir)
        answers = [e for e in RunLog.read(run_dir / "run.jsonl") if e["event"] == "answer"]
        assert answers
        kept.append({("texts" in e, "key" in e) for e in answers})
        if Path("/proc/self/fd").is_dir():
            assert open_handles(run_dir / "run.jsonl") == 0  # closed when the run ended
    assert kept == [{(False, False)}, {(True, True)}, {(True, True)}]
    # resumed with the persistent cache, every answer comes from it
    made = len(sent)
    program = pl.Predict("question -> answer", lm=pl.LM("cached-adder/m", cache=tmp_path / "cache"))
    opt.compile(program, trainset=data(6), valset=data(6, 10), run_dir=tmp_path / "run-0")
    assert len(sent) == made


def test_the_winner_of_many_candidates_faces_a_corrected_interval():
    from pliable.optimizers.base import Optimizer
    from pliable.optimizers.state import set_instruction

    class ManyCandidates(Optimizer):
        """Scores 12 instruction variants; only the last one answers better."""

        metric = staticmethod(exact)

        def _compile(self, student, trainset, valset, run):
            for i in range(12):
                candidate = student.deepcopy()
                set_instruction(candidate.predictors()[0], f"Variant {i}.")
                run.candidate(f"v{i}", candidate, full=run.evaluate(candidate, valset))
            return run.best[1]

    # the baseline misses 6 of 40; "Variant 11." fixes them: +0.15 with no losses
    def wrong(a, before, prompt):
        return a < 6 and "Variant 11." not in before

    program = pl.Predict("question -> answer", lm=adder(wrong))
    compiled = ManyCandidates().compile(program, trainset=data(2), valset=data(40))
    comparison = compiled.report.comparison
    assert comparison["candidates_compared"] == 12
    assert comparison["confidence"] == 0.95
    from pliable.evaluation.stats import paired_bootstrap, selection_bootstrap

    plain = paired_bootstrap([0.0] * 6 + [1.0] * 34, [1.0] * 40)
    assert plain.ci_low > 0
    # the 11 others answer exactly as the baseline does, so none could have been a lucky
    # pick: the interval is the single comparison's
    assert comparison["ci_low"] == pytest.approx(plain.ci_low)
    # eleven others that each fix 3 misses and make 3 new ones, no two alike: each could
    # have drawn a lucky sample, so the interval for the best of them is wider
    base = [0.0] * 6 + [1.0] * 34
    noisy = []
    for k in range(11):
        row = list(base)
        for i in range(3):
            row[(k + i) % 6] = 1.0
            row[6 + 3 * k + i] = 0.0
        noisy.append(row)
    many = selection_bootstrap(base, [[1.0] * 40, *noisy], 0)
    assert many.difference == plain.difference
    assert many.ci_low < plain.ci_low


def test_a_candidate_with_failed_rows_still_counts_in_the_corrected_interval():
    from pliable.optimizers.base import Optimizer
    from pliable.optimizers.state import set_instruction

    class TwoCandidates(Optimizer):
        metric = staticmethod(exact)

        def _compile(self, student, trainset, valset, run):
            for i in range(2):
                candidate = student.deepcopy()
                set_instruction(candidate.predictors()[0], f"Variant {i}.")
                run.candidate(f"v{i}", candidate, full=run.evaluate(candidate, valset))
            return run.best[1]

    def answer(messages):
        q = messages[-1]["content"].split("[[question]]\n", 1)[-1].split("\n", 1)[0]
        a, b = (int(x) for x in q.split("+"))
        system = messages[0]["content"]
        if "Variant 0." in system and a == 1:
            raise RuntimeError("the server failed")  # a failed row: scored 0, not remembered
        return str(a + b + (1 if a < 6 and "Variant" not in system else 0))

    program = pl.Predict("question -> answer", lm=pl.FunctionLM(answer))
    compiled = TwoCandidates().compile(program, trainset=data(2), valset=data(40))
    v0 = next(c for c in compiled.report.candidates if c["name"] == "v0")
    assert v0["score"] == pytest.approx(39 / 40)
    assert compiled.report.comparison["candidates_compared"] == 2
