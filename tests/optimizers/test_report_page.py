"""The compile report page: rendered from real run dirs (fake LMs), and opened in Chromium."""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import pliable as pl
from pliable.errors import UsageError
from pliable.optimizers import Optimizer
from pliable.optimizers.state import set_instruction
from pliable.report.page import render_report, write_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BEFORE = "Add the two numbers."
AFTER = "Please add the two numbers carefully. <script>alert(1)</script>"


def examples(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


def adder(messages):
    """Right when told to be careful, or when shown demos; else wrong on odd numbers."""
    q = messages[-1]["content"].split("\n")[1]
    a = int(q.split("+")[0])
    careful = "carefully" in messages[0]["content"] or len(messages) > 2
    return f"[[answer]]\n{2 * a + (0 if careful or a % 2 == 0 else 1)}"


class Rewrite(Optimizer):
    """Tries each instruction: first on a minibatch, then on the full valset."""

    def __init__(self, metric, texts):
        self.metric = metric
        self.texts = texts

    def _compile(self, student, trainset, valset, run):
        for i, text in enumerate(self.texts):
            candidate = student.deepcopy()
            set_instruction(candidate.predictors()[0], text)
            run.candidate(f"try-{i}", candidate, minibatch=run.evaluate(candidate, valset[:3]))
            run.candidate(f"rewrite-{i}", candidate, full=run.evaluate(candidate, valset))
        return run.best[1]


def program():
    return pl.Predict(pl.Signature("question -> answer", BEFORE), lm=pl.FunctionLM(adder))


@pytest.fixture(scope="module")
def rewrite_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("rewrite")
    Rewrite(exact, [BEFORE, "Add them.", AFTER]).compile(
        program(), trainset=examples(4), valset=examples(10, 20), run_dir=run_dir
    )
    return run_dir


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("search")
    opt = pl.BootstrapRandomSearch(
        exact, num_candidates=4, max_bootstrapped_demos=2, max_labeled_demos=1
    )
    opt.compile(program(), trainset=examples(8), valset=examples(10, 20), run_dir=run_dir)
    return run_dir


def events(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "run.jsonl").read_text().splitlines()]


def scored(run_dir):
    """Candidates with a full or a minibatch score (each is one point of the plot)."""
    return [
        e
        for e in events(run_dir)
        if e["event"] == "candidate"
        and (e["score"] is not None or e["minibatch_score"] is not None)
    ]


def points(page_html):
    return re.findall(r'class="pt (full|minibatch|best)"', page_html)


def crashed_copy(run_dir, tmp_path, keep_lines=None):
    """The run dir as a crash leaves it: no end event, no final.json, a torn last line."""
    copy = tmp_path / "crashed"
    shutil.copytree(run_dir, copy)
    lines = (copy / "run.jsonl").read_text().splitlines(keepends=True)
    kept = lines[:keep_lines] if keep_lines else lines[:-1]
    (copy / "run.jsonl").write_text("".join(kept) + '{"event": "row", "sta')
    (copy / "final.json").unlink()
    return copy


def test_plot_has_one_point_per_scored_candidate(search_dir, rewrite_dir):
    for run_dir in (search_dir, rewrite_dir):
        page = render_report(run_dir)
        assert len(points(page)) == len(scored(run_dir)) > 0
        assert points(page).count("best") == 1
        assert "<svg" in page
        assert "LM calls spent" in page
    page = render_report(rewrite_dir)
    assert points(page).count("minibatch") == 3
    assert "<title>try-0: " in page  # a tooltip per point


def test_page_is_self_contained(search_dir):
    page = write_report(search_dir).read_text()
    assert (search_dir / "report.html").is_file()
    assert not re.search(r"(src|href)=|https?://(?!www\.w3\.org/2000/svg)|@import|url\(", page)


def test_header_prompts_and_cost(rewrite_dir):
    page = render_report(rewrite_dir)
    assert "Rewrite compile report" in page
    assert "finished" in page
    assert "4 train / 10 val" in page
    assert "final − baseline" in page
    assert "kept the compiled program" in page
    assert "{question}" in page  # the prompt as the LM sees it, with placeholders
    assert "[[answer]]" in page
    assert "LM calls" in page
    assert "cache hits" in page


def test_diff_shows_inserted_and_deleted_words(rewrite_dir):
    page = render_report(rewrite_dir)
    diff = page[page.index("Instructions: before") :]
    assert "<del>Add </del><ins>Please add </ins>the two " in diff
    assert re.search(r"<del>numbers\.</del><ins>numbers carefully\. &lt;script", diff)


