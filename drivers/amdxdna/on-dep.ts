/**
 * amdxdna (AIE2) bound to drm_dep, as the RFC's conversion is inferred to do it ("[RFC PATCH
 * 11/12] accel/amdxdna: Convert to DRM dep queue", compile-tested only; the patch body is not
 * available: every choice below is an inference, listed in README "Assumptions"), on top of
 * the era the device option selects. Same order as on-sched.ts, so that a diff of the two is
 * the conversion; the shared half of aie2_ctx.c is aie2_ctx.ts.
 *
 * One drm_dep_queue per hardware context (embedded in amdxdna_hwctx_priv: the scheduler and
 * the entity become the queue), credit_limit HWCTX_MAX_CMDS with one credit per job, the same
 * 60 s timeout, the queue's own submit workqueue (and the TDR on it, drm_dep's default), no
 * queue flags unless the device option asks (completion already runs in a work item, so IRQ
 * put buys nothing). job_sem stays: drm_dep's credits gate run_job, not the submit ioctl.
 *
 * Timeout: drm_dep_queue_stop (HW-fence callbacks stay installed), destroy the firmware context
 * (handlers run with NULL data: the HW fences signal without error, so the aborted commands'
 * out fences signal with error 0 unless `dep_abort_error` is set), recreate, drm_dep_queue_start
 * (7.0: before the recreate, as on drm_sched). On a killed queue nothing is done (D8).
 *
 * Teardown (aie2_hwctx_fini, called with dev_lock held): the wait for every job to be freed is
 * gone (jobs hold queue references; the private part is freed in ops.free_queue after the last
 * one, and job release no longer reaches the hwctx), drm_sched_fini becomes the queue put.
 *  - 7.0: wait for idle, stop, firmware destroy, start, then drm_dep_queue_kill where the
 *    entity destroy was; no need to drop dev_lock.
 *  - 6.18: drm_dep_queue_kill where the entity flush was (unstarted jobs complete with
 *    -ECANCELED after the started ones), wait for idle, firmware destroy.
 */
import {
  DRM_DEP_TIMEDOUT_RESET, drm_dep_device, drm_dep_device_wait_idle, drm_dep_job, drm_dep_job_arm,
  drm_dep_job_finished_fence, drm_dep_job_get, drm_dep_job_init, drm_dep_job_push, drm_dep_job_put,
  drm_dep_queue, drm_dep_queue_fence_context, drm_dep_queue_init, drm_dep_queue_is_killed, drm_dep_queue_kill,
  drm_dep_queue_put, drm_dep_queue_start, drm_dep_queue_stop, type drm_dep_queue_ops,
} from '@deplab/drm-dep';
import { ENOMEM, dma_fence_put, dma_fence_set_error, kfree, type Sleepable } from '@deplab/sim';
import {
  HWCTX_MAX_CMDS, HWCTX_MAX_TIMEOUT_MS, amdxdna_hwctx_priv_of, amdxdna_sched_job_cleanup, amdxdna_sched_job_of, trace_xdna_job, up,
  type aie2_binding, type amdxdna_dev, type amdxdna_hwctx, type xdna_era,
} from './amdxdna_ctx.ts';
import {
  aie2_binding_of, aie2_ctx_syncobj_destroy, aie2_hwctx_fini_begin, aie2_hwctx_fini_release, aie2_hwctx_init_fw,
  aie2_hwctx_priv_attach, aie2_hwctx_priv_free, aie2_hwctx_wait_for_idle, aie2_job_kfree, aie2_sched_job_run,
  aie2_sched_job_timedout, type aie2_sched_ops,
} from './aie2_ctx.ts';
import { aie2_destroy_context } from './mailbox.ts';

/** struct amdxdna_sched_job (amdxdna_ctx.h): `base` becomes the drm_dep_job this class extends. */
export class amdxdna_sched_job extends amdxdna_sched_job_of(drm_dep_job) {
  /** [I] The queue container, for the release (drm_dep's job is already dead in release_job). */
  priv: amdxdna_hwctx_priv | null = null;
}

/**
 * struct amdxdna_hwctx_priv (aie2_pci.h): the drm_dep_queue (was sched + entity) and the
 * driver's extras. Freed by ops.free_queue, so it outlives the hwctx while jobs remain.
 */
export class amdxdna_hwctx_priv extends amdxdna_hwctx_priv_of(drm_dep_queue) {
  /** The hwctx name and the era, for the job release (the hwctx may be gone by then). */
  name = '';
  era: xdna_era = '7.0';
}

/** Per device: the drm_dep unload barrier every hwctx queue registers with. */
const dep_devices = new WeakMap<amdxdna_dev, drm_dep_device>();

function xdna_dep_device(xdna: amdxdna_dev): drm_dep_device {
  let dev = dep_devices.get(xdna);
  if (dev === undefined) {
    dev = new drm_dep_device(xdna.kernel, 'amdxdna');
    dep_devices.set(xdna, dev);
  }
  return dev;
}

function priv_of(hwctx: amdxdna_hwctx): amdxdna_hwctx_priv {
  return hwctx.priv as amdxdna_hwctx_priv;
}

/**
 * aie2_sched_job_release (ops.release_job; was aie2_job_release + the up() of free_job): the
 * last job reference. Releases job_sem unless notify did. Reaches the queue container through
 * job->priv, never the hwctx (the hwctx may already be freed) nor drm_dep (the drm_dep_job is
 * already released when release_job runs). Process context (no JOB_PUT_IRQ_SAFE).
 */
