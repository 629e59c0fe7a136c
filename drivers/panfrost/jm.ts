/**
 * What both panfrost bindings share unchanged: the device, the job slots' software state
 * (pfdev->jobs, the per-slot fence timelines), job submission to the JOB registers, the JOB
 * interrupt (hard handler + IRQ thread) with its done/error/requeue logic, the hardware half of
 * the reset, and the JM contexts. Follows drivers/gpu/drm/panfrost/panfrost_job.c of the JM
 * context era (intel-lab-lkp/linux @02fb92aa960c: JM contexts with priorities; 7.0 renames
 * panfrost_job_{init,fini,open,close,...} to panfrost_jm_*, unchanged otherwise), with
 * panfrost_device.c's panfrost_device_reset and panfrost_drv.c's submit ioctl (uapi.ts).
 * The binding (on-sched.ts / on-dep-hw.ts) supplies everything that touches a job scheduler
 * through PanfrostBinding.
 *
 * Not modelled: runtime PM and devfreq (their get/put pairs are no-ops), the MMU (address
 * spaces are free), the cycle counter and profiling, core dumps, BOs and implicit fences.
 */
import {
  alloc_ordered_workqueue, cancel_work_sync, destroy_workqueue, dma_fence, dma_fence_init, dma_fence_put,
  dma_fence_set_error, dma_fence_signal_locked, dma_fence_free, EINVAL, ECANCELED, flush_workqueue, fsleep, GFP_KERNEL,
  INIT_WORK, kfree, kmalloc, kref, kref_get, kref_put, mutex_init, queue_work, spin_lock, spin_lock_init, spin_unlock,
  WQ_HIGHPRI, WQ_MEM_RECLAIM,
  type Allocation, type dma_fence_ops, type irq_line, type Kernel, type mutex, type Sleepable, type spinlock_t,
  type work_struct, type workqueue_struct,
} from '@deplab/sim';
import {
  DRM_PANFROST_EXCEPTION_JOB_BUS_FAULT, DRM_PANFROST_EXCEPTION_STOPPED,
  DRM_PANFROST_EXCEPTION_TERMINATED, JOB_INT_ALL, JOB_INT_MASK_DONE, JOB_INT_MASK_ERR, JS_COMMAND_HARD_STOP_0,
  JS_COMMAND_HARD_STOP_1, JS_COMMAND_NOP, JS_COMMAND_SOFT_STOP, JS_COMMAND_START, JS_CONFIG_JOB_CHAIN_FLAG,
  MK_JS_MASK, NUM_JOB_SLOTS, job_read, job_write, js_read, js_write, panfrost_exception_is_fault, panfrost_hw,
  panfrost_hw_set_irq, panfrost_hw_soft_reset, type panfrost_chain,
} from './hw.ts';
import type { JobHwStartTrace } from '@deplab/driver-api';

/** JOB_TIMEOUT_MS (panfrost_job.c). */
export const JOB_TIMEOUT_MS = 500;
/** MAX_JM_CTX_PER_FILE (panfrost_job.c). */
export const MAX_JM_CTX_PER_FILE = 64;
/** PANFROST_JD_REQ_FS (uapi): a fragment job, JS0. */
export const PANFROST_JD_REQ_FS = 1 << 0;
/** enum drm_panfrost_jm_ctx_priority (uapi). */
export const PANFROST_JM_CTX_PRIORITY_LOW = 0;
export const PANFROST_JM_CTX_PRIORITY_MEDIUM = 1;
export const PANFROST_JM_CTX_PRIORITY_HIGH = 2;
/** enum drm_sched_priority values; drm_dep_hw's DRM_DEP_HW_PRIORITY_* are the same numbers. */
export const SCHED_PRIORITY_HIGH = 1;
export const SCHED_PRIORITY_NORMAL = 2;
export const SCHED_PRIORITY_LOW = 3;

/** The driver's job, whichever scheduler object it extends (struct panfrost_job). */
export interface PanfrostJob {
  readonly pfdev: panfrost_device;
  /** The JM context (a reference from submit until the job's cleanup). */
  ctx: panfrost_jm_ctx | null;
  /** The job chain's GPU address; 0 once done (so a reset does not run it again). */
  jc: number;
  readonly requirements: number;
  readonly chain: panfrost_chain;
  /** The fence the IRQ handler signals (job->done_fence). */
  done_fence: panfrost_fence | null;
  /** The scheduler's finished fence (job->render_done_fence), the submit's out-fence. */
  render_done_fence: dma_fence | null;
}

