/**
 * xe (GuC submission) bound to drm_dep, as the RFC conversion does it ("[RFC PATCH 00/12]
 * Introduce DRM dep queue", patches 03-10), on top of xe at v7.0. The patch bodies are not
 * public: every choice the cover letter does not settle is marked [I] and listed in the README
 * ("Assumptions"). Everything that calls no scheduler is shared with on-sched.ts
 * (xe_guc_submit.ts, xe_gpu_scheduler.ts, xe_device.ts); this file holds the same parts in the
 * same order, converted, so `diff on-sched.ts on-dep.ts` is the conversion:
 *   03 WQ_MEM_WARN_ON_RECLAIM on the reclaim-path workqueues (xe_device_params, and the
 *      per-queue submit workqueue below);
 *   05 xe_sched_job_arm returns the fence; the job's kref is drm_dep's;
 *   06 one drm_dep_queue per exec queue (no entity), the xe_gpu_scheduler wrapper kept [I: on a
 *      driver-allocated ordered submit workqueue handed to drm_dep, so messages stay
 *      serialised with run_job]; xe_dep_scheduler is a thin drm_dep_queue;
 *   07 the message lock is IRQ-safe;
 *   08 the exec queue IS the drm_dep_queue: its lifetime is the queue refcount, the async
 *      release sends DISABLE + DEREGISTER (the CLEANUP message) and completes with
 *      drm_dep_queue_release_done from the DEREGISTER_DONE handler;
 *   09 DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE on GuC-backed queues;
 *   10 kill = drm_dep_queue_kill (+ the immediate TDR for in-flight jobs); a banned queue is
 *      killed too, so its unstarted jobs are cancelled in order [I].
 * Paths that reach a queue without holding a reference of their own (the GT-reset walk of the
 * GuC id table, the G2H handlers, the in-band messages) call drm_dep only through
 * xe_exec_queue_get_unless_zero, as the RFC's own workers do with kref_get_unless_zero [I].
 * Not available on drm_dep, replaced [I]: drm_sched's karma (a driver counter),
 * drm_sched_tdr_queue_imm (the one-shot drm_dep_queue_trigger_timeout).
 */
import {
  ENOMEM, GFP_KERNEL, MAX_SCHEDULE_TIMEOUT, WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM, alloc_ordered_workqueue,
  cancel_work_sync, destroy_workqueue, dma_fence_get, dma_fence_get_stub, dma_fence_is_signaled, dma_fence_put,
  drain_workqueue, kfree, kmalloc, ETIME,
  type Allocation, type Kernel, type Sleepable, type dma_fence, type workqueue_struct,
} from '@deplab/sim';
import {
  DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS, DRM_DEP_TIMEDOUT_NO_HANG, drm_dep_device,
  drm_dep_device_queue_count, drm_dep_device_wait_idle, drm_dep_job, drm_dep_job_add_dependency, drm_dep_job_arm,
  drm_dep_job_finished_fence, drm_dep_job_init, drm_dep_job_is_signaled, drm_dep_job_push, drm_dep_job_put, drm_dep_queue,
  drm_dep_queue_for_each_pending_job, drm_dep_queue_get, drm_dep_queue_get_unless_zero, drm_dep_queue_init,
  drm_dep_queue_kill, drm_dep_queue_put, drm_dep_queue_release_done, drm_dep_queue_start, drm_dep_queue_stop,
  drm_dep_queue_trigger_timeout,
  type drm_dep_queue_ops, type drm_dep_timedout_stat,
} from '@deplab/drm-dep';
import { XE_RING_JOB_LIMIT, type xe_hw_job } from './hw.ts';
import {
  MAX_TLB_INVAL_JOBS, xe_hw_fence_alloc, xe_hw_fence_free, xe_hw_fence_init, xe_tlb_inval_fence_alloc,
  xe_tlb_inval_fence_init, xe_tlb_inval_range, xe_vm_get, xe_vm_put,
  type XeBinding, type XeExecQueue, type XeSchedJob, type XeTlbInvalJob, type xe_device, type xe_exec_queue_sched_props,
  type xe_gt, type xe_tlb_inval_fence, type xe_vm,
} from './xe_device.ts';
import {
  xe_gpu_scheduler, xe_sched_init_msgs, xe_sched_submission_stop, type xe_sched_backend_ops,
} from './xe_gpu_scheduler.ts';
import {
  __guc_exec_queue_run_job, guc_exec_queue_add, guc_exec_queue_alloc, guc_exec_queue_destroy, guc_exec_queue_destroy_async,
  guc_exec_queue_detail, guc_exec_queue_timedout_job, guc_exec_queue_timeout, release_guc_id, xe_exec_queue_free,
  xe_exec_queue_init, xe_exec_queue_kill, xe_exec_queue_struct, xe_gt_reset_async, xe_guc_submit_init, xe_sched_job_alloc,
  xe_sched_job_free, xe_sched_job_struct, xe_sched_ops,
  type xe_exec_queue_init_args, type xe_sched_job as xe_sched_job_common, type xe_sched_job_init_args,
} from './xe_guc_submit.ts';
import {
  xe_tlb_inval_job_alloc, xe_tlb_inval_job_free, xe_tlb_inval_job_run, xe_tlb_inval_job_struct,
  type xe_tlb_inval_job_init_args,
} from './xe_tlb_inval_job.ts';

