/**
 * Behaviour of the drm_dep model, scenario by scenario, against the fake firmware GPU.
 * Every test ends with the violation log checked: the model checks itself while it runs.
 */
import { describe, expect, it } from 'vitest';
import {
  alloc_ordered_workqueue, dma_fence, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_signal,
  dma_fence_timeline_name, dma_resv_add_fence, dma_resv_lock, dma_resv_unlock, DMA_RESV_USAGE_WRITE,
  drm_file, drm_gem_object, EBUSY, ECANCELED, EINVAL, ENOENT, ETIME, ETIMEDOUT, GFP_KERNEL, INIT_WORK, Kernel, kfree,
  kmalloc, queue_work, spin_lock_init, spin_lock_irqsave, spin_unlock_irqrestore, SimulationHang,
  WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM, fsleep, mutex, mutex_lock_sleepable, mutex_unlock, type Sleepable, EXACT_TIMING,
} from '@deplab/sim';
import {
  drm_dep_device, drm_dep_device_queue_count, drm_dep_device_wait_idle, drm_dep_job_add_dependency,
  drm_dep_job_add_implicit_dependencies, drm_dep_job_add_syncobj_dependency, drm_dep_job_arm,
  drm_dep_job_done, drm_dep_job_finished_fence, drm_dep_job_init, drm_dep_job_push, drm_dep_job_put,
  drm_dep_job_queue, drm_dep_queue, drm_dep_queue_credit_count, drm_dep_queue_for_each_pending_job,
  drm_dep_queue_get_unless_zero, drm_dep_queue_init, drm_dep_queue_is_killed, drm_dep_queue_kill, drm_dep_queue_name, drm_dep_queue_put, drm_dep_queue_release_done,
  drm_dep_queue_start,
  drm_dep_queue_stop, drm_dep_queue_trigger_timeout, DRM_DEP_QUEUE_FLAGS_ALL,
  DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS, DRM_DEP_TIMEDOUT_ENODEV,
  DRM_DEP_TIMEDOUT_NO_HANG, type drm_dep_timedout_stat,
} from './index.ts';
import {
  fake_gpu, fake_job, fake_job_create, fake_job_submit, fake_queue, fake_queue_complete, fake_queue_create,
  fake_queue_reset,
} from './fake_gpu.testlib.ts';

const MS = 1_000_000;
const DEP_TYPES = ['drm_dep_queue', 'drm_dep_job', 'drm_dep_fence', 'kmalloc:drm_dep_fence'];

function setup(): { k: Kernel; gpu: fake_gpu } {
  const k = new Kernel({ trace: 'record', ...EXACT_TIMING });
  return { k, gpu: new fake_gpu(k) };
}

function events(k: Kernel, name: string) {
  return k.trace.events.filter((e) => e.name === name);
}

/** Kill and put every queue, drain the simulation, and check nothing of drm_dep is left. */
function teardown_and_check(k: Kernel, queues: fake_queue[], fences: dma_fence[] = []): void {
  for (const f of fences) dma_fence_put(f);
  for (const q of queues) {
    drm_dep_queue_kill(q);
    drm_dep_queue_put(q);
  }
  k.run_all();
  expect(k.violations.format()).toBe('');
  expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  for (const q of queues) expect(q.log.at(-1)).toBe('free');
}

function submit_all(jobs: fake_job[]): dma_fence[] {
  const fences = jobs.map(fake_job_submit);
  for (const job of jobs) drm_dep_job_put(job);
  return fences;
}

describe('drm_dep_queue_init', () => {
  it('rejects bad arguments and a second init', () => {
    const { k, gpu } = setup();
    const ops = { run_job: () => null, timedout_job: () => DRM_DEP_TIMEDOUT_NO_HANG as drm_dep_timedout_stat };
    const base = { ops, name: 'q', credit_limit: 1, timeout: 100 };
    expect(drm_dep_queue_init(new drm_dep_queue(k), { ...base, credit_limit: 0 })).toBe(-EINVAL);
    expect(drm_dep_queue_init(new drm_dep_queue(k), { ...base, timeout: 0 })).toBe(-EINVAL);
    expect(drm_dep_queue_init(new drm_dep_queue(k), { ...base, flags: 1 << 7 })).toBe(-EINVAL);
    expect(drm_dep_queue_init(new drm_dep_queue(k), { ...base, name: '' })).toBe(-EINVAL);
    const q = fake_queue_create(gpu);
    expect(drm_dep_queue_init(q, base)).toBe(-EBUSY);
    expect(k.violations.count('warn')).toBe(1);
    k.violations.list.length = 0;
    teardown_and_check(k, [q]);
  });

  it('WARNs for a driver-given workqueue that is not reclaim annotated, accepts an annotated one', () => {
    const { k, gpu } = setup();
    const plain = alloc_ordered_workqueue(k, 'driver-wq', WQ_MEM_RECLAIM);
    const annotated = alloc_ordered_workqueue(k, 'driver-reclaim-wq', WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM);
    const bad = fake_queue_create(gpu, { submit_wq: plain });
    expect(k.violations.of_kind('warn').map((v) => v.message)).toEqual([
      'fake0: driver-given submit_wq driver-wq is not reclaim annotated (WQ_MEM_WARN_ON_RECLAIM)',
    ]);
    k.violations.list.length = 0;
    const good = fake_queue_create(gpu, { submit_wq: annotated, timeout_wq: annotated });
    expect(k.violations.count()).toBe(0);
    const fences = submit_all([fake_job_create(bad, MS), fake_job_create(good, MS)]);
    k.run_all();
    expect(fences.every((f) => f.signaled && f.error === 0)).toBe(true);
    teardown_and_check(k, [bad, good], fences);
  });
});

