/**
 * Where the mock on drm_dep deliberately behaves differently from the mock on drm_sched, the
 * same scenario runs on both and each test asserts both behaviours and names the difference
 * (docs/behaviour-differences.md, anchors in the test names).
 */
import { describe, expect, it } from 'vitest';
import { ECANCELED, ETIMEDOUT, Kernel, MAX_SCHEDULE_TIMEOUT } from '@deplab/sim';
import { mock_dep_backend } from './on-dep.ts';
import { mock_sched_backend } from './on-sched.ts';
import type { MockBackend } from './uapi.ts';

const NORMAL = 2, KERNEL_PRIO = 0;

function kernel(): Kernel {
  return new Kernel({ init_name: 'kunit_try_catch' });
}

describe('mock on drm_dep: deliberate differences from drm_sched', () => {
  it('#credit-limit-per-queue: two queues with credit_limit 1 each run a job at once on drm_dep, one in total on drm_sched', () => {
    const on_hw = (b: MockBackend): number => {
      const k = kernel();
      const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
      b.set_credit_limit(sched, 1);
      const e0 = b.drm_mock_sched_entity_new(k, NORMAL, sched);
      const e1 = b.drm_mock_sched_entity_new(k, NORMAL, sched);
      const j0 = b.drm_mock_sched_job_new(k, e0), j1 = b.drm_mock_sched_job_new(k, e1);
      b.drm_mock_sched_job_submit(j0);
      b.drm_mock_sched_job_submit(j1);
      k.run_for(10_000_000);
      const n = sched.gpu.job_list.length;
      b.drm_mock_sched_advance(sched, 2);
      b.drm_mock_sched_entity_free(e0);
      b.drm_mock_sched_entity_free(e1);
      b.drm_mock_sched_fini(sched);
      expect(k.violations.list).toEqual([]);
      return n;
    };
    expect(on_hw(mock_sched_backend())).toBe(1);
    expect(on_hw(mock_dep_backend())).toBe(2);
  });

  it('#async-teardown: entity free returns at once on drm_dep and cancels unstarted jobs; drm_sched drains them to the hardware first', () => {
    const run = (b: MockBackend) => {
      const k = kernel();
      const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
      b.set_credit_limit(sched, 1);
      const e = b.drm_mock_sched_entity_new(k, NORMAL, sched);
      const jobs = [0, 1, 2].map(() => b.drm_mock_sched_job_new(k, e));
      for (const j of jobs) { b.drm_mock_sched_job_set_duration_us(j, 1000); b.drm_mock_sched_job_submit(j); }
      const fences = jobs.map((j) => b.drm_mock_sched_job_finished_fence(j));
      k.run_for(100_000); // job 0 on the hardware, 1 and 2 queued
      const t0 = k.now();
      b.drm_mock_sched_entity_free(e);
      const free_ns = k.now() - t0;
      k.run_for(50_000_000);
      const errors = fences.map((f) => f.error);
      b.drm_mock_sched_fini(sched);
      expect(k.violations.list).toEqual([]);
      return { free_ns, errors, ran: jobs.map((j) => j.hw.submitted_at_ns >= 0) };
    };
    const s = run(mock_sched_backend());
    const d = run(mock_dep_backend());
    expect(s.free_ns).toBeGreaterThan(1_000_000); // waited for jobs 1 and 2 to reach the hardware
    expect(s.errors).toEqual([0, 0, 0]);
    expect(s.ran).toEqual([true, true, true]);
    expect(d.free_ns).toBe(0);
    expect(d.errors).toEqual([0, -ECANCELED, -ECANCELED]);
    expect(d.ran).toEqual([true, false, false]);
  });

  it('#no-priorities: a KERNEL-priority job pushed after a NORMAL one runs first on drm_sched; drm_dep runs them in push order', () => {
    const order = (b: MockBackend): string[] => {
      const k = kernel();
      const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
      const normal = b.drm_mock_sched_entity_new(k, NORMAL, sched);
      const kernel_e = b.drm_mock_sched_entity_new(k, KERNEL_PRIO, sched);
      const n1 = b.drm_mock_sched_job_new(k, normal);
      const kj = b.drm_mock_sched_job_new(k, kernel_e);
      b.drm_mock_sched_job_set_duration_us(n1, 100);
      b.drm_mock_sched_job_set_duration_us(kj, 100);
      b.drm_mock_sched_job_submit(n1); // both pushed before any worker runs
      b.drm_mock_sched_job_submit(kj);
      k.run_for(10_000_000);
      const runs = [['normal', n1.hw.submitted_at_ns], ['kernel', kj.hw.submitted_at_ns]] as const;
      b.drm_mock_sched_entity_free(normal);
      b.drm_mock_sched_entity_free(kernel_e);
      b.drm_mock_sched_fini(sched);
      expect(k.violations.list).toEqual([]);
      return [...runs].sort((x, y) => x[1] - y[1]).map((x) => x[0]);
    };
    // drm_sched: one run-job worker picks from the KERNEL run queue first (strict priority).
    expect(order(mock_sched_backend())).toEqual(['kernel', 'normal']);
    // drm_dep: one submit worker per queue, woken in push order; no priority between queues.
    expect(order(mock_dep_backend())).toEqual(['normal', 'kernel']);
  });

  it('#timeout-ownership: a timed-out job completes with -ETIMEDOUT on both; drm_sched leaves it to the driver, drm_dep frees it itself', () => {
    const run = (b: MockBackend) => {
      const k = kernel();
      const sched = b.drm_mock_sched_new(k, k.jiffies.msecs_to_jiffies(200));
      const e = b.drm_mock_sched_entity_new(k, NORMAL, sched);
      const j = b.drm_mock_sched_job_new(k, e);
      b.drm_mock_sched_job_submit(j);
      const f = b.drm_mock_sched_job_finished_fence(j);
      k.run_for(400_000_000);
      const error = f.error;
      b.drm_mock_sched_entity_free(e);
      b.drm_mock_sched_fini(sched);
      // The test still holds the finished fence: on drm_dep the fence and its memory are alive.
      const held = ['dma_fence.stub', 'drm_sched_fence.finished', 'drm_dep_fence', 'kmalloc:drm_dep_fence'];
      const leaks = k.lifetime.live().filter((o) => !held.includes(o.type));
      return { error, leaks: leaks.length, violations: k.violations.list.length };
    };
    const s = run(mock_sched_backend());
    const d = run(mock_dep_backend());
    expect(s.error).toBe(-ETIMEDOUT);
    expect(d.error).toBe(-ETIMEDOUT);
    expect(s.violations).toBe(0);
    expect(d.violations).toBe(0);
    expect(d.leaks).toBe(0);
  });
});
