/**
 * The data structures of the legacy DRM GPU scheduler, modelled on include/drm/gpu_scheduler.h
 * (post-revert 7.2-rc7 state: per-priority run queues, RR/FIFO/FAIR, entity stats).
 *
 * Every structure is constructed with `new X(kernel)` as zeroed memory, exactly like a driver
 * embedding the C struct: drivers extend drm_sched_job (and may extend the others) and the
 * kernel-named init functions fill them in. Fields marked `@internal` belong to the scheduler;
 * upstream drivers read or write only the unmarked ones (credit_limit, ready, timeout, name,
 * pending_list, s_fence, sched, entity, credits, karma, ...). The readiness analysis reports
 * every access to an `@internal` field from outside this package.
 */
import {
  Fifo, DMA_FENCE_FLAG_USER_BITS, rb_root_cached, completion, dma_fence, dma_fence_cb, spinlock_t, wait_queue_head,
  type Allocation, type Kernel, type Sleepable, type delayed_work, type kref, type work_struct,
  type workqueue_struct,
} from '@deplab/sim';
import { ewma_drm_sched_avgtime, spsc_queue } from './sched_internal.ts';

/* ------------------------------------------------------------------------------------------ */
/* Constants                                                                                    */

/** enum drm_sched_priority: a lower number is a higher priority. */
export type drm_sched_priority = number;
/** Internal: no priority (the rq head_prio of an empty tree). */
export const DRM_SCHED_PRIORITY_INVALID = -1;
export const DRM_SCHED_PRIORITY_KERNEL = 0;
export const DRM_SCHED_PRIORITY_HIGH = 1;
export const DRM_SCHED_PRIORITY_NORMAL = 2;
export const DRM_SCHED_PRIORITY_LOW = 3;
export const DRM_SCHED_PRIORITY_COUNT = 4;

/** enum drm_gpu_sched_stat: what drm_sched_backend_ops.timedout_job returns. */
export type drm_gpu_sched_stat = number;
/** Reserved, do not use. */
export const DRM_GPU_SCHED_STAT_NONE = 0;
export const DRM_GPU_SCHED_STAT_RESET = 1;
export const DRM_GPU_SCHED_STAT_ENODEV = 2;
export const DRM_GPU_SCHED_STAT_NO_HANG = 3;

/** sched_internal.h: the values of the `sched_policy` module parameter. */
export const DRM_SCHED_POLICY_RR = 0;
export const DRM_SCHED_POLICY_FIFO = 1;
export const DRM_SCHED_POLICY_FAIR = 2;
/** The module default after the 7.2-rc7 reverts. */
export const DRM_SCHED_POLICY_DEFAULT = DRM_SCHED_POLICY_FIFO;

/**
 * Fence flag bits (bit numbers, as for test_bit): set DRM_SCHED_FENCE_DONT_PIPELINE on a
 * finished fence to disable the same-scheduler "wait only for scheduled" optimisation.
 */
export const DRM_SCHED_FENCE_DONT_PIPELINE = DMA_FENCE_FLAG_USER_BITS;
export const DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT = DMA_FENCE_FLAG_USER_BITS + 1;

/** The value of MAX_WAIT_SCHED_ENTITY_Q_EMPTY before the jiffies conversion. */
export const MAX_WAIT_SCHED_ENTITY_Q_EMPTY_MS = 1000;

/**
 * MAX_WAIT_SCHED_ENTITY_Q_EMPTY: `msecs_to_jiffies(1000)` in C, so it depends on HZ; here a
 * function of the kernel whose HZ applies.
 */
export function MAX_WAIT_SCHED_ENTITY_Q_EMPTY(kernel: Kernel): number {
  return kernel.jiffies.msecs_to_jiffies(MAX_WAIT_SCHED_ENTITY_Q_EMPTY_MS);
}

/* ------------------------------------------------------------------------------------------ */
/* atomic_t                                                                                     */

