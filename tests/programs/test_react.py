import json
import logging

import pytest
from pydantic import BaseModel

import pliable as pl
from pliable.programs.react import ReAct
from pliable.programs.tools import Tool, ToolArgumentError

ADD_CALLS = []


def add(a: int, b: int = 0) -> int:
    """Add two integers.

    Longer notes that are not part of the description.

    Args:
        a: the first number
        b: the second
            number
    """
    ADD_CALLS.append((a, b))
    return a + b


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


class Point(BaseModel):
    x: float
    y: float


def norm(p: Point, *, squared: bool = False) -> float:
    """Length of a point.

    :param p: the point
    """
    return (p.x**2 + p.y**2) ** (1 if squared else 0.5)


@pytest.fixture(autouse=True)
def _clear_calls():
    ADD_CALLS.clear()


def step(thought, tool, args):
    return (
        f"[[next_thought]]\n{thought}\n\n[[next_tool_name]]\n{tool}\n\n"
        f"[[next_tool_args]]\n{args if isinstance(args, str) else json.dumps(args)}"
    )


def final(answer):
    return f"[[reasoning]]\nfrom the trajectory\n\n[[answer]]\n{answer}"


def agent_lm(react_replies, answer="5"):
    """React steps from ``react_replies`` in order; the extract step answers ``answer``."""
    replies = list(react_replies)

    def reply(messages):
        if "[[next_thought]]" in messages[0]["content"]:
            return replies.pop(0)
        return final(answer)

    return pl.FunctionLM(reply)


def react_prompts(lm):
    return [c.prompt for c in lm.calls if "[[next_thought]]" in c.messages[0]["content"]]


# --- Tool ------------------------------------------------------------------------------------


def test_tool_name_description_and_schema_come_from_the_function():
    tool = Tool(add)
    assert tool.name == "add"
    assert tool.desc == "Add two integers."
    assert tool.schema() == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "the first number"},
            "b": {"type": "integer", "default": 0, "description": "the second number"},
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert tool.render() == (
        "add(a: int, b: int = 0) - Add two integers.\n"
        "    a: the first number\n"
        "    b: the second number"
    )


def test_tool_renders_structured_arguments_with_their_schema():
    tool = Tool(norm)
    text = tool.render()
    assert text.startswith("norm(p: Point, squared: bool = False) - Length of a point.")
    assert '    p: the point (JSON matching {"$ref":"#/$defs/Point"' in text
    assert tool(p={"x": "3", "y": 4}) == 5.0


def test_tool_coerces_arguments_to_the_hinted_types():
    assert Tool(add)(a="2", b=3.0) == 5
    assert ADD_CALLS == [(2, 3)]
    assert all(type(v) is int for v in ADD_CALLS[0])


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"a": "many"}, "a", r"argument `a` should be int, but got str 'many'"),
        ({"b": 1}, "a", r"missing argument `a` \(int\)"),
        ({"a": 1, "c": 2}, "c", r"unknown argument `c` = 2; its arguments are: a, b"),
        ([1, 2], None, r'takes its arguments as a JSON object like \{"a": ..., "b": ...\}'),
    ],
)
def test_bad_tool_arguments_raise_a_typed_error_naming_the_argument(args, field, message):
    with pytest.raises(ToolArgumentError, match=message) as info:
        Tool(add).invoke(args)
    assert isinstance(info.value, pl.InputError)
    assert info.value.tool == "add"
    assert info.value.field == field
    assert ADD_CALLS == []


def test_tool_needs_a_usable_name_and_runs_async_functions():
    with pytest.raises(pl.UsageError, match=r"name=\.\.\."):
        Tool(lambda x: x)
    assert Tool(lambda x: x, name="echo")(x="hi") == "hi"

    async def shout(text: str) -> str:
        return text.upper()

    assert Tool(shout)(text="hey") == "HEY"
    assert Tool.from_any(Tool(shout)).name == "shout"


# --- ReAct -----------------------------------------------------------------------------------


