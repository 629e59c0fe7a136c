/**
 * Helpers of the CLI's adversarial tests: every command run in-process with its standard error
 * captured (also anything written to process.stderr directly) and checked against the exit-code
 * and no-stack-trace contract; a snapshot of an output directory to tell old content from new
 * from a mix; pasting printed command lines into `sh -c` with deplab replaced by a recorder;
 * and a record of every path the process opens.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { run_cli } from './main.ts';

export interface Outcome { readonly out: string; readonly err: string; readonly code: number }

/** The exit codes deplab may return (errors.ts). */
export const EXIT_CODES: readonly number[] = [0, 1, 2, 70];

/** Totals over every checked run of a test file: what the suite reports. */
export const totals = { runs: 0, by_code: new Map<number, number>() };

/**
 * Run `deplab args` in this process, as main() does, with `env` set meanwhile; fails the test on
 * a stack trace in standard error or an exit code outside 0/1/2/70.
 */
export async function checked(args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  let out = '', err = '';
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => { err += String(chunk); return true; }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await run_cli(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  } finally {
    process.stderr.write = write;
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
  totals.runs++;
  totals.by_code.set(code, (totals.by_code.get(code) ?? 0) + 1);
  const shown = `deplab ${args.map((a) => JSON.stringify(a)).join(' ')}`;
  if (!EXIT_CODES.includes(code)) throw new Error(`${shown}: exit ${code}\n${err}`);
  if (/\n\s+at /.test(err)) throw new Error(`${shown}: a stack trace on standard error\n${err}`);
  if (code === 70) throw new Error(`${shown}: an internal error\n${err}`);
  return { out, err, code };
}

export function temp_dir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `deplab-${prefix}-`));
}

/** Every file under `dir` (relative path -> SHA-256), lock and scratch files included: two equal snapshots are the same content. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Names of files a writer leaves behind only when something went wrong. */
export function leftovers(dir: string): string[] {
  return [...snapshot(dir).keys()].filter((f) => /\.deplab-(?:tmp|old)-|\.deplab\.lock$|\.deplab-journal/.test(f));
}

/* ------------------------------------------------------------------------------------------ */
/* Pasting printed commands                                                                     */

let recorder_path: string | null = null;

/** A script that stands in for `npx deplab`: it writes its arguments, NUL-separated, to $DEPLAB_RECORD. */
function recorder(): string {
  if (recorder_path === null) {
    const dir = temp_dir('recorder');
    recorder_path = join(dir, 'deplab-recorder');
    writeFileSync(recorder_path, '#!/bin/sh\n: > "$DEPLAB_RECORD"\nfor a in "$@"; do printf \'%s\\0\' "$a" >> "$DEPLAB_RECORD"; done\n');
    chmodSync(recorder_path, 0o755);
  }
  return recorder_path;
}

/**
 * Paste `text` (a printed command, possibly over backslash-continued lines) into `sh -c` in
 * `cwd`, with `npx deplab` replaced by the recorder; returns the argv deplab would have got.
 */
export function pasted_argv(text: string, cwd: string): string[] {
  const script = text.replace(/^(\s*)npx deplab(?= |$)/, `$1'${recorder()}'`);
  if (script === text) throw new Error(`not a deplab command line: ${text}`);
  const record = join(temp_dir('record'), 'argv');
  execFileSync('sh', ['-c', script], { cwd, env: { ...process.env, DEPLAB_RECORD: record }, stdio: 'pipe' });
  const raw = readFileSync(record, 'utf8');
  return raw === '' ? [] : raw.slice(0, -1).split('\0');
}

/** The text of a Markdown code span as written in a GFM table cell or a paragraph (fences, padding and \| undone). */
export function code_span_text(span: string, in_table: boolean): string {
  const s = in_table ? span.replace(/\\\|/g, '|') : span;
  const m = /^(`+)([\s\S]*)\1$/.exec(s);
  if (m === null) throw new Error(`not a code span: ${span}`);
  const body = m[2];
  return body.startsWith(' ') && body.endsWith(' ') && body.trim() !== '' ? body.slice(1, -1) : body;
}

/** The first code span after `label` on a line of Markdown (fences of any length). */
export function code_after(markdown: string, label: string): string {
  const at = markdown.indexOf(label);
  if (at < 0) throw new Error(`no '${label}' in the report`);
  const rest = markdown.slice(at + label.length);
  const m = /(`+)[\s\S]*?[^`]\1(?!`)/.exec(rest);
  if (m === null) throw new Error(`no code span after '${label}'`);
  return m[0];
}

/* ------------------------------------------------------------------------------------------ */
/* Paths opened                                                                                 */

/**
 * Run `f` while recording every path opened by readFileSync, openSync, readdirSync and
 * createReadStream (not stat: checking an output path's parents opens nothing) (node:fs patched and its ESM exports resynced, so imports see the recorder).
 */
export async function paths_opened(f: () => Promise<unknown>): Promise<string[]> {
  const fs = createRequire(import.meta.url)('node:fs') as Record<string, unknown>;
  const names = ['readFileSync', 'openSync', 'readdirSync', 'createReadStream'] as const;
  const saved = names.map((n) => fs[n]);
  const seen: string[] = [];
  names.forEach((n, k) => {
    const orig = saved[k] as (...a: unknown[]) => unknown;
    fs[n] = (p: unknown, ...rest: unknown[]) => {
      if (typeof p === 'string' || p instanceof URL || Buffer.isBuffer(p)) seen.push(String(p instanceof URL ? p.pathname : p));
      return orig(p, ...rest);
    };
  });
  syncBuiltinESMExports();
  try {
    await f();
  } finally {
    names.forEach((n, k) => { fs[n] = saved[k]; });
    syncBuiltinESMExports();
  }
  return seen;
}

/** Whether `path` is `dir` or under it. */
export function under(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (r !== '..' && !r.startsWith('../') && !r.startsWith('/'));
}

export function is_file(path: string): boolean {
  try { return statSync(path).isFile(); } catch { return false; }
}