describe('normal flow', () => {
  it('runs jobs in order on the submit worker, signals each finished fence, frees through the put_job worker', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    const jobs = [1, 2, 3].map(() => fake_job_create(q, MS));
    const fences = submit_all(jobs);
    k.run_all();
    expect(fences.map((f) => [f.seqno, f.signaled, f.error])).toEqual([[1, true, 0], [2, true, 0], [3, true, 0]]);
    const done = events(k, 'drm_dep_job_done');
    expect(done.map((e) => e.args.fence_seqno)).toEqual([1, 2, 3]);
    expect(done.every((e) => e.context === 'irq/fake_gpu')).toBe(true);
    expect(events(k, 'drm_dep_job_run').every((e) => e.context.startsWith('kworker/fake0'))).toBe(true);
    expect(events(k, 'drm_dep_job_free').every((e) => e.context.startsWith('kworker/fake0'))).toBe(true);
    expect(q.release_job_contexts).toEqual(['kworker', 'kworker', 'kworker']);
    expect(jobs.every((j) => j.released)).toBe(true);
    // One submit-worker invocation ran all three (the worker drains the queue).
    const run_job_work = k.trace.events.filter((e) => e.name === 'workqueue_execute_start' && e.args.work === 'drm_dep_queue_run_job_work');
    expect(run_job_work.length).toBe(1);
    teardown_and_check(k, [q], fences);
  });

  it("keeps the finished fence's memory allocated from job init until the last put of the fence, which frees it; arm frees nothing", () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    const memory = () => k.lifetime.live(['kmalloc:drm_dep_fence']).length;
    const job = fake_job_create(q, MS);
    expect(memory()).toBe(1);
    const fence = fake_job_submit(job); // arm + push: the memory goes to the dma-fence core
    expect(memory()).toBe(1);
    drm_dep_job_put(job);
    k.run_all();
    expect(fence.signaled).toBe(true);
    expect(memory()).toBe(1); // the caller's reference keeps the fence, and its memory
    teardown_and_check(k, [q], [fence]); // its last put frees both
  });

  it('emits every tracepoint with exactly the keys the harness lines up with drm_sched', () => {
    const { k, gpu } = setup();
    const q0 = fake_queue_create(gpu);
    const q1 = fake_queue_create(gpu, { timeout_ms: 1 });
    const a = fake_job_create(q0, MS);
    const fa = fake_job_submit(a);
    const b = fake_job_create(q1, Infinity, { deps: [dma_fence_get(fa)] });
    const fb = fake_job_submit(b);
    drm_dep_job_put(a);
    drm_dep_job_put(b);
    k.run_all();
    teardown_and_check(k, [q0, q1], [fa, fb]);
    const job_keys = ['fence_context', 'fence_seqno', 'ring', 'job_count', 'hw_job_count', 'client_id'];
    const expected: Record<string, string[]> = {
      drm_dep_job_queue: job_keys,
      drm_dep_job_run: job_keys,
      drm_dep_job_done: ['fence_context', 'fence_seqno'],
      drm_dep_job_add_dep: ['fence_context', 'fence_seqno', 'dep_context', 'dep_seqno'],
      drm_dep_job_unschedulable: ['fence_context', 'fence_seqno', 'dep_context', 'dep_seqno'],
      drm_dep_job_free: ['fence_context', 'fence_seqno'],
      drm_dep_job_timedout: ['fence_context', 'fence_seqno', 'status'],
      drm_dep_tdr_start: ['fence_context', 'fence_seqno'],
      drm_dep_queue_kill: ['ring', 'fence_context'],
      drm_dep_queue_release: ['ring'],
      drm_dep_queue_free: ['ring'],
    };
    const seen = new Set<string>();
    for (const e of k.trace.events.filter((ev) => ev.name.startsWith('drm_dep_'))) {
      expect(Object.keys(e.args), e.name).toEqual(expected[e.name]);
      seen.add(e.name);
    }
    expect([...seen].sort()).toEqual(Object.keys(expected).sort());
    const timedout = events(k, 'drm_dep_job_timedout')[0];
    expect(timedout.args).toMatchObject({ fence_context: fb.context, fence_seqno: 1 });
    expect(events(k, 'drm_dep_tdr_start')[0].args).toEqual({ fence_context: fb.context, fence_seqno: 1 });
    expect(events(k, 'drm_dep_job_queue')[0].args).toMatchObject({ ring: 'fake0', fence_seqno: 1 });
  });
});

