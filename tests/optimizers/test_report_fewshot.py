"""The report page of optimizers that record no candidates (BootstrapFewShot, LabeledFewShot):
baseline vs final, the chart with its best-so-far line, the prompts, and wins and losses with
each example's inputs, gold labels and both predictions; a resumed run's cost. Checked on the
parsed HTML of real run dirs compiled with fake LMs."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

import pliable as pl
from pliable.errors import LMAuthError
from pliable.optimizers import Optimizer
from pliable.report.page import render_report, write_report
from pliable.report.plot import best_so_far
from pliable.report.wins import CLIP

BEFORE = "Add the two numbers."
LONG = " and <b>then</b> some" * 12  # a long input, with markup that must stay text
VOID = {"meta", "br", "img", "input", "hr", "link"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if c.tag == tag and (cls is None or cls in c.attrs.get("class", "").split()):
                    out.append(c)
                out += c.find_all(tag, cls)
        return out

    def section(self, title: str) -> Node:
        """The page's <section> whose heading starts with ``title``."""
        for s in self.find_all("section"):
            heads = s.find_all("h2") + s.find_all("h1")
            if heads and heads[0].text.startswith(title):
                return s
        raise AssertionError(f"no section {title!r}")


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    return tree.root


def question(i: int) -> str:
    return f"{i}+{i}" + (LONG if i == 21 else "")


def examples(n: int, start: int = 0) -> list[pl.Example]:
    return [
        pl.Example(question=question(i), answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


def adder(messages):
    """Right with demos (but on 24+24); without, wrong at length on odd numbers."""
    a = int(messages[-1]["content"].split("\n")[1].split("+")[0])
    demos = len(messages) > 2
    if demos and a == 24:
        return "[[answer]]\nno idea"
    if not demos and a % 2:
        return f"[[answer]]\n{2 * a + 1} <i>oops</i>" + " so" * 60
    return f"[[answer]]\n{2 * a}"


def program(lm=None):
    return pl.Predict(pl.Signature("question -> answer", BEFORE), lm=lm or pl.FunctionLM(adder))


@pytest.fixture(scope="module")
def fewshot_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("fewshot")
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=3)
    compiled = opt.compile(
        program(), trainset=examples(8), valset=examples(20, 20), run_dir=run_dir
    )
    assert compiled.report.selected == "compiled"
    return run_dir


def events(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "run.jsonl").read_text().splitlines()]


def report_of(run_dir):
    return [e for e in events(run_dir) if e["event"] == "end"][-1]["report"]


def kv(section: Node) -> dict[str, str]:
    """A section's <dl>: each term's text to its value's."""
    terms, values = section.find_all("dt"), section.find_all("dd")
    return {t.text: v.text for t, v in zip(terms, values, strict=True)}


def wins_rows(page: Node) -> list[list[Node]]:
    table = page.section("Per-example wins and losses").find_all("table")[0]
    return [row.find_all("td") for row in table.find_all("tbody")[0].find_all("tr")]


def test_the_log_holds_each_example_once_and_every_rows_prediction(fewshot_dir):
    logged = events(fewshot_dir)
    found = [e for e in logged if e["event"] == "example"]
    assert len(found) == 20  # the baseline and the final program ran on the same 20
    assert found[1]["inputs"] == {"question": question(21)}
    assert found[1]["labels"] == {"answer": "42"}
    rows = [e for e in logged if e["event"] == "row"]
    assert len(rows) == 40
    assert {r["prediction"]["answer"] for r in rows if r["example"] == found[1]["example"]} == {
        "42",
        "43 <i>oops</i>" + " so" * 60,
    }


def test_header_shows_baseline_and_final_with_intervals(fewshot_dir):
    report = report_of(fewshot_dir)
    header = parse(render_report(fewshot_dir)).section("BootstrapFewShot compile report")
    values = kv(header)
    assert values["baseline"].startswith(f"{report['baseline']['score']:.3f} 95% CI [")
    assert values["final"].startswith(f"{report['final']['score']:.3f} 95% CI [")
    assert "n=20" in values["final"]
    assert values["majority-answer floor"].startswith("none")  # free-text answers
    assert "final − baseline" in values
    assert "kept the compiled program" in values["selected"]


