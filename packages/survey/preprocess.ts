/**
 * What kernel C needs before tree-sitter's C grammar can parse it, done on tokens and in place:
 * every rewrite keeps each character's offset and line (replaced text is padded with spaces,
 * newlines stay), so sites found in the rewritten text are sites in the file.
 *
 * - Attributes the grammar does not know (`__iomem`, `__must_check`, `__aligned(8)`, `__free(kfree)`,
 *   ...) are blanked.
 * - A `struct`/`union`/`enum` keyword that forms a whole macro argument (`container_of(p, struct
 *   foo, base)`, `list_first_entry(h, struct drm_sched_job, list)`) is blanked: the argument
 *   becomes the identifier `foo`, which type inference resolves as a type name again. So do a
 *   pointer type (`kmalloc_objs(struct foo *, n, gfp)`: keyword and stars blanked) and a type of
 *   several keywords (`min_t(unsigned long, a, b)`: becomes the identifier `unsigned_long`) as a
 *   whole argument of a call.
 * - `offsetof(struct foo, a.b)` and `offsetof(struct foo, a[i])`, which the grammar's offsetof
 *   (one member name) rejects, are renamed `OFFSETOF(...)` and parse as a call.
 * - Loop and scope macros used as statements (`list_for_each_entry(pos, head, member) {...}`,
 *   `drm_sched_for_each_pending_job(...)`, `scoped_guard(...) {...}`, `xa_for_each(...) stmt;`) have
 *   their name replaced by `while`: the arguments parse as one comma expression and the body as
 *   the loop body. The original name is kept in `loop_macros` by offset.
 * - Trace event definitions (TRACE_EVENT, DECLARE_EVENT_CLASS, ...) become a function
 *   `__tp(TP_PROTO args) { __string sources; TP_fast_assign body }`, so what the trace point reads
 *   is analysed like any other code; DEFINE_EVENT and friends without a body are blanked.
 * - `#if 0` branches are blanked. Other conditionals are kept (`all`, both branches in one parse,
 *   as tree-sitter represents them) or reduced to their first or last branch (`first`, `last`):
 *   the survey parses those two variants when a file with #else/#elif does not parse whole.
 */

export type BranchMode = 'all' | 'first' | 'last';

export interface Preprocessed {
  readonly text: string;
  /** Offset of a rewritten loop macro name -> its name. */
  readonly loop_macros: ReadonlyMap<number, string>;
  /** Offset of a trace event turned into a function -> the event (or class) name. */
  readonly trace_events: ReadonlyMap<number, string>;
  /** Conditional groups (#if...#endif) with an #else or #elif branch. */
  readonly conditionals_with_alternatives: number;
}

interface Token { readonly kind: 'id' | 'punct' | 'other'; readonly text: string; readonly start: number; readonly end: number }
interface Directive { readonly keyword: string; readonly rest: string; readonly start: number; readonly end: number }

