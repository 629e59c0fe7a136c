/**
 * The HW-queue layer on a fake in-order ring: priorities, credit sharing, FIFO / RR / FAIR
 * selection, the ring TDR and its arming rule, a ring reset, teardown under load, the
 * teardown barriers, bad arguments. Every scenario also asserts that the substrate's checks
 * (lockdep, dma-fence signalling, lifetimes, leaks) report nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  dma_fence, dma_fence_add_callback, dma_fence_cb, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_signal, ECANCELED,
  EINVAL, EBUSY, ETIMEDOUT, MAX_SCHEDULE_TIMEOUT, spin_lock_init, type Sleepable,
} from '@deplab/sim';
import {
  DRM_DEP_QUEUE_FLAGS_ALL, DRM_DEP_TIMEDOUT_RESET, drm_dep_queue_kill, drm_dep_queue_put, drm_dep_queue_trigger_timeout,
} from '@deplab/drm-dep';
import {
  DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, DRM_DEP_HW_POLICY_RR, DRM_DEP_HW_PRIORITY_HIGH,
  DRM_DEP_HW_PRIORITY_LOW, DRM_DEP_HW_PRIORITY_NORMAL, drm_dep_hw_job, drm_dep_hw_job_complete, drm_dep_hw_job_init,
  drm_dep_hw_job_resubmit, drm_dep_hw_queue, drm_dep_hw_queue_init, drm_dep_hw_queue_kill, drm_dep_hw_queue_set_priority,
  drm_dep_hw_ring, drm_dep_hw_ring_credit_count, drm_dep_hw_ring_fini, drm_dep_hw_ring_for_each_pending_job,
  drm_dep_hw_ring_init, drm_dep_hw_ring_queue_count, drm_dep_hw_ring_start, drm_dep_hw_ring_stop,
  type drm_dep_hw_ring_ops,
} from './index.ts';
import {
  fake_complete_head, fake_hw_reset, fake_queue_create, fake_rig_create, fake_rig_teardown, fake_submit,
  type fake_hw_job, type fake_rig,
} from './fake_ring.testlib.ts';

const MS = 1_000_000;

function violations(rig: fake_rig): string[] {
  return rig.kernel.violations.list.map((v) => `${v.kind} at ${v.site}: ${v.message}`);
}

/** Run until the hardware took `n` jobs in all. */
function run_until_ran(rig: fake_rig, n: number): void {
  rig.kernel.run_until(() => rig.run_log.length >= n);
}

/** An unsignalled external fence (another driver's), and how to signal it. */
function external_fence(rig: fake_rig): dma_fence {
  const k = rig.kernel;
  const f = new dma_fence(k, 'external');
  dma_fence_init(f, { get_driver_name: () => 'ext', get_timeline_name: () => 'ext' }, spin_lock_init(k, 'ext.lock'), k.dma_fence_context_alloc(1), 1);
  return f;
}

/** Record the order in which `fences` signal (label:error), consuming the references at the end. */
function signal_order(labelled: [string, dma_fence][]): string[] {
  const order: string[] = [];
  for (const [label, f] of labelled) {
    const cb = new dma_fence_cb(null);
    if (dma_fence_add_callback(f, cb, (fence) => order.push(`${label}:${fence.error}`)) !== 0) order.push(`${label}:${f.error}`);
  }
  return order;
}

describe('priorities', () => {
  it('a higher level always goes first, whatever the push order', () => {
    const rig = fake_rig_create({ credit_limit: 1 });
    const low = fake_queue_create(rig, 'low', DRM_DEP_HW_PRIORITY_LOW);
    const normal = fake_queue_create(rig, 'normal', DRM_DEP_HW_PRIORITY_NORMAL);
    const high = fake_queue_create(rig, 'high', DRM_DEP_HW_PRIORITY_HIGH);
    const fences = [fake_submit(normal, 'block', Infinity).fence];
    run_until_ran(rig, 1);
    for (const [q, l] of [[low, 'L'], [normal, 'N'], [high, 'H']] as const) {
      for (let i = 1; i <= 3; i++) fences.push(fake_submit(q, `${l}${i}`, MS).fence);
    }
    rig.kernel.run_for(MS);
    fake_complete_head(rig);
    rig.kernel.run_all();
    expect(rig.run_log).toEqual(['block', 'H1', 'H2', 'H3', 'N1', 'N2', 'N3', 'L1', 'L2', 'L3']);
    fences.forEach(dma_fence_put);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });

  it('drm_dep_hw_queue_set_priority moves a queue with staged jobs to its new level at once', () => {
    const rig = fake_rig_create({ credit_limit: 1 });
    const a = fake_queue_create(rig, 'a');
    const b = fake_queue_create(rig, 'b');
    const fences = [fake_submit(a, 'block', Infinity).fence];
    run_until_ran(rig, 1);
    fences.push(fake_submit(a, 'A1', MS).fence, fake_submit(b, 'B1', MS).fence);
    rig.kernel.run_for(MS);
    expect(drm_dep_hw_queue_set_priority(b, DRM_DEP_HW_PRIORITY_HIGH)).toBe(0);
    expect(drm_dep_hw_queue_set_priority(b, 9)).toBe(-EINVAL);
    fake_complete_head(rig);
    rig.kernel.run_all();
    expect(rig.run_log).toEqual(['block', 'B1', 'A1']);
    fences.forEach(dma_fence_put);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });
});