def test_react_calls_a_real_tool_with_typed_args_and_feeds_the_observation_back():
    lm = agent_lm(
        [
            step("I should add.", "add", {"a": 2.0, "b": 3}),
            step("The sum is 5.", "finish", {}),
        ]
    )
    agent = ReAct("question -> answer: int", tools=[add, divide])
    with pl.using(lm=lm):
        pred = agent(question="What is 2 + 3?")
    assert ADD_CALLS == [(2, 3)]
    assert all(type(v) is int for v in ADD_CALLS[0])
    assert pred.answer == 5
    assert pred.trajectory == [
        {"thought": "I should add.", "tool": "add", "args": {"a": 2.0, "b": 3}, "observation": "5"},
        {"thought": "The sum is 5.", "tool": "finish", "args": {}, "observation": None},
    ]
    first, second = react_prompts(lm)
    assert "(no steps yet)" in first
    assert 'tool: add\nargs: {"a": 2.0, "b": 3}\nobservation: 5' in second
    extract_prompt = lm.calls[-1].prompt
    assert "observation: 5" in extract_prompt
    assert "tool: finish" in extract_prompt


def test_string_arguments_that_look_like_json_reach_the_tool_as_strings():
    seen = []

    def lookup(key: str) -> str:
        """Look a key up."""
        seen.append(key)
        return "found"

    lm = agent_lm([step("look", "lookup", {"key": "true"}), step("ok", "finish", {})])
    with pl.using(lm=lm):
        ReAct("question -> answer", tools=[lookup])(question="q")
    assert seen == ["true"]


def test_tool_exception_is_shown_to_the_model_and_the_run_recovers():
    lm = agent_lm(
        [
            step("Divide.", "divide", {"a": 1, "b": 0}),
            step("b cannot be 0; use 2.", "divide", {"a": 1, "b": 2}),
            step("Done.", "finish", {}),
        ],
        answer="1",
    )
    agent = ReAct("question -> answer", tools=[divide])
    with pl.using(lm=lm):
        pred = agent(question="1/2?")
    observations = [s["observation"] for s in pred.trajectory]
    assert observations == ["Error: ZeroDivisionError: float division by zero", "0.5", None]
    assert "observation: Error: ZeroDivisionError: float division by zero" in react_prompts(lm)[1]
    assert pred.answer == "1"


def test_unknown_tool_and_bad_arguments_become_observations():
    lm = agent_lm(
        [
            step("Multiply.", "multiply", {"a": 2}),
            step("Then add.", "add", {"a": "many"}),
            step("Add properly.", "ADD", {"a": 1, "b": 1}),
            step("Done.", "finish", {}),
        ]
    )
    with pl.using(lm=lm):
        pred = ReAct("question -> answer", tools=[add])(question="q")
    obs = [s["observation"] for s in pred.trajectory]
    assert obs[0] == "Error: there is no tool named 'multiply'. Call one of: add, finish."
    assert obs[1].startswith("Error: ToolArgumentError: Tool `add`: argument `a` should be int")
    assert obs[2] == "2"
    assert [s["tool"] for s in pred.trajectory] == ["multiply", "add", "add", "finish"]
    assert ADD_CALLS == [(1, 1)]
    assert "there is no tool named 'multiply'" in react_prompts(lm)[1]


def test_max_steps_stops_the_loop_and_extract_still_answers():
    lm = agent_lm([step(f"again {i}", "add", {"a": i}) for i in range(10)])
    with pl.using(lm=lm):
        pred = ReAct("question -> answer", tools=[add], max_steps=3)(question="q")
    assert len(react_prompts(lm)) == 3
    assert len(pred.trajectory) == 3
    assert ADD_CALLS == [(0, 0), (1, 0), (2, 0)]
    assert pred.answer == "5"


def test_long_observations_are_cut():
    def dump() -> str:
        """A lot of text."""
        return "x" * 500

    lm = agent_lm([step("look", "dump", {}), step("ok", "finish", {})])
    with pl.using(lm=lm):
        pred = ReAct("question -> answer", tools=[dump], max_observation_chars=100)(question="q")
    assert pred.trajectory[0]["observation"] == "x" * 100 + "\n... [400 more characters cut]"


