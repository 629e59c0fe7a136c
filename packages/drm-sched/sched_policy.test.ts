/**
 * Entity selection: FIFO vs RR vs FAIR order, strict priority between run queues, the -ENOSPC
 * credit block that stops the walk, credit truncation, the priority clamp quirk, set_priority
 * and load balancing.
 */
import { describe, expect, it } from 'vitest';
import { ENOENT } from '@deplab/sim';
import {
  DRM_SCHED_POLICY_FAIR, DRM_SCHED_POLICY_FIFO, DRM_SCHED_POLICY_RR, DRM_SCHED_PRIORITY_HIGH,
  DRM_SCHED_PRIORITY_KERNEL, DRM_SCHED_PRIORITY_LOW, DRM_SCHED_PRIORITY_NORMAL, drm_sched_entity,
  drm_sched_entity_init, drm_sched_entity_modify_sched, drm_sched_entity_set_priority, drm_sched_job_arm, drm_sched_job_init,
  drm_sched_pick_best, type drm_sched_priority,
} from './index.ts';
import { fake_gpu_advance, fake_job, make_entity, make_job, make_kernel, make_sched, submit, type TestRig, US } from './fake_gpu.testlib.ts';

/** A scheduler with one credit and a manual blocker job on the HW. */
function blocked_rig(policy: number, credit_limit = 1): TestRig {
  const rig = make_sched(make_kernel(), { credit_limit, sched_policy: policy });
  const z = make_entity(rig, DRM_SCHED_PRIORITY_KERNEL);
  submit(make_job(rig, z, 'blocker'));
  rig.kernel.run_all();
  expect(rig.gpu.run_log).toEqual(['blocker']);
  return rig;
}

/** Push `spec` = [[entity index, label], ...] one µs apart, release the blocker, return the run order. */
function run_order(rig: TestRig, entities: drm_sched_entity[], spec: [number, string][]): string[] {
  for (const [i, label] of spec) {
    submit(make_job(rig, entities[i], label, 100));
    rig.kernel.run_for(1 * US);
  }
  rig.kernel.run_all();
  expect(rig.gpu.run_log).toEqual(['blocker']); // credit-blocked: nothing else ran
  fake_gpu_advance(rig.gpu, 1);
  rig.kernel.run_all();
  return rig.gpu.run_log.slice(1);
}

const PUSHES: [number, string][] = [[0, 'a1'], [0, 'a2'], [1, 'b1'], [2, 'c1'], [0, 'a3'], [1, 'b2']];

function three(rig: TestRig, prio: drm_sched_priority = DRM_SCHED_PRIORITY_NORMAL): drm_sched_entity[] {
  return [make_entity(rig, prio), make_entity(rig, prio), make_entity(rig, prio)];
}

describe('selection order within one run queue', () => {
  it('FIFO: by the head job\'s submit_ts, i.e. global submission order', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_FIFO);
    expect(run_order(rig, three(rig), PUSHES)).toEqual(['a1', 'a2', 'b1', 'c1', 'a3', 'b2']);
  });

  it('RR: a popped entity goes to the back (rq->rr_ts + 1); new entities start at 0 (front)', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_RR);
    expect(run_order(rig, three(rig), PUSHES)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('FIFO keeps the three entities in one tree sorted by key, equal keys after existing ones', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_RR);
    const es = three(rig);
    for (const e of es) submit(make_job(rig, e, 'x', 100)); // all RR key 0, same instant
    const rq = rig.sched.sched_rq![DRM_SCHED_PRIORITY_NORMAL]!;
    expect(rq.rb_tree.to_array()).toEqual(es);
  });
});

