/**
 * Dependencies: deduplication per context, own-entity fences, same-scheduler pipelining and
 * DONT_PIPELINE, cross-scheduler waits, prepare_job, and the resv/syncobj helpers.
 */
import { describe, expect, it } from 'vitest';
import {
  DMA_RESV_USAGE_READ, DMA_RESV_USAGE_WRITE, ENOENT, ESRCH, dma_fence, spin_lock, spin_unlock, dma_fence_get, dma_fence_init, dma_fence_put,
  dma_fence_set_deadline, dma_fence_signal, dma_resv_add_fence, dma_resv_lock, dma_resv_unlock, drm_file, drm_gem_object, spinlock_t,
  type Kernel,
} from '@deplab/sim';
import {
  DRM_SCHED_FENCE_DONT_PIPELINE, DRM_SCHED_PRIORITY_NORMAL, drm_sched_job_add_dependency,
  drm_sched_job_add_implicit_dependencies, drm_sched_job_add_syncobj_dependency, drm_sched_job_has_dependency,
  drm_sched_entity_fini, to_drm_sched_fence,
} from './index.ts';
import { events, fake_gpu_advance, make_entity, make_job, make_kernel, make_sched, submit, work_counts } from './fake_gpu.testlib.ts';

const ext_ops = { get_driver_name: () => 'test', get_timeline_name: () => 'ext' };

/** A standalone fence on `context` with `seqno` (one reference, the caller's). */
function ext_fence(k: Kernel, context: number, seqno: number): dma_fence {
  const f = new dma_fence(k, 'test.fence');
  dma_fence_init(f, ext_ops, new spinlock_t(k, '&ext->lock'), context, seqno);
  return f;
}

