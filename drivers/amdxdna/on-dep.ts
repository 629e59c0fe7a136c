/**
 * amdxdna (AIE2) bound to drm_dep, as the RFC's conversion is inferred to do it ("[RFC PATCH
 * 11/12] accel/amdxdna: Convert to DRM dep queue", compile-tested only; the patch body is not
 * available: every choice below is an inference, listed in README "Assumptions"). Same order
 * as on-sched.ts, so that a diff of the two is the conversion.
 *
 * One drm_dep_queue per hardware context (embedded in amdxdna_hwctx_priv: the scheduler and
 * the entity become the queue), credit_limit HWCTX_MAX_CMDS with one credit per job, the same
 * 60 s timeout, the queue's own submit workqueue (and the TDR on it, drm_dep's default), no
 * queue flags unless the device option asks (completion already runs in a work item, so IRQ
 * put buys nothing). job_sem stays: drm_dep's credits gate run_job, not the submit ioctl.
 *
 * Timeout: drm_dep_queue_stop (HW-fence callbacks stay installed), destroy the firmware context
 * (handlers run with NULL data: the HW fences signal without error, so the aborted commands'
 * out fences signal with error 0 unless `dep_abort_error` is set), recreate, drm_dep_queue_start.
 *
 * Teardown (aie2_hwctx_fini, under dev_lock): drm_dep_queue_kill instead of the entity flush
 * (unstarted jobs complete with -ECANCELED after the started ones), wait for idle (2 s at most)
 * and the firmware destroy as before, then drm_dep_queue_put instead of waiting for every job
 * to be freed: jobs hold queue references, the private part (job_sem, the queue) is freed in
 * ops.free_queue after the last one, and job release no longer reaches the hwctx.
 */
import {
  DRM_DEP_TIMEDOUT_RESET, drm_dep_device, drm_dep_device_wait_idle, drm_dep_job, drm_dep_job_arm,
  drm_dep_job_finished_fence, drm_dep_job_get, drm_dep_job_init, drm_dep_job_push, drm_dep_job_put,
  drm_dep_queue, drm_dep_queue_fence_context, drm_dep_queue_init, drm_dep_queue_is_killed, drm_dep_queue_kill,
  drm_dep_queue_put, drm_dep_queue_start, drm_dep_queue_stop, type drm_dep_queue_ops,
} from '@deplab/drm-dep';
import {
  ENOMEM, ESRCH, GFP_KERNEL, dma_fence_get, dma_fence_put, dma_fence_set_error, dma_fence_signal, kfree, kmalloc,
  mutex, mutex_lock_sleepable, mutex_unlock,
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

/** struct amdxdna_sched_job (amdxdna_ctx.h): `base` becomes the drm_dep_job this class extends. */
export class amdxdna_sched_job extends drm_dep_job implements amdxdna_sched_job_common {
  readonly kernel: Kernel;
  hwctx: amdxdna_hwctx | null = null;
  cmd_bo: amdxdna_cmd_bo | null = null;
  fence: dma_fence | null = null;
  out_fence: dma_fence | null = null;
  seq = 0;
  mm: mm_struct | null = null;
  job_done = false;
  /** [I] The queue container, for the release (drm_dep's job is already dead in release_job). */
  priv: amdxdna_hwctx_priv | null = null;
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    super(kernel);
    this.kernel = kernel;
  }
}

/**
 * struct amdxdna_hwctx_priv (aie2_pci.h): the drm_dep_queue (was sched + entity) and the
 * driver's extras. Freed by ops.free_queue, so it outlives the hwctx while jobs remain.
 */
export class amdxdna_hwctx_priv extends drm_dep_queue implements aie2_hwctx_priv_common {
  mbox_chann: mailbox_channel | null = null;
  readonly job_sem: semaphore;
  readonly io_lock: mutex;
  seq = 0;
  completed = 0;
  syncobj_fence: dma_fence | null = null;
  syncobj_chain: Allocation | null = null;
  /** The hwctx name, for the job release trace (the hwctx may be gone by then). */
  name = '';
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    super(kernel);
    this.job_sem = sema_init(kernel, HWCTX_MAX_CMDS);
    this.io_lock = new mutex(kernel, '&priv->io_lock');
  }
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

/** Where the C code dereferences job->hwctx: a use after free if the hwctx is gone. */
function job_hwctx(job: amdxdna_sched_job, site: string): amdxdna_hwctx {
  const hwctx = job.hwctx!;
  hwctx.kernel.lifetime.use(hwctx.alloc!.id, site);
  return hwctx;
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
  amdxdna_sched_job_cleanup(job.kernel, priv.name, job.seq);
  if (job.out_fence !== null) dma_fence_put(job.out_fence);
  amdxdna_job_kfree(job.kernel, job);
}

/** aie2_job_put becomes drm_dep_job_put. Any context. */
function aie2_job_put(job: amdxdna_sched_job): void {
  drm_dep_job_put(job);
}