def test_instructions_and_demos_are_escaped(rewrite_dir):
    page = render_report(rewrite_dir)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert page.count("<script>") == 1  # only the page's own sorting script


def test_wins_and_losses(rewrite_dir):
    page = render_report(rewrite_dir)
    assert "5 wins" in page
    assert "0 losses" in page
    assert "5 unchanged" in page
    wins = page[page.index("Per-example wins") :]
    # the example's inputs, gold and both predictions, from the run log
    row = '<td><span class="v">21+21</span></td><td><span class="v">42</span></td>'
    assert row + '<td><span class="v">43</span></td><td><span class="v">42</span></td>' in wins
    assert ">20+20<" not in wins  # unchanged examples are not listed


def test_crashed_run_still_renders(rewrite_dir, tmp_path):
    crashed = crashed_copy(rewrite_dir, tmp_path)
    page = render_report(crashed)
    assert "incomplete" in page
    assert "best so far" in page
    assert len(points(page)) == len(scored(rewrite_dir))
    assert "5 wins" in page
    assert "unknown: the run did not finish" in page


def test_run_with_only_a_start_event_renders(rewrite_dir, tmp_path):
    crashed = crashed_copy(rewrite_dir, tmp_path, keep_lines=1)
    (crashed / "best.json").unlink()
    page = render_report(crashed)
    assert "No scored candidates yet" in page
    assert "No best.json or final.json yet" in page
    assert points(page) == []


def add(a: int, b: int = 0) -> int:
    """Add two integers."""
    return a + b


def test_prompts_of_a_program_that_needs_its_tools_render_from_the_file(rewrite_dir, tmp_path):
    from pliable.programs.react import ReAct

    copy = tmp_path / "agent-run"
    shutil.copytree(rewrite_dir, copy)
    ReAct("question -> answer: int", tools=[add]).save(copy / "best.json")
    page = render_report(copy)
    assert "cannot read" not in page
    assert "<h3>react " in page
    assert "<h3>extract " in page
    assert "Add two integers." in page


def yes_no(messages):
    """Always "yes", except on v0 once told to be careful (then right: "no")."""
    q = messages[-1]["content"].split("[[q]]\n")[1].split("\n")[0]
    careful = "carefully" in messages[0]["content"]
    return "[[a]]\nno" if careful and q == "v0" else "[[a]]\nyes"


@pytest.fixture(scope="module")
def floor_dir(tmp_path_factory):
    """A yes/no run: baseline 0.4, final 0.5, always "no" (the floor) 0.6."""
    run_dir = tmp_path_factory.mktemp("floor")
    train = [pl.Example(q=f"t{i}", a="no" if i < 7 else "yes").with_inputs("q") for i in range(10)]
    val = [pl.Example(q=f"v{i}", a="no" if i < 6 else "yes").with_inputs("q") for i in range(10)]
    signature = pl.Signature("q -> a: Literal['yes', 'no']", BEFORE)
    Rewrite(lambda ex, pred: ex.a == pred.a, [BEFORE, AFTER]).compile(
        pl.Predict(signature, lm=pl.FunctionLM(yes_no)),
        trainset=train,
        valset=val,
        run_dir=run_dir,
        require_significance=False,
    )
    return run_dir


def test_the_floor_shows_beside_the_baseline_and_the_final_is_measured_against_it(floor_dir):
    page = render_report(floor_dir)
    header = page[: page.index("Score against LM calls")]
    rest = header[header.index("dataset") :]  # after the banner, which names the floor too
    assert rest.index("baseline") < rest.index("majority-answer floor") < rest.index("final")
    assert "<b>0.600</b>" in header
    assert "always &#x27;no&#x27; (the trainset&#x27;s most common `a`: 7 of 10)" in header
    assert "0 LM calls" in header
    assert '<span class="tag bad">at or below the floor</span>' in header
    assert "kept the compiled program: not above the floor" in header
    # nothing found beats the floor: said first, before the dataset
    loud = '<span class="tag bad">NO USABLE PROGRAM: the program returned scores 0.500'
    assert loud in header
    assert header.index(loud) < header.index("dataset")
    assert len(re.findall(r'<line[^>]*class="floor"', page)) == 1  # the floor in the plot
    assert ">floor</text>" in page


def test_a_usable_run_has_no_such_banner(rewrite_dir):
    assert "NO USABLE PROGRAM" not in render_report(rewrite_dir)


def test_a_crashed_run_shows_the_floor_from_its_log(floor_dir, tmp_path):
    page = render_report(crashed_copy(floor_dir, tmp_path))
    assert "incomplete" in page
    assert "<b>0.600</b>" in page[: page.index("Score against LM calls")]


