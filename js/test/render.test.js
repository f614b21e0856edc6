// The renderer's own rules: Python's JSON, the int/float question, and the errors it raises.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  floatRepr,
  listSteps,
  parseType,
  pyFloat,
  pythonJson,
  RenderError,
  renderInput,
  renderMessages,
} from "../index.js";

const doc = (name) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}.messages.json`, import.meta.url), "utf8"));

function fails(fn, field, pattern) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof RenderError, `a RenderError, got ${err}`);
    assert.equal(err.field, field);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test("Python's json.dumps: separators, escapes, non-ASCII kept", () => {
  assert.equal(pythonJson({ a: [1, "x"], b: {} }), '{"a": [1, "x"], "b": {}}');
  assert.equal(pythonJson('"\\/\b\f\n\r\t'), '"\\"\\\\/\\b\\f\\n\\r\\t"');
  assert.equal(pythonJson("\u0000\u0001\u001f\u007f"), '"\\u0000\\u0001\\u001f\u007f"');
  assert.equal(pythonJson("é ☕ 😀 \u2028 \u2029"), '"é ☕ 😀 \u2028 \u2029"');
  assert.equal(pythonJson([null, true, false, [], ""]), '[null, true, false, [], ""]');
  assert.equal(pythonJson(12345678901234567890n), "12345678901234567890");
  assert.equal(pythonJson(new Map([["b", 1], ["a", 2]])), '{"b": 1, "a": 2}');
});

test("Python's float repr", () => {
  const cases = [
    [0.1, "0.1"], [1e16, "1e+16"], [1e15, "1000000000000000.0"], [1e-4, "0.0001"],
    [1e-5, "1e-05"], [1.5e-7, "1.5e-07"], [5e-324, "5e-324"], [-0, "-0.0"], [0, "0.0"],
    [2.5, "2.5"], [-7, "-7.0"], [1e22, "1e+22"], [123456789.125, "123456789.125"],
    [NaN, "NaN"], [Infinity, "Infinity"], [-Infinity, "-Infinity"],
  ]; // prettier-ignore
  for (const [x, text] of cases) assert.equal(floatRepr(x), text, String(x));
});

test("integral numbers: the declared type decides, else an integer unless pyFloat", () => {
  assert.equal(renderInput(3, "float"), "3.0");
  assert.equal(renderInput([1, 2.5], "list[float]"), "[1.0, 2.5]");
  assert.equal(renderInput({ a: 1 }, "dict[str, float]"), '{"a": 1.0}');
  assert.equal(renderInput(3, "Optional[float]"), "3.0");
  assert.equal(renderInput(3, "int"), "3");
  assert.equal(renderInput(pyFloat(3), "int"), "3"); // pliable's check makes 3.0 an int
  // untyped: JavaScript cannot tell 3 from 3.0 (Python's 3.0 renders "3.0")
  assert.equal(renderInput(3), "3");
  assert.equal(renderInput({ a: 3 }, "Any"), '{"a": 3}');
  assert.equal(renderInput({ a: pyFloat(3) }, "Any"), '{"a": 3.0}');
  assert.equal(renderInput(pyFloat(3), "str"), "3.0");
  assert.equal(renderInput(1e21), "1000000000000000000000");
  assert.equal(renderInput(2 ** 70, "int"), "1180591620717411303424");
});

test("the text rules", () => {
  assert.equal(renderInput("a {b}"), "a {b}");
  assert.equal(renderInput(["a", "b"]), "- a\n- b");
  assert.equal(renderInput([]), "[]");
  assert.equal(renderInput(["a", 1]), '["a", 1]');
  assert.equal(renderInput(null), "null");
  assert.equal(renderInput("high", "Literal['low', 'high']"), "high");
  assert.equal(renderInput(true, "Literal[1, True]"), "true");
  assert.equal(renderInput(["a", "b"], "list[Literal['a', 'b']]"), "- a\n- b");
  // a list of enum members (an enum's type name is opaque here) is JSON, never lines of text
  assert.equal(renderInput(["red", "blue"], "list[Color]"), '["red", "blue"]');
  assert.equal(renderInput(["red"], "Optional[list[Optional[Color]]]"), '["red"]');
  assert.equal(renderInput("red", "Color"), "red");
});

test("type names", () => {
  assert.deepEqual(parseType("Optional[list[int]]"), {
    kind: "optional",
    inner: { kind: "list", items: { kind: "int" } },
  });
  assert.deepEqual(parseType(`Literal["it's", 'a\\'b\\n', -3, True]`).values, [
    "it's",
    "a'b\n",
    -3,
    true,
  ]);
  assert.deepEqual(parseType("Person"), { kind: "opaque", name: "Person" });
  assert.equal(parseType("tuple[int, str]").kind, "opaque");
});

