/**
 * The same scenarios on drm_sched and drm_dep: identical per-job outcomes, and the differences
 * README.md "Differences between the bindings" lists, asserted here by name.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, ETIMEDOUT } from '@deplab/sim';
import type { Backend, JobHandle } from '@deplab/driver-api';
import {
  MS, S, hang_behind_stream, outcome, queue, rig, rotating_hang, run, starved_group, submit, sw_fence, sw_signal, teardown,
  trace_times, violations,
} from './panthor.testlib.ts';

type Outcome = 'pending' | number;

/** A mixed workload: rotation on 2 slots, cross-client deps, VM_BIND, a hang, a Ctrl-C. */
function mixed(backend: Backend): { outcomes: Outcome[]; leaks: number; violations: string[] } {
  const r = rig(backend, { csg_slots: 2 });
  const a = r.dev.open_client('a');
  const b = r.dev.open_client('b');
  const c = r.dev.open_client('c');
  const d = r.dev.open_client('d');
  const a0 = queue(r, a, 'render');
  const a1 = queue(r, a, 'compute');
  const ab = queue(r, a, 'bind');
  const b0 = queue(r, b, 'render');
  const c0 = queue(r, c, 'render', 'high');
  const d0 = queue(r, d, 'copy', 'low');
  const ext = sw_fence(r.k);
  const jobs: JobHandle[] = [];
  let prev_lo: JobHandle | null = null;
  for (let frame = 0; frame < 20; frame++) {
    const bind = submit(r, ab, 5_000);
    const tiler = submit(r, a0, 2 * MS, [bind.out_fence]);
    const frag = submit(r, a1, 3 * MS, [tiler.out_fence]);
    const other = submit(r, b0, 4 * MS, prev_lo !== null ? [prev_lo.out_fence] : []);
    const hi = submit(r, c0, 1 * MS);
    const lo = submit(r, d0, 2 * MS, [frag.out_fence]);
    jobs.push(bind, tiler, frag, other, hi, lo);
    prev_lo = lo;
    if (frame === 5) jobs.push(submit(r, b0, 1 * MS, [], true)); // b hangs
    if (frame === 8) jobs.push(submit(r, d0, 1 * MS, [ext]));
    r.k.run_for(16 * MS);
  }
  r.k.run_for(2 * S);
  run(r, r.dev.close_client(d)); // Ctrl-C with a job waiting on ext
  // Long enough for the hang in b's rotating group to use up 5 s of slot time.
  r.k.run_for(12 * S);
  sw_signal(ext);
  r.k.run_for(100 * MS);
  const outcomes = jobs.map(outcome);
  const leaks = teardown(r, [a, b, c], [ext]);
  return { outcomes, leaks, violations: violations(r) };
}

describe('panthor: drm_sched and drm_dep give the same per-job outcomes', () => {
  it('a mixed workload (rotation, deps, VM_BIND, a hang, Ctrl-C) ends identically', () => {
    const s = mixed('sched');
    const d = mixed('dep');
    expect(s.violations).toEqual([]);
    expect(d.violations).toEqual([]);
    expect(s.leaks).toBe(0);
    expect(d.leaks).toBe(0);
    const diff = s.outcomes.map((o, i) => (o === d.outcomes[i] ? null : `${i}: ${o} vs ${d.outcomes[i]}`)).filter((x) => x !== null);
    expect(diff).toEqual([]);
    // The scenario exercises every outcome: success, the hang's -ETIMEDOUT, Ctrl-C's -ECANCELED.
    expect(new Set(s.outcomes)).toEqual(new Set([0, -ETIMEDOUT, -125]));
  });

  it('close latency: postclose returns without waiting for the GPU on both bindings', () => {
    const close_ns = (backend: Backend): number => {
      const r = rig(backend);
      const c = r.dev.open_client('app');
      const q = queue(r, c);
      for (let i = 0; i < 8; i++) submit(r, q, 50 * MS);
      r.k.run_for(10 * MS);
      const t0 = r.k.now();
      run(r, r.dev.close_client(c));
      const ns = r.k.now() - t0;
      expect(teardown(r, [])).toBe(0);
      expect(violations(r)).toEqual([]);
      return ns;
    };
    expect(close_ns('sched')).toBe(close_ns('dep'));
  });
});