describe('drm_sched_job_add_dependency', () => {
  it('keeps one fence per context, the later one, and always consumes the reference', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const j = make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'j');
    const ctx = k.dma_fence_context_alloc(1);
    const f1 = ext_fence(k, ctx, 1), f2 = ext_fence(k, ctx, 2), f0 = ext_fence(k, ctx, 0);
    const other = ext_fence(k, k.dma_fence_context_alloc(1), 7);
    for (const f of [f1, f2, f0, other]) dma_fence_get(f); // keep our own references to look at them
    expect(drm_sched_job_add_dependency(j, f1)).toBe(0);
    expect(drm_sched_job_add_dependency(j, f2)).toBe(0); // later: replaces f1 (f1 put)
    expect(drm_sched_job_add_dependency(j, f0)).toBe(0); // earlier: dropped (f0 put)
    expect(drm_sched_job_add_dependency(j, other)).toBe(0);
    expect(drm_sched_job_add_dependency(j, null)).toBe(0);
    expect(j.dependencies).toEqual([f2, other]);
    expect([f1, f2, f0, other].map((f) => f.refcount.refcount)).toEqual([1, 2, 1, 2]);
    expect(drm_sched_job_has_dependency(j, f2)).toBe(true);
    expect(drm_sched_job_has_dependency(j, f1)).toBe(false);
  });

  it('stores one dependency in the xarray head and allocates a node for the second context (xa_alloc); cleanup frees it; the checks of a GFP_KERNEL allocation apply to every add', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const nodes = () => k.lifetime.live(['kmalloc:xa_node']).length;
    const c1 = k.dma_fence_context_alloc(1), c2 = k.dma_fence_context_alloc(1);
    const x1 = ext_fence(k, c1, 1), x2 = ext_fence(k, c1, 2), y = ext_fence(k, c2, 1);
    const j = make_job(rig, e, 'j', 100);
    expect(drm_sched_job_add_dependency(j, dma_fence_get(x1))).toBe(0);
    expect(nodes()).toBe(0);
    expect(drm_sched_job_add_dependency(j, dma_fence_get(x2))).toBe(0); // same context: xa_store, no node
    expect(nodes()).toBe(0);
    expect(drm_sched_job_add_dependency(j, dma_fence_get(y))).toBe(0);
    expect(nodes()).toBe(1);
    expect(j.xa_node!.size).toBe(576);
    // A dependency added in atomic context is a GFP_KERNEL allocation there, node or not.
    const single = make_job(rig, e, 'single', 100);
    const lock = new spinlock_t(k, 'test.lock');
    spin_lock(lock);
    expect(drm_sched_job_add_dependency(single, dma_fence_get(x1))).toBe(0);
    spin_unlock(lock);
    expect(k.violations.of_kind('gfp_in_atomic').map((v) => v.site)).toEqual(['xa_node']);
    k.violations.list.length = 0;
    submit(j);
    submit(single);
    for (const f of [x1, x2, y]) dma_fence_signal(f);
    k.run_all();
    expect(rig.gpu.run_log).toEqual(['j', 'single']);
    expect(rig.gpu.free_log.sort()).toEqual(['j', 'single']);
    expect(nodes()).toBe(0); // drm_sched_job_cleanup's xa_destroy
    for (const f of [x1, x2, y]) dma_fence_put(f);
  });

  it("frees the node on a killed entity when the kill work erases the job's last dependency, before that one signals", () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const nodes = () => k.lifetime.live(['kmalloc:xa_node']).length;
    const x = ext_fence(k, k.dma_fence_context_alloc(1), 1), y = ext_fence(k, k.dma_fence_context_alloc(1), 1);
    const j = make_job(rig, e, 'j', 100);
    drm_sched_job_add_dependency(j, dma_fence_get(x));
    drm_sched_job_add_dependency(j, dma_fence_get(y));
    submit(j);
    const finished = dma_fence_get(j.s_fence!.finished);
    k.run_all();
    k.run_task(drm_sched_entity_fini(e));
    k.run_all();
    expect(nodes()).toBe(1); // x erased, the kill work waits for it; y still stored
    dma_fence_signal(x);
    k.run_all();
    expect(nodes()).toBe(0); // y erased: the xarray is empty
    expect(finished.signaled).toBe(false); // and the kill work waits for y
    dma_fence_signal(y);
    k.run_all();
    expect([finished.signaled, finished.error]).toEqual([true, -ESRCH]);
    expect(rig.gpu.run_log).toEqual([]);
    for (const f of [x, y, finished]) dma_fence_put(f);
  });

  it('a job blocked on a pending fence costs one extra run-work iteration, plus one at the wake-up', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const x = ext_fence(k, k.dma_fence_context_alloc(1), 1);
    const j = make_job(rig, e, 'j', 100);
    drm_sched_job_add_dependency(j, dma_fence_get(x));
    submit(j);
    k.run_all();
    expect(rig.gpu.run_log).toEqual([]);
    expect(events(k, 'drm_sched_job_unschedulable').length).toBe(1);
    expect(events(k, 'drm_sched_job_add_dep')[0].args).toMatchObject({ dep_context: x.context, dep_seqno: 1 });
    dma_fence_signal(x);
    k.run_all();
    expect(rig.gpu.free_log).toEqual(['j']);
    expect(work_counts(k)['&sched->work_run_job']).toBe(3 + 2);
    dma_fence_put(x);
  });
});