/**
 * atomic_t (include/linux/types.h). The substrate has none yet; the scheduler needs one for
 * the shareable `score`, the driver-owned `guilty` flag, `credit_count` and `karma`.
 */
export class atomic_t {
  counter: number;

  constructor(i = 0) {
    this.counter = i;
  }
}

export function atomic_read(v: atomic_t): number {
  return v.counter;
}

export function atomic_set(v: atomic_t, i: number): void {
  v.counter = i;
}

export function atomic_inc(v: atomic_t): void {
  v.counter++;
}

export function atomic_dec(v: atomic_t): void {
  v.counter--;
}

/* ------------------------------------------------------------------------------------------ */
/* Backend ops and init arguments                                                               */

/**
 * struct drm_sched_backend_ops. `run_job` returns the HW fence with a reference for the
 * scheduler, null, or a negative errno (the model's ERR_PTR). `timedout_job` may sleep (it may
 * call drm_sched_stop): it returns a status, or a generator that yields while it sleeps and
 * returns the status (model-only shape; a plain number is the common case).
 */
export interface drm_sched_backend_ops {
  prepare_job?(job: drm_sched_job, entity: drm_sched_entity): dma_fence | null;
  run_job(job: drm_sched_job): dma_fence | null | number;
  timedout_job(job: drm_sched_job): drm_gpu_sched_stat | Sleepable<drm_gpu_sched_stat>;
  free_job(job: drm_sched_job): void;
  cancel_job?(job: drm_sched_job): void;
}

/**
 * struct drm_sched_init_args. `timeout` is in jiffies (MAX_SCHEDULE_TIMEOUT: no TDR).
 *
 * Deliberate deviation: `sched_policy` replaces the `drm.sched_policy` module parameter
 * (RR 0, FIFO 1 = default, FAIR 2) so that one simulated kernel can host schedulers with
 * different policies side by side. Like the module parameter it is not range checked.
 */
export interface drm_sched_init_args {
  ops: drm_sched_backend_ops;
  submit_wq?: workqueue_struct | null;
  timeout_wq?: workqueue_struct | null;
  num_rqs: number;
  credit_limit: number;
  hang_limit?: number;
  timeout: number;
  score?: atomic_t | null;
  name: string;
  dev?: unknown;
  sched_policy?: number;
}

/* ------------------------------------------------------------------------------------------ */
/* Structures                                                                                   */


/** The rb_tree key of an entity. */
function entity_key(entity: drm_sched_entity): number {
  return entity.oldest_job_waiting;
}

/** struct drm_sched_rq: one per priority level (a single one under FAIR). */
export class drm_sched_rq {
  readonly kernel: Kernel;
  /** @internal */ sched: drm_gpu_scheduler | null = null;
  /** @internal */ lock: spinlock_t;
  /** @internal Fake monotonic RR timestamp, +1 ns per pop. */
  rr_ts = 0;
  /** @internal Every entity attached to this rq (drives the score). */
  readonly entities: drm_sched_entity[] = [];
  /**
   * @internal The rbtree of entities with queued jobs, by `oldest_job_waiting`; an equal key
   * goes after the existing equal ones (rb_add_cached).
   */
  readonly rb_tree = new rb_root_cached<drm_sched_entity>(entity_key);
  /** @internal */ head_prio: drm_sched_priority = DRM_SCHED_PRIORITY_INVALID;
  /** @internal Lifetime tracker id (kzalloc'ed at scheduler init, kfree'd at fini). */
  lifetime_id = -1;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.lock = new spinlock_t(kernel, '&rq->lock');
  }
}

/** struct drm_sched_entity_stats: shared, refcounted GPU-time accounting (sched_internal.h). */
export class drm_sched_entity_stats {
  /** @internal */ refcount!: kref;
  /** @internal */ lock!: spinlock_t;
  /** @internal Accumulated GPU time, ns. */
  runtime = 0;
  /** @internal */ prev_runtime = 0;
  /** @internal FAIR virtual runtime, ns (signed). */
  vruntime = 0;
  /** @internal EWMA of job durations, µs. */
  readonly avg_job_us = new ewma_drm_sched_avgtime();
  /** @internal */ alloc: Allocation | null = null;
}

