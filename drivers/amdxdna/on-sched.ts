/**
 * amdxdna (AIE2) bound to drm_sched, as upstream writes it: the scheduler half of
 * drivers/accel/amdxdna/aie2_ctx.c, era '7.0' (@1aa82181 with 07efce5a) by default, '6.18'
 * (@063db451) by device option; the rest of aie2_ctx.c is aie2_ctx.ts. One drm_gpu_scheduler
 * and one entity per hardware context: num_rqs DRM_SCHED_PRIORITY_COUNT with one NORMAL entity,
 * credit_limit HWCTX_MAX_CMDS (4) with one credit per job, a 60 s timeout, no submit_wq
 * (drm_sched allocates an ordered one per hwctx) and no timeout_wq (system_percpu_wq).
 *
 * Timeout: drm_sched_stop re-adds the bad job and removes every HW-fence callback, the firmware
 * context is destroyed (each outstanding command's handler runs with NULL data: HW fence
 * signalled without error, job_sem released) and recreated, drm_sched_start(sched, 0) completes
 * every job whose callback stop removed with -ECANCELED. No resubmission. 7.0 starts the
 * scheduler before the recreate (aie2_ctx.ts). Returns DRM_GPU_SCHED_STAT_RESET.
 *
 * Teardown (aie2_hwctx_fini, called with dev_lock held, synchronous):
 *  - 7.0: wait for idle (2 s at most); stop, firmware destroy, start (what is left completes
 *    with -ECANCELED); drop dev_lock; entity destroy; wait until every job was freed
 *    (job_submit_cnt == job_free_cnt); retake dev_lock; drm_sched_fini ("Fix deadlock between
 *    context destroy and job timeout": the wait no longer holds the lock the TDR takes).
 *  - 6.18: entity destroy (flush: queued jobs reach run_job), wait for idle, firmware destroy,
 *    wait until every job was freed, drm_sched_fini, all under dev_lock (finding F3).
 *
 * Deviations (README): the hwctx is created without sleeping (Device.create_queue cannot
 * sleep); BOs, reservations, HMM, runtime PM, column solver and command chains are not
 * modelled; kref_init of the job is done at allocation (it is in amdxdna_cmd_submit upstream).
 */
import {
  DRM_GPU_SCHED_STAT_RESET, DRM_SCHED_PRIORITY_COUNT, DRM_SCHED_PRIORITY_NORMAL,
  drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_destroy, drm_sched_entity_init, drm_sched_entity_push_job,
  drm_sched_fini, drm_sched_init, drm_sched_job, drm_sched_job_arm, drm_sched_job_cleanup, drm_sched_job_init,
  drm_sched_start, drm_sched_stop, type drm_sched_backend_ops,
} from '@deplab/drm-sched';
import {
  ENOMEM, dma_fence_get, dma_fence_put, kfree, kref, kref_get, kref_put, mutex_lock_sleepable, mutex_unlock, wait_event,
  wait_queue_head, type Kernel, type Sleepable,
} from '@deplab/sim';
import {
  HWCTX_MAX_CMDS, HWCTX_MAX_TIMEOUT_MS, amdxdna_hwctx_priv_of, amdxdna_sched_job_cleanup, amdxdna_sched_job_of, run_nonsleeping,
  trace_xdna_job, up, type aie2_binding, type amdxdna_hwctx,
} from './amdxdna_ctx.ts';
import {
  aie2_binding_of, aie2_ctx_syncobj_destroy, aie2_hwctx_fini_begin, aie2_hwctx_fini_release, aie2_hwctx_init_fw,
  aie2_hwctx_priv_attach, aie2_hwctx_priv_free, aie2_hwctx_wait_for_idle, aie2_job_kfree, aie2_sched_job_run, aie2_sched_job_timedout,
  job_hwctx, type aie2_sched_ops,
} from './aie2_ctx.ts';
import { aie2_destroy_context } from './mailbox.ts';