describe('credits', () => {
  it('every queue of a ring draws on one credit pool: never more on the hardware than the ring holds', () => {
    const rig = fake_rig_create({ credit_limit: 2 });
    const queues = [0, 1, 2].map((i) => fake_queue_create(rig, `q${i}`));
    const fences = queues.flatMap((q, i) => [1, 2, 3, 4].map((j) => fake_submit(q, `${i}.${j}`, MS).fence));
    rig.kernel.run_all();
    expect(rig.run_log).toHaveLength(12);
    expect(Math.max(...rig.credits_at_run)).toBe(2);
    expect(drm_dep_hw_ring_credit_count(rig.ring)).toBe(0);
    expect(fences.every((f) => f.signaled && f.error === 0)).toBe(true);
    fences.forEach(dma_fence_put);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });

  it('a job asking for more credits than the ring has is refused at init', () => {
    const rig = fake_rig_create({ credit_limit: 2 });
    const q = fake_queue_create(rig, 'q');
    const job = new drm_dep_hw_job(rig.kernel);
    expect(drm_dep_hw_job_init(job, q, 3)).toBe(-EINVAL);
    expect(drm_dep_hw_job_init(job, q, 0)).toBe(-EINVAL);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });
});

describe('selection within a level', () => {
  /** q0 pushes a and c, then (1 us later) q1 pushes b and d, while a blocker holds the ring. */
  function two_queues(policy: number): string[] {
    const rig = fake_rig_create({ credit_limit: 1, policy });
    const blocker = fake_queue_create(rig, 'blocker');
    const q0 = fake_queue_create(rig, 'q0');
    const q1 = fake_queue_create(rig, 'q1');
    const fences = [fake_submit(blocker, 'block', Infinity).fence];
    run_until_ran(rig, 1);
    fences.push(fake_submit(q0, 'a', MS).fence, fake_submit(q0, 'c', MS).fence);
    rig.kernel.run_for(1000);
    fences.push(fake_submit(q1, 'b', MS).fence, fake_submit(q1, 'd', MS).fence);
    rig.kernel.run_for(MS);
    fake_complete_head(rig);
    rig.kernel.run_all();
    fences.forEach(dma_fence_put);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
    return rig.run_log.slice(1);
  }

  it('FIFO takes the queue whose oldest ready job was pushed first', () => {
    expect(two_queues(DRM_DEP_HW_POLICY_FIFO)).toEqual(['a', 'c', 'b', 'd']);
  });

  it('RR sends a queue to the back of its level after each job', () => {
    expect(two_queues(DRM_DEP_HW_POLICY_RR)).toEqual(['a', 'b', 'c', 'd']);
  });

  /** Two always-busy queues of 1 ms jobs for 200 ms under FAIR; GPU time of each, ms. */
  function fair_share(p0: number, p1: number): [number, number] {
    const rig = fake_rig_create({ credit_limit: 1, policy: DRM_DEP_HW_POLICY_FAIR });
    const q = [fake_queue_create(rig, 'q0', p0), fake_queue_create(rig, 'q1', p1)];
    const fences = q.flatMap((queue, i) => Array.from({ length: 200 }, () => fake_submit(queue, `${i}`, MS).fence));
    rig.kernel.run_for(200 * MS);
    const share: [number, number] = [0, 0];
    for (const label of rig.run_log.slice(0, 190)) share[Number(label)]++;
    rig.kernel.run_all();
    fences.forEach(dma_fence_put);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
    return share;
  }

  it('FAIR splits the ring evenly between equal priorities', () => {
    const [a, b] = fair_share(DRM_DEP_HW_PRIORITY_NORMAL, DRM_DEP_HW_PRIORITY_NORMAL);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(4);
  });

  it('FAIR weighs priorities by vruntime shift: NORMAL gets several times the GPU time of LOW', () => {
    const [normal, low] = fair_share(DRM_DEP_HW_PRIORITY_NORMAL, DRM_DEP_HW_PRIORITY_LOW);
    expect(normal / low).toBeGreaterThan(4);
    expect(low).toBeGreaterThan(0); // weighted, not strict: LOW is not starved
  });
});

