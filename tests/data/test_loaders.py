"""Loading examples from files and datasets, splitting them, and BIG-bench tasks."""

import json
import logging
import math
import sys
from enum import Enum
from pathlib import Path

import pytest

import pliable as pl
from pliable.data import bigbench
from pliable.data.bigbench import bigbench_dir, load_bigbench
from pliable.data.loaders import DataError, Examples, coerce_value, load_examples, split

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = [
    {"question": "2+2?", "answer": 4, "tags": ["math"], "meta": {"src": "x"}, "ok": True},
    {"question": "Capital of France?", "answer": "Paris", "tags": [], "meta": None, "ok": False},
]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- formats ---------------------------------------------------------------------------------


def test_jsonl_round_trip_keeps_json_types_and_marks_inputs(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [json.dumps(r) for r in ROWS] + ["", "  "])
    examples = load_examples(path, inputs=["question"])
    assert isinstance(examples, list)
    assert [ex.to_dict() for ex in examples] == ROWS
    assert all(ex.input_keys == frozenset({"question"}) for ex in examples)
    assert dict(examples[0].labels())["tags"] == ["math"]
    assert examples.skipped == 0
    assert examples.skip_reasons == []


def test_json_list_round_trip(tmp_path):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
    examples = load_examples(str(path), inputs=["question", "meta"])
    assert [ex.to_dict() for ex in examples] == ROWS
    assert dict(examples[1].inputs()) == {"question": "Capital of France?", "meta": None}


