/**
 * xe's GuC submission as both bindings share it: everything of xe_guc_submit.c (and the bits of
 * xe_exec_queue.c, xe_sched_job.c and xe_gt.c it leans on) that calls no scheduler. The
 * scheduler is reached only through xe_gpu_scheduler.ts, whose scheduler half each binding
 * implements; on-sched.ts and on-dep.ts hold what the drm_dep conversion changes.
 *   structures      struct xe_exec_queue / xe_sched_job fields (mixed into each binding's class,
 *                   which derives from its scheduler's queue or job), struct xe_guc_exec_queue;
 *   xe_guc_submit.c exec-queue state bits, GuC ids, registration, the body of run_job,
 *                   scheduling enable/disable, the TDR, the in-band messages, the exec-queue ops,
 *                   GT-reset stop/start, the G2H handlers;
 *   xe_gt.c         the GT reset worker.
 *
 * Era: v7.0, i.e. after "[PATCH v7 0/9] Fix DRM scheduler layering violations in Xe"
 * (20251201183954.852637-1-matthew.brost@intel.com; torvalds/linux commits e70f43c21dbf ..
 * bb63e7257e63, merged with drm-xe-next-2026-01-15 in 971c2b68bddb). Read against
 * xe_guc_submit.c @00937fe1 plus the series' patches: no xe_hw_fence_irq_stop/start, no LR
 * special cases (ddb5cf9b90c5), no deregistration in the TDR (58624c195b9a), the TDR reads the
 * LRC timestamp without toggling scheduling and bans the queue before kicking it off the
 * hardware (bb63e7257e63). That early ban also keeps a timed-out kernel or VM-bind queue banned
 * across the GT reset it triggers, so its jobs are not resubmitted; upstream changed that after
 * the RFC's base (347ccc0453fc, June 2026), which the model does not include.
 *
 * Not modelled: devcoredump and GuC capture, runtime PM references, SR-IOV (VF pause/replay),
 * wedged mode, multi-LRC/parallel and multi-queue groups, permanent kernel queues.
 */
import {
  ECANCELED, EINVAL, EIO, ENOMEM, ETIME, GFP_KERNEL, INIT_WORK, MAX_SCHEDULE_TIMEOUT, dma_fence_put, fsleep, kfree, kmalloc,
  msleep, mutex_lock, mutex_lock_sleepable, mutex_unlock, queue_work, wait_event, wait_event_timeout, wait_queue_head,
  wake_up, wake_up_all,
  type Allocation, type Kernel, type Sleepable, type dma_fence, type work_struct,
} from '@deplab/sim';
import { job_hw_start_trace } from '@deplab/driver-api';
import {
  GUC_CONTEXT_DISABLE, GUC_CONTEXT_ENABLE, XE_GUC_ACTION_DEREGISTER_CONTEXT, XE_GUC_ACTION_HOST2GUC_UPDATE_CONTEXT_POLICIES,
  XE_GUC_ACTION_REGISTER_CONTEXT, XE_GUC_ACTION_SCHED_CONTEXT, XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET, xe_hw_gt_reset,
  xe_hw_gt_restart, xe_lrc, xe_lrc_ring_size, type xe_hw_job,
} from './hw.ts';
import {
  EXEC_QUEUE_FLAG_KERNEL, EXEC_QUEUE_FLAG_VM, MAX_TLB_INVAL_JOBS, xe_engine_class_name, xe_guc_ct_send, xe_guc_read_stopped,
  xe_hw_fence_alloc, xe_hw_fence_free, xe_hw_fence_set_error, xe_tlb_inval_reset, xe_vm_get, xe_vm_in_lr_mode, xe_vm_put,
  type XeExecQueue, type XeSchedJob, type xe_device, type xe_exec_queue_lr, type xe_exec_queue_ops,
  type xe_exec_queue_sched_props, type xe_gt, type xe_guc, type xe_hw_fence, type xe_hw_fence_irq, type xe_vm,
} from './xe_device.ts';
import {
  xe_sched_add_msg, xe_sched_add_msg_locked, xe_sched_first_pending_job, xe_sched_invalidate_job, xe_sched_msg,
  xe_sched_msg_lock, xe_sched_msg_unlock, xe_sched_resubmit_jobs, xe_sched_submission_resume_tdr, xe_sched_submission_start,
  xe_sched_submission_stop, xe_sched_tdr_queue_imm,
  type xe_gpu_scheduler, type xe_sched_backend_ops,
} from './xe_gpu_scheduler.ts';

/** Default CPU cost of guc_exec_queue_run_job: emit the ring, write the tail, CT send (README). */
export const XE_RUN_JOB_NS = 1_500;

/* ------------------------------------------------------------------------------------------ */
/* Structures                                                                                   */

/**
 * A class a binding's exec queue or job derives from (drm_dep_queue, drm_sched_job, Object),
 * seen through a rest-argument constructor: the mixin's constructor takes the init arguments
 * and hands the base its kernel.
 */
export type StructBase<T extends object> = abstract new (...args: any[]) => T;

/** What xe_exec_queue_create knows when it allocates the queue. */
export interface xe_exec_queue_init_args {
  readonly xe: xe_device;
  readonly vm: xe_vm;
  readonly class_: number;
  readonly flags: number;
  readonly props: xe_exec_queue_sched_props;
  readonly client_id: number;
}

/** struct xe_exec_queue as the shared submission code sees it (both bindings' classes have it). */
export interface xe_exec_queue extends XeExecQueue {
  readonly kernel: Kernel;
  /** lrc->fence_ctx: the HW fence timeline of this queue. */
  readonly fence_context: number;
  next_seqno: number;
  readonly fence_irq: xe_hw_fence_irq;
  guc: xe_guc_exec_queue | null;
  /** Lifetime-tracker id. */
  readonly id: number;
  /** The LRC's backing memory (ring, context image, status page). */
  lrc_alloc: Allocation | null;
}

/**
 * The fields of struct xe_exec_queue, mixed into `Base` (drm_dep_queue on drm_dep, whose
 * refcount is the queue's; Object on drm_sched, whose binding adds its own kref). The
 * constructor takes one xe_exec_queue_init_args and names the queue "<class><n>".
 */