/** Attributes and annotations blanked as one identifier. */
const ATTRIBUTE_WORDS = new Set([
  '__iomem', '__user', '__rcu', '__force', '__percpu', '__maybe_unused', '__always_unused', '__must_check', '__always_inline',
  '__init', '__exit', '__initdata', '__initconst', '__read_mostly', '__ro_after_init', 'noinline', '__noreturn', '__cold', '__hot',
  '__pure', '__packed', '__weak', '__visible', 'notrace', '__nocast', '__bitwise', '__private', '__deprecated', '__used', '__malloc',
  '__nonstring', '__randomize_layout', '__no_randomize_layout', '____cacheline_aligned', '____cacheline_aligned_in_smp',
  '__cacheline_aligned', '__cacheline_aligned_in_smp', '__sched', '__flatten', 'noinline_for_stack', '__latent_entropy',
  '__no_kcsan', '__no_sanitize_address', '__noclone', '__always_unused', '__ref', '__refdata', '__counted_by_ptr',
]);
/** Attributes blanked together with their parenthesised arguments. */
const ATTRIBUTE_CALLS = new Set([
  '__aligned', '__printf', '__scanf', '__free', '__cleanup', '__releases', '__acquires', '__must_hold', '__cond_acquires',
  '__cond_releases', '__cond_lock', '__guarded_by', '__pt_guarded_by', '__section', '__alloc_size', '__counted_by', '__counted_by_le',
  '__counted_by_be', '__diag_ignore', '__no_context_analysis', '__acquires_shared', '__releases_shared', '__must_hold_shared',
]);
const C_KEYWORDS = new Set([
  'if', 'for', 'while', 'switch', 'return', 'sizeof', 'do', 'else', 'case', 'goto', 'typeof', '__typeof__', 'alignof', '_Alignof',
  '__attribute__', '__attribute', 'asm', '__asm__', 'defined', '_Static_assert', 'static_assert', 'offsetof', '_Generic',
]);
const TRACE_WITH_BODY = new Set(['TRACE_EVENT', 'DECLARE_EVENT_CLASS', 'TRACE_EVENT_CONDITION', 'TRACE_EVENT_FN', 'TRACE_EVENT_FN_COND', 'DECLARE_EVENT_CLASS_PRINT_INIT']);
const TRACE_WITHOUT_BODY = new Set(['DEFINE_EVENT', 'DEFINE_EVENT_PRINT', 'DEFINE_EVENT_CONDITION', 'DEFINE_EVENT_FN', 'TRACE_DEFINE_ENUM', 'TRACE_DEFINE_SIZEOF']);
/** TP_STRUCT__entry members whose second argument is an expression read from the arguments. */
const TRACE_STRING_SOURCES = new Set(['__string', '__string_len', '__dynamic_array', '__bitmask']);

/** Tokens of C (comments, literals and preprocessor lines skipped) and the directive lines. */
function lex(src: string): { tokens: Token[]; directives: Directive[] } {
  const tokens: Token[] = [];
  const directives: Directive[] = [];
  const n = src.length;
  let i = 0;
  let line_start = true;
  while (i < n) {
    const c = src[i];
    if (c === '\n') { line_start = true; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') { i++; continue; }
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '#' && line_start) {
      const start = i;
      // A directive runs to the end of its line, continued by backslash-newlines; comments inside
      // it may span lines too.
      while (i < n && src[i] !== '\n') {
        if (src[i] === '\\' && src[i + 1] === '\n') { i += 2; continue; }
        if (src[i] === '/' && src[i + 1] === '*') { const e = src.indexOf('*/', i + 2); i = e < 0 ? n : e + 2; continue; }
        if (src[i] === '/' && src[i + 1] === '/') { while (i < n && src[i] !== '\n') i++; break; }
        i++;
      }
      const m = /^#\s*([A-Za-z_]\w*)?\s*([\s\S]*)$/.exec(src.slice(start, i));
      directives.push({ keyword: m?.[1] ?? '', rest: (m?.[2] ?? '').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/g, '').trim(), start, end: i });
      continue;
    }
    line_start = false;
    if (c === '"' || c === "'") {
      const start = i++;
      while (i < n && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      i++;
      tokens.push({ kind: 'other', text: src.slice(start, Math.min(i, n)), start, end: Math.min(i, n) });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < n && /\w/.test(src[i])) i++;
      tokens.push({ kind: 'id', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (/[0-9]/.test(c)) {
      const start = i;
      while (i < n && /[\w.]/.test(src[i])) i++;
      tokens.push({ kind: 'other', text: src.slice(start, i), start, end: i });
      continue;
    }
    const two = src.slice(i, i + 2);
    const len = ['->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+=', '-=', '*=', '/=', '|=', '&=', '^=', '%='].includes(two) ? 2 : 1;
    tokens.push({ kind: 'punct', text: src.slice(i, i + len), start: i, end: i + len });
    i += len;
  }
  return { tokens, directives };
}

class Buffer {
  private readonly chars: string[];
  // UTF-16 code units, as the lexer's and tree-sitter's offsets count.
  constructor(text: string) { this.chars = text.split(''); }
  blank(start: number, end: number): void {
    for (let k = start; k < end; k++) if (this.chars[k] !== '\n') this.chars[k] = ' ';
  }
  write(at: number, s: string): void {
    for (let k = 0; k < s.length; k++) this.chars[at + k] = s[k];
  }
  toString(): string { return this.chars.join(''); }
}

/** Index of the `)` matching the `(` at token index `open`, or -1. */
function matching(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k].text;
    if (tokens[k].kind !== 'punct') continue;
    if (t === '(') depth++;
    else if (t === ')' && --depth === 0) return k;
  }
  return -1;
}

