/**
 * The half of drivers/accel/amdxdna/aie2_ctx.c that both bindings share: everything the
 * conversion leaves as it is. Its calls into the scheduler go through `aie2_sched_ops`, which
 * on-sched.ts (drm_sched) and on-dep.ts (drm_dep) each provide, so that those two files hold
 * only what the conversion changes.
 *
 * Era (README "Era"): '7.0' is aie2_ctx.c @1aa82181 (v7.0-rc2) with "accel/amdxdna: Fix
 * command hang on suspended hardware context" (07efce5a, same pull) applied; '6.18' is
 * @063db451. What differs here:
 *  - aie2_hwctx_stop restarts the scheduler right after the firmware context destroy (7.0),
 *    not at the end of aie2_hwctx_restart (6.18);
 *  - run_job returns NULL while the hwctx has no mailbox channel (7.0): the scheduler
 *    completes the job with 0 and nothing runs;
 *  - the timeout handler marks its job timed out before it takes dev_lock, and the response
 *    handler writes ERT_CMD_STATE_TIMEOUT for that job and ERT_CMD_STATE_ABORT for any other
 *    command a context destroy cancels ("Fix incorrect command state for timed out job",
 *    6fb7f298); 6.18 leaves the state as run_job set it (NEW);
 *  - aie2_sched_notify no longer drops the HW fence: amdxdna_sched_job_cleanup does (7.0).
 */
import {
  EINVAL, ENOMEM, ESRCH, GFP_KERNEL, dma_fence_get, dma_fence_put, dma_fence_signal, dma_fence_wait_timeout, kfree, kmalloc,
  lock_map_acquire, lock_map_release, might_lock, mutex_lock_sleepable, mutex_unlock,
  type Allocation, type Kernel, type Sleepable, type dma_fence, type mutex,
} from '@deplab/sim';
import {
  AMDXDNA_SCHED_JOB_SIZE, HWCTX_STAT_INIT, HWCTX_STAT_READY, amdxdna_cmd_set_state, down_interruptible, mmget_not_zero,
  mmput, mmput_async, run_nonsleeping, trace_xdna_job, up,
  type aie2_binding, type aie2_hwctx_priv_common, type amdxdna_dev, type amdxdna_hwctx, type amdxdna_sched_job_common,
} from './amdxdna_ctx.ts';
import {
  AIE2_STATUS_SUCCESS, ERT_CMD_STATE_ABORT, ERT_CMD_STATE_COMPLETED, ERT_CMD_STATE_ERROR, ERT_CMD_STATE_NEW,
  ERT_CMD_STATE_TIMEOUT,
} from './hw.ts';
import { aie2_config_cu, aie2_create_context, aie2_destroy_context, aie2_execbuf, aie2_map_host_buf } from './mailbox.ts';

/**
 * What the shared half asks of the scheduler: each binding's answer is the conversion. `J` is
 * the binding's struct amdxdna_sched_job.
 */
export interface aie2_sched_ops<J extends amdxdna_sched_job_common = amdxdna_sched_job_common> {
  /** The job reference run_job takes for the command in flight: kref_get(&job->refcnt) / drm_dep_job_get. */
  job_get(job: J): void;
  /** aie2_job_put / drm_dep_job_put. Any context. */
  job_put(job: J): void;
  /** drm_sched_stop(&priv->sched, bad_job) / drm_dep_queue_stop. May sleep. */
  stop(hwctx: amdxdna_hwctx, bad_job: J | null): Sleepable;
  /** drm_sched_start(&priv->sched, 0) / drm_dep_queue_start. */
  start(hwctx: amdxdna_hwctx): void;
  /** drm_sched_job_init / drm_dep_job_init: 0 or a negative errno. */
  job_init(hwctx: amdxdna_hwctx, job: J): number;
  /** Under io_lock: arm the job and return a reference to its finished fence (the out fence). */
  job_arm(hwctx: amdxdna_hwctx, job: J): dma_fence;
  /** Under io_lock, after job->seq is set: push the job (with the reference the push needs). */
  job_push(hwctx: amdxdna_hwctx, job: J): void;
  /** The conversion only: the timeout handler leaves the hwctx alone (README D8). */
  timedout_skip?(job: J): boolean;
  /** The conversion only: a command cancelled by a context destroy (option dep_abort_error). */
  cancelled?(job: J): void;
}

