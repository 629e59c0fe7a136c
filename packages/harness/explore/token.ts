/**
 * Replay tokens: one command-line word that reproduces a run exactly. A token is
 *   "dl2." + base64url(raw-deflate(JSON)) + "." + checksum
 * where the JSON is {v: 2, dv: deplab version, md: model digest, d: driver, b: backend, s: seed,
 * st: strategy, c: choice string, o: options, w: the workload inline (notes dropped)} and the
 * checksum is the first 16 hex digits of the SHA-256 of the base64url part. Decoding checks the
 * checksum (a changed character is caught, not run as another case), then every field against a
 * schema with size limits; a token from another model version decodes with its provenance so
 * the replay can warn.
 *
 * The choice string lists the tie-breaker's choices in order, one base-36 digit each ("(n)" for
 * 36 and more), with runs of four or more equal entries written "x*count.".
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { check_assumptions, make_cost_table, type CostOverrides } from '@deplab/sim';
import type { Backend } from '@deplab/driver-api';
import { check_device_options, check_workload_for_driver, find_driver, type DriverEntry } from '../drivers.ts';
import { parse_workload_data } from '../workload/check.ts';
import { format_diagnostic } from '../workload/diagnostics.ts';
import type { Workload } from '../workload/types.ts';
import { VERSION, model_digest } from '../provenance.ts';
import { STRATEGIES, type ExploreCase } from './types.ts';

const PREFIX = 'dl2.';
/** Bounds: a token a shell can take; a decoded case a run can take. */
export const TOKEN_CHARS_MAX = 1 << 20;
const JSON_BYTES_MAX = 16 << 20;
export const CHOICES_MAX = 1 << 22;

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

/** Decode a choice string; at most CHOICES_MAX choices in all (a crafted run length cannot exhaust memory). */
export function decode_choices(text: string): number[] {
  const out: number[] = [];
  const re = /([0-9a-z]|\((\d{1,9})\))(?:\*(\d{1,9})\.)?/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    const value = m[2] !== undefined ? Number(m[2]) : parseInt(m[1], 36);
    const count = m[3] !== undefined ? Number(m[3]) : 1;
    if (out.length + count > CHOICES_MAX) throw new RangeError(`choice string: more than ${CHOICES_MAX} choices`);
    for (let k = 0; k < count; k++) out.push(value);
  }
  if (re.lastIndex !== text.length && text.length > 0) throw new RangeError(`choice string: unexpected text at ${re.lastIndex}`);
  return out;
}

const option_value = z.union([z.number().finite(), z.string().max(256), z.boolean()]);

const token_schema = z.object({
  v: z.literal(2),
  dv: z.string().max(32),
  md: z.string().max(64),
  d: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/),
  b: z.enum(['sched', 'dep', 'dep-hw']),
  s: z.number().int().min(0).max(2 ** 31),
  st: z.enum(STRATEGIES),
  c: z.string().max(JSON_BYTES_MAX),
  o: z.object({
    device: z.record(z.string().max(64), option_value).refine((r) => Object.keys(r).length <= 64, 'too many device options'),
    // A cost entry is ns or a distribution, `profile` a profile name; make_cost_table checks them.
    costs: z.record(z.string().max(64), z.union([z.number().int().min(0).max(1e12), z.string().max(32), z.record(z.string().max(16), z.unknown())]))
      .refine((r) => Object.keys(r).length <= 64, 'too many cost entries'),
    alloc_fail_probability: z.number().min(0).max(1),
    pct_depth: z.number().int().min(0).max(64),
    pct_horizon: z.number().int().min(0).max(1e9),
    assume: z.record(z.string().max(64), z.string().max(64)).optional(),
    mode: z.literal('compare').optional(),
    preempt: z.boolean().optional(),
  }).strict(),
  w: z.record(z.string(), z.unknown()),
}).strict();

type TokenJson = z.infer<typeof token_schema>;

function checksum(payload: string): string {
  return createHash('sha256').update(payload).digest('hex').slice(0, 16);
}

