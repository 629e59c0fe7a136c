/**
 * Replay tokens: one command-line word that reproduces a run exactly. A token is "dl1." and
 * the base64url of the raw-deflated compact JSON {v, d: driver, b: backend, s: seed,
 * st: strategy, c: choice string, o: options, w: the workload inline (notes dropped)}.
 *
 * The choice string lists the tie-breaker's choices in order, one base-36 digit each ("(n)"
 * for 36 and more), with runs of four or more equal entries written "x*count.".
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { check_workload } from '../workload/check.ts';
import type { Workload } from '../workload/types.ts';
import { STRATEGIES, type CaseOptions, type ExploreCase } from './types.ts';
import type { Backend } from '@deplab/driver-api';

const PREFIX = 'dl1.';

export function encode_choices(choices: readonly number[]): string {
  const unit = (c: number) => (c < 36 ? c.toString(36) : `(${c})`);
  let out = '';
  for (let i = 0; i < choices.length;) {
    let j = i;
    while (j < choices.length && choices[j] === choices[i]) j++;
    const run = j - i;
    out += run >= 4 ? `${unit(choices[i])}*${run}.` : unit(choices[i]).repeat(run);
    i = j;
  }
  return out;
}

export function decode_choices(text: string): number[] {
  const out: number[] = [];
  const re = /([0-9a-z]|\((\d+)\))(?:\*(\d+)\.)?/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const value = m[2] !== undefined ? Number(m[2]) : parseInt(m[1], 36);
    const count = m[3] !== undefined ? Number(m[3]) : 1;
    if (count > 10_000_000) throw new RangeError('choice string: run too long');
    for (let k = 0; k < count; k++) out.push(value);
  }
  if (re.lastIndex !== text.length && text.length > 0) throw new RangeError(`choice string: unexpected text at ${re.lastIndex}`);
  return out;
}

interface TokenJson {
  v: 1;
  d: string;
  b: Backend;
  s: number;
  st: string;
  c: string;
  o: CaseOptions;
  w: Omit<Workload, 'notes'>;
}

/** The token of a case; its choices must be the exact record of the run (or null for none). */
export function encode_token(c: ExploreCase): string {
  const { notes: _notes, ...workload } = c.workload;
  const json: TokenJson = { v: 1, d: c.driver, b: c.backend, s: c.seed, st: c.strategy, c: encode_choices(c.choices ?? []), o: c.options, w: workload };
  return PREFIX + deflateRawSync(Buffer.from(JSON.stringify(json), 'utf8'), { level: 9 }).toString('base64url');
}

/** Decode a token; throws a RangeError saying what is wrong with a malformed one. */
export function decode_token(token: string): ExploreCase {
  if (!token.startsWith(PREFIX)) throw new RangeError(`not a deplab replay token (expected it to start with '${PREFIX}')`);
  let json: TokenJson;
  try {
    json = JSON.parse(inflateRawSync(Buffer.from(token.slice(PREFIX.length), 'base64url'), { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8')) as TokenJson;
  } catch (e) {
    throw new RangeError(`corrupt replay token: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || json.v !== 1) throw new RangeError('replay token of an unknown version');
  if (typeof json.d !== 'string' || (json.b !== 'sched' && json.b !== 'dep' && json.b !== 'dep-hw') || !Number.isSafeInteger(json.s)) throw new RangeError('replay token: bad driver, backend or seed');
  if (!(STRATEGIES as readonly string[]).includes(json.st)) throw new RangeError(`replay token: unknown strategy ${String(json.st)}`);
  const workload: Workload = { ...json.w, notes: [] };
  let problems;
  try {
    problems = check_workload(workload);
  } catch {
    throw new RangeError('replay token: malformed workload');
  }
  if (problems.length > 0) throw new RangeError(`replay token: invalid workload: ${problems[0].path}: ${problems[0].message}`);
  return {
    driver: json.d, backend: json.b, seed: json.s, strategy: json.st as ExploreCase['strategy'],
    choices: decode_choices(json.c), options: json.o, workload,
  };
}

/** The one-line command that reproduces a token. */
export function replay_command(token: string): string {
  return `npx deplab replay ${token}`;
}