/** Conditional groups: blank `#if 0` branches, and all but one branch in `first`/`last` mode. */
interface Ranges { readonly with_alternatives: number; readonly blanked: [number, number][]; readonly alternatives: [number, number][] }

function conditionals(buf: Buffer, directives: readonly Directive[], mode: BranchMode): Ranges {
  interface Group { readonly branches: { readonly directive: Directive; readonly zero: boolean }[] }
  const stack: Group[] = [];
  let with_alternatives = 0;
  const blanked: [number, number][] = [], alternatives: [number, number][] = [];
  const finish = (g: Group, endif: Directive) => {
    if (g.branches.length > 1) with_alternatives++;
    const keep = mode === 'first' ? 0 : mode === 'last' ? g.branches.length - 1 : -1;
    g.branches.forEach((b, k) => {
      const body_end = k + 1 < g.branches.length ? g.branches[k + 1].directive.start : endif.start;
      if (b.zero || (keep >= 0 && k !== keep)) { buf.blank(b.directive.end, body_end); blanked.push([b.directive.end, body_end]); }
      if (k > 0 || b.zero) alternatives.push([b.directive.end, body_end]);
      if (keep >= 0) buf.blank(b.directive.start, b.directive.end);
    });
    if (keep >= 0) buf.blank(endif.start, endif.end);
  };
  for (const d of directives) {
    if (d.keyword === 'if' || d.keyword === 'ifdef' || d.keyword === 'ifndef') {
      stack.push({ branches: [{ directive: d, zero: d.keyword === 'if' && d.rest === '0' }] });
    } else if (d.keyword === 'elif' || d.keyword === 'elifdef' || d.keyword === 'elifndef' || d.keyword === 'else') {
      stack[stack.length - 1]?.branches.push({ directive: d, zero: d.keyword === 'elif' && d.rest === '0' });
    } else if (d.keyword === 'endif') {
      const g = stack.pop();
      if (g !== undefined) finish(g, d);
    }
  }
  const by_start = (a: [number, number], b: [number, number]) => a[0] - b[0];
  return { with_alternatives, blanked: blanked.sort(by_start), alternatives: alternatives.sort(by_start) };
}

/** Whether `offset` lies in one of the sorted, possibly nested ranges. */
function inside(ranges: readonly [number, number][], offset: number): boolean {
  for (const [a, b] of ranges) {
    if (a > offset) return false;
    if (offset < b) return true;
  }
  return false;
}

/** Words of C's primitive types. */
const PRIMITIVE_WORDS = new Set(['unsigned', 'signed', 'long', 'short', 'int', 'char']);

/**
 * Whether token `k` starts an argument of a macro or function call: after the call's `(` or a
 * `,` at its top level, the `(` following an identifier that is not a keyword. A cast's, a
 * sizeof's or a declarator's parentheses are not a call's.
 */
function macro_argument_start(tokens: readonly Token[], k: number): boolean {
  const prev = tokens[k - 1];
  if (prev?.kind !== 'punct' || (prev.text !== '(' && prev.text !== ',')) return false;
  let open = k - 1;
  for (let depth = 0; open >= 0 && k - open < 4000; open--) {
    const t = tokens[open];
    if (t.kind !== 'punct') continue;
    if (t.text === ')' || t.text === ']' || t.text === '}') depth++;
    else if (t.text === '(' || t.text === '[' || t.text === '{') {
      if (depth === 0) break;
      depth--;
    }
  }
  const callee = tokens[open - 1];
  return open >= 0 && tokens[open].text === '(' && callee?.kind === 'id' && !C_KEYWORDS.has(callee.text);
}

