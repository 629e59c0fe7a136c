/**
 * xe_gpu_scheduler.[ch] as of v7.0: the wrapper xe_guc_submit.c calls instead of the scheduler,
 * shared by both bindings. The in-band message list (xe_sched_msg, processed one message per
 * work item on the submit workqueue run_job uses, so state changes never race job submission)
 * is written here once. What depends on the scheduler underneath (stop/start, the TDR, the
 * pending list) is the abstract part of `xe_gpu_scheduler` that each binding implements:
 * on-sched.ts on a drm_gpu_scheduler, on-dep.ts on the exec queue's drm_dep_queue (the RFC's
 * patch 06 keeps the wrapper).
 *
 * Upstream reference: xe_gpu_scheduler.h as in torvalds/linux after commit 95f27831ee3c ("drm/xe:
 * Stop abusing DRM scheduler internals", v7.0): xe_sched_first_pending_job and
 * xe_sched_resubmit_jobs walk the stopped scheduler with drm_sched_for_each_pending_job and skip
 * jobs drm_sched_job_is_signaled() reports done; the message lock is the wrapper's own (commit
 * e70f43c21dbf "drm/xe: Add dedicated message lock").
 */
import {
  INIT_WORK, cancel_work_sync, queue_work, spin_lock, spin_lock_init, spin_lock_irqsave, spin_unlock,
  spin_unlock_irqrestore,
  type Allocation, type Kernel, type Sleepable, type spinlock_t, type work_struct, type workqueue_struct,
} from '@deplab/sim';
import type { xe_exec_queue, xe_sched_job } from './xe_guc_submit.ts';

/** struct xe_sched_msg. */
export class xe_sched_msg {
  /** !list_empty(&msg->link) */
  linked = false;
  private_data: xe_exec_queue | null = null;
  opcode = 0;
  /** kmalloc'ed messages (SET_SCHED_PROPS); static ones have none. */
  alloc: Allocation | null = null;
}

export interface xe_sched_backend_ops {
  process_msg(msg: xe_sched_msg): Sleepable;
}

/**
 * struct xe_gpu_scheduler: the message list around the scheduler of one exec queue. The
 * abstract methods are the scheduler's side, one implementation per binding; each is called
 * only through the xe_sched_* function of the same name below, as xe_guc_submit.c does.
 */
export abstract class xe_gpu_scheduler {
  readonly kernel: Kernel;
  ops: xe_sched_backend_ops | null = null;
  readonly msgs: xe_sched_msg[] = [];
  /** The dedicated message lock; IRQ-safe (spin_lock_irqsave) with RFC patch 07. */
  readonly msg_lock: spinlock_t;
  readonly msg_lock_irqsave: boolean;
  work_process_msg: work_struct | null = null;
  /**
   * The submit workqueue run_job and the messages share. Upstream passes NULL to drm_sched and
   * reads sched->base.submit_wq back; both bindings allocate it and hand it to the scheduler.
   */
  submit_wq: workqueue_struct | null = null;

  constructor(kernel: Kernel, msg_lock_irqsave: boolean) {
    this.kernel = kernel;
    this.msg_lock = spin_lock_init(kernel, '&sched->msg_lock');
    this.msg_lock_irqsave = msg_lock_irqsave;
  }

  /** Submission is stopped: drm_sched_is_stopped() (drm_sched), the driver's own flag (drm_dep). */
  abstract is_stopped(): boolean;
  /** The scheduler half of xe_sched_submission_start. Any context. */
  abstract wqueue_start(): void;
  /** The scheduler half of xe_sched_submission_stop. May sleep. */
  abstract wqueue_stop(): Sleepable;
  /** xe_sched_stop: a queue created while the GuC is stopped starts stopped. Must not sleep here. */
  abstract stop(): Sleepable;
  abstract submission_resume_tdr(): void;
  abstract tdr_queue_imm(): void;
  /** The jobs handed to run_job and not yet freed, oldest first. Submission must be stopped. */
  abstract pending_jobs(): xe_sched_job[];
  /** drm_sched_job_is_signaled (drm_sched) / drm_dep_job_is_signaled (drm_dep). Stopped only. */
  abstract job_is_signaled(job: xe_sched_job): boolean;
  /** Run `job` again into the rewound ring: what xe_sched_resubmit_jobs calls per job. */
  abstract resubmit_job(job: xe_sched_job): void;
  /** drm_sched_invalidate_job (drm_sched karma) or the driver's own counter (drm_dep). */
  abstract invalidate_job(job: xe_sched_job, threshold: number): boolean;
  /** The scheduler's part of a ban or kill: nothing on drm_sched, drm_dep_queue_kill (patch 10). */
  abstract kill(): void;
  /** __guc_exec_queue_destroy: the firmware no longer refers to the queue. Any context. */
  abstract destroy(): void;
  /** xe_exec_queue_fini of the destroy worker. May sleep. */
  abstract exec_queue_fini(): Sleepable;
}

