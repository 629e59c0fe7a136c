/**
 * panfrost bound to drm_sched, as upstream writes it: drivers/gpu/drm/panfrost/panfrost_job.c
 * of the JM context era (intel-lab-lkp/linux @02fb92aa960c; 7.0 names panfrost_jm_*).
 *
 * Topology: one drm_gpu_scheduler per job slot ("pan_js", num_rqs = DRM_SCHED_PRIORITY_COUNT,
 * credit_limit 2 with job-chain disambiguation else 1, 500 ms timeout) whose TDRs all run on the
 * one ordered "panfrost-reset" workqueue; one entity per slot in every JM context, at the
 * context's priority. A timeout resets the whole GPU: every slot's scheduler is stopped, the
 * guilty job's context gets -ECANCELED through karma (hang_limit 0), every pending job is
 * resubmitted with the deprecated drm_sched_resubmit_jobs, and every scheduler restarts.
 *
 * Model limit (jm.ts, panfrost_jm_ctx_put): a context released by a job's cleanup runs
 * drm_sched_entity_destroy inline without sleeping (its entities are idle by then); a release
 * that would have to wait there is reported as a model_error.
 */
import {
  dma_fence, dma_fence_begin_signalling, dma_fence_end_signalling, dma_fence_get, dma_fence_is_signaled, dma_fence_put,
  ECANCELED, ENOMEM, GFP_KERNEL, kfree, kmalloc, kref, kref_get, kref_put, mutex_lock, mutex_unlock,
  type Allocation, type Sleepable,
} from '@deplab/sim';
import {
  DRM_GPU_SCHED_STAT_NO_HANG, DRM_GPU_SCHED_STAT_RESET, DRM_SCHED_PRIORITY_COUNT, drm_gpu_scheduler, drm_sched_entity,
  drm_sched_entity_destroy, drm_sched_entity_init, drm_sched_entity_push_job, drm_sched_fault, drm_sched_fini,
  drm_sched_increase_karma, drm_sched_init, drm_sched_job, drm_sched_job_add_dependency, drm_sched_job_arm,
  drm_sched_job_cleanup, drm_sched_job_init, drm_sched_resubmit_jobs, drm_sched_start, drm_sched_stop,
  type drm_gpu_sched_stat, type drm_sched_backend_ops,
} from '@deplab/drm-sched';
import { NUM_JOB_SLOTS, type panfrost_chain } from './hw.ts';
import {
  JOB_TIMEOUT_MS, panfrost_fence_alloc, panfrost_fence_init, panfrost_jm_ctx_free, panfrost_job_cleanup_common,
  panfrost_job_get_slot, panfrost_job_hw_submit, panfrost_job_record_armed, panfrost_reset_done, panfrost_reset_hw,
  panfrost_slot_credit_limit, panfrost_synchronize_irq,
  type PanfrostBinding, type PanfrostJob, type panfrost_device, type panfrost_fence, type panfrost_jm_ctx,
} from './jm.ts';

/** struct panfrost_job: a drm_sched_job with its own refcount. */
export class panfrost_job extends drm_sched_job implements PanfrostJob {
  readonly pfdev: panfrost_device;
  readonly refcount: kref;
  ctx: panfrost_jm_ctx | null = null;
  jc: number;
  readonly requirements: number;
  readonly chain: panfrost_chain;
  done_fence: panfrost_fence | null = null;
  render_done_fence: dma_fence | null = null;
  readonly alloc: Allocation;

  constructor(pfdev: panfrost_device, chain: panfrost_chain, requirements: number, alloc: Allocation) {
    super(pfdev.kernel);
    this.pfdev = pfdev;
    this.refcount = new kref(pfdev.kernel, 'panfrost_job');
    this.refcount.refcount = 1;
    this.jc = chain.jc;
    this.requirements = requirements;
    this.chain = chain;
    this.alloc = alloc;
  }
}

function to_panfrost_job(sched_job: drm_sched_job): panfrost_job {
  return sched_job as panfrost_job;
}

