/**
 * What the run monitor makes of deplab_job_hw_start: killed_unstarted is checked from the
 * hardware's starts (not from run_job, which xe calls on a killed queue without emitting to the
 * ring), and the submit/ready-to-hardware-start latencies mean the same on both backends.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceFactory } from '@deplab/driver-api';
import { find_driver } from '../drivers.ts';
import { find_builtin, load_builtin } from '../builtin/index.ts';
import { load_workload_json } from '../workload/load-json.ts';

function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'test', ...obj }), 'test.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}
import type { Workload } from '../workload/types.ts';
import { monitor_facts } from '../explore/profiles.ts';
import { compare_seed } from './compare.ts';
import { run_workload } from './runner.ts';

function builtin(name: string, driver: string): Workload {
  const r = load_builtin(find_builtin(name)!, find_driver(driver)!.engines);
  if (!r.ok) throw new Error(`${name} does not load`);
  return r.workload;
}

/** The teardown storm with deeper queues: xe's rings (55 jobs) overflow into the scheduler. */
function deep_storm(clients: number, depth: number, engine = 'render'): Workload {
  const r = load_workload_json(JSON.stringify({
    name: 'deep-storm',
    clients: Array.from({ length: clients }, (_, i) => ({
      name: `c${i}`, queues: [{ name: 'q', engine }],
      program: { duration_ms: 100, steps: [{ batch: { queue: 'q', duration_us: [200, 2000] } }, { queue_depth: { depth } }] },
    })),
    events: Array.from({ length: clients }, (_, i) => ({ at_us: 20000, action: 'close_client', client: `c${i}` })),
  }), 'deep-storm.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

describe('killed_unstarted from the hardware starts', () => {
  const mock = find_driver('mock')!;
  const storm = builtin('stress/teardown-storm', 'mock');
  // One credit: the jobs in flight wait in the scheduler, not on the hardware, when the files close.
  const run = (backend: 'sched' | 'dep', close_as: string) =>
    run_workload(storm, mock.factory, backend, { seed: 1, device: { driver: { credit_limit: 1, close_as } } }).observation;

  it('is checked on the Ctrl-C storm: held where the close kills the queue (drm_dep; drm_sched after SIGKILL)', () => {
    for (const o of [run('dep', 'close'), run('sched', 'sigkill')]) {
      const killed = Object.values(o.outcomes['killed before start'] ?? {}).reduce((a, b) => a + b, 0);
      expect(killed).toBeGreaterThan(500);
      expect(o.guarantees.killed_unstarted).toMatchObject({ checked: killed, broken: 0 });
    }
  });

  it("is not broken by drm_sched's entity flush, which hands a closed file's queued jobs to run_job before any kill: the outcome shares show the difference", () => {
    // A live process's close waits (drm_sched_entity_flush) until the entity's queued jobs went to
    // run_job; drm_sched_entity_kill then finds none left. drm_dep's kill cancels them.
    const s = run('sched', 'close'), d = run('dep', 'close');
    expect(s.outcomes['killed before start']).toEqual({ ok: 631 });
    expect(s.guarantees.killed_unstarted).toBeUndefined();
    expect(d.outcomes['killed before start']).toEqual({ 'cancelled -ECANCELED': 556 });
    expect(d.guarantees.killed_unstarted).toMatchObject({ checked: 556, broken: 0 });
    const diff = compare_seed(storm, mock.factory, 1, { device: { driver: { credit_limit: 1 } } }).diff;
    expect(diff.counts.killed_unstarted).toBeUndefined();
  });

  it('counts a queue destroy as a kill only where the scheduler or the driver kills: not panthor closing one queue of a live group, nor a destroy that drains first', () => {
    // Three jobs queued on q1 behind a 3 ms one, then q1 destroyed while q0 stays open.
    const destroy_q1 = (engines: readonly string[]) => workload({
      clients: [{ name: 'c', queues: [{ name: 'q0', engine: engines[0] }, { name: 'q1', engine: engines[1] ?? engines[0] }], program: { loops: 1, steps: [
        { batch: { queue: 'q0', duration_us: 1000 } }, { batch: { queue: 'q1', duration_us: 3000 } }, { batch: { queue: 'q1', duration_us: 1000 } },
        { batch: { queue: 'q1', duration_us: 1000 } }] } }],
      events: [{ after: { client: 'c', step: 3, loop: 0 }, action: 'destroy_queue', client: 'c', queue: 'q1' }],
    });
    const cases: [string, 'sched' | 'dep' | 'dep-hw', Record<string, number>, number | undefined][] = [
      // panthor: destroy_queue drops one handle of the group, which lives on (no GROUP_DESTROY).
      ['panthor', 'sched', { ok: 3 }, undefined], ['panthor', 'dep', { ok: 3 }, undefined],
      // amdxdna and the mock on drm_sched: the destroy lets the queued jobs go to run_job, then kills an empty queue.
      ['amdxdna', 'sched', { ok: 3 }, undefined], ['amdxdna', 'dep', { ok: 3 }, undefined], ['mock', 'sched', { ok: 3 }, undefined],
      // The mock on drm_dep: drm_dep_queue_kill cancels them.
      ['mock', 'dep', { 'cancelled -ECANCELED': 3 }, 3], ['mock', 'dep-hw', { 'cancelled -ECANCELED': 3 }, 3],
    ];
    for (const [name, backend, outcomes, checked] of cases) {
      const d = find_driver(name)!;
      const o = run_workload(destroy_q1(d.engines), d.factory, backend, { seed: 1, device: d.defaults, monitor: monitor_facts(name, {}) }).observation;
      expect(o.outcomes['killed before start'], `${name} ${backend}`).toEqual(outcomes);
      expect(o.guarantees.killed_unstarted?.checked, `${name} ${backend}`).toBe(checked);
      expect(o.guarantees.killed_unstarted?.broken ?? 0, `${name} ${backend}`).toBe(0);
    }
  });

  it('holds on xe although drm_sched calls run_job for the killed queue: nothing reaches the ring', () => {
    const xe = find_driver('xe')!;
    const w = deep_storm(16, 80);
    for (const backend of ['sched', 'dep'] as const) {
      const r = run_workload(w, xe.factory, backend, { seed: 1, device: xe.defaults, monitor: { retain: true, ...monitor_facts('xe', {}) } });
      const o = r.observation;
      const killed = o.jobs!.filter((j) => j.situation === 'killed before start');
      expect(killed.length, backend).toBeGreaterThan(300);
      // Checked: those whose submit ioctl had returned when the scheduler killed them (not racing
      // with the kill). Every job whose submit returned before the destroy call is one; a job
      // whose submit returned after the call but before the kill inside it is one too.
      const returned = new Map(r.jobs!.map((s) => [s.logical, s.submit_return_ns]));
      const killed_at = new Map(o.queues.map((q) => [q.queue, q.destroy_call_ns]));
      const before_call = killed.filter((j) => returned.get(j.logical)! <= killed_at.get(`${j.client}/${j.queue}`)!);
      expect(before_call.length, backend).toBeGreaterThan(300);
      const checked = o.guarantees.killed_unstarted!.checked;
      expect(checked, backend).toBeGreaterThanOrEqual(before_call.length);
      expect(checked, backend).toBeLessThanOrEqual(killed.length);
      expect(o.guarantees.killed_unstarted!.broken, backend).toBe(0);
      expect(killed.every((j) => j.hw_start_ns < 0), backend).toBe(true);
      // drm_sched ran every one of them (a run_job proxy would have broken the guarantee); drm_dep none.
      expect(killed.filter((j) => j.run_ns >= 0).length, backend).toBe(backend === 'sched' ? killed.length : 0);
    }
  });

  it('is not checked for a job whose submit ioctl was still in progress at the close (amdxdna: the submitter waits for a command slot)', () => {
    const amdxdna = find_driver('amdxdna')!;
    const w = deep_storm(8, 80, 'compute');
    const o = run_workload(w, amdxdna.factory, 'sched', { seed: 1, device: { driver: { ...amdxdna.defaults.driver, close_is_exit: false } }, monitor: { retain: true } }).observation;
    const killed = o.jobs!.filter((j) => j.situation === 'killed before start');
    expect(killed.length).toBeGreaterThan(0);
    // Each went to run_job after the close and ran, but its ioctl had not returned when the close began.
    expect(killed.every((j) => j.run_ns >= 0 && j.hw_start_ns >= 0)).toBe(true);
    expect(o.guarantees.killed_unstarted).toBeUndefined();
  });

  it('is not checked for a device that does not report hardware starts', () => {
    const silent: DeviceFactory = (k, b, opts) =>
      new Proxy(mock.factory(k, b, opts), { get: (dev, p) => (p === 'reports_hw_start' ? false : Reflect.get(dev, p)) });
    const o = run_workload(storm, silent, 'dep', { seed: 1, device: { driver: { credit_limit: 1 } } }).observation;
    expect(o.outcomes['killed before start']).toBeDefined();
    expect(o.guarantees.killed_unstarted).toBeUndefined();
  });
});

describe('submit_to_hw_start_us', () => {
  it('is measured on both backends and comparable where run_job is not: ping-pong pipelines on drm_sched only', () => {
    const mock = find_driver('mock')!;
    // The pipelined shape: KUnit's own ping-pong runs at credit limit 1, where nothing pipelines.
    const pp = builtin('mock/ping-pong-pipelined', 'mock');
    const [s, d] = (['sched', 'dep'] as const).map((b) => run_workload(pp, mock.factory, b, { seed: 1 }).observation.latency);
    for (const L of [s, d]) {
      expect(L.submit_to_hw_start_us.summary.n).toBe(1000);
      // Every job: the first is ready when queued, the others when their dependency signalled.
      expect(L.ready_to_hw_start_us.summary.n).toBe(1000);
    }
    // run_job: drm_sched calls it when the other queue's job is scheduled, drm_dep after it
    // finished: a 100000-fold difference that says nothing about the hardware.
    expect(d.submit_to_run_job_us.summary.p50 / s.submit_to_run_job_us.summary.p50).toBeGreaterThan(1000);
    // The hardware sees both within 2% (desktop wake-ups): drm_dep's cost is one kworker wake-up per job between a
    // dependency's end and the next start, which drm_sched's pipelining hides.
    expect(Math.abs(d.submit_to_hw_start_us.summary.p50 / s.submit_to_hw_start_us.summary.p50 - 1)).toBeLessThan(0.02);
    expect(s.ready_to_hw_start_us.summary.p50).toBe(0);
    expect(d.ready_to_hw_start_us.summary.p50).toBeGreaterThan(5);
  });
});