/** What panfrost does differently on each job scheduler (on-sched.ts / on-dep-hw.ts). */
export interface PanfrostBinding {
  readonly name: 'drm_sched' | 'drm_dep_hw';
  /** Flags of the "panfrost-reset" workqueue (the TDR workqueue of every slot). */
  readonly reset_wq_flags: number;
  /** The scheduler half of panfrost_jm_init: one scheduler (ring) per job slot. */
  jm_init(pfdev: panfrost_device): number;
  /** The scheduler half of panfrost_jm_fini. */
  jm_fini(pfdev: panfrost_device): Sleepable;
  /** The per-slot entities (queues) of a new JM context at drm_sched priority `priority`. */
  ctx_init(ctx: panfrost_jm_ctx, priority: number): number;
  /** JM_CTX_DESTROY, after the in-flight hard-stops. */
  ctx_destroyed(ctx: panfrost_jm_ctx): void;
  /** The context's last reference is gone (panfrost_jm_ctx_release); process context. */
  ctx_release(ctx: panfrost_jm_ctx): Sleepable;
  /** Is `job` a job of `ctx` on slot `slot` (the in-flight kill's test)? */
  job_of_ctx(job: PanfrostJob, ctx: panfrost_jm_ctx, slot: number): boolean;
  job_alloc(pfdev: panfrost_device, chain: panfrost_chain, requirements: number): PanfrostJob | null;
  /** drm_sched_job_init / drm_dep_hw_job_init on the context's entity (queue) of `slot`. */
  job_init(job: PanfrostJob, ctx: panfrost_jm_ctx, slot: number, client_id: number): number;
  job_add_dependency(job: PanfrostJob, fence: dma_fence): number;
  /** panfrost_job_push: arm, render_done_fence, panfrost_job_record_armed, push (under pfdev->sched_lock). */
  job_push(job: PanfrostJob): number;
  /** The error path of the submit ioctl after job_init (drm_sched_job_cleanup or the drm_dep put). */
  job_cleanup(job: PanfrostJob): void;
  /** The submit ioctl's reference (panfrost_job_put). */
  job_put(job: PanfrostJob): void;
  /** drm_sched_fault / drm_dep_hw_ring_fault on `slot`'s scheduler. */
  fault(pfdev: panfrost_device, slot: number): void;
  /** panfrost_reset(pfdev, bad): the schedulers' stop/resubmit/start around panfrost_reset_hw. */
  reset(pfdev: panfrost_device, bad: PanfrostJob | null): Sleepable;
}

/* ------------------------------------------------------------------------------------------ */
/* Fences                                                                                       */

/** struct panfrost_fence: a dma_fence on the slot's timeline, lock js->job_lock. */
export class panfrost_fence extends dma_fence {
  alloc: Allocation | null = null;
  queue = 0;
}

const panfrost_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'panfrost',
  get_timeline_name: (fence) => `panfrost-js-${(fence as panfrost_fence).queue}`,
  release(fence: dma_fence): void {
    const f = fence as panfrost_fence;
    kfree(f.kernel, f.alloc);
    f.alloc = null;
    dma_fence_free(f);
  },
};

/** The memory of a done fence (kzalloc; GFP_KERNEL: process context only). Null on failure. */
export function panfrost_fence_alloc(k: Kernel): panfrost_fence | null {
  const alloc = kmalloc(k, 64, GFP_KERNEL, 'panfrost_fence');
  if (alloc === null) return null;
  const fence = new panfrost_fence(k, 'panfrost_fence');
  fence.alloc = alloc;
  return fence;
}

/** dma_fence_init of a done fence on slot `js_num`'s timeline (panfrost_fence_create's second half). */
export function panfrost_fence_init(pfdev: panfrost_device, fence: panfrost_fence, js_num: number): void {
  fence.queue = js_num;
  const q = pfdev.js.queue[js_num];
  dma_fence_init(fence, panfrost_fence_ops, pfdev.js.job_lock, q.fence_context, ++q.emit_seqno);
}

/* ------------------------------------------------------------------------------------------ */
/* Device                                                                                       */

/** struct panfrost_queue_state (the scheduler itself lives in the binding's state). */
export class panfrost_queue_state {
  fence_context = 0;
  emit_seqno = 0;
}

/** struct panfrost_job_slot. */
export class panfrost_job_slot {
  readonly queue: panfrost_queue_state[] = [];
  readonly job_lock: spinlock_t;

