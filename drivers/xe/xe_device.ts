/**
 * The parts of the xe driver that neither binding changes: device, GT and GuC structures with
 * their workqueues (xe_device.c, xe_gt.c), the interrupt top half (xe_irq.c), the GuC CT
 * channel (xe_guc_ct.c: H2G send, G2H worker and its IRQ fast path), hardware fences
 * (xe_hw_fence.c) and TLB-invalidation fences (xe_tlb_inval.c). None of it touches a
 * scheduler: the G2H messages about exec queues are handed to the handlers of
 * xe_guc_submit.ts.
 *
 * The only thing a binding chooses here is `wq_reclaim_flags`: the drm_dep conversion's patch
 * 03 adds WQ_MEM_WARN_ON_RECLAIM to every xe workqueue in the reclaim path [I: which ones:
 * gt->ordered_wq (TDR, GT reset), xe-g2h-wq, xe-preempt-fence-wq, gt-tlb-inval-job-wq; not
 * xe->destroy_wq nor xe->ordered_wq].
 */
import {
  EINVAL, ENODEV, GFP_KERNEL, INIT_WORK, WQ_MEM_RECLAIM, alloc_ordered_workqueue, alloc_workqueue,
  dma_fence, dma_fence_begin_signalling, dma_fence_end_signalling, dma_fence_free, dma_fence_get, dma_fence_init,
  dma_fence_is_signaled_locked, dma_fence_put, dma_fence_signal, dma_fence_set_error, dma_fence_enable_sw_signaling,
  dma_resv_fini, dma_resv_init, kfree, kmalloc, kref, kref_get, kref_put, mutex_init, queue_work, spin_lock, spin_lock_init, spin_lock_irqsave,
  spin_unlock, spin_unlock_irqrestore, wait_queue_head, wake_up_all,
  type Allocation, type Callback, type Kernel, type Sleepable, type dma_fence_ops, type dma_resv, type mutex, type spinlock_t,
  type work_struct, type workqueue_struct,
} from '@deplab/sim';
import type { JobHwStartTrace } from '@deplab/driver-api';
import {
  GUC_ACTION_NAMES, XE_ENGINE_CLASS_MAX, XE_ENGINE_CLASS_NAMES, XE_GUC_ACTION_CONTEXT_RESET_NOTIFICATION,
  XE_GUC_ACTION_DEREGISTER_CONTEXT_DONE, XE_GUC_ACTION_NOTIFY_MEMORY_CAT_ERROR, XE_GUC_ACTION_SCHED_CONTEXT_MODE_DONE,
  XE_GUC_ACTION_TLB_INVALIDATION, XE_GUC_ACTION_TLB_INVALIDATION_DONE, XE_IRQ_GUC, xe_hw, type guc_msg, type xe_hw_job,
  type xe_lrc,
} from './hw.ts';

/** Default CPU cost of one H2G write into the CT buffer plus the doorbell MMIO (README). */
export const XE_CT_SEND_NS = 300;

/* ------------------------------------------------------------------------------------------ */
/* Hardware fences (xe_hw_fence.c)                                                               */

/**
 * struct xe_hw_fence_irq: one per engine class of a GT; the lock is every fence's lock.
 *
 * The C irq_work walks the whole pending list on every run. The model finds the same fences
 * faster: a fence can only become signalable when its LRC's seqno moves (hardware), when it
 * gets an error (xe_hw_fence_set_error), or when it is added; so a run examines the fences of
 * the LRCs marked `dirty` since the last run, in enable order, and walks the whole list only
 * after an error was set (`full_walk`). Fences leave `pending` lazily (`off`).
 */
export class xe_hw_fence_irq {
  readonly kernel: Kernel;
  readonly lock: spinlock_t;
  /** Fences with signalling enabled and not yet signalled, in enable order (some `off`: skipped). */
  pending: xe_hw_fence[] = [];
  /** The pending fences of each LRC, in enable order. */
  readonly by_lrc = new Map<xe_lrc, xe_hw_fence[]>();
  /** LRCs whose seqno moved, or that got a fence, since the last run. */
  readonly dirty = new Set<xe_lrc>();
  /** A fence got an error: the next run walks the whole list, as C does every time. */
  full_walk = false;
  /** Fences marked off but still in `pending`. */
  off = 0;
  enable_seq = 0;
  /** irq_work: queued at most once until it runs. */
  work_queued = false;
  readonly work: Callback;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.lock = spin_lock_init(kernel, 'xe_hw_fence_irq.lock');
    this.work = { fn: hw_fence_irq_run_cb, target: this };
  }

  lrc_seqno_moved(lrc: xe_lrc): void {
    if (this.by_lrc.has(lrc)) this.dirty.add(lrc);
  }
}