export function xe_exec_queue_struct<T extends object>(Base: StructBase<T>): StructBase<T & xe_exec_queue> {
  abstract class xe_exec_queue_struct extends (Base as StructBase<object>) implements xe_exec_queue {
    readonly kernel: Kernel;
    readonly xe: xe_device;
    readonly gt: xe_gt;
    readonly vm: xe_vm;
    readonly name: string;
    readonly class: number;
    readonly flags: number;
    readonly lrc: xe_lrc;
    readonly fence_context: number;
    next_seqno = 0;
    readonly fence_irq: xe_hw_fence_irq;
    readonly sched_props: xe_exec_queue_sched_props;
    readonly lr: xe_exec_queue_lr;
    readonly ops: xe_exec_queue_ops = guc_exec_queue_ops;
    guc: xe_guc_exec_queue | null = null;
    readonly client_id: number;
    readonly id: number;
    lrc_alloc: Allocation | null = null;

    constructor(...args: any[]) {
      const a = args[0] as xe_exec_queue_init_args;
      super(a.xe.kernel);
      const k = a.xe.kernel;
      this.kernel = k;
      this.xe = a.xe;
      this.gt = a.xe.gt;
      this.vm = a.vm;
      this.name = `${xe_engine_class_name(a.class_)}${a.xe.queue_serial++}`;
      this.class = a.class_;
      this.flags = a.flags;
      this.lrc = new xe_lrc(a.xe.hw, a.class_, this.name);
      this.fence_context = k.dma_fence_context_alloc(1);
      this.fence_irq = a.xe.gt.fence_irq[a.class_];
      this.sched_props = { ...a.props };
      this.lr = { pfence: null, context: k.dma_fence_context_alloc(1), seqno: 0 };
      this.client_id = a.client_id;
      this.id = k.lifetime.track('xe_exec_queue', this.name);
    }
  }
  return xe_exec_queue_struct as unknown as StructBase<T & xe_exec_queue>;
}

/** struct xe_guc_exec_queue: the GuC backend's part of an exec queue. */
export class xe_guc_exec_queue {
  readonly q: xe_exec_queue;
  /** The binding's scheduler wrapper (xe_gpu_scheduler.ts). */
  readonly sched: xe_gpu_scheduler;
  readonly static_msgs = [new xe_sched_msg(), new xe_sched_msg(), new xe_sched_msg()];
  readonly suspend_wait = new wait_queue_head();
  suspend_pending = false;
  /** ktime of the last scheduling-enable ack; RESUME_PENDING while one is in flight. */
  resume_time = 0;
  /** Atomic state bits (EXEC_QUEUE_STATE_*). */
  state = 0;
  id = -1;
  destroy_async: work_struct | null = null;
  alloc: Allocation | null = null;

  constructor(q: xe_exec_queue, sched: xe_gpu_scheduler) {
    this.q = q;
    this.sched = sched;
  }
}

/** struct xe_sched_job as the shared submission code sees it. */
export interface xe_sched_job extends XeSchedJob {
  readonly kernel: Kernel;
  readonly q: xe_exec_queue;
  /** The LRC seqno fence, allocated at create and initialised at arm (job->fence). */
  readonly hw_fence: xe_hw_fence;
  fence: dma_fence | null;
  lrc_seqno: number;
  /** ptrs[0].head: ring position of this job (the GT-reset restart rewinds to it). */
  ring_head: number;
  /** job->sample_timestamp: the LRC timestamp the last TDR check read (-1: none yet). */
  sample_timestamp: number;
  readonly alloc: Allocation;
}

/** What xe_sched_job_create has when it allocates the job. */
export interface xe_sched_job_init_args {
  readonly q: xe_exec_queue;
  readonly hw: xe_hw_job;
  readonly hw_fence: xe_hw_fence;
  readonly alloc: Allocation;
}

/** The fields of struct xe_sched_job, mixed into the binding's scheduler job (drm_sched_job, drm_dep_job). */
export function xe_sched_job_struct<T extends object>(Base: StructBase<T>): StructBase<T & xe_sched_job> {
  abstract class xe_sched_job_struct extends (Base as StructBase<object>) implements xe_sched_job {
    readonly kernel: Kernel;
    readonly q: xe_exec_queue;
    readonly hw: xe_hw_job;
    readonly hw_fence: xe_hw_fence;
    fence: dma_fence | null = null;
    lrc_seqno = 0;
    ring_head = -1;
    sample_timestamp = -1;
    readonly alloc: Allocation;

    constructor(...args: any[]) {
      const a = args[0] as xe_sched_job_init_args;
      super(a.q.kernel);
      this.kernel = a.q.kernel;
      this.q = a.q;
      this.hw = a.hw;
      this.hw_fence = a.hw_fence;
      this.alloc = a.alloc;
    }
  }
  return xe_sched_job_struct as unknown as StructBase<T & xe_sched_job>;
}

/* ------------------------------------------------------------------------------------------ */
/* xe_exec_queue.c, xe_sched_job.c: the scheduler-independent parts                             */

/** xe_exec_queue_is_lr: a non-VM-bind queue on an LR (preempt-fence or fault mode) VM. */
function xe_exec_queue_is_lr(q: xe_exec_queue): boolean {
  return xe_vm_in_lr_mode(q.vm) && (q.flags & EXEC_QUEUE_FLAG_VM) === 0;
}

/**
 * xe_exec_queue_create after the allocation: VM reference, LRC, the GuC backend (the binding's
 * guc_exec_queue_init) and, for a VM queue, the TLB dependency scheduler (the binding's
 * xe_dep_scheduler_create). Returns `q` or a negative errno (the error unwind is not
 * modelled). Process context.
 */
export function xe_exec_queue_init<Q extends xe_exec_queue & { tlb_dep_scheduler: D | null }, D>(q: Q,
  guc_exec_queue_init: (q: Q) => number, xe_dep_scheduler_create: (xe: xe_device, name: string, job_limit: number) => D | number): Q | number {
  xe_vm_get(q.vm);
  q.xe.exec_queues++;
  q.lrc_alloc = kmalloc(q.kernel, xe_lrc_ring_size(), GFP_KERNEL, 'xe_lrc');
  let err = q.lrc_alloc === null ? -ENOMEM : guc_exec_queue_init(q);
  if (err === 0 && (q.flags & EXEC_QUEUE_FLAG_VM) !== 0) {
    const ds = xe_dep_scheduler_create(q.xe, `${q.name}-tlb`, MAX_TLB_INVAL_JOBS);
    if (typeof ds === 'number') err = ds;
    else q.tlb_dep_scheduler = ds;
  }
  if (err === 0) return q;
  q.kernel.violation('model_error', 'xe_exec_queue_create', `exec queue init failed (${err}); the error unwind is not modelled`);
  return err;
}

export function xe_exec_queue_kill(q: XeExecQueue): void {
  q.ops.kill(q);
}

/** The end of xe_exec_queue_fini, after the backend is gone: LRC, VM reference, the queue. */
export function xe_exec_queue_free(q: xe_exec_queue): void {
  kfree(q.kernel, q.lrc_alloc);
  xe_vm_put(q.vm);
  q.kernel.lifetime.free(q.id, 'xe_exec_queue_fini');
  q.xe.exec_queues--;
  wake_up_all(q.kernel, q.xe.exec_queues_idle);
}

/**
 * xe_sched_job_create's allocations: the job (constructed by `ctor`, the binding's class) and
 * its HW fence, GFP_KERNEL. Null on -ENOMEM. Process context.
 */