/** Top-level comma-separated argument token ranges [first, last] inside the parens open..close. */
function arguments_of(tokens: readonly Token[], open: number, close: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0, from = open + 1;
  for (let k = open + 1; k < close; k++) {
    const t = tokens[k];
    if (t.kind !== 'punct') continue;
    if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
    else if (t.text === ')' || t.text === ']' || t.text === '}') depth--;
    else if (t.text === ',' && depth === 0) { out.push([from, k - 1]); from = k + 1; }
  }
  if (from <= close - 1) out.push([from, close - 1]);
  return out;
}

function trace_event(buf: Buffer, tokens: readonly Token[], k: number, close: number, events: Map<number, string>): void {
  const name = tokens[k + 2]?.kind === 'id' ? tokens[k + 2].text : '?';
  const region_start = tokens[k].start, region_end = close + 1 < tokens.length && tokens[close + 1].text === ';' ? tokens[close + 1].end : tokens[close].end;
  const find = (word: string) => { for (let j = k + 1; j < close; j++) if (tokens[j].text === word && tokens[j + 1]?.text === '(') return j; return -1; };
  const proto = find('TP_PROTO'), entry = find('TP_STRUCT__entry'), assign = find('TP_fast_assign');
  buf.blank(region_start, region_end);
  if (!TRACE_WITH_BODY.has(tokens[k].text) || proto < 0 || assign < 0) return;
  const proto_close = matching(tokens, proto + 1), assign_close = matching(tokens, assign + 1);
  if (proto_close < 0 || assign_close < 0) return;
  buf.write(tokens[k].start, 'void __tp');
  events.set(tokens[k].start, name);
  // The parameter list: TP_PROTO's own parentheses and what is between them.
  buf.write(tokens[proto + 1].start, '(');
  for (let j = proto + 2; j < proto_close; j++) buf.write(tokens[j].start, tokens[j].text);
  buf.write(tokens[proto_close].start, ')');
  const body_open = entry >= 0 && entry < assign ? entry + 1 : assign + 1;
  buf.write(tokens[body_open].start, '{');
  if (entry >= 0 && entry < assign) {
    const entry_close = matching(tokens, entry + 1);
    for (let j = entry + 2; j < entry_close; j++) {
      if (!TRACE_STRING_SOURCES.has(tokens[j].text) || tokens[j + 1]?.text !== '(') continue;
      const c = matching(tokens, j + 1);
      const args = arguments_of(tokens, j + 1, c);
      if (args.length < 2) continue;
      // `__string(name, src)` -> `src;`
      for (let a = args[1][0]; a <= args[1][1]; a++) buf.write(tokens[a].start, tokens[a].text);
      buf.write(tokens[c].start, ';');
      j = c;
    }
  }
  for (let j = assign + 2; j < assign_close; j++) buf.write(tokens[j].start, tokens[j].text);
  buf.write(tokens[assign_close].start, '}');
}

