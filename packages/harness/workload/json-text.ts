/**
 * A strict JSON (RFC 8259) reader that, unlike JSON.parse, says where things are: syntax errors
 * carry a line and column, and every value's position can be found by field path so schema
 * errors can point into the file too. It also rejects duplicate keys, which JSON.parse
 * silently resolves to the last one. Objects have a null prototype, so a "__proto__" key is an
 * ordinary key.
 */
import { LineIndex, type PathSegment, type Position } from './diagnostics.ts';
import { LIMITS } from './types.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonReadResult =
  | {
    readonly ok: true;
    readonly value: JsonValue;
    /** Where the value at `path` starts, or its nearest ancestor (a missing field has no position). */
    readonly position_at: (path: readonly PathSegment[]) => Position;
  }
  | { readonly ok: false; readonly position: Position; readonly message: string };

/** Where a container's members start: by key for an object, by index for an array. */
type MemberOffsets = Map<string, number> | number[];

class JsonSyntaxError {
  constructor(readonly offset: number, readonly message: string) {}
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t',
};

function describe_char(text: string, offset: number): string {
  if (offset >= text.length) return 'end of input';
  const code = text.charCodeAt(offset);
  if (code === 0xfeff) return 'a byte order mark (U+FEFF)';
  if (code < 0x20 || code === 0x7f) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  return `'${text[offset]}'`;
}

class Reader {
  private offset = 0;
  /** Member offsets per container, so positions cost nothing until an error asks for one. */
  readonly members = new WeakMap<object, MemberOffsets>();

  constructor(private readonly text: string) {}

  read_document(): JsonValue {
    this.skip_space();
    const value = this.read_value(0);
    this.skip_space();
    if (this.offset < this.text.length) this.fail(`unexpected ${describe_char(this.text, this.offset)} after the JSON value`);
    return value;
  }

  private fail(message: string, offset = this.offset): never {
    throw new JsonSyntaxError(offset, message);
  }

  private skip_space(): void {
    const text = this.text;
    while (this.offset < text.length) {
      const c = text.charCodeAt(this.offset);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.offset++;
    }
  }

  private read_value(depth: number): JsonValue {
    if (depth > LIMITS.json_depth) this.fail(`nesting deeper than ${LIMITS.json_depth} levels`);
    const c = this.text[this.offset];
    if (c === '{') return this.read_object(depth);
    if (c === '[') return this.read_array(depth);
    if (c === '"') return this.read_string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.read_number();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.offset)) {
        this.offset += word.length;
        return value;
      }
    }
    return this.fail(`unexpected ${describe_char(this.text, this.offset)}: expected a JSON value`);
  }

  private read_object(depth: number): JsonValue {
    const object: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
    const offsets = new Map<string, number>();
    this.members.set(object, offsets);
    this.offset++; // '{'
    this.skip_space();
    if (this.text[this.offset] === '}') {
      this.offset++;
      return object;
    }
    for (;;) {
      this.skip_space();
      if (this.text[this.offset] !== '"') this.fail(`unexpected ${describe_char(this.text, this.offset)}: expected a key in double quotes`);
      const key_offset = this.offset;
      const key = this.read_string();
      if (Object.prototype.hasOwnProperty.call(object, key)) this.fail(`duplicate key ${JSON.stringify(key)}`, key_offset);
      this.skip_space();
      if (this.text[this.offset] !== ':') this.fail(`unexpected ${describe_char(this.text, this.offset)}: expected ':' after the key`);
      this.offset++;
      this.skip_space();
      offsets.set(key, this.offset);
      object[key] = this.read_value(depth + 1);
      this.skip_space();
      const c = this.text[this.offset];
      this.offset++;
      if (c === '}') return object;
      if (c !== ',') this.fail(`unexpected ${describe_char(this.text, this.offset - 1)}: expected ',' or '}'`, this.offset - 1);
    }
  }

  private read_array(depth: number): JsonValue {
    const array: JsonValue[] = [];
    const offsets: number[] = [];
    this.members.set(array, offsets);
    this.offset++; // '['
    this.skip_space();
    if (this.text[this.offset] === ']') {
      this.offset++;
      return array;
    }
    for (;;) {
      this.skip_space();
      offsets.push(this.offset);
      array.push(this.read_value(depth + 1));
      this.skip_space();
      const c = this.text[this.offset];
      this.offset++;
      if (c === ']') return array;
      if (c !== ',') this.fail(`unexpected ${describe_char(this.text, this.offset - 1)}: expected ',' or ']'`, this.offset - 1);
    }
  }

  private read_string(): string {
    const text = this.text;
    const start = this.offset;
    this.offset++; // opening quote
    let out = '';
    let run = this.offset;
    for (;;) {
      if (this.offset >= text.length) this.fail('unterminated string', start);
      const code = text.charCodeAt(this.offset);
      if (code === 0x22) break;
      if (code < 0x20) this.fail(`${describe_char(text, this.offset)} in a string: escape it`);
      if (code !== 0x5c) {
        this.offset++;
        continue;
      }
      out += text.slice(run, this.offset);
      const escape = text[this.offset + 1];
      if (escape === 'u') {
        const hex = text.slice(this.offset + 2, this.offset + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape: expected four hex digits');
        out += String.fromCharCode(parseInt(hex, 16));
        this.offset += 6;
      } else if (escape !== undefined && ESCAPES[escape] !== undefined) {
        out += ESCAPES[escape];
        this.offset += 2;
      } else {
        this.fail(`bad escape '\\${escape ?? ''}' in a string`);
      }
      run = this.offset;
    }
    out += text.slice(run, this.offset);
    this.offset++; // closing quote
    return out;
  }

  private read_number(): number {
    NUMBER.lastIndex = this.offset;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail(`bad number: expected a digit after ${describe_char(this.text, this.offset)}`);
    const end = this.offset + match[0].length;
    const next = this.text[end];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail(`bad number near ${describe_char(this.text, end)}`, end);
    this.offset = end;
    return Number(match[0]);
  }
}

/** Reads a JSON text; never throws. */
export function read_json(text: string): JsonReadResult {
  const lines = new LineIndex(text);
  const reader = new Reader(text);
  try {
    const root_offset = text.length - text.trimStart().length;
    const value = reader.read_document();
    const position_at = (path: readonly PathSegment[]): Position => {
      let node: JsonValue = value, offset = root_offset;
      for (const segment of path) {
        if (node === null || typeof node !== 'object') break;
        const members = reader.members.get(node);
        const at = members === undefined ? undefined : Array.isArray(members) ? (typeof segment === 'number' ? members[segment] : undefined) : members.get(String(segment));
        if (at === undefined) break;
        offset = at;
        node = (node as Record<string, JsonValue>)[segment as string];
      }
      return lines.position(offset);
    };
    return { ok: true, value, position_at };
  } catch (error) {
    if (error instanceof JsonSyntaxError) return { ok: false, position: lines.position(error.offset), message: error.message };
    throw error;
  }
}