def test_a_free_text_run_says_it_has_no_floor(rewrite_dir):
    page = render_report(rewrite_dir)
    assert "none: free-text outputs, or a metric that needs an LM" in page
    assert 'class="floor"' not in page


def test_not_a_run_dir(tmp_path):
    with pytest.raises(UsageError, match=r"no run\.jsonl"):
        render_report(tmp_path)


def _sync_playwright():
    """Playwright and Chromium, else a skip (a failure with PLIABLE_REQUIRE_BROWSER=1)."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed"
    if missing is None and not Path(CHROMIUM).is_file():
        missing = f"no Chromium at {CHROMIUM}"
    if missing is not None:
        if os.environ.get("PLIABLE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PLIABLE_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.mark.browser
def test_floor_page_renders_in_chromium_without_errors(floor_dir, tmp_path):
    sync_playwright = _sync_playwright()
    path = write_report(floor_dir, tmp_path / "floor.html")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("svg line.floor").count() == 1
            header = page.locator("section").first.inner_text()
            assert "majority-answer floor" in header
            assert "at or below the floor" in header
        finally:
            browser.close()
    assert errors == []


@pytest.fixture(scope="module")
def fewshot_dir(tmp_path_factory):
    """BootstrapFewShot (no candidates): long inputs, predictions with markup."""

    def lm(messages):
        a = int(messages[-1]["content"].split("\n")[1].split("+")[0])
        wrong = len(messages) <= 2 and a % 2
        return (
            f"[[answer]]\n{2 * a + 1} <script>alert(2)</script>"
            if wrong
            else f"[[answer]]\n{2 * a}"
        )

    run_dir = tmp_path_factory.mktemp("fewshot")
    val = [
        pl.Example(question=f"{i}+{i}" + " <b>x</b>" * 30, answer=str(2 * i)).with_inputs(
            "question"
        )
        for i in range(20, 30)
    ]
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=3)
    signature = pl.Signature("question -> answer", BEFORE)
    opt.compile(
        pl.Predict(signature, lm=pl.FunctionLM(lm)),
        trainset=examples(8),
        valset=val,
        run_dir=run_dir,
    )
    return run_dir


@pytest.mark.browser
def test_fewshot_page_shows_chart_prompts_and_wins_in_chromium(fewshot_dir, tmp_path):
    sync_playwright = _sync_playwright()
    path = write_report(fewshot_dir, tmp_path / "fewshot.html")
    errors, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            # the chart: the baseline and the compiled program, and the best-so-far line
            assert page.locator("svg .pt").count() == 2
            assert page.locator("svg .pt.best").count() == 1
            line = page.locator("svg path.best-so-far")
            assert line.count() == 1
            assert line.bounding_box()["width"] > 100  # drawn, from one point to the other
            # the compiled program's prompts
            prompts = page.locator("section", has=page.locator("h2", has_text="prompts"))
            assert "{question}" in prompts.inner_text()
            assert "3 demos" in prompts.inner_text()
            # wins: inputs folded, opened by a click; predictions shown as text
            wins = page.locator("section", has=page.locator("h2", has_text="wins and losses"))
            assert "5 wins" in wins.inner_text()
            rows = wins.locator("tbody tr")
            assert rows.count() == 5
            folded = rows.first.locator("td").nth(1).locator("details")
            full = "21+21" + " <b>x</b>" * 30
            assert not folded.locator("pre").is_visible()
            folded.locator("summary").click()
            assert folded.locator("pre").is_visible()
            assert folded.locator("pre").inner_text() == full
            assert "43 <script>alert(2)</script>" in rows.first.inner_text()
        finally:
            browser.close()
    assert errors == []
    assert dialogs == []


@pytest.mark.browser
@pytest.mark.parametrize("crash", [False, True])
def test_page_renders_in_chromium_without_errors(rewrite_dir, tmp_path, crash):
    sync_playwright = _sync_playwright()
    run_dir = crashed_copy(rewrite_dir, tmp_path) if crash else rewrite_dir
    path = write_report(run_dir, tmp_path / "page.html", examples=examples(10, 20))
    errors, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("svg .pt").count() == len(scored(rewrite_dir))
            assert page.locator("svg .pt.best").count() == 1
            assert page.locator("svg .pt.minibatch").count() == 3
            names = page.locator("table.sortable").first.locator("tbody tr td:nth-child(2)")
            before = names.all_inner_texts()
            page.locator("table.sortable").first.locator("th", has_text="name").click()
            assert names.all_inner_texts() == sorted(before)  # the sorting script ran
            assert "alert(1)" in page.locator("body").inner_text()  # shown as text, not run
        finally:
            browser.close()
    assert errors == []
    assert dialogs == []
