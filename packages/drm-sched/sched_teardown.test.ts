/**
 * Teardown: entity kill (queue order, after predecessors and dependencies, -ESRCH), the score
 * leak of killed jobs, flush from an exiting SIGKILLed task, flush draining to the HW, pushing
 * to a killed entity, drm_sched_fini with and without cancel_job, and entity/scheduler order.
 */
import { describe, expect, it } from 'vitest';
import { ECANCELED, ESRCH, dma_fence, dma_fence_get, dma_fence_init, dma_fence_signal, spinlock_t, type Kernel } from '@deplab/sim';
import {
  DRM_SCHED_PRIORITY_NORMAL, drm_sched_entity_destroy, drm_sched_entity_fini, drm_sched_entity_flush,
  drm_sched_entity_kill, drm_sched_entity_push_job, drm_sched_fini, drm_sched_job_add_dependency, drm_sched_job_arm,
  MAX_WAIT_SCHED_ENTITY_Q_EMPTY,
} from './index.ts';
import { events, fake_gpu_advance, make_entity, make_job, make_kernel, make_sched, submit, MS } from './fake_gpu.testlib.ts';

function ext_fence(k: Kernel): dma_fence {
  const f = new dma_fence(k, 'test.fence');
  dma_fence_init(f, { get_driver_name: () => 'test', get_timeline_name: () => 'ext' }, new spinlock_t(k, '&ext->lock'), k.dma_fence_context_alloc(1), 1);
  return f;
}

describe('entity kill', () => {
  it('queued jobs complete in order, after the predecessor and their own deps, with -ESRCH; run_job never called', () => {
    const k = make_kernel();
    const rig = make_sched(k, { credit_limit: 1 });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const x = ext_fence(k);
    const j0 = make_job(rig, e, 'j0');
    submit(j0);
    k.run_all();
    const j1 = make_job(rig, e, 'j1'), j2 = make_job(rig, e, 'j2'), j3 = make_job(rig, e, 'j3');
    drm_sched_job_add_dependency(j2, dma_fence_get(x));
    for (const j of [j1, j2, j3]) submit(j);
    const fin = [j0, j1, j2, j3].map((j) => dma_fence_get(j.s_fence!.finished));
    const sch = [j1, j2, j3].map((j) => dma_fence_get(j.s_fence!.scheduled));
    k.run_all();
    k.run_task(drm_sched_entity_fini(e));
    k.run_for(10 * MS);
    expect(fin.map((f) => f.signaled)).toEqual([false, false, false, false]); // j1 waits for j0
    k.run_for(10 * MS);
    fake_gpu_advance(rig.gpu, 1);
    k.run_for(1 * MS);
    expect(fin.map((f) => f.signaled)).toEqual([true, true, false, false]); // j2 waits for x
    k.run_for(10 * MS);
    dma_fence_signal(x);
    k.run_all();
    expect(fin.map((f) => f.error)).toEqual([0, -ESRCH, -ESRCH, -ESRCH]);
    expect(sch.map((f) => [f.signaled, f.error])).toEqual([[true, 0], [true, 0], [true, 0]]);
    const ts = fin.map((f) => f.timestamp_ns);
    expect(ts[0] <= ts[1] && ts[1] < ts[2] && ts[2] <= ts[3]).toBe(true);
    expect(ts[2]).toBeGreaterThanOrEqual(x.timestamp_ns);
    expect(rig.gpu.run_log).toEqual(['j0']);
    expect(rig.gpu.free_log.sort()).toEqual(['j0', 'j1', 'j2', 'j3']);
    // Each killed job went through the system workqueue's kill work.
    expect(events(k, 'workqueue_execute_start').filter((w) => w.args.work === '&job->work').length).toBe(4); // j2 twice
    // Score leak: +1 per push, -1 only in job_done; the entity itself left the rq list.
    expect(rig.sched.score.counter).toBe(3);
  });

  it('flush from an exiting, SIGKILLed last user waits up to 1000 ms, then kills the entity', () => {
    const k = make_kernel();
    const rig = make_sched(k, { credit_limit: 1 });
    const blocker = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, blocker, 'blocker'));
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    let flushed_at = -1, remaining = -1;
    const task = k.spawn('client', (function* () {
      const a = make_job(rig, e, 'a'), b = make_job(rig, e, 'b');
      submit(a);
      submit(b);
      const t = k.current_task()!;
      t.exiting = true; // do_exit -> file release -> flush
      t.sigkill_pending = true;
      remaining = yield* drm_sched_entity_flush(e, MAX_WAIT_SCHED_ENTITY_Q_EMPTY(k));
      flushed_at = k.now();
      yield* drm_sched_entity_fini(e);
    })());
    k.run_until(() => task.done, 5000 * MS);
    expect(remaining).toBe(0);
    expect(Math.round(flushed_at / MS)).toBe(1000);
    expect(e.last_user).toBe(null);
    fake_gpu_advance(rig.gpu, 1);
    k.run_all();
    expect(rig.gpu.run_log).toEqual(['blocker']);
    expect(rig.gpu.free_log.sort()).toEqual(['a', 'b', 'blocker']);
  });

  it('flush from a non-exiting task waits (unbounded) until the queue is drained to the HW', () => {
    const k = make_kernel();
    const rig = make_sched(k, { credit_limit: 1 });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    for (const l of ['a', 'b', 'c']) submit(make_job(rig, e, l, 5000));
    k.run_task(drm_sched_entity_destroy(e));
    // c has been handed to the HW (popped), not finished: 2 jobs of 5 ms ran before it.
    expect(Math.round(k.now() / MS)).toBe(10);
    expect(rig.gpu.run_log).toEqual(['a', 'b', 'c']);
    k.run_all();
    expect(rig.gpu.free_log).toEqual(['a', 'b', 'c']);
  });

  it('a push to a killed entity only logs; the job sits there until entity_fini kills it', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    k.run_task(drm_sched_entity_kill(e));
    const j = make_job(rig, e, 'late');
    drm_sched_job_arm(j);
    const f = dma_fence_get(j.s_fence!.finished);
    drm_sched_entity_push_job(j);
    k.run_all();
    expect(events(k, 'drm_printk').map((p) => p.args.message)).toContain('Trying to push to a killed entity');
    expect(rig.gpu.run_log).toEqual([]);
    expect(f.signaled).toBe(false);
    k.run_task(drm_sched_entity_fini(e));
    k.run_all();
    expect(f.error).toBe(-ESRCH);
  });
});

