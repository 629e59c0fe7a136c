/**
 * amdxdna (AIE2) bound to drm_sched, as upstream writes it: drivers/accel/amdxdna/aie2_ctx.c
 * @063db451 (~6.18), the scheduler half. One drm_gpu_scheduler and one entity per hardware
 * context: num_rqs DRM_SCHED_PRIORITY_COUNT with one NORMAL entity, credit_limit
 * HWCTX_MAX_CMDS (4) with one credit per job, a 60 s timeout, no submit_wq (drm_sched
 * allocates an ordered one per hwctx) and no timeout_wq (system_percpu_wq). The submit ioctl
 * also takes job_sem (a semaphore of 4), so the fifth submitter sleeps in the ioctl.
 *
 * Timeout: stop the scheduler (drm_sched_stop re-adds the bad job and removes every HW-fence
 * callback), destroy the firmware context (the mailbox calls each outstanding message's
 * handler with NULL data: HW fences signalled without error, job_sem released), recreate it,
 * drm_sched_start(sched, 0): every job whose callback stop removed completes with -ECANCELED.
 * No resubmission. Returns DRM_GPU_SCHED_STAT_RESET.
 *
 * Teardown (aie2_hwctx_fini, under dev_lock, synchronous): entity destroy (flush: wait until
 * queued jobs reached run_job), wait for idle (2 s at most), firmware destroy (cancels what is
 * left), wait until every job was freed (job_submit_cnt == job_free_cnt), drm_sched_fini.
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
  ENOMEM, ESRCH, GFP_KERNEL, dma_fence_get, dma_fence_put, dma_fence_signal, kfree, kmalloc, kref, kref_get, kref_put,
  mutex, mutex_lock_sleepable, mutex_unlock, wait_event, wait_queue_head,
  type Allocation, type Kernel, type Sleepable, type dma_fence,
} from '@deplab/sim';
import {
  AMDXDNA_SCHED_JOB_SIZE, HWCTX_MAX_CMDS, HWCTX_MAX_TIMEOUT_MS, HWCTX_STAT_INIT, HWCTX_STAT_READY,
  aie2_config_cu_resp_handler, aie2_ctx_syncobj_destroy, aie2_hwctx_wait_for_idle, aie2_prime_io_lock,
  aie2_syncobj_add_point, amdxdna_cmd_set_state, amdxdna_job_kfree, amdxdna_sched_job_cleanup, dma_fence_chain_alloc,
  down_interruptible, mmget_not_zero, mmput, mmput_async, run_nonsleeping, sema_init, trace_xdna_job, up,
  type aie2_binding, type aie2_hwctx_priv_common, type amdxdna_dev, type amdxdna_hwctx, type amdxdna_sched_job_common,
  type mm_struct, type semaphore,
} from './amdxdna_ctx.ts';
import {
  ERT_CMD_STATE_COMPLETED, ERT_CMD_STATE_ERROR, ERT_CMD_STATE_NEW, AIE2_STATUS_SUCCESS, type amdxdna_cmd_bo,
} from './hw.ts';
import {
  aie2_config_cu, aie2_create_context, aie2_destroy_context, aie2_execbuf, aie2_map_host_buf, type mailbox_channel,
} from './mailbox.ts';

/** struct amdxdna_sched_job (amdxdna_ctx.h): `base` is the drm_sched_job this class extends. */
export class amdxdna_sched_job extends drm_sched_job implements amdxdna_sched_job_common {
  hwctx: amdxdna_hwctx | null = null;
  cmd_bo: amdxdna_cmd_bo | null = null;
  fence: dma_fence | null = null;
  out_fence: dma_fence | null = null;
  seq = 0;
  mm: mm_struct | null = null;
  job_done = false;
  readonly refcnt: amdxdna_job_kref;
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    super(kernel);
    this.refcnt = new amdxdna_job_kref(kernel, this);
  }
}

/** job->refcnt; container_of(ref, struct amdxdna_sched_job, refcnt) is `ref.job`. */
class amdxdna_job_kref extends kref {
  readonly job: amdxdna_sched_job;

  constructor(kernel: Kernel, job: amdxdna_sched_job) {
    super(kernel, 'amdxdna_sched_job');
    this.job = job;
  }
}

/** struct amdxdna_hwctx_priv (aie2_pci.h): the scheduler, its entity and the driver's extras. */
export class amdxdna_hwctx_priv implements aie2_hwctx_priv_common {
  readonly sched: drm_gpu_scheduler;
  readonly entity: drm_sched_entity;
  mbox_chann: mailbox_channel | null = null;
  readonly job_sem: semaphore;
  readonly io_lock: mutex;
  readonly job_free_wq = new wait_queue_head();
  seq = 0;
  completed = 0;
  syncobj_fence: dma_fence | null = null;
  syncobj_chain: Allocation | null = null;
  /** deplab: the fence context of the out fences (read from the first armed job). */
  out_fence_context = -1;
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    this.sched = new drm_gpu_scheduler(kernel);
    this.entity = new drm_sched_entity(kernel);
    this.job_sem = sema_init(kernel, HWCTX_MAX_CMDS);
    this.io_lock = new mutex(kernel, '&priv->io_lock');
  }
}

