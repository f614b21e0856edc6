// pliable-messages: the messages a compiled pliable program sends, rendered in JavaScript from
// the "pliable.messages" document that `pliable export --format messages` writes.
//
//   import { renderMessages } from "pliable-messages";
//   const messages = renderMessages(doc, { ticket: "My kettle leaks." });
//   // [{ role: "system", content: "..." }, ..., { role: "user", content: "[[ticket]]\n..." }]
//
// The result is byte for byte what pliable sends (`pl.load(path).render(step, **inputs)`),
// with one documented exception: a JavaScript number does not say whether it was an int or a
// float. Where the step declares the type (int, float, list[float], dict[str, float],
// Optional[float], ...) the declared type decides, as pliable's own input check converts the
// value to it; where it does not (Any, a str field given a number, an enum or model field), an
// integral number renders as an integer ("3", where Python's 3.0 gives "3.0"): wrap it,
// pyFloat(3), to render it as a Python float. No dependencies; plain ES modules.

export const FORMAT = "pliable.messages";
export const VERSION = 2;
/** Versions this renderer reads. They differ in one rule: a non-empty list of texts is bullet
 * lines ("- a\n- b") from version 2, numbered lines ("[1] a\n[2] b") in version 1. */
export const VERSIONS = [1, 2];

/** A document, a step or an input that cannot be rendered; `field` names where. */
export class RenderError extends Error {
  constructor(message, field = null) {
    super(message);
    this.name = "RenderError";
    this.field = field;
  }
}

/** A number to render as a Python float ("3.0", not "3") where no declared type says so. */
export class PyFloat {
  constructor(value) {
    if (typeof value !== "number") {
      throw new TypeError(`pyFloat takes a number; got ${show(value)}`);
    }
    this.value = value;
    Object.freeze(this);
  }
}

export function pyFloat(value) {
  return new PyFloat(value);
}

// --- Python's json.dumps(value, ensure_ascii=False) ------------------------------------------