/** struct drm_sched_entity: a submission context. */
export class drm_sched_entity {
  readonly kernel: Kernel;
  /** @internal The current run queue ("locking is very unclear", readers are lockless). */
  rq: drm_sched_rq | null = null;
  /** @internal */ stats: drm_sched_entity_stats | null = null;
  /** @internal */ sched_list: drm_gpu_scheduler[] | null = null;
  /** @internal */ num_sched_list = 0;
  priority: drm_sched_priority = 0;
  /** @internal Index into sched_rq[], fixed at init. */
  rq_priority: drm_sched_priority = 0;
  /** @internal */ rr_ts = 0;
  /** @internal SPSC job queue. */
  readonly job_queue = new spsc_queue<drm_sched_job>();
  /** @internal */ fence_seq = 0;
  /** @internal scheduled fences use fence_context, finished fences fence_context + 1. */
  fence_context = 0;
  /** @internal The fence the head job is blocked on. */
  dependency: dma_fence | null = null;
  /** @internal */ readonly cb: dma_fence_cb;
  /** @internal Driver-owned guilty flag. */
  guilty: atomic_t | null = null;
  /** @internal Finished fence of the last popped job (RCU pointer). */
  last_scheduled: dma_fence | null = null;
  /** @internal current->group_leader of the last pusher (here its execution context). */
  last_user: unknown = null;
  /** @internal */ stopped = false;
  /** @internal */ entity_idle: completion;
  /** @internal The rbtree key: submit_ts (FIFO), fake ts (RR) or vruntime (FAIR). */
  oldest_job_waiting = 0;
  /** @internal !RB_EMPTY_NODE(&rb_tree_node). */
  rb_linked = false;
  /** @internal The rb_tree_node's insertion stamp (sim rb_root_cached). */
  rb_seq = 0;
  /** @internal !list_empty(&entity->list). */
  on_rq_list = false;
  /** @internal */ lock: spinlock_t;
  /** @internal */ lifetime_id = -1;
  /** The driver object embedding this entity (container_of stand-in; set by the driver). */
  owner: unknown = null;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.cb = new dma_fence_cb(this);
    this.entity_idle = new completion(kernel);
    this.lock = new spinlock_t(kernel, '&entity->lock');
  }
}

/** struct drm_sched_fence: the scheduled and finished fences of one job, one allocation. */
export class drm_sched_fence {
  readonly kernel: Kernel;
  /** Signalled when the job has been handed to the HW (or killed). */
  readonly scheduled: dma_fence;
  /** Signalled when the HW fence signals (or the job is killed or cancelled). */
  readonly finished: dma_fence;
  /** @internal Pending deadline, forwarded to the parent once it exists. */
  deadline_ns = 0;
  /** The HW fence returned by run_job (one reference held). */
  parent: dma_fence | null = null;
  sched: drm_gpu_scheduler | null = null;
  /** @internal One lock for both fences. */
  lock: spinlock_t;
  owner: unknown = null;
  drm_client_id = 0;
  /** @internal The slab object backing this structure. */
  alloc: Allocation | null = null;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.scheduled = new dma_fence(kernel, 'drm_sched_fence.scheduled');
    this.finished = new dma_fence(kernel, 'drm_sched_fence.finished');
    this.scheduled.owner = this;
    this.finished.owner = this;
    this.lock = new spinlock_t(kernel, '&fence->lock');
  }
}