/** aie2_hwctx_stop: drm_dep_queue_stop (no bad-job re-insertion) + firmware context destroy. May sleep. */
function* aie2_hwctx_stop(xdna: amdxdna_dev, hwctx: amdxdna_hwctx): Sleepable {
  yield* drm_dep_queue_stop(priv_of(hwctx));
  yield* aie2_destroy_context(xdna, hwctx, true);
}

/**
 * aie2_hwctx_restart: recreate the firmware context, map the heap, re-send the CU config if
 * the hwctx was READY, then drm_dep_queue_start whatever happened. May sleep.
 */
function* aie2_hwctx_restart(xdna: amdxdna_dev, hwctx: amdxdna_hwctx): Sleepable<number> {
  let ret = yield* aie2_create_context(xdna, hwctx, true);
  if (ret === 0) ret = yield* aie2_map_host_buf(xdna, hwctx.fw_ctx_id, true);
  if (ret === 0 && hwctx.status === HWCTX_STAT_READY) ret = aie2_config_cu(hwctx, aie2_config_cu_resp_handler);
  drm_dep_queue_start(priv_of(hwctx));
  xdna.kernel.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv_of(hwctx).seq, str: `restarted, ret ${ret}` });
  return ret;
}

/**
 * aie2_sched_notify: the command is over (answered, or cancelled with the channel). Signal the
 * HW fence (drm_dep completes the job from its callback), release job_sem, drop the run_job
 * references. Rx worker, or the context-destroy caller.
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
 * status) into the command BO; NULL data (cancelled) leaves it as run_job set it (NEW), and
 * puts `dep_abort_error` on the HW fence when the device option sets one [I]. Then notify.
 */
function aie2_sched_resp_handler(job: amdxdna_sched_job, data: number | null): number {
  const cmd_abo = job.cmd_bo!;
  if (data !== null) amdxdna_cmd_set_state(cmd_abo, data === AIE2_STATUS_SUCCESS ? ERT_CMD_STATE_COMPLETED : ERT_CMD_STATE_ERROR);
  else if (job.hwctx!.client.xdna.options.dep_abort_error < 0) dma_fence_set_error(job.fence!, job.hwctx!.client.xdna.options.dep_abort_error);
  aie2_sched_notify(job);
  return 0;
}

/**
 * aie2_sched_job_run (ops.run_job): pin the submitter's mm (-ESRCH if it is gone), take a job
 * and a fence reference, mark the command NEW and send it over the context's mailbox. Returns
 * the HW fence, or the negative errno of the send. Submit workqueue (or the pusher with
 * DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS).
 */