  constructor(k: Kernel) {
    for (let i = 0; i < NUM_JOB_SLOTS; i++) this.queue.push(new panfrost_queue_state());
    this.job_lock = spin_lock_init(k, '&js->job_lock');
  }
}

export interface PanfrostOptions {
  /** HW_FEATURE_JOBCHAIN_DISAMBIGUATION: two jobs per slot (credit_limit 2), else one. */
  readonly jobchain_disambiguation: boolean;
  /** HW_ISSUE_TTRX_3076: a JOB_BUS_FAULT needs a GPU reset. */
  readonly bus_fault_needs_reset: boolean;
}

export class panfrost_device {
  readonly kernel: Kernel;
  readonly hw: panfrost_hw;
  readonly binding: PanfrostBinding;
  readonly options: PanfrostOptions;
  readonly js: panfrost_job_slot;
  /** pfdev->jobs[slot][0..1]: the jobs on each slot (current, next). */
  readonly jobs: (PanfrostJob | null)[][] = [];
  readonly sched_lock: mutex;
  readonly reset: { pending: boolean; wq: workqueue_struct | null; work: work_struct };
  readonly irq: irq_line;
  /** The threaded handler (process context; modelled as a high-priority ordered workqueue). */
  readonly irq_thread_wq: workqueue_struct;
  readonly irq_work: work_struct;
  /** PANFROST_COMP_BIT_JOB of pfdev->is_suspended. */
  job_irq_suspended = false;
  /** The binding's per-slot scheduler objects. */
  readonly slots: unknown[] = [];
  /** The binding's device-wide state (drm_dep_hw: the drm_dep device of the unload barrier). */
  binding_data: unknown = null;
  /** deplab_job_hw_start bookkeeping while tracing (set by the harness device; jobs recorded at arm). */
  hw_start: JobHwStartTrace<panfrost_chain> | null = null;
  unplugged = false;

  constructor(kernel: Kernel, binding: PanfrostBinding, options: PanfrostOptions) {
    this.kernel = kernel;
    this.binding = binding;
    this.options = options;
    this.hw = new panfrost_hw(kernel);
    this.js = new panfrost_job_slot(kernel);
    for (let i = 0; i < NUM_JOB_SLOTS; i++) this.jobs.push([null, null]);
    this.sched_lock = mutex_init(kernel, '&pfdev->sched_lock');
    this.reset = { pending: false, wq: null, work: INIT_WORK(kernel, panfrost_reset_work, 'panfrost_reset_work', this) };
    this.irq = kernel.request_irq('panfrost-job', this, panfrost_job_irq_handler);
    this.irq_thread_wq = alloc_ordered_workqueue(kernel, 'irq/panfrost-job', WQ_HIGHPRI | WQ_MEM_RECLAIM);
    this.irq_work = INIT_WORK(kernel, panfrost_job_irq_handler_thread, 'panfrost_job_irq_handler_thread', this);
  }
}

/** The credit limit of each slot's scheduler (panfrost_jm_init). */
export function panfrost_slot_credit_limit(pfdev: panfrost_device): number {
  return pfdev.options.jobchain_disambiguation ? 2 : 1;
}

/**
 * panfrost_jm_init: the reset workqueue, the JOB interrupt, the binding's schedulers, the
 * interrupt enabled. Process context. Returns 0 or the binding's error.
 */
export function panfrost_jm_init(pfdev: panfrost_device): number {
  const k = pfdev.kernel;
  pfdev.reset.wq = alloc_ordered_workqueue(k, 'panfrost-reset', pfdev.binding.reset_wq_flags);
  panfrost_hw_set_irq(pfdev.hw, pfdev.irq);
  for (let j = 0; j < NUM_JOB_SLOTS; j++) pfdev.js.queue[j].fence_context = k.dma_fence_context_alloc(1);
  const ret = pfdev.binding.jm_init(pfdev);
  if (ret !== 0) return ret;
  panfrost_jm_enable_interrupts(pfdev);
  return 0;
}

export function panfrost_jm_enable_interrupts(pfdev: panfrost_device): void {
  pfdev.job_irq_suspended = false;
  job_write(pfdev.hw, 'JOB_INT_CLEAR', JOB_INT_ALL);
  job_write(pfdev.hw, 'JOB_INT_MASK', JOB_INT_ALL);
}