/** struct xe_hw_fence: a seqno fence on one LRC's timeline, signalled from the fence irq. */
export class xe_hw_fence {
  readonly dma: dma_fence;
  readonly alloc: Allocation;
  lrc: xe_lrc | null = null;
  irq: xe_hw_fence_irq | null = null;
  /** Position on the irq's pending list (enable order), and whether it left it. */
  enable_seq = 0;
  off = false;

  constructor(kernel: Kernel, alloc: Allocation) {
    this.dma = new dma_fence(kernel, 'xe_hw_fence');
    this.dma.owner = this;
    this.alloc = alloc;
  }
}

function to_xe_hw_fence(f: dma_fence): xe_hw_fence {
  return f.owner as xe_hw_fence;
}

/** xe_hw_fence_signaled: an error, or the LRC's status-page seqno has passed the fence. */
function xe_hw_fence_signaled(f: dma_fence): boolean {
  const fence = to_xe_hw_fence(f);
  return f.error !== 0 || fence.lrc!.seqno >= f.seqno;
}

/** xe_hw_fence_enable_signaling: under the fence (irq) lock; the irq list holds a reference. */
function xe_hw_fence_enable_signaling(f: dma_fence): boolean {
  const fence = to_xe_hw_fence(f);
  dma_fence_get(f);
  const irq = fence.irq!, lrc = fence.lrc!;
  fence.enable_seq = ++irq.enable_seq;
  irq.pending.push(fence);
  const list = irq.by_lrc.get(lrc);
  if (list === undefined) irq.by_lrc.set(lrc, [fence]);
  else list.push(fence);
  lrc.seqno_watch = irq;
  irq.dirty.add(lrc);
  xe_hw_fence_irq_run(irq);
  return true;
}

/** xe_hw_fence_release: kmem_cache_free after an RCU grace period (not modelled). */
function xe_hw_fence_release(f: dma_fence): void {
  const fence = to_xe_hw_fence(f);
  dma_fence_free(f);
  kfree(f.kernel, fence.alloc);
}

const xe_hw_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'xe',
  get_timeline_name: (f) => to_xe_hw_fence(f).lrc?.name ?? 'xe',
  enable_signaling: xe_hw_fence_enable_signaling,
  signaled: xe_hw_fence_signaled,
  release: xe_hw_fence_release,
};

/** xe_hw_fence_alloc: GFP_KERNEL (job creation in the ioctl). Null on failure. */
export function xe_hw_fence_alloc(k: Kernel): xe_hw_fence | null {
  const alloc = kmalloc(k, 64, GFP_KERNEL, 'xe_hw_fence');
  return alloc === null ? null : new xe_hw_fence(k, alloc);
}

/** xe_hw_fence_free: a fence that was never initialised (job creation failed or unarmed). */
export function xe_hw_fence_free(fence: xe_hw_fence): void {
  kfree(fence.dma.kernel, fence.alloc);
}

/** xe_hw_fence_init: on the LRC's fence context with `seqno`; one reference (the job's). */
export function xe_hw_fence_init(fence: xe_hw_fence, lrc: xe_lrc, irq: xe_hw_fence_irq, context: number, seqno: number): void {
  fence.lrc = lrc;
  fence.irq = irq;
  dma_fence_init(fence.dma, xe_hw_fence_ops, irq.lock, context, seqno);
}

/** xe_hw_fence_irq_run: queue the irq_work (hardirq soon after). Any context. */
export function xe_hw_fence_irq_run(irq: xe_hw_fence_irq): void {
  if (irq.work_queued) return;
  irq.work_queued = true;
  irq.kernel.call_hardirq_at(irq.kernel.now(), irq.work, 0);
}

/**
 * hw_fence_irq_run_cb (irq_work, hardirq): signal every pending fence whose seqno passed or
 * that carries an error, in enable order, under the irq lock. Since v7.0 (95f27831ee3c) no
 * path stops it: xe_hw_fence_irq_stop/start are gone. Which fences it looks at: see
 * xe_hw_fence_irq.
 */
