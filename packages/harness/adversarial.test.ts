/**
 * The adversarial suite, loaders part: at least 10,000 inputs per loader (JSON workloads,
 * gem_wsim descriptors, captured traces, replay tokens) from adversary.testlib.ts, mutated valid
 * inputs and structure-aware garbage. The contract for each input: the loader returns a
 * workload that keeps every invariant and fits (or is refused by) each driver's check, or errors
 * that say what is wrong; it never throws, never reports an internal error, and no message is
 * a stack trace. A replay token either decodes into a case that fits its driver or is refused:
 * not one of 1,000 one-character changes of a real token decodes. Seeds are fixed
 * (DEPLAB_ADVERSARY_SEED explores others); a failure names the seed and input.
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_WORKLOADS, FAULT_KINDS, STRATEGIES, check_device_options, check_workload, check_workload_for_driver, decode_token, driver_names, encode_token,
  find_driver, generate_case, import_ftrace_workload, import_wsim, load_workload_json, type DriverEntry, type LoadResult,
} from './index.ts';
import { Adversary, STACK_LINE, where } from './adversary.testlib.ts';
import { readme_example, wsim_files } from './workload/test-support.ts';
import { CAPTURE_LAYOUTS, print_capture, scheduler_events, type CaptureJob } from './import/capture-gen.testlib.ts';

const SEED = Number(process.env.DEPLAB_ADVERSARY_SEED ?? 20260317);
const PER_LOADER = 10_000;
const DRIVERS: DriverEntry[] = driver_names().map((n) => find_driver(n)!);

interface Tally { inputs: number; accepted: number; refused: number }

/** The loader contract on one result. */
function check_result(r: LoadResult, context: () => string, tally: Tally): void {
  tally.inputs++;
  if (r.ok) {
    tally.accepted++;
    const problems = check_workload(r.workload);
    if (problems.length > 0) throw new Error(`accepted a workload that breaks an invariant (${problems[0].message}); ${context()}`);
    for (const d of DRIVERS) check_workload_for_driver(r.workload, d); // may refuse, must not throw
    return;
  }
  tally.refused++;
  if (r.errors.length === 0) throw new Error(`refused without an error; ${context()}`);
  for (const e of r.errors) {
    if (typeof e.message !== 'string' || e.message.length === 0) throw new Error(`an empty error; ${context()}`);
    if (STACK_LINE.test(e.message) || /^internal:/.test(e.message)) throw new Error(`an internal error: ${e.message}; ${context()}`);
    if (/got undefined|Invalid key in record/.test(e.message)) throw new Error(`an unhelpful message: ${e.message}; ${context()}`);
  }
}

function guarded(f: () => LoadResult, context: () => string): LoadResult {
  try {
    return f();
  } catch (e) {
    throw new Error(`the loader threw ${(e as Error).name}: ${(e as Error).message}; ${context()}`);
  }
}

/** Valid JSON workloads to mutate: every built-in, the README's example, streams and events. */
function json_seeds(): unknown[] {
  // Every built-in but the 136 KB stress/many-queues (a big file is a speed test, not a shape test).
  const seeds: unknown[] = BUILTIN_WORKLOADS.filter((w) => 'json' in w.source && w.name !== 'stress/many-queues').map((w) => ({ name: w.name.replace(/\W/g, '-'), ...(w.source as { json: object }).json }));
  seeds.push(JSON.parse(readme_example()));
  seeds.push({ name: 'hour', streams: [{ client: 'c', queue: 'q', engine: 'render', duration_ms: 3600000, rate: '60fps', duration_us: 1000 }] });
  seeds.push({
    name: 'ev', external_fences: [{ name: 'f', signal_at_us: 500 }], buffers: [{ name: 'b', size_bytes: 4096 }],
    clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render', priority: 'high', driver: { job_timeout_ms: 50 } }], program: { loops: 2, steps: [
      { batch: { queue: 'q', duration_us: { dist: 'normal', mean_us: 100, stddev_us: 10 }, deps: [{ external: 'f' }], writes: ['b'] } }, { fence: {} },
      { batch: { queue: 'q', duration_us: 'infinite', deps: [{ step: -1, kind: 'sync' }] } }, { signal: { step: -2 } }, { terminate: { step: -2 } },
      { throttle: { depth: 2 } }, { queue_depth: { depth: 1 } }, { set_priority: { queue: 'q', priority: 'low' } }, { delay: { us: [1, 5] } }, { period: { rate: '240/s' } },
    ] } }],
    events: [{ at_us: 10, action: 'hang_job', client: 'a', queue: 'q' }, { after: { client: 'a', step: 0, loop: 1 }, action: 'destroy_queue', client: 'a', queue: 'q' }],
  });
  return seeds;
}

