/**
 * panfrost converted to drm_dep through the HW-queue layer (@deplab/drm-dep-hw): no upstream
 * counterpart; this is what the conversion of on-sched.ts looks like.
 *
 * Topology: one drm_dep_hw_ring per job slot (credit_limit 2 or 1, 500 ms timeout, FIFO unless
 * `hw_policy` says otherwise), their TDRs on the one ordered "panfrost-reset" workqueue as
 * before; one drm_dep_hw_queue per slot in every JM context, at the context's priority; one
 * drm_dep_device for the unload barrier.
 *
 * The conversion:
 * - panfrost's job kref becomes drm_dep's; free_job becomes release_job (the fences and the
 *   context reference go there); the submit ioctl's put is drm_dep_job_put;
 * - the done fence is allocated at submit and initialised in run_job (run_job runs in the
 *   ring's signalling section and may not allocate); a resubmitted job keeps its done fence;
 * - the reset: every ring is stopped (drm_dep_hw_ring_stop), the hardware half is unchanged,
 *   then per ring the guilty context's pending jobs complete with -ECANCELED (what karma and
 *   drm_sched_resubmit_jobs did) and the others are resubmitted (drm_dep_hw_job_resubmit),
 *   inside the signalling section (nothing allocates); the rings start again. Completions
 *   that arrive during the reset keep their result: the layer never detaches HW callbacks;
 * - JM_CTX_DESTROY kills the context's queues at once (drm_dep_hw_queue_kill: unstarted jobs
 *   complete with -ECANCELED, as run_job's destroyed check made them); the release puts them;
 * - the in-flight kill tests job->ctx (drm_dep has no job->entity that could go NULL);
 * - unplug: jobs still on a ring complete with -ENODEV, then drm_dep's unload barrier and the
 *   rings' fini barrier;
 * - "panfrost-reset" becomes reclaim-annotated (the rings run their TDR on it, and drm_dep_hw
 *   WARNs on a driver-given workqueue that is not).
 */
import {
  dma_fence, dma_fence_begin_signalling, dma_fence_end_signalling, dma_fence_get, dma_fence_is_signaled, ECANCELED,
  ENODEV, flush_workqueue, GFP_KERNEL, kfree, kmalloc, mutex_lock, mutex_unlock, spin_lock, spin_unlock,
  WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM,
  type Allocation, type Sleepable,
} from '@deplab/sim';
import {
  DRM_DEP_TIMEDOUT_NO_HANG, DRM_DEP_TIMEDOUT_RESET, drm_dep_device, drm_dep_device_wait_idle,
  drm_dep_job_arm, drm_dep_job_finished_fence, drm_dep_job_put, drm_dep_queue_put, type drm_dep_timedout_stat,
} from '@deplab/drm-dep';
import {
  DRM_DEP_HW_POLICY_FIFO, drm_dep_hw_job, drm_dep_hw_job_add_dependency, drm_dep_hw_job_complete, drm_dep_hw_job_init, drm_dep_hw_job_push,
  drm_dep_hw_job_resubmit, drm_dep_hw_queue, drm_dep_hw_queue_init, drm_dep_hw_queue_kill, drm_dep_hw_ring,
  drm_dep_hw_ring_fault, drm_dep_hw_ring_fini, drm_dep_hw_ring_for_each_pending_job, drm_dep_hw_ring_init,
  drm_dep_hw_ring_start, drm_dep_hw_ring_stop, type drm_dep_hw_ring_ops,
} from '@deplab/drm-dep-hw';
import { NUM_JOB_SLOTS, type panfrost_chain } from './hw.ts';
import {
  JOB_TIMEOUT_MS, panfrost_fence_alloc, panfrost_fence_init, panfrost_jm_ctx_free, panfrost_job_cleanup_common,
  panfrost_job_get_slot, panfrost_job_hw_submit, panfrost_job_record_armed, panfrost_reset_done, panfrost_reset_hw,
  panfrost_slot_credit_limit, panfrost_synchronize_irq,
  type PanfrostBinding, type PanfrostJob, type panfrost_device, type panfrost_fence, type panfrost_jm_ctx,
} from './jm.ts';