function hw_fence_irq_run_cb(irq: xe_hw_fence_irq): void {
  irq.work_queued = false;
  const k = irq.kernel;
  const cookie = dma_fence_begin_signalling(k);
  spin_lock(irq.lock);
  if (irq.full_walk) walk_pending(irq, 0);
  else walk_dirty(irq);
  spin_unlock(irq.lock);
  dma_fence_end_signalling(k, cookie);
}

/** Inline of xe_hw_fence_signaled plus an already signalled fence: what the C walk stops at. */
function hw_fence_done(fence: xe_hw_fence): boolean {
  const f = fence.dma;
  return f.error !== 0 || fence.lrc!.seqno >= f.seqno || f.signaled;
}

/** Signal and drop `fence` if it is done (the body of the C list walk). */
function hw_fence_visit(irq: xe_hw_fence_irq, fence: xe_hw_fence): void {
  if (!hw_fence_done(fence) || !dma_fence_is_signaled_locked(fence.dma)) return;
  dma_fence_put(fence.dma);
  fence.off = true;
  irq.off++;
  const list = irq.by_lrc.get(fence.lrc!)!;
  list.splice(list.indexOf(fence), 1);
  if (list.length === 0) irq.by_lrc.delete(fence.lrc!);
}

/** The C walk from the fence after enable position `after` to the end, fences added meanwhile included. */
function walk_pending(irq: xe_hw_fence_irq, after: number): void {
  irq.full_walk = false;
  irq.dirty.clear();
  const list = irq.pending;
  for (let i = 0; i < list.length; i++) {
    const fence = list[i];
    if (!fence.off && fence.enable_seq > after) hw_fence_visit(irq, fence);
  }
  compact_pending(irq, 0);
}

/** The fences of the dirty LRCs that are done, in enable order; then those of LRCs made dirty meanwhile. */
function walk_dirty(irq: xe_hw_fence_irq): void {
  while (irq.dirty.size > 0) {
    const done: xe_hw_fence[] = [];
    for (const lrc of irq.dirty) for (const fence of irq.by_lrc.get(lrc) ?? []) if (hw_fence_done(fence)) done.push(fence);
    irq.dirty.clear();
    done.sort((a, b) => a.enable_seq - b.enable_seq);
    for (const fence of done) {
      if (!fence.off) hw_fence_visit(irq, fence);
      // A callback set an error: from here on, every later fence, as the C walk goes on.
      if (irq.full_walk) { walk_pending(irq, fence.enable_seq); return; }
    }
  }
  compact_pending(irq, irq.pending.length >> 1);
}

/** Drop the fences marked off from `pending` once there are more than `slack` of them. */
function compact_pending(irq: xe_hw_fence_irq, slack: number): void {
  if (irq.off <= slack) return;
  irq.pending = irq.pending.filter((f) => !f.off);
  irq.off = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* TLB invalidation fences (xe_tlb_inval.c)                                                     */

export class xe_tlb_inval_fence {
  readonly base: dma_fence;
  readonly alloc: Allocation;
  seqno = 0;

  constructor(kernel: Kernel, alloc: Allocation) {
    this.base = new dma_fence(kernel, 'xe_tlb_inval_fence');
    this.base.owner = this;
    this.alloc = alloc;
  }
}

const xe_tlb_inval_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'xe',
  get_timeline_name: () => 'tlb_inval_fence',
  release(f: dma_fence): void {
    dma_fence_free(f);
    kfree(f.kernel, (f.owner as xe_tlb_inval_fence).alloc);
  },
};

/** struct xe_tlb_inval: the GT's invalidation client. */
export class xe_tlb_inval {
  readonly gt: xe_gt;
  readonly lock: spinlock_t;
  readonly fence_context: number;
  seqno = 0;
  readonly pending = new Map<number, xe_tlb_inval_fence>();
  /** gt->tlb_inval.job_wq: the submit workqueue of the TLB dependency schedulers. */
  readonly job_wq: workqueue_struct;