export function xe_sched_job_alloc<Q extends xe_exec_queue, J extends xe_sched_job>(q: Q, hw: xe_hw_job,
  ctor: new (args: xe_sched_job_init_args & { q: Q }) => J): J | null {
  const k = q.kernel;
  const alloc = kmalloc(k, 256, GFP_KERNEL, 'xe_sched_job');
  if (alloc === null) return null;
  const hw_fence = xe_hw_fence_alloc(k);
  if (hw_fence === null) {
    kfree(k, alloc);
    return null;
  }
  return new ctor({ q, hw, hw_fence, alloc });
}

/** Free what xe_sched_job_alloc allocated, the HW fence as the job leaves it (armed or not). */
export function xe_sched_job_free(job: xe_sched_job): void {
  if (job.fence !== null) dma_fence_put(job.fence);
  else xe_hw_fence_free(job.hw_fence);
  kfree(job.kernel, job.alloc);
}

function xe_sched_job_is_error(job: xe_sched_job): boolean {
  return job.fence!.error < 0;
}

export function xe_sched_job_set_error(job: xe_sched_job, error: number): void {
  xe_hw_fence_set_error(job.fence!, job.q.fence_irq, error);
}

/** The ring wrote this job's start seqno: it started on the hardware. */
function xe_sched_job_started(job: xe_sched_job): boolean {
  return job.q.lrc.start_seqno >= job.lrc_seqno;
}

function xe_sched_job_completed(job: xe_sched_job): boolean {
  return job.q.lrc.seqno >= job.lrc_seqno;
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: state                                                                       */

const EXEC_QUEUE_STATE_REGISTERED = 1 << 0;
const EXEC_QUEUE_STATE_ENABLED = 1 << 1;
const EXEC_QUEUE_STATE_PENDING_ENABLE = 1 << 2;
const EXEC_QUEUE_STATE_PENDING_DISABLE = 1 << 3;
const EXEC_QUEUE_STATE_DESTROYED = 1 << 4;
const EXEC_QUEUE_STATE_SUSPENDED = 1 << 5;
const EXEC_QUEUE_STATE_RESET = 1 << 6;
const EXEC_QUEUE_STATE_KILLED = 1 << 7;
const EXEC_QUEUE_STATE_WEDGED = 1 << 8;
const EXEC_QUEUE_STATE_BANNED = 1 << 9;
const EXEC_QUEUE_STATE_PENDING_RESUME = 1 << 10;

function state_test(q: xe_exec_queue, bit: number): boolean {
  return (q.guc!.state & bit) !== 0;
}

function state_set(q: xe_exec_queue, bit: number): void {
  q.guc!.state |= bit;
}

function state_clear(q: xe_exec_queue, bit: number): void {
  q.guc!.state &= ~bit;
}

const exec_queue_registered = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_REGISTERED);
const exec_queue_enabled = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_ENABLED);
const exec_queue_pending_enable = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_PENDING_ENABLE);
const exec_queue_pending_disable = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_PENDING_DISABLE);
const exec_queue_destroyed = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_DESTROYED);
const exec_queue_suspended = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_SUSPENDED);
const exec_queue_reset = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_RESET);
const exec_queue_killed = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_KILLED);
const exec_queue_banned = (q: xe_exec_queue) => state_test(q, EXEC_QUEUE_STATE_BANNED);

function exec_queue_killed_or_banned_or_wedged(q: xe_exec_queue): boolean {
  return state_test(q, EXEC_QUEUE_STATE_WEDGED | EXEC_QUEUE_STATE_KILLED | EXEC_QUEUE_STATE_BANNED);
}

/**
 * set_exec_queue_banned, plus the scheduler's part of giving up on the queue (drm_dep: patch 10
 * kills the queue, so jobs that have not reached run_job are cancelled in order [I]).
 */
function set_exec_queue_banned(q: xe_exec_queue): void {
  state_set(q, EXEC_QUEUE_STATE_BANNED);
  q.guc!.sched.kill();
}

function exec_queue_to_guc(q: xe_exec_queue): xe_guc {
  return q.gt.guc;
}

const RESUME_PENDING = -1;
const HZ_5 = (k: Kernel) => 5 * k.HZ;

