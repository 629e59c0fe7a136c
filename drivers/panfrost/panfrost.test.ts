/**
 * panfrost on both bindings: the normal flow across the two used job slots, the slot depth
 * (credits), priorities, a hang and the whole-GPU reset shared by every slot, a job fault, a
 * reset without a timeout, Ctrl-C (close with work in flight) and unplug. Where the bindings
 * differ, the test says which outcome each gives (README "Differences between the bindings").
 */
import { describe, expect, it } from 'vitest';
import { ECANCELED, EINVAL, ENODEV, dma_fence_get, dma_fence_put, dma_fence_signal } from '@deplab/sim';
import type { Backend } from '@deplab/driver-api';
import { ext_fence, MS, outcome, queue, rig, SCHED_RUN_JOB_ALLOC, submit, teardown, violations } from './panfrost.testlib.ts';

const BACKENDS: readonly Backend[] = ['sched', 'dep-hw'];

describe('panfrost: refuses what it has no binding for', () => {
  it('the plain drm_dep backend is refused with an error that names the backends it has', () => {
    expect(() => rig('dep')).toThrow(/no drm_dep binding without the HW-queue layer \(backends: sched, dep-hw\)/);
  });

  it('a bad device option is refused with an error naming it', () => {
    expect(() => rig('sched', { hw_policy: 'lottery' })).toThrow(/hw_policy must be fifo, rr or fair/);
    expect(() => rig('sched', { slots: 4 })).toThrow(/unknown device option 'slots'/);
  });
});