def test_plot_has_the_baseline_and_the_compiled_program_and_a_best_so_far_line(fewshot_dir):
    report = report_of(fewshot_dir)
    svg = parse(render_report(fewshot_dir)).section("Score against LM calls").find_all("svg")[0]
    points = [p for p in svg.find_all("circle") if "pt" in p.attrs.get("class", "")]
    tips = [p.text for p in points]
    assert len(points) == 2
    assert tips[0] == f"baseline (the program passed in): {report['baseline']['score']:.3f} " + (
        "(valset) at 20 LM calls"
    )
    final = f"{report['final']['score']:.3f}"
    assert tips[1] == f"compiled program: {final} (valset) at {report['lm_calls']} LM calls"
    assert points[1].attrs["class"] == "pt best"
    (line,) = svg.find_all("path", "best-so-far")
    assert line.text == f"best so far: {report['baseline']['score']:.3f}, {final}"
    assert line.attrs["d"].count("V") == 1  # one step up: the compiled program is better


def test_candidates_are_the_program_passed_in_and_the_compiled_one(fewshot_dir):
    section = parse(render_report(fewshot_dir)).section("Candidates")
    rows = [[c.text for c in r.find_all("td")] for r in section.find_all("tr")[1:]]
    assert [r[1] for r in rows] == ["baseline (the program passed in)", "compiled program"]
    assert rows[1][4] == "3"  # 2 bootstrapped demos + 1 labeled, as the compile logged it
    assert "records no candidates" in section.text


class OneCandidate(Optimizer):
    """Records the program it was given as its one candidate (through ``run.candidate``)."""

    def __init__(self, metric):
        self.metric = metric

    def _compile(self, student, trainset, valset, run):
        run.candidate("only", student, full=run.evaluate(student, valset))
        return student


def candidate_events(run_dir):
    return [e for e in events(run_dir) if e["event"] == "candidate"]


def test_the_compile_logs_the_baseline_and_the_compiled_program_as_candidates(
    fewshot_dir, tmp_path
):
    """Logged by the compile (not guessed from rows by the page), with the fields of the
    candidate events other optimizers log, and a role; the report's candidates stay empty."""
    report = report_of(fewshot_dir)
    base, compiled = candidate_events(fewshot_dir)
    assert [base["name"], compiled["name"]] == [
        "baseline (the program passed in)",
        "compiled program",
    ]
    assert [base["role"], compiled["role"]] == ["baseline", "compiled"]
    assert base["state"] == events(fewshot_dir)[0]["program"]
    assert compiled["parent"] == base["name"]
    assert [base["demos"], compiled["demos"]] == [0, 3]
    assert base["instructions"] == compiled["instructions"] == {"self": BEFORE}
    assert base["score"] == pytest.approx(report["baseline"]["score"])
    assert compiled["score"] == pytest.approx(report["final"]["score"])
    assert len(compiled["full"]) == len(compiled["full_keys"]) == 20
    assert [base["lm_calls"], compiled["lm_calls"]] == [20, report["lm_calls"]]
    assert report["candidates"] == []
    OneCandidate(exact).compile(
        program(), trainset=examples(2), valset=examples(3), run_dir=tmp_path
    )
    (other,) = candidate_events(tmp_path)
    assert set(base) == set(compiled) == set(other) | {"role"}