/** struct amdxdna_sched_job (amdxdna_ctx.h): `base` is the drm_sched_job this class extends. */
export class amdxdna_sched_job extends amdxdna_sched_job_of(drm_sched_job) {
  readonly refcnt = new amdxdna_job_kref(this.kernel, this);
}

/** job->refcnt; container_of(ref, struct amdxdna_sched_job, refcnt) is `ref.job`. */
class amdxdna_job_kref extends kref {
  readonly job: amdxdna_sched_job;

  constructor(kernel: Kernel, job: amdxdna_sched_job) {
    super(kernel, 'amdxdna_sched_job');
    this.job = job;
  }
}

/** The drm_sched objects struct amdxdna_hwctx_priv embeds. */
class amdxdna_hwctx_sched {
  readonly sched: drm_gpu_scheduler;
  readonly entity: drm_sched_entity;
  readonly job_free_wq = new wait_queue_head();
  /** deplab: the fence context of the out fences (read from the first armed job). */
  out_fence_context = -1;

  constructor(kernel: Kernel) {
    this.sched = new drm_gpu_scheduler(kernel);
    this.entity = new drm_sched_entity(kernel);
  }
}

/** struct amdxdna_hwctx_priv (aie2_pci.h): the scheduler, its entity and the driver's extras. */
export class amdxdna_hwctx_priv extends amdxdna_hwctx_priv_of(amdxdna_hwctx_sched) {}

function priv_of(hwctx: amdxdna_hwctx): amdxdna_hwctx_priv {
  return hwctx.priv as amdxdna_hwctx_priv;
}

/** aie2_job_release: the last job reference; counts the free and wakes hwctx_fini. */
function aie2_job_release(ref: amdxdna_job_kref): void {
  const job = ref.job;
  const hwctx = job_hwctx(job, 'aie2_job_release: job->hwctx');
  amdxdna_sched_job_cleanup(job, hwctx.name, hwctx.client.xdna.options.era);
  hwctx.job_free_cnt++;
  hwctx.kernel.wake_up(priv_of(hwctx).job_free_wq);
  if (job.out_fence !== null) dma_fence_put(job.out_fence);
  aie2_job_kfree(job);
}

/** aie2_job_put. Any context. */
function aie2_job_put(job: amdxdna_sched_job): void {
  kref_put(job.refcnt, aie2_job_release);
}

/** What aie2_ctx.ts calls in drm_sched. */
const xdna_sched: aie2_sched_ops<amdxdna_sched_job> = {
  job_get: (job) => kref_get(job.refcnt),
  job_put: aie2_job_put,
  stop: (hwctx, bad_job) => drm_sched_stop(priv_of(hwctx).sched, bad_job),
  start: (hwctx) => drm_sched_start(priv_of(hwctx).sched, 0),
  job_init: (hwctx, job) => drm_sched_job_init(job, priv_of(hwctx).entity, 1, hwctx, hwctx.client.id),
  job_arm(hwctx, job) {
    const priv = priv_of(hwctx);
    drm_sched_job_arm(job);
    const out_fence = dma_fence_get(job.s_fence!.finished);
    if (priv.out_fence_context < 0) priv.out_fence_context = out_fence.context;
    return out_fence;
  },
  job_push(hwctx, job) {
    kref_get(job.refcnt);
    drm_sched_entity_push_job(job);
    hwctx.job_submit_cnt++; // after the job put upstream: nothing runs in between
  },
};

/** aie2_sched_job_free (free_job): release job_sem unless notify did, clean up, put. Submit workqueue. */
function aie2_sched_job_free(sched_job: drm_sched_job): void {
  const job = sched_job as amdxdna_sched_job;
  const hwctx = job_hwctx(job, 'aie2_sched_job_free: job->hwctx');
  trace_xdna_job(hwctx.kernel, hwctx.name, 'job free', job.seq);
  if (!job.job_done) up(priv_of(hwctx).job_sem);
  drm_sched_job_cleanup(sched_job);
  aie2_job_put(job);
}