/* ------------------------------------------------------------------------------------------ */
/* Structures                                                                                   */

/** struct xe_exec_queue, patch 08: embeds the drm_dep_queue, whose refcount is the queue's. */
export class xe_exec_queue extends xe_exec_queue_struct(drm_dep_queue) {
  /** Dependency scheduler for TLB invalidations (VM and migrate queues). */
  tlb_dep_scheduler: xe_dep_scheduler | null = null;

  constructor(args: xe_exec_queue_init_args) {
    super(args);
  }
}

/** struct xe_sched_job, patch 05: a drm_dep_job with the shared fields; its references are drm_dep's. */
export class xe_sched_job extends xe_sched_job_struct(drm_dep_job) {
  declare readonly q: xe_exec_queue;
  /** drm_dep has no karma: the driver counts invalidations itself [I]. */
  karma = 0;

  constructor(args: xe_sched_job_init_args & { q: xe_exec_queue }) {
    super(args);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* xe_gpu_scheduler.[ch]: the drm_dep half                                                      */

/**
 * struct xe_gpu_scheduler, kept as a wrapper around the exec queue's drm_dep_queue: the
 * in-band messages on the submit workqueue the driver gives drm_dep [I].
 */
export class xe_gpu_scheduler_dep extends xe_gpu_scheduler {
  readonly q: xe_exec_queue;
  /** Submission stopped: drm_dep's flag is out of reach once the last reference is gone. */
  stopped = false;
  /** ops.free_queue ran: drm_dep's part of the queue is gone, only the destroy worker remains. */
  freed = false;

  constructor(q: xe_exec_queue) {
    super(q.kernel, true); // patch 07: IRQ-safe message lock
    this.q = q;
  }

  is_stopped(): boolean {
    return this.stopped;
  }

  wqueue_start(): void {
    this.stopped = false;
    with_queue_ref(this.q, (q) => drm_dep_queue_start(q));
  }

  *wqueue_stop(): Sleepable {
    this.stopped = true;
    const q = xe_exec_queue_get_unless_zero(this.q);
    if (q === null) return;
    yield* drm_dep_queue_stop(q);
    drm_dep_queue_put(q);
  }

  *stop(): Sleepable {
    yield* xe_sched_submission_stop(this);
  }

  /** drm_dep_queue_start re-arms the TDR with a full timeout already: nothing left to do [I]. */
  submission_resume_tdr(): void {}

  /** drm_sched_tdr_queue_imm becomes the one-shot drm_dep_queue_trigger_timeout [I]. */
  tdr_queue_imm(): void {
    with_queue_ref(this.q, (q) => drm_dep_queue_trigger_timeout(q));
  }

  /** A queue whose last reference is gone has no job left (each job holds one). */
  pending_jobs(): xe_sched_job_common[] {
    const jobs: xe_sched_job[] = [];
    with_queue_ref(this.q, (q) => drm_dep_queue_for_each_pending_job<xe_sched_job>(q, (job) => { jobs.push(job); }));
    return jobs;
  }

  job_is_signaled(job: xe_sched_job_common): boolean {
    return drm_dep_job_is_signaled(job as xe_sched_job);
  }

  /**
   * No drm_sched_resubmit_jobs on drm_dep: run_job's own body re-emits the job into the rewound
   * ring, with its checks (dead queue, job already errored); the HW fence keeps drm_dep's
   * callback, so no reference is taken [I].
   */
  resubmit_job(job: xe_sched_job_common): void {
    __guc_exec_queue_run_job(job);
  }

  /** drm_dep has no karma: xe counts on its own job [I]. */
  invalidate_job(job: xe_sched_job_common, threshold: number): boolean {
    return ++(job as xe_sched_job).karma > threshold;
  }

  /** Patch 10: no job that has not reached run_job will run. */
  kill(): void {
    with_queue_ref(this.q, (q) => drm_dep_queue_kill(q));
  }

  /** __guc_exec_queue_destroy: the firmware no longer refers to the queue (patch 08) [I]. Any context. */
  destroy(): void {
    drm_dep_queue_release_done(this.q);
  }

  /** xe_exec_queue_fini (destroy worker): the dependency scheduler, the GuC backend, the queue. */
  *exec_queue_fini(): Sleepable {
    if (this.q.tlb_dep_scheduler !== null) xe_dep_scheduler_fini(this.q.tlb_dep_scheduler);
    yield* guc_exec_queue_fini(this.q);
    xe_exec_queue_free(this.q);
  }
}

function sched_of(q: xe_exec_queue): xe_gpu_scheduler_dep {
  return q.guc!.sched as xe_gpu_scheduler_dep;
}

/**
 * xe_exec_queue_get_unless_zero: a reference on the exec queue unless its last one is gone
 * (drm_dep's teardown has started). Any context. After ops.free_queue the memory is still the
 * driver's until its destroy worker runs, and the refcount there reads zero; the model's drm_dep
 * has ended that queue's lifetime, so the driver answers from its own flag.
 */
function xe_exec_queue_get_unless_zero(q: xe_exec_queue): xe_exec_queue | null {
  if (sched_of(q).freed) return null;
  return drm_dep_queue_get_unless_zero(q);
}

/** Call `fn` holding a reference on `q`, unless its last reference is gone. */
function with_queue_ref(q: xe_exec_queue, fn: (q: xe_exec_queue) => void): void {
  const ref = xe_exec_queue_get_unless_zero(q);
  if (ref === null) return;
  fn(ref);
  drm_dep_queue_put(ref);
}

/**
 * xe_sched_init: the driver allocates the ordered submit workqueue (patch 03 annotation) and
 * hands it to drm_dep with gt->ordered_wq for the TDR. Process context.
 */
function xe_sched_init(sched: xe_gpu_scheduler_dep, ops: drm_dep_queue_ops<xe_sched_job, xe_exec_queue>, xe_ops: xe_sched_backend_ops,
  hw_submission: number, flags: number, timeout: number, timeout_wq: xe_gt['ordered_wq'], name: string): number {
  xe_sched_init_msgs(sched, xe_ops, alloc_ordered_workqueue(sched.kernel, name, WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM));
  return drm_dep_queue_init(sched.q, {
    ops, name, flags, credit_limit: hw_submission, timeout, submit_wq: sched.submit_wq, timeout_wq, dev: dep_device_of(sched.q.xe),
  });
}

/** drm_dep freed its part: cancel the message work and destroy the driver's submit wq. */
function* xe_sched_fini(sched: xe_gpu_scheduler_dep): Sleepable {
  yield* cancel_work_sync(sched.work_process_msg!);
  yield* destroy_workqueue(sched.submit_wq!);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: the drm_dep ops, init and fini                                              */

/**
 * guc_exec_queue_run_job (submit workqueue, or the pusher with SUBMIT_BYPASS). Returns the HW
 * fence with the reference drm_dep keeps, taken here rather than at arm: a job cancelled by
 * kill never reaches run_job and must not leak it [I].
 */
function guc_exec_queue_run_job(job: xe_sched_job): dma_fence {
  __guc_exec_queue_run_job(job);
  return dma_fence_get(job.fence!);
}

/** ops.free_queue: drm_dep freed its part; finalise the driver's on xe->destroy_wq. */
function guc_exec_queue_free(q: xe_exec_queue): void {
  sched_of(q).freed = true;
  guc_exec_queue_destroy_async(q);
}

const drm_dep_ops: drm_dep_queue_ops<xe_sched_job, xe_exec_queue> = {
  run_job: guc_exec_queue_run_job,
  release_job: xe_sched_job_release, // the job's last reference (hardirq with JOB_PUT_IRQ_SAFE)
  *timedout_job(job: xe_sched_job): Sleepable<drm_dep_timedout_stat> {
    yield* guc_exec_queue_timedout_job(job);
    return DRM_DEP_TIMEDOUT_NO_HANG; // drm_dep keeps the job pending until its HW fence signals
  },
  release: guc_exec_queue_destroy, // after the last put, from drm_dep's teardown work
  free_queue: guc_exec_queue_free,
};

/** Queue flags of GuC-backed queues per device (options dep_flags, or dep_irq_put and dep_submit_bypass). */
const guc_queue_flags = new WeakMap<xe_device, number>();

function guc_queue_flags_of(xe: xe_device): number {
  return guc_queue_flags.get(xe) ?? DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE;
}

/**
 * guc_exec_queue_init: one drm_dep_queue (credit limit 55, TDR on gt->ordered_wq,
 * MAX_SCHEDULE_TIMEOUT for LR VMs), then a GuC id. Process context.
 */
function guc_exec_queue_init(q: xe_exec_queue): number {
  const sched = new xe_gpu_scheduler_dep(q);
  let err = guc_exec_queue_alloc(q, sched);
  if (err === 0) err = xe_sched_init(sched, drm_dep_ops, xe_sched_ops, XE_RING_JOB_LIMIT, guc_queue_flags_of(q.xe), guc_exec_queue_timeout(q), q.gt.ordered_wq, q.name);
  if (err !== 0) return err;
  return guc_exec_queue_add(q);
}

/** guc_exec_queue_fini: release the GuC id, then the message work and the submit wq. May sleep. */
function* guc_exec_queue_fini(q: xe_exec_queue): Sleepable {
  const ge = q.guc!;
  yield* release_guc_id(q.gt.guc, q);
  yield* xe_sched_fini(sched_of(q));
  kfree(q.kernel, ge.alloc); // no kfree_rcu: drm_dep's fences are private and detach on signal
}

/**
 * guc_submit_fini (device unload): drm_dep's unload barrier, unbounded, replaces the 5 s wait
 * on the GuC-id xarray [I]; then the destroy workqueue drains. Returns 0.
 */
function* xe_guc_submit_fini(xe: xe_device): Sleepable<number> {
  const k = xe.kernel;
  const ss = xe.gt.guc.submission_state;
  yield* drm_dep_device_wait_idle(dep_device_of(xe));
  yield* drain_workqueue(xe.destroy_wq);
  if (k.WARN_ON(ss.exec_queue_lookup.size !== 0, 'guc_submit_fini', `${ss.exec_queue_lookup.size} exec queues left at unload`)) return -ETIME;
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* xe_exec_queue.c                                                                              */

/** xe_exec_queue_create: LRC, GuC backend init, the TLB dependency scheduler of a VM queue. */
function xe_exec_queue_create(xe: xe_device, vm: xe_vm, class_: number, flags: number, props: xe_exec_queue_sched_props, client_id: number): XeExecQueue | number {
  return xe_exec_queue_init(new xe_exec_queue({ xe, vm, class_, flags, props, client_id }), guc_exec_queue_init, xe_dep_scheduler_create);
}

function xe_exec_queue_get(xq: XeExecQueue): void {
  drm_dep_queue_get(xq as xe_exec_queue);
}

/** xe_exec_queue_put = drm_dep_queue_put: the last one starts drm_dep's async release. Any context. */
function xe_exec_queue_put(xq: XeExecQueue): void {
  const q = xq as xe_exec_queue;
  q.kernel.lifetime.use(q.id, 'xe_exec_queue_put');
  drm_dep_queue_put(q);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_sched_job.c                                                                               */

/** xe_sched_job_create: job memory and HW fence, drm_dep_job_init (1 credit; it takes the queue reference). */
function xe_sched_job_create(xq: XeExecQueue, hw: xe_hw_job, client_id: number): XeSchedJob | number {
  const q = xq as xe_exec_queue;
  const job = xe_sched_job_alloc(q, hw, xe_sched_job);
  if (job === null) return -ENOMEM;
  const err = drm_dep_job_init(job, q, 1, client_id);
  if (err !== 0) xe_sched_job_free(job);
  return err !== 0 ? err : job;
}

/** release_job: drm_dep dropped the job's last reference (it drops the queue's right after). */
function xe_sched_job_release(job: xe_sched_job): void {
  xe_sched_job_free(job);
}

function xe_sched_job_put(job: xe_sched_job): void {
  drm_dep_job_put(job);
}

/**
 * xe_sched_job_arm (patch 05: returns the fence): initialise the HW fence with the next LRC
 * seqno (the job's own reference), arm the drm_dep job, return its finished fence.
 */
function xe_sched_job_arm(xjob: XeSchedJob): dma_fence {
  const job = xjob as xe_sched_job;
  const q = job.q;
  job.lrc_seqno = ++q.next_seqno;
  xe_hw_fence_init(job.hw_fence, q.lrc, q.fence_irq, q.fence_context, job.lrc_seqno);
  job.fence = job.hw_fence.dma;
  drm_dep_job_arm(job);
  return drm_dep_job_finished_fence(job)!;
}

/** Push, then drop the creation reference: drm_dep holds its own until the job is done. */
function xe_sched_job_push(xjob: XeSchedJob): void {
  const job = xjob as xe_sched_job;
  drm_dep_job_push(job);
  xe_sched_job_put(job);
}

/** Error path of the ioctl before arm: the creation reference goes, nothing was published. */
function xe_sched_job_abort(xjob: XeSchedJob): void {
  xe_sched_job_put(xjob as xe_sched_job);
}

function xe_sched_job_add_dependency(xjob: XeSchedJob, fence: dma_fence): number {
  return drm_dep_job_add_dependency(xjob as xe_sched_job, fence);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_dep_scheduler.c                                                                           */

/** struct xe_dep_job: a drm_dep job with its own run/release ops. */
export abstract class xe_dep_job extends drm_dep_job {
  abstract run(): dma_fence;
  abstract release(): void;
}

/** struct xe_dep_scheduler: a thin drm_dep_queue [I]. */
export class xe_dep_scheduler extends drm_dep_queue {
  readonly kernel: Kernel;
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    super(kernel);
    this.kernel = kernel;
  }
}

const dep_queue_ops: drm_dep_queue_ops<xe_dep_job, xe_dep_scheduler> = {
  run_job: (job) => job.run(),
  release_job: (job) => job.release(),
  // The timeout is MAX_SCHEDULE_TIMEOUT, so it is never called.
  timedout_job: (job) => {
    (job as xe_tlb_inval_job).kernel.WARN_ON(true, 'xe_dep_scheduler', 'timedout_job on a dependency scheduler');
    return DRM_DEP_TIMEDOUT_NO_HANG;
  },
  free_queue: (ds) => kfree(ds.kernel, ds.alloc),
};

/** xe_dep_scheduler_create: submit_wq = gt->tlb_inval.job_wq, credit limit job_limit, no timeout. */
function xe_dep_scheduler_create(xe: xe_device, name: string, job_limit: number): xe_dep_scheduler | number {
  const ds = new xe_dep_scheduler(xe.kernel);
  ds.alloc = kmalloc(xe.kernel, 256, GFP_KERNEL, 'xe_dep_scheduler');
  if (ds.alloc === null) return -ENOMEM;
  const err = drm_dep_queue_init(ds, {
    ops: dep_queue_ops, name, flags: guc_queue_flags_of(xe) & DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, credit_limit: job_limit,
    timeout: MAX_SCHEDULE_TIMEOUT, submit_wq: xe.gt.tlb_inval.job_wq, dev: dep_device_of(xe),
  });
  return err === 0 ? ds : err;
}

/** Last reference: drm_dep tears the queue down asynchronously (no kfree_rcu needed). */
function xe_dep_scheduler_fini(ds: xe_dep_scheduler): void {
  drm_dep_queue_kill(ds);
  drm_dep_queue_put(ds);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_tlb_inval_job.c                                                                           */

export class xe_tlb_inval_job extends xe_tlb_inval_job_struct(xe_dep_job) {
  declare readonly q: xe_exec_queue;

  constructor(args: xe_tlb_inval_job_init_args & { q: xe_exec_queue }) {
    super(args);
  }

  /** xe_tlb_inval_job_run: drm_dep keeps the reference returned. */
  run(): dma_fence {
    return dma_fence_get(xe_tlb_inval_job_run(this));
  }

  /** release_job: the last job reference is gone (hardirq with JOB_PUT_IRQ_SAFE). */
  release(): void {
    xe_tlb_inval_job_destroy(this);
  }
}

/** xe_tlb_inval_job_create: job and ifence memory, VM reference, drm_dep_job_init, the queue reference. */
function xe_tlb_inval_job_create(xq: XeExecQueue, client_id: number): XeTlbInvalJob | number {
  const q = xq as xe_exec_queue;
  const job = xe_tlb_inval_job_alloc(q, xe_tlb_inval_job);
  if (job === null) return -ENOMEM;
  const err = drm_dep_job_init(job, q.tlb_dep_scheduler!, 1, client_id);
  if (err !== 0) xe_tlb_inval_job_free(job);
  else xe_exec_queue_get(q);
  return err !== 0 ? err : job;
}

function xe_tlb_inval_job_destroy(job: xe_tlb_inval_job): void {
  xe_tlb_inval_job_free(job);
  xe_exec_queue_put(job.q);
}

/** xe_tlb_inval_job_alloc_dep: the stub dependency, at index 0 (the xarray head: no node yet). */
function xe_tlb_inval_job_alloc_dep(xjob: XeTlbInvalJob): number {
  return drm_dep_job_add_dependency(xjob as xe_tlb_inval_job, dma_fence_get_stub((xjob as xe_tlb_inval_job).kernel));
}

/**
 * xe_tlb_inval_job_push: no drm_dep API stores into the dependency xarray, so the bind fence
 * is added as a second dependency [I], which allocates the xarray node here, in a path upstream
 * keeps allocation-free; the drm_sched binding does the same (README X12). Arm, push, return a
 * reference to the finished fence.
 */
function xe_tlb_inval_job_push(xjob: XeTlbInvalJob, fence: dma_fence): dma_fence {
  const job = xjob as xe_tlb_inval_job;
  if (!dma_fence_is_signaled(fence)) drm_dep_job_add_dependency(job, dma_fence_get(fence));
  job.fence_armed = true;
  xe_tlb_inval_fence_init(job.q.gt.tlb_inval, job.fence);
  drm_dep_job_arm(job);
  const finished = drm_dep_job_finished_fence(job)!;
  drm_dep_job_push(job);
  return finished;
}

function xe_tlb_inval_job_put(xjob: XeTlbInvalJob): void {
  drm_dep_job_put(xjob as xe_tlb_inval_job);
}

/* ------------------------------------------------------------------------------------------ */
/* The binding                                                                                  */

/** The drm_dep device (unload barrier) of each xe device. */
const dep_devices = new WeakMap<xe_device, drm_dep_device>();

function dep_device_of(xe: xe_device): drm_dep_device {
  let dev = dep_devices.get(xe);
  if (dev === undefined) {
    dev = new drm_dep_device(xe.kernel, 'xe');
    dep_devices.set(xe, dev);
  }
  return dev;
}

/** The drm_dep binding for uapi.ts. */
export const xe_dep_binding: XeBinding = {
  name: 'drm_dep',
  wq_reclaim_flags: WQ_MEM_WARN_ON_RECLAIM,
  xe_guc_submit_init(xe: xe_device, options: Readonly<Record<string, number | string | boolean>>): void {
    xe_guc_submit_init(xe);
    // dep_flags (DRM_DEP_QUEUE_FLAGS_*, exploration campaigns) overrides the two booleans.
    const flags = typeof options.dep_flags === 'number' ? options.dep_flags
      : (options.dep_irq_put === false ? 0 : DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE) |
        (options.dep_submit_bypass === true ? DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS : 0);
    guc_queue_flags.set(xe, flags & (DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE | DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS));
  },
  xe_exec_queue_create, xe_exec_queue_get, xe_exec_queue_put, xe_exec_queue_kill,
  xe_sched_job_create, xe_sched_job_add_dependency, xe_sched_job_arm, xe_sched_job_push, xe_sched_job_abort,
  xe_tlb_inval_job_create, xe_tlb_inval_job_alloc_dep, xe_tlb_inval_job_push, xe_tlb_inval_job_put,
  xe_gt_reset_async,
  xe_guc_submit_fini,
  queue_detail: (q) => ({ ...guc_exec_queue_detail(q as xe_exec_queue), dep_queues: drm_dep_device_queue_count(dep_device_of(q.xe)) }),
  guc_id: (q) => (q as xe_exec_queue).guc!.id,
};