@pytest.mark.parametrize("crash", [False, True])
def test_resuming_logs_each_candidate_once(fewshot_dir, tmp_path, crash):
    """A finished run compiled again, or one that crashed after logging its candidates and
    before its end: the compile resumes and logs no candidate twice."""
    again = tmp_path / "again"
    shutil.copytree(fewshot_dir, again)
    if crash:
        lines = (again / "run.jsonl").read_text().splitlines(keepends=True)
        assert json.loads(lines[-1])["event"] == "end"
        (again / "run.jsonl").write_text("".join(lines[:-1]))
        (again / "final.json").unlink()
    before = candidate_events(again)
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=3)
    compiled = opt.compile(program(), trainset=examples(8), valset=examples(20, 20), run_dir=again)
    assert any(n.startswith("resumed from") for n in compiled.report.notes)
    assert candidate_events(again) == before
    assert compiled.report.candidates == []  # the optimizer's own: none
    assert "candidates:" not in compiled.report.summary()
    assert len(before) == 2
    svg = parse(render_report(again)).section("Score against LM calls").find_all("svg")[0]
    assert len([p for p in svg.find_all("circle") if "pt" in p.attrs.get("class", "")]) == 2


def test_a_kept_baseline_still_compares_the_compiled_program(tmp_path):
    """Two wins in four examples is inside the noise: the run keeps the program passed in,
    and the page still shows the compiled program it was compared with."""
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=3)
    compiled = opt.compile(
        program(), trainset=examples(8), valset=examples(4, 20), run_dir=tmp_path
    )
    assert compiled.report.selected == "baseline"
    tree = parse(render_report(tmp_path))
    rows = [
        [c.text for c in r.find_all("td")] for r in tree.section("Candidates").find_all("tr")[1:]
    ]
    assert [(r[1], r[4]) for r in rows] == [
        ("baseline (the program passed in)", "0"),
        ("compiled program", "3"),
    ]
    assert "kept the baseline" in kv(tree.section("BootstrapFewShot compile report"))["selected"]
    assert "2 wins" in tree.section("Per-example wins and losses").text
    prompts = tree.section("The final program's prompts").text
    assert "The run kept the baseline: this is the program passed in." in prompts
    assert "0 demos" in prompts


def test_a_log_from_before_the_compile_logged_candidates_shows_no_guessed_ones(
    fewshot_dir, tmp_path
):
    """Without candidate events nothing is made up from rows: no points, no candidates and
    no wins; the header, the prompts and the cost still show."""
    old = tmp_path / "old"
    shutil.copytree(fewshot_dir, old)
    kept = [json.dumps(e) + "\n" for e in events(old) if e["event"] != "candidate"]
    (old / "run.jsonl").write_text("".join(kept))
    tree = parse(render_report(old))
    assert not tree.section("Score against LM calls").find_all("circle", "pt")
    assert "None recorded yet" in tree.section("Candidates").text
    assert "Needs the baseline" in tree.section("Per-example wins and losses").text
    values = kv(tree.section("BootstrapFewShot compile report"))
    assert values["final"].startswith(f"{report_of(old)['final']['score']:.3f} 95% CI [")
    assert "3 demos" in tree.section("The final program's prompts").text


def test_prompts_are_the_compiled_programs(fewshot_dir):
    section = parse(render_report(fewshot_dir)).section("The final program's prompts")
    assert "From final.json" in section.text
    assert "3 demos" in section.text
    assert "{question}" in section.text
    assert BEFORE in section.text


def test_wins_and_losses_show_inputs_gold_and_both_predictions(fewshot_dir):
    page = render_report(fewshot_dir)
    tree = parse(page)
    summary = tree.section("Per-example wins and losses").find_all("p")[0].text
    assert "10 wins" in summary
    assert "1 losses" in summary
    assert "9 unchanged" in summary
    rows = wins_rows(tree)
    assert len(rows) == 11
    (loss,) = [r for r in rows if r[0].text == "loss"]
    assert [c.text for c in loss[1:]] == ["24+24", "48", "48", "no idea", "1.000", "0.000"]
    win = next(r for r in rows if r[1].text.startswith("21+21"))
    assert [c.text for c in win[2:3] + win[4:]] == ["42", "42", "0.000", "1.000"]
    # a long input and a long prediction: their start, and the whole in a <details>
    for cell, full in [(win[1], question(21)), (win[3], "43 <i>oops</i>" + " so" * 60)]:
        (details,) = cell.find_all("details")
        summary_text = details.find_all("summary")[0].text
        assert summary_text.startswith(full[:CLIP].rstrip())
        assert f"({len(full)} characters)" in summary_text
        assert details.find_all("pre")[0].text == full
    # data is escaped: its markup is text, never elements
    assert "<i>oops" not in page
    assert "<b>then" not in page
    assert "&lt;i&gt;oops&lt;/i&gt;" in page
    assert not tree.find_all("i")
    assert not [b for b in tree.find_all("b") if b.text == "then"]


