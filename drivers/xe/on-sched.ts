/**
 * xe (GuC submission) bound to drm_sched, as upstream v7.0 writes it. Everything that calls no
 * scheduler is shared with on-dep.ts (xe_guc_submit.ts, xe_gpu_scheduler.ts, xe_device.ts); this
 * file is the drm_sched side, so that `diff on-sched.ts on-dep.ts` is the conversion:
 *   xe_gpu_scheduler.[ch]   the wrapper's scheduler half on a drm_gpu_scheduler + entity;
 *   xe_guc_submit.c         the drm_sched ops (run_job, free_job, timedout_job),
 *                           guc_exec_queue_init/fini, __guc_exec_queue_destroy (destroy worker),
 *                           guc_submit_fini;
 *   xe_exec_queue.c         create/get/put/kill/fini of an exec queue (its own kref);
 *   xe_sched_job.c          jobs;
 *   xe_dep_scheduler.c, xe_tlb_inval_job.c   the TLB-invalidation dependency scheduler.
 *
 * Upstream v7.0 still reaches into drm_sched internals in four places; deplab's bindings use the
 * public API only, so each is replaced by its public equivalent (README "Assumptions" X20):
 * sched->base.submit_wq (the message work's queue: the driver allocates the same ordered
 * WQ_MEM_RECLAIM wq drm_sched would and passes it in), sched->base.ops->run_job in
 * xe_sched_resubmit_jobs (the driver's own run_job, called directly), cancelling
 * sched->base.work_tdr in the destroy worker (drm_sched_fini cancels it), and the xa_store into
 * job->drm.dependencies of the TLB job (a second drm_sched_job_add_dependency).
 * drm_sched_invalidate_job, which the drm_sched model does not export, is inlined on the job's
 * public karma counter.
 */
import {
  ENOMEM, GFP_KERNEL, MAX_SCHEDULE_TIMEOUT, WQ_MEM_RECLAIM, alloc_ordered_workqueue, destroy_workqueue, dma_fence_get,
  dma_fence_get_stub, dma_fence_is_signaled, dma_fence_put, drain_workqueue, kfree, kmalloc, kref, kref_get, kref_init,
  kref_put, wait_event_timeout, ETIME,
  type Allocation, type Kernel, type Sleepable, type dma_fence, type workqueue_struct,
} from '@deplab/sim';
import {
  DRM_GPU_SCHED_STAT_NO_HANG, drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_fini, drm_sched_entity_init,
  drm_sched_entity_push_job, drm_sched_fini, drm_sched_for_each_pending_job, drm_sched_init, drm_sched_is_stopped,
  drm_sched_job, drm_sched_job_add_dependency, drm_sched_job_arm, drm_sched_job_cleanup, drm_sched_job_init,
  drm_sched_job_is_signaled, drm_sched_resume_timeout, drm_sched_stop, drm_sched_tdr_queue_imm, drm_sched_wqueue_start,
  drm_sched_wqueue_stop,
  type drm_gpu_sched_stat, type drm_sched_backend_ops,
} from '@deplab/drm-sched';
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
  __guc_exec_queue_run_job, guc_exec_queue_add, guc_exec_queue_alloc, guc_exec_queue_destroy,
  guc_exec_queue_destroy_async, guc_exec_queue_detail, guc_exec_queue_timedout_job, guc_exec_queue_timeout, release_guc_id,
  xe_exec_queue_free, xe_exec_queue_init, xe_exec_queue_kill, xe_exec_queue_struct, xe_gt_reset_async, xe_guc_submit_init,
  xe_sched_job_alloc, xe_sched_job_free, xe_sched_job_struct, xe_sched_ops,
  type xe_exec_queue_init_args, type xe_sched_job as xe_sched_job_common, type xe_sched_job_init_args,
} from './xe_guc_submit.ts';
import {
  xe_tlb_inval_job_alloc, xe_tlb_inval_job_free, xe_tlb_inval_job_run, xe_tlb_inval_job_struct,
  type xe_tlb_inval_job_init_args,
} from './xe_tlb_inval_job.ts';

/* ------------------------------------------------------------------------------------------ */
/* Structures                                                                                   */

/** struct xe_exec_queue on drm_sched: the shared fields, its own kref, the entity. */
export class xe_exec_queue extends xe_exec_queue_struct(Object) {
  readonly refcount: kref;
  entity: drm_sched_entity | null = null;
  /** Dependency scheduler for TLB invalidations (VM and migrate queues). */
  tlb_dep_scheduler: xe_dep_scheduler | null = null;

