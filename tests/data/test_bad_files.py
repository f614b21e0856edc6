"""Bad data files give one :class:`DataError` naming the file (and the line), never a
traceback from below: an unknown suffix, text that is not UTF-8, JSON nested too deep to
parse, an integer with more digits than Python reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pliable.data.bigbench import load_bigbench
from pliable.data.loaders import load_examples
from pliable.data.readers import _find_bad_utf8, loads_json, not_utf8_error, show
from pliable.errors import DataError

ROW = '{"q": "a", "a": "b"}\n'
DEEP = "[" * 100_000
BIG = "7" * 5000


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def one_line(err: DataError) -> str:
    """The first line of the error (the CLI shows it, and the 'What to do' line)."""
    return str(err).splitlines()[0]


# --- unknown suffixes ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rows.txt", "rows.TXT", "rows", "rows.jsonl.bak", "rows.xlsx"])
def test_an_unknown_suffix_lists_the_accepted_ones(tmp_path, name):
    path = write(tmp_path / name, ROW)
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    message = str(info.value)
    assert message.startswith(f"{path}: cannot tell its format from the suffix")
    for suffix in (".jsonl", ".ndjson", ".csv", ".tsv", ".json", ".parquet", ".arrow"):
        assert suffix in message
    assert "What to do" in message
    assert info.value.source == str(path)


# --- not UTF-8 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("l.jsonl", ROW.encode() + b'{"q": "caf\xe9", "a": "b"}\n', 2),
        ("l.ndjson", b'\n\n{"q": "\xff"}\n', 3),
        ("l.csv", b"q,a\nx,y\nz,w\ncaf\xe9,b\n", 4),
        ("l.tsv", b"q\ta\ncaf\xe9\tb\n", 2),
        ("l.json", b'[\n  {"q": "a", "a": "b"},\n  {"q": "caf\xe9", "a": "b"}\n]\n', 3),
    ],
)
def test_latin1_names_file_line_and_byte_offset(tmp_path, name, content, line):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    err = info.value
    offset = content.index(b"\xe9") if b"\xe9" in content else content.index(b"\xff")
    assert one_line(err).startswith(f"{path}:{line}: not UTF-8 text: byte 0x")
    assert f"at byte offset {offset} " in str(err)
    assert "re-save the file as UTF-8" in str(err)
    assert (err.source, err.line, err.value) == (str(path), line, content[offset : offset + 1])
    assert isinstance(err.__cause__, UnicodeDecodeError)
    assert "\n" not in str(err)


def test_latin1_deep_in_a_large_file_is_found_past_the_reader_buffer(tmp_path):
    rows = [json.dumps({"q": f"ü{i}", "a": "b"}) for i in range(20_000)]  # ~450 kB of UTF-8
    content = ("\n".join(rows) + "\n").encode() + b'{"q": "caf\xe9", "a": "b"}\n'
    path = write(tmp_path / "big.jsonl", content)
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    assert one_line(info.value).startswith(f"{path}:20001: not UTF-8 text")
    offset = content.index(0xE9)
    assert f"at byte offset {offset} " in str(info.value)
    assert 'in \'{"q": "caf\\xe9", "a": "b"}\'' in str(info.value)


def test_latin1_bigbench_task_names_file_and_line(tmp_path):
    path = write(tmp_path / "task.json", b'{"examples": [\n  {"input": "\xe9", "target": "x"}\n]}')
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: not UTF-8 text"):
        load_bigbench(path)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 5, 7, 64])
@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfab\ncaf\xc3\xa9\n\xe2\x82\xac\xe9 x\n",  # BOM, a 2- and a 3-byte character
        b"ok\n\xf0\x9f\x98\x80\xf0\x9f\n",  # a 4-byte character, then one cut short
        b"a\nb\nc\xe2\x82",  # cut short at the end of the file
    ],
)
def test_bad_byte_is_located_across_chunk_boundaries(tmp_path, content, chunk_size):
    path = write(tmp_path / "x.jsonl", content)
    with pytest.raises(UnicodeDecodeError) as info:
        content.decode("utf-8")
    expected = info.value
    found = _find_bad_utf8(path, chunk_size=chunk_size)
    assert found is not None
    line, offset, bad, _, reason = found
    assert offset == expected.start
    assert bad == content[expected.start : expected.end]
    assert line == content.count(b"\n", 0, expected.start) + 1
    assert reason == expected.reason


def test_a_file_that_reads_well_on_the_second_look_is_still_named(tmp_path):
    path = write(tmp_path / "x.jsonl", b"fine\n")  # as if it changed after the first read
    err = not_utf8_error(path, UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid start byte"))
    assert str(err).startswith(f"{path}: not UTF-8 text (invalid start byte).")
    assert err.line is None


# --- JSON too deep, integers too long ------------------------------------------------------


def test_jsonl_nested_too_deep_is_a_bad_row(tmp_path):
    path = write(tmp_path / "deep.jsonl", ROW + DEEP + "\n" + ROW)
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    err = info.value
    assert one_line(err).startswith(f"{path}:2: not readable JSON: arrays/objects nested 100000")
    assert "'[[[[" in str(err)
    assert len(str(err)) < 500  # the value is shown truncated
    assert (err.source, err.line) == (str(path), 2)
    loaded = load_examples(path, inputs=["q"], skip_bad_rows=True)
    assert (len(loaded), loaded.skipped) == (2, 1)


def test_json_file_nested_too_deep_names_the_line(tmp_path):
    path = write(tmp_path / "deep.json", "[\n" + ROW.rstrip() + ",\n" + DEEP + "\n")
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"], skip_bad_rows=True)
    assert one_line(info.value).startswith(f"{path}:3: not readable JSON: arrays/objects nested")
    assert info.value.line == 3
    assert isinstance(info.value.__cause__, RecursionError)


def test_bigbench_task_nested_too_deep_names_the_line(tmp_path):
    path = write(tmp_path / "task.json", '{"examples": [\n' + DEEP)
    with pytest.raises(
        DataError, match=rf"^{re.escape(str(path))}:2: not readable JSON: .* nested 100002 deep"
    ):
        load_bigbench(path)


def test_jsonl_integer_over_the_digit_limit_is_a_bad_row(tmp_path):
    path = write(tmp_path / "big.jsonl", ROW + '{"q": "a", "a": ' + BIG + "}\n")
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    first = one_line(info.value)
    assert first.startswith(f"{path}:2: not readable JSON: an integer of 5000 digits at column 17")
    assert "write it as a string" in first
    assert "7777" in first
    assert len(str(info.value)) < 500
    assert load_examples(path, inputs=["q"], skip_bad_rows=True).skipped == 1


def test_json_file_integer_over_the_digit_limit_names_the_line(tmp_path):
    body = '[\n  {"q": "1234567", "a": 1.5e300},\n\n  {"q": "a", "a": -' + BIG + "}\n]\n"
    path = write(tmp_path / "big.json", body)
    with pytest.raises(DataError) as info:
        load_examples(path, inputs=["q"])
    assert one_line(info.value).startswith(f"{path}:4: not readable JSON: an integer of 5000")
    assert info.value.line == 4


def test_csv_cells_too_long_or_too_deep_for_their_type_are_bad_rows(tmp_path):
    path = write(tmp_path / "t.csv", f"q,n,l\na,{BIG},[]\nb,1,{DEEP}\nc,2,[1]\n")
    with pytest.raises(
        DataError, match=rf"{re.escape(str(path))}:2: field 'n': expected int, got '7777.*5000 dig"
    ):
        load_examples(path, inputs=["q"], types={"n": int})
    with pytest.raises(
        DataError, match=rf"{re.escape(str(path))}:3: field 'l': expected list, got '\[\[\["
    ):
        load_examples(path, inputs=["q"], types={"l": list})
    loaded = load_examples(path, inputs=["q"], types={"n": int, "l": list}, skip_bad_rows=True)
    assert [ex.l for ex in loaded] == [[1]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"q": 1,,}', "not valid JSON (Expecting property name enclosed in double quotes at col"),
        (DEEP, "not readable JSON: arrays/objects nested 100000 deep (column 100000)"),
        ('{"a": "[[[[", "b": ' + "[" * 5000, "nested 5001 deep"),  # brackets in strings: no
        ('["' + BIG + '", ' + BIG + "]", "an integer of 5000 digits at column 5006"),
    ],
)
def test_loads_json_says_what_is_wrong_in_one_line(text, message):
    with pytest.raises(ValueError, match=r"^not (valid|readable) JSON") as info:
        loads_json(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_long_numbers_that_python_reads_are_fine():
    assert loads_json('{"f": 1.' + BIG + ', "e": 1e5, "s": "' + BIG + '"}')["e"] == 1e5


def test_show_never_fails_on_an_int_too_long_to_print():
    assert show(10**5000) == "<int too long to show>"