  constructor(gt: xe_gt, wq_flags: number) {
    this.gt = gt;
    this.lock = spin_lock_init(gt.kernel, '&tlb_inval->pending_lock');
    this.fence_context = gt.kernel.dma_fence_context_alloc(1);
    this.job_wq = alloc_ordered_workqueue(gt.kernel, 'gt-tlb-inval-job-wq', WQ_MEM_RECLAIM | wq_flags);
  }
}

/** xe_tlb_inval_fence_alloc: the ifence of a TLB job, GFP_KERNEL at job creation. */
export function xe_tlb_inval_fence_alloc(k: Kernel): xe_tlb_inval_fence | null {
  const alloc = kmalloc(k, 96, GFP_KERNEL, 'xe_tlb_inval_fence');
  return alloc === null ? null : new xe_tlb_inval_fence(k, alloc);
}

/** xe_tlb_inval_fence_init: one reference (the job's); the seqno is the next invalidation. */
export function xe_tlb_inval_fence_init(tlb: xe_tlb_inval, fence: xe_tlb_inval_fence): void {
  const flags = spin_lock_irqsave(tlb.lock);
  fence.seqno = ++tlb.seqno;
  dma_fence_init(fence.base, xe_tlb_inval_fence_ops, tlb.lock, tlb.fence_context, fence.seqno);
  spin_unlock_irqrestore(tlb.lock, flags);
}

/**
 * xe_tlb_inval_range: send the invalidation to the GuC; TLB_INVALIDATION_DONE (IRQ fast path)
 * signals the fence. If the CT is down (GT reset) the fence signals at once [I].
 */
export function xe_tlb_inval_range(tlb: xe_tlb_inval, fence: xe_tlb_inval_fence): void {
  const flags = spin_lock_irqsave(tlb.lock);
  tlb.pending.set(fence.seqno, fence);
  dma_fence_get(fence.base);
  spin_unlock_irqrestore(tlb.lock, flags);
  if (xe_guc_ct_send(tlb.gt.guc, XE_GUC_ACTION_TLB_INVALIDATION, 0, fence.seqno, null) !== 0) {
    xe_tlb_inval_done(tlb, fence.seqno);
  }
}

function xe_tlb_inval_done(tlb: xe_tlb_inval, seqno: number): void {
  const flags = spin_lock_irqsave(tlb.lock);
  const fence = tlb.pending.get(seqno) ?? null;
  tlb.pending.delete(seqno);
  spin_unlock_irqrestore(tlb.lock, flags);
  if (fence === null) return;
  dma_fence_signal(fence.base);
  dma_fence_put(fence.base);
}

/** xe_tlb_inval_reset (GT reset): every pending invalidation is complete, the TLBs are gone. */
export function xe_tlb_inval_reset(tlb: xe_tlb_inval): void {
  for (const seqno of [...tlb.pending.keys()]) xe_tlb_inval_done(tlb, seqno);
}

/* ------------------------------------------------------------------------------------------ */
/* GuC and CT (xe_guc.c, xe_guc_ct.c)                                                           */

/** The binding's G2H handlers about exec queues (xe_guc_submit.c). Process context (G2H worker). */
export interface xe_guc_submit_handlers {
  sched_done(guc: xe_guc, guc_id: number, runnable_state: number): void;
  deregister_done(guc: xe_guc, guc_id: number): void;
  exec_queue_reset(guc: xe_guc, guc_id: number): void;
  exec_queue_memory_cat_error(guc: xe_guc, guc_id: number): void;
}

/** guc->submission_state (xe_guc_types.h). */
export class xe_guc_submission_state {
  readonly lock: mutex;
  /** exec_queue_lookup (xarray guc_id -> exec queue). */
  readonly exec_queue_lookup = new Map<number, unknown>();
  /** xe_guc_id_mgr, reduced to a free list. */
  private readonly free_ids: number[] = [];
  private next_id = 0;
  /** Submission stopped for a GT reset (atomic in C). */
  stopped = 0;
  readonly fini_wq = new wait_queue_head();
  initialized = true;

  constructor(kernel: Kernel) {
    this.lock = mutex_init(kernel, '&guc->submission_state.lock');
  }

  reserve_id(): number {
    return this.free_ids.pop() ?? this.next_id++;
  }

  release_id(id: number): void {
    this.free_ids.push(id);
  }
}