  constructor(args: xe_exec_queue_init_args) {
    super(args);
    this.refcount = new kref(this.kernel, 'xe_exec_queue');
  }
}

/** struct xe_sched_job on drm_sched: a drm_sched_job with the shared fields and a kref. */
export class xe_sched_job extends xe_sched_job_struct(drm_sched_job) {
  declare readonly q: xe_exec_queue;
  readonly refcount: kref;

  constructor(args: xe_sched_job_init_args & { q: xe_exec_queue }) {
    super(args);
    this.refcount = new kref(this.kernel, 'xe_sched_job');
  }
}

/* ------------------------------------------------------------------------------------------ */
/* xe_gpu_scheduler.[ch]: the drm_sched half                                                    */

/** struct xe_gpu_scheduler: a drm_gpu_scheduler (num_rqs 1) and the exec queue's one entity. */
export class xe_gpu_scheduler_sched extends xe_gpu_scheduler {
  readonly q: xe_exec_queue;
  readonly base: drm_gpu_scheduler;
  readonly entity: drm_sched_entity;

  constructor(q: xe_exec_queue) {
    super(q.kernel, false);
    this.q = q;
    this.base = new drm_gpu_scheduler(q.kernel);
    this.base.owner = this;
    this.entity = new drm_sched_entity(q.kernel);
  }

  is_stopped(): boolean {
    return drm_sched_is_stopped(this.base);
  }

  wqueue_start(): void {
    drm_sched_wqueue_start(this.base);
  }

  *wqueue_stop(): Sleepable {
    yield* drm_sched_wqueue_stop(this.base);
  }

  *stop(): Sleepable {
    yield* drm_sched_stop(this.base, null);
  }

  submission_resume_tdr(): void {
    drm_sched_resume_timeout(this.base, this.base.timeout);
  }

  tdr_queue_imm(): void {
    drm_sched_tdr_queue_imm(this.base);
  }

  pending_jobs(): xe_sched_job_common[] {
    return drm_sched_for_each_pending_job(this.base, null) as xe_sched_job[];
  }

  job_is_signaled(job: xe_sched_job_common): boolean {
    return drm_sched_job_is_signaled(job as xe_sched_job);
  }

  /** sched->base.ops->run_job(s_job): the fence it returns is dropped, its reference is drm_sched's since arm. */
  resubmit_job(job: xe_sched_job_common): void {
    guc_exec_queue_run_job(job as xe_sched_job);
  }

  /** drm_sched_invalidate_job: ++karma > threshold. */
  invalidate_job(job: xe_sched_job_common, threshold: number): boolean {
    return ++(job as xe_sched_job).karma.counter > threshold;
  }

  /** drm_sched has no kill: the immediate TDR errors what is in flight (guc_exec_queue_kill). */
  kill(): void {}

  /** __guc_exec_queue_destroy: always the destroy worker (free_job may run on our own submit wq). */
  destroy(): void {
    guc_exec_queue_destroy_async(this.q);
  }

  /** xe_exec_queue_fini (destroy worker): the dependency scheduler, the GuC backend, the queue. */
  *exec_queue_fini(): Sleepable {
    if (this.q.tlb_dep_scheduler !== null) yield* xe_dep_scheduler_fini(this.q.tlb_dep_scheduler);
    yield* guc_exec_queue_fini(this.q);
    xe_exec_queue_free(this.q);
  }
}

function sched_of(q: xe_exec_queue): xe_gpu_scheduler_sched {
  return q.guc!.sched as xe_gpu_scheduler_sched;
}

/** xe_sched_init: num_rqs = 1, one drm_gpu_scheduler per exec queue. Process context. */
function xe_sched_init(sched: xe_gpu_scheduler_sched, ops: drm_sched_backend_ops, xe_ops: xe_sched_backend_ops,
  hw_submission: number, hang_limit: number, timeout: number, timeout_wq: xe_gt['ordered_wq'], name: string): number {
  // What drm_sched allocates for a NULL submit_wq; the message work shares it.
  xe_sched_init_msgs(sched, xe_ops, alloc_ordered_workqueue(sched.kernel, name, WQ_MEM_RECLAIM));
  return drm_sched_init(sched.base, {
    ops, submit_wq: sched.submit_wq, num_rqs: 1, credit_limit: hw_submission, hang_limit, timeout, timeout_wq, score: null, name, dev: null,
  });
}

function* xe_sched_fini(sched: xe_gpu_scheduler_sched): Sleepable {
  yield* xe_sched_submission_stop(sched);
  yield* drm_sched_fini(sched.base);
  yield* destroy_workqueue(sched.submit_wq!); // drm_sched_fini destroys only a wq it owns
}

