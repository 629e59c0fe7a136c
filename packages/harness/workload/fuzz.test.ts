/**
 * Both loaders against many malformed inputs: mutations of real descriptors and of valid JSON
 * workloads, grammar-shaped noise and random strings. The property: each input yields either a
 * well-formed workload or errors that say where, and nothing throws. Seeds are fixed so a
 * failure replays; set DEPLAB_FUZZ_SEED to explore others.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check_workload, import_wsim, load_workload_json, type LoadResult } from '../index.ts';
import { read_json } from './json-text.ts';
import { readme_example, wsim_files } from './test-support.ts';

const SEED = Number(process.env.DEPLAB_FUZZ_SEED ?? 20260322);
const PER_LOADER_MIN = 10_000;

/** Asserts the loader contract on one result; `positions` demands line:column on every error. */
function assert_contract(result: LoadResult, positions: boolean, tally: { ok: number; rejected: number }): void {
  tally[result.ok ? 'ok' : 'rejected']++;
  if (result.ok) {
    expect(check_workload(result.workload)).toEqual([]);
    expect(result.workload.clients.length).toBeGreaterThan(0);
    return;
  }
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.message).not.toMatch(/^internal:/);
    if (positions && !error.message.startsWith('... and')) {
      expect(error.line).not.toBeNull();
      expect(error.column).not.toBeNull();
    }
  }
}

type Mutation =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'replace'; at: number; char: string }
  | { op: 'duplicate_line' | 'drop_line'; line: number }
  | { op: 'swap_lines'; a: number; b: number }
  | { op: 'truncate'; at: number };

function mutation(alphabet: readonly string[]): fc.Arbitrary<Mutation> {
  const char = fc.constantFrom(...alphabet);
  return fc.oneof(
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: char, minLength: 1, maxLength: 6 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ op: fc.constant('replace' as const), at: fc.nat(), char }),
    fc.record({ op: fc.constantFrom('duplicate_line' as const, 'drop_line' as const), line: fc.nat() }),
    fc.record({ op: fc.constant('swap_lines' as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  );
}

function apply(text: string, mutations: readonly Mutation[]): string {
  for (const m of mutations) {
    const at = 'at' in m ? m.at % (text.length + 1) : 0;
    const lines = text.split('\n');
    switch (m.op) {
      case 'insert': text = text.slice(0, at) + m.text + text.slice(at); break;
      case 'delete': text = text.slice(0, at) + text.slice(at + m.length); break;
      case 'replace': text = text.slice(0, at) + m.char + text.slice(at + 1); break;
      case 'truncate': text = text.slice(0, at); break;
      case 'duplicate_line': lines.splice(m.line % lines.length, 0, lines[m.line % lines.length]); text = lines.join('\n'); break;
      case 'drop_line': lines.splice(m.line % lines.length, 1); text = lines.join('\n'); break;
      case 'swap_lines': {
        const a = m.a % lines.length, b = m.b % lines.length;
        [lines[a], lines[b]] = [lines[b], lines[a]];
        text = lines.join('\n');
      }
    }
  }
  return text;
}

describe('fuzz: import_wsim', () => {
  const files = wsim_files();
  const alphabet = [...'0123456789-./|,*#\n fsrwnkmgRCSBVEMPpqtdaTXbDEFAULT'];
  const tokens = ['0', '1', '2', '3', '-1', '-2', '-9', '100', '100-200', '200-100', '*', 'RCS', 'BCS', 'VCS', 'VCS1', 'VCS2', 'VECS', 'CCS',
    'DEFAULT', 'XCS', 'f-1', 's-1', 'f-2/-1', 'r1-0', 'w1-0-2', 'r9-9', 'd', 'p', 's', 't', 'q', 'a', 'f', 'T', 'P', 'S', 'X', 'M', 'B', 'b', 'w', 'W',
    'V', 'v', '4k', '2n8m', '1-4k', 'VCS1|VCS2', ''];
  const grammar = fc.array(fc.array(fc.constantFrom(...tokens), { minLength: 1, maxLength: 6 }).map((fields) => fields.join('.')), { minLength: 1, maxLength: 12 })
    .map((lines) => lines.join('\n'));
  const engines = fc.subarray(['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'] as const, { minLength: 1 });
  const tally = { ok: 0, rejected: 0 };
  const run = (text: string, engine_list: readonly ('render' | 'copy' | 'video' | 'video_enhance' | 'compute' | 'bind')[], clients = 1) => {
    assert_contract(import_wsim(text, 'fuzz.wsim', { engines: engine_list, clients, loops: 3 }), true, tally);
  };

  it('mutations of the real descriptors', () => {
    fc.assert(fc.property(fc.nat(files.length - 1), fc.array(mutation(alphabet), { minLength: 1, maxLength: 8 }), engines, fc.integer({ min: 1, max: 3 }),
      (file, mutations, engine_list, clients) => run(apply(files[file].text, mutations), engine_list, clients)), { seed: SEED, numRuns: 6000 });
  });

  it('grammar-shaped noise', () => {
    fc.assert(fc.property(grammar, engines, (text, engine_list) => run(text, engine_list)), { seed: SEED + 1, numRuns: 3000 });
  });

  it('random strings', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })),
      (text) => run(text, ['render'])), { seed: SEED + 2, numRuns: 2000 });
  });

  it(`rejected at least ${PER_LOADER_MIN} malformed inputs, and accepted some`, () => {
    expect(tally.rejected).toBeGreaterThanOrEqual(PER_LOADER_MIN);
    expect(tally.ok).toBeGreaterThan(0); // the mutations also reach the compile path to the end
  });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside `value`. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
  return out;
}

