/**
 * The same scenarios on drm_sched and drm_dep: identical per-job outcomes, except the
 * differences README.md "Differences between the bindings" lists, asserted here by name.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, ETIMEDOUT } from '@deplab/sim';
import type { Backend, JobHandle } from '@deplab/driver-api';
import { MS, S, done_at, outcome, queue, rig, run, submit, sw_fence, sw_signal, teardown, violations } from './panthor.testlib.ts';

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
  // Long enough for both bindings to have found the hang (#evicted-tdr-granularity).
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

describe('panthor: where drm_sched and drm_dep differ (README "Differences between the bindings")', () => {
  /**
   * #starved-group-tdr: a LOW group that never gets a slot (a HIGH group keeps the only one
   * busy) with two jobs pushed while it waits. drm_sched: run_job parks the TDR for the first
   * job (drm_sched_suspend_timeout), but drm_sched_job_begin of the second re-arms it
   * (mod_delayed_work at every job start) and timeout_suspended stops run_job from parking it
   * again: after 5 s the starved group is killed. drm_dep: no job_begin re-arm, and the residency
   * budget stays paused while the group has no slot: the jobs run once HIGH is done.
   */
  it('#starved-group-tdr: a starved group with two jobs is killed on drm_sched, not on drm_dep', () => {
    const starved = (backend: Backend, low_jobs: number): Outcome[] => {
      const r = rig(backend, { csg_slots: 1 });
      const h = r.dev.open_client('high');
      const l = r.dev.open_client('low');
      const hq = queue(r, h, 'render', 'high');
      const lq = queue(r, l, 'render', 'low');
      const high = Array.from({ length: 8 }, () => submit(r, hq, 1 * S)); // busy for 8 s
      r.k.run_for(10 * MS);
      const low = Array.from({ length: low_jobs }, () => submit(r, lq, 1 * MS));
      r.k.run_for(9 * S);
      expect(high.map(outcome)).toEqual(high.map(() => 0));
      const out = low.map(outcome);
      expect(teardown(r, [h, l])).toBe(0);
      expect(violations(r)).toEqual([]);
      return out;
    };
    expect(starved('sched', 1)).toEqual([0]);
    expect(starved('dep', 1)).toEqual([0]);
    expect(starved('sched', 2)).toEqual([-ETIMEDOUT, -ETIMEDOUT]);
    expect(starved('dep', 2)).toEqual([0, 0]);
  });

  /**
   * #evicted-tdr-granularity: a hung job in a group that spends part of its timeout evicted.
   * drm_sched parks and resumes the TDR timer itself, so the group dies after 5 s of residency.
   * drm_dep cannot park its timer [I]: when it fires before the residency budget is used up the
   * driver answers NO_HANG and drm_dep re-arms a full period, so the hang is found at the next
   * multiple of the timeout. A job submitted in between is rejected on drm_sched (-EINVAL) and
   * accepted, then timed out, on drm_dep.
   */
  it('#evicted-tdr-granularity: a hang in a rotating group is found later on drm_dep', () => {
    const evicted = (backend: Backend) => {
      const r = rig(backend, { csg_slots: 1 });
      const a = r.dev.open_client('a');
      const b = r.dev.open_client('b');
      const aq = queue(r, a);
      const bq = queue(r, b);
      const hung = submit(r, aq, 1 * MS, [], true);
      const busy = submit(r, bq, 2 * S); // shares the slot with a for ~4 s
      r.k.run_for(8 * S);
      const late = r.k.run_task(r.dev.submit(aq, { duration_ns: 1 * MS, deps: [] }));
      r.k.run_for(4 * S);
      const res = { killed_at: done_at(hung), busy: outcome(busy), late: typeof late === 'number' ? late : outcome(late) };
      expect(teardown(r, [a, b])).toBe(0);
      expect(violations(r)).toEqual([]);
      return res;
    };
    const s = evicted('sched');
    const d = evicted('dep');
    expect(s.busy).toBe(0);
    expect(d.busy).toBe(0);
    expect(s.killed_at).toBeGreaterThan(6.9 * S); // ~2 s resident while rotating + 3 s alone
    expect(s.killed_at).toBeLessThan(7.2 * S);
    expect(d.killed_at).toBeGreaterThan(10 * S);
    expect(d.killed_at).toBeLessThan(10.1 * S);
    expect(s.late).toBe(-EINVAL);
    expect(d.late).toBe(-ETIMEDOUT);
  });

  /**
   * #busy-queue-postpones-tdr: jobs keep arriving behind a hung one. drm_sched re-arms the TDR
   * at every job start, so the hang is found 5 s after the last submission; drm_dep times the
   * head job, finds it 5 s after it became the head, and later submits fail with -EINVAL.
   */
  it('#busy-queue-postpones-tdr: a stream behind a hung job delays its detection on drm_sched only', () => {
    const stream = (backend: Backend) => {
      const r = rig(backend);
      const c = r.dev.open_client('app');
      const q = queue(r, c);
      const hung = submit(r, q, 1 * MS, [], true);
      const later: (JobHandle | number)[] = [];
      r.k.run_for(500 * MS);
      for (let i = 0; i < 9; i++) {
        r.k.run_for(1 * S);
        later.push(r.k.run_task(r.dev.submit(q, { duration_ns: 1 * MS, deps: [] })));
      }
      r.k.run_for(10 * S);
      const res = { killed_at: done_at(hung), later: later.map((j) => (typeof j === 'number' ? j : outcome(j))) };
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
      return res;
    };
    const s = stream('sched');
    const d = stream('dep');
    expect(s.killed_at).toBeGreaterThan(14.5 * S); // 5 s after the 9th submission (t = 9.5 s)
    expect(s.killed_at).toBeLessThan(14.6 * S);
    expect(s.later).toEqual(s.later.map(() => -ETIMEDOUT));
    expect(d.killed_at).toBeGreaterThan(5 * S);
    expect(d.killed_at).toBeLessThan(5.1 * S);
    expect(d.later).toEqual([-ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
  });
});
