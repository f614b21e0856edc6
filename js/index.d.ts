// Type declarations for pliable-messages (index.js).

/** A chat message, as pliable sends it. */
export interface Message {
  role: string;
  content: string;
}

/** A piece of a message: literal text, or the place an input goes. */
export type Part = { text: string } | { input: string };

export interface DocumentMessage {
  role: string;
  /** Python str.format syntax: `{name}` for an input, `{{` and `}}` for literal braces. */
  content: string;
  /** The same content as text and input pieces (used when present). */
  parts?: Part[];
}

export interface Step {
  name: string;
  signature?: string;
  /** Input name → type name (`str`, `list[float]`, `Optional[int]`, `Literal['a', 'b']`, ...). */
  inputs: Record<string, string>;
  outputs?: Record<string, string>;
  adapter?: string | null;
  model?: string | null;
  options?: Record<string, unknown>;
  config?: Record<string, unknown>;
  messages: DocumentMessage[];
}

/** What `pliable export FILE --format messages` writes. */
export interface MessagesDocument {
  format: "pliable.messages";
  version: 1 | 2;
  program?: string;
  exported_by?: string;
  steps: Step[];
  [key: string]: unknown;
}

export interface RenderOptions {
  /** The step to render; needed when the document has more than one. */
  step?: string;
}

export interface StepInfo {
  name: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  adapter: string | null;
  model: string | null;
}

export const FORMAT: "pliable.messages";
export const VERSION: 2;
/** The versions `renderMessages` reads (1: lists of texts as numbered lines; 2: bullets). */
export const VERSIONS: readonly [1, 2];

/** A document, a step or an input that cannot be rendered. */
export class RenderError extends Error {
  /** Where: "format", "version", "step", "inputs.<name>", "steps[0].messages[1].parts[2]", ...
   * (for nested values "inputs.<name>[i].<key>"), or null. */
  readonly field: string | null;
  constructor(message: string, field?: string | null);
}

/** A number to render as a Python float (`3.0`, not `3`) where no declared type says so. */
export class PyFloat {
  readonly value: number;
  constructor(value: number);
}

export function pyFloat(value: number): PyFloat;

/**
 * The chat messages pliable sends for `inputs` at a step of an exported document (the parsed
 * document or its JSON text). Every input of the step must be given (null for None), none
 * other. Throws RenderError.
 */
export function renderMessages(
  doc: MessagesDocument | string,
  inputs: Record<string, unknown>,
  options?: RenderOptions,
): Message[];

/**
 * An input value as prompt text, by pliable's rules: text as it is, a non-empty list of texts
 * as bullet lines ("- a\n- b"), anything else as Python's JSON. `type` is the field's type name from the
 * document; it checks the value and decides int vs float.
 */
export function renderInput(value: unknown, type?: string): string;

/** Python's `json.dumps(value, ensure_ascii=False)`. Integral numbers are ints; see PyFloat. */
export function pythonJson(value: unknown): string;

/** Python's float repr (`1e+16`, `1e-05`, `3.0`), with json.dumps' NaN / Infinity. */
export function floatRepr(value: number): string;

export type TypeNode =
  | { kind: "str" | "int" | "float" | "bool" | "any" }
  | { kind: "optional"; inner: TypeNode }
  | { kind: "list"; items: TypeNode }
  | { kind: "dict"; values: TypeNode }
  | { kind: "literal"; values: Array<string | number | bigint | boolean> }
  | { kind: "opaque"; name: string };

/** A document's type name as a tree; enum and model names (and unknown ones) are "opaque". */
export function parseType(name: string): TypeNode;

/** The steps of a document, with their inputs' and outputs' types. */
export function listSteps(doc: MessagesDocument | string): StepInfo[];