describe('drm_sched_fini', () => {
  it('without cancel_job, pending jobs leak with a warning; their late HW completion touches the dead scheduler', () => {
    const k = make_kernel();
    const rig = make_sched(k, { cancel_job: false });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, e, 'inflight'));
    k.run_all();
    k.run_task((function* () {
      yield* drm_sched_entity_destroy(e);
      yield* drm_sched_fini(rig.sched);
    })());
    expect(k.violations.of_kind('warn').map((v) => v.message)).toEqual(['Tearing down scheduler while jobs are pending!']);
    k.lifetime.check_leaks('test teardown', ['drm_sched_job', 'drm_sched_fence.finished', 'drm_sched_fence.scheduled']);
    expect(k.violations.of_kind('leak').map((v) => v.message.split(' ')[0]).sort()).toEqual(
      ['drm_sched_fence.finished', 'drm_sched_fence.scheduled', 'drm_sched_job']);
    expect(rig.gpu.free_log).toEqual([]);
    fake_gpu_advance(rig.gpu, 1); // the HW callback is still installed
    k.run_all();
    expect(k.violations.of_kind('use_after_free').map((v) => v.site)).toEqual(['drm_sched_job_done: s_fence->sched']);
  });

  it('with cancel_job, pending jobs are cancelled newest first and freed; nothing leaks', () => {
    const k = make_kernel();
    const rig = make_sched(k, { cancel_job: true });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, e, 'a'), b = make_job(rig, e, 'b');
    submit(a);
    submit(b);
    k.run_all();
    const fa = dma_fence_get(a.s_fence!.finished);
    const hw = dma_fence_get(a.hw_fence);
    k.run_task((function* () {
      yield* drm_sched_entity_destroy(e);
      yield* drm_sched_fini(rig.sched);
    })());
    expect(rig.gpu.cancel_log).toEqual(['b', 'a']);
    expect(rig.gpu.free_log).toEqual(['b', 'a']);
    expect(hw.error).toBe(-ECANCELED);
    expect(fa.error).toBe(-ECANCELED);
    expect(rig.sched.ready).toBe(false);
    expect(k.violations.list).toEqual([]);
  });

  it('an entity torn down after its scheduler uses the freed run queue', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, e, 'a', 10));
    k.run_all();
    k.run_task(drm_sched_fini(rig.sched));
    k.run_task(drm_sched_entity_fini(e));
    expect(k.violations.of_kind('use_after_free').map((v) => v.site)).toEqual(['drm_sched_rq_remove_entity: rq']);
  });
});
