/**
 * The run path: submission, the work items per job, run_job results, HW completion and
 * freeing in pending order, GPU-time accounting, init errors, and a clean normal path.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, EIO, ENOENT, GFP_KERNEL, WQ_MEM_RECLAIM, alloc_ordered_workqueue, dma_fence_get, dma_fence_put, kfree, kmalloc } from '@deplab/sim';
import {
  DRM_SCHED_PRIORITY_COUNT, DRM_SCHED_PRIORITY_NORMAL, drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_destroy,
  drm_sched_entity_init, drm_sched_fini, drm_sched_init, drm_sched_job_add_dependency, drm_sched_job_cleanup,
  drm_sched_job_init, drm_sched_entity_fini, drm_sched_wqueue_ready, sched_fence_signalling_annotation,
} from './index.ts';
import { fake_gpu, fake_gpu_signal, fake_job, make_entity, make_job, make_kernel, make_sched, submit, events, work_counts, MS } from './fake_gpu.testlib.ts';
import { ewma_drm_sched_avgtime, ewma_drm_sched_avgtime_add, ewma_drm_sched_avgtime_read } from './sched_internal.ts';

const RUN = '&sched->work_run_job';
const FREE = '&sched->work_free_job';

describe('hot path', () => {
  it('one job on an idle scheduler: 3 run-work and 1 free-work invocations', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j', 1000);
    submit(j);
    rig.kernel.run_all();
    expect(rig.gpu.free_log).toEqual(['j']);
    // push -> run (pops) -> run (nothing); hw done -> free -> trailing run (nothing).
    expect(work_counts(rig.kernel)).toMatchObject({ [RUN]: 3, [FREE]: 1 });
    expect(rig.kernel.violations.list).toEqual([]);
  });

  it('a burst of N jobs: N+1 run-work for popping, N free-work each with a trailing run-work', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const n = 5;
    for (let i = 0; i < n; i++) submit(make_job(rig, e, `j${i}`, 10_000));
    rig.kernel.run_all();
    expect(rig.gpu.free_log).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
    expect(work_counts(rig.kernel)).toMatchObject({ [RUN]: 2 * n + 1, [FREE]: n });
    // Only the empty -> non-empty transition queued run work from push_job.
    const queued = events(rig.kernel, 'workqueue_queue_work').filter((q) => q.args.work === RUN);
    expect(queued.length).toBe(2 * n + 1);
  });

  it('trace contract: queue, run, done, free with the finished fence identity', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j', 100);
    submit(j);
    const ctx = j.s_fence!.finished.context, seq = j.s_fence!.finished.seqno;
    rig.kernel.run_all();
    const q = events(rig.kernel, 'drm_sched_job_queue')[0].args;
    expect(q).toEqual({ fence_context: ctx, fence_seqno: seq, ring: 'fake-sched', job_count: 0, hw_job_count: 0, client_id: 1 });
    const r = events(rig.kernel, 'drm_sched_job_run')[0].args;
    expect(r).toEqual({ fence_context: ctx, fence_seqno: seq, ring: 'fake-sched', job_count: 0, hw_job_count: 1, client_id: 1 });
    expect(events(rig.kernel, 'drm_sched_job_done')[0].args).toEqual({ fence_context: ctx, fence_seqno: seq });
    expect(events(rig.kernel, 'drm_sched_job_free')[0].args).toEqual({ fence_context: ctx, fence_seqno: seq });
    expect(seq).toBe(1);
    expect(ctx).toBe(e.fence_context + 1);
  });
});

describe('run_job results', () => {
  it('NULL: scheduled and finished signal at once with no error', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j');
    j.run_result = null;
    submit(j);
    const finished = dma_fence_get(j.s_fence!.finished);
    const scheduled = dma_fence_get(j.s_fence!.scheduled);
    rig.kernel.run_all();
    expect(scheduled.signaled && finished.signaled).toBe(true);
    expect(finished.error).toBe(0);
    expect(finished.timestamp_ns - scheduled.timestamp_ns).toBeLessThan(2_000); // same work item
    expect(rig.gpu.free_log).toEqual(['j']);
    expect(rig.sched.credit_count.counter).toBe(0);
    dma_fence_put(finished);
    dma_fence_put(scheduled);
  });

  it('ERR_PTR: finished carries the error, no parent', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j');
    j.run_result = -EIO;
    submit(j);
    const finished = dma_fence_get(j.s_fence!.finished);
    rig.kernel.run_all();
    expect(finished.signaled).toBe(true);
    expect(finished.error).toBe(-EIO);
    dma_fence_put(finished);
  });

  it('an already signalled HW fence takes the -ENOENT inline job_done path with its error', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j');
    const run = rig.gpu.ops.run_job;
    rig.gpu.ops.run_job = (job) => {
      const f = run(job);
      fake_gpu_signal(job as fake_job, -EIO);
      return f;
    };
    submit(j);
    const finished = dma_fence_get(j.s_fence!.finished);
    rig.kernel.run_all();
    expect(finished.error).toBe(-EIO);
    expect(rig.gpu.free_log).toEqual(['j']);
    dma_fence_put(finished);
  });
});

describe('signalling section (assumption sched.fence-signalling-annotation)', () => {
  const alloc_in_run_job = (annotation?: 'upstream' | 'annotated') => {
    const rig = make_sched(make_kernel(annotation === undefined ? {} : { assume: { [sched_fence_signalling_annotation.id]: annotation } }));
    const run = rig.gpu.ops.run_job;
    rig.gpu.ops.run_job = (job) => {
      kfree(rig.kernel, kmalloc(rig.kernel, 64, GFP_KERNEL, 'driver_ring_buffer'));
      return run(job);
    };
    submit(make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'j', 10));
    rig.kernel.run_all();
    expect(rig.gpu.free_log).toEqual(['j']);
    return rig.kernel.violations.list;
  };

  it('upstream (default): sched_main.c has no signalling section around run_job, so a GFP_KERNEL allocation there goes unreported', () => {
    expect(sched_fence_signalling_annotation.default).toBe('upstream');
    expect(alloc_in_run_job()).toEqual([]);
    expect(alloc_in_run_job('upstream')).toEqual([]);
  });

  it('annotated: run_job runs inside dma_fence_begin_signalling, and the allocation is a lockdep cycle', () => {
    const v = alloc_in_run_job('annotated');
    expect(v.map((x) => [x.kind, x.message])).toEqual([
      ['lockdep_cycle', 'possible circular locking dependency: dma_fence_map -> fs_reclaim closes a cycle'],
    ]);
  });
});

describe('completion and freeing', () => {
  it('frees strictly in pending order: an early completion waits for its predecessor', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, e, 'a'), b = make_job(rig, e, 'b');
    submit(a);
    submit(b);
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['a', 'b']);
    fake_gpu_signal(b);
    rig.kernel.run_all();
    expect(b.s_fence!.finished.signaled).toBe(true);
    expect(rig.gpu.free_log).toEqual([]);
    fake_gpu_signal(a);
    rig.kernel.run_all();
    expect(rig.gpu.free_log).toEqual(['a', 'b']);
  });

  it('DECLARE_EWMA(drm_sched_avgtime, 6, 4): weight 1/4 in 6-bit fixed point, unsigned long wrap-around', () => {
    const e = new ewma_drm_sched_avgtime();
    ewma_drm_sched_avgtime_add(e, 1000);
    expect(ewma_drm_sched_avgtime_read(e)).toBe(1000);
    ewma_drm_sched_avgtime_add(e, 3000);
    expect(ewma_drm_sched_avgtime_read(e)).toBe(1500);
    // A negative duration (out-of-order completion moves the next job's scheduled timestamp
    // past its own finish) wraps modulo 2^64 as in C.
    const w = new ewma_drm_sched_avgtime();
    ewma_drm_sched_avgtime_add(w, -1);
    expect(ewma_drm_sched_avgtime_read(w)).toBe(Math.floor((2 ** 64 - 64) / 64));
  });

  it('accounts GPU time into the entity stats and both EWMAs (µs), fixing the next scheduled timestamp', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, e, 'a', 1000), b = make_job(rig, e, 'b', 3000);
    submit(a);
    submit(b);
    rig.kernel.run_all();
    // b ran right after a on the HW; its scheduled timestamp is moved to a's finish, so it
    // is charged 3 ms of execution and not the time it sat behind a.
    // (Signalling costs a few µs of simulated time, hence the tolerances.)
    const stats = e.stats!;
    expect(Math.abs(stats.runtime - 4 * MS)).toBeLessThan(5_000);
    // EWMA weight 1/4: (~1000 * 3 + ~3000) / 4 = ~1500 µs, for the entity and the scheduler.
    expect(Math.abs(ewma_drm_sched_avgtime_read(stats.avg_job_us) - 1500)).toBeLessThanOrEqual(2);
    expect(ewma_drm_sched_avgtime_read(rig.sched.avg_job_us)).toBe(ewma_drm_sched_avgtime_read(stats.avg_job_us));
  });

  it('a normal multi-entity workload with dependencies leaves no violation and no leak', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const other = make_sched(k, { name: 'other' });
    const es = [0, 1, 2].map(() => make_entity(rig, DRM_SCHED_PRIORITY_NORMAL));
    const eo = make_entity(other, DRM_SCHED_PRIORITY_NORMAL);
    let prev: fake_job | null = null;
    for (let i = 0; i < 30; i++) {
      const j = i % 5 === 4 ? make_job(other, eo, `o${i}`, 200) : make_job(rig, es[i % 3], `j${i}`, 300);
      if (prev !== null) drm_sched_job_add_dependency(j, dma_fence_get(prev.s_fence!.finished));
      submit(j);
      prev = j;
    }
    k.run_all();
    expect(rig.gpu.free_log.length + other.gpu.free_log.length).toBe(30);
    k.run_task((function* () {
      for (const e of [...es, eo]) yield* drm_sched_entity_destroy(e);
      yield* drm_sched_fini(rig.sched);
      yield* drm_sched_fini(other.sched);
    })());
    k.lifetime.check_leaks('test teardown');
    expect(k.violations.format()).toBe('');
    expect(drm_sched_wqueue_ready(rig.sched)).toBe(false);
  });
});

describe('init and job_init errors', () => {
  it('drm_sched_init: num_rqs > COUNT is -EINVAL; a second init warns and returns 0', () => {
    const k = make_kernel();
    const gpu = new fake_gpu(k, true);
    const s = new drm_gpu_scheduler(k);
    const args = { ops: gpu.ops, num_rqs: DRM_SCHED_PRIORITY_COUNT + 1, credit_limit: 1, timeout: 10, name: 's' };
    expect(drm_sched_init(s, args)).toBe(-EINVAL);
    expect(drm_sched_init(s, { ...args, num_rqs: 2 })).toBe(0);
    const rqs = s.sched_rq;
    expect(drm_sched_init(s, { ...args, num_rqs: 3, credit_limit: 7 })).toBe(0);
    expect(s.sched_rq).toBe(rqs);
    expect(s.credit_limit).toBe(7); // assigned before the "already initialized" check, as in C
    expect(events(k, 'drm_printk').map((p) => p.args.message)).toContain('scheduler already initialized!');
  });

  it('owns an ordered WQ_MEM_RECLAIM submit_wq named after args.name and uses system_percpu_wq for the TDR', () => {
    const rig = make_sched(make_kernel(), { name: 'ring0' });
    expect(rig.sched.submit_wq!.name).toBe('ring0');
    expect(rig.sched.submit_wq!.ordered).toBe(true);
    expect(rig.sched.timeout_wq).toBe(rig.kernel.system_wq('system_percpu_wq'));
  });

  it('entity_init -EINVAL; job_init -EINVAL for 0 credits and -ENOENT (with the NULL job->sched dereference) without rq', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = new drm_sched_entity(k);
    expect(drm_sched_entity_init(e, DRM_SCHED_PRIORITY_NORMAL, [], 0, null)).toBe(-EINVAL);
    expect(drm_sched_entity_init(e, DRM_SCHED_PRIORITY_NORMAL, [null], 1, null)).toBe(-EINVAL);
    const ok = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = new fake_job(k, rig.gpu, 'j', 0);
    expect(drm_sched_job_init(j, ok, 0, null, 1)).toBe(-EINVAL);
    // An entity on a scheduler that was never initialised gets no rq.
    const dead = new drm_sched_entity(k);
    expect(drm_sched_entity_init(dead, DRM_SCHED_PRIORITY_NORMAL, [new drm_gpu_scheduler(k)], 1, null)).toBe(0);
    expect(drm_sched_job_init(j, dead, 1, null, 1)).toBe(-ENOENT);
    expect(k.violations.of_kind('bug').map((v) => v.site)).toEqual(['drm_sched_job_init']);
  });

  it('cleanup of an unarmed job frees the s_fence; of an armed one puts finished', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j');
    drm_sched_job_cleanup(j);
    expect(k.lifetime.live(['kmalloc:drm_sched_fence', 'drm_sched_job'])).toEqual([]);
    k.run_task(drm_sched_entity_fini(e));
    expect(k.violations.list).toEqual([]);
  });
});

describe('submit workqueue lockdep class', () => {
  it('every scheduler-owned submit workqueue is the one class drm_sched_lockdep_map; a driver-given one keeps its own', () => {
    const k = make_kernel();
    const a = make_sched(k, { name: 'sched-a' }), b = make_sched(k, { name: 'sched-b' });
    expect(a.sched.submit_wq!.name).toBe('sched-a');
    expect(a.sched.submit_wq!.lockdep_map.cls.name).toBe('drm_sched_lockdep_map');
    expect(b.sched.submit_wq!.lockdep_map.cls).toBe(a.sched.submit_wq!.lockdep_map.cls);
    const own = alloc_ordered_workqueue(k, 'driver-wq', WQ_MEM_RECLAIM);
    const c = new drm_gpu_scheduler(k);
    expect(drm_sched_init(c, { ops: a.gpu.ops, num_rqs: DRM_SCHED_PRIORITY_COUNT, credit_limit: 1, hang_limit: 1, timeout: 1_000, name: 'sched-c', submit_wq: own })).toBe(0);
    expect(c.submit_wq!.lockdep_map.cls.name).toBe('(wq_completion)driver-wq');
    // Another kernel has its own (the map is static per kernel image).
    const k2 = make_kernel();
    expect(make_sched(k2).sched.submit_wq!.lockdep_map.cls).not.toBe(a.sched.submit_wq!.lockdep_map.cls);
  });
});