def test_unreadable_step_ends_the_loop_and_goes_to_extract(caplog):
    lm = agent_lm([step("add", "add", {"a": 1}), "I refuse to use the format."])
    with pl.using(lm=lm), caplog.at_level(logging.WARNING, logger="pliable.programs.react"):
        pred = ReAct("question -> answer", tools=[add])(question="q")
    assert len(pred.trajectory) == 1
    assert pred.answer == "5"
    assert "could not be read" in caplog.text


def test_react_refuses_bad_tool_sets_and_inputs():
    def finish() -> str:
        return ""

    with pytest.raises(pl.UsageError, match="two tools are named 'add'"):
        ReAct("q -> a", tools=[add, Tool(divide, name="add")])
    with pytest.raises(pl.UsageError, match="cannot be named 'finish'"):
        ReAct("q -> a", tools=[finish])
    with pytest.raises(pl.UsageError, match="`trajectory`"):
        ReAct("question, trajectory -> a", tools=[add])
    with pytest.raises(pl.InputError, match="Unknown input `trajectory`"):
        ReAct("question -> a", tools=[add])(question="q", trajectory="x")


def test_predictors_are_named_and_the_catalog_survives_an_instruction_rewrite():
    agent = ReAct("question -> answer", tools=[add])
    named = dict(agent.named_predictors())
    assert list(named) == ["react", "extract"]
    assert isinstance(named["extract"], pl.ChainOfThought)
    sig = named["react"].signature
    assert list(sig.input_fields) == ["question", "trajectory"]
    assert list(sig.output_fields) == ["next_thought", "next_tool_name", "next_tool_args"]
    named["react"].signature = sig.with_instructions("Be brief.")
    chat_lm = pl.ScriptedLM([])  # an LM without JSON schemas: the chat format
    system = agent.render("react", lm=chat_lm, question="q", trajectory="t")[0]["content"]
    assert system.startswith("Be brief.")
    assert "- add(a: int, b: int = 0) - Add two integers." in system
    assert "(one of: add, finish)" in system


def test_bootstrap_fewshot_keeps_demos_for_both_predictors():
    lm = pl.FunctionLM(
        lambda messages: (
            (
                step("add", "add", {"a": 2, "b": 2})
                if "(no steps yet)" in messages[-1]["content"]
                else step("done", "finish", {})
            )
            if "[[next_thought]]" in messages[0]["content"]
            else final("4")
        )
    )
    program = ReAct("question -> answer", tools=[add])
    trainset = [pl.Example(question="2+2", answer="4").with_inputs("question")]
    optimizer = pl.BootstrapFewShot(
        lambda ex, pred: ex.answer == pred.answer, max_bootstrapped_demos=1, max_labeled_demos=0
    )
    with pl.using(lm=lm):
        compiled = optimizer.compile(program, trainset=trainset)
    named = dict(compiled.named_predictors())
    (react_demo,) = named["react"].demos
    (extract_demo,) = named["extract"].demos
    assert react_demo["trajectory"] == "(no steps yet)"
    assert react_demo["next_tool_name"] == "add"
    assert react_demo["next_tool_args"] == {"a": 2, "b": 2}
    assert extract_demo["answer"] == "4"
    assert "observation: 4" in extract_demo["trajectory"]
    assert program.react.demos == []  # the original is untouched


def test_config_round_trip_needs_the_same_tools():
    agent = ReAct("question -> answer: int", tools=[add, divide], max_steps=7)
    config = json.loads(json.dumps(agent.config()))
    assert [t["name"] for t in config["tools"]] == ["add", "divide"]
    assert config["tools"][0]["schema"] == Tool(add).schema()
    rebuilt = ReAct.from_config(config, tools=[divide, add])
    assert rebuilt.max_steps == 7
    assert list(rebuilt.tools) == ["add", "divide"]
    assert rebuilt.react.signature == agent.react.signature
    assert rebuilt.extract.signature == agent.extract.signature
    with pytest.raises(
        pl.UsageError, match=r"Missing: \['divide'\]; not in the saved program: none"
    ):
        ReAct.from_config(config, tools=[add])
    with pytest.raises(pl.UsageError, match=r"not in the saved program: \['norm'\]"):
        ReAct.from_config(config, tools=[add, divide, norm])