function aie2_sched_job_run(job: amdxdna_sched_job): dma_fence | number {
  const cmd_abo = job.cmd_bo!;
  const hwctx = job_hwctx(job, 'aie2_sched_job_run: job->hwctx');
  const k = hwctx.kernel;
  if (!mmget_not_zero(job.mm!)) return -ESRCH;
  drm_dep_job_get(job);
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

/**
 * aie2_sched_job_timedout (ops.timedout_job): under dev_lock, stop + destroy the firmware
 * context (in-flight commands aborted) and recreate it. No resubmission. The queue's TDR
 * workqueue (its submit workqueue by default); sleeps.
 *
 * Conversion (README D8): drm_sched_fini no longer cancels the TDR, so a handler asleep on
 * dev_lock can wake after hwctx_fini destroyed the context; on a killed queue it must not
 * recreate it (that context and its mailbox channel would never be destroyed).
 */
function* aie2_sched_job_timedout(job: amdxdna_sched_job): Sleepable<typeof DRM_DEP_TIMEDOUT_RESET> {
  const hwctx = job_hwctx(job, 'aie2_sched_job_timedout: job->hwctx');
  const xdna = hwctx.client.xdna;
  trace_xdna_job(xdna.kernel, hwctx.name, 'job timedout', job.seq);
  yield* mutex_lock_sleepable(xdna.dev_lock, 'aie2_sched_job_timedout: mutex_lock(&xdna->dev_lock)');
  if (drm_dep_queue_is_killed(job.priv!)) {
    xdna.kernel.tp('amdxdna_debug_point', { name: hwctx.name, seq: job.seq, str: 'timeout on a killed queue: no restart' });
    mutex_unlock(xdna.dev_lock);
    return DRM_DEP_TIMEDOUT_RESET;
  }
  hwctx.recoveries++;
  yield* aie2_hwctx_stop(xdna, hwctx);
  yield* aie2_hwctx_restart(xdna, hwctx);
  mutex_unlock(xdna.dev_lock);
  return DRM_DEP_TIMEDOUT_RESET;
}

/** ops.free_queue: the last queue reference is gone; free the private part. */
function aie2_hwctx_priv_free(priv: amdxdna_hwctx_priv): void {
  kfree(priv.io_lock.kernel, priv.alloc);
  priv.alloc = null;
}

const sched_ops: drm_dep_queue_ops<amdxdna_sched_job, amdxdna_hwctx_priv> = {
  run_job: aie2_sched_job_run,
  timedout_job: aie2_sched_job_timedout,
  release_job: aie2_sched_job_release,
  free_queue: aie2_hwctx_priv_free,
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
  priv.alloc = kmalloc(k, 1024, GFP_KERNEL, 'amdxdna_hwctx_priv');
  if (priv.alloc === null) return -ENOMEM;
  priv.name = hwctx.name;
  hwctx.priv = priv;
  aie2_prime_io_lock(k, priv.io_lock);
  let ret = drm_dep_queue_init(priv, {
    ops: sched_ops,
    flags: xdna.options.dep_flags,
    credit_limit: HWCTX_MAX_CMDS,
    timeout: k.jiffies.msecs_to_jiffies(HWCTX_MAX_TIMEOUT_MS),
    name: 'amdxdna_js',
    dev: xdna_dep_device(xdna),
  });
  if (ret !== 0) return aie2_hwctx_init_failed(hwctx, ret, false);
  ret = run_nonsleeping(k, aie2_create_context(xdna, hwctx, false), 'aie2_hwctx_init: aie2_alloc_resource');
  if (ret === 0) ret = run_nonsleeping(k, aie2_map_host_buf(xdna, hwctx.fw_ctx_id, false), 'aie2_hwctx_init: aie2_map_host_buf');
  if (ret !== 0) return aie2_hwctx_init_failed(hwctx, ret, true);
  hwctx.status = HWCTX_STAT_INIT;
  xdna.hwctx_num++;
  return 0;
}

/** The error unwinding of aie2_hwctx_init (no job exists yet: the last put frees the queue). */
function aie2_hwctx_init_failed(hwctx: amdxdna_hwctx, ret: number, queue: boolean): number {
  const priv = priv_of(hwctx);
  const k = hwctx.kernel;
  const xdna = hwctx.client.xdna;
  if (hwctx.fw_ctx_id !== -1) run_nonsleeping(k, aie2_destroy_context(xdna, hwctx, false), 'aie2_hwctx_init: release_resource');
  if (queue) drm_dep_queue_put(priv);
  else kfree(k, priv.alloc);
  hwctx.priv = null;
  return ret;
}

/**
 * aie2_hwctx_fini: kill the queue (unstarted jobs are cancelled, no flush), wait up to 2 s for
 * the last command, destroy the firmware context (cancels the rest), drop the queue reference.
 * The wait for every job to be freed is gone: the last job's release frees the queue, and the
 * private part with it (ops.free_queue). Under dev_lock; may sleep.
 */
function* aie2_hwctx_fini(hwctx: amdxdna_hwctx): Sleepable {
  const xdna = hwctx.client.xdna;
  const priv = priv_of(hwctx);
  const k = xdna.kernel;
  xdna.hwctx_num--;
  k.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv.seq, str: 'fini' });
  drm_dep_queue_kill(priv);
  yield* aie2_hwctx_wait_for_idle(hwctx);
  yield* aie2_destroy_context(xdna, hwctx, true); // aie2_release_resource
  aie2_ctx_syncobj_destroy(k, priv);
  drm_dep_queue_put(priv);
}

/**
 * aie2_cmd_submit: sleep on job_sem (at most HWCTX_MAX_CMDS commands outstanding per hwctx),
 * init, arm and push the job under io_lock, add its out fence at timeline point `seq`.
 * Process context (the submit ioctl); returns 0 or a negative errno (-EINTR when the
 * submitter is signalled while it waits, -ECANCELED on a killed queue).
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
  else ret = drm_dep_job_init(job, priv, 1, hwctx.client.id);
  if (ret === 0) job.priv = priv;
  if (ret !== 0) {
    kfree(k, chain);
    up(priv.job_sem);
    job.job_done = true;
    return ret;
  }
  yield* mutex_lock_sleepable(priv.io_lock, 'aie2_cmd_submit: mutex_lock(&priv->io_lock)');
  drm_dep_job_arm(job);
  job.out_fence = drm_dep_job_finished_fence(job);
  job.seq = priv.seq++;
  drm_dep_job_push(job);
  out.fence = dma_fence_get(job.out_fence!);
  aie2_syncobj_add_point(k, priv, chain!, job.out_fence!);
  mutex_unlock(priv.io_lock);
  aie2_job_put(job);
  return 0;
}

/** The drm_dep binding as the ioctl layer sees it (amdxdna_dev_ops of aie2). */
export const aie2_dep_binding: aie2_binding = {
  name: 'drm_dep',
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
  out_fence_context: (hwctx) => drm_dep_queue_fence_context(priv_of(hwctx)),
  *device_fini(xdna: amdxdna_dev): Sleepable {
    yield* drm_dep_device_wait_idle(xdna_dep_device(xdna));
  },
};