function drm_job_to_xdna_job(sched_job: drm_sched_job): amdxdna_sched_job {
  return sched_job as amdxdna_sched_job;
}

function priv_of(hwctx: amdxdna_hwctx): amdxdna_hwctx_priv {
  return hwctx.priv as amdxdna_hwctx_priv;
}

/** Where the C code dereferences job->hwctx: a use after free if the hwctx is gone. */
function job_hwctx(job: amdxdna_sched_job, site: string): amdxdna_hwctx {
  const hwctx = job.hwctx!;
  hwctx.kernel.lifetime.use(hwctx.alloc!.id, site);
  return hwctx;
}

/** aie2_job_release: the last job reference; counts the free and wakes hwctx_fini. */
function aie2_job_release(ref: amdxdna_job_kref): void {
  const job = ref.job;
  const hwctx = job_hwctx(job, 'aie2_job_release: job->hwctx');
  amdxdna_sched_job_cleanup(hwctx.kernel, hwctx.name, job.seq);
  hwctx.job_free_cnt++;
  hwctx.kernel.wake_up(priv_of(hwctx).job_free_wq);
  if (job.out_fence !== null) dma_fence_put(job.out_fence);
  amdxdna_job_kfree(hwctx.kernel, job);
}

/** aie2_job_put. Any context. */
function aie2_job_put(job: amdxdna_sched_job): void {
  kref_put(job.refcnt, aie2_job_release);
}

/** aie2_hwctx_stop: drm_sched_stop (bad_job only from the timeout) + firmware context destroy. May sleep. */
function* aie2_hwctx_stop(xdna: amdxdna_dev, hwctx: amdxdna_hwctx, bad_job: drm_sched_job | null): Sleepable {
  yield* drm_sched_stop(priv_of(hwctx).sched, bad_job);
  yield* aie2_destroy_context(xdna, hwctx, true);
}

/**
 * aie2_hwctx_restart: recreate the firmware context, map the heap, re-send the CU config if
 * the hwctx was READY, then drm_sched_start(sched, 0) whatever happened. May sleep.
 */
function* aie2_hwctx_restart(xdna: amdxdna_dev, hwctx: amdxdna_hwctx): Sleepable<number> {
  let ret = yield* aie2_create_context(xdna, hwctx, true);
  if (ret === 0) ret = yield* aie2_map_host_buf(xdna, hwctx.fw_ctx_id, true);
  if (ret === 0 && hwctx.status === HWCTX_STAT_READY) ret = aie2_config_cu(hwctx, aie2_config_cu_resp_handler);
  drm_sched_start(priv_of(hwctx).sched, 0);
  xdna.kernel.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv_of(hwctx).seq, str: `restarted, ret ${ret}` });
  return ret;
}

/**
 * aie2_sched_notify: the command is over (answered, or cancelled with the channel). Signal the
 * HW fence, release job_sem, drop the run_job references. Rx worker, or the context-destroy
 * caller.
 */
function aie2_sched_notify(job: amdxdna_sched_job): void {
  const hwctx = job_hwctx(job, 'aie2_sched_notify: job->hwctx');
  const fence = job.fence!;
  const priv = priv_of(hwctx);
  trace_xdna_job(hwctx.kernel, hwctx.name, 'signaled fence', job.seq);
  priv.completed++;
  dma_fence_signal(fence);
  up(priv.job_sem);
  job.job_done = true;
  dma_fence_put(fence);
  mmput_async(job.mm!);
  aie2_job_put(job);
}

/**
 * aie2_sched_resp_handler: write the command state (COMPLETED, or ERROR for a non-success
 * status) into the command BO; NULL data (cancelled) leaves it as run_job set it (NEW). Then
 * notify.
 */
function aie2_sched_resp_handler(job: amdxdna_sched_job, data: number | null): number {
  const cmd_abo = job.cmd_bo!;
  if (data !== null) amdxdna_cmd_set_state(cmd_abo, data === AIE2_STATUS_SUCCESS ? ERT_CMD_STATE_COMPLETED : ERT_CMD_STATE_ERROR);
  aie2_sched_notify(job);
  return 0;
}

/**
 * aie2_sched_job_run (run_job): pin the submitter's mm (-ESRCH if it is gone), take a job and
 * a fence reference, mark the command NEW and send it over the context's mailbox. Returns the
 * HW fence, or the negative errno of the send (ERR_PTR). Submit workqueue.
 */