def test_a_run_log_without_examples_or_predictions_still_lists_wins(fewshot_dir, tmp_path):
    """A log written before examples and predictions were logged: inputs from ``examples``."""
    old = tmp_path / "old"
    shutil.copytree(fewshot_dir, old)
    kept = []
    for event in events(old):
        if event["event"] == "example":
            continue
        event.pop("prediction", None)
        kept.append(json.dumps(event) + "\n")
    (old / "run.jsonl").write_text("".join(kept))
    rows = wins_rows(parse(render_report(old, examples=examples(20, 20))))
    assert len(rows) == 11
    loss = next(r for r in rows if r[0].text == "loss")
    missing = "not in the run log"
    assert [c.text for c in loss[1:5]] == ["24+24", "48", missing, missing]
    unknown = wins_rows(parse(render_report(old)))[0]
    assert unknown[1].find_all("code")  # the example's key, nothing else to show


def test_a_crashed_fewshot_run_renders_what_it_has(fewshot_dir, tmp_path):
    crashed = tmp_path / "crashed"
    shutil.copytree(fewshot_dir, crashed)
    lines = (crashed / "run.jsonl").read_text().splitlines(keepends=True)
    (crashed / "run.jsonl").write_text("".join(lines[:-1]))  # no end event
    (crashed / "final.json").unlink()
    tree = parse(render_report(crashed))
    assert "incomplete" in tree.section("BootstrapFewShot").text
    assert len(wins_rows(tree)) == 11  # the compiled program was scored before the crash
    assert "No best.json or final.json yet" in tree.section("The final program's").text


def test_a_resumed_run_counts_every_invocation(tmp_path):
    calls = {"n": 0, "limit": 25}

    def flaky(messages):
        calls["n"] += 1
        if calls["n"] > calls["limit"]:  # the key is revoked mid-run: the compile stops
            raise LMAuthError("key revoked", model="fake/function")
        return adder(messages)

    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=3)
    prog = program(pl.FunctionLM(flaky))
    with pytest.raises(LMAuthError):
        opt.compile(prog, trainset=examples(8), valset=examples(20, 20), run_dir=tmp_path)
    first = calls["n"]
    cost = kv(parse(render_report(tmp_path)).section("Cost"))
    assert cost["LM calls"] == str(first)  # an unfinished run: from the journal
    calls["limit"] = 10**9
    compiled = opt.compile(prog, trainset=examples(8), valset=examples(20, 20), run_dir=tmp_path)
    assert any(n.startswith("resumed from") for n in compiled.report.notes)
    assert calls["n"] > first
    logged = events(tmp_path)
    answers = [e for e in logged if e["event"] == "answer"]
    assert sum(e["event"] == "request" for e in logged) == calls["n"]
    assert sum(e["event"] == "example" for e in logged) == 20  # once, over both invocations
    cost = kv(parse(render_report(tmp_path)).section("Cost"))
    assert cost["LM calls"] == str(calls["n"])  # both invocations
    prompt = sum(e["prompt_tokens"] for e in answers)
    completion = sum(e["completion_tokens"] for e in answers)
    assert cost["tokens"] == f"{prompt} prompt + {completion} completion"
    assert cost["cache hits"] == "0 in the last invocation"
    assert f"{first} LM calls were made before" in cost["resumed"]
    assert compiled.report.lm_calls == calls["n"]
    # the first invocation stopped while bootstrapping: the second logged both, once
    assert [e["name"] for e in candidate_events(tmp_path)] == [
        "baseline (the program passed in)",
        "compiled program",
    ]
    plot = parse(render_report(tmp_path)).section("Score against LM calls")
    assert f"at {calls['n']} LM calls" in plot.text  # the compiled program, scored last