const sched_ops: drm_sched_backend_ops = {
  run_job: (sched_job) => aie2_sched_job_run(sched_job as amdxdna_sched_job, xdna_sched),
  free_job: aie2_sched_job_free,
  *timedout_job(sched_job): Sleepable<number> {
    yield* aie2_sched_job_timedout(sched_job as amdxdna_sched_job, xdna_sched);
    return DRM_GPU_SCHED_STAT_RESET;
  },
};

/**
 * aie2_hwctx_init: the scheduler, its entity, the firmware context and the heap mapping.
 * Under dev_lock. Returns 0 or a negative errno. Does not sleep in the model (the firmware
 * round trips of creation take no simulated time: Device.create_queue cannot sleep).
 */
function aie2_hwctx_init(hwctx: amdxdna_hwctx): number {
  const xdna = hwctx.client.xdna;
  const k = xdna.kernel;
  const priv = new amdxdna_hwctx_priv(k);
  if (!aie2_hwctx_priv_attach(hwctx, priv)) return -ENOMEM;
  let ret = drm_sched_init(priv.sched, {
    ops: sched_ops,
    num_rqs: DRM_SCHED_PRIORITY_COUNT,
    credit_limit: HWCTX_MAX_CMDS,
    timeout: k.jiffies.msecs_to_jiffies(HWCTX_MAX_TIMEOUT_MS),
    name: 'amdxdna_js',
    dev: xdna,
  });
  if (ret !== 0) return aie2_hwctx_priv_free(hwctx, ret);
  priv.sched.owner = hwctx;
  // The error unwinding below: nothing is queued yet, so nothing sleeps.
  ret = drm_sched_entity_init(priv.entity, DRM_SCHED_PRIORITY_NORMAL, [priv.sched], 1, null);
  if (ret === 0) {
    ret = aie2_hwctx_init_fw(hwctx);
    if (ret !== 0) run_nonsleeping(k, drm_sched_entity_destroy(priv.entity), 'aie2_hwctx_init: drm_sched_entity_destroy');
  }
  if (ret === 0) return 0;
  run_nonsleeping(k, drm_sched_fini(priv.sched), 'aie2_hwctx_init: drm_sched_fini');
  return aie2_hwctx_priv_free(hwctx, ret);
}

/**
 * aie2_hwctx_fini: synchronous teardown, called with dev_lock held (see the file comment for
 * the two eras). May sleep (this is why closing the file blocks).
 */
function* aie2_hwctx_fini(hwctx: amdxdna_hwctx): Sleepable {
  const xdna = hwctx.client.xdna;
  const priv = priv_of(hwctx);
  const k = xdna.kernel;
  aie2_hwctx_fini_begin(hwctx);
  if (xdna.options.era === '7.0') {
    yield* aie2_hwctx_fini_release(hwctx, xdna_sched);
    mutex_unlock(xdna.dev_lock);
    yield* drm_sched_entity_destroy(priv.entity);
  } else {
    yield* drm_sched_entity_destroy(priv.entity);
    yield* aie2_hwctx_wait_for_idle(hwctx);
    yield* aie2_destroy_context(xdna, hwctx, true); // aie2_release_resource
  }
  yield* wait_event(k, priv.job_free_wq, () => hwctx.job_submit_cnt === hwctx.job_free_cnt);
  if (xdna.options.era === '7.0') yield* mutex_lock_sleepable(xdna.dev_lock, 'aie2_hwctx_fini: mutex_lock(&xdna->dev_lock)');
  yield* drm_sched_fini(priv.sched);
  aie2_ctx_syncobj_destroy(k, priv);
  kfree(k, priv.alloc);
  priv.alloc = null;
}

/** The drm_sched binding as the ioctl layer sees it (amdxdna_dev_ops of aie2). */
export const aie2_sched_binding: aie2_binding = aie2_binding_of('drm_sched', (k) => new amdxdna_sched_job(k), xdna_sched, {
  hwctx_init: aie2_hwctx_init,
  hwctx_fini: aie2_hwctx_fini,
  out_fence_context: (hwctx) => priv_of(hwctx).out_fence_context,
  *device_fini(): Sleepable {},
});
