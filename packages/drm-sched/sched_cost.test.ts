/**
 * What drm_sched's per-job overhead costs the CPU: its work items, kworker wake-ups and TDR
 * timer operations are charged to the contexts that issue them (waker-side cost entries).
 */
import { describe, expect, it } from 'vitest';
import { MAX_SCHEDULE_TIMEOUT, type CostOverrides, type Sleepable } from '@deplab/sim';
import { DRM_SCHED_PRIORITY_NORMAL } from './index.ts';
import { make_entity, make_job, make_kernel, make_sched, submit, MS } from './fake_gpu.testlib.ts';

const JOBS = 20;

/** JOBS jobs of 500 us, each pushed by a process task onto an idle scheduler (2 ms apart). */
function run(costs: CostOverrides, timeout: number): { cpu_ns_per_job: number; queued_per_job: number; wakeups_per_job: number } {
  const k = make_kernel({ costs: { profile: 'constant', ...costs } });
  const rig = make_sched(k, { timeout });
  const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
  k.spawn('submitter', (function* (): Sleepable {
    for (let i = 0; i < JOBS; i++) {
      submit(make_job(rig, e, `j${i}`, 500));
      yield* k.wait_until(null, () => false, k.now() + 2 * MS);
    }
  })());
  k.run_all();
  expect(rig.gpu.free_log).toHaveLength(JOBS);
  expect(k.violations.format()).toBe('');
  const cpu = k.stats.cpu_ns.process + k.stats.cpu_ns.kworker + k.stats.cpu_ns.softirq + k.stats.cpu_ns.hardirq;
  const queued = k.trace.events.filter((ev) => ev.name === 'workqueue_queue_work').length;
  return { cpu_ns_per_job: cpu / JOBS, queued_per_job: queued / JOBS, wakeups_per_job: k.stats.kworker_wakeups / JOBS };
}

describe('waker-side costs on the drm_sched hot path', () => {
  it('queue_work at 1 us adds 1 us per queue_work: 4 per job (push, run_job re-queue, free_job, its trailing run_job)', () => {
    const base = run({}, 5_000);
    const slow = run({ queue_work_ns: 1_000 }, 5_000);
    expect(base.queued_per_job).toBe(4);
    expect(slow.cpu_ns_per_job - base.cpu_ns_per_job).toBe(1_000 * base.queued_per_job);
  });

  it('the TDR costs one timer arm, one timer removal and two try_to_grab_pending per job; none without a timeout', () => {
    const per_job = (timeout: number, costs: CostOverrides) => run(costs, timeout).cpu_ns_per_job - run({}, timeout).cpu_ns_per_job;
    expect(per_job(5_000, { timer_mod_ns: 1_000 })).toBe(1_000);
    expect(per_job(5_000, { timer_del_ns: 1_000 })).toBe(1_000);
    expect(per_job(5_000, { cancel_work_ns: 1_000 })).toBe(2_000);
    expect(per_job(MAX_SCHEDULE_TIMEOUT, { timer_mod_ns: 1_000, timer_del_ns: 1_000 })).toBe(0);
  });

  it('each wake-up costs its waker try_to_wake_up: 2 kworkers per job, and the submitter woken by its sleep timer', () => {
    const base = run({}, 5_000);
    expect(base.wakeups_per_job).toBe(2);
    expect(run({ try_to_wake_up_ns: 1_000 }, 5_000).cpu_ns_per_job - base.cpu_ns_per_job).toBe(1_000 * (base.wakeups_per_job + 1));
  });
});