/**
 * A binding as the ioctl layer sees it (amdxdna_dev_ops of aie2): the job allocation and
 * aie2_cmd_submit over the binding's job class and scheduler calls, plus what it writes itself.
 */
export function aie2_binding_of<J extends amdxdna_sched_job_common>(name: aie2_binding['name'], new_job: (k: Kernel) => J,
  ops: aie2_sched_ops<J>, own: Pick<aie2_binding, 'hwctx_init' | 'hwctx_fini' | 'out_fence_context' | 'device_fini'>): aie2_binding {
  return {
    name,
    job_alloc: (k) => aie2_job_alloc(new_job(k)),
    cmd_submit: (hwctx, job, out) => aie2_cmd_submit(hwctx, job as J, out, ops),
    ...own,
  };
}

/** Where the C code dereferences job->hwctx: a use after free if the hwctx is gone. */
export function job_hwctx(job: amdxdna_sched_job_common, site: string): amdxdna_hwctx {
  const hwctx = job.hwctx!;
  hwctx.kernel.lifetime.use(hwctx.alloc!.id, site);
  return hwctx;
}

/** The job allocation of amdxdna_cmd_submit (kzalloc(struct_size(job, bos, 1))); null on -ENOMEM. */
export function aie2_job_alloc<J extends amdxdna_sched_job_common>(job: J): J | null {
  job.alloc = kmalloc(job.kernel, AMDXDNA_SCHED_JOB_SIZE, GFP_KERNEL, 'amdxdna_sched_job');
  return job.alloc === null ? null : job;
}

export function aie2_job_kfree(job: amdxdna_sched_job_common): void {
  kfree(job.kernel, job.alloc);
  job.alloc = null;
}

/* ------------------------------------------------------------------------------------------ */
/* Stop, restart, timeout                                                                       */

/**
 * aie2_hwctx_stop: stop the scheduler (bad_job only from the timeout), destroy the firmware
 * context (its commands are cancelled: their handlers run with NULL data), and in 7.0 start the
 * scheduler again at once. May sleep.
 */
export function* aie2_hwctx_stop<J extends amdxdna_sched_job_common>(xdna: amdxdna_dev, hwctx: amdxdna_hwctx, bad_job: J | null,
  ops: aie2_sched_ops<J>): Sleepable {
  yield* ops.stop(hwctx, bad_job);
  yield* aie2_destroy_context(xdna, hwctx, true);
  if (xdna.options.era === '7.0') ops.start(hwctx);
}

/**
 * aie2_hwctx_restart: recreate the firmware context, map the heap, re-send the CU config (6.18:
 * only if the hwctx was READY), and in 6.18 start the scheduler, whatever happened. May sleep.
 */
export function* aie2_hwctx_restart<J extends amdxdna_sched_job_common>(xdna: amdxdna_dev, hwctx: amdxdna_hwctx,
  ops: aie2_sched_ops<J>): Sleepable<number> {
  const era = xdna.options.era;
  let ret = yield* aie2_create_context(xdna, hwctx, true);
  if (ret === 0) ret = yield* aie2_map_host_buf(xdna, hwctx.fw_ctx_id, true);
  if (ret === 0 && (era === '7.0' || hwctx.status === HWCTX_STAT_READY)) ret = aie2_config_cu(hwctx, aie2_config_cu_resp_handler);
  if (era === '6.18') ops.start(hwctx);
  xdna.kernel.tp('amdxdna_debug_point', { name: hwctx.name, seq: hwctx.priv!.seq, str: `restarted, ret ${ret}` });
  return ret;
}

/**
 * aie2_sched_job_timedout: under dev_lock, stop + destroy the firmware context (in-flight
 * commands aborted) and recreate it. No resubmission. Sleeps. The binding returns its
 * scheduler's RESET status.
 */