def test_csv_round_trip_values_are_text_unless_typed(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text('question,answer,score\n"Two\nlines?",3,0.5\nplain,4,1\n', encoding="utf-8-sig")
    plain = load_examples(path, inputs=["question"])
    assert plain[0].to_dict() == {"question": "Two\nlines?", "answer": "3", "score": "0.5"}
    typed = load_examples(path, inputs=["question"], types={"answer": int, "score": float})
    assert [(ex.answer, ex.score) for ex in typed] == [(3, 0.5), (4, 1.0)]


def test_tsv_is_read_with_tabs(tmp_path):
    path = tmp_path / "qa.tsv"
    path.write_text("question\tanswer\na, b\tc\n", encoding="utf-8")
    assert load_examples(path, inputs=["question"])[0].to_dict() == {
        "question": "a, b",
        "answer": "c",
    }


def test_fields_choose_what_is_kept_and_required(tmp_path):
    path = write_jsonl(
        tmp_path / "qa.jsonl",
        ['{"question": "q", "answer": "a", "extra": 1}', '{"question": "q2", "answer": "b"}'],
    )
    examples = load_examples(path, inputs=["question"], fields=["question", "answer"])
    assert [ex.to_dict() for ex in examples] == [
        {"question": "q", "answer": "a"},
        {"question": "q2", "answer": "b"},
    ]
    with pytest.raises(pl.UsageError, match=r"\['answer'\] are in inputs/types but not in fields"):
        load_examples(path, inputs=["answer"], fields=["question"])


def test_limit_keeps_first_good_rows_and_stops_reading(tmp_path):
    path = write_jsonl(
        tmp_path / "qa.jsonl", ['{"q": 1}', "oops", '{"q": 2}', '{"q": 3}', "never read {"]
    )
    examples = load_examples(path, inputs=["q"], limit=2, skip_bad_rows=True)
    assert [ex.q for ex in examples] == [1, 2]
    assert examples.skipped == 1
    assert load_examples(path, inputs=["q"], limit=0) == []
    with pytest.raises(pl.UsageError, match="limit must be"):
        load_examples(path, inputs=["q"], limit=-1)


# --- Hugging Face datasets ---------------------------------------------------------------------


@pytest.fixture
def hf(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="the optional `datasets` extra is missing")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    return datasets


def test_saved_dataset_folder_round_trip(hf, tmp_path):
    hf.Dataset.from_list(ROWS[:1] * 2).save_to_disk(str(tmp_path / "ds"))
    examples = load_examples(tmp_path / "ds", inputs=["question"], types={"answer": str})
    assert [ex.to_dict() for ex in examples] == [{**ROWS[0], "answer": "4"}] * 2
    assert examples[0].input_keys == frozenset({"question"})


def test_saved_dataset_dict_picks_the_split(hf, tmp_path):
    rows = [{"q": "a", "n": 1}, {"q": "b", "n": 2}]
    dd = hf.DatasetDict(
        {"train": hf.Dataset.from_list(rows), "test": hf.Dataset.from_list(rows[1:])}
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    assert [ex.q for ex in load_examples(tmp_path / "dd", inputs=["q"])] == ["a", "b"]
    assert [ex.q for ex in load_examples(tmp_path / "dd", inputs=["q"], split="test")] == ["b"]
    with pytest.raises(DataError, match=r"no split 'dev'; its splits are \['test', 'train'\]"):
        load_examples(tmp_path / "dd", inputs=["q"], split="dev")


def test_parquet_and_arrow_files_load_through_datasets(hf, tmp_path):
    ds = hf.Dataset.from_list([{"q": "a", "n": 1}, {"q": "b", "n": None}])
    ds.to_parquet(str(tmp_path / "rows.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    (arrow,) = (tmp_path / "saved").glob("*.arrow")
    for path in (tmp_path / "rows.parquet", arrow):
        examples = load_examples(path, inputs=["q"])
        assert [ex.to_dict() for ex in examples] == [{"q": "a", "n": 1}, {"q": "b", "n": None}]
    with pytest.raises(DataError, match=r"rows\.parquet row 2: field 'n': expected int, got None"):
        load_examples(tmp_path / "rows.parquet", inputs=["q"], types={"n": int})


def test_folder_that_is_not_a_dataset_is_a_data_error(hf, tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not a dataset saved with save_to_disk"):
        load_examples(tmp_path / "plain", inputs=["q"])


def test_missing_datasets_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    (tmp_path / "ds").mkdir()
    with pytest.raises(pl.ConfigurationError, match=r'pip install "pliable\[datasets\]"'):
        load_examples(tmp_path / "ds", inputs=["q"])
    with pytest.raises(pl.ConfigurationError, match="not an existing file or folder"):
        load_examples("someone/some-hub-dataset", inputs=["q"])


# --- bad rows --------------------------------------------------------------------------------


def test_broken_json_line_names_file_line_and_text(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", ['{"q": 1}', '{"q": 2,,}'])
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    err = info.value
    assert isinstance(err, pl.UsageError)
    assert f"{path}:2: not valid JSON (Expecting property name" in str(err)
    assert "'{\"q\": 2,,}'" in str(err)
    assert "skip_bad_rows=True" in str(err)
    assert (err.source, err.line, err.value) == (str(path), 2, '{"q": 2,,}\n')


def test_non_object_line_is_a_bad_row(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", ['{"q": 1}', "", "[1, 2]"])
    with pytest.raises(DataError, match=rf"{path}:3: expected an object, got an array: \[1, 2\]"):
        load_examples(path, inputs=["q"])


def test_missing_field_names_the_field_and_a_close_match(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", ['{"q": 1, "answer": 2}', '{"q": 1, "anwser": 2}'])
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    assert str(info.value).startswith(
        f"{path}:2: field 'answer': missing (did you mean 'anwser'?); "
        "the row is {'q': 1, 'anwser': 2}"
    )
    assert (info.value.line, info.value.field) == (2, "answer")


def test_missing_input_is_a_bad_row_even_when_other_fields_vary(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[\n  {"q": 1},\n\n  {"other": 2}\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:4: field 'q': missing"):
        load_examples(path, inputs=["q"])


def test_wrong_type_names_the_value_and_its_type(tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl", ['{"q": "a", "answer": 3}', '{"q": "b", "answer": "three"}']
    )
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"], types={"answer": int})
    assert str(info.value).startswith(f"{path}:2: field 'answer': expected int, got 'three' (str)")
    assert (info.value.field, info.value.value) == ("answer", "three")


def test_csv_lines_count_the_header_and_multiline_values(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('q,answer\n"one\ntwo",1\n\nx,nope\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:5: field 'answer': expected int, got 'nope'"):
        load_examples(path, inputs=["q"], types={"answer": int})
    path.write_text('q,answer\n"first\nsecond",nope\n', encoding="utf-8")  # a row's first line
    with pytest.raises(DataError, match=rf"{path}:2: field 'answer'"):
        load_examples(path, inputs=["q"], types={"answer": int})


def test_csv_short_and_long_rows_are_bad_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("q,answer\nonly-q\na,b,c\n", encoding="utf-8")
    result = load_examples(path, inputs=["q"], fields=["q"], skip_bad_rows=True)
    assert result.skip_reasons == [
        f"{path}:3: the row has 3 values but the header has 2 columns; extra values ['c']"
    ]
    with pytest.raises(DataError, match=rf"{path}:2: field 'answer': missing"):
        load_examples(path, inputs=["q"])


def test_csv_header_with_repeated_names_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("q,q\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:1: the header has empty or repeated"):
        load_examples(path, inputs=["q"])


def test_broken_json_file_cannot_be_skipped(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"q": 1},\n  {"q": 2\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:4: not valid JSON") as info:
        load_examples(path, inputs=["q"], skip_bad_rows=True)
    assert info.value.line == 4


def test_skip_bad_rows_counts_and_logs(tmp_path, caplog):
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        ['{"q": "a", "n": "1"}', "{broken", '"text"', '{"q": "b", "n": "x"}', '{"q": "c", "n": 3}'],
    )
    with caplog.at_level(logging.WARNING, logger="pliable.data.loaders"):
        result = load_examples(path, inputs=["q"], types={"n": int}, skip_bad_rows=True)
    assert isinstance(result, Examples)
    assert [(ex.q, ex.n) for ex in result] == [("a", 1), ("c", 3)]
    assert result.skipped == 3
    assert [reason.split(": ")[0] for reason in result.skip_reasons] == [
        f"{path}:2",
        f"{path}:3",
        f"{path}:4",
    ]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"Skipped 3 bad row(s) of {path}: {path}:2: not valid")


def test_every_row_bad_is_an_error_even_when_skipping(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", ["1", "2"])
    with pytest.raises(DataError, match=r"Every row of .* is bad \(2 skipped\)"):
        load_examples(path, inputs=["q"], skip_bad_rows=True)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("e.jsonl", ""),
        ("e.jsonl", "\n\n  \n"),
        ("e.csv", ""),
        ("e.csv", "q,answer\n"),
        ("e.json", ""),
        ("e.json", "[]"),
        ("e.json", '{"examples": []}'),
    ],
)
def test_empty_source_is_a_data_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="has no rows: it is empty"):
        load_examples(path, inputs=["q"])


def test_unknown_suffix_missing_file_and_odd_json_are_data_errors(tmp_path):
    (tmp_path / "rows.txt").write_text("q\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot tell its format from the suffix '\.txt'"):
        load_examples(tmp_path / "rows.txt", inputs=["q"])
    with pytest.raises(DataError, match="no such file"):
        load_examples(tmp_path / "absent.jsonl", inputs=["q"])
    (tmp_path / "odd.json").write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(DataError, match="expected a list of objects or a BIG-bench task"):
        load_examples(tmp_path / "odd.json", inputs=["q"])
    (tmp_path / "latin1.jsonl").write_bytes(b'{"q": "caf\xe9"}\n')
    with pytest.raises(DataError, match="not UTF-8 text"):
        load_examples(tmp_path / "latin1.jsonl", inputs=["q"])


# --- types ------------------------------------------------------------------------------------


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "tp", "expected"),
    [
        ("3", int, 3),
        (" -3 ", int, -3),
        (3.0, int, 3),
        ("0.5", float, 0.5),
        (2, float, 2.0),
        ("Yes", bool, True),
        ("false", bool, False),
        (1, bool, True),
        (7, str, "7"),
        ('["a", "b"]', list, ["a", "b"]),
        ('{"k": 1}', dict, {"k": 1}),
        ("red", Colour, Colour.RED),
        ("RED", Colour, Colour.RED),
    ],
)
def test_types_convert_lossless_values(value, tp, expected):
    assert coerce_value(value, tp) == expected
    assert type(coerce_value(value, tp)) is type(expected)


@pytest.mark.parametrize(
    ("value", "tp"),
    [("3.5", int), (3.5, int), (True, int), (True, float), (True, str), ("maybe", bool),
     (2, bool), ("", float), (None, str), ("[1]", dict), ("blue", Colour)],
)  # fmt: skip
def test_types_refuse_lossy_or_wrong_values(value, tp):
    with pytest.raises(ValueError, match=f"expected {tp.__name__}, got"):
        coerce_value(value, tp)


def test_unsupported_type_is_a_usage_error(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", ['{"q": 1}'])
    with pytest.raises(pl.UsageError, match=r"types\['q'\] = list\[int\] is not supported"):
        load_examples(path, inputs=["q"], types={"q": list[int]})


# --- split ------------------------------------------------------------------------------------


def numbered(n: int) -> list[pl.Example]:
    return [pl.Example(i=i).with_inputs("i") for i in range(n)]


def test_split_is_deterministic_and_depends_on_seed():
    data = numbered(40)
    first = split(data, train=0.5, dev=0.25, test=0.25, seed=7)
    assert split(data, train=0.5, dev=0.25, test=0.25, seed=7) == first
    assert split(data, train=0.5, dev=0.25, test=0.25, seed=8) != first
    assert data == numbered(40)  # the input is not shuffled in place


def test_split_parts_never_share_an_example_and_cover_the_rest():
    data = numbered(23)
    train, dev, test = split(data, train=0.6, dev=0.2, test=0.2, seed=1)
    ids = [id(ex) for part in (train, dev, test) for ex in part]
    assert len(ids) == len(set(ids)) == 23
    assert {id(ex) for ex in data} == set(ids)
    pair = split(data, train=10, seed=3)
    assert [len(p) for p in pair] == [10, 13]
    assert not {id(ex) for ex in pair[0]} & {id(ex) for ex in pair[1]}


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ({"train": 0.8}, [8, 2]),
        ({"train": 1.0}, [10, 0]),
        ({"train": 0.5, "dev": 0.2}, [5, 2]),  # the other 30% are left out
        ({"train": 0.5, "test": 0.3}, [5, 2, 3]),  # dev: what is left
        ({"train": 3, "dev": 3, "test": 3}, [3, 3, 3]),
        ({"train": 0.34, "dev": 0.33, "test": 0.33}, [3, 4, 3]),  # cut points are rounded
    ],
)
def test_split_sizes(sizes, expected):
    assert [len(part) for part in split(numbered(10), **sizes)] == expected


def test_split_fractions_never_overflow():
    for n in range(4, 40):
        parts = split(numbered(n), train=0.5, dev=0.25, test=0.25)
        assert sum(len(p) for p in parts) == n
        parts = split(numbered(n), train=0.45, dev=0.3, test=0.25)
        assert sum(len(p) for p in parts) == n


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"train": 0.8, "dev": 0.3}, r"fractions train=0\.8, dev=0\.3 add up to 1\.1, over 1"),
        ({"train": 8, "test": 3}, r"counts train=8, test=3 add up to 11, more than the 10"),
        ({"train": 0.5, "dev": 3}, "mix fractions and counts"),
        ({"train": 0}, "a count must be at least 1"),
        ({"train": -0.5}, "a fraction must be > 0 and <= 1"),
        ({"train": 1.5}, "a fraction must be > 0 and <= 1"),
        ({"train": math.nan}, "a fraction must be"),
        ({"train": True}, "is not a size"),
        ({"train": "half"}, "is not a size"),
        ({"train": 0.9, "test": 0.01}, r"test=0\.01 of 10 examples is 0 examples"),
    ],
)
def test_split_bad_sizes_say_what_is_wrong(sizes, message):
    with pytest.raises(pl.UsageError, match=message):
        split(numbered(10), **sizes)


def test_split_of_nothing_is_an_error():
    with pytest.raises(pl.UsageError, match="no examples to split"):
        split([], train=0.5)


# --- BIG-bench -------------------------------------------------------------------------------


def test_bigbench_json_via_load_examples_maps_each_example():
    examples = load_examples(FIXTURES / "tiny_task.json", inputs=["question"], fields=None)
    assert [ex.answer for ex in examples] == ["yes", "no", "yes", "yes"]
    assert examples[0].choices == ["yes", "no"]
    assert examples[0].question == "Answer about colours.\n\nItem: grass\nIs it usually green?"
    assert "choices" not in examples[2]
    assert examples[2].answers == ["yes", "mostly"]


def test_load_bigbench_from_a_path(monkeypatch):
    monkeypatch.delenv(bigbench.ENV_VAR, raising=False)
    task = load_bigbench(FIXTURES / "tiny_task.json")
    assert (task.name, task.metric, task.task_prefix) == (
        "tiny_task",
        "multiple_choice_grade",
        "Answer about colours.",
    )
    assert task[1].input_keys == frozenset({"question", "choices"})
    assert task[3].input_keys == frozenset({"question"})
    assert task[3].to_dict() == {
        "question": "Answer about colours.\n\nItem: a lime\nIs it usually green?",
        "answer": "yes",
        "answers": ["yes"],
    }
    bare = load_bigbench(FIXTURES / "tiny_task.json", include_task_prefix=False)
    assert bare[0].question == "Item: grass\nIs it usually green?"


def test_bad_bigbench_example_names_file_and_line():
    path = FIXTURES / "broken_task.json"
    with pytest.raises(DataError, match=rf"{path}:5: field 'target': missing") as info:
        load_bigbench(path)
    assert "skip_bad_rows=True" in str(info.value)
    result = load_examples(path, inputs=["question"], skip_bad_rows=True)
    assert [ex.answer for ex in result] == ["ok"]
    assert result.skip_reasons[1].startswith(
        f"{path}:6: field 'target_scores': no choice scores above 0"
    )


def test_bigbench_names_resolve_through_the_environment_variable(tmp_path, monkeypatch):
    (tmp_path / "tiny_task.json").write_bytes((FIXTURES / "tiny_task.json").read_bytes())
    monkeypatch.setenv(bigbench.ENV_VAR, str(tmp_path))
    assert bigbench_dir() == tmp_path
    assert len(load_bigbench("tiny_task")) == 4
    with pytest.raises(DataError, match=r"No BIG-bench task 'tiny_tsak'.*Did you mean 'tiny_task'"):
        load_bigbench("tiny_tsak")
    monkeypatch.setenv(bigbench.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="which is not a folder"):
        load_bigbench("tiny_task")


def test_bigbench_folder_is_found_above_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(bigbench.ENV_VAR, raising=False)
    root = (tmp_path / "root").resolve()
    # the search looks in root and below only, so no folder of this machine's ever counts
    real_upwards = bigbench._upwards
    monkeypatch.setattr(
        bigbench,
        "_upwards",
        lambda start: [f for f in real_upwards(start) if f.is_relative_to(root)],
    )
    folder = root / "shared" / "data" / "bigbench"
    folder.mkdir(parents=True)
    (root / "checkout" / "src").mkdir(parents=True)
    monkeypatch.chdir(root / "checkout" / "src")
    assert bigbench_dir() == folder
    monkeypatch.chdir(root / "checkout")
    folder.rmdir()
    (tmp_path / "shared" / "data" / "bigbench").mkdir(parents=True)  # above the stop
    monkeypatch.setattr(bigbench, "__file__", str(root / "pkg" / "bigbench.py"))
    with pytest.raises(DataError, match=f"set {bigbench.ENV_VAR}="):
        bigbench_dir()


@pytest.fixture
def shared_bigbench(monkeypatch):
    monkeypatch.delenv(bigbench.ENV_VAR, raising=False)
    try:
        folder = bigbench_dir()
    except DataError:
        pytest.skip("no shared/data/bigbench folder next to this checkout (see its NOTICE.md)")
    if not (folder / "sports_understanding.json").is_file():
        pytest.skip(f"{folder} has no BIG-bench task files")
    return folder


def test_real_multiple_choice_task(shared_bigbench):
    raw = json.loads((shared_bigbench / "sports_understanding.json").read_text(encoding="utf-8"))
    examples = load_bigbench("sports_understanding")
    assert len(examples) == len(raw["examples"])
    for ex, item in zip(examples, raw["examples"], strict=True):
        assert ex.choices == list(item["target_scores"])
        assert item["target_scores"][ex.answer] == 1
        assert ex.question.endswith(f"Statement: {item['input']}\nPlausible/implausible?")
        assert ex.input_keys == frozenset({"question", "choices"})
    assert examples[0].question.startswith("Determine whether the following statement")


def test_real_free_text_tasks(shared_bigbench):
    sorting = load_bigbench("word_sorting", limit=5)
    assert len(sorting) == 5
    assert sorting[0].input_keys == frozenset({"question"})
    for ex in sorting:
        words = ex.question.rsplit("List: ", 1)[1]
        assert ex.answer == " ".join(sorted(words.split()))
    counting = load_bigbench(shared_bigbench / "object_counting.json", limit=3)
    assert all(len(ex.answers) == 2 and ex.answer == ex.answers[0] for ex in counting)


def test_real_task_seed_samples_and_shuffles_choices_deterministically(shared_bigbench):
    first = load_bigbench("date_understanding", limit=20, seed=3)
    assert load_bigbench("date_understanding", limit=20, seed=3) == first
    in_order = {ex.question: ex for ex in load_bigbench("date_understanding")}
    assert [ex.question for ex in first] != list(in_order)[:20]
    for ex in first:
        original = in_order[ex.question]
        assert sorted(ex.choices) == sorted(original.choices)
        assert ex.answer == original.answer
    assert any(ex.choices[0] != ex.answer for ex in first)  # the file puts the answer first