/* ------------------------------------------------------------------------------------------ */
/* xe_guc_submit.c: the drm_sched ops, init and fini                                            */

/** guc_exec_queue_run_job (submit workqueue). The reference drm_sched consumes was taken at arm. */
function guc_exec_queue_run_job(drm_job: drm_sched_job): dma_fence {
  const job = drm_job as xe_sched_job;
  __guc_exec_queue_run_job(job);
  return job.fence!;
}

function guc_exec_queue_free_job(drm_job: drm_sched_job): void {
  xe_sched_job_put(drm_job as xe_sched_job);
}

const drm_sched_ops: drm_sched_backend_ops = {
  run_job: guc_exec_queue_run_job,
  free_job: guc_exec_queue_free_job,
  *timedout_job(drm_job: drm_sched_job): Sleepable<drm_gpu_sched_stat> {
    yield* guc_exec_queue_timedout_job(drm_job as xe_sched_job);
    return DRM_GPU_SCHED_STAT_NO_HANG; // the job goes back on the pending list, freed when it signals
  },
};

/**
 * guc_exec_queue_init: one scheduler (credit limit 55, hang_limit 64, TDR on gt->ordered_wq,
 * MAX_SCHEDULE_TIMEOUT for LR VMs) and one entity, then a GuC id. Process context.
 */
function guc_exec_queue_init(q: xe_exec_queue): number {
  const sched = new xe_gpu_scheduler_sched(q);
  let err = guc_exec_queue_alloc(q, sched);
  if (err === 0) err = xe_sched_init(sched, drm_sched_ops, xe_sched_ops, XE_RING_JOB_LIMIT, 64, guc_exec_queue_timeout(q), q.gt.ordered_wq, q.name);
  if (err === 0) err = drm_sched_entity_init(sched.entity, 0, [sched.base], 1, null); // xe_sched_entity_init
  if (err !== 0) return err;
  q.entity = sched.entity;
  return guc_exec_queue_add(q);
}

/** guc_exec_queue_fini: release the GuC id, then the entity and the scheduler. May sleep. */
function* guc_exec_queue_fini(q: xe_exec_queue): Sleepable {
  const ge = q.guc!;
  yield* release_guc_id(q.gt.guc, q);
  yield* drm_sched_entity_fini(sched_of(q).entity);
  yield* xe_sched_fini(sched_of(q));
  kfree(q.kernel, ge.alloc); // kfree_rcu: drm_sched fences export the scheduler name
}

/**
 * guc_submit_fini (drmm, device unload): wait up to 5 s for every exec queue to release its
 * GuC id, then drain the destroy workqueue. Returns 0, or -ETIME (the assert upstream).
 */
