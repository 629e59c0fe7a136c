/**
 * A KTAP version 1 parser written from the specification (Documentation/dev-tools/ktap.rst at
 * torvalds/linux 0e44d9fed546), for the tests: version lines start a test (nested tests start
 * with a more indented version line and end before the parent's next result line), an
 * optional "1..N" plan follows the version line, result lines are "<ok|not ok> <number>
 * [<description>][ # [<directive>] [<diagnostic data>]]" numbered from 1 without gaps,
 * "# ..." lines are diagnostics, anything else is an unknown line (allowed). The KUnit
 * "# Subtest: <name>" diagnostic names the nested test; a test with a plan ends with its last
 * planned result. It checks what the specification
 * requires and reports every violation with its line number.
 */

export interface KtapResult {
  readonly ok: boolean;
  readonly number: number;
  readonly description: string;
  readonly directive: string | null;
  /** The nested test whose lines came right before this result, if any. */
  readonly subtest: KtapTest | null;
  readonly line: number;
}

export interface KtapTest {
  readonly version: string;
  /** Leading spaces of the version line. */
  readonly indent: number;
  readonly plan: number | null;
  /** The KUnit "# Subtest: <name>" line of this test, if any. */
  readonly name: string | null;
  readonly results: readonly KtapResult[];
  readonly diagnostics: readonly string[];
  readonly line: number;
}

export interface KtapParse {
  readonly documents: readonly KtapTest[];
  readonly errors: readonly string[];
  /** Lines outside every document (before the first version line or between documents). */
  readonly outside: readonly string[];
}

const VERSION = /^(KTAP version 1|TAP version 1[34])$/;
const PLAN = /^1\.\.(\d+)$/;
const RESULT = /^(ok|not ok) (\d+)(?: ([^#]*?))?\s*(?:#\s*(.*))?$/;

interface Line {
  readonly text: string;
  readonly indent: number;
  readonly number: number;
}

class Parser {
  readonly errors: string[] = [];
  private i = 0;

  constructor(private readonly lines: readonly Line[]) {}

  done(): boolean {
    return this.i >= this.lines.length;
  }

  peek(): Line {
    return this.lines[this.i];
  }

  skip(): Line {
    return this.lines[this.i++];
  }

  /** One test from its version line to the line before its parent's next line. */
  test(): KtapTest {
    const head = this.skip();
    const indent = head.indent;
    let plan: number | null = null;
    let name: string | null = null;
    const results: KtapResult[] = [];
    const diagnostics: string[] = [];
    let pending: KtapTest | null = null;
    if (!this.done() && this.peek().indent === indent && PLAN.test(this.peek().text)) plan = Number(PLAN.exec(this.skip().text)![1]);
    while (!this.done()) {
      // A test with a plan ends with its last planned result; what follows belongs to its parent (or is outside).
      if (plan !== null && results.length === plan && pending === null) break;
      const l = this.peek();
      if (l.text === '') { this.skip(); continue; }
      if (VERSION.test(l.text)) {
        if (l.indent <= indent) break;
        if (pending !== null) this.errors.push(`line ${l.number}: a nested test starts before the previous one's result line`);
        pending = this.test();
        continue;
      }
      if (l.indent < indent) break;
      if (l.indent === indent) {
        const r = RESULT.exec(l.text);
        if (r !== null) {
          this.skip();
          const number = Number(r[2]);
          if (number !== results.length + 1) this.errors.push(`line ${l.number}: result number ${number}, expected ${results.length + 1}`);
          const directive = r[4] === undefined ? null : r[4].split(' ')[0];
          const result = { ok: r[1] === 'ok', number, description: (r[3] ?? '').trim(), directive, subtest: pending, line: l.number };
          if (pending !== null && result.ok && directive !== 'SKIP' && !all_ok(pending)) {
            this.errors.push(`line ${l.number}: '${result.description}' is ok but a subtest failed`);
          }
          if (pending !== null && pending.name !== null && pending.name !== result.description) {
            this.errors.push(`line ${l.number}: result '${result.description}' closes subtest '${pending.name}'`);
          }
          results.push(result);
          pending = null;
          continue;
        }
        if (l.text.startsWith('#')) {
          const subtest = /^# Subtest: (.*)$/.exec(l.text);
          if (subtest !== null && name === null && results.length === 0) name = subtest[1];
          else diagnostics.push(l.text.slice(1).trim());
          if (subtest !== null && plan === null && !this.done()) {
            // KUnit prints the plan after the Subtest line.
            this.skip();
            if (!this.done() && this.peek().indent === indent && PLAN.test(this.peek().text)) plan = Number(PLAN.exec(this.skip().text)![1]);
            continue;
          }
        }
        this.skip();
        continue;
      }
      // Deeper lines that are not a nested test: unknown lines, allowed anywhere.
      this.skip();
    }
    if (pending !== null) this.errors.push(`line ${head.number}: a nested test has no result line`);
    if (plan !== null && plan !== results.length) this.errors.push(`line ${head.number}: plan 1..${plan} but ${results.length} results`);
    return { version: head.text, indent, plan, name, results, diagnostics, line: head.number };
  }
}

function all_ok(t: KtapTest): boolean {
  return t.results.every((r) => r.ok || r.directive === 'SKIP');
}

/** Parse every KTAP document of `text`. */
export function parse_ktap(text: string): KtapParse {
  const lines: Line[] = text.split('\n').map((raw, i) => {
    const trimmed = raw.replace(/\s+$/, '');
    return { text: trimmed.trimStart(), indent: trimmed.length - trimmed.trimStart().length, number: i + 1 };
  });
  const parser = new Parser(lines);
  const documents: KtapTest[] = [];
  const outside: string[] = [];
  while (!parser.done()) {
    const l = parser.peek();
    if (VERSION.test(l.text)) documents.push(parser.test());
    else {
      if (l.text !== '') outside.push(l.text);
      parser.skip();
    }
  }
  if (documents.length === 0) parser.errors.push('no version line: not KTAP');
  return { documents, errors: parser.errors, outside };
}
