/**
 * The run monitor reads what the schedulers do, whenever they do it: events emitted inside a
 * submit ioctl (the job queued, drm_dep's submit bypass running it, an idle device starting it)
 * belong to the job the ioctl is submitting.
 */
import { describe, expect, it } from 'vitest';
import { load_workload_json } from '../workload/load-json.ts';
import type { Workload } from '../workload/types.ts';
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