function* xe_guc_submit_fini(xe: xe_device): Sleepable<number> {
  const k = xe.kernel;
  const ss = xe.gt.guc.submission_state;
  const ret = yield* wait_event_timeout(k, ss.fini_wq, () => ss.exec_queue_lookup.size === 0, 5 * k.HZ);
  yield* drain_workqueue(xe.destroy_wq);
  if (k.WARN_ON(ret === 0, 'guc_submit_fini', `${ss.exec_queue_lookup.size} exec queues left at unload`)) return -ETIME;
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* xe_exec_queue.c                                                                              */

/** xe_exec_queue_create: LRC, GuC backend init, the TLB dependency scheduler of a VM queue. */
function xe_exec_queue_create(xe: xe_device, vm: xe_vm, class_: number, flags: number, props: xe_exec_queue_sched_props, client_id: number): XeExecQueue | number {
  return xe_exec_queue_init(new xe_exec_queue({ xe, vm, class_, flags, props, client_id }), guc_exec_queue_init, xe_dep_scheduler_create);
}

function xe_exec_queue_get(xq: XeExecQueue): void {
  kref_get((xq as xe_exec_queue).refcount);
}

/** xe_exec_queue_put: the last reference calls ops->destroy (the CLEANUP message). */
function xe_exec_queue_put(xq: XeExecQueue): void {
  const q = xq as xe_exec_queue;
  q.kernel.lifetime.use(q.id, 'xe_exec_queue_put');
  kref_put(q.refcount, () => guc_exec_queue_destroy(q));
}

/* ------------------------------------------------------------------------------------------ */
/* xe_sched_job.c                                                                               */

/** xe_sched_job_create: job memory and HW fence, a queue reference, drm_sched_job_init (1 credit). */
function xe_sched_job_create(xq: XeExecQueue, hw: xe_hw_job, client_id: number): XeSchedJob | number {
  const q = xq as xe_exec_queue;
  const job = xe_sched_job_alloc(q, hw, xe_sched_job);
  if (job === null) return -ENOMEM;
  kref_init(job.refcount);
  xe_exec_queue_get(q);
  const err = drm_sched_job_init(job, q.entity!, 1, null, client_id);
  if (err !== 0) {
    xe_sched_job_free(job);
    xe_exec_queue_put(q);
  }
  return err !== 0 ? err : job;
}

/** xe_sched_job_destroy: queue reference, drm_sched cleanup, HW fence and memory. */
function xe_sched_job_destroy(job: xe_sched_job): void {
  xe_exec_queue_put(job.q);
  drm_sched_job_cleanup(job);
  xe_sched_job_free(job);
}

function xe_sched_job_put(job: xe_sched_job): void {
  kref_put(job.refcount, () => xe_sched_job_destroy(job));
}

/**
 * xe_sched_job_arm: initialise the HW fence with the next LRC seqno, take the reference
 * drm_sched consumes from run_job ("pairs with put in scheduler"), arm the drm_sched job.
 */
function xe_sched_job_arm(xjob: XeSchedJob): dma_fence {
  const job = xjob as xe_sched_job;
  const q = job.q;
  job.lrc_seqno = ++q.next_seqno;
  xe_hw_fence_init(job.hw_fence, q.lrc, q.fence_irq, q.fence_context, job.lrc_seqno);
  job.fence = dma_fence_get(job.hw_fence.dma);
  drm_sched_job_arm(job);
  return dma_fence_get(job.s_fence!.finished);
}

function xe_sched_job_push(xjob: XeSchedJob): void {
  const job = xjob as xe_sched_job;
  kref_get(job.refcount);
  drm_sched_entity_push_job(job);
  xe_sched_job_put(job);
}

/** Error path of the ioctl before arm: the creation reference goes, nothing was published. */
function xe_sched_job_abort(xjob: XeSchedJob): void {
  xe_sched_job_put(xjob as xe_sched_job);
}

function xe_sched_job_add_dependency(xjob: XeSchedJob, fence: dma_fence): number {
  return drm_sched_job_add_dependency(xjob as xe_sched_job, fence);
}

/* ------------------------------------------------------------------------------------------ */
/* xe_dep_scheduler.c                                                                           */

/** struct xe_dep_job: a drm_sched job with its own run/free ops. */
export abstract class xe_dep_job extends drm_sched_job {
  abstract run(): dma_fence;
  abstract free(): void;
}

/** struct xe_dep_scheduler: a plain drm_gpu_scheduler + entity. */
export class xe_dep_scheduler {
  readonly sched: drm_gpu_scheduler;
  readonly entity: drm_sched_entity;
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    this.sched = new drm_gpu_scheduler(kernel);
    this.entity = new drm_sched_entity(kernel);
  }
}

const dep_sched_ops: drm_sched_backend_ops = {
  run_job: (job) => (job as xe_dep_job).run(),
  free_job: (job) => (job as xe_dep_job).free(),
  // No timedout_job upstream: the timeout is MAX_SCHEDULE_TIMEOUT, so it is never called.
  timedout_job: (job) => {
    job.kernel.WARN_ON(true, 'xe_dep_scheduler', 'timedout_job on a dependency scheduler');
    return DRM_GPU_SCHED_STAT_NO_HANG;
  },
};

/** xe_dep_scheduler_create: submit_wq = gt->tlb_inval.job_wq, credit limit job_limit, no timeout. */
function xe_dep_scheduler_create(xe: xe_device, name: string, job_limit: number): xe_dep_scheduler | number {
  const ds = new xe_dep_scheduler(xe.kernel);
  ds.alloc = kmalloc(xe.kernel, 256, GFP_KERNEL, 'xe_dep_scheduler');
  if (ds.alloc === null) return -ENOMEM;
  let err = drm_sched_init(ds.sched, {
    ops: dep_sched_ops, submit_wq: xe.gt.tlb_inval.job_wq, num_rqs: 1, credit_limit: job_limit,
    timeout: MAX_SCHEDULE_TIMEOUT, name, dev: null,
  });
  if (err === 0) err = drm_sched_entity_init(ds.entity, 0, [ds.sched], 1, null);
  return err === 0 ? ds : err;
}

function* xe_dep_scheduler_fini(ds: xe_dep_scheduler): Sleepable {
  yield* drm_sched_entity_fini(ds.entity);
  yield* drm_sched_fini(ds.sched);
  kfree(ds.sched.kernel, ds.alloc); // kfree_rcu: the scheduler name is exported through fences
}