/** panfrost_jm_fini: mask the interrupt, the binding's scheduler teardown, the reset work and workqueue. */
export function* panfrost_jm_fini(pfdev: panfrost_device): Sleepable {
  job_write(pfdev.hw, 'JOB_INT_MASK', 0);
  yield* pfdev.binding.jm_fini(pfdev);
  yield* cancel_work_sync(pfdev.reset.work);
  yield* destroy_workqueue(pfdev.reset.wq!);
}

/* ------------------------------------------------------------------------------------------ */
/* Submission to the job slots                                                                  */

/** panfrost_job_get_slot: JS0 fragment jobs, JS1 vertex/tiler (and compute). */
export function panfrost_job_get_slot(job: PanfrostJob): number {
  return (job.requirements & PANFROST_JD_REQ_FS) !== 0 ? 0 : 1;
}

/** panfrost_get_job_chain_flag: alternate the chain flag by done-fence seqno (JOBCHAIN_DISAMBIGUATION). */
function panfrost_get_job_chain_flag(job: PanfrostJob): number {
  if (!job.pfdev.options.jobchain_disambiguation) return 0;
  return (job.done_fence!.seqno & 1) !== 0 ? JS_CONFIG_JOB_CHAIN_FLAG : 0;
}

/** panfrost_dequeue_job: take the current job of `slot`; the next one becomes current. job_lock held. */
function panfrost_dequeue_job(pfdev: panfrost_device, slot: number): PanfrostJob | null {
  const job = pfdev.jobs[slot][0];
  pfdev.kernel.WARN_ON(job === null, 'panfrost_dequeue_job', `js${slot}: no job to dequeue`);
  pfdev.jobs[slot][0] = pfdev.jobs[slot][1];
  pfdev.jobs[slot][1] = null;
  return job;
}

/** panfrost_enqueue_job: returns the subslot (0 current, 1 next). job_lock held. */
function panfrost_enqueue_job(pfdev: panfrost_device, slot: number, job: PanfrostJob): number {
  const k = pfdev.kernel;
  if (pfdev.jobs[slot][0] === null) {
    pfdev.jobs[slot][0] = job;
    return 0;
  }
  k.WARN_ON(pfdev.jobs[slot][1] !== null, 'panfrost_enqueue_job', `js${slot}: both entries busy`);
  pfdev.jobs[slot][1] = job;
  k.WARN_ON(panfrost_get_job_chain_flag(job) === panfrost_get_job_chain_flag(pfdev.jobs[slot][0]!), 'panfrost_enqueue_job', `js${slot}: same job-chain flag twice`);
  return 1;
}

/**
 * panfrost_job_hw_submit: write the chain to JS_HEAD_NEXT and, unless a reset is pending, START
 * it. Returns 0 or -EINVAL (JS_COMMAND_NEXT still busy: the scheduler gave the slot a third job).
 * Runs from run_job (a dma-fence signalling section): no allocation.
 */