describe('dependencies', () => {
  it('a job waits for a job of another queue (unschedulable until its fence signals)', () => {
    const { k, gpu } = setup();
    const q0 = fake_queue_create(gpu);
    const q1 = fake_queue_create(gpu);
    const a = fake_job_create(q0, 2 * MS);
    const fa = fake_job_submit(a);
    const b = fake_job_create(q1, MS, { deps: [dma_fence_get(fa)] });
    const fb = fake_job_submit(b);
    drm_dep_job_put(a);
    drm_dep_job_put(b);
    k.run_all();
    const unsched = events(k, 'drm_dep_job_unschedulable');
    expect(unsched.map((e) => [e.args.dep_context, e.args.dep_seqno])).toEqual([[fa.context, 1]]);
    const run_b = events(k, 'drm_dep_job_run').find((e) => e.args.ring === 'fake1')!;
    expect(run_b.t_ns).toBeGreaterThan(fa.timestamp_ns);
    expect(fb.timestamp_ns - fa.timestamp_ns).toBeGreaterThanOrEqual(MS);
    teardown_and_check(k, [q0, q1], [fa, fb]);
  });

  it('deduplicates per context (later seqno wins), drops own-queue fences, always consumes the reference', () => {
    const { k, gpu } = setup();
    const q0 = fake_queue_create(gpu);
    const q1 = fake_queue_create(gpu);
    const older = fake_job_create(q0, MS);
    const newer = fake_job_create(q0, MS);
    const f_older = fake_job_submit(older);
    const f_newer = fake_job_submit(newer);
    const own = fake_job_create(q1, MS);
    const f_own = fake_job_submit(own);
    const job = fake_job_create(q1, MS);
    expect(drm_dep_job_add_dependency(job, dma_fence_get(f_older))).toBe(0);
    expect(drm_dep_job_add_dependency(job, dma_fence_get(f_newer))).toBe(0);
    expect(drm_dep_job_add_dependency(job, dma_fence_get(f_older))).toBe(0);
    expect(drm_dep_job_add_dependency(job, dma_fence_get(f_own))).toBe(0);
    expect(drm_dep_job_add_dependency(job, null)).toBe(0);
    // One reference each from the test; the job keeps only f_newer.
    expect([f_older.refcount.refcount, f_newer.refcount.refcount, f_own.refcount.refcount]).toEqual([2, 3, 2]);
    const f_job = fake_job_submit(job);
    const deps = events(k, 'drm_dep_job_add_dep').filter((e) => e.args.fence_context === f_job.context);
    expect(deps.map((e) => [e.args.dep_context, e.args.dep_seqno])).toEqual([[f_newer.context, 2]]);
    for (const j of [older, newer, own, job]) drm_dep_job_put(j);
    k.run_all();
    teardown_and_check(k, [q0, q1], [f_older, f_newer, f_own, f_job]);
  });

  it('stores one dependency in the xarray head and allocates a node for the second context, as xa_alloc does; the allocation checks apply to every add', () => {
    const { k, gpu } = setup();
    const [q0, q1, q2] = [fake_queue_create(gpu), fake_queue_create(gpu), fake_queue_create(gpu)];
    const a = fake_job_create(q0, MS), b = fake_job_create(q1, MS);
    const [fa, fb] = [fake_job_submit(a), fake_job_submit(b)];
    const nodes = () => k.lifetime.live(['kmalloc:xa_node']).length;
    const job = fake_job_create(q2, MS);
    expect(drm_dep_job_add_dependency(job, dma_fence_get(fa))).toBe(0);
    expect(nodes()).toBe(0);
    expect(drm_dep_job_add_dependency(job, dma_fence_get(fb))).toBe(0);
    expect(nodes()).toBe(1);
    // A dependency added in atomic context is a GFP_KERNEL allocation there, node or not.
    const single = fake_job_create(q2, MS);
    const lock = spin_lock_init(k, 'test.lock');
    const flags = spin_lock_irqsave(lock);
    expect(drm_dep_job_add_dependency(single, dma_fence_get(fa))).toBe(0);
    spin_unlock_irqrestore(lock, flags);
    expect(k.violations.of_kind('gfp_in_atomic').map((v) => v.site)).toEqual(['xa_node']);
    k.violations.list.length = 0;
    const fj = [fake_job_submit(job), fake_job_submit(single)];
    for (const j of [a, b, job, single]) drm_dep_job_put(j);
    k.run_all();
    expect(nodes()).toBe(0);
    teardown_and_check(k, [q0, q1, q2], [fa, fb, ...fj]);
  });

  it('takes dependencies from a syncobj and from a GEM object reservation (implicit sync)', () => {
    const { k, gpu } = setup();
    const q0 = fake_queue_create(gpu);
    const q1 = fake_queue_create(gpu);
    const writer = fake_job_create(q0, 3 * MS);
    const f_writer = fake_job_submit(writer);
    const other = fake_job_create(q0, MS);
    const bo = new drm_gem_object(k, 'bo');
    dma_resv_lock(bo.resv);
    dma_resv_add_fence(bo.resv, f_writer, DMA_RESV_USAGE_WRITE);
    const reader = fake_job_create(q1, MS);
    expect(drm_dep_job_add_implicit_dependencies(reader, bo, false)).toBe(0);
    dma_resv_unlock(bo.resv);
    const file = new drm_file(k, 'client');
    const f_other = fake_job_submit(other);
    const handle = file.create_syncobj(f_other);
    expect(drm_dep_job_add_syncobj_dependency(reader, file, handle, 0)).toBe(0);
    expect(drm_dep_job_add_syncobj_dependency(reader, file, 99, 0)).toBe(-ENOENT);
    const f_reader = fake_job_submit(reader);
    for (const j of [writer, other, reader]) drm_dep_job_put(j);
    k.run_all();
    // Both q0 fences share one context: the later one (f_other) replaces the writer's.
    const deps = events(k, 'drm_dep_job_add_dep').filter((e) => e.args.fence_context === f_reader.context);
    expect(deps.map((e) => e.args.dep_seqno)).toEqual([2]);
    expect(f_reader.timestamp_ns).toBeGreaterThan(f_other.timestamp_ns);
    dma_fence_put(bo.resv.fences[0].fence);
    dma_fence_put(file.syncobjs.get(handle)!.fence);
    teardown_and_check(k, [q0, q1], [f_writer, f_other, f_reader]);
  });
});

describe('credits (flow control)', () => {
  it('keeps at most credit_limit credits in flight; completion restarts a credit-blocked queue', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { credit_limit: 3 });
    const jobs = [2, 1, 2, 1, 3].map((credits) => fake_job_create(q, MS, { credits }));
    const fences = submit_all(jobs);
    let max_credits = 0;
    let max_ring = 0;
    while (k.step()) {
      max_credits = Math.max(max_credits, drm_dep_queue_credit_count(q));
      max_ring = Math.max(max_ring, q.ring.length);
    }
    expect(max_credits).toBe(3);
    expect(max_ring).toBe(2);
    expect(fences.every((f) => f.signaled && f.error === 0)).toBe(true);
    expect(fences.map((f) => f.timestamp_ns)).toEqual([...fences.map((f) => f.timestamp_ns)].sort((a, b) => a - b));
    teardown_and_check(k, [q], fences);
  });

  it('rejects a job asking for more credits than the queue has', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { credit_limit: 2 });
    expect(drm_dep_job_init(new fake_job(k, MS), q, 3)).toBe(-EINVAL);
    expect(drm_dep_job_init(new fake_job(k, MS), q, 0)).toBe(-EINVAL);
    teardown_and_check(k, [q]);
  });
});