test("values that do not fit the declared type are refused, naming the field", () => {
  fails(() => renderInput(2.5, "int"), "value", /expected int; got number 2.5/);
  fails(() => renderInput("3", "float"), "value", /expected float/);
  fails(() => renderInput(1, "bool"), "value");
  fails(() => renderInput("mid", "Literal['low', 'high']"), "value", /Literal/);
  fails(() => renderInput(["a", 1], "list[str]"), "value[1]", /expected str/);
  fails(() => renderInput({ a: "x" }, "dict[str, int]"), "value.a");
  fails(() => renderInput(5, "Optional[str]"), "value");
  fails(() => renderInput(undefined), "value");
  fails(() => renderInput({ f() {} }), "value.f", /function has no JSON form/);
  fails(() => renderInput(new Set([1])), "value", /Set has no JSON form/);
  const loop = [];
  loop.push(loop);
  fails(() => renderInput(loop), "value[0]", /contains itself/);
});

const inputs = { question: "Q?", context: [] };

test("the document is checked, naming the field", () => {
  fails(() => renderMessages("{not json", inputs), "doc", /not valid JSON/);
  fails(() => renderMessages([], inputs), "doc");
  const wrong = { ...doc("cot"), format: "x" };
  fails(() => renderMessages(wrong, inputs), "format", /pliable\.messages/);
  fails(() => renderMessages({ ...doc("cot"), version: 3 }, inputs), "version", /newer pliable/);
  fails(() => renderMessages({ ...doc("cot"), version: "2" }, inputs), "version", /versions 1 and 2/);
  fails(() => renderMessages({ ...doc("cot"), steps: [] }, inputs), "steps");
  const broken = doc("cot");
  broken.steps[0].messages[1].parts[1] = { input: "nope" };
  fails(() => renderMessages(broken, inputs), "steps[0].messages[1].parts[1]", /question, context/);
  const noParts = doc("cot");
  delete noParts.steps[0].messages[1].parts;
  noParts.steps[0].messages[1].content = "a } b";
  fails(() => renderMessages(noParts, inputs), "steps[0].messages[1].content", /stray brace/);
  noParts.steps[0].messages[1].content = "{other}";
  fails(() => renderMessages(noParts, inputs), "steps[0].messages[1].content", /placeholder/);
});

test("the step: needed when there are several, and must exist", () => {
  const multi = doc("multihop");
  const given = { question: "q", notes: [] };
  fails(() => renderMessages(multi, given), "step", /generate_query, answer/);
  fails(() => renderMessages(multi, given, { step: "x" }), "step", /no step "x"/);
  const out = renderMessages(multi, { question: "q", notes: [] }, { step: "answer" });
  assert.equal(out.at(-1).role, "user");
  assert.deepEqual(
    listSteps(multi).map((s) => s.name),
    ["generate_query", "answer"],
  );
});

test("inputs: every one, none other", () => {
  fails(() => renderMessages(doc("cot"), { question: "Q?" }), "inputs.context", /missing/);
  fails(() => renderMessages(doc("cot"), { ...inputs, extra: 1 }), "inputs.extra", /not an input/);
  const notList = { ...inputs, context: "x" };
  fails(() => renderMessages(doc("cot"), notList), "inputs.context", /list\[str\]/);
  // a str field takes anything, as pliable does not check it: 5 renders as "5"
  const last = renderMessages(doc("cot"), { ...inputs, question: 5 }).at(-1);
  assert.match(last.content, /^\[\[question\]\]\n5\n/);
  fails(() => renderMessages(doc("cot"), null), "inputs");
});

test("an Optional input must be passed (null for None)", () => {
  const typed = doc("template");
  fails(
    () => renderMessages(typed, { question: "q", tone: "t", data: {} }),
    "inputs.note",
    /pass null/,
  );
  const out = renderMessages(typed, { question: "q", tone: "t", note: null, data: {} });
  assert.equal(out.at(-1).content, "Q: q\nNote: \nData: {}"); // a Template fills None as ""
});

test("a version 1 document renders lists of texts as numbered lines, as pliable did then", () => {
  const current = renderMessages(doc("cot"), { question: "Q?", context: ["a", "b"] });
  const old = renderMessages({ ...doc("cot"), version: 1 }, { question: "Q?", context: ["a", "b"] });
  const text = (ms) => ms.map((m) => m.content).join("\n");
  assert.match(text(current), /- a\n- b/);
  assert.doesNotMatch(text(current), /\[1\] a/);
  assert.match(text(old), /\[1\] a\n\[2\] b/);
  assert.equal(text(old).replace("[1] a\n[2] b", "- a\n- b"), text(current));
});
