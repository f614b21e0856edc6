// The renderer against pliable itself: every case in fixtures/ (written by
// scripts/make-js-fixtures.py from pliable's own rendering) must come out byte for byte.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { pyFloat, renderInput, renderMessages } from "../index.js";

const here = new URL("./fixtures/", import.meta.url);
const read = (name) => readFileSync(new URL(name, here), "utf8");

/** A stored value as JavaScript passes it: {"$pyfloat": x} is pyFloat(x), {"$bigint": "..."} a
 * BigInt (see scripts/make-js-fixtures.py). */
function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === "$pyfloat") {
    const x = value.$pyfloat;
    return pyFloat(typeof x === "string" ? Number(x) : x);
  }
  if (keys.length === 1 && keys[0] === "$bigint") return BigInt(value.$bigint);
  return Object.fromEntries(keys.map((k) => [k, decode(value[k])]));
}

const messageCases = JSON.parse(read("messages.json")).cases;
const inputCases = JSON.parse(read("inputs.json")).cases;

test("the fixtures are there", () => {
  assert.ok(messageCases.length >= 15, `${messageCases.length} message cases`);
  assert.ok(inputCases.length >= 30, `${inputCases.length} input cases`);
});

for (const c of messageCases) {
  const options = c.step === null ? {} : { step: c.step };

  test(`messages: ${c.name}`, () => {
    const text = read(c.doc);
    assert.deepEqual(renderMessages(text, decode(c.inputs), options), c.messages);
    assert.deepEqual(renderMessages(JSON.parse(text), decode(c.inputs), options), c.messages);
  });

  test(`messages from content alone: ${c.name}`, () => {
    const doc = JSON.parse(read(c.doc));
    for (const step of doc.steps) for (const m of step.messages) delete m.parts;
    assert.deepEqual(renderMessages(doc, decode(c.inputs), options), c.messages);
  });
}

inputCases.forEach((c, i) => {
  const shown = JSON.stringify(c.value).slice(0, 40).replace(/[^\x20-\x7e]/g, "?");
  test(`input ${i}: ${c.type} ${shown}`, () => {
    assert.equal(renderInput(decode(c.value), c.type), c.text);
  });
});