/** Flags to hand back to xe_sched_msg_unlock (0 without irqsave). */
export function xe_sched_msg_lock(sched: xe_gpu_scheduler): number {
  if (sched.msg_lock_irqsave) return spin_lock_irqsave(sched.msg_lock);
  spin_lock(sched.msg_lock);
  return 0;
}

export function xe_sched_msg_unlock(sched: xe_gpu_scheduler, flags: number): void {
  if (sched.msg_lock_irqsave) spin_unlock_irqrestore(sched.msg_lock, flags);
  else spin_unlock(sched.msg_lock);
}

/** Queue the message work on the submit workqueue (the one run_job uses) unless stopped. */
function xe_sched_process_msg_queue(sched: xe_gpu_scheduler): void {
  if (!sched.is_stopped()) queue_work(sched.submit_wq!, sched.work_process_msg!);
}

function xe_sched_process_msg_queue_if_ready(sched: xe_gpu_scheduler): void {
  const flags = xe_sched_msg_lock(sched);
  if (sched.msgs.length > 0) xe_sched_process_msg_queue(sched);
  xe_sched_msg_unlock(sched, flags);
}

function xe_sched_get_msg(sched: xe_gpu_scheduler): xe_sched_msg | null {
  const flags = xe_sched_msg_lock(sched);
  const msg = sched.msgs.shift() ?? null;
  if (msg !== null) msg.linked = false;
  xe_sched_msg_unlock(sched, flags);
  return msg;
}

/** xe_sched_process_msg_work: one message per run, serialised with run_job (ordered wq). */
function* xe_sched_process_msg_work(work: work_struct): Sleepable {
  const sched = work.owner as xe_gpu_scheduler;
  if (sched.is_stopped()) return;
  const msg = xe_sched_get_msg(sched);
  if (msg !== null) {
    yield* sched.ops!.process_msg(msg);
    xe_sched_process_msg_queue_if_ready(sched);
  }
}

/** The message half of xe_sched_init: the ops and the work item on `submit_wq`. */
export function xe_sched_init_msgs(sched: xe_gpu_scheduler, xe_ops: xe_sched_backend_ops, submit_wq: workqueue_struct): void {
  sched.ops = xe_ops;
  sched.submit_wq = submit_wq;
  sched.work_process_msg = INIT_WORK(sched.kernel, xe_sched_process_msg_work, '&sched->work_process_msg', sched);
}

export function xe_sched_submission_start(sched: xe_gpu_scheduler): void {
  sched.wqueue_start();
  queue_work(sched.submit_wq!, sched.work_process_msg!);
}

export function* xe_sched_submission_stop(sched: xe_gpu_scheduler): Sleepable {
  yield* sched.wqueue_stop();
  yield* cancel_work_sync(sched.work_process_msg!);
}

export function xe_sched_submission_resume_tdr(sched: xe_gpu_scheduler): void {
  sched.submission_resume_tdr();
}

export function xe_sched_add_msg(sched: xe_gpu_scheduler, msg: xe_sched_msg): void {
  const flags = xe_sched_msg_lock(sched);
  xe_sched_add_msg_locked(sched, msg);
  xe_sched_msg_unlock(sched, flags);
}

export function xe_sched_add_msg_locked(sched: xe_gpu_scheduler, msg: xe_sched_msg): void {
  msg.private_data!.kernel.lifetime.use(msg.private_data!.id, 'xe_sched_add_msg');
  msg.linked = true;
  sched.msgs.push(msg);
  xe_sched_process_msg_queue(sched);
}

export function xe_sched_tdr_queue_imm(sched: xe_gpu_scheduler): void {
  sched.tdr_queue_imm();
}

/**
 * xe_sched_resubmit_jobs (v7.0): on the stopped scheduler, run every pending job again that has
 * not signalled (upstream calls sched->base.ops->run_job itself; the VF replay flag is not
 * modelled). drm_sched_resubmit_jobs is no longer used.
 */
export function xe_sched_resubmit_jobs(sched: xe_gpu_scheduler): void {
  for (const job of sched.pending_jobs()) {
    if (!sched.job_is_signaled(job)) sched.resubmit_job(job);
  }
}

export function xe_sched_invalidate_job(job: xe_sched_job, threshold: number): boolean {
  return job.q.guc!.sched.invalidate_job(job, threshold);
}

/** xe_sched_first_pending_job (v7.0): the oldest pending job that has not signalled, or null. */
export function xe_sched_first_pending_job(sched: xe_gpu_scheduler): xe_sched_job | null {
  for (const job of sched.pending_jobs()) {
    if (!sched.job_is_signaled(job)) return job;
  }
  return null;
}