function slot_sched(pfdev: panfrost_device, slot: number): drm_gpu_scheduler {
  return pfdev.slots[slot] as drm_gpu_scheduler;
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs                                                                                         */

/** panfrost_job_cleanup: the job's last reference. */
function panfrost_job_cleanup(job: panfrost_job): void {
  panfrost_job_cleanup_common(job);
  kfree(job.pfdev.kernel, job.alloc);
}

function panfrost_job_put(job: PanfrostJob): void {
  const j = job as panfrost_job;
  kref_put(j.refcount, () => panfrost_job_cleanup(j));
}

/** panfrost_job_free: free_job. */
function panfrost_job_free(sched_job: drm_sched_job): void {
  drm_sched_job_cleanup(sched_job);
  panfrost_job_put(to_panfrost_job(sched_job));
}

/** panfrost_job_run: run_job. Allocates the done fence (GFP_KERNEL) as upstream does. */
function panfrost_job_run(sched_job: drm_sched_job): dma_fence | null | number {
  const job = to_panfrost_job(sched_job);
  const pfdev = job.pfdev;
  const slot = panfrost_job_get_slot(job);
  if (job.ctx!.destroyed) return -ECANCELED;
  if (job.s_fence!.finished.error !== 0) return null;
  if (job.jc === 0) return null; // finished while the GPU was being reset
  const fence = panfrost_fence_alloc(pfdev.kernel);
  if (fence === null) return -ENOMEM;
  panfrost_fence_init(pfdev, fence, slot);
  dma_fence_put(job.done_fence);
  job.done_fence = dma_fence_get(fence) as panfrost_fence;
  const ret = panfrost_job_hw_submit(job, slot);
  if (ret !== 0) {
    dma_fence_put(fence);
    return ret;
  }
  return fence;
}

/**
 * panfrost_reset: stop every slot's scheduler (re-adding `bad`), karma, the hardware reset,
 * resubmit every pending job (outside the signalling section: run_job allocates), restart.
 */
function* panfrost_reset(pfdev: panfrost_device, bad: PanfrostJob | null): Sleepable {
  const k = pfdev.kernel;
  if (!pfdev.reset.pending) return;
  const bad_job = bad as panfrost_job | null;
  for (let i = 0; i < NUM_JOB_SLOTS; i++) yield* drm_sched_stop(slot_sched(pfdev, i), bad_job);
  let cookie = dma_fence_begin_signalling(k);
  if (bad_job !== null) drm_sched_increase_karma(bad_job);
  yield* panfrost_reset_hw(pfdev);
  dma_fence_end_signalling(k, cookie);
  for (let i = 0; i < NUM_JOB_SLOTS; i++) drm_sched_resubmit_jobs(slot_sched(pfdev, i));
  cookie = dma_fence_begin_signalling(k);
  for (let i = 0; i < NUM_JOB_SLOTS; i++) drm_sched_start(slot_sched(pfdev, i), 0);
  panfrost_reset_done(pfdev);
  dma_fence_end_signalling(k, cookie);
}

/** panfrost_job_timedout: a spurious timeout returns NO_HANG, else reset the GPU. */
function* panfrost_job_timedout(sched_job: drm_sched_job): Sleepable<drm_gpu_sched_stat> {
  const job = to_panfrost_job(sched_job);
  const pfdev = job.pfdev;
  const k = pfdev.kernel;
  if (job.done_fence !== null && dma_fence_is_signaled(job.done_fence)) return DRM_GPU_SCHED_STAT_NO_HANG;
  yield* panfrost_synchronize_irq(pfdev);
  if (job.done_fence !== null && dma_fence_is_signaled(job.done_fence)) {
    k.tp('panfrost_dev_warn', { message: 'unexpectedly high interrupt latency' });
    return DRM_GPU_SCHED_STAT_NO_HANG;
  }
  k.tp('panfrost_dev_err', { message: `gpu sched timeout, js=${panfrost_job_get_slot(job)}` });
  pfdev.reset.pending = true;
  yield* panfrost_reset(pfdev, job);
  return DRM_GPU_SCHED_STAT_RESET;
}

const panfrost_sched_ops: drm_sched_backend_ops = {
  run_job: panfrost_job_run,
  timedout_job: panfrost_job_timedout,
  free_job: panfrost_job_free,
};

/* ------------------------------------------------------------------------------------------ */
/* Schedulers and entities                                                                      */

function panfrost_jm_init_scheds(pfdev: panfrost_device): number {
  const k = pfdev.kernel;
  for (let j = 0; j < NUM_JOB_SLOTS; j++) {
    const sched = new drm_gpu_scheduler(k);
    sched.owner = pfdev;
    const ret = drm_sched_init(sched, {
      ops: panfrost_sched_ops, num_rqs: DRM_SCHED_PRIORITY_COUNT, credit_limit: panfrost_slot_credit_limit(pfdev),
      timeout: k.jiffies.msecs_to_jiffies(JOB_TIMEOUT_MS), timeout_wq: pfdev.reset.wq, name: 'pan_js', dev: pfdev,
    });
    if (ret !== 0) return ret;
    pfdev.slots[j] = sched;
  }
  return 0;
}

function* panfrost_jm_fini_scheds(pfdev: panfrost_device): Sleepable {
  for (let j = 0; j < NUM_JOB_SLOTS; j++) yield* drm_sched_fini(slot_sched(pfdev, j));
}

function panfrost_ctx_init(ctx: panfrost_jm_ctx, priority: number): number {
  const k = ctx.pfdev.kernel;
  for (let i = 0; i < NUM_JOB_SLOTS; i++) {
    const entity = new drm_sched_entity(k);
    const ret = drm_sched_entity_init(entity, priority, [slot_sched(ctx.pfdev, i)], 1, null);
    if (ret !== 0) return ret;
    ctx.slot_entity.push(entity);
  }
  return 0;
}

/** panfrost_jm_ctx_release: destroy the entities, kfree. */
function* panfrost_ctx_release(ctx: panfrost_jm_ctx): Sleepable {
  for (const entity of ctx.slot_entity) yield* drm_sched_entity_destroy(entity as drm_sched_entity);
  panfrost_jm_ctx_free(ctx);
}

/** The in-flight kill's test, as upstream: job->base.entity (NULL once drm_sched popped the job). */
function panfrost_job_of_ctx(job: PanfrostJob, ctx: panfrost_jm_ctx, slot: number): boolean {
  return (job as panfrost_job).entity === ctx.slot_entity[slot];
}

function panfrost_job_alloc(pfdev: panfrost_device, chain: panfrost_chain, requirements: number): PanfrostJob | null {
  const alloc = kmalloc(pfdev.kernel, 512, GFP_KERNEL, 'panfrost_job');
  return alloc === null ? null : new panfrost_job(pfdev, chain, requirements, alloc);
}

function panfrost_job_init(job: PanfrostJob, ctx: panfrost_jm_ctx, slot: number, client_id: number): number {
  return drm_sched_job_init(job as panfrost_job, ctx.slot_entity[slot] as drm_sched_entity, 1, null, client_id);
}

/** panfrost_job_push: arm, the out-fence, the scheduler's reference, push, under sched_lock. */
function panfrost_job_push(job: PanfrostJob): number {
  const j = job as panfrost_job;
  mutex_lock(j.pfdev.sched_lock);
  drm_sched_job_arm(j);
  j.render_done_fence = dma_fence_get(j.s_fence!.finished);
  panfrost_job_record_armed(j);
  kref_get(j.refcount); // put by scheduler job completion
  drm_sched_entity_push_job(j);
  mutex_unlock(j.pfdev.sched_lock);
  return 0;
}

export const panfrost_sched_binding: PanfrostBinding = {
  name: 'drm_sched',
  reset_wq_flags: 0,
  jm_init: panfrost_jm_init_scheds,
  jm_fini: panfrost_jm_fini_scheds,
  ctx_init: panfrost_ctx_init,
  ctx_destroyed: () => {},
  ctx_release: panfrost_ctx_release,
  job_of_ctx: panfrost_job_of_ctx,
  job_alloc: panfrost_job_alloc,
  job_init: panfrost_job_init,
  job_add_dependency: (job, fence) => drm_sched_job_add_dependency(job as panfrost_job, fence),
  job_push: panfrost_job_push,
  job_cleanup: (job) => drm_sched_job_cleanup(job as panfrost_job),
  job_put: panfrost_job_put,
  fault: (pfdev, slot) => drm_sched_fault(slot_sched(pfdev, slot)),
  reset: panfrost_reset,
};