function aie2_sched_job_release(job: amdxdna_sched_job): void {
  const priv = job.priv!;
  trace_xdna_job(job.kernel, priv.name, 'job free', job.seq);
  if (!job.job_done) up(priv.job_sem);
  amdxdna_sched_job_cleanup(job, priv.name, priv.era);
  if (job.out_fence !== null) dma_fence_put(job.out_fence);
  aie2_job_kfree(job);
}

/** What aie2_ctx.ts calls in drm_dep. */
const xdna_dep: aie2_sched_ops<amdxdna_sched_job> = {
  job_get: drm_dep_job_get,
  job_put: drm_dep_job_put, // aie2_job_put becomes drm_dep_job_put
  stop: (hwctx) => drm_dep_queue_stop(priv_of(hwctx)), // no bad-job re-insertion
  start: (hwctx) => drm_dep_queue_start(priv_of(hwctx)),
  job_init(hwctx, job) {
    const ret = drm_dep_job_init(job, priv_of(hwctx), 1, hwctx.client.id);
    if (ret === 0) job.priv = priv_of(hwctx);
    return ret;
  },
  job_arm(_hwctx, job) {
    drm_dep_job_arm(job);
    return drm_dep_job_finished_fence(job)!; // an armed job has one
  },
  job_push: (_hwctx, job) => drm_dep_job_push(job),
  /**
   * README D8: drm_sched_fini no longer cancels the TDR, so a handler asleep on dev_lock can
   * wake after hwctx_fini destroyed the context; on a killed queue it must not recreate it
   * (that context and its mailbox channel would never be destroyed).
   */
  timedout_skip: (job) => drm_dep_queue_is_killed(job.priv!),
  /** [I] option dep_abort_error: the error a converted handler puts on a cancelled command's HW fence. */
  cancelled(job) {
    const error = job.hwctx!.client.xdna.options.dep_abort_error;
    if (error < 0) dma_fence_set_error(job.fence!, error);
  },
};

/** ops.free_queue: the last queue reference is gone; free the private part. */
function aie2_hwctx_priv_release(priv: amdxdna_hwctx_priv): void {
  kfree(priv.io_lock.kernel, priv.alloc);
  priv.alloc = null;
}

const sched_ops: drm_dep_queue_ops<amdxdna_sched_job, amdxdna_hwctx_priv> = {
  run_job: (job) => aie2_sched_job_run(job, xdna_dep),
  *timedout_job(job): Sleepable<typeof DRM_DEP_TIMEDOUT_RESET> {
    yield* aie2_sched_job_timedout(job, xdna_dep);
    return DRM_DEP_TIMEDOUT_RESET;
  },
  release_job: aie2_sched_job_release,
  free_queue: aie2_hwctx_priv_release,
};

/**
 * aie2_hwctx_init: the queue, the firmware context and the heap mapping. Under dev_lock.
 * Returns 0 or a negative errno. Does not sleep in the model (the firmware round trips of
 * creation take no simulated time: Device.create_queue cannot sleep).
 */
function aie2_hwctx_init(hwctx: amdxdna_hwctx): number {
  const xdna = hwctx.client.xdna;
  const k = xdna.kernel;
  const priv = new amdxdna_hwctx_priv(k);
  priv.name = hwctx.name;
  priv.era = xdna.options.era;
  if (!aie2_hwctx_priv_attach(hwctx, priv)) return -ENOMEM;
  let ret = drm_dep_queue_init(priv, {
    ops: sched_ops,
    flags: xdna.options.dep_flags,
    credit_limit: HWCTX_MAX_CMDS,
    timeout: k.jiffies.msecs_to_jiffies(HWCTX_MAX_TIMEOUT_MS),
    name: 'amdxdna_js',
    dev: xdna_dep_device(xdna),
  });
  if (ret !== 0) return aie2_hwctx_priv_free(hwctx, ret);
  ret = aie2_hwctx_init_fw(hwctx);
  if (ret !== 0) {
    drm_dep_queue_put(priv); // no job exists yet: the last put frees the queue
    hwctx.priv = null;
  }
  return ret;
}

/** aie2_hwctx_fini: see the file comment for the two eras. Called with dev_lock held; may sleep. */
function* aie2_hwctx_fini(hwctx: amdxdna_hwctx): Sleepable {
  const xdna = hwctx.client.xdna;
  const priv = priv_of(hwctx);
  aie2_hwctx_fini_begin(hwctx);
  if (xdna.options.era === '7.0') {
    yield* aie2_hwctx_fini_release(hwctx, xdna_dep);
    drm_dep_queue_kill(priv);
  } else {
    drm_dep_queue_kill(priv);
    yield* aie2_hwctx_wait_for_idle(hwctx);
    yield* aie2_destroy_context(xdna, hwctx, true); // aie2_release_resource
  }
  aie2_ctx_syncobj_destroy(xdna.kernel, priv);
  drm_dep_queue_put(priv);
}

/** The drm_dep binding as the ioctl layer sees it (amdxdna_dev_ops of aie2). */
export const aie2_dep_binding: aie2_binding = aie2_binding_of('drm_dep', (k) => new amdxdna_sched_job(k), xdna_dep, {
  hwctx_init: aie2_hwctx_init,
  hwctx_fini: aie2_hwctx_fini,
  out_fence_context: (hwctx) => drm_dep_queue_fence_context(priv_of(hwctx)),
  *device_fini(xdna: amdxdna_dev): Sleepable {
    yield* drm_dep_device_wait_idle(xdna_dep_device(xdna));
  },
});