/** struct drm_sched_job: drivers extend it. */
export class drm_sched_job {
  readonly kernel: Kernel;
  /** @internal ktime when pushed: the FIFO key. */
  submit_ts = 0;
  /** Set by drm_sched_job_arm; valid until free_job has finished. */
  sched: drm_gpu_scheduler | null = null;
  s_fence: drm_sched_fence | null = null;
  /** Set at init, NULL once popped (the entity may die first). */
  entity: drm_sched_entity | null = null;
  /** @internal Stats reference taken at arm. */
  entity_stats: drm_sched_entity_stats | null = null;
  /** @internal */ s_priority: drm_sched_priority = 0;
  credits = 0;
  /** @internal Cursor into dependencies. */
  last_dependency = 0;
  karma = new atomic_t(0);
  /** @internal Callback on the HW fence. */
  readonly cb: dma_fence_cb;
  /** @internal Kill path: chained on the predecessor / dependencies. */
  readonly finish_cb: dma_fence_cb;
  /** @internal Kill path work item (system workqueue). */
  work: work_struct | null = null;
  /** @internal xarray (XA_FLAGS_ALLOC) of dependency fences, one reference each; null = erased. */
  dependencies: (dma_fence | null)[] = [];
  /** @internal The dependency xarray's xa_lock (xa_init_flags in drm_sched_job_init). */
  xa_lock: spinlock_t | null = null;
  /** @internal The dependency xarray's node: held from the second entry on (sim/xarray.ts). */
  xa_node: Allocation | null = null;
  /** @internal Lifetime tracker id: from drm_sched_job_init to drm_sched_job_cleanup. */
  lifetime_id = -1;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.cb = new dma_fence_cb(this);
    this.finish_cb = new dma_fence_cb(this);
  }
}

/** struct drm_gpu_scheduler: one per HW ring or firmware queue. */
export class drm_gpu_scheduler {
  readonly kernel: Kernel;
  /** @internal */ ops: drm_sched_backend_ops | null = null;
  credit_limit = 0;
  /** @internal */ readonly credit_count = new atomic_t(0);
  /** TDR period in jiffies; MAX_SCHEDULE_TIMEOUT disables it. */
  timeout = 0;
  name = '';
  dev: unknown = null;
  /** @internal */ num_user_rqs = 0;
  /** @internal */ num_rqs = 0;
  /** @internal `struct drm_sched_rq **`: num_user_rqs slots, num_rqs allocated; null before init. */
  sched_rq: (drm_sched_rq | null)[] | null = null;
  /** @internal */ readonly job_scheduled = new wait_queue_head();
  /** @internal Vestigial (the job has no id any more). */
  job_id_count = 0;
  /** @internal */ submit_wq: workqueue_struct | null = null;
  /** @internal */ timeout_wq: workqueue_struct | null = null;
  /** @internal Scheduler-wide EWMA of job durations, µs. */
  readonly avg_job_us = new ewma_drm_sched_avgtime();
  /** @internal */ work_run_job: work_struct | null = null;
  /** @internal */ work_free_job: work_struct | null = null;
  /** @internal */ work_tdr: delayed_work | null = null;
  /** Jobs handed to run_job and not yet freed, in submission-to-HW order. */
  readonly pending_list = new Fifo<drm_sched_job>();
  /** @internal */ job_list_lock: spinlock_t;
  hang_limit = 0;
  /** Load metric; shared when the driver passes args.score. */
  score: atomic_t;
  /** @internal */ readonly _score = new atomic_t(0);
  ready = false;
  /** @internal The TDR must free the bad job itself. */
  free_guilty = false;
  /** @internal */ pause_submit = false;
  /** @internal */ own_submit_wq = false;
  /** @internal Model deviation: the per-scheduler sched_policy (see drm_sched_init_args). */
  sched_policy = DRM_SCHED_POLICY_DEFAULT;
  /** @internal */ lifetime_id = -1;
  /** The driver object embedding this scheduler (container_of stand-in; set by the driver). */
  owner: unknown = null;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.score = this._score;
    this.job_list_lock = new spinlock_t(kernel, '&sched->job_list_lock');
  }
}