describe('panthor: the pre-6.19 per-job TDR differences are gone (v7.0 per-queue timeout on both)', () => {
  /**
   * Before 6.19 the timeout was drm_sched's per-job TDR, parked while the group had no slot,
   * and drm_dep (which cannot park its timer) needed a residency budget: a starved group with
   * two jobs was killed on drm_sched only, a stream behind a hang postponed detection on
   * drm_sched only, and a hang in a rotating group was found up to 5 s later on drm_dep. Since
   * the timeout is the driver's, both bindings give the same outcomes at the same instants.
   */
  const clean = { leaks: 0, violations: [] };

  it('former #starved-group-tdr: a group that never gets a slot is not killed on either binding', () => {
    const s = starved_group('sched', 2);
    const d = starved_group('dep', 2);
    expect(s).toMatchObject({ ...clean, low: [0, 0] });
    expect(d).toMatchObject({ ...clean, low: [0, 0] });
    // Both run once HIGH is done (~8 s); drm_dep's submit path is a few us slower.
    expect(s.low_done_at[0]).toBeGreaterThan(8 * S);
    s.low_done_at.forEach((t, i) => expect(Math.abs(t - d.low_done_at[i])).toBeLessThan(100_000));
  });

  it('former #evicted-tdr-granularity: a hang in a rotating group dies at the same instant on both', () => {
    const s = rotating_hang('sched');
    const d = rotating_hang('dep');
    expect(s).toMatchObject({ ...clean, busy: 0, late: -EINVAL });
    expect({ ...d, killed_at: 0 }).toEqual({ ...s, killed_at: 0 });
    expect(Math.abs(s.killed_at - d.killed_at)).toBeLessThan(100_000);
  });

  it('former #busy-queue-postpones-tdr: a stream behind a hung job ends the same way on both', () => {
    const s = hang_behind_stream('sched');
    const d = hang_behind_stream('dep');
    expect(s).toMatchObject({ ...clean, later: [-ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT], refused: [-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL] });
    expect({ ...d, killed_at: 0 }).toEqual({ ...s, killed_at: 0 });
    expect(Math.abs(s.killed_at - d.killed_at)).toBeLessThan(100_000);
  });
});

describe('panthor: where drm_sched and drm_dep differ (README "Differences between the bindings")', () => {
  /**
   * #timeout-entry: the queue timeout work reports a hang with drm_sched_fault() on drm_sched
   * and drm_dep_queue_trigger_timeout() on drm_dep; each scheduler then runs its own TDR work
   * once (drm_sched_job_timedout / drm_dep_queue_tdr_work) on panthor-reset-wq, which calls
   * queue_timedout_job. Same instant, same outcome, different tracepoints.
   */
  it('#timeout-entry: the hang reaches each scheduler through its own TDR work, at the same instant', () => {
    const run_hang = (backend: Backend) => {
      const r = rig(backend, {}, 'record');
      const c = r.dev.open_client('app');
      const q = queue(r, c);
      const hung = submit(r, q, 1 * MS, [], true);
      r.k.run_for(6 * S);
      const res = {
        outcome: outcome(hung),
        fired: trace_times(r, 'panthor_queue_timeout'),
        sched_tdr: trace_times(r, 'drm_sched_job_timedout').length,
        dep_tdr: trace_times(r, 'drm_dep_job_timedout').length,
      };
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
      return res;
    };
    const s = run_hang('sched');
    const d = run_hang('dep');
    expect([s.outcome, d.outcome]).toEqual([-ETIMEDOUT, -ETIMEDOUT]);
    expect(s.fired).toHaveLength(1);
    expect(d.fired).toHaveLength(1);
    expect(Math.abs(s.fired[0] - d.fired[0])).toBeLessThan(100_000);
    expect([s.sched_tdr, s.dep_tdr]).toEqual([1, 0]);
    expect([d.sched_tdr, d.dep_tdr]).toEqual([0, 1]);
  });

  /**
   * #queue-free-later: group_release_work frees each queue at the end of group_free_queue on
   * drm_sched (kfree(queue)); on drm_dep it drops the last queue reference and kfree(queue)
   * comes from ops.free_queue once drm_dep's asynchronous teardown is done.
   */
  it('#queue-free-later: at group release drm_sched has freed its queues, drm_dep frees them a step later', () => {
    const live_at_release = (backend: Backend): [number, number] => {
      const r = rig(backend, {}, 'record');
      const c = r.dev.open_client('app');
      queue(r, c);
      r.k.run_for(1 * MS);
      run(r, r.dev.close_client(c));
      const live = () => r.k.lifetime.live().filter((o) => o.type === 'kmalloc:panthor_queue').length;
      r.k.run_until(() => trace_times(r, 'panthor_group_release').length > 0, r.k.now() + 1 * S);
      const at_release = live();
      r.k.run_for(10 * MS);
      const after = live();
      expect(teardown(r, [])).toBe(0);
      expect(violations(r)).toEqual([]);
      return [at_release, after];
    };
    expect(live_at_release('sched')).toEqual([0, 0]);
    expect(live_at_release('dep')).toEqual([3, 0]);
  });
});
