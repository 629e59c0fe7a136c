/**
 * The pieces of DRM core that the schedulers' dependency helpers read: dma_resv
 * (drivers/dma-buf/dma-resv.c), drm_gem_object's reservation object, and drm_syncobj handle
 * lookup (drivers/gpu/drm/drm_syncobj.c). Reduced to what dependency tracking needs: a resv
 * holds fences with a usage; a syncobj holds one fence (timeline points are not modelled).
 */
import type { Kernel } from './kernel.ts';
import { ENOENT } from './errno.ts';
import { dma_fence_get, dma_fence_is_signaled, dma_fence_put, type dma_fence } from './fence.ts';
import { lockdep_assert_held, mutex, mutex_init, mutex_lock, mutex_unlock } from './lockdep.ts';

export const DMA_RESV_USAGE_KERNEL = 0;
export const DMA_RESV_USAGE_WRITE = 1;
export const DMA_RESV_USAGE_READ = 2;
export const DMA_RESV_USAGE_BOOKKEEP = 3;

/** dma_resv_usage_rw: the usage an access must wait for (a write waits for readers too). */
export function dma_resv_usage_rw(write: boolean): number {
  return write ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE;
}

export class dma_resv {
  readonly kernel: Kernel;
  /** The ww_mutex of the reservation object (a plain mutex class here). */
  readonly lock: mutex;
  readonly fences: { fence: dma_fence; usage: number }[] = [];

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.lock = mutex_init(kernel, 'reservation_ww_class_mutex');
  }
}

export function dma_resv_init(k: Kernel): dma_resv {
  return new dma_resv(k);
}

export function dma_resv_lock(obj: dma_resv): void {
  mutex_lock(obj.lock);
}

export function dma_resv_unlock(obj: dma_resv): void {
  mutex_unlock(obj.lock);
}

/**
 * dma_resv_add_fence: must hold the lock. A fence replaces an earlier one of the same context
 * and usage; signalled fences are pruned.
 */
export function dma_resv_add_fence(obj: dma_resv, fence: dma_fence, usage: number): void {
  lockdep_assert_held(obj.lock, 'dma_resv_add_fence');
  for (let i = obj.fences.length - 1; i >= 0; i--) {
    const old = obj.fences[i];
    if ((old.fence.context === fence.context && old.usage <= usage) || dma_fence_is_signaled(old.fence)) {
      dma_fence_put(old.fence);
      obj.fences.splice(i, 1);
    }
  }
  obj.fences.push({ fence: dma_fence_get(fence), usage });
}

/** The fences a waiter with `usage` must wait for (usage <= the given one), unreferenced. */
export function dma_resv_fences(obj: dma_resv, usage: number): dma_fence[] {
  const out: dma_fence[] = [];
  for (const f of obj.fences) if (f.usage <= usage) out.push(f.fence);
  return out;
}

export function dma_resv_fini(obj: dma_resv): void {
  for (const f of obj.fences) dma_fence_put(f.fence);
  obj.fences.length = 0;
}

/** struct drm_gem_object, reduced to its reservation object. */
export class drm_gem_object {
  readonly resv: dma_resv;
  readonly name: string;

  constructor(kernel: Kernel, name: string) {
    this.resv = new dma_resv(kernel);
    this.name = name;
  }
}

/** struct drm_syncobj: one fence (binary syncobj). */
export class drm_syncobj {
  fence: dma_fence | null = null;
}

/** struct drm_file, reduced to its syncobj handle table. */
export class drm_file {
  readonly kernel: Kernel;
  readonly name: string;
  readonly syncobjs = new Map<number, drm_syncobj>();
  private next_handle = 1;

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.name = name;
  }

  /** drm_syncobj_create + handle: returns the handle. */
  create_syncobj(fence: dma_fence | null): number {
    const obj = new drm_syncobj();
    obj.fence = fence === null ? null : dma_fence_get(fence);
    const handle = this.next_handle++;
    this.syncobjs.set(handle, obj);
    return handle;
  }
}

/** drm_syncobj_replace_fence. */
export function drm_syncobj_replace_fence(obj: drm_syncobj, fence: dma_fence | null): void {
  const old = obj.fence;
  obj.fence = fence === null ? null : dma_fence_get(fence);
  dma_fence_put(old);
}

/**
 * drm_syncobj_find_fence(file, handle, point, flags): a new reference to the syncobj's fence,
 * or a negative errno (-ENOENT for an unknown handle or an empty syncobj). `point` must be 0.
 */
export function drm_syncobj_find_fence(file: drm_file, handle: number, point: number, flags: number): dma_fence | number {
  void flags;
  const obj = file.syncobjs.get(handle);
  if (obj === undefined || obj.fence === null || point !== 0) return -ENOENT;
  return dma_fence_get(obj.fence);
}
