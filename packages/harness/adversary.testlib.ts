/**
 * The adversarial suite's input generator: seeded, independent of the loaders' own fuzz test,
 * and aware of each input's structure. It mutates valid inputs (JSON workloads, gem_wsim
 * descriptors, captures, replay tokens, shard files) the way a hostile user or a broken tool
 * would: values at and past every bound, wrong types, missing and unknown fields, lists grown
 * past their limits, prototype keys, cut and spliced text, bytes that are not text. A seed
 * fixes every input, so a failure names the seed and the index that reproduces it.
 */

/** xorshift128+ on two 32-bit halves: a small seeded generator with no dependency on the model's. */
export class Adversary {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = seed >>> 0 || 1;
    this.b = 0x9e3779b9;
    this.c = (seed * 2654435761) >>> 0 || 7;
    this.d = 0x85ebca6b;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let t = this.a ^ (this.a << 11);
    this.a = this.b; this.b = this.c; this.c = this.d;
    this.d = (this.d ^ (this.d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    t = this.d;
    return t >>> 0;
  }

  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.next() / 2 ** 32) * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /* -------------------------------------------------------------------------------------- */
  /* Values                                                                                  */

  /** A number where validators break: the bounds of the formats' limits, off by one, and beyond anything sane. */
  hostile_number(): number {
    return this.pick([
      0, -0, 1, -1, 2, 0.5, -0.5, 1e-9, 63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4096, 4097, 65535, 65536, 65537,
      1_000_000, 1_000_001, 999_999_999, 1_000_000_000, 1_000_000_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 3_600_000, 3_600_001,
      3_600_000_000, 3_600_000_001, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e21, 1e308, -1e308, Number.MIN_VALUE,
      this.int(-100, 100), this.int(0, 1 << 20),
    ]);
  }

  /** A string that breaks names, paths, shells and parsers. */
  hostile_string(): string {
    const long = (n: number) => this.pick(['a', 'é', '\u{1F600}', '/', '-', ' ', '\'', '0']).repeat(n);
    return this.pick([
      '', ' ', 'q', 'render', 'video', 'infinite', 'chain', '60fps', '0fps', '1e9/s', 'NaN', 'Infinity', 'null', 'true', '-1',
      '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '../../etc/passwd', '/etc/passwd', '/proc/self/environ', '/dev/zero',
      "a';touch PWNED;'", '$(touch PWNED)', '`touch PWNED`', 'a\nb', 'a\u0000b', '\u202e', '\ufeff', 'a|b', '--help', '-x',
      long(129), long(4097), long(70_000), this.hostile_name(),
    ]);
  }

  /** A file or workload name a hostile user might choose. */
  hostile_name(): string {
    return this.pick([
      "a';touch PWNED;'", 'a b', 'a"b', 'a\\b', '$(touch PWNED)', '`touch PWNED`', 'a;b', 'a&b', 'a|b', 'a>b', '*', '?', '~root',
      '-rf', '--out', 'a\tb', 'é名前', '\u{1F600}', "'", '"', '\\', '$HOME', '${IFS}', '!!', 'a\nb', '#x', ' lead', 'trail ',
    ]);
  }

  /** A JSON value of any shape, small or adversarially large/deep. */
  hostile_value(depth = 0): unknown {
    switch (this.int(0, 9)) {
      case 0: return this.hostile_number();
      case 1: return this.hostile_string();
      case 2: return this.chance(0.5);
      case 3: return null;
      case 4: return depth > 3 ? [] : Array.from({ length: this.int(0, 3) }, () => this.hostile_value(depth + 1));
      case 5: {
        if (depth > 3) return {};
        const o: Record<string, unknown> = {};
        for (let i = this.int(0, 3); i > 0; i--) Object.defineProperty(o, this.hostile_string().slice(0, 40), { value: this.hostile_value(depth + 1), enumerable: true, writable: true, configurable: true });
        return o;
      }
      case 6: { // deep nesting
        let v: unknown = 1;
        for (let i = this.int(10, 200); i > 0; i--) v = this.chance(0.5) ? [v] : { x: v };
        return v;
      }
      case 7: return Array.from({ length: this.pick([0, 1, 65, 257, 1025, 4097]) }, () => 0);
      case 8: return { dist: this.pick(['exponential', 'normal', 'uniform', 'constant', 'zipf']), mean_us: this.hostile_number(), min_us: this.hostile_number(), max_us: this.hostile_number(), us: this.hostile_number() };
      default: return this.hostile_number();
    }
  }

  /* -------------------------------------------------------------------------------------- */
  /* Structure-aware mutation of JSON values                                                 */

  /** A copy of `value` with 1..`max` mutations at random places of its tree. */
  mutate_json(value: unknown, max = 3): unknown {
    let v = structuredClone(value);
    for (let n = this.int(1, max); n > 0; n--) v = this.mutate_at(v, 0);
    return v;
  }