function trace_q(q: xe_exec_queue, name: string): void {
  if (q.kernel.trace.enabled) q.kernel.tp(name, { queue: q.name, guc_id: q.guc?.id ?? -1, state: q.guc?.state ?? 0 });
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: ids, registration, submission                                              */

function alloc_guc_id(guc: xe_guc, q: xe_exec_queue): number {
  const ss = guc.submission_state;
  q.guc!.id = ss.reserve_id();
  ss.exec_queue_lookup.set(q.guc!.id, q);
  return 0;
}

export function* release_guc_id(guc: xe_guc, q: xe_exec_queue): Sleepable {
  const ss = guc.submission_state;
  yield* mutex_lock_sleepable(ss.lock);
  ss.exec_queue_lookup.delete(q.guc!.id);
  ss.release_id(q.guc!.id);
  if (ss.exec_queue_lookup.size === 0) wake_up(q.kernel, ss.fini_wq);
  mutex_unlock(ss.lock);
}

/** init_policies: priority, execution quantum and preempt timeout in one H2G. */
function init_policies(guc: xe_guc, q: xe_exec_queue): void {
  xe_guc_ct_send(guc, XE_GUC_ACTION_HOST2GUC_UPDATE_CONTEXT_POLICIES, q.guc!.id, q.sched_props.priority, null);
}

function set_min_preemption_timeout(guc: xe_guc, q: xe_exec_queue): void {
  xe_guc_ct_send(guc, XE_GUC_ACTION_HOST2GUC_UPDATE_CONTEXT_POLICIES, q.guc!.id, q.sched_props.priority, null);
}

function register_exec_queue(q: xe_exec_queue): void {
  const guc = exec_queue_to_guc(q);
  q.kernel.WARN_ON(exec_queue_registered(q), 'register_exec_queue', 'already registered');
  state_set(q, EXEC_QUEUE_STATE_REGISTERED);
  trace_q(q, 'xe_exec_queue_register');
  xe_guc_ct_send(guc, XE_GUC_ACTION_REGISTER_CONTEXT, q.guc!.id, 0, q.lrc);
  init_policies(guc, q);
}

/** submit_exec_queue: write the ring tail, then SCHED_CONTEXT, or MODE_SET(ENABLE) the first time. */
function submit_exec_queue(q: xe_exec_queue): void {
  const guc = exec_queue_to_guc(q);
  const lrc = q.lrc;
  lrc.ring_tail_hw = lrc.tail; // xe_lrc_set_ring_tail
  if (exec_queue_suspended(q)) return;
  if (!exec_queue_enabled(q)) {
    q.guc!.resume_time = RESUME_PENDING;
    state_set(q, EXEC_QUEUE_STATE_PENDING_ENABLE | EXEC_QUEUE_STATE_ENABLED);
    trace_q(q, 'xe_exec_queue_scheduling_enable');
    xe_guc_ct_send(guc, XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET, q.guc!.id, GUC_CONTEXT_ENABLE, null);
  } else {
    xe_guc_ct_send(guc, XE_GUC_ACTION_SCHED_CONTEXT, q.guc!.id, 0, null);
  }
}

/**
 * The body of guc_exec_queue_run_job (submit workqueue, or the GT-reset restart): unless the
 * queue is dead or the job already carries an error, register the context if needed, emit the
 * job into the ring and ring the doorbell. The bindings' run_job differ only in the reference
 * on the HW fence they return. No LR special case since ddb5cf9b90c5.
 */
export function __guc_exec_queue_run_job(job: xe_sched_job): void {
  const q = job.q;
  const k = q.kernel;
  const dead = exec_queue_killed_or_banned_or_wedged(q);
  k.WARN_ON((exec_queue_destroyed(q) || exec_queue_pending_disable(q)) && !exec_queue_banned(q) && !exec_queue_suspended(q),
    'guc_exec_queue_run_job', `${q.name}: run_job on a queue being disabled or destroyed`);
  k.spend(k.cost_of('xe.run_job_ns', XE_RUN_JOB_NS));
  if (k.trace.enabled) k.tp('xe_sched_job_run', { queue: q.name, seqno: job.lrc_seqno, dead });
  if (!dead && !xe_sched_job_is_error(job)) {
    if (!exec_queue_registered(q)) register_exec_queue(q);
    job.ring_head = q.lrc.emit(job.lrc_seqno, job.hw); // q->ring_ops->emit_job(job)
    submit_exec_queue(q);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: scheduling enable/disable, cleanup                                          */

/** disable_scheduling_deregister (CLEANUP): min preempt timeout, DISABLE; the G2H handler deregisters. */
function* disable_scheduling_deregister(guc: xe_guc, q: xe_exec_queue): Sleepable {
  const k = q.kernel;
  set_min_preemption_timeout(guc, q);
  const ret = yield* wait_event_timeout(k, guc.ct_wq,
    () => (!exec_queue_pending_enable(q) && !exec_queue_pending_disable(q)) || xe_guc_read_stopped(guc), HZ_5(k));
  if (ret === 0) {
    k.tp('xe_gt_warn', { message: 'Pending enable/disable failed to respond', queue: q.name });
    xe_sched_submission_start(q.guc!.sched);
    xe_gt_reset_async(q.gt);
    xe_sched_tdr_queue_imm(q.guc!.sched);
    return;
  }
  state_clear(q, EXEC_QUEUE_STATE_ENABLED);
  state_set(q, EXEC_QUEUE_STATE_PENDING_DISABLE | EXEC_QUEUE_STATE_DESTROYED);
  trace_q(q, 'xe_exec_queue_scheduling_disable');
  xe_guc_ct_send(guc, XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET, q.guc!.id, GUC_CONTEXT_DISABLE, null);
}

/** xe_guc_exec_queue_trigger_cleanup: wake user-fence waiters, run the TDR now. */
function xe_guc_exec_queue_trigger_cleanup(q: xe_exec_queue): void {
  wake_up_all(q.kernel, q.xe.ufence_wq);
  xe_sched_tdr_queue_imm(q.guc!.sched);
}

/** enable_scheduling: MODE_SET(ENABLE) and wait up to 5 s for the ack. May sleep. */
function* enable_scheduling(q: xe_exec_queue): Sleepable {
  const guc = exec_queue_to_guc(q);
  const k = q.kernel;
  k.WARN_ON(exec_queue_destroyed(q) || !exec_queue_registered(q) || exec_queue_pending_disable(q) || exec_queue_pending_enable(q),
    'enable_scheduling', `${q.name}: bad state ${q.guc!.state}`);
  state_set(q, EXEC_QUEUE_STATE_PENDING_ENABLE | EXEC_QUEUE_STATE_ENABLED);
  trace_q(q, 'xe_exec_queue_scheduling_enable');
  xe_guc_ct_send(guc, XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET, q.guc!.id, GUC_CONTEXT_ENABLE, null);
  const ret = yield* wait_event_timeout(k, guc.ct_wq, () => !exec_queue_pending_enable(q) || xe_guc_read_stopped(guc), HZ_5(k));
  if (ret === 0 || xe_guc_read_stopped(guc)) {
    k.tp('xe_gt_warn', { message: 'Schedule enable failed to respond', queue: q.name });
    set_exec_queue_banned(q);
    xe_gt_reset_async(q.gt);
    xe_sched_tdr_queue_imm(q.guc!.sched);
  }
}

/** disable_scheduling: MODE_SET(DISABLE); the G2H sched-done clears pending_disable. */
function disable_scheduling(q: xe_exec_queue, immediate: boolean): void {
  const guc = exec_queue_to_guc(q);
  q.kernel.WARN_ON(exec_queue_destroyed(q) || !exec_queue_registered(q) || exec_queue_pending_disable(q),
    'disable_scheduling', `${q.name}: bad state ${q.guc!.state}`);
  if (immediate) set_min_preemption_timeout(guc, q);
  state_clear(q, EXEC_QUEUE_STATE_ENABLED);
  state_set(q, EXEC_QUEUE_STATE_PENDING_DISABLE);
  trace_q(q, 'xe_exec_queue_scheduling_disable');
  xe_guc_ct_send(guc, XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET, q.guc!.id, GUC_CONTEXT_DISABLE, null);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: the TDR                                                                     */

const ADJUST_FIVE_PERCENT = (t: number) => Math.floor((t * 105) / 100);

/**
 * check_timeout (v7.0): has the job really run longer than job_timeout_ms (with 5% slack)? The
 * LRC timestamp is read without toggling scheduling. A job that has not started counts only
 * after two more tries (karma); a timestamp that has not moved since the last check counts at
 * once ("timestamp stuck", bb63e7257e63).
 */
function check_timeout(q: xe_exec_queue, job: xe_sched_job): boolean {
  const k = q.kernel;
  if (!xe_sched_job_started(job)) {
    k.tp('xe_gt_warn', { message: 'Check job timeout: not started', queue: q.name, seqno: job.lrc_seqno });
    return xe_sched_invalidate_job(job, 2);
  }
  const lrc = q.lrc;
  const ctx_timestamp = lrc.ctx_timestamp_now();
  if (ctx_timestamp === job.sample_timestamp) {
    k.tp('xe_gt_warn', { message: 'Check job timeout: timestamp stuck', queue: q.name, seqno: job.lrc_seqno });
    return xe_sched_invalidate_job(job, 0);
  }
  job.sample_timestamp = ctx_timestamp;
  const running_ms = ADJUST_FIVE_PERCENT(Math.floor((ctx_timestamp - lrc.ctx_job_timestamp_ns) / 1_000_000));
  return running_ms >= q.sched_props.job_timeout_ms;
}

/**
 * guc_exec_queue_timedout_job (gt->ordered_wq), v7.0. Stop submission; a false timeout re-arms.
 * Otherwise ban the queue and kick it off the hardware (DISABLE and wait for the ack, if the
 * GuC runs; no ack -> GT reset). A kernel or non-killed VM queue then gets a GT reset instead of
 * errors, twice at most (karma). Else the timed-out job gets -ETIME (-EIO after an engine reset
 * or CAT error) and every other pending job -ECANCELED; restart and run the TDR again at once.
 * Both bindings then answer "no hang": the jobs stay pending until their HW fences signal.
 */
export function* guc_exec_queue_timedout_job(job: xe_sched_job): Sleepable {
  const q = job.q;
  const k = q.kernel;
  const sched = q.guc!.sched;
  const guc = exec_queue_to_guc(q);
  let err = -ETIME;
  // The TDR fired before the free worker: the job is done, let it be freed.
  if (job.fence!.signaled) return;
  k.WARN_ON(exec_queue_destroyed(q), 'guc_exec_queue_timedout_job', `${q.name}: TDR on a destroyed queue`);
  yield* xe_sched_submission_stop(sched);
  const skip_timeout_check = exec_queue_reset(q) || exec_queue_killed_or_banned_or_wedged(q);
  // An LR queue has no timeout: only a kill or an error brings it here.
  k.WARN_ON(xe_exec_queue_is_lr(q) && !skip_timeout_check, 'guc_exec_queue_timedout_job', `${q.name}: TDR on a live long-running queue`);
  if (!skip_timeout_check && !check_timeout(q, job)) {
    trace_q(q, 'xe_exec_queue_false_timeout');
    xe_sched_submission_start(sched);
    return;
  }
  set_exec_queue_banned(q);
  // Kick the job / queue off the hardware.
  if (exec_queue_enabled(q) || exec_queue_pending_disable(q)) {
    if (exec_queue_reset(q)) err = -EIO;
    let ret = 1;
    if (guc.hw.running) {
      ret = yield* wait_event_timeout(k, guc.ct_wq,
        () => (!exec_queue_pending_enable(q) && !exec_queue_pending_disable(q)) || xe_guc_read_stopped(guc), HZ_5(k));
      if (ret !== 0 && !xe_guc_read_stopped(guc)) disable_scheduling(q, skip_timeout_check);
    }
    if (ret !== 0 && !xe_guc_read_stopped(guc)) {
      ret = yield* wait_event_timeout(k, guc.ct_wq,
        () => !guc.hw.running || !exec_queue_pending_disable(q) || xe_guc_read_stopped(guc), HZ_5(k));
    }
    if (ret === 0 || xe_guc_read_stopped(guc)) {
      // trigger_reset: the GuC does not answer; the GT reset owns the queue now.
      if (ret === 0) k.tp('xe_gt_warn', { message: 'Schedule disable failed to respond', queue: q.name });
      xe_gt_reset_async(q.gt);
      xe_sched_tdr_queue_imm(sched);
      xe_sched_submission_start(sched);
      return;
    }
  }
  if (k.trace.enabled) k.tp('xe_sched_job_timedout', { queue: q.name, seqno: job.lrc_seqno, killed: exec_queue_killed(q) });
  // Kernel jobs (and VM jobs of a live queue) must never fail: reset the GT, twice at most.
  if ((q.flags & EXEC_QUEUE_FLAG_KERNEL) !== 0 || ((q.flags & EXEC_QUEUE_FLAG_VM) !== 0 && !exec_queue_killed(q))) {
    k.violation_once(`xe_kernel_timeout:${q.name}`, 'warn', 'guc_exec_queue_timedout_job',
      `${q.name}: ${(q.flags & EXEC_QUEUE_FLAG_KERNEL) !== 0 ? 'Kernel-submitted job timed out' : 'VM job timed out on non-killed execqueue'}`);
    if (!xe_sched_invalidate_job(job, 2)) {
      xe_gt_reset_async(q.gt);
      xe_sched_submission_start(sched);
      return;
    }
  }
  xe_sched_job_set_error(job, err);
  // drm_sched unlinked `job` before calling the TDR, drm_dep keeps it listed: skip it either way.
  for (const other of sched.pending_jobs()) if (other !== job) xe_sched_job_set_error(other, -ECANCELED);
  xe_sched_submission_start(sched);
  xe_guc_exec_queue_trigger_cleanup(q);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: teardown                                                                    */

/** __guc_exec_queue_destroy_async (xe->destroy_wq): finalise the queue. */
function* __guc_exec_queue_destroy_async(work: work_struct): Sleepable {
  const ge = work.owner as xe_guc_exec_queue;
  trace_q(ge.q, 'xe_exec_queue_destroy');
  yield* ge.sched.exec_queue_fini();
}

/**
 * guc_exec_queue_destroy_async: the queue is finalised on xe->destroy_wq, never inline: the
 * caller may be the scheduler itself (free_job on its submit workqueue), which cannot finalise
 * itself. Any context.
 */
export function guc_exec_queue_destroy_async(q: xe_exec_queue): void {
  const ge = q.guc!;
  ge.destroy_async = INIT_WORK(q.kernel, __guc_exec_queue_destroy_async, 'destroy_async', ge);
  queue_work(q.xe.destroy_wq, ge.destroy_async);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: in-band messages                                                            */

const CLEANUP = 1;
const SET_SCHED_PROPS = 2;
const SUSPEND = 3;
const RESUME = 4;
const MSG_NAMES = ['', 'CLEANUP', 'SET_SCHED_PROPS', 'SUSPEND', 'RESUME'];
const STATIC_MSG_CLEANUP = 0;
const STATIC_MSG_SUSPEND = 1;
const STATIC_MSG_RESUME = 2;

function* __guc_exec_queue_process_msg_cleanup(msg: xe_sched_msg): Sleepable {
  const q = msg.private_data!;
  const guc = exec_queue_to_guc(q);
  trace_q(q, 'xe_exec_queue_cleanup_entity');
  if (exec_queue_registered(q) && guc.hw.running) yield* disable_scheduling_deregister(guc, q);
  else q.guc!.sched.destroy();
}

function guc_exec_queue_allowed_to_change_state(q: xe_exec_queue): boolean {
  return !exec_queue_killed_or_banned_or_wedged(q) && exec_queue_registered(q);
}

function __guc_exec_queue_process_msg_set_sched_props(msg: xe_sched_msg): void {
  const q = msg.private_data!;
  if (guc_exec_queue_allowed_to_change_state(q)) init_policies(exec_queue_to_guc(q), q);
  kfree(q.kernel, msg.alloc);
}

function __suspend_fence_signal(q: xe_exec_queue): void {
  const ge = q.guc!;
  if (!ge.suspend_pending) return;
  ge.suspend_pending = false;
  wake_up(q.kernel, ge.suspend_wait);
}

function suspend_fence_signal(q: xe_exec_queue): void {
  q.kernel.WARN_ON(!exec_queue_suspended(q) && !exec_queue_killed(q) && !xe_guc_read_stopped(exec_queue_to_guc(q)),
    'suspend_fence_signal', `${q.name}: not suspended`);
  __suspend_fence_signal(q);
}

/**
 * SUSPEND: wait for a pending resume to finish, honour vm->preempt.min_run_period_ms since the
 * last resume (msleep on the submit workqueue: run_job waits too), then DISABLE; the G2H
 * sched-done signals the suspend fence.
 */
function* __guc_exec_queue_process_msg_suspend(msg: xe_sched_msg): Sleepable {
  const q = msg.private_data!;
  const ge = q.guc!;
  const guc = exec_queue_to_guc(q);
  const k = q.kernel;
  if (guc_exec_queue_allowed_to_change_state(q) && !exec_queue_suspended(q) && exec_queue_enabled(q)) {
    yield* wait_event(k, guc.ct_wq, () => (ge.resume_time !== RESUME_PENDING || xe_guc_read_stopped(guc)) && !exec_queue_pending_disable(q));
    if (!xe_guc_read_stopped(guc)) {
      const since_resume_ms = Math.floor((k.ktime_get() - ge.resume_time) / 1_000_000);
      const wait_ms = q.vm.min_run_period_ms - since_resume_ms;
      if (wait_ms > 0 && ge.resume_time !== 0) yield* msleep(k, wait_ms);
      state_set(q, EXEC_QUEUE_STATE_SUSPENDED);
      disable_scheduling(q, false);
    }
  } else if (ge.suspend_pending) {
    state_set(q, EXEC_QUEUE_STATE_SUSPENDED);
    suspend_fence_signal(q);
  }
}

/** RESUME: clear suspended and, if disabled, ENABLE and wait for the ack. */
function* __guc_exec_queue_process_msg_resume(msg: xe_sched_msg): Sleepable {
  const q = msg.private_data!;
  if (guc_exec_queue_allowed_to_change_state(q)) {
    state_clear(q, EXEC_QUEUE_STATE_SUSPENDED);
    if (!exec_queue_enabled(q)) {
      q.guc!.resume_time = RESUME_PENDING;
      state_set(q, EXEC_QUEUE_STATE_PENDING_RESUME);
      yield* enable_scheduling(q);
    }
  } else {
    state_clear(q, EXEC_QUEUE_STATE_SUSPENDED);
  }
}

/** guc_exec_queue_process_msg: the message work's dispatcher (submit workqueue, may sleep). */
function* guc_exec_queue_process_msg(msg: xe_sched_msg): Sleepable {
  const q = msg.private_data!;
  const k = q.kernel;
  if (k.trace.enabled) k.tp('xe_sched_msg_recv', { queue: q.name, opcode: MSG_NAMES[msg.opcode] });
  switch (msg.opcode) {
    case CLEANUP: yield* __guc_exec_queue_process_msg_cleanup(msg); break;
    case SET_SCHED_PROPS: __guc_exec_queue_process_msg_set_sched_props(msg); break;
    case SUSPEND: yield* __guc_exec_queue_process_msg_suspend(msg); break;
    case RESUME: yield* __guc_exec_queue_process_msg_resume(msg); break;
    default: k.WARN_ON(true, 'guc_exec_queue_process_msg', 'Unknown message type');
  }
}

/** xe_sched_ops of every GuC exec queue. */
export const xe_sched_ops: xe_sched_backend_ops = {
  process_msg: guc_exec_queue_process_msg,
};

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: exec queue ops                                                              */

/** guc_exec_queue_init's timeout: job_timeout_ms, or MAX_SCHEDULE_TIMEOUT on an LR VM (jiffies). */
export function guc_exec_queue_timeout(q: xe_exec_queue): number {
  return xe_vm_in_lr_mode(q.vm) ? MAX_SCHEDULE_TIMEOUT : q.kernel.jiffies.msecs_to_jiffies(q.sched_props.job_timeout_ms);
}

/**
 * The start of guc_exec_queue_init: the GuC part of the queue around the binding's scheduler
 * wrapper. Returns 0 or -ENOMEM. Process context.
 */
export function guc_exec_queue_alloc(q: xe_exec_queue, sched: xe_gpu_scheduler): number {
  const ge = new xe_guc_exec_queue(q, sched);
  ge.alloc = kmalloc(q.kernel, 512, GFP_KERNEL, 'xe_guc_exec_queue');
  if (ge.alloc === null) return -ENOMEM;
  q.guc = ge;
  return 0;
}

/**
 * The end of guc_exec_queue_init, once the scheduler is up: a GuC id, and a queue created while
 * the GuC is stopped (GT reset in flight) starts stopped (xe_sched_stop). Returns 0.
 */
export function guc_exec_queue_add(q: xe_exec_queue): number {
  const guc = exec_queue_to_guc(q);
  const ss = guc.submission_state;
  mutex_lock(ss.lock);
  alloc_guc_id(guc, q);
  if (xe_guc_read_stopped(guc)) run_nonblocking(q.kernel, q.guc!.sched.stop(), 'xe_sched_stop');
  mutex_unlock(ss.lock);
  trace_q(q, 'xe_exec_queue_create');
  return 0;
}

/**
 * guc_exec_queue_kill: KILLED, release a suspend waiter, the scheduler's kill (drm_dep: patch 10,
 * no new job runs and unstarted ones complete with -ECANCELED), and a TDR now, which bans the
 * queue and errors the in-flight jobs.
 */
function guc_exec_queue_kill(q: xe_exec_queue): void {
  trace_q(q, 'xe_exec_queue_kill');
  state_set(q, EXEC_QUEUE_STATE_KILLED);
  __suspend_fence_signal(q);
  q.guc!.sched.kill();
  xe_guc_exec_queue_trigger_cleanup(q);
}

function guc_exec_queue_add_msg(q: xe_exec_queue, msg: xe_sched_msg, opcode: number, locked: boolean): void {
  msg.opcode = opcode;
  msg.private_data = q;
  if (q.kernel.trace.enabled) q.kernel.tp('xe_sched_msg_add', { queue: q.name, opcode: MSG_NAMES[opcode] });
  if (locked) xe_sched_add_msg_locked(q.guc!.sched, msg);
  else xe_sched_add_msg(q.guc!.sched, msg);
}

function guc_exec_queue_try_add_msg(q: xe_exec_queue, msg: xe_sched_msg, opcode: number): boolean {
  if (msg.linked) return false;
  guc_exec_queue_add_msg(q, msg, opcode, true);
  return true;
}

/**
 * guc_exec_queue_destroy: the queue's last reference is gone (drm_sched: the final
 * xe_exec_queue_put; drm_dep: ops.release from drm_dep's teardown work). The static CLEANUP
 * message disables and deregisters the context; its G2H replies end in the scheduler's destroy.
 */
export function guc_exec_queue_destroy(q: xe_exec_queue): void {
  guc_exec_queue_add_msg(q, q.guc!.static_msgs[STATIC_MSG_CLEANUP], CLEANUP, false);
}

/** set_priority ioctl path: a kmalloc'ed SET_SCHED_PROPS message. */
function guc_exec_queue_set_priority(xq: XeExecQueue, priority: number): number {
  const q = xq as xe_exec_queue;
  if (q.sched_props.priority === priority || exec_queue_killed_or_banned_or_wedged(q)) return 0;
  const alloc = kmalloc(q.kernel, 32, GFP_KERNEL, 'xe_sched_msg');
  if (alloc === null) return -ENOMEM;
  const msg = new xe_sched_msg();
  msg.alloc = alloc;
  q.sched_props.priority = priority;
  guc_exec_queue_add_msg(q, msg, SET_SCHED_PROPS, false);
  return 0;
}

function guc_exec_queue_suspend(xq: XeExecQueue): number {
  const q = xq as xe_exec_queue;
  const sched = q.guc!.sched;
  if (exec_queue_killed_or_banned_or_wedged(q)) return -EINVAL;
  const flags = xe_sched_msg_lock(sched);
  if (guc_exec_queue_try_add_msg(q, q.guc!.static_msgs[STATIC_MSG_SUSPEND], SUSPEND)) q.guc!.suspend_pending = true;
  xe_sched_msg_unlock(sched, flags);
  return 0;
}

/** suspend_wait: up to 5 s for the suspend to land; -ETIME otherwise. May sleep. */
function* guc_exec_queue_suspend_wait(xq: XeExecQueue): Sleepable<number> {
  const q = xq as xe_exec_queue;
  const guc = exec_queue_to_guc(q);
  const k = q.kernel;
  const ret = yield* wait_event_timeout(k, q.guc!.suspend_wait,
    () => !q.guc!.suspend_pending || exec_queue_killed(q) || xe_guc_read_stopped(guc), HZ_5(k));
  if (ret === 0) {
    k.tp('xe_gt_warn', { message: 'Suspend fence failed to respond', queue: q.name });
    return -ETIME;
  }
  return 0;
}

function guc_exec_queue_resume(xq: XeExecQueue): void {
  const q = xq as xe_exec_queue;
  const sched = q.guc!.sched;
  q.kernel.WARN_ON(q.guc!.suspend_pending, 'guc_exec_queue_resume', `${q.name}: resume with a suspend pending`);
  const flags = xe_sched_msg_lock(sched);
  guc_exec_queue_try_add_msg(q, q.guc!.static_msgs[STATIC_MSG_RESUME], RESUME);
  xe_sched_msg_unlock(sched, flags);
}

function guc_exec_queue_reset_status(xq: XeExecQueue): boolean {
  const q = xq as xe_exec_queue;
  return exec_queue_reset(q) || exec_queue_killed_or_banned_or_wedged(q);
}

const guc_exec_queue_ops: xe_exec_queue_ops = {
  kill: (q) => guc_exec_queue_kill(q as xe_exec_queue),
  set_priority: guc_exec_queue_set_priority,
  suspend: guc_exec_queue_suspend,
  suspend_wait: guc_exec_queue_suspend_wait,
  resume: guc_exec_queue_resume,
  reset_status: guc_exec_queue_reset_status,
};

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: GT reset                                                                    */

/**
 * guc_exec_queue_stop: stop submission, clean up the G2H state the reset lost, and ban a user
 * queue whose first unsignalled pending job started and did not complete (or went through
 * two resets). No LR special case since ddb5cf9b90c5.
 */
function* guc_exec_queue_stop(q: xe_exec_queue): Sleepable {
  const sched = q.guc!.sched;
  yield* xe_sched_submission_stop(sched);
  if (exec_queue_registered(q) && exec_queue_destroyed(q)) sched.destroy();
  if (q.guc!.suspend_pending) {
    state_set(q, EXEC_QUEUE_STATE_SUSPENDED);
    suspend_fence_signal(q);
  }
  q.guc!.state &= EXEC_QUEUE_STATE_WEDGED | EXEC_QUEUE_STATE_BANNED | EXEC_QUEUE_STATE_KILLED |
    EXEC_QUEUE_STATE_DESTROYED | EXEC_QUEUE_STATE_SUSPENDED;
  q.guc!.resume_time = 0;
  trace_q(q, 'xe_exec_queue_stop');
  if ((q.flags & (EXEC_QUEUE_FLAG_KERNEL | EXEC_QUEUE_FLAG_VM)) === 0) {
    const job = xe_sched_first_pending_job(sched);
    if (job !== null && ((xe_sched_job_started(job) && !xe_sched_job_completed(job)) || xe_sched_invalidate_job(job, 2))) {
      set_exec_queue_banned(q);
      xe_guc_exec_queue_trigger_cleanup(q);
    }
  }
}

/** xe_guc_submit_reset_prepare: stopped = 1, wake every CT waiter. Returns the old value. */
function xe_guc_submit_reset_prepare(guc: xe_guc): number {
  const ret = guc.submission_state.stopped;
  guc.submission_state.stopped = 1;
  wake_up_all(guc.kernel, guc.ct_wq);
  return ret;
}

/** xe_guc_submit_stop: stop every queue of the GuC id table (which holds no reference). */
function* xe_guc_submit_stop(guc: xe_guc): Sleepable {
  const ss = guc.submission_state;
  yield* mutex_lock_sleepable(ss.lock);
  for (const q of [...ss.exec_queue_lookup.values()]) yield* guc_exec_queue_stop(q as xe_exec_queue);
  mutex_unlock(ss.lock);
}

/**
 * guc_exec_queue_start (v7.0): a live queue rewinds its ring to its first unsignalled pending
 * job and runs every unsignalled pending job again (xe_sched_resubmit_jobs, no
 * drm_sched_resubmit_jobs); then restart and re-arm the TDR.
 */
function guc_exec_queue_start(q: xe_exec_queue): void {
  const sched = q.guc!.sched;
  if (!exec_queue_killed_or_banned_or_wedged(q)) {
    const job = xe_sched_first_pending_job(sched);
    trace_q(q, 'xe_exec_queue_resubmit');
    if (job !== null && job.ring_head >= 0) {
      q.lrc.rewind(job.ring_head);
      q.lrc.ring_tail_hw = q.lrc.head; // xe_lrc_set_ring_tail(lrc, xe_lrc_ring_head(lrc))
    }
    xe_sched_resubmit_jobs(sched);
  }
  xe_sched_submission_start(sched);
  xe_sched_submission_resume_tdr(sched);
}

function* xe_guc_submit_start(guc: xe_guc): Sleepable {
  const ss = guc.submission_state;
  yield* mutex_lock_sleepable(ss.lock);
  ss.stopped = 0;
  for (const q of [...ss.exec_queue_lookup.values()]) guc_exec_queue_start(q as xe_exec_queue);
  mutex_unlock(ss.lock);
  wake_up_all(guc.kernel, guc.ct_wq);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: G2H handlers                                                                */

function g2h_exec_queue_lookup(guc: xe_guc, guc_id: number): xe_exec_queue | null {
  const q = (guc.submission_state.exec_queue_lookup.get(guc_id) as xe_exec_queue | undefined) ?? null;
  if (q === null) guc.kernel.tp('xe_gt_err', { message: `No exec queue found for guc_id ${guc_id}` });
  return q;
}

function deregister_exec_queue(guc: xe_guc, q: xe_exec_queue): void {
  trace_q(q, 'xe_exec_queue_deregister');
  xe_guc_ct_send(guc, XE_GUC_ACTION_DEREGISTER_CONTEXT, q.guc!.id, 0, null);
}

function handle_sched_done(guc: xe_guc, q: xe_exec_queue, runnable_state: number): void {
  const ge = q.guc!;
  trace_q(q, 'xe_exec_queue_scheduling_done');
  if (runnable_state === 1) {
    q.kernel.WARN_ON(!exec_queue_pending_enable(q), 'handle_sched_done', `${q.name}: enable done without pending enable`);
    ge.resume_time = q.kernel.ktime_get();
    state_clear(q, EXEC_QUEUE_STATE_PENDING_RESUME | EXEC_QUEUE_STATE_PENDING_ENABLE);
    wake_up_all(q.kernel, guc.ct_wq);
  } else if (ge.suspend_pending) {
    suspend_fence_signal(q);
    state_clear(q, EXEC_QUEUE_STATE_PENDING_DISABLE);
  } else {
    if (exec_queue_banned(q)) wake_up_all(q.kernel, guc.ct_wq);
    state_clear(q, EXEC_QUEUE_STATE_PENDING_DISABLE);
    if (exec_queue_destroyed(q)) deregister_exec_queue(guc, q);
  }
}

function handle_deregister_done(q: xe_exec_queue): void {
  trace_q(q, 'xe_exec_queue_deregister_done');
  state_clear(q, EXEC_QUEUE_STATE_REGISTERED);
  q.guc!.sched.destroy();
}

/** Engine reset or memory CAT error notification: RESET, then the TDR bans the queue (-EIO). */
function handle_exec_queue_reset(guc: xe_guc, guc_id: number, what: string): void {
  const q = g2h_exec_queue_lookup(guc, guc_id);
  if (q === null) return;
  guc.kernel.tp('xe_gt_info', { message: what, queue: q.name, guc_id });
  trace_q(q, 'xe_exec_queue_reset');
  state_set(q, EXEC_QUEUE_STATE_RESET);
  if (!exec_queue_banned(q)) xe_guc_exec_queue_trigger_cleanup(q);
}

/** The G2H handlers about exec queues (xe_guc_*_handler), run by the G2H worker. */
const xe_guc_submit_g2h = {
  sched_done(guc: xe_guc, guc_id: number, runnable_state: number): void {
    const q = g2h_exec_queue_lookup(guc, guc_id);
    if (q === null) return;
    if (!exec_queue_pending_enable(q) && !exec_queue_pending_disable(q)) {
      guc.kernel.tp('xe_gt_err', { message: 'SCHED_DONE: Unexpected engine state', queue: q.name, state: q.guc!.state });
      return;
    }
    handle_sched_done(guc, q, runnable_state);
  },
  deregister_done(guc: xe_guc, guc_id: number): void {
    const q = g2h_exec_queue_lookup(guc, guc_id);
    if (q === null) return;
    if (!exec_queue_destroyed(q) || exec_queue_pending_disable(q) || exec_queue_pending_enable(q) || exec_queue_enabled(q)) {
      guc.kernel.tp('xe_gt_err', { message: 'DEREGISTER_DONE: Unexpected engine state', queue: q.name, state: q.guc!.state });
      return;
    }
    handle_deregister_done(q);
  },
  exec_queue_reset: (guc: xe_guc, guc_id: number) => handle_exec_queue_reset(guc, guc_id, 'Engine reset'),
  exec_queue_memory_cat_error: (guc: xe_guc, guc_id: number) => handle_exec_queue_reset(guc, guc_id, 'Engine memory CAT error'),
};

/* ------------------------------------------------------------------------------------------ */
/* xe_gt.c: GT reset                                                                            */

/** xe_gt_reset_async: unless a reset is already in flight, queue the reset worker. Any context. */
export function xe_gt_reset_async(gt: xe_gt): void {
  gt.kernel.tp('xe_gt_reset_async', { stopped: gt.guc.submission_state.stopped });
  if (xe_guc_submit_reset_prepare(gt.guc) !== 0) return;
  queue_work(gt.ordered_wq, gt.reset_worker!);
}

/** gt_reset_worker (gt->ordered_wq): stop every queue, reset the hardware, restart. */
function* gt_reset_worker(work: work_struct): Sleepable {
  const gt = work.owner as xe_gt;
  const k = gt.kernel;
  k.tp('xe_gt_reset', { phase: 'start' });
  yield* xe_guc_submit_stop(gt.guc);
  xe_tlb_inval_reset(gt.tlb_inval);
  xe_hw_gt_reset(gt.hw);
  yield* fsleep(k, Math.ceil(k.cost_of('xe.gt_reset_ns', 20_000_000) / 1000));
  xe_hw_gt_restart(gt.hw);
  yield* xe_guc_submit_start(gt.guc);
  k.tp('xe_gt_reset', { phase: 'done' });
}

/**
 * xe_guc_submit_init: install the G2H handlers and the GT reset worker; while tracing, also
 * deplab_job_hw_start: the engine's first start of a job's ring entry names the job by the
 * finished fence the ioctl recorded at arm (both bindings alike).
 */
export function xe_guc_submit_init(xe: xe_device): void {
  xe.gt.guc.handlers = xe_guc_submit_g2h;
  xe.gt.reset_worker = INIT_WORK(xe.kernel, gt_reset_worker, 'gt->reset.worker', xe.gt);
  const hw_start = (xe.hw_start = job_hw_start_trace(xe.kernel));
  if (hw_start !== null) xe.hw.job_started = (job) => hw_start.started(job);
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                      */

/**
 * Drive a sleeping function that cannot sleep in this state (e.g. stopping a fresh queue) from
 * a non-sleeping caller; if it would sleep, that is a model error.
 */
function run_nonblocking(k: Kernel, gen: Sleepable, site: string): void {
  const r = gen.next();
  if (r.done !== true) k.violation('model_error', site, `${site} would sleep in a context the model cannot suspend`);
}

/** The GuC state of a queue for the Device's queue_state() (XeBinding.queue_detail). */
export function guc_exec_queue_detail(q: xe_exec_queue): Record<string, number | string | boolean> {
  const ge = q.guc!;
  return {
    guc_id: ge.id, state: ge.state, registered: exec_queue_registered(q), enabled: exec_queue_enabled(q),
    suspended: exec_queue_suspended(q), killed: exec_queue_killed(q), banned: exec_queue_banned(q), reset: exec_queue_reset(q),
    msgs: ge.sched.msgs.length,
  };
}
