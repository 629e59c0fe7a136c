/**
 * Driver structures shared by both bindings (drivers/accel/amdxdna/amdxdna_ctx.[ch],
 * amdxdna_pci_drv.h, aie2_pci.h), the device options (the era among them), plus the three
 * kernel primitives the substrate does not have and amdxdna needs: a counting semaphore
 * (job_sem), SRCU (hwctx_srcu) and mm_users (mmget_not_zero). They are built on the substrate's
 * wait queues, so a down() or synchronize_srcu() really sleeps in simulated time.
 *
 * The binding interface (`aie2_binding`) is what on-sched.ts and on-dep.ts each provide: the
 * dev_info->ops the ioctl layer (uapi.ts) calls (hwctx_init, hwctx_fini, cmd_submit). The
 * scheduler-independent half of aie2_ctx.c is in aie2_ctx.ts.
 */
import {
  EINTR, WAIT_SIGNAL, dma_fence, dma_fence_init, dma_fence_put, mutex, spin_lock_init, wait_queue_head, type Allocation, type Kernel, type Sleepable, type dma_fence_ops,
} from '@deplab/sim';
import { job_hw_start_trace, type JobHwStartTrace } from '@deplab/driver-api';
import type { aie2_mgmt, mailbox_channel, xdna_mailbox } from './mailbox.ts';
import type { amdxdna_cmd_bo, npu_device } from './hw.ts';

/** aie2_pci.h: "maximum number of pending commands in a hardware context. Must be power of 2". */
export const HWCTX_MAX_CMDS = 4;
/** aie2_ctx.c: the job timeout, ms. */
export const HWCTX_MAX_TIMEOUT_MS = 60_000;
/** amdxdna_ctx.c: hwctx ids are 1..MAX_HWCTX_ID per client. */
export const MAX_HWCTX_ID = 255;

/** enum amdxdna_hwctx status (amdxdna_ctx.h). */
export const HWCTX_STAT_INIT = 0;
export const HWCTX_STAT_READY = 1;
export const HWCTX_STAT_STOP = 2;

/* ------------------------------------------------------------------------------------------ */
/* Kernel primitives the substrate lacks                                                        */

/** struct semaphore (include/linux/semaphore.h): a count and a wait queue. */
export class semaphore {
  readonly kernel: Kernel;
  count: number;
  /** The initial count: an up() beyond it is a double up() (a bug, not a C check). */
  readonly limit: number;
  readonly wait = new wait_queue_head();

  constructor(kernel: Kernel, count: number) {
    this.kernel = kernel;
    this.count = count;
    this.limit = count;
  }
}

/** sema_init. */
export function sema_init(k: Kernel, count: number): semaphore {
  return new semaphore(k, count);
}

/** Whatever interrupts a sleeping ioctl of a process: here, the client's pending signal. */
export interface signal_source {
  readonly signalled: boolean;
}

/**
 * down_interruptible: take the semaphore, sleeping while the count is zero. Returns 0, or
 * -EINTR when a signal arrives first: a fatal signal of the task (Task.sigkill_pending) or
 * `sig.signalled` (the driver's stand-in for the signal Ctrl-C delivers to the submitting
 * thread, see uapi.ts close_client). Process context.
 */
export function* down_interruptible(sem: semaphore, sig: signal_source): Sleepable<number> {
  const k = sem.kernel;
  k.might_sleep('down_interruptible');
  if (sem.count > 0 && !sig.signalled) {
    sem.count--;
    return 0;
  }
  for (;;) {
    if (sig.signalled) return -EINTR;
    const r = yield* k.wait_until(sem.wait, () => sem.count > 0 || sig.signalled, Infinity, true);
    if (sig.signalled || r === WAIT_SIGNAL) return -EINTR;
    if (sem.count > 0) {
      sem.count--;
      return 0;
    }
  }
}

/** up: release the semaphore and wake a sleeper. Any context. */
export function up(sem: semaphore): void {
  sem.count++;
  if (sem.count > sem.limit) sem.kernel.violation('bug', 'up', `semaphore count ${sem.count} above its initial ${sem.limit}: double up()`);
  sem.kernel.wake_up(sem.wait);
}

/**
 * struct srcu_struct reduced to a reader count: synchronize_srcu waits until no reader is
 * inside. Exact for amdxdna: a reader that starts after the hwctx was erased from the xarray
 * fails its lookup and leaves within the same step.
 */
export class srcu_struct {
  readonly kernel: Kernel;
  readers = 0;
  readonly wait = new wait_queue_head();

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }
}

export function srcu_read_lock(ss: srcu_struct): number {
  ss.readers++;
  return 0;
}

export function srcu_read_unlock(ss: srcu_struct, _idx: number): void {
  ss.readers--;
  if (ss.readers === 0) ss.kernel.wake_up(ss.wait);
}