/** A copy of `root` with the value at `path` replaced (undefined: removed). */
function edit(root: Json, path: readonly (string | number)[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  let parent = copy as Record<string | number, Json>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (replacement !== undefined) parent[last] = replacement;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

describe('fuzz: load_workload_json', () => {
  const seeds: string[] = [
    readme_example(),
    JSON.stringify({
      name: 'small',
      clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 2, steps: [
        { fence: {} }, { batch: { queue: 'q', duration_us: 'infinite', deps: [{ step: -1, kind: 'sync' }] } },
        { signal: { step: -2 } }, { terminate: { step: -2 } }, { throttle: { depth: 1 } }, { delay: { us: [1, 5] } },
        { set_priority: { queue: 'q', priority: 'realtime' } },
      ] } }],
      streams: [{ client: 'b', queue: 'v', engine: 'video', duration_ms: 100, rate: '30fps', duration_us: 4000, deps: ['chain', { stream: 'b' }] }],
      events: [{ at_us: 10, action: 'engine_reset', client: 'b', queue: 'v' }, { after: { client: 'a', step: 1, loop: 1 }, action: 'close_client', client: 'a' }],
    }, null, 1),
  ];
  const parsed = seeds.map((text) => JSON.parse(text) as Json);
  const alphabet = [...'{}[]:,"\\ \n-0123456789.eE+truefalsn'];
  const interesting = fc.constantFrom<Json>(-1, 0, 1, 1.5, 1e12, -0, '', 'x', 'chain', 'infinite', 'render', '60fps', null, true, [], {}, [1, 2], [2, 1],
    { dist: 'normal' }, { dist: 'exponential', mean_us: 0 }, { step: -1 }, { batch: {} }, 'q', 'a', 'game', 'gfx');
  const replacement = fc.oneof(interesting, fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>);
  const tally = { ok: 0, rejected: 0 };
  const run = (text: string) => {
    assert_contract(load_workload_json(text, 'fuzz.json'), true, tally);
  };

  it('text mutations of valid workloads', () => {
    fc.assert(fc.property(fc.nat(seeds.length - 1), fc.array(mutation(alphabet), { minLength: 1, maxLength: 6 }),
      (seed, mutations) => run(apply(seeds[seed], mutations))), { seed: SEED + 3, numRuns: 3000 });
  });

  it('structural mutations: replace, remove or retype any field', () => {
    const edits = fc.array(fc.record({ path: fc.nat(), remove: fc.boolean(), value: replacement }), { minLength: 1, maxLength: 4 });
    fc.assert(fc.property(fc.nat(parsed.length - 1), edits, (seed, list) => {
      let value = parsed[seed];
      for (const e of list) {
        const all = paths(value);
        value = edit(value, all[e.path % all.length], e.remove ? undefined : e.value);
      }
      run(JSON.stringify(value));
    }), { seed: SEED + 4, numRuns: 5000 });
  });

  it('random JSON and JSON-ish strings', () => {
    fc.assert(fc.property(fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 60 })),
      (text) => run(text)), { seed: SEED + 5, numRuns: 3000 });
  });

  it(`rejected at least ${PER_LOADER_MIN} malformed inputs, and accepted some`, () => {
    expect(tally.rejected).toBeGreaterThanOrEqual(PER_LOADER_MIN);
    expect(tally.ok).toBeGreaterThan(0); // the mutations also reach the compile path to the end
  });

  it('the JSON reader agrees with JSON.parse (except that it refuses duplicate keys)', () => {
    const text = fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 60 }),
      fc.tuple(fc.nat(seeds.length - 1), fc.array(mutation(alphabet), { maxLength: 3 })).map(([seed, mutations]) => apply(seeds[seed], mutations)));
    fc.assert(fc.property(text, (input) => {
      let expected: { value: unknown } | null;
      try {
        expected = { value: JSON.parse(input) };
      } catch {
        expected = null;
      }
      const result = read_json(input);
      if (!result.ok && result.message.startsWith('duplicate key')) return;
      expect(result.ok).toBe(expected !== null);
      if (result.ok && expected !== null) expect(JSON.stringify(result.value)).toBe(JSON.stringify(expected.value));
    }), { seed: SEED + 6, numRuns: 3000 });
  });
});