/* ------------------------------------------------------------------------------------------ */
/* xe_tlb_inval_job.c                                                                           */

export class xe_tlb_inval_job extends xe_tlb_inval_job_struct(xe_dep_job) {
  declare readonly q: xe_exec_queue;
  readonly refcount: kref;

  constructor(args: xe_tlb_inval_job_init_args & { q: xe_exec_queue }) {
    super(args);
    this.refcount = new kref(this.kernel, 'xe_tlb_inval_job');
  }

  /** xe_tlb_inval_job_run: its fence signals on TLB_INVALIDATION_DONE; the reference is drm_sched's since push. */
  run(): dma_fence {
    return xe_tlb_inval_job_run(this);
  }

  /** xe_tlb_inval_job_free: pairs with the get in push. */
  free(): void {
    xe_tlb_inval_job_put(this);
  }
}

/** xe_tlb_inval_job_create: job and ifence memory, queue and VM references, drm_sched_job_init. */
function xe_tlb_inval_job_create(xq: XeExecQueue, client_id: number): XeTlbInvalJob | number {
  const q = xq as xe_exec_queue;
  const job = xe_tlb_inval_job_alloc(q, xe_tlb_inval_job);
  if (job === null) return -ENOMEM;
  xe_exec_queue_get(q);
  const err = drm_sched_job_init(job, q.tlb_dep_scheduler!.entity, 1, null, client_id);
  if (err !== 0) {
    xe_tlb_inval_job_free(job);
    xe_exec_queue_put(q);
  }
  return err !== 0 ? err : job;
}

function xe_tlb_inval_job_destroy(job: xe_tlb_inval_job): void {
  drm_sched_job_cleanup(job);
  xe_tlb_inval_job_free(job);
  xe_exec_queue_put(job.q);
}

/** xe_tlb_inval_job_alloc_dep: preallocate the dependency slot with the stub fence. */
function xe_tlb_inval_job_alloc_dep(xjob: XeTlbInvalJob): number {
  return drm_sched_job_add_dependency(xjob as xe_tlb_inval_job, dma_fence_get_stub((xjob as xe_tlb_inval_job).kernel));
}

/**
 * xe_tlb_inval_job_push: reclaim safe. Upstream swaps the bind fence into the stub's slot
 * (xa_store into job->drm.dependencies, GFP_ATOMIC: no allocation); with the public API the
 * model adds it as a second dependency, which allocates the xarray node here, as on drm_dep
 * (README X12). Arms, pushes, returns a reference to the finished fence (one fence context per
 * queue, so they squash).
 */
function xe_tlb_inval_job_push(xjob: XeTlbInvalJob, fence: dma_fence): dma_fence {
  const job = xjob as xe_tlb_inval_job;
  if (!dma_fence_is_signaled(fence)) drm_sched_job_add_dependency(job, dma_fence_get(fence));
  kref_get(job.refcount); // pairs with put in free_job
  job.fence_armed = true;
  xe_tlb_inval_fence_init(job.q.gt.tlb_inval, job.fence);
  dma_fence_get(job.fence.base); // pairs with put in the DRM scheduler
  drm_sched_job_arm(job);
  const finished = dma_fence_get(job.s_fence!.finished);
  drm_sched_entity_push_job(job);
  return finished;
}

function xe_tlb_inval_job_put(xjob: XeTlbInvalJob): void {
  const job = xjob as xe_tlb_inval_job;
  kref_put(job.refcount, () => xe_tlb_inval_job_destroy(job));
}

/* ------------------------------------------------------------------------------------------ */
/* The binding                                                                                  */

/** The drm_sched binding for uapi.ts. */
export const xe_sched_binding: XeBinding = {
  name: 'drm_sched',
  wq_reclaim_flags: 0,
  xe_guc_submit_init: (xe) => xe_guc_submit_init(xe),
  xe_exec_queue_create, xe_exec_queue_get, xe_exec_queue_put, xe_exec_queue_kill,
  xe_sched_job_create, xe_sched_job_add_dependency, xe_sched_job_arm, xe_sched_job_push, xe_sched_job_abort,
  xe_tlb_inval_job_create, xe_tlb_inval_job_alloc_dep, xe_tlb_inval_job_push, xe_tlb_inval_job_put,
  xe_gt_reset_async,
  xe_guc_submit_fini,
  queue_detail: (q) => guc_exec_queue_detail(q as xe_exec_queue),
  guc_id: (q) => (q as xe_exec_queue).guc!.id,
};
