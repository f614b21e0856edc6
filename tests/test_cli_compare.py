"""pliable compare: a template, a compiled program and zero-shot on one dev set."""

import json

import pliable as pl
from pliable.cli import main


def model(messages):
    """Right when shown a demo, or when the template says 'Add' (a good hand-written prompt)."""
    last = messages[-1]["content"]
    question = last.split("[[question]]\n", 1)[-1].split("\n", 1)[0]
    if "Add" in last:
        question = last.split("Add ", 1)[1].split()[0]
    a, b = question.split("+")
    right = len(messages) > 2 or "Add" in last
    return f"[[answer]]\n{int(a) + int(b) if right else 0}"


def test_compare_scores_each_kind_of_prompt_on_the_same_dev_set(tmp_path, capsys):
    pl.register_provider("cmpfake", lambda m, s: pl.FunctionLM(model))
    rows = [{"question": f"{i}+{i}", "answer": str(2 * i)} for i in range(1, 13)]
    (tmp_path / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "add.txt").write_text("### system\nYou do sums.\n### user\nAdd {question} now.\n")
    train = [pl.Example(**r).with_inputs("question") for r in rows[:4]]
    with pl.using(lm=pl.LM("cmpfake/m", cache=False)):
        compiled = pl.LabeledFewShot(k=2).compile(pl.Predict("question -> answer"), trainset=train)
    compiled.save(tmp_path / "compiled.json")
    code = main(
        [
            "compare",
            str(tmp_path / "add.txt"),
            str(tmp_path / "compiled.json"),
            "zero-shot",
            "--signature",
            "question -> answer",
            "--dev",
            str(tmp_path / "dev.jsonl"),
            "--inputs",
            "question",
            "--model",
            "cmpfake/m",
            "--no-cache",
            "--quiet",
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    table = {line.split()[0]: line.split() for line in lines[2:5]}
    assert table["add.txt"][1] == "hard"
    assert table["add.txt"][2] == "1.000"
    assert table["compiled.json"][1] == "programmatic"
    assert table["compiled.json"][2] == "1.000"
    assert table["zero-shot"][2] == "0.000"
    assert all(row[5] == "12" for row in table.values())  # one LM call per dev example
    assert "12 dev examples" in lines[-1]


def test_compare_refuses_an_unknown_item(tmp_path, capsys):
    (tmp_path / "dev.jsonl").write_text('{"question": "1+1", "answer": "2"}')
    code = main(
        [
            "compare",
            str(tmp_path / "nope.txt"),
            "--signature",
            "question -> answer",
            "--dev",
            str(tmp_path / "dev.jsonl"),
            "--inputs",
            "question",
        ]
    )
    assert code == 2
    assert "no such file" in capsys.readouterr().err