def test_a_run_continued_after_it_finished_and_not_finished_again_is_incomplete(
    fewshot_dir, tmp_path
):
    again = tmp_path / "again"
    shutil.copytree(fewshot_dir, again)
    with (again / "run.jsonl").open("a") as f:
        f.write(json.dumps({"event": "request", "t": 0.1}) + "\n")
    page = render_report(again)
    assert "incomplete" in parse(page).section("BootstrapFewShot").text
    assert "unknown: the run did not finish" in page


def test_the_floor_shows_in_the_header_and_the_plot(tmp_path):
    """Yes/no answers: "yes" without demos (0.4), "no" with them (0.6, as the floor)."""
    train = [pl.Example(q=f"t{i}", a="no" if i < 7 else "yes").with_inputs("q") for i in range(8)]
    val = [pl.Example(q=f"v{i}", a="no" if i < 6 else "yes").with_inputs("q") for i in range(10)]
    lm = pl.FunctionLM(lambda messages: "[[a]]\n" + ("no" if len(messages) > 2 else "yes"))
    pl.BootstrapFewShot(lambda ex, pred: ex.a == pred.a, max_labeled_demos=2).compile(
        pl.Predict(pl.Signature("q -> a: Literal['yes', 'no']"), lm=lm),
        trainset=train,
        valset=val,
        run_dir=tmp_path,
        require_significance=False,
    )
    tree = parse(render_report(tmp_path))
    header = tree.section("BootstrapFewShot compile report")
    values = kv(header)
    assert values["majority-answer floor"].startswith("0.600 always 'no'")
    assert values["baseline"].startswith("0.400 95% CI")
    assert values["final"].startswith("0.600 95% CI")
    assert "at or below the floor" in values["final"]
    svg = tree.section("Score against LM calls")
    assert len(svg.find_all("line", "floor")) == 1
    assert len(svg.find_all("circle", "pt")) == 2


@pytest.fixture(scope="module")
def labeled_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("labeled")
    opt = pl.LabeledFewShot(2)
    opt.metric = exact  # LabeledFewShot takes no metric; given one, the compile scores
    opt.compile(program(), trainset=examples(8), valset=examples(20, 20), run_dir=run_dir)
    return run_dir


def test_labeled_few_shot_with_a_metric_shows_baseline_final_and_wins(labeled_dir):
    tree = parse(render_report(labeled_dir))
    assert len(tree.section("Score against LM calls").find_all("circle", "pt")) == 2
    assert len(wins_rows(tree)) == 11
    assert "2 demos" in tree.section("The final program's prompts").text


def test_labeled_few_shot_without_a_metric_says_why_nothing_is_scored(tmp_path):
    pl.LabeledFewShot(2).compile(
        program(), trainset=examples(8), valset=examples(20, 20), run_dir=tmp_path
    )
    tree = parse(render_report(tmp_path))
    why = "not measured: LabeledFewShot was given no metric"
    assert why in tree.section("LabeledFewShot compile report").text
    assert why in tree.section("Score against LM calls").text
    assert why in tree.section("Per-example wins and losses").text
    assert "2 demos" in tree.section("The final program's prompts").text


def test_best_so_far_is_the_running_max_of_full_scores_in_trial_order():
    candidates = [
        {"score": 0.5, "lm_calls": 10},
        {"score": None, "minibatch_score": 0.9, "lm_calls": 12},  # a minibatch: not counted
        {"score": 0.4, "lm_calls": 20},
        {"score": 0.7, "lm_calls": 30},
        {"score": 0.6, "lm_calls": 40},
    ]
    assert best_so_far(candidates) == [(10, 0.5), (20, 0.5), (30, 0.7), (40, 0.7)]
    assert best_so_far([]) == []


def test_page_file_is_written(fewshot_dir, tmp_path):
    path = write_report(fewshot_dir, tmp_path / "page.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