export function* aie2_sched_job_timedout<J extends amdxdna_sched_job_common>(job: J, ops: aie2_sched_ops<J>): Sleepable {
  const hwctx = job_hwctx(job, 'aie2_sched_job_timedout: job->hwctx');
  const xdna = hwctx.client.xdna;
  trace_xdna_job(xdna.kernel, hwctx.name, 'job timedout', job.seq);
  if (xdna.options.era === '7.0') job.job_timeout = true;
  yield* mutex_lock_sleepable(xdna.dev_lock, 'aie2_sched_job_timedout: mutex_lock(&xdna->dev_lock)');
  if (ops.timedout_skip?.(job) === true) {
    xdna.kernel.tp('amdxdna_debug_point', { name: hwctx.name, seq: job.seq, str: 'timeout on a killed queue: no restart' });
  } else {
    hwctx.recoveries++;
    yield* aie2_hwctx_stop(xdna, hwctx, job, ops);
    yield* aie2_hwctx_restart(xdna, hwctx, ops);
  }
  mutex_unlock(xdna.dev_lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Completion and run_job                                                                       */

/**
 * aie2_sched_notify: the command is over (answered, or cancelled with the channel). Signal the
 * HW fence (the scheduler completes the job from its callback), release job_sem, drop the
 * run_job references (6.18 also drops the creation reference of the HW fence here). Rx worker,
 * or the context-destroy caller.
 */
function aie2_sched_notify<J extends amdxdna_sched_job_common>(job: J, ops: aie2_sched_ops<J>): void {
  const hwctx = job_hwctx(job, 'aie2_sched_notify: job->hwctx');
  const fence = job.fence!;
  const priv = hwctx.priv!;
  trace_xdna_job(hwctx.kernel, hwctx.name, 'signaled fence', job.seq);
  priv.completed++;
  dma_fence_signal(fence);
  up(priv.job_sem);
  job.job_done = true;
  if (hwctx.client.xdna.options.era === '6.18') dma_fence_put(fence);
  mmput_async(job.mm!);
  ops.job_put(job);
}

/**
 * aie2_sched_resp_handler (the cmdlist handler in 7.0, which uses the chained command path:
 * same states): write the command state into the command BO, then notify. A response:
 * COMPLETED, or ERROR for a non-success status. NULL data (cancelled by a context destroy):
 * 7.0 writes TIMEOUT for the job the timeout handler blamed and ABORT for the others; 6.18
 * leaves the state as run_job set it (NEW).
 */
function aie2_sched_resp_handler<J extends amdxdna_sched_job_common>(job: J, data: number | null, ops: aie2_sched_ops<J>): number {
  const cmd_abo = job.cmd_bo!;
  const era = job.hwctx!.client.xdna.options.era;
  if (era === '7.0' && job.job_timeout) amdxdna_cmd_set_state(cmd_abo, ERT_CMD_STATE_TIMEOUT);
  else if (data !== null) amdxdna_cmd_set_state(cmd_abo, data === AIE2_STATUS_SUCCESS ? ERT_CMD_STATE_COMPLETED : ERT_CMD_STATE_ERROR);
  else if (era === '7.0') amdxdna_cmd_set_state(cmd_abo, ERT_CMD_STATE_ABORT);
  if (data === null) ops.cancelled?.(job);
  aie2_sched_notify(job, ops);
  return 0;
}

/**
 * aie2_sched_job_run (run_job): 7.0 first returns NULL if the hwctx has no mailbox channel
 * (after amdxdna_pm_resume_get, not modelled). Then pin the submitter's mm (-ESRCH if it is
 * gone), take a job and a fence reference, mark the command NEW and send it over the context's
 * mailbox. Returns the HW fence, null, or the negative errno of the send (ERR_PTR). The
 * scheduler's submit worker (or the pusher with drm_dep's submit bypass).
 */
export function aie2_sched_job_run<J extends amdxdna_sched_job_common>(job: J, ops: aie2_sched_ops<J>): dma_fence | number | null {
  const cmd_abo = job.cmd_bo!;
  const hwctx = job_hwctx(job, 'aie2_sched_job_run: job->hwctx');
  const k = hwctx.kernel;
  if (hwctx.client.xdna.options.era === '7.0' && hwctx.priv!.mbox_chann === null) {
    trace_xdna_job(k, hwctx.name, 'no mailbox channel: not sent', job.seq);
    return null;
  }
  if (!mmget_not_zero(job.mm!)) return -ESRCH;
  ops.job_get(job);
  let fence: dma_fence | number = dma_fence_get(job.fence!);
  amdxdna_cmd_set_state(cmd_abo, ERT_CMD_STATE_NEW);
  k.spend(k.cost_of('amdxdna.run_job_ns', 1_500));
  const ret = aie2_execbuf(hwctx, job, cmd_abo, (handle: J, data: number | null) => aie2_sched_resp_handler(handle, data, ops));
  if (ret !== 0) {
    dma_fence_put(job.fence);
    ops.job_put(job);
    mmput(job.mm!);
    fence = ret;
  }
  trace_xdna_job(k, hwctx.name, 'sent to device', job.seq);
  return fence;
}

/* ------------------------------------------------------------------------------------------ */
/* Init, fini, submit                                                                           */

/**
 * The driver's part of aie2_hwctx_init before the scheduler: allocate the private part, attach
 * it and prime io_lock against reclaim (fs_reclaim_acquire; might_lock(io_lock);
 * fs_reclaim_release: GFP_KERNEL under io_lock is reported). False on -ENOMEM.
 */
export function aie2_hwctx_priv_attach(hwctx: amdxdna_hwctx, priv: aie2_hwctx_priv_common): boolean {
  const k = hwctx.kernel;
  priv.alloc = kmalloc(k, 1024, GFP_KERNEL, 'amdxdna_hwctx_priv');
  if (priv.alloc === null) return false;
  hwctx.priv = priv;
  aie2_prime_io_lock(k, priv.io_lock);
  return true;
}

/** The error path of aie2_hwctx_init: free the private part (kfree(priv)) and detach it; returns `ret`. */
export function aie2_hwctx_priv_free(hwctx: amdxdna_hwctx, ret: number): number {
  const priv = hwctx.priv!;
  kfree(hwctx.kernel, priv.alloc);
  priv.alloc = null;
  hwctx.priv = null;
  return ret;
}

function aie2_prime_io_lock(k: Kernel, io_lock: mutex): void {
  lock_map_acquire(k.fs_reclaim, 'aie2_hwctx_init: fs_reclaim_acquire(GFP_KERNEL)');
  might_lock(io_lock, 'aie2_hwctx_init: might_lock(&priv->io_lock)');
  lock_map_release(k.fs_reclaim);
}

/**
 * The driver's part of aie2_hwctx_init after the scheduler: aie2_alloc_resource (the firmware
 * context) and aie2_map_host_buf, in zero simulated time (Device.create_queue cannot sleep,
 * README A3). On failure the firmware context is destroyed again. 0 or a negative errno.
 */
export function aie2_hwctx_init_fw(hwctx: amdxdna_hwctx): number {
  const xdna = hwctx.client.xdna;
  const k = xdna.kernel;
  let ret = run_nonsleeping(k, aie2_create_context(xdna, hwctx, false), 'aie2_hwctx_init: aie2_alloc_resource');
  if (ret === 0) ret = run_nonsleeping(k, aie2_map_host_buf(xdna, hwctx.fw_ctx_id, false), 'aie2_hwctx_init: aie2_map_host_buf');
  if (ret !== 0) {
    if (hwctx.fw_ctx_id !== -1) run_nonsleeping(k, aie2_destroy_context(xdna, hwctx, false), 'aie2_hwctx_init: release_resource');
    return ret;
  }
  hwctx.status = HWCTX_STAT_INIT;
  xdna.hwctx_num++;
  return 0;
}

/**
 * The first steps of aie2_hwctx_fini in 7.0 (with dev_lock held): wait up to 2 s for the last
 * command, then stop the scheduler, destroy the firmware context (cancelling what is left) and
 * start the scheduler again (aie2_hwctx_stop's 7.0 sequence). May sleep.
 */
export function* aie2_hwctx_fini_release<J extends amdxdna_sched_job_common>(hwctx: amdxdna_hwctx, ops: aie2_sched_ops<J>): Sleepable {
  yield* aie2_hwctx_wait_for_idle(hwctx);
  yield* aie2_hwctx_stop(hwctx.client.xdna, hwctx, null, ops);
}

/** The trace and count aie2_hwctx_fini starts with. */
export function aie2_hwctx_fini_begin(hwctx: amdxdna_hwctx): void {
  hwctx.client.xdna.hwctx_num--;
  hwctx.kernel.tp('amdxdna_debug_point', { name: hwctx.name, seq: hwctx.priv!.seq, str: 'fini' });
}

/**
 * aie2_cmd_submit: sleep on job_sem (at most HWCTX_MAX_CMDS commands outstanding per hwctx),
 * init, arm and push the job under io_lock, add its out fence at timeline point `seq`.
 * Process context (the submit ioctl); returns 0 with a reference to the out fence in
 * `out.fence`, or a negative errno (-EINTR when the submitter is signalled while it waits).
 */
export function* aie2_cmd_submit<J extends amdxdna_sched_job_common>(hwctx: amdxdna_hwctx, job: J, out: { fence: dma_fence | null },
  ops: aie2_sched_ops<J>): Sleepable<number> {
  const priv = hwctx.priv!;
  const k = hwctx.kernel;
  let ret = yield* down_interruptible(priv.job_sem, hwctx.client);
  if (ret !== 0) {
    k.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv.seq, str: `Grab job sem failed, ret ${ret}` });
    return ret;
  }
  const chain = dma_fence_chain_alloc(k);
  ret = chain === null ? -ENOMEM : ops.job_init(hwctx, job);
  if (ret !== 0) {
    kfree(k, chain);
    up(priv.job_sem);
    job.job_done = true;
    return ret;
  }
  yield* mutex_lock_sleepable(priv.io_lock, 'aie2_cmd_submit: mutex_lock(&priv->io_lock)');
  const out_fence = ops.job_arm(hwctx, job);
  job.out_fence = out_fence;
  hwctx.client.xdna.hw_start?.armed(job.cmd_bo!, out_fence);
  job.seq = priv.seq++;
  ops.job_push(hwctx, job);
  out.fence = dma_fence_get(out_fence);
  aie2_syncobj_add_point(k, priv, chain!, out_fence);
  mutex_unlock(priv.io_lock);
  ops.job_put(job);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Syncobj, idle wait, CU config                                                                */

/** Response handler of CONFIG_CU (aie2_config_cu_resp_handler: a PM put, not modelled). */
function aie2_config_cu_resp_handler(_hwctx: unknown, _data: number | null): number {
  return 0;
}

/** aie2_cmd_get_out_fence: the fence at timeline point `seq`, with a reference, or null. */
function aie2_cmd_get_out_fence(priv: aie2_hwctx_priv_common, seq: number): dma_fence | null {
  if (priv.syncobj_fence === null || seq !== priv.seq - 1) return null;
  return dma_fence_get(priv.syncobj_fence);
}

/** aie2_hwctx_wait_for_idle: wait up to 2 s for the last command's out fence. May sleep. */
export function* aie2_hwctx_wait_for_idle(hwctx: amdxdna_hwctx): Sleepable {
  const priv = hwctx.priv!;
  const fence = aie2_cmd_get_out_fence(priv, priv.seq - 1);
  if (fence === null) return;
  const k = hwctx.kernel;
  const left = yield* dma_fence_wait_timeout(fence, false, k.jiffies.msecs_to_jiffies(2000));
  if (left === 0) k.tp('amdxdna_debug_point', { name: hwctx.name, seq: priv.seq - 1, str: 'wait for idle timed out' });
  dma_fence_put(fence);
}

/** drm_syncobj_add_point with a preallocated chain: the point at `seq` is `fence`. */
function aie2_syncobj_add_point(k: Kernel, priv: aie2_hwctx_priv_common, chain: Allocation, fence: dma_fence): void {
  dma_fence_put(priv.syncobj_fence);
  kfree(k, priv.syncobj_chain);
  priv.syncobj_fence = dma_fence_get(fence);
  priv.syncobj_chain = chain;
}

/** aie2_ctx_syncobj_destroy: drop the syncobj (its latest point). */
export function aie2_ctx_syncobj_destroy(k: Kernel, priv: aie2_hwctx_priv_common): void {
  dma_fence_put(priv.syncobj_fence);
  kfree(k, priv.syncobj_chain);
  priv.syncobj_fence = null;
  priv.syncobj_chain = null;
}

/** dma_fence_chain_alloc (GFP_KERNEL). */
function dma_fence_chain_alloc(k: Kernel): Allocation | null {
  return kmalloc(k, 72, GFP_KERNEL, 'dma_fence_chain');
}

/**
 * aie2_hwctx_cu_config: CONFIG_CU to the firmware, status READY. Under dev_lock. Returns 0 or
 * -EINVAL if already configured (no re-config).
 */
export function aie2_hwctx_cu_config(hwctx: amdxdna_hwctx): number {
  if (hwctx.status !== HWCTX_STAT_INIT) return -EINVAL;
  const ret = aie2_config_cu(hwctx, aie2_config_cu_resp_handler);
  if (ret !== 0) return ret;
  hwctx.status = HWCTX_STAT_READY;
  return 0;
}
