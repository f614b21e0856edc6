import pytest

import pliable as pl


def msgs(text):
    return [{"role": "system", "content": "sys"}, {"role": "user", "content": text}]


def test_scripted_answers_in_order_then_raises_naming_call_and_prompt():
    lm = pl.ScriptedLM(["a", "b"])
    assert lm.complete(msgs("one")).text == "a"
    assert lm.complete(msgs("two")).text == "b"
    assert lm.remaining == 0
    with pytest.raises(pl.ScriptExhaustedError) as info:
        lm.complete(msgs("the third question"))
    err = info.value
    assert err.call_index == 2
    assert err.prompt == "the third question"
    assert "call #2" in str(err)
    assert "the third question" in str(err)
    assert isinstance(err, pl.LMError)


def test_keyed_script_matches_substring_of_last_message():
    lm = pl.ScriptedLM({"France": "Paris", "2+2": ["4", "four"]})
    assert lm.complete(msgs("capital of France?")).text == "Paris"
    assert lm.complete(msgs("capital of France, again")).text == "Paris"
    assert lm.complete(msgs("2+2=")).text == "4"
    assert lm.complete(msgs("2+2=")).text == "four"
    with pytest.raises(pl.ScriptExhaustedError, match="answers for key '2\\+2' are used up"):
        lm.complete(msgs("2+2="))
    with pytest.raises(pl.ScriptExhaustedError, match=r"no key is a substring.*'France'"):
        lm.complete(msgs("unrelated"))


def test_one_string_instead_of_a_list_is_a_usage_error():
    with pytest.raises(pl.UsageError, match=r"ScriptedLM\(\['Paris'\]\)"):
        pl.ScriptedLM("Paris")  # type: ignore[arg-type]


def test_calls_record_messages_options_and_usage():
    lm = pl.ScriptedLM(["x y z"])
    out = lm.complete(msgs("hello world!"), temperature=0.5)
    assert lm.calls[0].options == {"temperature": 0.5}
    assert lm.calls[0].messages[1]["content"] == "hello world!"
    assert out.usage.completion_tokens == 2  # 5 characters, 4 per token, rounded up
    assert out.usage.prompt_tokens == 1 + 3  # "sys" and "hello world!"
    assert out.model == "fake/scripted"


def test_n_choices_take_several_answers():
    lm = pl.ScriptedLM(["a", "b", "c"])
    assert lm.complete(msgs("q"), n=2).texts == ("a", "b")
    with pytest.raises(pl.ScriptExhaustedError):
        lm.complete(msgs("q"), n=2)


def test_function_lm_with_and_without_options():
    seen = []
    lm = pl.FunctionLM(
        lambda messages, options: seen.append(options) or messages[-1]["content"][::-1]
    )
    assert lm.complete(msgs("abc"), temperature=0).text == "cba"
    assert seen == [{"temperature": 0}]
    assert pl.FunctionLM(lambda m: ["1", "2"]).complete(msgs("q"), n=2).texts == ("1", "2")


def test_function_lm_bad_return_is_reported():
    with pytest.raises(pl.UsageError, match="returned 42"):
        pl.FunctionLM(lambda m: 42).complete(msgs("q"))  # type: ignore[arg-type,return-value]


def test_fakes_go_through_real_parsing():
    lm = pl.FunctionLM(lambda m: "[[answer]]\nnot a number")
    with pytest.raises(pl.ParseError, match="field `answer` \\(int\\)"):
        pl.Predict("q -> answer: int", lm=lm)(q="x")


def test_fakes_satisfy_the_language_model_protocol():
    assert isinstance(pl.ScriptedLM([]), pl.LanguageModel)
    assert isinstance(pl.FunctionLM(lambda m: ""), pl.LanguageModel)