describe('same-ring dependencies', () => {
  /** A (queue a) then B (queue b) waiting for A's finished fence, on a ring two jobs deep: when B ends, ns after A. */
  function b_after_a_ns(no_pipeline: boolean): number {
    const rig = fake_rig_create({ credit_limit: 2, no_pipeline });
    const a = fake_queue_create(rig, 'a'), b = fake_queue_create(rig, 'b');
    const ja = fake_submit(a, 'A', 5 * MS);
    const jb = fake_submit(b, 'B', 5 * MS, [dma_fence_get(ja.fence)]);
    rig.kernel.run_all();
    expect([ja.fence.error, jb.fence.error]).toEqual([0, 0]);
    const gap = jb.fence.timestamp_ns - ja.fence.timestamp_ns;
    dma_fence_put(ja.fence);
    dma_fence_put(jb.fence);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
    return gap;
  }

  /**
   * X1, X2 fill a two-deep ring; A (queue a) is staged behind them; B (queue b, higher
   * priority: it would go first) waits for A: B's end after A's.
   */
  function b_after_staged_a_ns(no_pipeline: boolean): number {
    const rig = fake_rig_create({ credit_limit: 2, no_pipeline });
    const c = fake_queue_create(rig, 'c'), a = fake_queue_create(rig, 'a'), b = fake_queue_create(rig, 'b', DRM_DEP_HW_PRIORITY_HIGH);
    const xs = [fake_submit(c, 'X1', 5 * MS), fake_submit(c, 'X2', 5 * MS)];
    run_until_ran(rig, 2);
    const ja = fake_submit(a, 'A', 5 * MS);
    const jb = fake_submit(b, 'B', 5 * MS, [dma_fence_get(ja.fence)]);
    rig.kernel.run_all();
    expect([ja.fence.error, jb.fence.error]).toEqual([0, 0]);
    const gap = jb.fence.timestamp_ns - ja.fence.timestamp_ns;
    for (const j of [...xs, ja, jb]) dma_fence_put(j.fence);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
    return gap;
  }

  it('a job waiting for a job of another queue still staged behind others waits only until that job reaches the ring', () => {
    // The lookup finds A among its queue's jobs not yet on the ring (by seqno): B follows A on
    // the ring and ends one job after it; without pipelining it waits for A's completion.
    const pipelined = b_after_staged_a_ns(false), waited = b_after_staged_a_ns(true);
    expect(pipelined).toBeGreaterThanOrEqual(5 * MS); // not before A, though B's queue has the higher priority
    expect(pipelined - 5 * MS).toBeLessThan(5_000);
    expect(waited - pipelined).toBeGreaterThan(5_000);
  });

  it('a job waiting for a job of another queue of the ring goes to the ring behind it, not after it is done', () => {
    // Pipelined, B is on the ring when A completes and starts from the same interrupt: it ends
    // one job later (plus the interrupt handler's few microseconds); not pipelined, it also
    // waits for drm_dep's and the ring's workers after A's completion.
    const pipelined = b_after_a_ns(false), waited = b_after_a_ns(true);
    expect(pipelined - 5 * MS).toBeLessThan(5_000);
    expect(waited - pipelined).toBeGreaterThan(5_000);
  });
});