describe('timeout (TDR)', () => {
  it('times out the oldest pending job one timeout after it started; later run_jobs do not push it out', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { timeout_ms: 10 });
    const hung = fake_job_create(q, Infinity);
    const fences = submit_all([hung]);
    k.run_for(5 * MS);
    fences.push(...submit_all([fake_job_create(q, MS)]));
    k.run_all();
    const [timedout] = events(k, 'drm_dep_job_timedout');
    const run = events(k, 'drm_dep_job_run')[0];
    expect(timedout.args.fence_seqno).toBe(1);
    expect(timedout.t_ns - run.t_ns).toBeGreaterThanOrEqual(10 * MS);
    expect(timedout.t_ns - run.t_ns).toBeLessThan(11 * MS + 20_000);
    expect(fences.map((f) => f.error)).toEqual([-ETIMEDOUT, 0]);
    expect(q.timeouts).toBe(1);
    teardown_and_check(k, [q], fences);
  });

  it('gives a new head job a full timeout of its own', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { timeout_ms: 10 });
    const fences = submit_all([fake_job_create(q, 8 * MS), fake_job_create(q, 8 * MS)]);
    k.run_all();
    expect(events(k, 'drm_dep_job_timedout')).toEqual([]);
    expect(fences.map((f) => f.error)).toEqual([0, 0]);
    teardown_and_check(k, [q], fences);
  });

  it('drm_dep_queue_trigger_timeout fires once, at once; with nothing pending it does nothing and leaves nothing behind', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    drm_dep_queue_trigger_timeout(q);
    k.run_all();
    expect(q.timeouts).toBe(0);
    const fences = submit_all([fake_job_create(q, Infinity), fake_job_create(q, Infinity)]);
    k.run_for(10 * MS);
    expect(q.timeouts).toBe(0); // the idle trigger did not poison later jobs
    const t0 = k.now();
    drm_dep_queue_trigger_timeout(q);
    k.run_for(10 * MS);
    expect(q.timeouts).toBe(1); // the head only: the next head has no timeout (none configured)
    expect(events(k, 'drm_dep_job_timedout')[0].t_ns - t0).toBeLessThan(20_000);
    expect(fences.map((f) => [f.signaled, f.error])).toEqual([[true, -ETIMEDOUT], [false, 0]]);
    drm_dep_queue_trigger_timeout(q);
    k.run_all();
    expect(fences.map((f) => f.error)).toEqual([-ETIMEDOUT, -ETIMEDOUT]);
    teardown_and_check(k, [q], fences);
  });

  it('a trigger that races the completion of the head job still times out the next head at once', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { timeout_ms: 100 });
    const fences = submit_all([fake_job_create(q, Infinity), fake_job_create(q, Infinity)]);
    k.run_for(MS);
    drm_dep_queue_trigger_timeout(q); // TDR queued...
    fake_queue_complete(q); // ...but the head completes first (hardirq): re-armed with delay 0
    k.run_for(MS);
    expect(fences.map((f) => f.error)).toEqual([0, -ETIMEDOUT]);
    expect(q.timeouts).toBe(1);
    teardown_and_check(k, [q], fences);
  });

  it('re-arms after NO_HANG, not after ENODEV', () => {
    for (const status of [DRM_DEP_TIMEDOUT_NO_HANG, DRM_DEP_TIMEDOUT_ENODEV] as const) {
      const { k, gpu } = setup();
      const q = fake_queue_create(gpu, { timeout_ms: 10, ops: { timedout_job: () => status } });
      const fences = submit_all([fake_job_create(q, Infinity)]);
      k.run_for(35 * MS);
      expect(events(k, 'drm_dep_job_timedout').map((e) => e.args.status)).toEqual(status === DRM_DEP_TIMEDOUT_NO_HANG ? [3, 3, 3] : [2]);
      fake_queue_complete(q);
      teardown_and_check(k, [q], fences);
    }
  });
});

describe('stop / start', () => {
  it('a stopped queue runs nothing but still completes in-flight jobs; start resumes', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { timeout_ms: 5 });
    const first = submit_all([fake_job_create(q, 2 * MS)]);
    k.run_for(MS);
    k.run_task(drm_dep_queue_stop(q));
    const later = submit_all([fake_job_create(q, MS)]);
    k.run_for(20 * MS);
    expect(first[0].signaled).toBe(true);
    expect(later[0].signaled).toBe(false);
    expect(events(k, 'drm_dep_job_run').length).toBe(1);
    expect(events(k, 'drm_dep_job_free').length).toBe(0); // put_job worker paused too
    drm_dep_queue_start(q);
    k.run_all();
    expect(later[0].signaled).toBe(true);
    expect(events(k, 'drm_dep_job_free').length).toBe(2);
    expect(events(k, 'drm_dep_job_timedout')).toEqual([]);
    teardown_and_check(k, [q], [...first, ...later]);
  });

  it('an xe-like TDR stops the queue, errors every pending job (-ETIME head, -ECANCELED rest) and starts it', () => {
    const { k, gpu } = setup();
    const seen: number[] = [];
    const q: fake_queue = fake_queue_create(gpu, {
      timeout_ms: 10,
      ops: {
        *timedout_job(job: fake_job): Sleepable<drm_dep_timedout_stat> {
          const queue = drm_dep_job_queue<fake_queue>(job);
          yield* drm_dep_queue_stop(queue);
          drm_dep_queue_for_each_pending_job<fake_job>(queue, (j) => seen.push(j.run_count));
          fake_queue_reset(queue, -ETIME, -ECANCELED);
          drm_dep_queue_start(queue);
          return DRM_DEP_TIMEDOUT_NO_HANG;
        },
      },
    });
    const fences = submit_all([fake_job_create(q, Infinity), fake_job_create(q, MS), fake_job_create(q, MS)]);
    k.run_for(15 * MS);
    const after = submit_all([fake_job_create(q, MS)]);
    k.run_all();
    expect(seen).toEqual([1, 1, 1]);
    expect(fences.map((f) => f.error)).toEqual([-ETIME, -ECANCELED, -ECANCELED]);
    expect(after[0].error).toBe(0);
    teardown_and_check(k, [q], [...fences, ...after]);
  });

  it('WARNs when pending jobs are iterated on a running queue', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    drm_dep_queue_for_each_pending_job(q, () => undefined);
    expect(k.violations.of_kind('warn').length).toBe(1);
    k.violations.list.length = 0;
    teardown_and_check(k, [q]);
  });
});