export class xe_guc {
  readonly kernel: Kernel;
  readonly gt: xe_gt;
  readonly hw: xe_hw;
  /** guc->ct.wq: woken on every G2H, on reset prepare/start. */
  readonly ct_wq = new wait_queue_head();
  readonly g2h_wq: workqueue_struct;
  readonly g2h_worker: work_struct;
  readonly submission_state: xe_guc_submission_state;
  handlers: xe_guc_submit_handlers | null = null;
  readonly ct_send_ns: number;

  constructor(gt: xe_gt, hw: xe_hw, wq_flags: number) {
    this.kernel = gt.kernel;
    this.gt = gt;
    this.hw = hw;
    this.g2h_wq = alloc_ordered_workqueue(gt.kernel, 'xe-g2h-wq', WQ_MEM_RECLAIM | wq_flags);
    this.g2h_worker = INIT_WORK(gt.kernel, g2h_worker_func, 'g2h_worker', this);
    this.submission_state = new xe_guc_submission_state(gt.kernel);
    this.ct_send_ns = gt.kernel.cost_of('xe.ct_send_ns', XE_CT_SEND_NS);
  }
}

/**
 * xe_guc_ct_send: write one H2G command (the GuC answers asynchronously). Returns 0, or
 * -ENODEV when the CT is disabled (GuC being reset). Any context; never sleeps here (the
 * model's CT buffer never fills).
 */
export function xe_guc_ct_send(guc: xe_guc, action: number, guc_id: number, arg: number, lrc: xe_lrc | null): number {
  const k = guc.kernel;
  k.spend(guc.ct_send_ns);
  if (k.trace.enabled) k.tp('xe_guc_ct_h2g', { action: GUC_ACTION_NAMES[action], guc_id, arg });
  if (!guc.hw.running) return -ENODEV;
  guc.hw.h2g_send(action, guc_id, arg, lrc);
  return 0;
}

/** xe_guc_read_stopped. */
export function xe_guc_read_stopped(guc: xe_guc): boolean {
  return guc.submission_state.stopped !== 0;
}

/**
 * xe_guc_ct_irq_handler (hardirq): wake CT waiters, handle TLB_INVALIDATION_DONE in the fast
 * path, queue the G2H worker for the rest.
 */
function xe_guc_irq_handler(guc: xe_guc): void {
  const hw = guc.hw;
  const g2h = hw.g2h;
  let slow = false;
  let keep = 0;
  for (let i = 0; i < g2h.length; i++) {
    const msg = g2h[i];
    if (msg.action === XE_GUC_ACTION_TLB_INVALIDATION_DONE) xe_tlb_inval_done(guc.gt.tlb_inval, msg.arg);
    else {
      g2h[keep++] = msg;
      slow = true;
    }
  }
  g2h.length = keep;
  wake_up_all(guc.kernel, guc.ct_wq);
  if (slow) queue_work(guc.g2h_wq, guc.g2h_worker);
}

/** g2h_worker_func: dispatch queued G2H messages to the submission handlers, in order. */
function g2h_worker_func(work: work_struct): void {
  const guc = work.owner as xe_guc;
  const g2h = guc.hw.g2h;
  const k = guc.kernel;
  for (let n = 0; n < 1_000_000; n++) {
    const msg: guc_msg | undefined = g2h.shift();
    if (msg === undefined) return;
    if (k.trace.enabled) k.tp('xe_guc_ct_g2h', { action: GUC_ACTION_NAMES[msg.action], guc_id: msg.guc_id, arg: msg.arg });
    const h = guc.handlers!;
    switch (msg.action) {
      case XE_GUC_ACTION_SCHED_CONTEXT_MODE_DONE: h.sched_done(guc, msg.guc_id, msg.arg); break;
      case XE_GUC_ACTION_DEREGISTER_CONTEXT_DONE: h.deregister_done(guc, msg.guc_id); break;
      case XE_GUC_ACTION_CONTEXT_RESET_NOTIFICATION: h.exec_queue_reset(guc, msg.guc_id); break;
      case XE_GUC_ACTION_NOTIFY_MEMORY_CAT_ERROR: h.exec_queue_memory_cat_error(guc, msg.guc_id); break;
      case XE_GUC_ACTION_TLB_INVALIDATION_DONE: xe_tlb_inval_done(guc.gt.tlb_inval, msg.arg); break;
    }
  }
  k.violation('hang', 'g2h_worker_func', 'G2H queue never drains');
}

