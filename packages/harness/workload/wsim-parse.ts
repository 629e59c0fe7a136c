/**
 * Parser for IGT gem_wsim workload descriptors (benchmarks/wsim/README, parse_workload() in
 * benchmarks/gem_wsim.c), one step per line or several separated by commas. It checks what
 * gem_wsim checks at parse time and what gem_wsim would only assert at run time (dependency
 * targets, working set indices), and reports each problem with line and column instead of
 * stopping at the first. wsim-import.ts turns the steps into a Workload.
 */
import type { Position } from './diagnostics.ts';
import { LIMITS } from './types.ts';

export type WsimEngineClass = 'RCS' | 'BCS' | 'VCS' | 'VECS' | 'CCS';

/** An engine token: DEFAULT, a class, or class+instance (VCS1), optionally "-<gt>". */
export interface WsimEngine {
  readonly class: WsimEngineClass | 'DEFAULT';
  /** 1-based instance as written (VCS2 -> 2), or null for the whole class. */
  readonly instance: number | null;
  readonly gt: number | null;
  readonly text: string;
  readonly at: Position;
}

export type WsimDependency =
  | { readonly type: 'data' | 'sync' | 'submit'; readonly offset: number; readonly at: Position }
  | { readonly type: 'read' | 'write'; readonly set: number; readonly first: number; readonly last: number; readonly at: Position };

export type WsimStep = { readonly at: Position; readonly text: string } & (
  | {
    readonly type: 'batch';
    readonly context: number;
    readonly engine: WsimEngine;
    readonly duration: { readonly min_us: number; readonly max_us: number } | 'infinite';
    readonly deps: readonly WsimDependency[];
    readonly wait: boolean;
  }
  | { readonly type: 'delay' | 'period'; readonly us: number }
  | { readonly type: 'sync' | 'signal' | 'terminate'; readonly offset: number }
  | { readonly type: 'throttle' | 'queue_depth'; readonly depth: number }
  | { readonly type: 'fence' }
  | { readonly type: 'priority'; readonly context: number; readonly priority: number }
  | { readonly type: 'engine_map'; readonly context: number; readonly engines: readonly WsimEngine[] }
  | { readonly type: 'load_balance'; readonly context: number }
  | { readonly type: 'working_set'; readonly id: number; readonly shared: boolean; readonly objects: readonly (readonly [number, number])[] }
  /** Parsed and valid, but without a counterpart in the model (S, X, b, V, v). */
  | { readonly type: 'ignored'; readonly reason: string }
);

export interface WsimParseError {
  readonly at: Position;
  readonly message: string;
}

interface Field {
  readonly text: string;
  readonly at: Position;
}

class StepError {
  constructor(readonly at: Position, readonly message: string) {}
}

const INT_MAX = 2 ** 31 - 1;

/**
 * Bounds of the gem_wsim import beyond the workload's own: a working set is a handful of buffers
 * in IGT's workloads (w.1.10n8m), and each object becomes a buffer per client, so a short line
 * like w.1.65536n4k must not turn into tens of thousands of them.
 */
export const WSIM_LIMITS = {
  /** Objects in all working sets of a descriptor, each client's copy of a local set counted. */
  objects: 4096,
} as const;

function shift(at: Position, columns: number): Position {
  return { line: at.line, column: at.column + columns };
}

function int(field: Field, min: number, max: number, what: string): number {
  if (!/^-?[0-9]{1,10}$/.test(field.text)) throw new StepError(field.at, `expected ${what}, got ${JSON.stringify(field.text)}`);
  const value = Number(field.text);
  if (value < min || value > max) throw new StepError(field.at, `expected ${what}, got ${field.text}`);
  return value;
}

const ENGINE = /^(DEFAULT|RCS|BCS|VCS|VECS|CCS)([0-9]{1,3})?(?:-([0-9]{1,3}))?$/i;