const ESCAPED = /[\u0000-\u001f"\\]/g;
const NAMED = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** A JSON string as Python writes it: only quotes, backslashes and control characters are
 * escaped ("/", U+2028 and everything non-ASCII are kept), other controls as \u00XX. */
function quote(text) {
  const escape = (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  return `"${text.replace(ESCAPED, escape)}"`;
}

/** An integral number as Python's int repr (no exponent, no "-0"). */
function intRepr(n) {
  if (n === 0) return "0";
  return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
}

/** A number as Python's float repr (the shortest digits that read back, as JavaScript's own;
 * an exponent below 1e-4 and from 1e16 on, written e-05 / e+16), and as json.dumps writes
 * the special values (NaN, Infinity, -Infinity). */
export function floatRepr(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const point = Number(exp) + 1; // the value is 0.<digits> x 10^point
  if (point <= -4 || point > 16) {
    const e = Number(exp);
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${rest}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function dumps(value, path, open) {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return Number.isInteger(value) ? intRepr(value) : floatRepr(value);
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      throw new RenderError(`${path}: ${typeof value} has no JSON form`, path);
  }
  if (value === null) return "null";
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (open.has(value)) throw new RenderError(`${path}: the value contains itself`, path);
  open.add(value);
  try {
    if (Array.isArray(value)) {
      const items = [];
      for (let i = 0; i < value.length; i++) items.push(dumps(value[i], `${path}[${i}]`, open));
      return `[${items.join(", ")}]`;
    }
    if (value instanceof Map) {
      const items = [];
      for (const [key, item] of value) {
        if (typeof key !== "string") {
          throw new RenderError(`${path}: a Map key must be text; got ${show(key)}`, path);
        }
        items.push(`${quote(key)}: ${dumps(item, `${path}.${key}`, open)}`);
      }
      return `{${items.join(", ")}}`;
    }
    if (typeof value.toJSON === "function" && !isPlainObject(value)) {
      return dumps(value.toJSON(), path, open);
    }
    if (!isPlainObject(value)) {
      const kind = value.constructor?.name ?? "object";
      throw new RenderError(`${path}: a ${kind} has no JSON form; pass plain data`, path);
    }
    const items = Object.keys(value).map(
      (key) => `${quote(key)}: ${dumps(value[key], `${path}.${key}`, open)}`,
    );
    return `{${items.join(", ")}}`;
  } finally {
    open.delete(value);
  }
}

/** `value` as Python's `json.dumps(value, ensure_ascii=False)` writes it: ", " and ": "
 * separators, non-ASCII kept, Python's escapes and float repr (see PyFloat for 3 vs 3.0),
 * objects and Maps in their key order. */
export function pythonJson(value) {
  return dumps(value, "value", new Set());
}

// --- field types (the names a document's "inputs" give) ----------------------------------------

const SCALARS = new Set(["str", "int", "float", "bool"]);

/** A type name (`list[float]`, `Optional[Literal['a', 'b']]`, `dict[str, Any]`) as a tree;
 * an enum or model name, or a name this reader does not know, is "opaque" (not checked). */
export function parseType(name) {
  if (typeof name !== "string") return { kind: "any" };
  let i = 0;
  const fail = () => {
    throw new SyntaxError(name);
  };
  const spaces = () => {
    while (name[i] === " ") i++;
  };
  const expect = (text) => {
    spaces();
    if (!name.startsWith(text, i)) fail();
    i += text.length;
  };
  const ident = () => {
    spaces();
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(name.slice(i));
    if (!m) fail();
    i += m[0].length;
    return m[0];
  };
  const literal = () => {
    spaces();
    const q = name[i];
    if (q === "'" || q === '"') return pyString();
    const m = /^(-?\d+|True|False)/.exec(name.slice(i));
    if (!m) fail();
    i += m[0].length;
    if (m[0] === "True" || m[0] === "False") return m[0] === "True";
    const n = BigInt(m[0]);
    return Number.isSafeInteger(Number(n)) ? Number(n) : n;
  };
  const pyString = () => {
    const q = name[i++];
    let out = "";
    for (;;) {
      const c = name[i++];
      if (c === undefined) fail();
      if (c === q) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = name[i++];
      const hex = (n) => {
        const h = name.slice(i, i + n);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) fail();
        i += n;
        return String.fromCodePoint(Number.parseInt(h, 16));
      };
      if (e === "\\" || e === "'" || e === '"') out += e;
      else if (e === "n") out += "\n";
      else if (e === "r") out += "\r";
      else if (e === "t") out += "\t";
      else if (e === "x") out += hex(2);
      else if (e === "u") out += hex(4);
      else if (e === "U") out += hex(8);
      else fail();
    }
  };
  const type = () => {
    const id = ident();
    spaces();
    if (name[i] !== "[") {
      if (SCALARS.has(id)) return { kind: id };
      return id === "Any" ? { kind: "any" } : { kind: "opaque", name: id };
    }
    i++;
    let node;
    if (id === "Optional") node = { kind: "optional", inner: type() };
    else if (id === "list") node = { kind: "list", items: type() };
    else if (id === "dict") {
      if (ident() !== "str") fail();
      expect(",");
      node = { kind: "dict", values: type() };
    } else if (id === "Literal") {
      const values = [literal()];
      for (spaces(); name[i] === ","; spaces()) {
        i++;
        values.push(literal());
      }
      node = { kind: "literal", values };
    } else fail();
    expect("]");
    return node;
  };
  try {
    const node = type();
    spaces();
    if (i !== name.length) fail();
    return node;
  } catch (err) {
    if (err instanceof SyntaxError) return { kind: "opaque", name };
    throw err;
  }
}

function typeText(t) {
  switch (t.kind) {
    case "optional":
      return `Optional[${typeText(t.inner)}]`;
    case "list":
      return `list[${typeText(t.items)}]`;
    case "dict":
      return `dict[str, ${typeText(t.values)}]`;
    case "literal":
      const shown = t.values.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v)));
      return `Literal[${shown.join(", ")}]`;
    case "any":
      return "Any";
    case "opaque":
      return t.name;
    default:
      return t.kind;
  }
}

function mismatch(path, t, value) {
  return new RenderError(`${path}: expected ${typeText(t)}; got ${show(value)}`, path);
}

/** The value as pliable's input check leaves it: typed numbers become ints or PyFloats, the
 * rest is checked against the type. A str field at the top takes anything (pliable does not
 * check it); Any and enum/model types are not checked. */
function convert(value, t, path, top) {
  switch (t.kind) {
    case "any":
    case "opaque":
      return value;
    case "str":
      if (top || typeof value === "string") return value;
      throw mismatch(path, t, value);
    case "int": {
      if (typeof value === "bigint") return value;
      const n = value instanceof PyFloat ? value.value : value;
      if (typeof n === "number" && Number.isInteger(n)) return n === 0 ? 0 : n;
      throw mismatch(path, t, value);
    }
    case "float":
      if (value instanceof PyFloat) return value;
      if (typeof value === "number") return new PyFloat(value);
      if (typeof value === "bigint") return new PyFloat(Number(value));
      throw mismatch(path, t, value);
    case "bool":
      if (typeof value === "boolean") return value;
      throw mismatch(path, t, value);
    case "optional":
      return value === null ? null : convert(value, t.inner, path, false);
    case "literal": {
      const v = value instanceof PyFloat ? value.value : value;
      const found = t.values.find((option) => sameLiteral(option, v));
      if (found === undefined) throw mismatch(path, t, value);
      return found;
    }
    case "list":
      if (!Array.isArray(value)) throw mismatch(path, t, value);
      return Array.from(value, (item, i) => convert(item, t.items, `${path}[${i}]`, false));
    case "dict": {
      const entries =
        value instanceof Map ? [...value] : isPlainObject(value) ? Object.entries(value) : null;
      if (entries === null) throw mismatch(path, t, value);
      const out = new Map();
      for (const [key, item] of entries) {
        if (typeof key !== "string") throw mismatch(path, t, value);
        out.set(key, convert(item, t.values, `${path}.${key}`, false));
      }
      return out;
    }
    default:
      return value;
  }
}