function aie2_sched_job_run(sched_job: drm_sched_job): dma_fence | number {
  const job = drm_job_to_xdna_job(sched_job);
  const cmd_abo = job.cmd_bo!;
  const hwctx = job_hwctx(job, 'aie2_sched_job_run: job->hwctx');
  const k = hwctx.kernel;
  if (!mmget_not_zero(job.mm!)) return -ESRCH;
  kref_get(job.refcnt);
  let fence: dma_fence | number = dma_fence_get(job.fence!);
  amdxdna_cmd_set_state(cmd_abo, ERT_CMD_STATE_NEW);
  k.spend(k.cost_of('amdxdna.run_job_ns', 1_500));
  const ret = aie2_execbuf(hwctx, job, cmd_abo, aie2_sched_resp_handler);
  if (ret !== 0) {
    dma_fence_put(job.fence);
    aie2_job_put(job);
    mmput(job.mm!);
    fence = ret;
  }
  trace_xdna_job(k, hwctx.name, 'sent to device', job.seq);
  return fence;
}

/** aie2_sched_job_free (free_job): release job_sem unless notify did, clean up, put. Submit workqueue. */
function aie2_sched_job_free(sched_job: drm_sched_job): void {
  const job = drm_job_to_xdna_job(sched_job);
  const hwctx = job_hwctx(job, 'aie2_sched_job_free: job->hwctx');
  trace_xdna_job(hwctx.kernel, hwctx.name, 'job free', job.seq);
  if (!job.job_done) up(priv_of(hwctx).job_sem);
  drm_sched_job_cleanup(sched_job);
  aie2_job_put(job);
}

/**
 * aie2_sched_job_timedout (timedout_job): under dev_lock, stop + destroy the firmware context
 * (in-flight commands aborted) and recreate it. No resubmission. Timeout workqueue; sleeps.
 */
function* aie2_sched_job_timedout(sched_job: drm_sched_job): Sleepable<number> {
  const job = drm_job_to_xdna_job(sched_job);
  const hwctx = job_hwctx(job, 'aie2_sched_job_timedout: job->hwctx');
  const xdna = hwctx.client.xdna;
  trace_xdna_job(xdna.kernel, hwctx.name, 'job timedout', job.seq);
  yield* mutex_lock_sleepable(xdna.dev_lock, 'aie2_sched_job_timedout: mutex_lock(&xdna->dev_lock)');
  hwctx.recoveries++;
  yield* aie2_hwctx_stop(xdna, hwctx, sched_job);
  yield* aie2_hwctx_restart(xdna, hwctx);
  mutex_unlock(xdna.dev_lock);
  return DRM_GPU_SCHED_STAT_RESET;
}

const sched_ops: drm_sched_backend_ops = {
  run_job: aie2_sched_job_run,
  free_job: aie2_sched_job_free,
  timedout_job: aie2_sched_job_timedout,
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
  priv.alloc = kmalloc(k, 1024, GFP_KERNEL, 'amdxdna_hwctx_priv');
  if (priv.alloc === null) return -ENOMEM;
  hwctx.priv = priv;
  aie2_prime_io_lock(k, priv.io_lock);
  let ret = drm_sched_init(priv.sched, {
    ops: sched_ops,
    num_rqs: DRM_SCHED_PRIORITY_COUNT,
    credit_limit: HWCTX_MAX_CMDS,
    timeout: k.jiffies.msecs_to_jiffies(HWCTX_MAX_TIMEOUT_MS),
    name: 'amdxdna_js',
    dev: xdna,
  });
  if (ret !== 0) return aie2_hwctx_init_failed(hwctx, ret, false, false);
  priv.sched.owner = hwctx;
  ret = drm_sched_entity_init(priv.entity, DRM_SCHED_PRIORITY_NORMAL, [priv.sched], 1, null);
  if (ret !== 0) return aie2_hwctx_init_failed(hwctx, ret, true, false);
  ret = run_nonsleeping(k, aie2_create_context(xdna, hwctx, false), 'aie2_hwctx_init: aie2_alloc_resource');
  if (ret === 0) ret = run_nonsleeping(k, aie2_map_host_buf(xdna, hwctx.fw_ctx_id, false), 'aie2_hwctx_init: aie2_map_host_buf');
  if (ret !== 0) return aie2_hwctx_init_failed(hwctx, ret, true, true);
  hwctx.status = HWCTX_STAT_INIT;
  xdna.hwctx_num++;
  return 0;
}