export function preprocess(src: string, mode: BranchMode = 'all'): Preprocessed {
  const { tokens, directives } = lex(src);
  const buf = new Buffer(src);
  const ranges = conditionals(buf, directives, mode);
  const loop_macros = new Map<number, string>();
  const trace_events = new Map<number, string>();
  let brace_depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (inside(ranges.blanked, t.start)) continue;
    if (t.kind === 'punct') {
      // Braces are counted as the first branch of every conditional has them, whatever the mode.
      if (inside(ranges.alternatives, t.start)) continue;
      if (t.text === '{') brace_depth++;
      else if (t.text === '}') brace_depth = Math.max(0, brace_depth - 1);
      continue;
    }
    if (t.kind !== 'id') continue;
    const next = tokens[k + 1];
    if (ATTRIBUTE_WORDS.has(t.text)) { buf.blank(t.start, t.end); continue; }
    if (ATTRIBUTE_CALLS.has(t.text)) {
      const close = next?.text === '(' ? matching(tokens, k + 1) : -1;
      buf.blank(t.start, close >= 0 ? tokens[close].end : t.end);
      if (close >= 0) k = close;
      continue;
    }
    if ((TRACE_WITH_BODY.has(t.text) || TRACE_WITHOUT_BODY.has(t.text)) && brace_depth === 0 && next?.text === '(') {
      const close = matching(tokens, k + 1);
      if (close >= 0) { trace_event(buf, tokens, k, close, trace_events); k = close; continue; }
    }
    if ((t.text === 'struct' || t.text === 'union' || t.text === 'enum') && tokens[k - 1]?.kind === 'punct'
      && (tokens[k - 1].text === '(' || tokens[k - 1].text === ',') && tokens[k + 1]?.kind === 'id'
      && (tokens[k + 2]?.text === ',' || tokens[k + 2]?.text === ')') && brace_depth > 0) {
      buf.blank(t.start, t.end);
      continue;
    }
    // `kmalloc_objs(struct foo *, n, gfp)`: a pointer type as a whole macro argument (not a cast:
    // the `(` is a call's) loses its keyword and stars and becomes the identifier `foo`.
    if ((t.text === 'struct' || t.text === 'union' || t.text === 'enum') && brace_depth > 0 && macro_argument_start(tokens, k)
      && tokens[k + 1]?.kind === 'id' && tokens[k + 2]?.text === '*') {
      let e = k + 2;
      while (tokens[e]?.text === '*') e++;
      if (tokens[e]?.text === ',' || tokens[e]?.text === ')') {
        buf.blank(t.start, t.end);
        for (let j = k + 2; j < e; j++) buf.blank(tokens[j].start, tokens[j].end);
        k = e - 1;
        continue;
      }
    }
    // `min_t(unsigned long, a, b)`: a type of several keywords as a whole macro argument becomes
    // one identifier (`unsigned_long`), when its words are on one line.
    if (PRIMITIVE_WORDS.has(t.text) && brace_depth > 0 && macro_argument_start(tokens, k) && PRIMITIVE_WORDS.has(tokens[k + 1]?.text ?? '')) {
      let e = k + 1;
      while (PRIMITIVE_WORDS.has(tokens[e]?.text ?? '')) e++;
      const gap = src.slice(t.start, tokens[e - 1].end);
      if ((tokens[e]?.text === ',' || tokens[e]?.text === ')') && /^[a-z]+([ \t]+[a-z]+)+$/.test(gap)) {
        buf.write(t.start, gap.replace(/\s/g, '_'));
        k = e - 1;
        continue;
      }
    }
    // `offsetof(struct foo, a.b)`, `offsetof(struct foo, a[i])`: the grammar's offsetof takes one
    // member name; renamed, the expression parses as a call (whose `struct` the rule above blanks).
    if (t.text === 'offsetof' && next?.text === '(' && brace_depth > 0) {
      const close = matching(tokens, k + 1);
      const args = close >= 0 ? arguments_of(tokens, k + 1, close) : [];
      if (args.length === 2 && args[1][1] > args[1][0]) buf.write(t.start, 'OFFSETOF');
      continue;
    }
    // A statement starts after `;`, `{`, `}`, `)` (of an if or for), `:` (a label) or `else`: a
    // function definition or a declaration never does, so a loop macro needs one of those before it.
    const prev = tokens[k - 1];
    const statement_start = prev !== undefined && ([';', '{', '}', ')', ':'].includes(prev.text) || prev.text === 'else');
    if (brace_depth > 0 && statement_start && next?.text === '(' && !C_KEYWORDS.has(t.text) && t.text.length >= 5) {
      const close = matching(tokens, k + 1);
      const after = close >= 0 ? tokens[close + 1] : undefined;
      const loop_like = after !== undefined && (after.text === '{'
        || (/for_each|^scoped_(cond_)?guard$/.test(t.text) && (after.kind === 'id' || after.text === '*' || after.text === '++' || after.text === '--' || after.text === '(')));
      if (loop_like) {
        buf.write(t.start, 'while' + ' '.repeat(t.text.length - 5));
        loop_macros.set(t.start, t.text);
      }
    }
  }
  return { text: buf.toString(), loop_macros, trace_events, conditionals_with_alternatives: ranges.with_alternatives };
}