/** synchronize_srcu: sleep until every reader has left. Process context. */
export function* synchronize_srcu(ss: srcu_struct): Sleepable {
  yield* ss.kernel.wait_until(ss.wait, () => ss.readers === 0);
}

/**
 * struct mm_struct reduced to mm_users: the process holds one user until exit_mm; run_job
 * takes one (mmget_not_zero) until the command's response (mmput_async).
 */
export class mm_struct {
  users = 1;
}

export function mmget_not_zero(mm: mm_struct): boolean {
  if (mm.users === 0) return false;
  mm.users++;
  return true;
}

export function mmput(mm: mm_struct): void {
  mm.users--;
}

export const mmput_async = mmput;

/**
 * Run to completion a generator that must not sleep here: the model's create path, which the
 * Device interface gives no process to sleep in (create_queue is not a generator). Nothing in
 * it waits in practice (idle work items, firmware answering at once); if it ever would, that
 * is a model_error and -EAGAIN.
 */
export function run_nonsleeping<T>(k: Kernel, gen: Sleepable<T>, site: string): T | number {
  const r = gen.next();
  if (r.done === true) return r.value;
  k.violation('model_error', site, `${site} would sleep, but Device.create_queue cannot`);
  return -11;
}

/* ------------------------------------------------------------------------------------------ */
/* The device, clients, hardware contexts                                                       */

/**
 * Which upstream driver the model is. '7.0': drivers/accel/amdxdna as at the RFC's base
 * (v7.0-rc2/rc3: the November 2025 fixes for the fence leak, the context-destroy/timeout
 * deadlock and the timed-out command state, the release without .flush, the February 2026
 * fixes for suspended contexts). '6.18': the earlier snapshot (aie2_ctx.c @063db451) the
 * findings that need the old behaviour use. README "Era".
 */
export type xdna_era = '7.0' | '6.18';
export const XDNA_ERAS: readonly xdna_era[] = ['7.0', '6.18'];

/** Driver knobs (options.driver of the Device; README "Device options"). */
export interface xdna_options {
  /** The upstream driver modelled (default '7.0'). */
  readonly era: xdna_era;
  /** Model upstream's kzalloc(GFP_KERNEL) on the run_job and recovery paths (default true). */
  readonly upstream_gfp: boolean;
  /** drm_dep only: DRM_DEP_QUEUE_FLAGS_* of every hwctx queue (default 0). */
  readonly dep_flags: number;
  /** drm_dep only: error the converted response handler puts on an aborted command's HW fence (default 0). */
  readonly dep_abort_error: number;
  /** close_client models the exit of the process after Ctrl-C (default true). */
  readonly close_is_exit: boolean;
}

/** struct amdxdna_dev (with the aie2 amdxdna_dev_hdl folded in). */
export class amdxdna_dev implements aie2_mgmt {
  readonly kernel: Kernel;
  readonly npu: npu_device;
  readonly mbox: xdna_mailbox;
  mgmt_chann: mailbox_channel | null = null;
  readonly dev_lock: mutex;
  readonly client_list: amdxdna_client[] = [];
  readonly binding: aie2_binding;
  readonly options: xdna_options;
  hwctx_num = 0;
  /** drm_dev_unplug was called: ioctls fail with -ENODEV. */
  unplugged = false;
  /** drm_unplug_srcu: drm_dev_enter sections (hwctx ioctls, file release). */
  readonly unplug_srcu: srcu_struct;
  /** deplab_job_hw_start bookkeeping while tracing (aie2_cmd_submit records each job at arm). */
  readonly hw_start: JobHwStartTrace<amdxdna_cmd_bo> | null;

  constructor(kernel: Kernel, npu: npu_device, mbox: xdna_mailbox, binding: aie2_binding, options: xdna_options) {
    this.kernel = kernel;
    this.npu = npu;
    this.mbox = mbox;
    this.binding = binding;
    this.options = options;
    this.dev_lock = new mutex(kernel, '&xdna->dev_lock');
    this.unplug_srcu = new srcu_struct(kernel);
    // deplab_job_hw_start: the firmware context's start of a command names its job (both bindings alike).
    const hw_start = (this.hw_start = job_hw_start_trace(kernel));
    if (hw_start !== null) npu.cmd_started = (cmd) => hw_start.started(cmd);
  }
}

/** struct amdxdna_client: one open DRM file. */
export class amdxdna_client {
  readonly xdna: amdxdna_dev;
  readonly id: number;
  readonly pid: number;
  readonly name: string;
  readonly hwctx_xa = new Map<number, amdxdna_hwctx>();
  next_hwctxid = 1;
  readonly hwctx_srcu: srcu_struct;
  readonly mm = new mm_struct();
  /** The process ran exit_mm (its own mm user is gone). */
  mm_exited = false;
  /** A signal is pending for the process's threads (Ctrl-C): sleeping ioctls return -EINTR. */
  signalled = false;
  /** Threads waiting on fences in userspace (host-side dependency waits), woken by the signal. */
  readonly host_wait = new wait_queue_head();
  alloc: Allocation | null = null;