/* ------------------------------------------------------------------------------------------ */
/* Device and GT (xe_device.c, xe_gt.c, xe_irq.c)                                               */

export class xe_gt {
  readonly kernel: Kernel;
  readonly xe: xe_device;
  readonly hw: xe_hw;
  /** gt->ordered_wq: TDR of every exec queue, and the GT reset worker. */
  readonly ordered_wq: workqueue_struct;
  readonly guc: xe_guc;
  readonly fence_irq: xe_hw_fence_irq[] = [];
  readonly tlb_inval: xe_tlb_inval;
  /** gt->reset.worker, installed by the binding (its body stops and restarts submission). */
  reset_worker: work_struct | null = null;

  constructor(xe: xe_device, hw: xe_hw, wq_flags: number) {
    this.kernel = xe.kernel;
    this.xe = xe;
    this.hw = hw;
    this.ordered_wq = alloc_ordered_workqueue(xe.kernel, 'gt-ordered-wq', WQ_MEM_RECLAIM | wq_flags);
    this.guc = new xe_guc(this, hw, wq_flags);
    for (let c = 0; c < XE_ENGINE_CLASS_MAX; c++) this.fence_irq.push(new xe_hw_fence_irq(xe.kernel));
    this.tlb_inval = new xe_tlb_inval(this, wq_flags);
  }
}

/** Device options both bindings read (README "Device options"). */
export interface xe_device_params {
  /** Extra flags for the reclaim-path workqueues (WQ_MEM_WARN_ON_RECLAIM on drm_dep). */
  readonly wq_reclaim_flags: number;
  /** Injected hangs survive a GT reset (default false: the reset clears them). */
  readonly hang_survives_reset: boolean;
}

export class xe_device {
  readonly kernel: Kernel;
  readonly hw: xe_hw;
  readonly gt: xe_gt;
  /** xe->destroy_wq: asynchronous exec queue destruction. */
  readonly destroy_wq: workqueue_struct;
  /** xe->ordered_wq: the VM rebind workers. */
  readonly ordered_wq: workqueue_struct;
  /** xe->preempt_fence_wq: one global ordered workqueue for preempt-fence work. */
  readonly preempt_fence_wq: workqueue_struct;
  /** xe->ufence_wq: user-fence waiters, woken when an exec queue is reset. */
  readonly ufence_wq = new wait_queue_head();
  readonly params: xe_device_params;
  /** Exec queues created and not yet freed (for the leak/unload checks). */
  exec_queues = 0;
  /** Names exec queues "<class><n>" (per device, so runs stay deterministic). */
  queue_serial = 0;
  readonly exec_queues_idle = new wait_queue_head();
  /** deplab_job_hw_start bookkeeping while tracing (xe_guc_submit_init; jobs recorded at arm). */
  hw_start: JobHwStartTrace<xe_hw_job> | null = null;

  constructor(kernel: Kernel, params: xe_device_params) {
    this.kernel = kernel;
    this.params = params;
    this.hw = new xe_hw(kernel, 'xe');
    this.destroy_wq = alloc_workqueue(kernel, 'xe-destroy-wq', 0, 0);
    this.ordered_wq = alloc_ordered_workqueue(kernel, 'xe-ordered-wq', 0);
    this.preempt_fence_wq = alloc_ordered_workqueue(kernel, 'xe-preempt-fence-wq', WQ_MEM_RECLAIM | params.wq_reclaim_flags);
    this.gt = new xe_gt(this, this.hw, params.wq_reclaim_flags);
    this.hw.irq = kernel.request_irq('xe', this.gt, xe_gt_irq_handler);
  }
}

/**
 * The GT interrupt (xe_irq.c -> xe_hw_engine_handle_irq / xe_guc_irq_handler), hardirq: a user
 * interrupt runs the fence irq of its engine class; the GuC vector reads the CT.
 */
function xe_gt_irq_handler(gt: xe_gt, vector: number): void {
  if (vector === XE_IRQ_GUC) xe_guc_irq_handler(gt.guc);
  else if (vector >= 0 && vector < XE_ENGINE_CLASS_MAX) xe_hw_fence_irq_run(gt.fence_irq[vector]);
}

/** Name of an engine class for queue names (e.g. "rcs"). */
export function xe_engine_class_name(class_: number): string {
  return XE_ENGINE_CLASS_NAMES[class_] ?? '?';
}