/** A workload-shaped object from the format's vocabulary with hostile values in every slot. */
function json_garbage(a: Adversary): unknown {
  const v = () => (a.chance(0.5) ? a.hostile_value() : a.hostile_number());
  const step = () => {
    const kind = a.pick(['batch', 'delay', 'period', 'sync', 'throttle', 'queue_depth', 'set_priority', 'fence', 'signal', 'terminate', 'bogus']);
    const body: Record<string, unknown> = {
      batch: { queue: a.pick(['q', a.hostile_string()]), duration_us: v(), deps: a.chance(0.5) ? [{ step: v() }, { last: true, queue: 'q' }] : v() },
      delay: { us: v() }, period: a.chance(0.5) ? { us: v() } : { rate: a.pick(['60fps', '0fps', '1e9/s', a.hostile_string()]) },
      sync: { step: v() }, throttle: { depth: v() }, queue_depth: { depth: v() }, set_priority: { queue: 'q', priority: a.pick(['low', 'urgent', v()]) },
      fence: a.chance(0.8) ? {} : v(), signal: { step: v() }, terminate: { step: v() }, bogus: v(),
    };
    return { [kind]: body[kind] };
  };
  return {
    name: a.chance(0.8) ? 'g' : a.hostile_string(),
    clients: Array.from({ length: a.int(0, 3) }, () => ({
      name: a.chance(0.7) ? `c${a.int(0, 2)}` : a.hostile_string(),
      queues: Array.from({ length: a.int(0, 2) }, () => ({ name: 'q', engine: a.pick(['render', 'video', 'bind', 'warp', v()]), driver: a.chance(0.3) ? { [a.hostile_string()]: v() } : undefined })),
      program: { [a.pick(['loops', 'duration_ms', 'both'])]: v(), steps: Array.from({ length: a.int(0, 6) }, step) },
    })),
    events: a.chance(0.3) ? [{ [a.pick(['at_us', 'after'])]: v(), action: a.pick(['unplug', 'close_client', 'meteor', v()]), client: 'c0', queue: 'q', fence: 'f' }] : undefined,
  };
}

const WSIM_FIELDS = [
  '1', '2', '0', '-1', 'M', 'P', 'd', 'p', 's', 't', 'q', 'a', 'f', 'T', 'w', 'W', 'B', 'b', 'S', 'X', 'V', 'v', 'k', 'RCS', 'BCS', 'VCS', 'VCS1',
  'VCS2', 'VECS', 'CCS', 'DEFAULT', 'XCS', '500', '500-1000', '1000-500', '0', '3600000001', '*', '-1', 'f-1', 's-1', 'r1-0-4', 'w2-0', 'w1-0-65535',
  '4096n4k', '65536n4k', '16m', '0', '1', '2', 'infinite', '',
];

function wsim_garbage(a: Adversary): string {
  return a.grammar_lines(a.int(1, 12), () => Array.from({ length: a.int(1, 6) }, () => (a.chance(0.9) ? a.pick(WSIM_FIELDS) : a.hostile_string().slice(0, 30))),
    a.chance(0.9) ? '.' : a.pick([',', '|', ' ']));
}

const CAPTURE_JOBS: readonly CaptureJob[] = [
  { client_id: 7, comm: 'glxgears', pid: 3001, ring: 'gfx', context: 40, seqno: 1, queue_us: 0, run_us: 10, done_us: 510 },
  { client_id: 9, comm: 'vkcube', pid: 3002, ring: 'gfx', context: 41, seqno: 1, queue_us: 20, run_us: 510, done_us: 1010 },
  { client_id: 7, comm: 'glxgears', pid: 3001, ring: 'sdma0', context: 42, seqno: 1, queue_us: 600, run_us: 1010, done_us: 1510, deps: [[41, 1]] },
  { client_id: null, comm: 'kworker/1:0', pid: 77, ring: 'vcn_dec', context: 43, seqno: 5, queue_us: 700, run_us: 700, done_us: 900 },
];