  constructor(xdna: amdxdna_dev, id: number, name: string) {
    this.xdna = xdna;
    this.id = id;
    this.pid = 1000 + id;
    this.name = name;
    this.hwctx_srcu = new srcu_struct(xdna.kernel);
  }
}

/** What both bindings' amdxdna_hwctx_priv have (aie2_pci.h); the rest is binding-specific. */
export interface aie2_hwctx_priv_common {
  mbox_chann: mailbox_channel | null;
  readonly job_sem: semaphore;
  readonly io_lock: mutex;
  /** Next timeline point (hwctx->priv->seq). */
  seq: number;
  completed: number;
  /**
   * The hwctx's timeline drm_syncobj, reduced to its latest point: the only point the driver
   * looks up is seq - 1 (aie2_hwctx_wait_for_idle); earlier signalled links are garbage
   * collected by dma_fence_chain anyway.
   */
  syncobj_fence: dma_fence | null;
  syncobj_chain: Allocation | null;
  alloc: Allocation | null;
}

/** A class constructed with the kernel: the scheduler object a binding's structure embeds. */
type KernelConstructor = new (...args: any[]) => object;

/**
 * struct amdxdna_hwctx_priv (aie2_pci.h) without its scheduler: each binding extends `Base`
 * (drm_dep_queue, or a plain object that holds the drm_sched scheduler and entity) with these.
 */
export function amdxdna_hwctx_priv_of<B extends KernelConstructor>(Base: B) {
  return class extends Base implements aie2_hwctx_priv_common {
    mbox_chann: mailbox_channel | null = null;
    readonly job_sem: semaphore;
    readonly io_lock: mutex;
    seq = 0;
    completed = 0;
    syncobj_fence: dma_fence | null = null;
    syncobj_chain: Allocation | null = null;
    alloc: Allocation | null = null;

    constructor(...args: any[]) {
      super(...args);
      const kernel = args[0] as Kernel;
      this.job_sem = sema_init(kernel, HWCTX_MAX_CMDS);
      this.io_lock = new mutex(kernel, '&priv->io_lock');
    }
  };
}

/** struct amdxdna_hwctx. */
export class amdxdna_hwctx {
  readonly kernel: Kernel;
  readonly client: amdxdna_client;
  readonly id: number;
  readonly name: string;
  status = HWCTX_STAT_INIT;
  old_status = HWCTX_STAT_INIT;
  fw_ctx_id = -1;
  priv: aie2_hwctx_priv_common | null = null;
  /** Counted by the drm_sched binding only (the drm_dep conversion drops them, README). */
  job_submit_cnt = 0;
  job_free_cnt = 0;
  /** deplab: timeouts handled (context recreations), for queue_state. */
  recoveries = 0;
  alloc: Allocation | null = null;