/** The error unwinding of aie2_hwctx_init (nothing is queued yet, so nothing sleeps). */
function aie2_hwctx_init_failed(hwctx: amdxdna_hwctx, ret: number, sched: boolean, entity: boolean): number {
  const priv = priv_of(hwctx);
  const k = hwctx.kernel;
  const xdna = hwctx.client.xdna;
  if (hwctx.fw_ctx_id !== -1) run_nonsleeping(k, aie2_destroy_context(xdna, hwctx, false), 'aie2_hwctx_init: release_resource');
  if (entity) run_nonsleeping(k, drm_sched_entity_destroy(priv.entity), 'aie2_hwctx_init: drm_sched_entity_destroy');
  if (sched) run_nonsleeping(k, drm_sched_fini(priv.sched), 'aie2_hwctx_init: drm_sched_fini');
  kfree(k, priv.alloc);
  hwctx.priv = null;
  return ret;
}

/**
 * aie2_hwctx_fini: synchronous teardown, under dev_lock. Flush the entity (queued jobs reach
 * run_job; an exiting task waits at most 1 s), wait up to 2 s for the last command, destroy
 * the firmware context (cancels the rest), wait until every job was freed, fini the scheduler.
 * May sleep (this is why closing the file blocks).
 */
function* aie2_hwctx_fini(hwctx: amdxdna_hwctx): Sleepable {
  const xdna = hwctx.client.xdna;
  const priv = priv_of(hwctx);
  const k = xdna.kernel;
  xdna.hwctx_num--;
  k.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv.seq, str: 'fini' });
  yield* drm_sched_entity_destroy(priv.entity);
  yield* aie2_hwctx_wait_for_idle(hwctx);
  yield* aie2_destroy_context(xdna, hwctx, true); // aie2_release_resource
  yield* wait_event(k, priv.job_free_wq, () => hwctx.job_submit_cnt === hwctx.job_free_cnt);
  yield* drm_sched_fini(priv.sched);
  aie2_ctx_syncobj_destroy(k, priv);
  kfree(k, priv.alloc);
  priv.alloc = null;
}

/**
 * aie2_cmd_submit: sleep on job_sem (at most HWCTX_MAX_CMDS commands outstanding per hwctx),
 * init, arm and push the job under io_lock, add its out fence at timeline point `seq`.
 * Process context (the submit ioctl); returns 0 or a negative errno (-EINTR when the
 * submitter is signalled while it waits).
 */
function* aie2_cmd_submit(hwctx: amdxdna_hwctx, xjob: amdxdna_sched_job_common, out: { fence: dma_fence | null }): Sleepable<number> {
  const job = xjob as amdxdna_sched_job;
  const priv = priv_of(hwctx);
  const k = hwctx.kernel;
  let ret = yield* down_interruptible(priv.job_sem, hwctx.client);
  if (ret !== 0) {
    k.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv.seq, str: `Grab job sem failed, ret ${ret}` });
    return ret;
  }
  const chain = dma_fence_chain_alloc(k);
  if (chain === null) ret = -ENOMEM;
  else ret = drm_sched_job_init(job, priv.entity, 1, hwctx, hwctx.client.id);
  if (ret !== 0) {
    kfree(k, chain);
    up(priv.job_sem);
    job.job_done = true;
    return ret;
  }
  yield* mutex_lock_sleepable(priv.io_lock, 'aie2_cmd_submit: mutex_lock(&priv->io_lock)');
  drm_sched_job_arm(job);
  job.out_fence = dma_fence_get(job.s_fence!.finished);
  if (priv.out_fence_context < 0) priv.out_fence_context = job.out_fence.context;
  job.seq = priv.seq++;
  kref_get(job.refcnt);
  drm_sched_entity_push_job(job);
  out.fence = dma_fence_get(job.out_fence);
  aie2_syncobj_add_point(k, priv, chain!, job.out_fence);
  mutex_unlock(priv.io_lock);
  aie2_job_put(job);
  hwctx.job_submit_cnt++;
  return 0;
}

/** The drm_sched binding as the ioctl layer sees it (amdxdna_dev_ops of aie2). */
export const aie2_sched_binding: aie2_binding = {
  name: 'drm_sched',
  job_alloc(k: Kernel): amdxdna_sched_job | null {
    const job = new amdxdna_sched_job(k);
    job.alloc = kmalloc(k, AMDXDNA_SCHED_JOB_SIZE, GFP_KERNEL, 'amdxdna_sched_job');
    return job.alloc === null ? null : job;
  },
  job_free_unsubmitted(job: amdxdna_sched_job_common): void {
    amdxdna_job_kfree((job as amdxdna_sched_job).kernel, job);
  },
  hwctx_init: aie2_hwctx_init,
  hwctx_fini: aie2_hwctx_fini,
  cmd_submit: aie2_cmd_submit,
  out_fence_context: (hwctx) => priv_of(hwctx).out_fence_context,
  *device_fini(): Sleepable {},
};