describe('priorities', () => {
  it('FIFO/RR: strict priority between run queues (HIGH pushed later still runs first)', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_FIFO);
    const n = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), h = make_entity(rig, DRM_SCHED_PRIORITY_HIGH);
    expect(run_order(rig, [n, h], [[0, 'n1'], [0, 'n2'], [1, 'h1'], [1, 'h2']])).toEqual(['h1', 'h2', 'n1', 'n2']);
  });

  function normal_vs_low(policy: number): string[] {
    const rig = make_sched(make_kernel(), { credit_limit: 1, sched_policy: policy });
    const n = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), l = make_entity(rig, DRM_SCHED_PRIORITY_LOW);
    for (let i = 0; i < 12; i++) submit(make_job(rig, n, `N${i}`, 1000));
    for (let i = 0; i < 12; i++) submit(make_job(rig, l, `L${i}`, 1000));
    rig.kernel.run_all();
    expect(rig.gpu.free_log.length).toBe(24);
    return rig.gpu.run_log;
  }

  it('FIFO starves LOW until NORMAL is drained', () => {
    const order = normal_vs_low(DRM_SCHED_POLICY_FIFO);
    expect(order.slice(0, 12).every((l) => l.startsWith('N'))).toBe(true);
  });

  it('FAIR (one rq, vruntime): LOW gets GPU time before NORMAL has drained', () => {
    const order = normal_vs_low(DRM_SCHED_POLICY_FAIR);
    // N0 runs, N1 is popped with N's vruntime still 0 (runtime lags until free), then N's
    // vruntime jumps to 1 ms << 4 and LOW (re-joined at (1 + 0 + 0) << 7 µs) goes first.
    expect(order.slice(0, 4)).toEqual(['N0', 'N1', 'L0', 'L1']);
    expect(order.indexOf('L0')).toBeLessThan(order.lastIndexOf('N11'));
    const rig = make_sched(make_kernel(), { sched_policy: DRM_SCHED_POLICY_FAIR });
    expect(rig.sched.num_rqs).toBe(1);
    expect(rig.sched.sched_rq!.length).toBe(4);
  });

  it('FAIR favours an interactive entity re-joining at the head (-1 ns before it); FIFO queues it behind', () => {
    for (const [policy, expected] of [[DRM_SCHED_POLICY_FAIR, ['a1', 'b1', 'a2', 'a3']], [DRM_SCHED_POLICY_FIFO, ['a1', 'a2', 'a3', 'b1']]] as const) {
      const rig = make_sched(make_kernel(), { credit_limit: 1, sched_policy: policy });
      const a = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), b = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
      for (const l of ['a1', 'a2', 'a3']) submit(make_job(rig, a, l, 1000));
      rig.kernel.run_for(500 * US);
      submit(make_job(rig, b, 'b1', 100));
      rig.kernel.run_all();
      expect(rig.gpu.run_log).toEqual(expected);
    }
  });

  it('set_priority never moves an entity between run queues (rq_priority fixed at init)', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_FIFO);
    const low = make_entity(rig, DRM_SCHED_PRIORITY_LOW), normal = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    drm_sched_entity_set_priority(low, DRM_SCHED_PRIORITY_KERNEL);
    const order = run_order(rig, [low, normal], [[0, 'l1'], [1, 'n1']]);
    expect(order).toEqual(['n1', 'l1']);
    expect(low.rq).toBe(rig.sched.sched_rq![DRM_SCHED_PRIORITY_LOW]);
  });

  it('priority clamp quirk: priority is clamped but rq_priority indexes sched_rq[] out of bounds', () => {
    const k = make_kernel();
    const rig = make_sched(k, { num_rqs: 2 });
    const e = new drm_sched_entity(k);
    expect(drm_sched_entity_init(e, DRM_SCHED_PRIORITY_LOW, [rig.sched], 1, null)).toBe(0);
    expect(e.priority).toBe(1);
    expect(e.rq).toBe(null);
    expect(k.violations.of_kind('bug')[0].message).toMatch(/slab-out-of-bounds read of sched->sched_rq\[3\]/);
    expect(drm_sched_job_init(new fake_job(k, rig.gpu, 'j', 0), e, 1, null, 1)).toBe(-ENOENT);
    // FAIR uses rq_priority KERNEL, so the same entity is fine there.
    const fair = make_sched(k, { num_rqs: 2, sched_policy: DRM_SCHED_POLICY_FAIR });
    const f = new drm_sched_entity(k);
    expect(drm_sched_entity_init(f, DRM_SCHED_PRIORITY_LOW, [fair.sched], 1, null)).toBe(0);
    expect(f.rq).toBe(fair.sched.sched_rq![0]);
    expect(f.priority).toBe(1);
  });
});