/** The token of a case; its choices must be the exact record of the run (or null/[] for FIFO). */
export function encode_token(c: ExploreCase): string {
  const { notes: _notes, ...workload } = c.workload;
  const json = {
    v: 2, dv: VERSION, md: model_digest(), d: c.driver, b: c.backend, s: c.seed, st: c.strategy, c: encode_choices(c.choices ?? []),
    o: c.options, w: workload,
  };
  const payload = deflateRawSync(Buffer.from(JSON.stringify(json), 'utf8'), { level: 9 }).toString('base64url');
  return `${PREFIX}${payload}.${checksum(payload)}`;
}

export interface DecodedToken {
  readonly case: ExploreCase;
  /** The deplab version and model digest that made the token. */
  readonly version: string;
  readonly model: string;
}

/** Decode a token; throws a RangeError saying what is wrong with a malformed, altered or oversized one. */
export function decode_token(token: string): DecodedToken {
  if (token.length > TOKEN_CHARS_MAX) throw new RangeError(`replay token of ${token.length} characters: more than the ${TOKEN_CHARS_MAX} a token can have`);
  if (token.startsWith('dl1.')) throw new RangeError('a replay token of deplab 0.1 (dl1.): it carries no checksum or model version; re-run the campaign or comparison that printed it');
  if (!token.startsWith(PREFIX)) throw new RangeError(`not a deplab replay token (expected it to start with '${PREFIX}')`);
  const body = token.slice(PREFIX.length);
  const dot = body.lastIndexOf('.');
  if (dot < 0) throw new RangeError('replay token without its checksum (it ends in .<16 hex digits>)');
  const payload = body.slice(0, dot), sum = body.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) throw new RangeError('replay token: characters outside base64url');
  if (checksum(payload) !== sum) throw new RangeError('replay token checksum mismatch: the token was changed or cut (copy it whole)');
  let raw: unknown;
  try {
    raw = JSON.parse(inflateRawSync(Buffer.from(payload, 'base64url'), { maxOutputLength: JSON_BYTES_MAX }).toString('utf8'));
  } catch (e) {
    throw new RangeError(`corrupt replay token: ${(e as Error).message}`);
  }
  const parsed = token_schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RangeError(`replay token: ${issue.path.join('.') || 'top level'}: ${issue.message}`);
  }
  const json: TokenJson = parsed.data;
  const problems = check_assumptions(json.o.assume ?? {});
  if (problems.length > 0) throw new RangeError(`replay token: ${problems[0]}`);
  try {
    make_cost_table(json.o.costs as CostOverrides);
  } catch (e) {
    throw new RangeError(`replay token: o.costs: ${(e as Error).message}`);
  }
  const loaded = parse_workload_data({ ...json.w, notes: [] }, 'replay token');
  if (!loaded.ok) throw new RangeError(`replay token: invalid workload: ${loaded.errors[0].path}: ${loaded.errors[0].message}`);
  const workload = loaded.workload;
  const driver = find_driver(json.d);
  if (driver === undefined) throw new RangeError(`replay token: it names driver '${json.d}', which this deplab does not have`);
  check_token_for_driver(driver, json.b as Backend, json.o.device, workload);
  return {
    version: json.dv, model: json.md,
    case: {
      driver: json.d, backend: json.b as Backend, seed: json.s, strategy: json.st, choices: decode_choices(json.c), options: json.o as ExploreCase['options'], workload,
    },
  };
}

/**
 * A token whose options or workload belong to another driver (its device options, queue knobs
 * or engines do not fit the driver it names, or that driver has no such backend) is refused,
 * rather than replayed as some other case.
 */
function check_token_for_driver(driver: DriverEntry, backend: Backend, device: Readonly<Record<string, unknown>>, workload: Workload): void {
  const has = driver.backends ?? ['sched', 'dep'];
  if (!has.includes(backend)) throw new RangeError(`replay token: driver ${driver.name} has no ${backend} binding (a token of another driver?)`);
  const options = check_device_options(driver, device);
  if (options.length > 0) throw new RangeError(`replay token: its device options do not fit driver ${driver.name} (a token of another driver?): ${options[0]}`);
  const fit = check_workload_for_driver(workload, driver);
  if (fit.length > 0) throw new RangeError(`replay token: its workload does not fit driver ${driver.name} (a token of another driver?): ${format_diagnostic(fit[0])}`);
}

/** The one-line command that reproduces a token. */
export function replay_command(token: string): string {
  return `npx deplab replay ${token}`;
}