describe('kill', () => {
  it('cancels unstarted jobs with -ECANCELED after the started ones, leaves started jobs to the hardware, returns at once', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { credit_limit: 2 });
    const fences = submit_all([1, 2, 3, 4].map(() => fake_job_create(q, 4 * MS)));
    k.run_for(MS);
    expect(q.ring.length).toBe(2);
    const late = fake_job_create(q, MS); // initialised before the kill, pushed after
    drm_dep_queue_kill(q);
    const t_kill = k.now();
    expect(drm_dep_job_init(new fake_job(k, MS), q, 1)).toBe(-ECANCELED);
    fences.push(...submit_all([late]));
    k.run_all();
    expect(fences.map((f) => f.error)).toEqual([0, 0, -ECANCELED, -ECANCELED, -ECANCELED]);
    expect(events(k, 'drm_dep_job_run').length).toBe(2);
    // The timeline stays ordered: cancelled jobs signal after the started ones.
    const stamps = fences.map((f) => f.timestamp_ns);
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(stamps[2]).toBeGreaterThan(t_kill + 7 * MS);
    expect(events(k, 'drm_dep_queue_kill').map((e) => e.args.ring)).toEqual(['fake0']);
    teardown_and_check(k, [q], fences);
  });

  it('a killed job still waits for its own dependencies before it completes', () => {
    const { k, gpu } = setup();
    const q0 = fake_queue_create(gpu);
    const q1 = fake_queue_create(gpu);
    const a = fake_job_create(q0, 5 * MS);
    const fa = fake_job_submit(a);
    const b = fake_job_create(q1, MS, { deps: [dma_fence_get(fa)] });
    const fb = fake_job_submit(b);
    drm_dep_job_put(a);
    drm_dep_job_put(b);
    k.run_for(MS);
    drm_dep_queue_kill(q1);
    k.run_all();
    expect(fb.error).toBe(-ECANCELED);
    expect(fb.timestamp_ns).toBeGreaterThanOrEqual(fa.timestamp_ns);
    expect(b.run_count).toBe(0);
    teardown_and_check(k, [q0, q1], [fa, fb]);
  });
});

describe('asynchronous teardown', () => {
  it('calls ops.release when the last reference goes, frees only after the driver completes it', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { fw_teardown_ns: 3 * MS });
    const fences = submit_all([fake_job_create(q, MS)]);
    drm_dep_queue_put(q); // the job keeps the queue alive
    k.run_for(500_000);
    expect(q.log).toEqual([]);
    k.run_all();
    expect(q.log).toEqual(['release', 'release_done', 'free']);
    expect(fences[0].error).toBe(0); // put before it ran: the job still ran normally
    const release = events(k, 'drm_dep_queue_release')[0];
    const free = events(k, 'drm_dep_queue_free')[0];
    expect(release.t_ns).toBeGreaterThan(fences[0].timestamp_ns);
    expect(free.t_ns - release.t_ns).toBeGreaterThanOrEqual(3 * MS);
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(['drm_dep_queue', 'drm_dep_job'])).toEqual([]);
    // The finished fence outlives the queue; its ops were detached when it signalled.
    expect(dma_fence_timeline_name(fences[0])).toBe('signaled-timeline');
    dma_fence_put(fences[0]);
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });

  it('WARNs for drm_dep_queue_release_done outside ops.release; any use after free is reported', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    expect(drm_dep_queue_name(q)).toBe('fake0');
    drm_dep_queue_release_done(q);
    expect(k.violations.of_kind('warn').map((v) => v.message)).toEqual(['fake0: release_done outside of ops.release']);
    k.violations.list.length = 0;
    const fences = submit_all([fake_job_create(q, MS)]);
    k.run_all();
    teardown_and_check(k, [q], fences);
    drm_dep_queue_kill(q);
    drm_dep_queue_name(q);
    expect(k.violations.of_kind('use_after_free').length).toBe(2);
  });
});