/** Whether `value` is the Literal member `option` (an int member matches any integral number
 * or bigint of its value; text and booleans match only themselves). */
function sameLiteral(option, value) {
  const integral = (x) => typeof x === "bigint" || (typeof x === "number" && Number.isInteger(x));
  if (typeof option === "string" || typeof option === "boolean") return option === value;
  return integral(value) && BigInt(option) === BigInt(value);
}

/** Whether the type is a list of enum or model values (maybe Optional, either level): pliable
 * holds its items as enum members or models, never as text, so it is never lines of text. */
function listOfOpaque(t) {
  const bare = (node) => (node.kind === "optional" ? node.inner : node);
  const list = bare(t);
  return list.kind === "list" && bare(list.items).kind === "opaque";
}

function textOf(value, path, lines, version) {
  if (typeof value === "string") return value;
  const texts = Array.isArray(value) && Array.from(value).every((v) => typeof v === "string");
  if (lines && texts && value.length > 0) {
    return version === 1
      ? value.map((v, i) => `[${i + 1}] ${v}`).join("\n")
      : value.map((v) => `- ${v}`).join("\n");
  }
  return dumps(value, path, new Set());
}

function rendered(value, type, path, version = VERSION) {
  if (value === undefined) throw new RenderError(`${path}: undefined is not a value`, path);
  const t = parseType(type);
  return textOf(convert(value, t, path, true), path, !listOfOpaque(t), version);
}

/** An input value as prompt text, by pliable's rules: text as it is; a non-empty list of
 * texts as bullet lines ("- a\n- b"); anything else as Python's JSON. `type`, the field's
 * type name from the document (e.g. "list[float]"), checks the value and decides int vs
 * float; without it, integral numbers render as integers. */
export function renderInput(value, type) {
  return rendered(value, type, "value");
}

// --- the document -------------------------------------------------------------------------------

function fieldError(field, message) {
  return new RenderError(`${field}: ${message}`, field);
}

function readDocument(doc) {
  let data = doc;
  if (typeof doc === "string") {
    try {
      data = JSON.parse(doc);
    } catch (err) {
      throw fieldError("doc", `not valid JSON (${err.message})`);
    }
  }
  if (!isPlainObject(data)) {
    throw fieldError("doc", `expected a ${FORMAT} document (an object); got ${show(data)}`);
  }
  if (data.format !== FORMAT) {
    throw fieldError(
      "format",
      `expected "${FORMAT}"; got ${show(data.format)}. ` +
        "Export a compiled file with: pliable export <file> --format messages",
    );
  }
  if (!VERSIONS.includes(data.version)) {
    const newer = typeof data.version === "number" && data.version > VERSION;
    throw fieldError(
      "version",
      `this renderer reads versions ${VERSIONS.join(" and ")}; got ${show(data.version)}` +
        (newer ? " (written by a newer pliable: upgrade pliable-messages)" : ""),
    );
  }
  if (!Array.isArray(data.steps) || data.steps.length === 0) {
    throw fieldError("steps", `expected a non-empty list of steps; got ${show(data.steps)}`);
  }
  data.steps.forEach((step, i) => {
    if (!isPlainObject(step) || typeof step.name !== "string") {
      throw fieldError(`steps[${i}].name`, "every step needs a name (text)");
    }
  });
  return data;
}

function pickStep(doc, wanted) {
  const names = doc.steps.map((s) => s.name);
  let index;
  if (wanted === undefined || wanted === null) {
    if (names.length !== 1) {
      throw fieldError(
        "step",
        `the document has ${names.length} steps (${names.join(", ")}); ` +
          `say which: {step: "${names[0]}"}`,
      );
    }
    index = 0;
  } else {
    index = typeof wanted === "string" ? names.indexOf(wanted) : -1;
    if (index < 0) {
      const known = names.join(", ");
      throw fieldError("step", `no step ${show(wanted)}; the document's steps: ${known}`);
    }
  }
  return checkStep(doc.steps[index], `steps[${index}]`);
}