describe('fences of the same entity and the same scheduler', () => {
  it('an own-entity dependency is dropped: the second job runs while the first is still on the HW', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, e, 'a');
    submit(a);
    const b = make_job(rig, e, 'b');
    drm_sched_job_add_dependency(b, dma_fence_get(a.s_fence!.finished));
    submit(b);
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['a', 'b']);
    // drm_sched_job_add_dep traces the dependency at push (upstream 6.16+); it never blocks b.
    expect(events(rig.kernel, 'drm_sched_job_add_dep').map((d) => d.args.dep_context)).toEqual([a.s_fence!.finished.context]);
    expect(events(rig.kernel, 'drm_sched_job_unschedulable')).toEqual([]);
  });

  it('pipelining: a finished fence of the same scheduler is replaced by its scheduled fence', () => {
    const rig = make_sched(make_kernel());
    const ea = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), eb = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, ea, 'a');
    submit(a);
    const b = make_job(rig, eb, 'b');
    drm_sched_job_add_dependency(b, dma_fence_get(a.s_fence!.finished));
    submit(b);
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['a', 'b']); // b did not wait for a to finish
    expect(a.s_fence!.finished.signaled).toBe(false);
    // The worker popped b after a was scheduled, so the replaced fence was already signalled:
    // b was never unschedulable.
    expect(events(rig.kernel, 'drm_sched_job_unschedulable')).toEqual([]);
  });

  it('pipelining waits on `scheduled` when the other job is not on the HW yet, and no longer', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const ea = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), eb = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const x = ext_fence(k, k.dma_fence_context_alloc(1), 1);
    const a = make_job(rig, ea, 'a'); // manual: stays on the HW
    drm_sched_job_add_dependency(a, dma_fence_get(x));
    submit(a);
    const b = make_job(rig, eb, 'b', 100);
    drm_sched_job_add_dependency(b, dma_fence_get(a.s_fence!.finished));
    submit(b);
    k.run_all();
    expect(rig.gpu.run_log).toEqual([]);
    // add_dep at push names the dependency as given; unschedulable names what the head job
    // actually waits on: the pipelined scheduled fence for b.
    expect(events(k, 'drm_sched_job_add_dep').map((d) => d.args.dep_context)).toEqual([x.context, a.s_fence!.finished.context]);
    expect(events(k, 'drm_sched_job_unschedulable').map((d) => d.args.dep_context)).toEqual([x.context, a.s_fence!.scheduled.context]);
    dma_fence_signal(x);
    k.run_all();
    expect(rig.gpu.run_log).toEqual(['a', 'b']);
    expect(a.s_fence!.finished.signaled).toBe(false);
    expect(rig.gpu.free_log).toEqual([]); // b finished first but is freed after a (pending order)
    dma_fence_put(x);
  });

  it('DRM_SCHED_FENCE_DONT_PIPELINE: the dependent job waits for `finished`', () => {
    const rig = make_sched(make_kernel());
    const ea = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), eb = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, ea, 'a');
    submit(a);
    a.s_fence!.finished.flags |= 1 << DRM_SCHED_FENCE_DONT_PIPELINE;
    const b = make_job(rig, eb, 'b', 100);
    drm_sched_job_add_dependency(b, dma_fence_get(a.s_fence!.finished));
    submit(b);
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['a']);
    const dep = events(rig.kernel, 'drm_sched_job_unschedulable')[0].args;
    expect(dep.dep_context).toBe(a.s_fence!.finished.context);
    fake_gpu_advance(rig.gpu, 1);
    rig.kernel.run_all();
    expect(rig.gpu.run_log).toEqual(['a', 'b']);
  });

  it('a finished fence of another scheduler is waited for in full', () => {
    const k = make_kernel();
    const r1 = make_sched(k, { name: 'r1' }), r2 = make_sched(k, { name: 'r2' });
    const a = make_job(r1, make_entity(r1, DRM_SCHED_PRIORITY_NORMAL), 'a');
    submit(a);
    const b = make_job(r2, make_entity(r2, DRM_SCHED_PRIORITY_NORMAL), 'b', 100);
    drm_sched_job_add_dependency(b, dma_fence_get(a.s_fence!.finished));
    submit(b);
    k.run_all();
    expect(r2.gpu.run_log).toEqual([]);
    expect(to_drm_sched_fence(a.s_fence!.finished)!.sched).toBe(r1.sched);
    fake_gpu_advance(r1.gpu, 1);
    k.run_all();
    expect(r2.gpu.run_log).toEqual(['b']);
  });
});

