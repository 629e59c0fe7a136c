/**
 * Scheduler fences (drivers/gpu/drm/scheduler/sched_fence.c).
 *
 * One drm_sched_fence holds two dma_fences: `scheduled` on entity->fence_context and
 * `finished` on fence_context + 1, with the same seqno and one shared lock. Refcount chain:
 * the last put of `finished` drops the reference it holds on `scheduled`; the last put of
 * `scheduled` puts the parent (HW) fence and frees the whole structure (after an RCU grace
 * period in C, immediately here).
 */
import {
  GFP_KERNEL, dma_fence_free, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_set_deadline,
  dma_fence_set_error, dma_fence_signal, kmem_cache_alloc, kmem_cache_create, kmem_cache_free,
  spin_lock_irqsave, spin_unlock_irqrestore,
  type Kernel, type dma_fence, type dma_fence_ops, type kmem_cache,
} from '@deplab/sim';
import {
  DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT, drm_sched_fence, type drm_gpu_scheduler, type drm_sched_entity,
} from './gpu_scheduler.ts';

/** sizeof(struct drm_sched_fence) on x86-64 is about 200 bytes; the exact value only feeds stats. */
const DRM_SCHED_FENCE_SIZE = 208;

const slabs = new WeakMap<Kernel, kmem_cache>();

/** The "drm_sched_fence" slab, created on first use (module_init in C). */
function sched_fence_slab(k: Kernel): kmem_cache {
  let slab = slabs.get(k);
  if (slab === undefined) {
    slab = kmem_cache_create(k, 'drm_sched_fence', DRM_SCHED_FENCE_SIZE);
    slabs.set(k, slab);
  }
  return slab;
}

function fence_sched(f: dma_fence): drm_gpu_scheduler | null {
  return (f.owner as drm_sched_fence).sched;
}

/** drm_sched_fence_release_scheduled: put the parent and free the structure. */
function drm_sched_fence_release_scheduled(f: dma_fence): void {
  const fence = f.owner as drm_sched_fence;
  dma_fence_put(fence.parent);
  drm_sched_fence_free_memory(fence);
}

/** drm_sched_fence_release_finished: drop the reference finished holds on scheduled. */
function drm_sched_fence_release_finished(f: dma_fence): void {
  const fence = f.owner as drm_sched_fence;
  dma_fence_put(fence.scheduled);
}

/**
 * drm_sched_fence_set_deadline_finished: remember the earliest deadline and forward it to the
 * parent if one exists (a later drm_sched_fence_set_parent forwards it otherwise).
 */
function drm_sched_fence_set_deadline_finished(f: dma_fence, deadline_ns: number): void {
  const fence = f.owner as drm_sched_fence;
  const flags = spin_lock_irqsave(fence.lock);
  const has = (f.flags & (1 << DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT)) !== 0;
  if (has && fence.deadline_ns < deadline_ns) {
    spin_unlock_irqrestore(fence.lock, flags);
    return;
  }
  fence.deadline_ns = deadline_ns;
  f.flags |= 1 << DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT;
  spin_unlock_irqrestore(fence.lock, flags);
  // smp_load_acquire(&fence->parent) pairs with the store release in set_parent.
  if (fence.parent !== null) dma_fence_set_deadline(fence.parent, deadline_ns);
}

export const drm_sched_fence_ops_scheduled: dma_fence_ops = {
  get_driver_name: () => 'drm_sched',
  get_timeline_name: (f) => fence_sched(f)?.name ?? '',
  release: drm_sched_fence_release_scheduled,
};

export const drm_sched_fence_ops_finished: dma_fence_ops = {
  get_driver_name: () => 'drm_sched',
  get_timeline_name: (f) => fence_sched(f)?.name ?? '',
  release: drm_sched_fence_release_finished,
  set_deadline: drm_sched_fence_set_deadline_finished,
};

/** to_drm_sched_fence (sched_fence.c): the container of a scheduled or finished fence, else null. */
export function to_drm_sched_fence(f: dma_fence): drm_sched_fence | null {
  if (f.ops === drm_sched_fence_ops_scheduled || f.ops === drm_sched_fence_ops_finished) {
    return f.owner as drm_sched_fence;
  }
  return null;
}

/**
 * drm_sched_fence_alloc (sched_fence.c): kmem_cache_zalloc(GFP_KERNEL) from job_init, so
 * process context. Returns null on allocation failure.
 */
export function drm_sched_fence_alloc(entity: drm_sched_entity, owner: unknown, drm_client_id: number): drm_sched_fence | null {
  const k = entity.kernel;
  const alloc = kmem_cache_alloc(sched_fence_slab(k), GFP_KERNEL);
  if (alloc === null) return null;
  const fence = new drm_sched_fence(k);
  fence.alloc = alloc;
  fence.owner = owner;
  fence.drm_client_id = drm_client_id;
  return fence;
}

/**
 * drm_sched_fence_init (sched_fence.c): called from drm_sched_job_arm. Both fences get seqno
 * `++entity->fence_seq`. Dereferences entity->rq.
 */
export function drm_sched_fence_init(fence: drm_sched_fence, entity: drm_sched_entity): void {
  const rq = entity.rq!;
  entity.kernel.lifetime.use(rq.lifetime_id, 'drm_sched_fence_init: entity->rq');
  fence.sched = rq.sched;
  const seq = ++entity.fence_seq;
  dma_fence_init(fence.scheduled, drm_sched_fence_ops_scheduled, fence.lock, entity.fence_context, seq);
  dma_fence_init(fence.finished, drm_sched_fence_ops_finished, fence.lock, entity.fence_context + 1, seq);
}

/** drm_sched_fence_free (sched_fence.c): only for a fence that was never initialised. */
export function drm_sched_fence_free(fence: drm_sched_fence): void {
  if (fence.kernel.WARN_ON_ONCE(fence.sched !== null, 'drm_sched_fence_free', 'drm_sched_fence_free on an initialised fence')) return;
  drm_sched_fence_free_memory(fence);
}

function drm_sched_fence_free_memory(fence: drm_sched_fence): void {
  const k = fence.kernel;
  if (fence.scheduled.id >= 0 && k.lifetime.is_live(fence.scheduled.id)) dma_fence_free(fence.scheduled);
  if (fence.finished.id >= 0 && k.lifetime.is_live(fence.finished.id)) dma_fence_free(fence.finished);
  if (fence.alloc !== null) kmem_cache_free(sched_fence_slab(k), fence.alloc);
}

/** drm_sched_fence_set_parent: publish the HW fence (one reference) and forward a deadline. */
function drm_sched_fence_set_parent(s_fence: drm_sched_fence, fence: dma_fence): void {
  s_fence.parent = dma_fence_get(fence);
  if ((s_fence.finished.flags & (1 << DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT)) !== 0) {
    dma_fence_set_deadline(fence, s_fence.deadline_ns);
  }
}

/** drm_sched_fence_scheduled (sched_fence.c): set the parent if any, signal `scheduled`. */
export function drm_sched_fence_scheduled(fence: drm_sched_fence, parent: dma_fence | null): void {
  if (parent !== null) drm_sched_fence_set_parent(fence, parent);
  dma_fence_signal(fence.scheduled);
}

/** drm_sched_fence_finished (sched_fence.c): set a non-zero result as error, signal `finished`. */
export function drm_sched_fence_finished(fence: drm_sched_fence, result: number): void {
  if (result !== 0) dma_fence_set_error(fence.finished, result);
  dma_fence_signal(fence.finished);
}