describe('driver-unload barrier', () => {
  it('drm_dep_device_wait_idle returns once every queue of the device is freed', () => {
    const { k, gpu } = setup();
    const dev = new drm_dep_device(k, 'card0');
    const q0 = fake_queue_create(gpu, { dev, fw_teardown_ns: 2 * MS });
    const q1 = fake_queue_create(gpu, { dev });
    const fences = submit_all([fake_job_create(q0, 4 * MS), fake_job_create(q1, MS)]);
    expect(drm_dep_device_queue_count(dev)).toBe(2);
    k.run_for(MS / 2); // both jobs started
    let returned_at = -1;
    k.run_task((function* (): Sleepable {
      for (const q of [q0, q1]) {
        drm_dep_queue_kill(q);
        drm_dep_queue_put(q);
      }
      yield* drm_dep_device_wait_idle(dev);
      returned_at = k.now();
    })());
    const last_free = Math.max(...events(k, 'drm_dep_queue_free').map((e) => e.t_ns));
    expect(returned_at).toBeGreaterThanOrEqual(last_free);
    expect(returned_at).toBeGreaterThan(6 * MS);
    expect(drm_dep_device_queue_count(dev)).toBe(0);
    k.run_all();
    for (const f of fences) dma_fence_put(f);
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });

  // docs/findings.md 7: kill neither cancels nor waits for a timeout handler in progress, and
  // the barrier waits for it (the handler holds its job, the job its queue). A handler that
  // sleeps on a lock the barrier's caller holds is a deadlock lockdep does not see.
  function tdr_sleeping_on(k: Kernel, gpu: fake_gpu, lock: mutex) {
    const dev = new drm_dep_device(k, 'card0');
    const seen = { killed_in_handler: null as boolean | null };
    const q: fake_queue = fake_queue_create(gpu, {
      dev, timeout_ms: 10,
      ops: {
        *timedout_job(): Sleepable<drm_dep_timedout_stat> {
          yield* mutex_lock_sleepable(lock);
          seen.killed_in_handler = drm_dep_queue_is_killed(q);
          mutex_unlock(lock);
          return DRM_DEP_TIMEDOUT_NO_HANG;
        },
      },
    });
    const fences = submit_all([fake_job_create(q, 50 * MS)]);
    return { dev, q, fences, seen };
  }

  it('timedout_job may run after kill returned, and the barrier waits for it', () => {
    const { k, gpu } = setup();
    const lock = new mutex(k, 'driver_lock');
    const { dev, q, fences, seen } = tdr_sleeping_on(k, gpu, lock);
    k.run_task((function* (): Sleepable {
      yield* mutex_lock_sleepable(lock);
      yield* fsleep(k, 15_000); // the TDR fires at 10 ms and sleeps on the lock
      drm_dep_queue_kill(q);
      drm_dep_queue_put(q);
      mutex_unlock(lock);
      yield* drm_dep_device_wait_idle(dev);
    })());
    expect(seen.killed_in_handler).toBe(true);
    for (const f of fences) dma_fence_put(f);
    k.run_all();
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });

  it('a barrier called under a lock the timeout handler takes deadlocks, and lockdep reports nothing', () => {
    const { k, gpu } = setup();
    const lock = new mutex(k, 'driver_lock');
    const { dev, q } = tdr_sleeping_on(k, gpu, lock);
    expect(() => k.run_task((function* (): Sleepable {
      yield* mutex_lock_sleepable(lock);
      yield* fsleep(k, 15_000);
      drm_dep_queue_kill(q);
      drm_dep_queue_put(q);
      yield* drm_dep_device_wait_idle(dev); // still holding the lock
    })())).toThrow(SimulationHang);
    expect(k.violations.of_kind('lockdep_cycle')).toEqual([]);
  });

  it('waits forever (a reported hang) if a queue is never put', () => {
    const { k, gpu } = setup();
    const dev = new drm_dep_device(k, 'card0');
    fake_queue_create(gpu, { dev });
    expect(() => k.run_task(drm_dep_device_wait_idle(dev))).toThrow(SimulationHang);
    expect(k.violations.count('hang')).toBe(1);
  });
});

describe('zombie guard', () => {
  function work_runs(k: Kernel, work: string) {
    return k.trace.events.filter((e) => e.name === 'workqueue_execute_start' && e.args.work === work);
  }

  it('drm_dep_queue_get_unless_zero takes a reference while the queue lives and refuses once the last put is done', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, {});
    expect(drm_dep_queue_get_unless_zero(q)).toBe(q);
    drm_dep_queue_put(q); // the reference just taken
    drm_dep_queue_kill(q);
    drm_dep_queue_put(q); // the last one: teardown queued, memory still there
    expect(drm_dep_queue_get_unless_zero(q)).toBeNull();
    k.run_all();
    expect(q.log).toEqual(['free']);
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });

  it.each(['last-put', 'work'])('a TDR worker queued just before the final put runs after it and leaves at once (dep.release=%s)', (release) => {
    const k = new Kernel({ trace: 'record', ...EXACT_TIMING, assume: { ...EXACT_TIMING.assume, 'dep.release': release } });
    const q = fake_queue_create(new fake_gpu(k), { timeout_ms: 10 });
    const fences = submit_all([fake_job_create(q, MS)]);
    k.run_all();
    drm_dep_queue_trigger_timeout(q); // e.g. device teardown: queued, runs after a kworker wake-up
    drm_dep_queue_put(q); // ...but the last reference goes first
    k.run_all();
    const [tdr] = work_runs(k, 'drm_dep_queue_tdr_work');
    // The work items are cancelled by the release work (work) or the free work (last-put).
    const [cancel] = work_runs(k, release === 'work' ? 'drm_dep_queue_release_work' : 'drm_dep_queue_free_work');
    expect(tdr.t_ns).toBeLessThanOrEqual(cancel.t_ns); // it really ran on a zombie queue
    expect(q.timeouts).toBe(0);
    expect(q.log).toEqual(['free']);
    for (const f of fences) dma_fence_put(f);
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });

  it('an item still queued on a busy shared driver workqueue is cancelled by the teardown, never run', () => {
    const { k, gpu } = setup();
    const wq = alloc_ordered_workqueue(k, 'shared', WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM);
    const busy = INIT_WORK(k, function* (): Sleepable {
      yield* k.wait_until(null, () => false, k.now() + 5 * MS);
    }, 'driver_busy_work');
    const q = fake_queue_create(gpu, { submit_wq: wq, timeout_wq: wq });
    const fences = submit_all([fake_job_create(q, 100_000)]);
    k.run_all();
    queue_work(wq, busy);
    drm_dep_queue_trigger_timeout(q); // the TDR item waits behind the driver item
    drm_dep_queue_put(q);
    k.run_for(MS);
    expect(q.log).toEqual(['free']); // freed while the shared workqueue is still busy
    k.run_all();
    expect(work_runs(k, 'drm_dep_queue_tdr_work')).toEqual([]);
    for (const f of fences) dma_fence_put(f);
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });

  it('a job completing in hardirq drops the last references while a TDR was pending: no use after free', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { flags: DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE });
    const job = fake_job_create(q, Infinity);
    const fence = fake_job_submit(job);
    drm_dep_job_put(job);
    k.run_for(MS); // running (hung)
    drm_dep_queue_kill(q);
    drm_dep_queue_put(q); // the job holds the last queue reference now
    drm_dep_queue_trigger_timeout(q);
    fake_queue_complete(q); // hardirq: IRQ put of the job -> last queue put -> async teardown
    k.run_all();
    expect(q.timeouts).toBe(0);
    expect(fence.error).toBe(0);
    expect(q.release_job_contexts).toEqual(['hardirq']);
    expect(q.log).toEqual(['free']);
    dma_fence_put(fence);
    expect(k.violations.format()).toBe('');
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });
});