function capture_garbage(a: Adversary): string {
  const n = () => String(a.chance(0.8) ? a.int(0, 50) : a.hostile_number());
  const fence = () => `${n()}:${n()}`;
  const event = () => a.pick([
    `drm_sched_job_queue: dev=${a.pick(['0000:03:00.0', a.hostile_string().slice(0, 20)])}, fence=${fence()}, ring=${a.pick(['gfx', 'sdma0', ''])}, job count:${n()}, hw job count:${n()}, client_id:${n()}`,
    `drm_sched_job_run: dev=d, fence=${fence()}, ring=gfx, job count:${n()}, hw job count:${n()}`,
    `drm_sched_job_done: fence=${fence()} signaled`,
    `drm_sched_job_add_dep: fence=${fence()} depends on fence=${fence()}`,
    `drm_sched_job_unschedulable: fence=${fence()} depends on unsignalled fence=${fence()}`,
    `dma_fence_signaled: driver=drm_sched timeline=gfx context=${n()} seqno=${n()}`,
    `sched_switch: prev_comm=a prev_pid=${n()}`,
    `drm_sched_job: entity=0x${n()}, id=${n()}, fence=0x${n()}, ring=gfx, job count:1, hw job count:0`,
  ]);
  const lines = Array.from({ length: a.int(1, 20) }, () => `${a.pick(['glxgears', 'a b', a.hostile_name()])}-${n()} [${n()}] ${a.pick(['d..1.', '....', ''])} ${n()}.${n()}: ${event()}`);
  if (a.chance(0.5)) lines.unshift(a.pick(['# tracer: nop', 'cpus=8', '']));
  return lines.join('\n');
}