/** struct panfrost_job: a drm_dep_hw_job; its kref is drm_dep's. */
export class panfrost_job extends drm_dep_hw_job implements PanfrostJob {
  readonly pfdev: panfrost_device;
  ctx: panfrost_jm_ctx | null = null;
  jc: number;
  readonly requirements: number;
  readonly chain: panfrost_chain;
  done_fence: panfrost_fence | null;
  render_done_fence: dma_fence | null = null;
  readonly alloc: Allocation;
  /** drm_dep_hw_job_init succeeded: drm_dep owns the job's lifetime. */
  inited = false;

  constructor(pfdev: panfrost_device, chain: panfrost_chain, requirements: number, alloc: Allocation, done_fence: panfrost_fence) {
    super(pfdev.kernel);
    this.pfdev = pfdev;
    this.jc = chain.jc;
    this.requirements = requirements;
    this.chain = chain;
    this.alloc = alloc;
    this.done_fence = done_fence;
  }
}

/** One slot entity of a JM context: a HW queue on the slot's ring. */
export class panfrost_slot_queue extends drm_dep_hw_queue {
  readonly ctx: panfrost_jm_ctx;
  readonly slot: number;

  constructor(ctx: panfrost_jm_ctx, slot: number) {
    super(ctx.pfdev.kernel);
    this.ctx = ctx;
    this.slot = slot;
  }
}

function slot_ring(pfdev: panfrost_device, slot: number): drm_dep_hw_ring {
  return pfdev.slots[slot] as drm_dep_hw_ring;
}

