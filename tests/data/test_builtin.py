"""The built-in example tasks: data shipped in the package, split, metric and program.

No real model here: programs run on fake LMs."""

import dataclasses
import json
import typing
from collections import Counter
from importlib import resources

import pytest

import pliable as pl
from pliable.tasks import Task, list_tasks, load_task
from pliable.tasks.catalog import PRODUCTS, TicketProduct


@pytest.fixture
def task() -> Task:
    return load_task("tickets")


def test_tickets_is_listed_and_loads(task):
    assert "tickets" in list_tasks()
    assert isinstance(task, Task)
    assert task.name == "tickets"
    assert task.description


def test_unknown_task_names_the_tasks_and_the_closest_one():
    with pytest.raises(pl.UsageError, match=r"tickets.*Did you mean 'tickets'"):
        load_task("ticket")
    with pytest.raises(pl.UsageError, match="tasks are: multihop, tickets"):
        load_task("nothing-like-it")


def test_data_file_ships_inside_the_package():
    data = resources.files("pliable.tasks").joinpath("tickets.jsonl")
    assert data.is_file()
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 160
    assert len({row["id"] for row in rows}) == 160
    assert Counter(row["split"] for row in rows) == {"train": 100, "dev": 60}


def test_sizes_fields_and_inputs(task):
    assert (len(task.trainset), len(task.devset)) == (100, 60)
    for ex in task.trainset + task.devset:
        assert isinstance(ex, pl.Example)
        assert set(ex) == {"ticket", "product"}
        assert ex.input_keys == frozenset({"ticket"})
        assert ex.ticket.strip()


def test_labels_are_the_signatures_label_set(task):
    annotation = task.signature.output_fields["product"].annotation
    assert typing.get_origin(annotation) is typing.Literal
    assert task.labels == PRODUCTS == typing.get_args(annotation)
    assert len(set(task.labels)) == 20
    for ex in task.trainset + task.devset:
        assert ex.product in task.labels
        assert ex.product in ex.ticket.lower()  # the ticket names its product
    assert set(task.labels) == {ex.product for ex in task.trainset}  # every label is taught


def test_train_and_dev_are_disjoint(task):
    train = {ex.ticket for ex in task.trainset}
    dev = {ex.ticket for ex in task.devset}
    assert len(train) == 100
    assert len(dev) == 60
    assert not train & dev


def test_split_is_deterministic_and_lists_are_fresh(task):
    again = load_task("tickets")
    assert again.trainset == task.trainset
    assert again.devset == task.devset
    assert again.trainset is not task.trainset
    task.trainset.clear()
    assert len(load_task("tickets").trainset) == 100


def test_task_is_frozen(task):
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.name = "other"  # type: ignore[misc]


def test_metric_scores_right_and_wrong_predictions(task):
    ex = task.devset[0]
    wrong = next(p for p in task.labels if p != ex.product)
    assert task.metric(ex, pl.Prediction(product=ex.product)) == 1.0
    assert task.metric(ex, pl.Prediction(product=ex.product.upper())) == 1.0
    assert task.metric(ex, pl.Prediction(product=wrong)) == 0.0


def test_program_factory_builds_a_fresh_program_with_the_tasks_signature(task):
    first, second = task.program_factory(), task.program_factory()
    assert first is not second
    assert isinstance(first, pl.Predict)
    assert first.signature == task.signature == TicketProduct
    assert first.demos == []
    first.demos = [task.trainset[0]]
    assert second.demos == []


def test_program_reads_an_answer(task):
    lm = pl.ScriptedLM(['{"product": "kettle"}'])
    pred = task.program_factory()(ticket="My Zento kettle leaks.", lm=lm)
    assert pred.product == "kettle"


def test_recommended_settings_are_usable_by_the_optimizers(task):
    settings = dict(task.recommended)
    assert settings.pop("optimizer") in ("bootstrap", "random-search", "labeled")
    assert set(settings) <= {"max_bootstrapped_demos", "max_labeled_demos", "num_candidates"}
    assert all(isinstance(v, int) and v >= 0 for v in settings.values())


def _reader(messages):
    """A stand-in model that finds the product only once it has seen a demo."""
    ticket = messages[-1]["content"].lower()
    found = [p for p in PRODUCTS if p in ticket] if len(messages) > 2 else []
    return json.dumps({"product": found[0] if found else "blender"})


def test_compiling_with_the_recommended_settings_beats_zero_shot(task):
    settings = dict(task.recommended)
    assert settings.pop("optimizer") == "bootstrap"
    optimizer = pl.BootstrapFewShot(task.metric, num_threads=1, **settings)
    with pl.using(lm=pl.FunctionLM(_reader)):
        compiled = optimizer.compile(
            task.program_factory(), trainset=task.trainset, valset=task.devset, progress=False
        )
    report = compiled.report
    assert report.baseline is not None
    assert report.final is not None
    assert report.final.score == 1.0
    assert report.baseline.ci_high < report.final.ci_low


def test_shipped_dataset_is_what_the_seeded_generator_writes(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "tickets.jsonl"
    subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_tickets.py"), str(out)],
        check=True,
        capture_output=True,
    )
    shipped = root / "src" / "pliable" / "tasks" / "tickets.jsonl"
    assert out.read_bytes() == shipped.read_bytes()
