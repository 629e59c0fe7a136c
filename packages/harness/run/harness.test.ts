/**
 * The harness end to end on the mock GPU: determinism, common random numbers, equivalence of
 * the two backends where the spec says they must agree, and a planted regression the diff
 * must flag.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ETIMEDOUT } from '@deplab/sim';
import type { Device, DeviceFactory, Fault } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { load_workload_json } from '../workload/load-json.ts';
import { import_wsim } from '../workload/wsim-import.ts';
import type { Workload } from '../workload/types.ts';
import { compare, compare_seed } from './compare.ts';
import { find_driver } from '../drivers.ts';
import { diff_runs } from './diff.ts';
import { observe } from './observer.ts';
import { run_workload } from './runner.ts';

const mock: DeviceFactory = (k, backend, options) => new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options);

function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'test', ...obj }), 'test.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

const random_two_queues = workload({
  clients: [
    { name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 40, steps: [
      { batch: { queue: 'q', duration_us: [100, 900] } }, { delay: { us: { dist: 'exponential', mean_us: 300 } } }] } },
    { name: 'b', queues: [{ name: 'q', engine: 'render' }], program: { loops: 30, steps: [
      { batch: { queue: 'q', duration_us: [200, 400], deps: [{ client: 'a', queue: 'q', last: true }] } }, { sync: { step: -1 } }] } },
  ],
});

describe('runner determinism', () => {
  it('the same seed gives identical job records, metrics and trace twice', () => {
    const one = run_workload(random_two_queues, mock, 'sched', { seed: 7 });
    const two = run_workload(random_two_queues, mock, 'sched', { seed: 7 });
    expect(JSON.stringify(observe(one))).toBe(JSON.stringify(observe(two)));
    expect(one.kernel.trace.digest()).toBe(two.kernel.trace.digest());
    const other = run_workload(random_two_queues, mock, 'sched', { seed: 8 });
    expect(other.kernel.trace.digest()).not.toBe(one.kernel.trace.digest());
  });

  it('both backends draw the same workload numbers (common random numbers)', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 30, steps: [
      { batch: { queue: 'q', duration_us: [100, 900], wait: true } }, { delay: { us: { dist: 'exponential', mean_us: 300 } } }] } }] });
    // Constant costs: with drawn ones the interrupt entry before hw_done varies by microseconds.
    const costs = { profile: 'constant' } as const;
    const a = observe(run_workload(w, mock, 'sched', { seed: 3, costs }));
    const b = observe(run_workload(w, mock, 'dep', { seed: 3, costs }));
    // Each job runs alone on the mock hardware for its drawn duration (whole us; the backends
    // differ by their bookkeeping costs, tens of ns, between the tracepoint and the hardware).
    const durations = (o: typeof a) => o.jobs.map((j) => Math.round((j.hw_done_ns - j.run_ns) / 1000));
    expect(durations(a).length).toBe(30);
    expect(durations(b)).toEqual(durations(a));
    expect(new Set(durations(a)).size).toBeGreaterThan(20);
    const c = observe(run_workload(w, mock, 'sched', { seed: 4, costs }));
    expect(durations(c)).not.toEqual(durations(a));
  });
});

describe('behaviour diff', () => {
  it('finds the backends equivalent on a scenario the spec says must be (one queue, no faults)', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 50, steps: [
      { batch: { queue: 'q', duration_us: [100, 500] } }, { queue_depth: { depth: 4 } }] } }] });
    const out = compare_seed(w, mock, 1, {});
    expect(out.result.diff_counts.regression).toBe(0);
    expect(out.result.diff_counts['expected difference']).toBe(0);
    expect(out.result.diff_counts.equivalent).toBeGreaterThanOrEqual(50);
    const a = observe(run_workload(w, mock, 'sched', { seed: 1 }));
    const b = observe(run_workload(w, mock, 'dep', { seed: 1 }));
    expect(a.jobs.map((j) => [j.logical, j.error])).toEqual(b.jobs.map((j) => [j.logical, j.error]));
    expect([...a.signal_order.values()]).toEqual([...b.signal_order.values()]);
  });

  it('flags a planted regression: a driver variant that drops the hung job\'s error code on drm_dep', () => {
    // Test-only variant: on drm_dep it "forgets" to hang the job, so the job completes with 0
    // where the faithful driver completes it with -ETIMEDOUT after the TDR.
    const planted: DeviceFactory = (k, backend, options) => {
      const dev = mock(k, backend, options);
      if (backend === 'sched') return dev;
      return new Proxy(dev, {
        get(target, prop, receiver) {
          if (prop === 'inject_fault') return (f: Fault) => { if (f.kind !== 'hang_job') target.inject_fault(f); };
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as Device;
    };
    const w = workload({
      clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 1000 } }] } }],
      events: [{ after: { client: 'c', step: 0, loop: 0 }, action: 'hang_job', client: 'c', queue: 'q' }],
    });
    const options = { device: { driver: { timeout_ms: 100 } } };
    const faithful = compare_seed(w, mock, 1, options);
    expect(faithful.result.diff_counts.regression).toBe(0);
    const a = observe(run_workload(w, mock, 'sched', { seed: 1, ...options }));
    expect(a.jobs[0].error).toBe(-ETIMEDOUT);
    const broken = compare_seed(w, planted, 1, options);
    expect(broken.result.diff_counts.regression).toBeGreaterThan(0);
    const example = broken.examples.find((e) => e.diff.logical === 'c/q#0');
    expect(example?.diff.cls).toBe('regression');
    expect(example?.diff.reason).toContain('-ETIMEDOUT');
  });

  it('does not compare iterations only one side reached', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { duration_ms: 20, steps: [
      { batch: { queue: 'q', duration_us: 700, wait: true } }] } }] });
    const a = observe(run_workload(w, mock, 'sched', { seed: 1 }));
    const shorter = { ...a, jobs: a.jobs.slice(0, a.jobs.length - 3), signal_order: new Map() };
    const d = diff_runs(a, shorter, [], []);
    expect(d.unmatched.sched_only).toBe(3);
    expect(d.counts.regression).toBe(0);
  });
});

describe('IGT gem_wsim descriptors on xe', () => {
  const dir = fileURLToPath(new URL('../../../workloads/wsim/', import.meta.url));
  const xe = find_driver('xe')!;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.wsim')).sort()) {
    it(`${file} imports for xe's engines and runs on both backends`, () => {
      const r = import_wsim(readFileSync(dir + file, 'utf8'), file, { engines: xe.engines, loops: 3 });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const result = compare(r.workload, 'xe', xe.factory, { seeds: [1], device: xe.defaults });
      expect(result.per_seed[0].sched.jobs_finished).toBeGreaterThan(0);
      expect(result.per_seed[0].sched.jobs_never_finished).toBe(0);
      expect(result.per_seed[0].dep.jobs_never_finished).toBe(0);
      expect(result.violations).toEqual({ sched: {}, dep: {} });
    });
  }
});

describe('IGT gem_wsim descriptors', () => {
  const dir = fileURLToPath(new URL('../../../workloads/wsim/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.wsim')).sort()) {
    it(`${file} imports and runs on the mock on both backends`, () => {
      const r = import_wsim(readFileSync(dir + file, 'utf8'), file, { engines: ['render'], loops: 2 });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const result = compare(r.workload, 'mock', mock, { seeds: [1] });
      expect(result.per_seed[0].sched.jobs_finished).toBeGreaterThan(0);
      expect(result.per_seed[0].sched.jobs_never_finished).toBe(0);
      expect(result.per_seed[0].dep.jobs_never_finished).toBe(0);
      expect(result.violations).toEqual({ sched: {}, dep: {} });
    });
  }
});