describe('scheduler fences', () => {
  it('a deadline set on `finished` before run_job is forwarded to the parent; later ones go straight through', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const seen: number[] = [];
    const hw_ops = { ...ext_ops, set_deadline: (_f: dma_fence, d: number) => { seen.push(d); } };
    let hw: dma_fence | null = null;
    rig.gpu.ops.run_job = () => {
      hw = new dma_fence(k, 'test.hw');
      dma_fence_init(hw, hw_ops, new spinlock_t(k, '&hw->lock'), k.dma_fence_context_alloc(1), 1);
      return hw;
    };
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'j');
    submit(j);
    dma_fence_set_deadline(j.s_fence!.finished, 5_000_000);
    dma_fence_set_deadline(j.s_fence!.finished, 9_000_000); // later than the one we have: kept
    k.run_all();
    expect(seen).toEqual([5_000_000]);
    dma_fence_set_deadline(j.s_fence!.finished, 1_000_000);
    expect(seen).toEqual([5_000_000, 1_000_000]);
    expect(j.s_fence!.parent).toBe(hw);
    const scheduled = j.s_fence!.scheduled, finished = j.s_fence!.finished;
    expect([scheduled.context, finished.context, scheduled.seqno, finished.seqno]).toEqual([finished.context - 1, scheduled.context + 1, 1, 1]);
    expect(scheduled.lock).toBe(finished.lock);
    expect(hw!.refcount.refcount).toBe(1); // only s_fence->parent holds it now
    dma_fence_signal(hw!);
    k.run_all();
    expect(k.lifetime.is_live(finished.id)).toBe(true); // entity->last_scheduled still holds it
    k.run_task(drm_sched_entity_fini(e));
    // The last put of finished drops scheduled, whose release puts the parent and frees both.
    expect(k.lifetime.is_live(finished.id) || k.lifetime.is_live(scheduled.id) || k.lifetime.is_live(hw!.id)).toBe(false);
  });
});

describe('prepare_job and helpers', () => {
  it('prepare_job is asked after the xarray dependencies, until it returns NULL', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const x = ext_fence(k, k.dma_fence_context_alloc(1), 1);
    let calls = 0;
    rig.gpu.ops.prepare_job = () => (calls++ === 0 ? dma_fence_get(x) : null);
    submit(make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'j', 100));
    k.run_all();
    expect(rig.gpu.run_log).toEqual([]);
    dma_fence_signal(x);
    k.run_all();
    expect(rig.gpu.run_log).toEqual(['j']);
    expect(calls).toBe(2);
    dma_fence_put(x);
  });

  it('implicit dependencies follow dma_resv_usage_rw; syncobj lookups add the fence or fail -ENOENT', () => {
    const k = make_kernel();
    const rig = make_sched(k);
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const obj = new drm_gem_object(k, 'bo');
    const w = ext_fence(k, k.dma_fence_context_alloc(1), 1), r = ext_fence(k, k.dma_fence_context_alloc(1), 1);
    dma_resv_lock(obj.resv);
    dma_resv_add_fence(obj.resv, w, DMA_RESV_USAGE_WRITE);
    dma_resv_add_fence(obj.resv, r, DMA_RESV_USAGE_READ);
    const reader = make_job(rig, e, 'reader'), writer = make_job(rig, e, 'writer');
    expect(drm_sched_job_add_implicit_dependencies(reader, obj, false)).toBe(0);
    expect(drm_sched_job_add_implicit_dependencies(writer, obj, true)).toBe(0);
    dma_resv_unlock(obj.resv);
    expect(reader.dependencies).toEqual([w]);
    expect(writer.dependencies).toEqual([w, r]);
    const file = new drm_file(k, 'client');
    const handle = file.create_syncobj(r);
    expect(drm_sched_job_add_syncobj_dependency(reader, file, handle, 0)).toBe(0);
    expect(drm_sched_job_add_syncobj_dependency(reader, file, 999, 0)).toBe(-ENOENT);
    expect(reader.dependencies).toEqual([w, r]);
    expect(k.violations.list).toEqual([]);
  });
});