function checkStep(step, where) {
  const typed =
    isPlainObject(step.inputs) && Object.values(step.inputs).every((t) => typeof t === "string");
  if (!typed) {
    throw fieldError(`${where}.inputs`, "expected an object of input names and type names");
  }
  if (!Array.isArray(step.messages) || step.messages.length === 0) {
    throw fieldError(`${where}.messages`, "expected a non-empty list of messages");
  }
  step.messages.forEach((m, i) => {
    const at = `${where}.messages[${i}]`;
    if (!isPlainObject(m) || typeof m.role !== "string") {
      throw fieldError(`${at}.role`, "every message needs a role (text)");
    }
    if (m.parts === undefined) {
      if (typeof m.content !== "string") {
        throw fieldError(`${at}.content`, "a message needs its parts or its content (text)");
      }
      return;
    }
    if (!Array.isArray(m.parts)) throw fieldError(`${at}.parts`, "expected a list of parts");
    m.parts.forEach((p, j) => {
      const ok =
        isPlainObject(p) &&
        (typeof p.text === "string"
          ? !("input" in p)
          : typeof p.input === "string" && Object.hasOwn(step.inputs, p.input));
      if (!ok) {
        throw fieldError(
          `${at}.parts[${j}]`,
          `expected {"text": ...} or {"input": name} naming one of the step's inputs ` +
            `(${Object.keys(step.inputs).join(", ")}); got ${show(p)}`,
        );
      }
    });
  });
  return step;
}

/** `content` (Python str.format syntax: {name}, with {{ and }} for literal braces) filled. */
function formatContent(content, values, at) {
  let out = "";
  let i = 0;
  while (i < content.length) {
    const brace = content.slice(i).search(/[{}]/);
    if (brace < 0) {
      out += content.slice(i);
      break;
    }
    out += content.slice(i, i + brace);
    i += brace;
    const c = content[i];
    if (content[i + 1] === c) {
      out += c;
      i += 2;
      continue;
    }
    const end = c === "{" ? content.indexOf("}", i) : -1;
    const name = end < 0 ? null : content.slice(i + 1, end);
    if (name === null || !values.has(name)) {
      throw fieldError(
        `${at}.content`,
        `a stray brace or an unknown placeholder at character ${i} ` +
          "(placeholders are the step's inputs; literal braces are doubled)",
      );
    }
    out += values.get(name);
    i = end + 1;
  }
  return out;
}

function renderedInputs(step, inputs, version) {
  if (!isPlainObject(inputs)) {
    throw fieldError("inputs", `expected an object of input values; got ${show(inputs)}`);
  }
  const names = Object.keys(step.inputs);
  const list = names.join(", ") || "none";
  for (const key of Object.keys(inputs)) {
    if (!Object.hasOwn(step.inputs, key)) {
      throw fieldError(`inputs.${key}`, `not an input of step "${step.name}"; its inputs: ${list}`);
    }
  }
  const values = new Map();
  for (const name of names) {
    const path = `inputs.${name}`;
    const type = step.inputs[name];
    const value = inputs[name];
    if (value === undefined) {
      const optional = type.startsWith("Optional[")
        ? " (it is Optional: pass null for None; pliable lays out a message without it " +
          "differently, which the document does not record)"
        : "";
      throw fieldError(path, `missing; step "${step.name}" takes ${list}${optional}`);
    }
    // a Template fills None as empty text (pliable's Template, adapters/template_value.py)
    const text =
      value === null && step.adapter === "TemplateAdapter"
        ? ""
        : rendered(value, type, path, version);
    values.set(name, text);
  }
  return values;
}

/** The chat messages pliable sends for `inputs` at a step of an exported document.
 *
 * `doc` is the parsed document or its JSON text; `options.step` names the step (needed when
 * the document has more than one). Every input of the step must be given, none other. */
export function renderMessages(doc, inputs, options = {}) {
  const data = readDocument(doc);
  const step = pickStep(data, options?.step);
  const where = `steps[${data.steps.indexOf(step)}]`;
  const values = renderedInputs(step, inputs, data.version);
  return step.messages.map((m, i) => ({
    role: m.role,
    content:
      m.parts === undefined
        ? formatContent(m.content, values, `${where}.messages[${i}]`)
        : m.parts.map((p) => (p.input === undefined ? p.text : values.get(p.input))).join(""),
  }));
}

/** The steps of a document: name, input names → type names, output types, adapter, model. */
export function listSteps(doc) {
  return readDocument(doc).steps.map((s) => ({
    name: s.name,
    inputs: { ...s.inputs },
    outputs: { ...(s.outputs ?? {}) },
    adapter: s.adapter ?? null,
    model: s.model ?? null,
  }));
}

function show(value) {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  }
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof PyFloat) return `pyFloat(${value.value})`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return value instanceof Map ? "a Map" : "an object";
  return `${typeof value} ${String(value)}`;
}