describe('IRQ job put versus the put_job worker', () => {
  it('without the flag the queue drops its job reference from the put_job worker, with it from the IRQ', () => {
    for (const flags of [0, DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE]) {
      const { k, gpu } = setup();
      const q = fake_queue_create(gpu, { flags });
      const fences = submit_all([fake_job_create(q, MS), fake_job_create(q, MS)]);
      k.run_all();
      const put_job_runs = k.trace.events.filter((e) => e.name === 'workqueue_execute_start' && e.args.work === 'drm_dep_queue_put_job_work');
      if (flags === 0) {
        expect(q.release_job_contexts).toEqual(['kworker', 'kworker']);
        expect(put_job_runs.length).toBe(2);
      } else {
        expect(q.release_job_contexts).toEqual(['hardirq', 'hardirq']);
        expect(put_job_runs.length).toBe(0);
        expect(events(k, 'drm_dep_job_free').every((e) => e.context === 'irq/fake_gpu')).toBe(true);
      }
      teardown_and_check(k, [q], fences);
    }
  });

  it('a job put from hardirq without the flag WARNs, and releasing a job with live dependencies there trips lockdep', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    const other = fake_queue_create(gpu);
    const dep = fake_job_create(other, MS);
    const f_dep = fake_job_submit(dep);
    drm_dep_job_put(dep);
    const job = fake_job_create(q, MS, { deps: [dma_fence_get(f_dep)] });
    const line = k.request_irq('bad_driver', job, (j: fake_job) => drm_dep_job_put(j));
    k.raise_irq_at(line, k.now() + 10, 0);
    k.run_all();
    expect(k.violations.of_kind('warn').map((v) => v.site)).toEqual(['drm_dep_job_put']);
    expect(k.violations.count('lockdep_irq_inconsistent')).toBe(1);
    k.violations.list.length = 0;
    teardown_and_check(k, [q, other], [f_dep]);
  });
});

describe('submit-workqueue bypass', () => {
  function run_in_task(k: Kernel, fn: () => void): void {
    k.run_task((function* (): Sleepable {
      yield* k.wait_until(null, () => false, k.now() + 1); // become a scheduled process step
      fn();
    })());
  }

  it('runs the job from the pushing context on an idle queue', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { flags: DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS });
    let fences: dma_fence[] = [];
    run_in_task(k, () => { fences = submit_all([fake_job_create(q, MS)]); });
    k.run_all();
    const [queued] = events(k, 'drm_dep_job_queue');
    const [run] = events(k, 'drm_dep_job_run');
    expect(run.context).toBe('init');
    expect(run.t_ns - queued.t_ns).toBeLessThan(1_000);
    expect(k.trace.events.some((e) => e.name === 'workqueue_execute_start' && e.args.work === 'drm_dep_queue_run_job_work')).toBe(false);
    teardown_and_check(k, [q], fences);
  });

  it('falls back to the submit worker: unsignalled dependency, credits exhausted, atomic pusher, stopped queue', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, { flags: DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS, credit_limit: 1 });
    const other = fake_queue_create(gpu);
    const fences: dma_fence[] = [];
    const lock = spin_lock_init(k, 'driver_lock');
    run_in_task(k, () => {
      const blocker = fake_job_create(other, MS);
      const f_blocker = fake_job_submit(blocker);
      drm_dep_job_put(blocker);
      fences.push(f_blocker, ...submit_all([fake_job_create(q, MS, { deps: [dma_fence_get(f_blocker)] })]));
    });
    run_in_task(k, () => fences.push(...submit_all([fake_job_create(q, MS)]))); // queue not idle
    k.run_all();
    run_in_task(k, () => {
      const job = fake_job_create(q, MS);
      drm_dep_job_arm(job);
      fences.push(drm_dep_job_finished_fence(job)!);
      const flags = spin_lock_irqsave(lock);
      drm_dep_job_push(job); // atomic: no bypass
      spin_unlock_irqrestore(lock, flags);
      drm_dep_job_put(job);
    });
    k.run_all();
    k.run_task(drm_dep_queue_stop(q));
    run_in_task(k, () => fences.push(...submit_all([fake_job_create(q, MS)])));
    k.run_all();
    drm_dep_queue_start(q);
    k.run_all();
    const runs = events(k, 'drm_dep_job_run').filter((e) => e.args.ring === 'fake0');
    expect(runs.map((e) => e.context.startsWith('kworker/fake0'))).toEqual([true, true, true, true]);
    expect(fences.every((f) => f.signaled && f.error === 0)).toBe(true);
    teardown_and_check(k, [q, other], fences);
  });
});