  constructor(client: amdxdna_client, id: number) {
    this.kernel = client.xdna.kernel;
    this.client = client;
    this.id = id;
    this.name = `hwctx.${client.pid}.${id}`;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* The HW fence (amdxdna_fence)                                                                  */

/** sizeof(struct amdxdna_fence). */
const AMDXDNA_FENCE_SIZE = 96;

const amdxdna_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'amdxdna',
  get_timeline_name: (fence) => {
    const hwctx = fence.owner as amdxdna_hwctx;
    hwctx.kernel.lifetime.use(hwctx.alloc!.id, 'amdxdna_fence_get_timeline_name: xdna_fence->hwctx');
    return hwctx.name;
  },
};

/**
 * amdxdna_fence_create: the job's HW fence, kzalloc'ed, with its own lock, on context
 * hwctx->id and seqno 0 (not an allocated fence context: drm_sched never compares parent
 * fences, so upstream gets away with it; in the simulated kernel the id may collide with an
 * allocated context). Process context. Returns null on allocation failure.
 */
export function amdxdna_fence_create(hwctx: amdxdna_hwctx): dma_fence | null {
  const k = hwctx.kernel;
  k.spend(k.cost.kmalloc_ns.draw());
  const fence = new dma_fence(k, 'amdxdna_fence');
  fence.owner = hwctx;
  // Lock class name: the substrate keys classes by name, and drm_sched's s_fence lock is
  // '&fence->lock' too; in C they are different classes (different spin_lock_init sites).
  dma_fence_init(fence, amdxdna_fence_ops, spin_lock_init(k, '&xdna_fence->lock'), hwctx.id, 0);
  return fence;
}

/** amdxdna_cmd_set_state: write the state word of the command BO header. */
export function amdxdna_cmd_set_state(abo: amdxdna_cmd_bo, state: number): void {
  abo.state = state;
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs                                                                                          */

/** sizeof(struct amdxdna_sched_job) with one argument BO. */
export const AMDXDNA_SCHED_JOB_SIZE = 320;

/** The fields of struct amdxdna_sched_job that do not depend on the scheduler (amdxdna_ctx.h). */
export interface amdxdna_sched_job_common {
  readonly kernel: Kernel;
  hwctx: amdxdna_hwctx | null;
  cmd_bo: amdxdna_cmd_bo | null;
  /** The HW fence (amdxdna_fence). */
  fence: dma_fence | null;
  /** The scheduler's finished fence, as added to the syncobj. */
  out_fence: dma_fence | null;
  seq: number;
  mm: mm_struct | null;
  job_done: boolean;
  /** 7.0: set by the timeout handler; the response handler then writes ERT_CMD_STATE_TIMEOUT. */
  job_timeout: boolean;
  alloc: Allocation | null;
}

/**
 * struct amdxdna_sched_job (amdxdna_ctx.h) without `base`: each binding extends its scheduler's
 * job (drm_sched_job or drm_dep_job, constructed with the kernel) with these fields.
 */
export function amdxdna_sched_job_of<B extends KernelConstructor>(Base: B) {
  return class extends Base implements amdxdna_sched_job_common {
    readonly kernel: Kernel;
    hwctx: amdxdna_hwctx | null = null;
    cmd_bo: amdxdna_cmd_bo | null = null;
    fence: dma_fence | null = null;
    out_fence: dma_fence | null = null;
    seq = 0;
    mm: mm_struct | null = null;
    job_done = false;
    job_timeout = false;
    alloc: Allocation | null = null;

    constructor(...args: any[]) {
      super(...args);
      this.kernel = args[0] as Kernel;
    }
  };
}

/**
 * amdxdna_sched_job_cleanup (amdxdna_ctx.c): put the argument and command BOs (not modelled
 * beyond the trace) and, in 7.0, the HW fence reference amdxdna_fence_create took ("Fix
 * dma_fence leak when job is canceled", amdxdna_ctx.c @1aa82181). The 6.18 snapshot drops it
 * only in aie2_sched_notify, so a job that never reaches the response handler leaks it (F2).
 * `name` is the hwctx name (the drm_dep conversion's release cannot reach the hwctx).
 */
export function amdxdna_sched_job_cleanup(job: amdxdna_sched_job_common, name: string, era: xdna_era): void {
  const k = job.kernel;
  if (k.trace.enabled) k.tp('amdxdna_debug_point', { name, seq: job.seq, str: 'job release' });
  if (era === '7.0') dma_fence_put(job.fence);
}

/** trace_xdna_job (include/trace/events/amdxdna.h). */
export function trace_xdna_job(k: Kernel, name: string, str: string, seq: number): void {
  if (k.trace.enabled) k.tp('amdxdna_xdna_job', { name, str, seq });
}

/* ------------------------------------------------------------------------------------------ */
/* The binding interface                                                                         */

/**
 * What each binding provides to the ioctl layer: dev_info->ops of amdxdna (aie2_hwctx_init,
 * aie2_hwctx_fini, aie2_cmd_submit) plus the job allocation and the device teardown barrier.
 */
export interface aie2_binding {
  readonly name: 'drm_sched' | 'drm_dep';
  /** A zeroed job (the binding's struct amdxdna_sched_job), kzalloc'ed; null on -ENOMEM. */
  job_alloc(k: Kernel): amdxdna_sched_job_common | null;
  /** aie2_hwctx_init, under dev_lock. Returns 0 or a negative errno. Does not sleep (README). */
  hwctx_init(hwctx: amdxdna_hwctx): number;
  /** aie2_hwctx_fini, called with dev_lock held (7.0 on drm_sched drops it while jobs drain). May sleep. */
  hwctx_fini(hwctx: amdxdna_hwctx): Sleepable;
  /**
   * aie2_cmd_submit: returns 0 with job.seq set and a new reference to the out fence in
   * `out.fence`, or a negative errno (the job is then still the caller's to free).
   */
  cmd_submit(hwctx: amdxdna_hwctx, job: amdxdna_sched_job_common, out: { fence: dma_fence | null }): Sleepable<number>;
  /** The fence context of the hwctx's out fences (to tell same-context dependencies apart). */
  out_fence_context(hwctx: amdxdna_hwctx): number;
  /**
   * After every hwctx is gone, before the device fini; called without dev_lock, which a
   * timeout handler still running may need (drm_dep: the unload barrier, README D7).
   */
  device_fini(xdna: amdxdna_dev): Sleepable;
}