/**
 * xe_sched_job_set_error's fence half (xe_sched_job.c): put `error` on an unsignalled HW fence
 * and make the fence irq signal it. Any context.
 */
export function xe_hw_fence_set_error(fence: dma_fence, irq: xe_hw_fence_irq, error: number): void {
  if (fence.signaled) return;
  const k = fence.kernel;
  k.WARN_ON(error >= 0, 'xe_sched_job_set_error', `xe_sched_job_set_error(${error})`);
  dma_fence_set_error(fence, error < 0 ? error : -EINVAL);
  irq.full_walk = true;
  if (k.trace.enabled) k.tp('xe_sched_job_set_error', { context: fence.context, seqno: fence.seqno, error });
  dma_fence_enable_sw_signaling(fence);
  xe_hw_fence_irq_run(irq);
}

/* ------------------------------------------------------------------------------------------ */
/* Exec queues, VMs and the backend interface (xe_exec_queue_types.h, xe_vm_types.h)            */

/** enum xe_exec_queue_priority. */
export const XE_EXEC_QUEUE_PRIORITY_LOW = 0;
export const XE_EXEC_QUEUE_PRIORITY_NORMAL = 1;
export const XE_EXEC_QUEUE_PRIORITY_HIGH = 2;
export const XE_EXEC_QUEUE_PRIORITY_KERNEL = 3;

/** Exec queue flags (xe_exec_queue_types.h); multi-LRC/parallel flags are not modelled. */
export const EXEC_QUEUE_FLAG_KERNEL = 1 << 1;
export const EXEC_QUEUE_FLAG_PERMANENT = 1 << 2;
export const EXEC_QUEUE_FLAG_VM = 1 << 3;

/** Kconfig.profile defaults (DRM_XE_JOB_TIMEOUT_*, TIMESLICE, PREEMPT_TIMEOUT). */
export const XE_JOB_TIMEOUT_DEFAULT_MS = 5_000;
export const XE_JOB_TIMEOUT_MIN_MS = 1;
export const XE_JOB_TIMEOUT_MAX_MS = 10_000;
export const XE_TIMESLICE_DEFAULT_US = 1_000;
export const XE_PREEMPT_TIMEOUT_DEFAULT_US = 640_000;
/** MAX_TLB_INVAL_JOBS: credit limit of a TLB-invalidation dependency scheduler. */
export const MAX_TLB_INVAL_JOBS = 16;
/** vm->preempt.min_run_period_ms default [I: 10 ms]. */
export const XE_VM_MIN_RUN_PERIOD_MS = 10;

export interface xe_exec_queue_sched_props {
  priority: number;
  timeslice_us: number;
  preempt_timeout_us: number;
  job_timeout_ms: number;
}

/**
 * struct xe_vm, reduced to what submission reads: LR (preempt-fence) mode, the preempt
 * rebind period, the composite fence context of bind out-fences, and a kref (queues and TLB
 * jobs hold references).
 */
export class xe_vm {
  readonly kernel: Kernel;
  readonly xe: xe_device;
  readonly refcount: kref;
  readonly lr_mode: boolean;
  min_run_period_ms = XE_VM_MIN_RUN_PERIOD_MS;
  readonly composite_fence_ctx: number;
  composite_fence_seqno = 0;
  /** The VM's reservation object: holds the preempt fences of its LR queues. */
  readonly resv: dma_resv;
  readonly id: number;

  constructor(xe: xe_device, lr_mode: boolean, name: string) {
    this.kernel = xe.kernel;
    this.xe = xe;
    this.refcount = new kref(xe.kernel, 'xe_vm');
    this.lr_mode = lr_mode;
    this.resv = dma_resv_init(xe.kernel);
    this.composite_fence_ctx = xe.kernel.dma_fence_context_alloc(1);
    this.id = xe.kernel.lifetime.track('xe_vm', name);
  }
}

export function xe_vm_get(vm: xe_vm): xe_vm {
  kref_get(vm.refcount);
  return vm;
}

export function xe_vm_put(vm: xe_vm): void {
  kref_put(vm.refcount, () => {
    dma_resv_fini(vm.resv);
    vm.kernel.lifetime.free(vm.id, 'xe_vm_free');
  });
}

export function xe_vm_in_lr_mode(vm: xe_vm): boolean {
  return vm.lr_mode;
}