describe('every flag combination', () => {
  for (let flags = 0; flags <= DRM_DEP_QUEUE_FLAGS_ALL; flags++) {
    it(`flags ${flags}: dependencies, credits, TDR, kill and teardown without a violation or a leak`, () => {
      const { k, gpu } = setup();
      const q0 = fake_queue_create(gpu, { flags, credit_limit: 2, timeout_ms: 10, fw_teardown_ns: MS });
      const q1 = fake_queue_create(gpu, { flags, credit_limit: 3 });
      const fences: dma_fence[] = [];
      k.run_task((function* (): Sleepable {
        for (let i = 0; i < 6; i++) {
          const a = fake_job_create(q0, i === 2 ? Infinity : MS);
          const fa = fake_job_submit(a);
          const b = fake_job_create(q1, MS / 2, { deps: [dma_fence_get(fa)] });
          fences.push(fa, fake_job_submit(b));
          drm_dep_job_put(a);
          drm_dep_job_put(b);
          yield* k.wait_until(null, () => false, k.now() + MS / 4);
        }
      })());
      k.run_for(5 * MS);
      drm_dep_queue_kill(q1);
      k.run_all();
      expect(fences.every((f) => f.signaled)).toBe(true);
      expect(fences.filter((f) => f.error === -ETIMEDOUT).length).toBe(1);
      teardown_and_check(k, [q0, q1], fences);
    });
  }
});

describe('misuse is reported', () => {
  it('push before arm, double arm, double push, dependency after arm, done on a job that is not running', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    const job = fake_job_create(q, MS);
    drm_dep_job_push(job);
    drm_dep_job_arm(job);
    drm_dep_job_arm(job);
    const f = dma_fence_get(drm_dep_job_finished_fence(job)!);
    expect(drm_dep_job_add_dependency(job, f)).toBe(-EINVAL);
    drm_dep_job_push(job);
    drm_dep_job_push(job);
    drm_dep_job_done(job, 0);
    const messages = k.violations.of_kind('warn').map((v) => v.message.replace(/^.*?: /, ''));
    expect(messages).toEqual([
      'drm_dep_job_push before drm_dep_job_arm',
      'drm_dep_job_arm on a job already armed',
      'dependency added after drm_dep_job_arm',
      'drm_dep_job_push of a job already pushed',
      'drm_dep_job_done on a job that is not running',
    ]);
    k.violations.list.length = 0;
    drm_dep_job_put(job);
    k.run_all();
    teardown_and_check(k, [q], [f]);
  });

  it('an allocation between arm and push is a dma-fence signalling violation', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    const job = fake_job_create(q, MS);
    drm_dep_job_arm(job);
    kfree(k, kmalloc(k, 64, GFP_KERNEL, 'oops'));
    drm_dep_job_push(job);
    expect(k.violations.count('lockdep_cycle')).toBe(1);
    k.violations.list.length = 0;
    drm_dep_job_put(job);
    k.run_all();
    teardown_and_check(k, [q]);
  });

  it('an armed job put without push WARNs and its fence signals -ECANCELED', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu);
    const job = fake_job_create(q, MS);
    drm_dep_job_arm(job);
    const f = drm_dep_job_finished_fence(job)!;
    drm_dep_job_put(job);
    expect(k.violations.of_kind('warn').map((v) => v.message)).toEqual([`drm_dep_job ${'fake0/job1'} (#${f.id - 1}): armed job released without drm_dep_job_push`]);
    expect([f.signaled, f.error]).toEqual([true, -ECANCELED]);
    k.violations.list.length = 0;
    teardown_and_check(k, [q], [f]);
  });

  it('a GFP_KERNEL allocation in run_job is reported (reclaim-annotated worker, signalling section)', () => {
    const { k, gpu } = setup();
    const q = fake_queue_create(gpu, {
      ops: { run_job: () => { kfree(k, kmalloc(k, 64, GFP_KERNEL, 'run_job_alloc')); return null; } },
    });
    const fences = submit_all([fake_job_create(q, MS)]);
    k.run_all();
    expect(k.violations.count('lockdep_recursion') + k.violations.count('lockdep_cycle')).toBeGreaterThan(0);
    k.violations.list.length = 0;
    teardown_and_check(k, [q], fences);
  });
});

describe('reclaim safety of the final put', () => {
  it('the last queue put from hardirq or from a reclaim-annotated worker neither sleeps nor allocates', () => {
    const { k, gpu } = setup();
    const q_irq = fake_queue_create(gpu);
    const q_reclaim = fake_queue_create(gpu);
    const line = k.request_irq('put_irq', q_irq, (q: fake_queue) => drm_dep_queue_put(q));
    k.raise_irq_at(line, 1_000, 0);
    const wq = alloc_ordered_workqueue(k, 'shrinker', WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM);
    queue_work(wq, INIT_WORK(k, () => drm_dep_queue_put(q_reclaim), 'shrinker_work'));
    k.run_all();
    expect(k.violations.format()).toBe('');
    expect([q_irq.log, q_reclaim.log]).toEqual([['free'], ['free']]);
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  });
});

describe('the finished fence is private and outlives its queue', () => {
  it('a fence from another driver can be a dependency; the finished fence of a freed queue stays readable', () => {
    const { k, gpu } = setup();
    const foreign = new dma_fence(k, 'foreign');
    dma_fence_init(foreign, { get_driver_name: () => 'other', get_timeline_name: () => 't' }, spin_lock_init(k, 'foreign.lock'), k.dma_fence_context_alloc(1), 1);
    const q = fake_queue_create(gpu);
    const fences = submit_all([fake_job_create(q, MS, { deps: [dma_fence_get(foreign)] })]);
    k.run_for(10 * MS);
    expect(fences[0].signaled).toBe(false);
    dma_fence_signal(foreign);
    dma_fence_put(foreign);
    k.run_all();
    drm_dep_queue_kill(q);
    drm_dep_queue_put(q);
    k.run_all();
    expect(q.log).toEqual(['free']);
    expect([fences[0].signaled, dma_fence_timeline_name(fences[0])]).toEqual([true, 'signaled-timeline']);
    teardown_and_check(k, [], fences);
  });
});