describe('adversarial loaders: 10,000 inputs each, nothing throws, every refusal says why', () => {
  it(`JSON workloads (seed ${SEED})`, () => {
    const a = new Adversary(SEED);
    const seeds = json_seeds();
    const tally: Tally = { inputs: 0, accepted: 0, refused: 0 };
    for (let i = 0; i < PER_LOADER; i++) {
      let text: string;
      switch (i % 4) {
        case 0: text = JSON.stringify(a.mutate_json(a.pick(seeds))); break;
        case 1: text = a.mutate_text(JSON.stringify(a.pick(seeds), null, a.pick([0, 1, 2]))); break;
        case 2: text = JSON.stringify(json_garbage(a)); break;
        default: text = a.chance(0.5) ? JSON.stringify(a.hostile_value()) ?? 'undefined' : a.mutate_text('{"name":"x","clients":[]}', 6);
      }
      check_result(guarded(() => load_workload_json(text, 'fuzz.json'), () => where(SEED, i, text)), () => where(SEED, i, text), tally);
    }
    expect(tally.inputs).toBe(PER_LOADER);
    expect(tally.accepted).toBeGreaterThan(PER_LOADER / 50); // the mutations keep some inputs valid, so the accept path is exercised too
    expect(tally.refused).toBeGreaterThan(PER_LOADER / 2);
  });

  it(`gem_wsim descriptors (seed ${SEED})`, () => {
    const a = new Adversary(SEED + 1);
    const files = wsim_files();
    const tally: Tally = { inputs: 0, accepted: 0, refused: 0 };
    for (let i = 0; i < PER_LOADER; i++) {
      const text = i % 2 === 0 ? a.mutate_text(a.pick(files).text, 4, '.-,0123456789RCSBVEMPdpstqafTwWnkmr \n') : wsim_garbage(a);
      const options = { engines: a.pick(DRIVERS).engines, loops: a.pick([1, 3]), clients: a.pick([1, 2, 4]) };
      check_result(guarded(() => import_wsim(text, 'fuzz.wsim', options), () => where(SEED + 1, i, text)), () => where(SEED + 1, i, text), tally);
    }
    expect(tally.inputs).toBe(PER_LOADER);
    expect(tally.accepted).toBeGreaterThan(PER_LOADER / 50);
    expect(tally.refused).toBeGreaterThan(PER_LOADER / 20);
  });

  it(`captured traces in every layout (seed ${SEED})`, () => {
    const a = new Adversary(SEED + 2);
    const captures = CAPTURE_LAYOUTS.map((layout) => print_capture(scheduler_events(CAPTURE_JOBS), layout));
    const tally: Tally = { inputs: 0, accepted: 0, refused: 0 };
    for (let i = 0; i < PER_LOADER; i++) {
      const text = i % 2 === 0 ? a.mutate_text(a.pick(captures), 4) : capture_garbage(a);
      const engines = a.pick(DRIVERS).engines;
      check_result(guarded(() => import_ftrace_workload(text, 'fuzz.txt', { engines }), () => where(SEED + 2, i, text)), () => where(SEED + 2, i, text), tally);
    }
    expect(tally.inputs).toBe(PER_LOADER);
    expect(tally.accepted).toBeGreaterThan(PER_LOADER / 20);
    expect(tally.refused).toBeGreaterThan(PER_LOADER / 20);
  });

  it(`replay tokens: 10,000 tampered tokens are refused or decode into a case that fits its driver (seed ${SEED})`, () => {
    const a = new Adversary(SEED + 3);
    const tokens = DRIVERS.map((d, k) => encode_token({ ...generate_case({ driver: d.name, backend: k % 2 === 0 ? 'sched' : 'dep', seed: 3 + k, faults: FAULT_KINDS, strategy: 'random' }), choices: [0, 1, 0, 2] }));
    for (const t of tokens) expect(() => decode_token(t)).not.toThrow();
    const payload_of = (t: string) => JSON.parse(inflateRawSync(Buffer.from(t.slice(4, t.lastIndexOf('.')), 'base64url')).toString('utf8')) as Record<string, unknown>;
    const seal = (json: unknown) => {
      const payload = deflateRawSync(Buffer.from(JSON.stringify(json) ?? 'null', 'utf8')).toString('base64url');
      return `dl2.${payload}.${createHash('sha256').update(payload).digest('hex').slice(0, 16)}`;
    };
    let refused = 0, decoded = 0, one_char = 0;
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let i = 0; i < PER_LOADER; i++) {
      let token: string;
      const base = a.pick(tokens);
      if (i < 1000) {
        // One character changed, at a spread of positions (payload, separator, checksum, prefix).
        const at = Math.floor((i / 1000) * base.length);
        let c = a.pick([...B64]);
        if (c === base[at]) c = c === 'A' ? 'B' : 'A';
        token = base.slice(0, at) + c + base.slice(at + 1);
        one_char++;
      } else if (i % 2 === 0) {
        token = seal(a.mutate_json(payload_of(base), 2)); // tampered content with a valid checksum: the schema and the driver check decide
      } else {
        token = a.chance(0.5) ? a.mutate_text(base, 3, B64) : a.pick(['', 'dl2.', 'dl1.AAAA', base + base, base.slice(0, a.int(0, base.length)), 'dl2.' + 'A'.repeat(a.int(0, 4000)) + '.0123456789abcdef']);
      }
      try {
        const d = decode_token(token);
        decoded++;
        if (i < 1000) throw new Error(`a one-character change decoded: ${where(SEED + 3, i, token)}`);
        const driver = find_driver(d.case.driver);
        expect(driver, where(SEED + 3, i, token)).toBeDefined();
        expect(check_workload(d.case.workload)).toEqual([]);
        expect(check_device_options(driver!, d.case.options.device)).toEqual([]);
        expect(check_workload_for_driver(d.case.workload, driver!)).toEqual([]);
        expect(STRATEGIES).toContain(d.case.strategy);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        refused++;
        if (e.message.length === 0 || STACK_LINE.test(e.message)) throw new Error(`bad refusal message; ${where(SEED + 3, i, token)}`);
      }
    }
    expect(one_char).toBe(1000);
    expect(refused + decoded).toBe(PER_LOADER);
    expect(refused).toBeGreaterThan(PER_LOADER / 2);
  });
});
