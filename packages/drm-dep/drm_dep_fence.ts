/**
 * drm_dep_fence: the job's finished fence (models drivers/gpu/drm/dep/drm_dep_fence.c and the
 * private drm_dep_fence.h of "[RFC PATCH 02/12] drm/dep: Add DRM dependency queue layer").
 * The C code is not available; this file follows the mail text of S1 and S11 (docs/rfc-sources.md).
 *
 * What is verified [V S1, S11]: there is only a finished fence (no scheduled fence); it is
 * private to drm_dep; it is initialised at arm time with the next seqno on the queue's
 * timeline; its ops have no .wait and no .release so that dma-fence detaches the ops when the
 * fence signals (Christian König's "detach fence ops on signal", B5) and the fence may outlive
 * the queue and the module.
 * What is inferred [I]: the memory is allocated at job init (the fallible step), the lock is
 * embedded in the fence (a lock inside the queue would dangle once the queue is freed), and
 * the timeline name is the queue's name.
 *
 * Nothing here is exported from index.ts: drivers only ever see an opaque `dma_fence`
 * through drm_dep_job_finished_fence().
 */
import {
  dma_fence, dma_fence_init, dma_fence_put, dma_fence_set_error, dma_fence_signal, GFP_KERNEL, kfree,
  kmalloc, spin_lock_init, type Allocation, type dma_fence_ops, type Kernel, type spinlock_t,
} from '@deplab/sim';

/** Lifetime-tracker type of the finished fence. */
export const DRM_DEP_FENCE_TYPE = 'drm_dep_fence';
/** sizeof(struct drm_dep_fence) as the model assumes it: a dma_fence (64 B) plus a spinlock and padding. */
const DRM_DEP_FENCE_SIZE_BYTES = 96;

export class drm_dep_fence {
  readonly base: dma_fence;
  /** Embedded lock: the fence must not point into the queue, which may be freed first. */
  readonly lock: spinlock_t;
  /** The memory allocated at job init, until arm hands it to the dma-fence core. */
  memory: Allocation | null;
  /** Timeline name (the queue name), copied so the fence never reads the queue. */
  readonly timeline_name: string;
  /** Lifetime id of the issuing queue, to catch a timeline-name read after the queue is gone. */
  readonly queue_lifetime_id: number;

  constructor(kernel: Kernel, memory: Allocation, timeline_name: string, queue_lifetime_id: number) {
    this.base = new dma_fence(kernel, DRM_DEP_FENCE_TYPE);
    this.base.owner = this;
    this.lock = spin_lock_init(kernel, '&drm_dep_fence->lock');
    this.memory = memory;
    this.timeline_name = timeline_name;
    this.queue_lifetime_id = queue_lifetime_id;
  }
}

/**
 * The fence ops: no .wait, no .release, no .enable_signaling (signalling is driven by the
 * queue, never on demand), so dma_fence_signal() detaches them [V S11].
 */
const drm_dep_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'drm_dep',
  get_timeline_name(fence: dma_fence): string {
    const f = fence.owner as drm_dep_fence;
    // Only reachable before signalling (ops are detached at signal): the queue must be alive.
    fence.kernel.lifetime.use(f.queue_lifetime_id, 'drm_dep_fence_get_timeline_name');
    return f.timeline_name;
  },
};

/**
 * drm_dep_fence_alloc: allocate the fence at job init (GFP_KERNEL: job init is the fallible,
 * sleepable step before the arm→push signalling section). Returns null on -ENOMEM.
 */
export function drm_dep_fence_alloc(k: Kernel, timeline_name: string, queue_lifetime_id: number): drm_dep_fence | null {
  const memory = kmalloc(k, DRM_DEP_FENCE_SIZE_BYTES, GFP_KERNEL, 'drm_dep_fence');
  if (memory === null) return null;
  return new drm_dep_fence(k, memory, timeline_name, queue_lifetime_id);
}

/**
 * drm_dep_fence_init: called by drm_dep_job_arm() inside the signalling section; it must not
 * allocate. The memory allocated at job init goes to the dma-fence core here: the default
 * dma_fence_free() frees it at the last dma_fence_put() (there is no .release op to do it).
 */
export function drm_dep_fence_init(f: drm_dep_fence, context: number, seqno: number): void {
  dma_fence_init(f.base, drm_dep_fence_ops, f.lock, context, seqno);
  f.base.memory = f.memory;
  f.memory = null;
}

/** drm_dep_fence_signal: set `error` (if any) and signal. Any context. */
export function drm_dep_fence_signal(f: drm_dep_fence, error: number): void {
  if (error < 0) dma_fence_set_error(f.base, error);
  dma_fence_signal(f.base);
}

/**
 * drm_dep_fence_release: the job lets go of its fence. An unarmed fence is simply freed; an
 * armed one drops the job's reference (others may keep the fence alive after the job and the
 * queue are gone).
 */
export function drm_dep_fence_release(f: drm_dep_fence): void {
  if (f.memory !== null) {
    kfree(f.base.kernel, f.memory);
    f.memory = null;
    return;
  }
  dma_fence_put(f.base);
}