/** LR state of an exec queue: its current preempt fence (xe_preempt_fence.c, in uapi.ts). */
export interface xe_exec_queue_lr {
  pfence: dma_fence | null;
  readonly context: number;
  seqno: number;
}

/** struct xe_exec_queue as the scheduler-independent code sees it (both bindings implement it). */
export interface XeExecQueue {
  readonly xe: xe_device;
  readonly gt: xe_gt;
  readonly vm: xe_vm;
  readonly name: string;
  readonly class: number;
  readonly flags: number;
  readonly lrc: xe_lrc;
  readonly sched_props: xe_exec_queue_sched_props;
  readonly lr: xe_exec_queue_lr;
  readonly ops: xe_exec_queue_ops;
  /** The DRM client (file) that created it, for the tracepoints' client id. */
  readonly client_id: number;
}

/** struct xe_exec_queue_ops: the submission backend's entry points (GuC backend here). */
export interface xe_exec_queue_ops {
  kill(q: XeExecQueue): void;
  set_priority(q: XeExecQueue, priority: number): number;
  suspend(q: XeExecQueue): number;
  suspend_wait(q: XeExecQueue): Sleepable<number>;
  resume(q: XeExecQueue): void;
  reset_status(q: XeExecQueue): boolean;
}

/** struct xe_sched_job as the ioctls see it. */
export interface XeSchedJob {
  readonly q: XeExecQueue;
  readonly hw: xe_hw_job;
}

/** struct xe_tlb_inval_job (opaque to the ioctls). */
export interface XeTlbInvalJob {
  readonly tlb_inval_job: true;
}

/**
 * What uapi.ts needs from a binding: the exec queue, job and TLB-job life cycles, the GT
 * reset, and the unload barrier. Everything else (GuC submission, messages, TDR) is inside.
 */
export interface XeBinding {
  readonly name: 'drm_sched' | 'drm_dep';
  /** Flags added to reclaim-path workqueues (xe_device_params.wq_reclaim_flags). */
  readonly wq_reclaim_flags: number;
  /** xe_guc_submit_init: install the G2H handlers and the GT reset worker. */
  xe_guc_submit_init(xe: xe_device, options: Readonly<Record<string, number | string | boolean>>): void;
  xe_exec_queue_create(xe: xe_device, vm: xe_vm, class_: number, flags: number, props: xe_exec_queue_sched_props, client_id: number): XeExecQueue | number;
  xe_exec_queue_get(q: XeExecQueue): void;
  xe_exec_queue_put(q: XeExecQueue): void;
  xe_exec_queue_kill(q: XeExecQueue): void;
  /** Returns the job or a negative errno. Process context (GFP_KERNEL). */
  xe_sched_job_create(q: XeExecQueue, hw: xe_hw_job, client_id: number): XeSchedJob | number;
  /** Consumes the reference to `fence`. */
  xe_sched_job_add_dependency(job: XeSchedJob, fence: dma_fence): number;
  /** Arm: returns a new reference to the job's out-fence (the scheduler's finished fence). */
  xe_sched_job_arm(job: XeSchedJob): dma_fence;
  xe_sched_job_push(job: XeSchedJob): void;
  /** Drop an unarmed job (error path of the ioctl). */
  xe_sched_job_abort(job: XeSchedJob): void;
  xe_tlb_inval_job_create(q: XeExecQueue, client_id: number): XeTlbInvalJob | number;
  xe_tlb_inval_job_alloc_dep(job: XeTlbInvalJob): number;
  /** Returns a new reference to the TLB job's finished fence. */
  xe_tlb_inval_job_push(job: XeTlbInvalJob, fence: dma_fence): dma_fence;
  xe_tlb_inval_job_put(job: XeTlbInvalJob): void;
  xe_gt_reset_async(gt: xe_gt): void;
  /** guc_submit_fini / the drm_dep unload barrier: wait until every exec queue is gone. */
  xe_guc_submit_fini(xe: xe_device): Sleepable<number>;
  /** Scheduler-side state of a queue for queue_state() (guc_id, state bits, ...). */
  queue_detail(q: XeExecQueue): Record<string, number | string | boolean>;
  /** Jobs handed to the backend and not yet freed (drm_sched pending list / drm_dep pending). */
  guc_id(q: XeExecQueue): number;
}