describe('ring timeout and reset', () => {
  /** A hung job at the ring head, then a job started behind it at 50 ms and one at 90 ms. */
  function hang_with_traffic(arm: 'head' | 'every_start'): { at_ms: number; rig: fake_rig; errors: number[] } {
    const rig = fake_rig_create({ credit_limit: 4, timeout_ms: 100 }, { assume: { 'dep-hw.tdr_arm': arm } });
    const q = fake_queue_create(rig, 'q');
    const other = fake_queue_create(rig, 'other');
    const fences = [fake_submit(q, 'hung', Infinity).fence];
    rig.kernel.run_for(50 * MS);
    fences.push(fake_submit(other, 'x', MS).fence);
    rig.kernel.run_for(40 * MS);
    fences.push(fake_submit(other, 'y', MS).fence);
    rig.kernel.run_all();
    const errors = fences.map((f) => f.error);
    fences.forEach(dma_fence_put);
    fake_rig_teardown(rig);
    return { at_ms: rig.timedout_at_ns[0] / MS, rig, errors };
  }

  it('the ring TDR times the oldest job on the ring: jobs started behind a hang do not postpone it', () => {
    const r = hang_with_traffic('head');
    expect(r.rig.timedout).toEqual(['hung']);
    expect(r.at_ms).toBeGreaterThanOrEqual(100);
    expect(r.at_ms).toBeLessThan(101);
    expect(r.errors).toEqual([-ETIMEDOUT, 0, 0]);
    expect(violations(r.rig)).toEqual([]);
  });

  it("with drm_sched's arming (dep-hw.tdr_arm=every_start) every job start pushes the timeout out", () => {
    const r = hang_with_traffic('every_start');
    expect(r.rig.timedout).toEqual(['hung']);
    expect(r.at_ms).toBeGreaterThanOrEqual(190);
    expect(r.at_ms).toBeLessThan(191);
    expect(violations(r.rig)).toEqual([]);
  });

  it('drm_dep_queue_trigger_timeout on a HW queue runs the ring TDR at once', () => {
    const rig = fake_rig_create({ credit_limit: 1 });
    const q = fake_queue_create(rig, 'q');
    const { fence } = fake_submit(q, 'hung', Infinity);
    run_until_ran(rig, 1);
    const t0 = rig.kernel.now();
    drm_dep_queue_trigger_timeout(q);
    rig.kernel.run_all();
    expect(rig.timedout).toEqual(['hung']);
    expect(rig.timedout_at_ns[0] - t0).toBeLessThan(MS);
    expect(fence.error).toBe(-ETIMEDOUT);
    dma_fence_put(fence);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });

  it('reset: stop the ring, complete the guilty job, resubmit the innocent one, start: the other queues carry on', () => {
    const rig = fake_rig_create({ credit_limit: 2, timeout_ms: 100 });
    const bad = fake_queue_create(rig, 'bad');
    const good = fake_queue_create(rig, 'good');
    rig.on_timeout = function* (guilty: fake_hw_job): Sleepable<typeof DRM_DEP_TIMEDOUT_RESET> {
      yield* drm_dep_hw_ring_stop(rig.ring);
      fake_hw_reset(rig);
      drm_dep_hw_ring_for_each_pending_job<fake_hw_job>(rig.ring, (job) => {
        if (job === guilty) drm_dep_hw_job_complete(job, -ETIMEDOUT);
        else drm_dep_hw_job_resubmit(job);
      });
      drm_dep_hw_ring_start(rig.ring);
      return DRM_DEP_TIMEDOUT_RESET;
    };
    const g = fake_submit(bad, 'G', Infinity);
    const i = fake_submit(good, 'I', 5 * MS);
    const j = fake_submit(good, 'J', 5 * MS);
    rig.kernel.run_all();
    expect(rig.timedout).toEqual(['G']);
    expect(rig.run_log).toEqual(['G', 'I', 'I', 'J']);
    expect([g.fence.error, i.fence.error, j.fence.error]).toEqual([-ETIMEDOUT, 0, 0]);
    expect(i.job.runs).toBe(2);
    for (const f of [g.fence, i.fence, j.fence]) dma_fence_put(f);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });
});

