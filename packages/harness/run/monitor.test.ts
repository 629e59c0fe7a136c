/**
 * The run monitor reads what the schedulers do, whenever they do it: events emitted inside a
 * submit ioctl (the job queued, drm_dep's submit bypass running it, an idle device starting it)
 * belong to the job the ioctl is submitting, and what happened around a job (a kill, a timeout,
 * a reset, an unplug) is judged in the order the events happened, not by their time stamps.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '@deplab/sim';
import { find_driver } from '../drivers.ts';
import { load_workload_json } from '../workload/load-json.ts';
import type { Workload } from '../workload/types.ts';
import { RunMonitor } from './monitor.ts';
import { mock } from './planted.testlib.ts';
import { run_workload } from './runner.ts';

function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'test', ...obj }), 'test.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

/** Back-to-back submits on one queue: with the bypass, drm_dep runs each inside its ioctl while credits last. */
const burst = workload({
  clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 6, steps: [{ batch: { queue: 'q', duration_us: 500 } }] } }],
});

describe('events emitted inside the submit ioctl', () => {
  const SUBMIT_BYPASS = 2;

  it("drm_dep's submit bypass: the jobs run inside their ioctl are seen running, and the credit count matches them", () => {
    const o = run_workload(burst, mock, 'dep', {
      seed: 1, device: { driver: { credit_limit: 4, dep_flags: SUBMIT_BYPASS } }, monitor: { retain: true, credits_per_job: 1 },
    }).observation;
    const jobs = o.jobs!;
    expect(jobs.length).toBe(6);
    // The first four fit the credit limit and run in the pusher, before their submit returned.
    for (const j of jobs.slice(0, 4)) {
      expect(j.run_ns, j.logical).toBeGreaterThanOrEqual(0);
      expect(j.run_ns, j.logical).toBeLessThan(jobs[4].submitted_ns);
    }
    expect(jobs.every((j) => j.queued_ns >= j.submitted_ns && j.run_ns >= j.queued_ns && j.ring === jobs[0].ring)).toBe(true);
    expect(o.peak_jobs_on_hw).toBe(4);
    expect(o.guarantees.credit_leak?.broken ?? 0).toBe(0);
    expect(o.guarantees.dependency_order?.checked).toBe(6);
  });

  it('both schedulers: every job is seen queued (push runs inside the ioctl) and an idle device starting it at once is seen', () => {
    for (const backend of ['sched', 'dep'] as const) {
      const o = run_workload(burst, mock, backend, { seed: 1, monitor: { retain: true } }).observation;
      const jobs = o.jobs!;
      expect(jobs.every((j) => j.queued_ns >= j.submitted_ns && j.deps_resolved_ns === j.queued_ns), backend).toBe(true);
      expect(o.peak_jobs_alive, backend).toBeGreaterThan(1);
      expect(o.latency.ready_to_run_job_us.sketch.count, backend).toBe(6);
      expect(jobs[0].hw_start_ns, backend).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('situations in causal order', () => {
  it("a job completed by its own timeout handler is not undisturbed, though the timed-out event follows the job's end", () => {
    // The mock's hardware runs one job at a time: b's job waits behind a's five, and drm_dep's
    // 2 ms TDR (armed at run_job) times it out before it starts.
    const w = workload({ clients: [
      { name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 5, steps: [{ batch: { queue: 'q', duration_us: 1000 } }] } },
      { name: 'b', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps: [{ batch: { queue: 'q', duration_us: 1000 } }] } },
    ] });
    const o = run_workload(w, mock, 'dep', { seed: 1, device: { driver: { timeout_ms: 2 } }, monitor: { retain: true } }).observation;
    const b = o.jobs!.find((j) => j.logical === 'b/q#0')!;
    expect(b).toMatchObject({ timedout: true, error: -110, hw_start_ns: -1, situation: 'device event' });
    expect(o.guarantees.job_result?.broken).toBe(0);
  });

  it("jobs a timeout handler completes before it returns are disturbed by the timeout (panfrost's and amdxdna's handlers reset and cancel them)", () => {
    for (const name of ['panfrost', 'amdxdna']) {
      const d = find_driver(name)!;
      const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: d.engines[0] }], program: { loops: 1, steps: [
        { batch: { queue: 'q', duration_us: 1000, hang: true } }, { batch: { queue: 'q', duration_us: 1000 } }] } }] });
      const o = run_workload(w, d.factory, 'sched', { seed: 1, device: d.defaults, monitor: { retain: true } }).observation;
      const [hung, behind] = o.jobs!;
      expect(hung, name).toMatchObject({ logical: 'c/q#0', situation: 'hung', timedout: true });
      // Cancelled inside the handler, before the scheduler's timed-out event.
      expect(behind, name).toMatchObject({ logical: 'c/q#1', error: -125, situation: 'device event' });
      expect(behind.finished_ns, name).toBeLessThan(hung.freed_ns);
      expect(o.guarantees.job_result?.broken ?? 0, name).toBe(0);
    }
  });

  it("a fault on a client's queue disturbs its later jobs: panthor's group cannot run again, and jobs on its other queues fail too", () => {
    const panthor = find_driver('panthor')!;
    const w = workload({
      clients: [
        { name: 'c', queues: [{ name: 'q0', engine: 'render' }, { name: 'q1', engine: 'compute' }], program: { loops: 1, steps: [
          { batch: { queue: 'q0', duration_us: 2000 } }, { batch: { queue: 'q1', duration_us: 1000 } }, { batch: { queue: 'q0', duration_us: 1000 } }] } },
        // Another client: its first job (submitted before the device completed a job again) is
        // disturbed by the fault as well, its second is not.
        { name: 'd', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps: [
          { delay: { us: 1000 } }, { batch: { queue: 'q', duration_us: 1000, wait: true } }, { batch: { queue: 'q', duration_us: 1000 } }] } },
      ],
      events: [{ after: { client: 'c', step: 0, loop: 0 }, action: 'engine_reset', client: 'c', queue: 'q0' }],
    });
    for (const backend of ['sched', 'dep'] as const) {
      const o = run_workload(w, panthor.factory, backend, { seed: 1, device: panthor.defaults, monitor: { retain: true } }).observation;
      const by = new Map(o.jobs!.map((j) => [j.logical, j]));
      // Submitted after the fault, before the firmware reported it: the group (c's queues) is terminated under them.
      for (const id of ['c/q1#0', 'c/q0#1']) {
        expect(by.get(id)!.error, `${backend} ${id}`).toBeLessThan(0);
        expect(by.get(id)!.situation, `${backend} ${id}`).toBe('device event');
      }
      expect(by.get('d/q#0'), backend).toMatchObject({ error: 0, situation: 'device event' });
      expect(by.get('d/q#1'), backend).toMatchObject({ error: 0, situation: 'undisturbed' });
      expect(o.guarantees.job_result, backend).toMatchObject({ checked: 1, broken: 0 });
    }
  });

  it('after the device completed a job again, only the client a fault hit stays disturbed', () => {
    const m = new RunMonitor({ retain: true });
    const submit = (client: string, seqno: number, t: number) => m.on_submit({
      logical: `${client}/q#${seqno}`, client, queue: 'q', iteration: 0, submitted_ns: t, returned_ns: t, error: 0,
      fence_context: client === 'c' ? 7 : 9, fence_seqno: seqno, dep_fences: [], dep_ids: [], hang: false,
    });
    const finish = (client: string, seqno: number, t: number, error: number) => {
      m.on_event(t, 'dma_fence_signaled', 'hardirq', { context: client === 'c' ? 7 : 9, seqno, error });
      m.on_event(t, 'drm_sched_job_free', 'kworker/x/0', { fence_context: client === 'c' ? 7 : 9, fence_seqno: seqno });
    };
    submit('d', 1, 0);
    m.on_device_event(10, 'c'); // e.g. an engine reset on one of c's queues
    finish('d', 1, 20, 0); // the device completed a job: the fault's own window is over
    submit('c', 1, 30);
    submit('d', 2, 30);
    finish('c', 1, 40, -125);
    finish('d', 2, 40, 0);
    const o = m.end(new Kernel({ seed: 1 }));
    expect(o.jobs!.map((j) => [j.logical, j.situation])).toEqual([['d/q#1', 'device event'], ['c/q#1', 'device event'], ['d/q#2', 'undisturbed']]);
    expect(o.guarantees.job_result).toMatchObject({ checked: 1, broken: 0 });
  });

  it('a kill stamped later than the completion it caused still comes first: the monitor goes by the order of events, not their local clocks', () => {
    const m = new RunMonitor({ retain: true });
    const job = { client: 'c', queue: 'q', iteration: 0, dep_fences: [], dep_ids: [], hang: false };
    m.on_submit({ ...job, logical: 'c/q#0', submitted_ns: 0, returned_ns: 10, error: 0, fence_context: 7, fence_seqno: 1 });
    m.on_submit({ ...job, logical: 'c/q#1', submitted_ns: 20, returned_ns: 30, error: 0, fence_context: 7, fence_seqno: 2 });
    m.on_event(5, 'drm_sched_job_queue', 'client/c', { fence_context: 7, fence_seqno: 1 });
    m.on_event(100, 'drm_sched_job_run', 'kworker/x/0', { fence_context: 7, fence_seqno: 1, ring: 'r', hw_job_count: 1 });
    // The client's body ran ahead on its own clock: its destroy call is stamped 500 ns, and the
    // worker that then completes both jobs for the killed queue is still at 300 ns.
    m.on_destroy('c', 'q', 'call', 500);
    for (const seqno of [1, 2]) {
      m.on_event(300, 'dma_fence_signaled', 'kworker/x/0', { context: 7, seqno, error: -125 });
      m.on_event(300, 'drm_sched_job_free', 'kworker/x/0', { fence_context: 7, fence_seqno: seqno });
    }
    const o = m.end(new Kernel({ seed: 1 }));
    expect(o.jobs!.map((j) => j.situation)).toEqual(['killed in flight', 'killed before start']);
    expect(o.guarantees.job_result).toBeUndefined();
  });
});