export function panfrost_job_hw_submit(job: PanfrostJob, js: number): number {
  const pfdev = job.pfdev;
  const k = pfdev.kernel;
  if (k.WARN_ON(js_read(pfdev.hw, js, 'JS_COMMAND_NEXT') !== 0, 'panfrost_job_hw_submit', `js${js}: JS_COMMAND_NEXT busy`)) return -EINVAL;
  k.spend(k.cost_of('panfrost.run_job_ns', 800));
  js_write(pfdev.hw, js, 'JS_HEAD_NEXT', job.jc);
  js_write(pfdev.hw, js, 'JS_CONFIG_NEXT', panfrost_get_job_chain_flag(job));
  spin_lock(pfdev.js.job_lock);
  panfrost_enqueue_job(pfdev, js, job);
  if (!pfdev.reset.pending) js_write(pfdev.hw, js, 'JS_COMMAND_NEXT', JS_COMMAND_START);
  spin_unlock(pfdev.js.job_lock);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The JOB interrupt                                                                            */

/** panfrost_job_handle_err: a failed (or stopped) job. job_lock held. */
function panfrost_job_handle_err(pfdev: panfrost_device, job: PanfrostJob, js: number): void {
  const k = pfdev.kernel;
  const js_status = js_read(pfdev.hw, js, 'JS_STATUS');
  let signal_fence = true;
  k.tp('panfrost_js_event', { js, status: js_status });
  if (js_status === DRM_PANFROST_EXCEPTION_STOPPED) {
    job.jc = js_read(pfdev.hw, js, 'JS_TAIL'); // resumed from where it stopped
    signal_fence = false;
  } else if (js_status === DRM_PANFROST_EXCEPTION_TERMINATED) {
    dma_fence_set_error(job.done_fence!, -ECANCELED);
    job.jc = 0;
  } else if (panfrost_exception_is_fault(js_status)) {
    dma_fence_set_error(job.done_fence!, -EINVAL);
    job.jc = 0;
  }
  if (signal_fence) dma_fence_signal_locked(job.done_fence!);
  if (js_status === DRM_PANFROST_EXCEPTION_JOB_BUS_FAULT && pfdev.options.bus_fault_needs_reset) {
    pfdev.reset.pending = true;
    pfdev.binding.fault(pfdev, js);
  }
}

/** panfrost_job_handle_done. job_lock held. */
function panfrost_job_handle_done(job: PanfrostJob): void {
  job.jc = 0; // a DONE during a reset must not run again
  dma_fence_signal_locked(job.done_fence!);
}

/** panfrost_job_handle_irq: collect done/failed jobs, then handle them, then requeue. job_lock held. */
function panfrost_job_handle_irq(pfdev: panfrost_device, status: number): void {
  const hw = pfdev.hw;
  const done: (PanfrostJob | null)[][] = Array.from({ length: NUM_JOB_SLOTS }, () => [null, null]);
  const failed: (PanfrostJob | null)[] = Array.from({ length: NUM_JOB_SLOTS }, () => null);
  let js_state = 0, js_events = 0;
  for (let guard = 0; status !== 0 && guard < 16; guard++) {
    let js_state_mask = 0;
    for (let j = 0; j < NUM_JOB_SLOTS; j++) {
      if ((status & MK_JS_MASK(j)) !== 0) js_state_mask |= MK_JS_MASK(j);
      if ((status & JOB_INT_MASK_DONE(j)) !== 0) {
        if (done[j][0] !== null) done[j][1] = panfrost_dequeue_job(pfdev, j);
        else done[j][0] = panfrost_dequeue_job(pfdev, j);
      }
      if ((status & JOB_INT_MASK_ERR(j)) !== 0) {
        // Cancel the next submission; requeued below unless a reset is pending.
        js_write(hw, j, 'JS_COMMAND_NEXT', JS_COMMAND_NOP);
        failed[j] = panfrost_dequeue_job(pfdev, j);
      }
    }
    job_write(hw, 'JOB_INT_CLEAR', status);
    js_state &= ~js_state_mask;
    js_state |= job_read(hw, 'JOB_INT_JS_STATE') & js_state_mask;
    js_events |= status;
    status = job_read(hw, 'JOB_INT_RAWSTAT');
  }
  for (let j = 0; j < NUM_JOB_SLOTS; j++) {
    if ((js_events & MK_JS_MASK(j)) === 0) continue;
    if (failed[j] !== null) {
      panfrost_job_handle_err(pfdev, failed[j]!, j);
    } else if (pfdev.jobs[j][0] !== null && (js_state & MK_JS_MASK(j)) === 0) {
      // Both entries inactive but a job left: the JM ran the next job without an interrupt we saw.
      if (pfdev.kernel.WARN_ON(done[j][0] === null, 'panfrost_job_handle_irq', `js${j}: inactive slot with a job and no DONE`)) done[j][0] = panfrost_dequeue_job(pfdev, j);
      else done[j][1] = panfrost_dequeue_job(pfdev, j);
    }
    for (let i = 0; i < 2 && done[j][i] !== null; i++) panfrost_job_handle_done(done[j][i]!);
  }
  for (let j = 0; j < NUM_JOB_SLOTS; j++) {
    if ((js_events & MK_JS_MASK(j)) === 0 || failed[j] === null || pfdev.jobs[j][0] === null) continue;
    if (pfdev.jobs[j][0]!.jc === 0) {
      // Cancelled (hard-stopped behind the failure): signal it now.
      const canceled = panfrost_dequeue_job(pfdev, j)!;
      dma_fence_set_error(canceled.done_fence!, -ECANCELED);
      panfrost_job_handle_done(canceled);
    } else if (!pfdev.reset.pending) {
      js_write(hw, j, 'JS_COMMAND_NEXT', JS_COMMAND_START);
    }
  }
}

/** panfrost_job_handle_irqs: until RAWSTAT is clear. Process context (the IRQ thread, or the reset). */
export function panfrost_job_handle_irqs(pfdev: panfrost_device): void {
  const k = pfdev.kernel;
  let status = job_read(pfdev.hw, 'JOB_INT_RAWSTAT');
  for (let guard = 0; status !== 0 && guard < 64; guard++) {
    k.spend(k.cost_of('panfrost.irq_thread_ns', 1_000));
    spin_lock(pfdev.js.job_lock);
    panfrost_job_handle_irq(pfdev, status);
    spin_unlock(pfdev.js.job_lock);
    status = job_read(pfdev.hw, 'JOB_INT_RAWSTAT');
  }
}

/** panfrost_job_irq_handler: the hard handler masks the interrupt and wakes the thread. Hardirq. */
function panfrost_job_irq_handler(pfdev: panfrost_device): void {
  const k = pfdev.kernel;
  if (pfdev.job_irq_suspended) return;
  if (job_read(pfdev.hw, 'JOB_INT_STAT') === 0) return;
  k.spend(k.cost_of('panfrost.irq_ns', 300));
  job_write(pfdev.hw, 'JOB_INT_MASK', 0);
  queue_work(pfdev.irq_thread_wq, pfdev.irq_work);
}

/** panfrost_job_irq_handler_thread: handle, then unmask unless suspending. */
function panfrost_job_irq_handler_thread(work: work_struct): void {
  const pfdev = work.owner as panfrost_device;
  panfrost_job_handle_irqs(pfdev);
  if (!pfdev.job_irq_suspended) job_write(pfdev.hw, 'JOB_INT_MASK', JOB_INT_ALL);
}

/** synchronize_irq(js->irq): wait until the threaded handler is idle. May sleep. */
export function* panfrost_synchronize_irq(pfdev: panfrost_device): Sleepable {
  yield* flush_workqueue(pfdev.irq_thread_wq);
}

/* ------------------------------------------------------------------------------------------ */
/* Reset: the hardware half                                                                     */

/** panfrost_active_slots: slots still active, ignoring those with an interrupt pending. */
function panfrost_active_slots(pfdev: panfrost_device, mask: { v: number }, js_state: number): number {
  if ((js_state & mask.v) === 0) return 0;
  const rawstat = job_read(pfdev.hw, 'JOB_INT_RAWSTAT');
  for (let i = 0; i < NUM_JOB_SLOTS; i++) if ((rawstat & MK_JS_MASK(i)) !== 0) mask.v &= ~MK_JS_MASK(i);
  return js_state & mask.v;
}

/**
 * The middle of panfrost_reset, between the schedulers' stop and their resubmit: mask the
 * interrupt, cancel the next jobs and soft-stop the running ones (waiting at most 10 ms), handle
 * what the slots reported, forget pfdev->jobs, reset the GPU, clear reset.pending. Inside the
 * caller's dma-fence signalling section; sleeps (polls). The interrupt stays masked.
 */
export function* panfrost_reset_hw(pfdev: panfrost_device): Sleepable {
  const k = pfdev.kernel;
  const hw = pfdev.hw;
  job_write(hw, 'JOB_INT_MASK', 0);
  yield* panfrost_synchronize_irq(pfdev);
  for (let i = 0; i < NUM_JOB_SLOTS; i++) {
    js_write(hw, i, 'JS_COMMAND_NEXT', JS_COMMAND_NOP);
    js_write(hw, i, 'JS_COMMAND', JS_COMMAND_SOFT_STOP);
  }
  // readl_poll_timeout(JOB_INT_JS_STATE, ..., 10, 10000)
  const mask = { v: 0xffffffff };
  let waited_us = 0;
  while (panfrost_active_slots(pfdev, mask, job_read(hw, 'JOB_INT_JS_STATE')) !== 0 && waited_us < 10_000) {
    yield* fsleep(k, 10);
    waited_us += 10;
  }
  if (waited_us >= 10_000) k.tp('panfrost_dev_err', { message: 'Soft-stop failed' });
  panfrost_job_handle_irqs(pfdev);
  spin_lock(pfdev.js.job_lock);
  for (const entries of pfdev.jobs) entries.fill(null);
  spin_unlock(pfdev.js.job_lock);
  yield* panfrost_device_reset(pfdev);
  job_write(hw, 'JOB_INT_MASK', 0); // panfrost_device_reset unmasked it; keep it masked a bit longer
  pfdev.reset.pending = false;
}

/** panfrost_device_reset: soft reset (the poll sleeps for the reset time), power on, interrupts back on. */
export function* panfrost_device_reset(pfdev: panfrost_device): Sleepable {
  const k = pfdev.kernel;
  panfrost_hw_soft_reset(pfdev.hw);
  yield* fsleep(k, Math.ceil(k.cost_of('panfrost.gpu_reset_ns', 500_000) / 1000));
  panfrost_jm_enable_interrupts(pfdev);
}

/** panfrost_reset_work: a reset requested outside a timeout (bad job: none). Reset workqueue. */
function* panfrost_reset_work(work: work_struct): Sleepable {
  const pfdev = work.owner as panfrost_device;
  if (!pfdev.reset.pending) return;
  yield* pfdev.binding.reset(pfdev, null);
}

/** Queue a GPU reset (what the MMU fault path does). Any context. */
export function panfrost_device_schedule_reset(pfdev: panfrost_device): void {
  pfdev.reset.pending = true;
  queue_work(pfdev.reset.wq!, pfdev.reset.work);
}

/** The interrupt's unmask at the end of panfrost_reset. */
export function panfrost_reset_done(pfdev: panfrost_device): void {
  job_write(pfdev.hw, 'JOB_INT_MASK', JOB_INT_ALL);
}

/* ------------------------------------------------------------------------------------------ */
/* JM contexts                                                                                  */

/** struct panfrost_file_priv (the part the job code uses). */
export class panfrost_file_priv {
  readonly pfdev: panfrost_device;
  readonly client_id: number;
  /** jm_ctxs: handle -> context (XA_FLAGS_ALLOC). */
  readonly jm_ctxs = new Map<number, panfrost_jm_ctx>();

  constructor(pfdev: panfrost_device, client_id: number) {
    this.pfdev = pfdev;
    this.client_id = client_id;
  }
}

/** struct panfrost_jm_ctx. */
export class panfrost_jm_ctx {
  readonly pfdev: panfrost_device;
  readonly refcnt: kref;
  destroyed = false;
  handle = -1;
  priority = SCHED_PRIORITY_NORMAL;
  /** The binding's entity (queue) per slot. */
  readonly slot_entity: unknown[] = [];
  /** Lifetime tracker id. */
  readonly id: number;

  constructor(pfdev: panfrost_device) {
    this.pfdev = pfdev;
    this.refcnt = new kref(pfdev.kernel, 'panfrost_jm_ctx');
    this.id = pfdev.kernel.lifetime.track('panfrost_jm_ctx', 'jm_ctx');
  }
}

export function panfrost_jm_ctx_get(ctx: panfrost_jm_ctx): panfrost_jm_ctx {
  kref_get(ctx.refcnt);
  return ctx;
}

function* panfrost_jm_ctx_release(ctx: panfrost_jm_ctx): Sleepable {
  ctx.pfdev.kernel.WARN_ON(!ctx.destroyed, 'panfrost_jm_ctx_release', 'context released before JM_CTX_DESTROY');
  yield* ctx.pfdev.binding.ctx_release(ctx);
}

/** panfrost_jm_ctx_put from process context (the ioctls, postclose): the release runs here. */
export function* panfrost_jm_ctx_put_sleepable(ctx: panfrost_jm_ctx): Sleepable {
  if (kref_put(ctx.refcnt, () => {})) yield* panfrost_jm_ctx_release(ctx);
}

/**
 * panfrost_jm_ctx_put from the job cleanup (the schedulers' free and release paths, plain
 * functions in the models): a last reference releases the context inline, as upstream. The
 * release only waits for work the context no longer has (its entities are idle once its last
 * job is freed); should it have to wait, the model cannot, and says so (model_error).
 */
export function panfrost_jm_ctx_put(ctx: panfrost_jm_ctx | null): void {
  if (ctx === null) return;
  kref_put(ctx.refcnt, () => {
    const release = panfrost_jm_ctx_release(ctx);
    if (release.next().done !== true) {
      ctx.pfdev.kernel.violation('model_error', 'panfrost_jm_ctx_release', 'the context release would sleep in a path the model runs without sleeping: left unfinished');
    }
  });
}

/** The context's memory (kfree(jm_ctx)), after the binding released its scheduler objects. */
export function panfrost_jm_ctx_free(ctx: panfrost_jm_ctx): void {
  ctx.pfdev.kernel.lifetime.free(ctx.id, 'panfrost_jm_ctx_release');
}

/** jm_ctx_prio_to_drm_sched_prio; HIGH needs CAP_SYS_NICE or DRM master (`high_allowed`). */
function jm_ctx_prio_to_drm_sched_prio(priority: number, high_allowed: boolean): number {
  switch (priority) {
    case PANFROST_JM_CTX_PRIORITY_LOW: return SCHED_PRIORITY_LOW;
    case PANFROST_JM_CTX_PRIORITY_MEDIUM: return SCHED_PRIORITY_NORMAL;
    case PANFROST_JM_CTX_PRIORITY_HIGH: return high_allowed ? SCHED_PRIORITY_HIGH : -13; // -EACCES
    default: return -EINVAL;
  }
}

/** panfrost_jm_ctx_create: returns the handle, or a negative errno. Process context. */
export function panfrost_jm_ctx_create(file: panfrost_file_priv, priority: number, high_allowed: boolean): number {
  const pfdev = file.pfdev;
  const prio = jm_ctx_prio_to_drm_sched_prio(priority, high_allowed);
  if (prio < 0) return prio;
  const ctx = new panfrost_jm_ctx(pfdev);
  ctx.refcnt.refcount = 1;
  ctx.priority = prio;
  let ret = pfdev.binding.ctx_init(ctx, prio);
  if (ret === 0) {
    let handle = 0;
    while (file.jm_ctxs.has(handle)) handle++;
    if (handle > MAX_JM_CTX_PER_FILE) ret = -16; // -EBUSY from xa_alloc's limit
    else {
      ctx.handle = handle;
      file.jm_ctxs.set(handle, ctx);
      return handle;
    }
  }
  ctx.destroyed = true;
  panfrost_jm_ctx_put(ctx);
  return ret;
}

/** panfrost_jm_ctx_from_handle: a new reference, or null. */
export function panfrost_jm_ctx_from_handle(file: panfrost_file_priv, handle: number): panfrost_jm_ctx | null {
  const ctx = file.jm_ctxs.get(handle);
  return ctx === undefined ? null : panfrost_jm_ctx_get(ctx);
}

/**
 * panfrost_jm_ctx_destroy: mark it destroyed, hard-stop its jobs on the slots (cancelling the one
 * queued in NEXT first), let the binding act, drop the table's reference. Process context.
 * Returns 0 or -EINVAL.
 */
export function* panfrost_jm_ctx_destroy(file: panfrost_file_priv, handle: number): Sleepable<number> {
  const pfdev = file.pfdev;
  const ctx = file.jm_ctxs.get(handle);
  if (ctx === undefined) return -EINVAL;
  file.jm_ctxs.delete(handle);
  ctx.destroyed = true;
  spin_lock(pfdev.js.job_lock);
  for (let i = 0; i < NUM_JOB_SLOTS; i++) {
    for (let j = 1; j >= 0; j--) {
      const job = pfdev.jobs[i][j];
      if (job === null || !pfdev.binding.job_of_ctx(job, ctx, i)) continue;
      if (j === 1) {
        js_write(pfdev.hw, i, 'JS_COMMAND_NEXT', JS_COMMAND_NOP);
        job.jc = 0; // not restarted if the first entry fails
      }
      const cmd = pfdev.options.jobchain_disambiguation
        ? (panfrost_get_job_chain_flag(job) !== 0 ? JS_COMMAND_HARD_STOP_1 : JS_COMMAND_HARD_STOP_0)
        : 0x03; // JS_COMMAND_HARD_STOP
      js_write(pfdev.hw, i, 'JS_COMMAND', cmd);
    }
  }
  spin_unlock(pfdev.js.job_lock);
  pfdev.binding.ctx_destroyed(ctx);
  yield* panfrost_jm_ctx_put_sleepable(ctx);
  return 0;
}

/**
 * deplab_job_hw_start: the armed job's out-fence (render_done_fence, the finished fence) keys its
 * chain's first start. Both bindings call it between arm and push (drm_dep may run the job from
 * inside the push).
 */
export function panfrost_job_record_armed(job: PanfrostJob): void {
  job.pfdev.hw_start?.armed(job.chain, job.render_done_fence!);
}

/** The part of panfrost_job_cleanup both bindings share: the fences and the context reference. */
export function panfrost_job_cleanup_common(job: PanfrostJob): void {
  const done = job.done_fence;
  if (done !== null && done.id < 0) {
    kfree(done.kernel, done.alloc); // preallocated, never initialised (the job never ran)
    done.alloc = null;
  } else {
    dma_fence_put(done);
  }
  job.done_fence = null;
  dma_fence_put(job.render_done_fence);
  job.render_done_fence = null;
  panfrost_jm_ctx_put(job.ctx);
  job.ctx = null;
}