function dep_device(pfdev: panfrost_device): drm_dep_device {
  return pfdev.binding_data as drm_dep_device;
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs                                                                                         */

/** release_job: what panfrost_job_cleanup did. drm_dep's context rules (process, or any with IRQ put). */
function panfrost_job_release(job: panfrost_job): void {
  panfrost_job_cleanup_common(job);
  kfree(job.pfdev.kernel, job.alloc);
}

/** run_job: the done fence was allocated at submit; a resubmitted job keeps it. */
function panfrost_job_run(job: panfrost_job): dma_fence | null | number {
  const pfdev = job.pfdev;
  const slot = panfrost_job_get_slot(job);
  if (pfdev.unplugged) return -ENODEV;
  if (job.ctx!.destroyed) return -ECANCELED;
  if (job.jc === 0) return null;
  const fence = job.done_fence!;
  if (fence.id < 0) panfrost_fence_init(pfdev, fence, slot);
  const ret = panfrost_job_hw_submit(job, slot);
  if (ret !== 0) return ret;
  return dma_fence_get(fence);
}

/**
 * The reset around panfrost_reset_hw: stop every ring, then per ring complete the guilty
 * context's pending jobs with -ECANCELED and resubmit the others, start every ring.
 */
function* panfrost_reset(pfdev: panfrost_device, bad: PanfrostJob | null): Sleepable {
  const k = pfdev.kernel;
  if (!pfdev.reset.pending || pfdev.unplugged) return; // unplug took the rings down
  for (let i = 0; i < NUM_JOB_SLOTS; i++) yield* drm_dep_hw_ring_stop(slot_ring(pfdev, i));
  const cookie = dma_fence_begin_signalling(k);
  yield* panfrost_reset_hw(pfdev);
  const bad_slot = bad === null ? -1 : panfrost_job_get_slot(bad);
  for (let i = 0; i < NUM_JOB_SLOTS; i++) {
    drm_dep_hw_ring_for_each_pending_job<panfrost_job>(slot_ring(pfdev, i), (job) => {
      if (bad !== null && i === bad_slot && job.ctx === bad.ctx) drm_dep_hw_job_complete(job, -ECANCELED);
      else drm_dep_hw_job_resubmit(job);
    });
  }
  for (let i = 0; i < NUM_JOB_SLOTS; i++) drm_dep_hw_ring_start(slot_ring(pfdev, i));
  panfrost_reset_done(pfdev);
  dma_fence_end_signalling(k, cookie);
}

/** timedout_job of a ring: as upstream's panfrost_job_timedout. */
function* panfrost_job_timedout(job: panfrost_job): Sleepable<drm_dep_timedout_stat> {
  const pfdev = job.pfdev;
  const k = pfdev.kernel;
  const done = job.done_fence!;
  if (done.id >= 0 && dma_fence_is_signaled(done)) return DRM_DEP_TIMEDOUT_NO_HANG;
  yield* panfrost_synchronize_irq(pfdev);
  if (done.id >= 0 && dma_fence_is_signaled(done)) {
    k.tp('panfrost_dev_warn', { message: 'unexpectedly high interrupt latency' });
    return DRM_DEP_TIMEDOUT_NO_HANG;
  }
  k.tp('panfrost_dev_err', { message: `gpu sched timeout, js=${panfrost_job_get_slot(job)}` });
  pfdev.reset.pending = true;
  yield* panfrost_reset(pfdev, job);
  return DRM_DEP_TIMEDOUT_RESET;
}

const panfrost_ring_ops: drm_dep_hw_ring_ops<panfrost_job, panfrost_slot_queue> = {
  run_job: panfrost_job_run,
  timedout_job: panfrost_job_timedout,
  release_job: panfrost_job_release,
};

/* ------------------------------------------------------------------------------------------ */
/* Rings and queues                                                                             */

function panfrost_jm_init_rings(pfdev: panfrost_device, policy: number): number {
  const k = pfdev.kernel;
  pfdev.binding_data = new drm_dep_device(k, 'panfrost');
  for (let j = 0; j < NUM_JOB_SLOTS; j++) {
    const ring = new drm_dep_hw_ring(k);
    const ret = drm_dep_hw_ring_init(ring, {
      ops: panfrost_ring_ops, name: `pan_js${j}`, credit_limit: panfrost_slot_credit_limit(pfdev),
      timeout: k.jiffies.msecs_to_jiffies(JOB_TIMEOUT_MS), timeout_wq: pfdev.reset.wq, policy,
    });
    if (ret !== 0) return ret;
    pfdev.slots[j] = ring;
  }
  return 0;
}

/**
 * Ring teardown at unplug (the interrupt is masked): no reset or IRQ thread may still be running
 * (a reset in progress finishes first, a later one bails on `unplugged`), then the jobs still on
 * a ring leave pfdev->jobs and complete with -ENODEV, then drm_dep's unload barrier (every queue
 * released: the files must be closed) and each ring's fini barrier.
 */
function* panfrost_jm_fini_rings(pfdev: panfrost_device): Sleepable {
  pfdev.unplugged = true;
  pfdev.job_irq_suspended = true;
  yield* flush_workqueue(pfdev.reset.wq!);
  yield* panfrost_synchronize_irq(pfdev);
  for (let j = 0; j < NUM_JOB_SLOTS; j++) {
    const ring = slot_ring(pfdev, j);
    yield* drm_dep_hw_ring_stop(ring);
    spin_lock(pfdev.js.job_lock);
    pfdev.jobs[j].fill(null);
    spin_unlock(pfdev.js.job_lock);
    drm_dep_hw_ring_for_each_pending_job<panfrost_job>(ring, (job) => drm_dep_hw_job_complete(job, -ENODEV));
    drm_dep_hw_ring_start(ring);
  }
  yield* drm_dep_device_wait_idle(dep_device(pfdev));
  for (let j = 0; j < NUM_JOB_SLOTS; j++) yield* drm_dep_hw_ring_fini(slot_ring(pfdev, j));
}

function panfrost_ctx_init(ctx: panfrost_jm_ctx, priority: number, flags: number): number {
  const pfdev = ctx.pfdev;
  for (let i = 0; i < NUM_JOB_SLOTS; i++) {
    const q = new panfrost_slot_queue(ctx, i);
    const ret = drm_dep_hw_queue_init(q, slot_ring(pfdev, i), { name: `jm_ctx${ctx.id}/js${i}`, priority, flags, dev: dep_device(pfdev) });
    if (ret !== 0) return ret;
    ctx.slot_entity.push(q);
  }
  return 0;
}

/** JM_CTX_DESTROY: unstarted jobs of the context complete with -ECANCELED at once. */
function panfrost_ctx_destroyed(ctx: panfrost_jm_ctx): void {
  for (const q of ctx.slot_entity) drm_dep_hw_queue_kill(q as panfrost_slot_queue);
}

/** panfrost_jm_ctx_release: drop the queues (their teardown is drm_dep's, asynchronous), kfree. */
function* panfrost_ctx_release(ctx: panfrost_jm_ctx): Sleepable {
  for (const q of ctx.slot_entity) drm_dep_queue_put(q as panfrost_slot_queue);
  panfrost_jm_ctx_free(ctx);
}

function panfrost_job_alloc(pfdev: panfrost_device, chain: panfrost_chain, requirements: number): PanfrostJob | null {
  const alloc = kmalloc(pfdev.kernel, 512, GFP_KERNEL, 'panfrost_job');
  if (alloc === null) return null;
  const fence = panfrost_fence_alloc(pfdev.kernel);
  if (fence === null) {
    kfree(pfdev.kernel, alloc);
    return null;
  }
  return new panfrost_job(pfdev, chain, requirements, alloc, fence);
}

function panfrost_job_init(job: PanfrostJob, ctx: panfrost_jm_ctx, slot: number, client_id: number): number {
  const j = job as panfrost_job;
  const ret = drm_dep_hw_job_init(j, ctx.slot_entity[slot] as panfrost_slot_queue, 1, client_id);
  j.inited = ret === 0;
  return ret;
}

/** panfrost_job_push: arm, the out-fence, push; drm_dep takes its own reference. */
function panfrost_job_push(job: PanfrostJob): number {
  const j = job as panfrost_job;
  mutex_lock(j.pfdev.sched_lock);
  drm_dep_job_arm(j);
  j.render_done_fence = drm_dep_job_finished_fence(j);
  panfrost_job_record_armed(j);
  drm_dep_hw_job_push(j);
  mutex_unlock(j.pfdev.sched_lock);
  return 0;
}

/** The submit's reference: drm_dep's put once initialised, else the cleanup by hand. */
function panfrost_job_put(job: PanfrostJob): void {
  const j = job as panfrost_job;
  if (j.inited) drm_dep_job_put(j);
  else panfrost_job_release(j);
}

/** panfrost on drm_dep + the HW-queue layer; `flags` are the queues' DRM_DEP_QUEUE_FLAGS_*. */
export function panfrost_dep_hw_binding(flags = 0, policy = DRM_DEP_HW_POLICY_FIFO): PanfrostBinding {
  return {
    name: 'drm_dep_hw',
    // drm_dep_hw checks that a driver-given TDR workqueue is reclaim-annotated.
    reset_wq_flags: WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM,
    jm_init: (pfdev) => panfrost_jm_init_rings(pfdev, policy),
    jm_fini: panfrost_jm_fini_rings,
    ctx_init: (ctx, priority) => panfrost_ctx_init(ctx, priority, flags),
    ctx_destroyed: panfrost_ctx_destroyed,
    ctx_release: panfrost_ctx_release,
    job_of_ctx: (job, ctx) => job.ctx === ctx,
    job_alloc: panfrost_job_alloc,
    job_init: panfrost_job_init,
    job_add_dependency: (job, fence) => drm_dep_hw_job_add_dependency(job as panfrost_job, fence),
    job_push: panfrost_job_push,
    job_cleanup: () => {}, // the put below releases an unpushed drm_dep job
    job_put: panfrost_job_put,
    fault: (pfdev, slot) => drm_dep_hw_ring_fault(slot_ring(pfdev, slot)),
    reset: panfrost_reset,
  };
}
