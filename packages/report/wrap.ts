/**
 * Plain text for mail and terminals: lines wrapped at word boundaries to a width (never
 * truncated), and small tables whose widest column wraps. Mail clients and the kernel's
 * mailing lists expect text within 80 columns; every plain-text listing goes through here.
 */

/** The width of plain-text output: what fits a mail without reflowing. */
export const MAIL_WIDTH = 80;

/**
 * Break one line into lines of at most `width` characters at spaces; continuation lines start
 * with `indent`. The first line keeps its own leading and inner spacing (tables stay aligned).
 * A word longer than the room is split where the room ends: wrapping never drops characters.
 */
export function wrap(line: string, width: number, indent: string): string[] {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`wrap: width must be a positive integer, got ${width}`);
  if (indent.length >= width) indent = '';
  const out: string[] = [];
  let rest = line.trimEnd();
  let prefix = '';
  while (prefix.length + rest.length > width) {
    const room = width - prefix.length;
    const lead = prefix === '' ? rest.length - rest.trimStart().length : 0;
    let cut = rest.lastIndexOf(' ', room);
    while (cut > lead && rest[cut - 1] === ' ') cut--;
    if (cut <= lead) cut = room;
    out.push(prefix + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    prefix = indent;
  }
  if (rest !== '' || out.length === 0) out.push(prefix + rest);
  return out;
}

/**
 * Continuation indent for a long line: under the value of a "label:   value" line whose
 * label is short (a header field), else the line's own indentation plus two spaces.
 */
function hanging_indent(line: string, width: number): string {
  const field = /^(\s*[A-Za-z][\w ./()-]{0,20}:\s{2,})\S/.exec(line);
  if (field !== null && field[1].length <= width / 3) return ' '.repeat(field[1].length);
  const lead = line.length - line.trimStart().length;
  return ' '.repeat(Math.min(lead + 2, Math.floor(width / 3)));
}

/** Every line of `text` within `width` columns; a final newline is kept. */
export function wrap_text(text: string, width = MAIL_WIDTH): string {
  const ends_with_newline = text.endsWith('\n');
  const lines = (ends_with_newline ? text.slice(0, -1) : text).split('\n');
  const out = lines.flatMap((l) => (l.length <= width ? [l] : wrap(l, width, hanging_indent(l, width))));
  return out.join('\n') + (ends_with_newline ? '\n' : '');
}

export interface TextTableOptions {
  /** Total width the table must fit (default MAIL_WIDTH). */
  readonly width?: number;
  /** Right-aligned columns, by index. */
  readonly right?: readonly number[];
  /** The column that wraps when the table is too wide (default the last). */
  readonly wrap_column?: number;
}

/** A laid-out table: the header's lines, the rule under it, and each body row's lines. */
export interface TextTable {
  readonly header: readonly string[];
  readonly rule: string;
  readonly rows: readonly (readonly string[])[];
}

/**
 * Rows as fixed-width columns separated by two spaces, the first row a header underlined with
 * dashes. When the natural width exceeds `width`, the wrap column is narrowed and its cells
 * wrap onto continuation lines; the other columns keep their natural width.
 */
export function layout_table(rows: readonly (readonly string[])[], options: TextTableOptions = {}): TextTable {
  if (rows.length === 0) throw new RangeError('layout_table: needs a header row');
  const width = options.width ?? MAIL_WIDTH;
  const n = rows[0].length;
  if (rows.some((r) => r.length !== n)) throw new RangeError('layout_table: every row needs the same number of cells');
  const wrap_column = options.wrap_column ?? n - 1;
  const widths = Array.from({ length: n }, (_, c) => Math.max(...rows.map((r) => r[c].length)));
  const fixed = widths.reduce((a, w, c) => (c === wrap_column ? a : a + w), 0) + 2 * (n - 1);
  widths[wrap_column] = Math.max(8, Math.min(widths[wrap_column], width - fixed));
  const right = new Set(options.right ?? []);
  const render = (row: readonly string[]): string[] => {
    // A wrapped cell's continuation lines keep its own indentation, two spaces deeper.
    const cells = row.map((cell, c) => (c === wrap_column ? wrap(cell, widths[c], ' '.repeat(cell.length - cell.trimStart().length + 2)) : [cell]));
    const height = Math.max(...cells.map((l) => l.length));
    return Array.from({ length: height }, (_, i) => cells.map((l, c) => {
      const text = l[i] ?? '';
      return right.has(c) ? text.padStart(widths[c]) : text.padEnd(widths[c]);
    }).join('  ').trimEnd());
  };
  return { header: render(rows[0]), rule: widths.map((w) => '-'.repeat(w)).join('  '), rows: rows.slice(1).map(render) };
}

/** layout_table as lines. */
export function text_table(rows: readonly (readonly string[])[], options: TextTableOptions = {}): string[] {
  if (rows.length === 0) return [];
  const t = layout_table(rows, options);
  return [...t.header, t.rule, ...t.rows.flat()];
}