export function parse_engine(field: Field): WsimEngine {
  const match = ENGINE.exec(field.text);
  const bad = () => new StepError(field.at, `unknown engine ${JSON.stringify(field.text)}: expected DEFAULT, RCS, BCS, VCS, VCS1, VCS2, VECS or CCS`);
  if (match === null) throw bad();
  const engine_class = match[1].toUpperCase() as WsimEngineClass | 'DEFAULT';
  const instance = match[2] === undefined ? null : Number(match[2]);
  if (instance === 0 || (engine_class === 'DEFAULT' && (instance !== null || match[3] !== undefined))) throw bad();
  return { class: engine_class, instance, gt: match[3] === undefined ? null : Number(match[3]), text: field.text, at: field.at };
}

/** "12", "4k", "8m", "1g" -> bytes; sizes past 2^53 are refused rather than rounded. */
function size_bytes(text: string, at: Position): number {
  const match = /^([0-9]{1,12})([kKmMgG]?)$/.exec(text);
  if (match === null || Number(match[1]) === 0) throw new StepError(at, `bad size ${JSON.stringify(text)}: expected a positive byte count with an optional k, m or g suffix`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

/** One "[<count>n]<size>[-<size>]" item of a working set. */
function working_set_item(field: Field): { count: number; min: number; max: number } {
  const match = /^(?:([0-9]{1,9})n)?([^-]+)(?:-(.+))?$/.exec(field.text);
  if (match === null) throw new StepError(field.at, `bad working set object ${JSON.stringify(field.text)}: expected [<count>n]<size>[-<size>]`);
  const count = match[1] === undefined ? 1 : Number(match[1]);
  if (count < 1 || count > WSIM_LIMITS.objects) {
    throw new StepError(field.at, `bad object count in ${JSON.stringify(field.text)}: expected 1..${WSIM_LIMITS.objects} (the gem_wsim import's limit on working-set objects)`);
  }
  const min = size_bytes(match[2], field.at);
  const max = match[3] === undefined ? min : size_bytes(match[3], field.at);
  if (max < min) throw new StepError(field.at, `bad size range ${JSON.stringify(field.text)}: max < min`);
  return { count, min, max };
}

function dependency(field: Field): WsimDependency {
  const { text, at } = field;
  const head = text[0];
  if (head === '-') return { type: 'data', offset: int(field, -LIMITS.steps_per_program, -1, 'a negative step offset like -1'), at };
  if (head === 'f' || head === 's') {
    const offset = int({ text: text.slice(1), at: shift(at, 1) }, -LIMITS.steps_per_program, -1, `a negative step offset after '${head}', like ${head}-1`);
    return { type: head === 'f' ? 'sync' : 'submit', offset, at };
  }
  if (head === 'r' || head === 'w') {
    const match = /^[rw]([0-9]{1,9})-([0-9]{1,9})(?:-([0-9]{1,9}))?$/.exec(text);
    if (match === null) throw new StepError(at, `bad working set dependency ${JSON.stringify(text)}: expected ${head}<set>-<object> or ${head}<set>-<first>-<last>`);
    const first = Number(match[2]);
    const last = match[3] === undefined ? first : Number(match[3]);
    if (last <= first && match[3] !== undefined) throw new StepError(at, `bad object range in ${JSON.stringify(text)}: last must be greater than first`);
    return { type: head === 'r' ? 'read' : 'write', set: Number(match[1]), first, last, at };
  }
  throw new StepError(at, `bad dependency ${JSON.stringify(text)}: expected -N (data), f-N (sync fence), s-N (submit fence), r<set>-<object> or w<set>-<object>`);
}

function dependencies(field: Field): WsimDependency[] {
  if (field.text === '0') return [];
  const deps: WsimDependency[] = [];
  let column = 0;
  for (const part of field.text.split('/')) {
    if (part === '') throw new StepError(shift(field.at, column), `empty dependency in ${JSON.stringify(field.text)}`);
    deps.push(dependency({ text: part, at: shift(field.at, column) }));
    if (deps.length > LIMITS.deps_per_batch) throw new StepError(field.at, `more than ${LIMITS.deps_per_batch} dependencies`);
    column += part.length + 1;
  }
  return deps;
}

function duration(field: Field): { min_us: number; max_us: number } | 'infinite' {
  if (field.text === '*') return 'infinite';
  const what = 'a duration in microseconds: N, min-max (min < max) or *';
  const match = /^([0-9]{1,10})(?:-([0-9]{1,10}))?$/.exec(field.text);
  if (match === null) throw new StepError(field.at, `expected ${what}, got ${JSON.stringify(field.text)}`);
  const min_us = Number(match[1]);
  const max_us = match[2] === undefined ? min_us : Number(match[2]);
  if (min_us < 1 || max_us > LIMITS.time_us || (match[2] !== undefined && max_us <= min_us)) {
    throw new StepError(field.at, `expected ${what} (at most ${LIMITS.time_us}), got ${field.text}`);
  }
  return { min_us, max_us };
}

function expect_fields(fields: readonly Field[], count: number, shape: string): void {
  if (fields.length === count) return;
  const at = fields.length > count ? fields[count].at : fields[fields.length - 1].at;
  throw new StepError(at, `expected ${shape} (${count} fields separated by '.'), got ${fields.length}`);
}

function context(field: Field): number {
  return int(field, 1, INT_MAX, 'a context number >= 1');
}

/** Parses one step from its '.'-separated fields. */
function step(fields: readonly Field[], at: Position, text: string): WsimStep {
  const kind = fields[0].text;
  const value = (what: string, min: number, max: number) => {
    expect_fields(fields, 2, `${kind}.<${what}>`);
    return int(fields[1], min, max, what);
  };
  switch (kind) {
    case 'd':
    case 'p':
      return { at, text, type: kind === 'd' ? 'delay' : 'period', us: value('a positive number of microseconds', 1, LIMITS.time_us) };
    case 's':
    case 'a':
    case 'T':
      return { at, text, type: kind === 's' ? 'sync' : kind === 'a' ? 'signal' : 'terminate', offset: value('a negative step offset like -1', -LIMITS.steps_per_program, -1) };
    case 't':
    case 'q':
      return { at, text, type: kind === 't' ? 'throttle' : 'queue_depth', depth: value('a depth >= 0', 0, LIMITS.steps_per_program) };
    case 'f':
      expect_fields(fields, 1, 'f');
      return { at, text, type: 'fence' };
    case 'P':
      expect_fields(fields, 3, 'P.<context>.<priority>');
      return { at, text, type: 'priority', context: context(fields[1]), priority: int(fields[2], -1023, 1023, 'a priority in -1023..1023') };
    case 'S':
      expect_fields(fields, 3, 'S.<context>.<slice mask>');
      context(fields[1]);
      int(fields[2], -1, INT_MAX, 'a slice mask (-1: all slices)');
      return { at, text, type: 'ignored', reason: 'SSEU (slice) configuration: the models have no slices' };
    case 'X':
      expect_fields(fields, 3, 'X.<context>.<preemption period us>');
      context(fields[1]);
      int(fields[2], 0, LIMITS.time_us, 'a preemption period >= 0 in microseconds');
      return { at, text, type: 'ignored', reason: 'preemption control: the model hardware does not preempt inside a batch' };
    case 'M': {
      expect_fields(fields, 3, 'M.<context>.<engine>[|<engine>...]');
      const engines = engine_list(fields[2]);
      if (engines.some((engine) => engine.class === 'DEFAULT')) throw new StepError(fields[2].at, 'DEFAULT cannot be in an engine map');
      return { at, text, type: 'engine_map', context: context(fields[1]), engines };
    }
    case 'B':
      expect_fields(fields, 2, 'B.<context>');
      return { at, text, type: 'load_balance', context: context(fields[1]) };
    case 'b':
      expect_fields(fields, 4, 'b.<context>.<engine>[|<engine>...].<master engine>');
      context(fields[1]);
      engine_list(fields[2]);
      parse_engine(fields[3]);
      return { at, text, type: 'ignored', reason: 'engine bond: the device interface places queues by engine class, not instance' };
    case 'V':
      expect_fields(fields, 2, 'V.<vm>');
      int(fields[1], 1, INT_MAX, 'a VM id >= 1');
      return { at, text, type: 'ignored', reason: 'VM creation: the device interface has no VMs (each client has one address space)' };
    case 'v':
      expect_fields(fields, 3, 'v.<vm>.<context>');
      int(fields[1], 1, INT_MAX, 'a VM id >= 1');
      context(fields[2]);
      return { at, text, type: 'ignored', reason: 'VM assignment: the device interface has no VMs' };
    case 'w':
    case 'W':
      return working_set(fields, at, text);
    default:
      return batch(fields, at, text);
  }
}

function engine_list(field: Field): WsimEngine[] {
  const engines: WsimEngine[] = [];
  let column = 0;
  for (const part of field.text.split('|')) {
    engines.push(parse_engine({ text: part, at: shift(field.at, column) }));
    column += part.length + 1;
  }
  return engines;
}

function working_set(fields: readonly Field[], at: Position, text: string): WsimStep {
  if (fields.length < 3) expect_fields(fields, 3, `${fields[0].text}.<id>.<size>[/<size>...]`);
  const id = int(fields[1], 0, INT_MAX, 'a working set id >= 0');
  const objects: (readonly [number, number])[] = [];
  // gem_wsim reads every further '.' field as more sizes: "w.1.4k.8k" is "w.1.4k/8k".
  for (const field of fields.slice(2)) {
    let column = 0;
    for (const part of field.text.split('/')) {
      const item = working_set_item({ text: part, at: shift(field.at, column) });
      if (objects.length + item.count > WSIM_LIMITS.objects) {
        throw new StepError(field.at, `more than ${WSIM_LIMITS.objects} objects in one working set (the gem_wsim import's limit on working-set objects)`);
      }
      for (let i = 0; i < item.count; i++) objects.push([item.min, item.max]);
      column += part.length + 1;
    }
  }
  return { at, text, type: 'working_set', id, shared: fields[0].text === 'W', objects };
}

function batch(fields: readonly Field[], at: Position, text: string): WsimStep {
  if (!/^[0-9]+$/.test(fields[0].text)) {
    throw new StepError(fields[0].at, `unknown step ${JSON.stringify(fields[0].text)}: expected a context number (a batch) or one of d p s t q a f T P S X M B b w W V v`);
  }
  expect_fields(fields, 5, '<context>.<engine>.<duration>.<dependencies>.<wait>');
  const context_number = int(fields[0], 0, INT_MAX, 'a context number >= 0');
  const engine = parse_engine(fields[1]);
  const wait = fields[4].text;
  if (wait !== '0' && wait !== '1') throw new StepError(fields[4].at, `expected a wait flag 0 or 1, got ${JSON.stringify(wait)}`);
  return {
    at, text, type: 'batch', context: context_number, engine, duration: duration(fields[2]), deps: dependencies(fields[3]), wait: wait === '1',
  };
}

/** Splits one step's text into fields; an empty field is an error (gem_wsim would skip it). */
function fields_of(text: string, at: Position): Field[] {
  const fields: Field[] = [];
  let column = 0;
  for (const part of text.split('.')) {
    if (part === '') throw new StepError(shift(at, column), `empty field in ${JSON.stringify(text)}`);
    fields.push({ text: part, at: shift(at, column) });
    column += part.length + 1;
  }
  return fields;
}

export interface WsimParseResult {
  readonly steps: readonly WsimStep[];
  readonly errors: readonly WsimParseError[];
}

/**
 * Splits the text into steps (newlines and commas both separate steps, as in gem_wsim; a step
 * starting with '#' comments out the rest of its line; spaces around a step are ignored) and
 * parses each. Never throws.
 */
export function parse_wsim(text: string): WsimParseResult {
  const steps: WsimStep[] = [];
  const errors: WsimParseError[] = [];
  const lines = text.split('\n');
  for (let l = 0; l < lines.length && errors.length < LIMITS.errors; l++) {
    const line = lines[l].endsWith('\r') ? lines[l].slice(0, -1) : lines[l];
    let column = 0;
    for (const segment of line.split(',')) {
      const lead = segment.length - segment.trimStart().length;
      const trimmed = segment.trim();
      const at = { line: l + 1, column: column + lead + 1 };
      column += segment.length + 1;
      if (trimmed === '') continue;
      if (trimmed.startsWith('#')) break;
      if (steps.length >= LIMITS.steps_per_program) {
        errors.push({ at, message: `more than ${LIMITS.steps_per_program} steps` });
        return { steps, errors };
      }
      try {
        steps.push(step(fields_of(trimmed, at), at, trimmed));
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
        errors.push({ at: error.at, message: error.message });
      }
    }
  }
  return { steps, errors };
}