describe('credits', () => {
  it('-ENOSPC in a higher rq stops the walk: a fitting lower-priority job waits', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_FIFO, 2);
    const h = make_entity(rig, DRM_SCHED_PRIORITY_HIGH), n = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, h, 'h2credits', 100, 2));
    submit(make_job(rig, n, 'n1credit', 100, 1));
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['blocker']); // n1credit would fit the free credit, but is not run
    fake_gpu_advance(rig.gpu, 1);
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['blocker', 'h2credits', 'n1credit']);
  });

  it('-ENOSPC within one rq: the older entity keeps its place, the newer one is not considered', () => {
    const rig = blocked_rig(DRM_SCHED_POLICY_FIFO, 2);
    const a = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), b = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, a, 'a2', 100, 2));
    rig.kernel.run_for(US);
    submit(make_job(rig, b, 'b1', 100, 1));
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['blocker']);
  });

  it('a job above the credit limit is truncated to it with a dev_WARN', () => {
    const rig = make_sched(make_kernel(), { credit_limit: 2 });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'big', 100, 5);
    submit(j);
    rig.kernel.run_all();
    expect(rig.gpu.free_log).toEqual(['big']);
    expect(rig.kernel.violations.of_kind('warn').map((v) => v.message)).toEqual(['Jobs may not exceed the credit limit, truncate.']);
    expect(rig.sched.credit_count.counter).toBe(0);
  });
});

describe('load balancing', () => {
  it('pick_best takes the first ready scheduler with the lowest score', () => {
    const k = make_kernel();
    const s1 = make_sched(k, { name: 's1' }), s2 = make_sched(k, { name: 's2' }), s3 = make_sched(k, { name: 's3' });
    s1.sched.score.counter = 2;
    s2.sched.score.counter = 1;
    s3.sched.score.counter = 1;
    expect(drm_sched_pick_best([s1.sched, s2.sched, s3.sched], 3)).toBe(s2.sched);
    s2.sched.ready = false;
    expect(drm_sched_pick_best([s1.sched, s2.sched, s3.sched], 3)).toBe(s3.sched);
  });

  it('arm with no ready scheduler in the list dereferences a NULL entity->rq', () => {
    const k = make_kernel();
    const s1 = make_sched(k, { name: 's1' }), s2 = make_sched(k, { name: 's2' });
    const e = new drm_sched_entity(k);
    expect(drm_sched_entity_init(e, DRM_SCHED_PRIORITY_NORMAL, [s1.sched, s2.sched], 2, null)).toBe(0);
    const j = make_job(s1, e, 'j');
    s1.sched.ready = false; // amdgpu's "the HW died"
    s2.sched.ready = false;
    drm_sched_job_arm(j);
    expect(e.rq).toBe(null);
    expect(k.violations.of_kind('bug').map((v) => v.site)).toEqual(['drm_sched_job_arm']);
  });

  it('arm moves an idle entity to the least loaded scheduler; modify_sched takes effect only then', () => {
    const k = make_kernel();
    const s1 = make_sched(k, { name: 's1' }), s2 = make_sched(k, { name: 's2' });
    const busy = make_entity(s1, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(s1, busy, 'hog')); // manual: s1 score stays up (entity + job)
    const e = new drm_sched_entity(k);
    expect(drm_sched_entity_init(e, DRM_SCHED_PRIORITY_NORMAL, [s1.sched, s2.sched], 2, null)).toBe(0);
    expect(e.rq).toBe(s1.sched.sched_rq![DRM_SCHED_PRIORITY_NORMAL]);
    const j = make_job(s1, e, 'moved', 10);
    submit(j);
    expect(j.sched).toBe(s2.sched);
    k.run_all();
    expect(s2.gpu.free_log).toEqual(['moved']);
    drm_sched_entity_modify_sched(e, [s1.sched], 1);
    expect(e.rq).toBe(s2.sched.sched_rq![DRM_SCHED_PRIORITY_NORMAL]); // not yet
    const j2 = make_job(s1, e, 'back', 10);
    submit(j2);
    expect(j2.sched).toBe(s1.sched);
  });
});