describe('teardown', () => {
  for (const flags of [0, DRM_DEP_QUEUE_FLAGS_ALL]) {
    it(`kill under load (queue flags ${flags}): the job on the ring finishes, the staged and the waiting ones are cancelled, in order`, () => {
      const rig = fake_rig_create({ credit_limit: 1 });
      const q = fake_queue_create(rig, 'q', DRM_DEP_HW_PRIORITY_NORMAL, flags);
      const other = fake_queue_create(rig, 'other', DRM_DEP_HW_PRIORITY_NORMAL, flags);
      const ext = external_fence(rig);
      const a = fake_submit(q, 'A', Infinity);
      run_until_ran(rig, 1);
      const b = fake_submit(q, 'B', MS);
      const c = fake_submit(q, 'C', MS, [dma_fence_get(ext)]);
      const d = fake_submit(other, 'D', MS);
      rig.kernel.run_for(MS);
      const order = signal_order([['A', a.fence], ['B', b.fence], ['C', c.fence], ['D', d.fence]]);
      drm_dep_hw_queue_kill(q);
      drm_dep_queue_put(q);
      rig.queues.splice(rig.queues.indexOf(q), 1);
      rig.kernel.run_for(10 * MS);
      expect(order).toEqual([]); // A still runs; B waits for it, C for A and its dependency
      fake_complete_head(rig);
      rig.kernel.run_for(10 * MS);
      dma_fence_signal(ext);
      rig.kernel.run_all();
      expect(order.filter((o) => !o.startsWith('D'))).toEqual(['A:0', `B:${-ECANCELED}`, `C:${-ECANCELED}`]);
      expect(order).toContain('D:0');
      expect(rig.run_log).toEqual(['A', 'D']);
      expect(q.freed).toBe(true);
      dma_fence_put(ext);
      for (const f of [a.fence, b.fence, c.fence, d.fence]) dma_fence_put(f);
      fake_rig_teardown(rig);
      expect(violations(rig)).toEqual([]);
    });
  }

  it('a plain drm_dep_queue_kill is noticed by the ring: the staged job is cancelled once the ring is done with the queue', () => {
    const rig = fake_rig_create({ credit_limit: 1 });
    const q = fake_queue_create(rig, 'q');
    const a = fake_submit(q, 'A', 2 * MS);
    const b = fake_submit(q, 'B', MS);
    run_until_ran(rig, 1);
    drm_dep_queue_kill(q);
    rig.kernel.run_all();
    expect(rig.run_log).toEqual(['A']);
    expect([a.fence.error, b.fence.error]).toEqual([0, -ECANCELED]);
    for (const f of [a.fence, b.fence]) dma_fence_put(f);
    fake_rig_teardown(rig);
    expect(violations(rig)).toEqual([]);
  });

  it('drm_dep_hw_ring_fini waits until every queue of the ring has been freed', () => {
    const rig = fake_rig_create({ credit_limit: 1 });
    const q = fake_queue_create(rig, 'q');
    const a = fake_submit(q, 'A', 5 * MS);
    const k = rig.kernel;
    const fini = k.spawn('fini', drm_dep_hw_ring_fini(rig.ring));
    k.run_for(20 * MS);
    expect(fini.done).toBe(false);
    expect(drm_dep_hw_ring_queue_count(rig.ring)).toBe(1);
    drm_dep_hw_queue_kill(q);
    drm_dep_queue_put(q);
    k.run_all();
    expect(fini.done).toBe(true);
    expect(a.fence.error).toBe(0);
    dma_fence_put(a.fence);
    k.lifetime.check_leaks('test end');
    expect(violations(rig)).toEqual([]);
  });
});

describe('bad arguments', () => {
  it('ring init refuses bad limits, policies and levels with a WARN that names them, and a second init with -EBUSY', () => {
    const rig = fake_rig_create({ credit_limit: 1 });
    const k = rig.kernel;
    const ops: drm_dep_hw_ring_ops = { run_job: () => null, timedout_job: () => DRM_DEP_TIMEDOUT_RESET };
    const bad = [
      { credit_limit: 0, what: 'credit_limit' },
      { credit_limit: 1, policy: 7, what: 'policy' },
      { credit_limit: 1, levels: 5, what: 'levels' },
      { credit_limit: 1, timeout: -1, what: 'timeout' },
    ];
    for (const b of bad) {
      const ring = new drm_dep_hw_ring(k);
      expect(drm_dep_hw_ring_init(ring, { ops, name: 'r', credit_limit: b.credit_limit, policy: b.policy, levels: b.levels, timeout: b.timeout ?? MAX_SCHEDULE_TIMEOUT })).toBe(-EINVAL);
      expect(k.violations.list.at(-1)?.message).toContain(b.what);
    }
    expect(drm_dep_hw_ring_init(rig.ring, { ops, name: 'again', credit_limit: 1, timeout: MAX_SCHEDULE_TIMEOUT })).toBe(-EBUSY);
    const q = new drm_dep_hw_queue(k);
    expect(drm_dep_hw_queue_init(q, rig.ring, { name: 'q', priority: 4 })).toBe(-EINVAL);
    expect(k.violations.list.at(-1)?.message).toContain('priority 4');
    const before = k.violations.count();
    fake_rig_teardown(rig);
    expect(k.violations.count()).toBe(before);
  });
});