for (const backend of BACKENDS) {
  describe(`panfrost on ${backend}`, () => {
    it('vertex -> fragment chains of two clients all complete in order, both slots busy, zero reports', () => {
      const r = rig(backend);
      const a = r.dev.open_client('a'), b = r.dev.open_client('b');
      const jobs = [];
      for (const c of [a, b]) {
        const vtx = queue(r, c, 'compute'), frag = queue(r, c, 'render');
        for (let i = 0; i < 5; i++) {
          const v = submit(r, vtx, 2 * MS);
          jobs.push(v, submit(r, frag, 3 * MS, [v.out_fence]));
        }
      }
      r.k.run_for(200 * MS);
      expect(jobs.map(outcome)).toEqual(jobs.map(() => 0));
      for (let i = 1; i < jobs.length; i += 2) expect(jobs[i].out_fence.timestamp_ns).toBeGreaterThan(jobs[i - 1].out_fence.timestamp_ns);
      expect(r.dev.pfdev.hw.jobs_done).toBe(20);
      expect(teardown(r, [a, b])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('a slot holds at most two jobs (JS_HEAD and JS_HEAD_NEXT): the scheduler keeps the rest', () => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const q = queue(r, c, 'render');
      const jobs = Array.from({ length: 6 }, () => submit(r, q, 5 * MS));
      r.k.run_for(MS);
      const js0 = r.dev.pfdev.jobs[0];
      expect(js0.filter((j) => j !== null)).toHaveLength(2);
      r.k.run_for(100 * MS);
      expect(jobs.map(outcome)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('with one entry per slot (no job-chain disambiguation) only one job is on the slot at a time', () => {
      const r = rig(backend, { jobchain_disambiguation: false });
      const c = r.dev.open_client('c');
      const q = queue(r, c, 'render');
      const jobs = Array.from({ length: 3 }, () => submit(r, q, 5 * MS));
      r.k.run_for(MS);
      expect(r.dev.pfdev.jobs[0].filter((j) => j !== null)).toHaveLength(1);
      r.k.run_for(100 * MS);
      expect(jobs.map(outcome)).toEqual([0, 0, 0]);
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('a HIGH priority context goes before queued NORMAL work of the same slot', () => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const normal = queue(r, c, 'render', 'normal');
      const high = queue(r, c, 'render', 'high');
      const n = Array.from({ length: 6 }, () => submit(r, normal, 4 * MS));
      r.k.run_for(MS);
      const h = submit(r, high, 4 * MS);
      r.k.run_for(200 * MS);
      expect([...n, h].map(outcome)).toEqual([0, 0, 0, 0, 0, 0, 0]);
      // Two NORMAL jobs were on the slot already; the HIGH one is the next the hardware gets.
      const done = n.map((j) => j.out_fence.timestamp_ns);
      expect(done.filter((t) => t < h.out_fence.timestamp_ns)).toHaveLength(2);
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('a hang: the 500 ms TDR resets the whole GPU; the guilty job is cancelled, the other slot resumes its stopped job', () => {
      const r = rig(backend);
      const bad = r.dev.open_client('bad'), good = r.dev.open_client('good');
      const bq = queue(r, bad, 'compute');
      const gq = queue(r, good, 'render');
      const hung = submit(r, bq, 10 * MS, [], true);
      const long = submit(r, gq, 800 * MS);
      const after = submit(r, gq, 5 * MS);
      r.k.run_for(400 * MS);
      expect([outcome(hung), outcome(long)]).toEqual(['pending', 'pending']);
      r.k.run_for(1500 * MS);
      expect(r.dev.pfdev.hw.soft_resets).toBe(1);
      expect(outcome(hung)).toBe(-ECANCELED);
      // The long job on JS0 was soft-stopped by the reset and resumed: it still succeeds.
      expect([outcome(long), outcome(after)]).toEqual([0, 0]);
      const later = submit(r, bq, 5 * MS);
      r.k.run_for(50 * MS);
      expect(outcome(later)).toBe(0);
      expect(teardown(r, [bad, good])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('a job fault (engine_reset) fails that job with -EINVAL; the slot goes on without a reset', () => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const q = queue(r, c, 'render');
      const j1 = submit(r, q, 20 * MS), j2 = submit(r, q, 5 * MS);
      r.k.run_for(5 * MS);
      r.dev.inject_fault({ kind: 'engine_reset', queue: q });
      r.k.run_for(100 * MS);
      expect([outcome(j1), outcome(j2)]).toEqual([-EINVAL, 0]);
      expect(r.dev.pfdev.hw.soft_resets).toBe(0);
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('a reset without a timeout (device_reset) soft-stops and resumes every running job', () => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const frag = queue(r, c, 'render'), vtx = queue(r, c, 'compute');
      const jobs = [submit(r, frag, 30 * MS), submit(r, vtx, 30 * MS), submit(r, frag, 10 * MS)];
      r.k.run_for(10 * MS);
      r.dev.inject_fault({ kind: 'device_reset' });
      r.k.run_for(200 * MS);
      expect(r.dev.pfdev.hw.soft_resets).toBe(1);
      expect(jobs.map(outcome)).toEqual([0, 0, 0]);
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('Ctrl-C: close returns at once; jobs that never reached the GPU complete with -ECANCELED', () => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const q = queue(r, c, 'render');
      const gate = ext_fence(r.k);
      const first = submit(r, q, 50 * MS);
      const waiting = submit(r, q, 5 * MS, [gate]);
      r.k.run_for(5 * MS);
      const t0 = r.k.now();
      r.k.run_task(r.dev.close_client(c));
      expect(r.k.now() - t0).toBeLessThan(MS);
      dma_fence_signal(gate);
      r.k.run_for(200 * MS);
      expect(outcome(waiting)).toBe(-ECANCELED);
      // In flight: drm_sched never hard-stops it (job->base.entity is NULL once popped), the
      // HW-queue conversion does (job->ctx): README "#ctx-destroy-hard-stop".
      expect(outcome(first)).toBe(backend === 'sched' ? 0 : -ECANCELED);
      expect(teardown(r, [], [gate])).toBe(0);
      expect(violations(r)).toEqual([]);
    });

    it('unplug after the files closed leaves nothing behind', () => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const q = queue(r, c, 'render');
      const jobs = Array.from({ length: 4 }, () => submit(r, q, 2 * MS));
      r.k.run_for(50 * MS);
      expect(jobs.map(outcome)).toEqual([0, 0, 0, 0]);
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
      expect(r.dev.create_queue(c, { engine: 'render', priority: 'normal' })).toBe(-ENODEV);
    });
  });
}

describe('panfrost: the bindings differ', () => {
  it('#unplug-hung: a hung job of a closed file: drm_sched never stops it and leaks it at unplug (no cancel_job); drm_dep_hw hard-stops it at close', () => {
    const outcomes = BACKENDS.map((backend) => {
      const r = rig(backend);
      const c = r.dev.open_client('c');
      const q = queue(r, c, 'render');
      const hung = submit(r, q, 5 * MS, [], true);
      r.k.run_for(10 * MS);
      const fence = dma_fence_get(hung.out_fence);
      r.k.run_task(r.dev.close_client(c));
      r.k.run_for(50 * MS);
      r.k.run_task(r.dev.unplug());
      r.k.run_until(() => r.k.eq.peek_time() === Infinity, r.k.now() + 10_000 * MS);
      const result = { outcome: fence.signaled ? fence.error : 'pending', reports: violations(r) };
      dma_fence_put(fence);
      return { ...result, leaks: r.k.lifetime.live().filter((o) => o.type !== 'dma_fence.stub').length };
    });
    expect(outcomes[0].outcome).toBe('pending');
    expect(outcomes[0].reports).toEqual(['warn @drm_sched_fini: Tearing down scheduler while jobs are pending!']);
    expect(outcomes[0].leaks).toBeGreaterThan(0);
    expect(outcomes[1]).toEqual({ outcome: -ECANCELED, reports: [], leaks: 0 });
  });

  it('drm_dep_hw: unplug right after a reset was requested and the files closed: the reset finishes first, nothing is left or reported', () => {
    const r = rig('dep-hw');
    const c = r.dev.open_client('c');
    const q = queue(r, c, 'render');
    const jobs = [submit(r, q, 20 * MS), submit(r, q, 20 * MS)];
    r.k.run_for(5 * MS);
    r.dev.inject_fault({ kind: 'device_reset' });
    r.k.run_task(r.dev.close_client(c));
    r.k.run_task(r.dev.unplug());
    r.dev.inject_fault({ kind: 'device_reset' }); // after unplug: refused
    r.k.run_until(() => r.k.eq.peek_time() === Infinity, r.k.now() + 10_000 * MS);
    expect(jobs.map(outcome).every((o) => o !== 'pending')).toBe(true);
    expect(violations(r)).toEqual([]);
    expect(r.k.lifetime.check_leaks('after unplug')).toBe(0);
  });

  it('run_job allocates (GFP_KERNEL in panfrost_fence_create): drm_sched reports it only when it annotates run_job; the HW-queue binding reports nothing either way', () => {
    const kinds = (assume: Record<string, string>) => BACKENDS.map((backend) => {
      const r = rig(backend, {}, assume);
      const c = r.dev.open_client('c');
      submit(r, queue(r, c, 'render'), MS);
      r.k.run_for(10 * MS);
      teardown(r, [c]);
      return r.k.violations.list.map((v) => `${v.kind} @${v.site}`);
    });
    // Upstream drm_sched runs run_job outside any signalling section (sched.fence-signalling-annotation=upstream).
    expect(kinds({})).toEqual([[], []]);
    const annotated = kinds({ 'sched.fence-signalling-annotation': 'annotated' });
    expect(annotated[0]).toEqual([`${SCHED_RUN_JOB_ALLOC} @kmalloc(panfrost_fence, GFP_KERNEL)`]);
    expect(annotated[1]).toEqual([]);
  });
});
