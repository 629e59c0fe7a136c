/**
 * Diagnostics shared by the loaders: building them, formatting field paths, printing them.
 */
import type { Diagnostic, Note, NoteKind } from './types.ts';

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ['clients', 1, 'program'] -> 'clients[1].program'; odd keys are quoted: a["b c"]. */
export function format_path(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export function diagnostic(
  source: string, message: string, where: { path?: string | null; position?: Position | null } = {},
): Diagnostic {
  return {
    source,
    line: where.position?.line ?? null,
    column: where.position?.column ?? null,
    path: where.path ?? null,
    message,
  };
}

export function note(kind: NoteKind, source: string, message: string, position: Position | null = null): Note {
  return { kind, source, line: position?.line ?? null, column: position?.column ?? null, path: null, message };
}

/** "source:line:column: path: message", leaving out what is unknown. */
export function format_diagnostic(d: Diagnostic): string {
  let where = d.source;
  if (d.line !== null) where += `:${d.line}`;
  if (d.line !== null && d.column !== null) where += `:${d.column}`;
  const path = d.path !== null && d.path !== '' ? `${d.path}: ` : '';
  return `${where}: ${path}${d.message}`;
}

/** Line starts of a text, to turn offsets into 1-based line and column. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  position(offset: number): Position {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1 };
  }
}