  private mutate_at(v: unknown, depth: number): unknown {
    const descend = depth < 12 && this.chance(0.75);
    if (Array.isArray(v)) {
      if (descend && v.length > 0) {
        const i = this.int(0, v.length - 1);
        v[i] = this.mutate_at(v[i], depth + 1);
        return v;
      }
      switch (this.int(0, 5)) {
        case 0: return v.slice(0, this.int(0, v.length)); // shorter, maybe empty
        case 1: { // grown, up to past a limit
          if (v.length === 0) return [this.hostile_value()];
          const item = v[this.int(0, v.length - 1)];
          // Past the list bounds (64 queues, 256 deps, 1024 clients), but at most ~200 KB of text: the loaders' speed on big files has its own test.
          const copies = Math.min(this.pick([1, 2, 63, 64, 65, 256, 1025]), Math.max(1, Math.floor(200_000 / (JSON.stringify(item)?.length ?? 4))));
          const out = v.slice();
          for (let i = 0; i < copies && out.length < 70_000; i++) out.push(structuredClone(item));
          return out;
        }
        case 2: return v.reverse();
        case 3: return [...v, this.hostile_value()];
        case 4: { if (v.length > 1) { const i = this.int(0, v.length - 1); v.splice(i, 1); } return v; }
        default: return this.hostile_value();
      }
    }
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (descend && keys.length > 0) {
        const k = this.pick(keys);
        o[k] = this.mutate_at(o[k], depth + 1);
        return o;
      }
      switch (this.int(0, 5)) {
        case 0: if (keys.length > 0) delete o[this.pick(keys)]; return o;
        case 1: Object.defineProperty(o, this.pick(['extra', '__proto__', 'constructor', ...keys.map((k) => `${k}_`), this.hostile_string().slice(0, 20)]), { value: this.hostile_value(), enumerable: true, writable: true, configurable: true }); return o;
        case 2: if (keys.length > 0) o[this.pick(keys)] = this.hostile_value(); return o;
        case 3: if (keys.length > 1) { const [a, b] = [this.pick(keys), this.pick(keys)]; [o[a], o[b]] = [o[b], o[a]]; } return o;
        case 4: return this.chance(0.5) ? [o] : JSON.stringify(o);
        default: return this.hostile_value();
      }
    }
    if (typeof v === 'number') return this.chance(0.7) ? this.hostile_number() : String(v);
    if (typeof v === 'string') {
      if (this.chance(0.5)) return this.hostile_string();
      return this.chance(0.5) ? v + this.hostile_string() : v.slice(0, this.int(0, v.length));
    }
    return this.hostile_value();
  }

  /* -------------------------------------------------------------------------------------- */
  /* Text                                                                                    */

  /** A copy of `text` with 1..`max` edits: cuts, insertions, deletions, swapped or repeated lines, splices, odd bytes. */
  mutate_text(text: string, max = 3, alphabet = ' \n\t,.:-=[]{}()"\'/\\0123456789abcxyzABC#*%$'): string {
    let t = text;
    for (let n = this.int(1, max); n > 0; n--) {
      const at = this.int(0, t.length);
      switch (this.int(0, 9)) {
        case 0: t = t.slice(0, at); break;
        case 1: t = t.slice(0, at) + Array.from({ length: this.int(1, 8) }, () => this.pick([...alphabet])).join('') + t.slice(at); break;
        case 2: t = t.slice(0, at) + t.slice(at + this.int(1, 16)); break;
        case 3: if (t.length > 0) t = t.slice(0, at) + this.pick([...alphabet]) + t.slice(at + 1); break;
        case 4: { const lines = t.split('\n'); const i = this.int(0, lines.length - 1); lines.splice(i, 0, ...Array(this.pick([1, 2, 100])).fill(lines[i])); t = lines.join('\n'); break; }
        case 5: { const lines = t.split('\n'); lines.splice(this.int(0, lines.length - 1), 1); t = lines.join('\n'); break; }
        case 6: { const lines = t.split('\n'); const a = this.int(0, lines.length - 1), b = this.int(0, lines.length - 1); [lines[a], lines[b]] = [lines[b], lines[a]]; t = lines.join('\n'); break; }
        case 7: t = t.slice(0, at) + this.pick(['\ufeff', '\r\n', '\u0000', '\ud800', '\u202e', '\u{1F600}', '\t\t', '9'.repeat(40), '-'.repeat(40)]) + t.slice(at); break;
        case 8: { const from = this.int(0, t.length), len = this.int(1, 200); t = t.slice(0, at) + t.slice(from, from + len) + t.slice(at); break; }
        default: t = t.slice(0, at) + this.hostile_string().slice(0, 200) + t.slice(at); break;
      }
    }
    return t;
  }

  /** A line-oriented input built from a grammar: each line joins fields drawn from `fields`. */
  grammar_lines(lines: number, fields: () => string[], sep = '.'): string {
    return Array.from({ length: lines }, () => fields().join(sep)).join('\n');
  }
}

/** A failure message that names what reproduces it. */
export function where(seed: number, index: number, input: unknown): string {
  const shown = typeof input === 'string' ? input : JSON.stringify(input) ?? String(input);
  return `seed ${seed}, input ${index}: ${shown.length > 300 ? `${shown.slice(0, 300)}...` : shown}`;
}

/** Text of an error a user sees: never a stack trace. */
export const STACK_LINE = /\n\s+at /;
