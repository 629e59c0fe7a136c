/**
 * drm_dep_queue: one refcounted object per firmware context that is both the scheduler and the
 * entity of drm_sched (models drivers/gpu/drm/dep/drm_dep_queue.c and drm_dep_queue.h of
 * "[RFC PATCH 02/12] drm/dep: Add DRM dependency queue layer", Matthew Brost, 2026-03-16).
 *
 * The C code is NOT available. Verified facts come from the RFC's mail text (docs/rfc-sources.md, labels [V]); every
 * other behaviour here is the model's choice, recorded in docs/assumptions.md with the §10 number of
 * the open question it answers. The verified skeleton [V S4, S9, S1, S2]:
 *   - an ordered submit workqueue, a TDR delayed work on a TDR workqueue, an SPSC job queue and
 *     a pending list; refcounted; one per context (no run-queues, no priorities);
 *   - a job holds a queue reference from init to its last put; the queue holds a job reference
 *     from dispatch until the put_job worker (or, with DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE,
 *     the completion context itself) drops it;
 *   - every queue worker starts with kref_get_unless_zero() on the queue (zombie guard);
 *   - the last put starts an asynchronous teardown; the queue timeout is per queue
 *     (q->job.timeout, jiffies); drm_dep_queue_trigger_timeout() fires the TDR at once;
 *   - optional submit-workqueue bypass and optional IRQ job put (queue flags).
 *
 * Context rules of the model (kernel-doc style, per function below): everything that may run
 * from hardirq takes the pending-list lock with spin_lock_irqsave and never sleeps or
 * allocates; everything that sleeps is a generator.
 */
import {
  alloc_ordered_workqueue, alloc_workqueue, cancel_delayed_work, cancel_delayed_work_sync,
  cancel_work, cancel_work_sync, define_assumption, delayed_work_pending, destroy_workqueue, dma_fence_add_callback,
  dma_fence_begin_signalling, dma_fence_end_signalling, EBUSY, ECANCELED, EINVAL, ENOENT,
  INIT_DELAYED_WORK, INIT_WORK, kref, kref_get, kref_get_unless_zero, kref_put, lockdep_assert_held,
  MAX_SCHEDULE_TIMEOUT, mod_delayed_work, queue_work, spin_lock_init, spin_lock_irqsave,
  spin_unlock_irqrestore, wait_event, wait_queue_head, workqueue_is_reclaim_annotated,
  Fifo, Worker, WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM, WQ_UNBOUND,
  type delayed_work, type dma_fence, type dma_fence_cb, type Kernel, type Sleepable, type spinlock_t,
  type work_struct, type workqueue_struct,
} from '@deplab/sim';
import {
  type drm_dep_job, drm_dep_job_get, drm_dep_job_put, job_dependencies_destroy,
  job_signal_finished, job_wait_dependency, type JobState, JOB_DONE, JOB_RUNNING,
} from './drm_dep_job.ts';

/* ------------------------------------------------------------------------------------------ */
/* Selectable assumptions (docs/assumptions.md "Selectable assumptions")                       */
/* ------------------------------------------------------------------------------------------ */

const ASSUMPTIONS_DOC = 'docs/assumptions.md#selectable-assumptions';

/**
 * When ops.release runs. `last-put`: in the context of the last drm_dep_queue_put (hardirq with
 * an IRQ job put, a worker, the reclaim path), after which the free work cancels the queue's
 * work items. `work`: the last put queues the release work on the drm_dep teardown workqueue,
 * which cancels the work items and then calls ops.release in process context.
 */
export const drm_dep_assume_release = define_assumption({
  id: 'dep.release',
  values: ['last-put', 'work'] as const,
  default: 'last-put',
  summary: 'ops.release runs at the last queue put, in its context (last-put), or from the teardown work item (work)',
  doc: ASSUMPTIONS_DOC,
});

/**
 * The TDR workqueue of a queue given no timeout_wq. `separate`: the queue allocates an ordered
 * reclaim-annotated TDR workqueue of its own beside the submit workqueue. `submit`: the TDR runs
 * on the submit workqueue (serialised with run_job and put_job).
 */
export const drm_dep_assume_tdr_wq = define_assumption({
  id: 'dep.tdr-wq',
  values: ['separate', 'submit'] as const,
  default: 'separate',
  summary: 'a queue without a driver-given timeout_wq owns a separate TDR workqueue (separate) or uses its submit workqueue (submit)',
  doc: ASSUMPTIONS_DOC,
});

/**
 * Where a job completed from hardirq is processed on a queue without
 * DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE. `any-queue`: right there (only the put is deferred).
 * `irq-safe-only`: the literal reading of the flag ("drm_dep_job_done() and the job put may run
 * in hardirq"): drm_dep's HW-fence callback defers the whole completion to the queue's done
 * worker, and a driver calling drm_dep_job_done() from hardirq WARNs and is deferred too.
 */
export const drm_dep_assume_job_done_irq = define_assumption({
  id: 'dep.job-done-irq',
  values: ['any-queue', 'irq-safe-only'] as const,
  default: 'any-queue',
  summary: 'drm_dep_job_done from hardirq on every queue (any-queue) or only on JOB_PUT_IRQ_SAFE queues, deferred elsewhere (irq-safe-only)',
  doc: ASSUMPTIONS_DOC,
});

/**
 * The TDR when the head job completes while a drm_dep_queue_trigger_timeout() is outstanding
 * (the TDR queued at zero delay, not yet run; xe's kill). `keep`: the queued TDR stays where it
 * is. `requeue`: mod_delayed_work(0) takes it off the workqueue and queues it again at the tail.
 * `full-timeout`: the head completion re-arms a full timeout, dropping the trigger (what
 * drm_sched's free worker does to a pending drm_sched_fault).
 */
export const drm_dep_assume_tdr_rearm = define_assumption({
  id: 'dep.tdr-rearm',
  values: ['keep', 'requeue', 'full-timeout'] as const,
  default: 'keep',
  summary: 'a triggered TDR still queued when the head job completes stays in place (keep), moves to the tail (requeue), or waits a full timeout (full-timeout)',
  doc: ASSUMPTIONS_DOC,
});

/**
 * How many ready jobs the submit worker hands to run_job per invocation. `drain`: every ready
 * job in order, up to DRM_DEP_SUBMIT_BATCH_MAX, before it re-queues itself. `one`: one job, then
 * it re-queues itself while jobs are queued, as drm_sched's run-job work does.
 */
export const drm_dep_assume_submit_batch = define_assumption({
  id: 'dep.submit-batch',
  values: ['drain', 'one'] as const,
  default: 'drain',
  summary: 'the submit worker runs every ready job (up to 32) per invocation (drain) or one and re-queues itself, as drm_sched (one)',
  doc: ASSUMPTIONS_DOC,
});

/* ------------------------------------------------------------------------------------------ */
/* Flags, timeout status, ops, init arguments                                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * [V S9] drm_dep_job_done() and the queue's job put may run in hardirq. The job's dependency
 * storage is freed in process context right after run_job returns, and the queue's job
 * reference is dropped straight from the completion context: no put_job worker is kicked.
 * The driver's release_job op must then be IRQ-safe.
 */
export const DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE = 1 << 0;
/**
 * [I: name inferred; V that an optional bypass exists, S1/S2] Submit-workqueue bypass:
 * drm_dep_job_push() calls ops.run_job from the pushing context when the queue is idle (no
 * queued job), the job has no unsignalled dependency, the credits fit, the queue is neither
 * stopped nor killed, and the pusher may sleep (process or kworker, no spinlock held, irqs on).
 * Otherwise push falls back to the submit worker.
 */
export const DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS = 1 << 1;
/** Every defined flag; all combinations are valid ([V S1] "All permutations ... tested"). */
export const DRM_DEP_QUEUE_FLAGS_ALL = DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE | DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS;

/**
 * Return values of ops.timedout_job [? in the RFC; the values equal enum drm_gpu_sched_stat's
 * RESET/ENODEV/NO_HANG so that traces of both models compare]. The job stays on the pending
 * list in every case: it leaves only through completion of its HW fence (or
 * drm_dep_job_done()), because the queue holds a reference to it.
 *   RESET   the driver handled a real hang (it errors/signals the HW fence now or later);
 *           the TDR is re-armed for whatever is then the oldest pending job.
 *   ENODEV  the device is gone; the TDR is not re-armed.
 *   NO_HANG a false alarm (e.g. the context was not resident); the TDR is re-armed.
 */
export const DRM_DEP_TIMEDOUT_RESET = 1;
export const DRM_DEP_TIMEDOUT_ENODEV = 2;
export const DRM_DEP_TIMEDOUT_NO_HANG = 3;
export type drm_dep_timedout_stat = typeof DRM_DEP_TIMEDOUT_RESET | typeof DRM_DEP_TIMEDOUT_ENODEV | typeof DRM_DEP_TIMEDOUT_NO_HANG;

/** Error put on the finished fence of a job that never ran because its queue was killed. */
export const DRM_DEP_KILLED_JOB_ERROR = -ECANCELED;

/**
 * struct drm_dep_queue_ops. [V S9] run_job and timedout_job; the rest [I] (docs/assumptions.md §10.4).
 */
export interface drm_dep_queue_ops<J extends drm_dep_job = drm_dep_job, Q extends drm_dep_queue = drm_dep_queue> {
  /**
   * Hand the job to the hardware/firmware. Called from the submit worker, or from the pusher
   * with the bypass flag, inside a dma-fence signalling section: must not allocate with
   * GFP_KERNEL nor wait on fences. Returns the HW fence with a reference for drm_dep, null if
   * the job is already complete (success), or a negative errno (the job completes with it).
   */
  run_job(job: J): dma_fence | null | number;
  /**
   * The oldest pending job ran longer than the queue timeout (or drm_dep_queue_trigger_timeout
   * was called). Process context on the TDR workqueue; may sleep (return a generator), e.g. to
   * stop the queue or wait for a firmware acknowledgement.
   */
  timedout_job(job: J): drm_dep_timedout_stat | Sleepable<drm_dep_timedout_stat>;
  /**
   * The job's last reference is gone: free the driver's container. With
   * DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE it may run in hardirq; otherwise in process context.
   */
  release_job?(job: J): void;
  /**
   * The queue's last reference is gone. With dep.release=last-put (default) it runs in the
   * context of that put: any context, hardirq included (an IRQ job put), so no sleeping, no
   * GFP_KERNEL, IRQ-safe locks. With dep.release=work it runs once every queue worker is idle,
   * in process context on the reclaim-annotated drm_dep teardown workqueue (no GFP_KERNEL).
   * Start the asynchronous firmware teardown; call drm_dep_queue_release_done(q) from any
   * context once the firmware no longer refers to the queue. Without this op drm_dep calls it
   * at once.
   */
  release?(q: Q): void;
  /** Last call on the queue: free the driver's container (process context). The queue is dead. */
  free_queue?(q: Q): void;
}

/** Arguments of drm_dep_queue_init [I: the RFC's init-args struct is not available, §10.2]. */
export interface drm_dep_queue_init_args {
  ops: drm_dep_queue_ops<any, any>;
  /** Queue name: workqueue name, fence timeline name, trace "ring". */
  name: string;
  /** DRM_DEP_QUEUE_FLAGS_*; default 0. */
  flags?: number;
  /** Credits the queue may have in flight (>= 1); each job takes 1..credit_limit. */
  credit_limit: number;
  /** Job timeout in jiffies (q->job.timeout); MAX_SCHEDULE_TIMEOUT disables the TDR timer. */
  timeout: number;
  /** Driver-given ordered submit workqueue; default: the queue allocates its own. */
  submit_wq?: workqueue_struct | null;
  /** Driver-given TDR workqueue; default: one of the queue's own (dep.tdr-wq=separate) or the submit workqueue. */
  timeout_wq?: workqueue_struct | null;
  /** The device whose unload barrier waits for this queue. */
  dev?: drm_dep_device | null;
}

/* ------------------------------------------------------------------------------------------ */
/* Costs                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/**
 * CPU cost of drm_dep's own bookkeeping, on top of what the substrate charges (locks,
 * allocations, fence signalling, work dispatch). Overridable per run through the cost table's
 * driver entries ("drm_dep.job_push_ns", ...). Defaults: a few cache lines touched each, the
 * same order as the substrate's spin_lock_ns/kmalloc_ns entries.
 */
export const DRM_DEP_COSTS = Object.freeze({
  job_push_ns: 40,
  job_run_ns: 60,
  job_done_ns: 40,
  job_free_ns: 30,
  dependency_ns: 15,
});

/** The cost-table names of DRM_DEP_COSTS ("drm_dep.job_push_ns", ...), built once: dep_cost runs per job. */
const DRM_DEP_COST_NAMES = Object.freeze(Object.fromEntries(
  Object.keys(DRM_DEP_COSTS).map((key) => [key, `drm_dep.${key}`]),
)) as Readonly<Record<keyof typeof DRM_DEP_COSTS, string>>;

export function dep_cost(k: Kernel, key: keyof typeof DRM_DEP_COSTS): number {
  return k.cost_of(DRM_DEP_COST_NAMES[key], DRM_DEP_COSTS[key]);
}

/** Jobs the submit worker runs in one invocation before it re-queues itself (a bound). */
export const DRM_DEP_SUBMIT_BATCH_MAX = 32;

/* ------------------------------------------------------------------------------------------ */
/* The queue object                                                                             */
/* ------------------------------------------------------------------------------------------ */

export const QUEUE_ZEROED = 0;
export const QUEUE_LIVE = 1;
/** Refcount reached zero; teardown work queued or running. */
export const QUEUE_ZOMBIE = 2;
/** ops.release called; waiting for drm_dep_queue_release_done. */
export const QUEUE_RELEASING = 3;
/** drm_dep_queue_release_done called; free work queued. */
export const QUEUE_RELEASED = 4;
export const QUEUE_FREED = 5;

/** Everything inside struct drm_dep_queue. Never exported from index.ts. */
export class QueueState {
  readonly kernel: Kernel;
  readonly owner: drm_dep_queue;
  id = -1;
  phase = QUEUE_ZEROED;
  name = '';
  ops: drm_dep_queue_ops | null = null;
  flags = 0;
  credit_limit = 0;
  credit_count = 0;
  /** q->job.timeout [V S9], jiffies. */
  timeout_jiffies = MAX_SCHEDULE_TIMEOUT;
  refcount: kref;
  killed = false;
  stopped = false;
  /**
   * drm_dep_queue_trigger_timeout() is outstanding: a re-arm before the TDR ran (the head job
   * completed meanwhile) keeps the zero delay. Cleared when the TDR runs or nothing is pending.
   */
  tdr_immediate = false;
  /** run_job is executing (re-entrancy guard for the bypass). */
  in_run_job = false;
  submit_wq: workqueue_struct | null = null;
  own_submit_wq = false;
  timeout_wq: workqueue_struct | null = null;
  own_timeout_wq = false;
  /** Assumption values read once at init (dep.release, dep.job-done-irq); dep.tdr-rearm is read where it decides. */
  release_at_last_put = false;
  defer_irq_done = false;
  /** Jobs the submit worker runs per invocation (dep.submit-batch). */
  submit_batch_max = DRM_DEP_SUBMIT_BATCH_MAX;
  work_run_job: work_struct | null = null;
  work_put_job: work_struct | null = null;
  work_tdr: delayed_work | null = null;
  work_release: work_struct | null = null;
  work_free: work_struct | null = null;
  /** dep.job-done-irq=irq-safe-only: completes the jobs of deferred_done in process context. */
  work_done_job: work_struct | null = null;
  /** Protects pending_list, done_list, credit_count and TDR arming. Hardirq-safe. */
  job_lock: spinlock_t | null = null;
  /** The SPSC job queue: pushed, not yet handed to run_job (or cancelled). */
  readonly job_queue = new Fifo<JobState>();
  /** Jobs handed to run_job and not yet done, oldest first. */
  readonly pending_list = new Fifo<JobState>();
  /** Done jobs whose queue reference the put_job worker still has to drop. */
  readonly done_list: JobState[] = [];
  /** Jobs completed in hardirq whose completion the done worker still has to process. */
  readonly deferred_done: JobState[] = [];
  fence_context = 0;
  fence_seqno = 0;
  job_serial = 0;
  dev: drm_dep_device | null = null;

  constructor(kernel: Kernel, owner: drm_dep_queue) {
    this.kernel = kernel;
    this.owner = owner;
    this.refcount = new kref(kernel, 'drm_dep_queue');
    this.refcount.refcount = 0;
  }
}

let queue_state_of: (q: drm_dep_queue) => QueueState;

/**
 * struct drm_dep_queue. Drivers embed it by extending this class; `new drm_dep_queue(kernel)`
 * is zeroed memory until drm_dep_queue_init(). Every field is private [V S2: Brost "would not
 * be receptive to any driver directly touching drm_dep object structs"]; use the accessors.
 */
export class drm_dep_queue {
  readonly #state: QueueState;

  constructor(kernel: Kernel) {
    this.#state = new QueueState(kernel, this);
  }

  static {
    queue_state_of = (q) => q.#state;
  }
}

/** Internal: the private state of `q` (for drm_dep_job.ts). */
export function dep_queue_state(q: drm_dep_queue): QueueState {
  return queue_state_of(q);
}

/* ------------------------------------------------------------------------------------------ */
/* Device (driver-unload barrier)                                                               */
/* ------------------------------------------------------------------------------------------ */

class DeviceState {
  readonly kernel: Kernel;
  readonly name: string;
  /** Queues initialised with this device and not yet freed. */
  queues = 0;
  readonly idle = new wait_queue_head();

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.name = name;
  }
}

let device_state_of: (dev: drm_dep_device) => DeviceState;

/**
 * A device's drm_dep bookkeeping for the driver-unload barrier [V S2 "built-in driver-unload
 * barriers"; mechanism I]. Queues initialised with `args.dev` are counted until freed.
 */
export class drm_dep_device {
  readonly #state: DeviceState;

  constructor(kernel: Kernel, name: string) {
    this.#state = new DeviceState(kernel, name);
  }

  static {
    device_state_of = (d) => d.#state;
  }
}

/**
 * drm_dep_device_wait_idle - the driver-unload barrier. Sleeps until every queue of `dev` has
 * been released and freed (its async teardown and the driver's release completion done).
 * Finished fences do not pin the device: their ops detach on signal. Process context; may
 * sleep. The driver must have killed and put its queues first, or this waits forever.
 */
export function* drm_dep_device_wait_idle(dev: drm_dep_device): Sleepable {
  const ds = device_state_of(dev);
  ds.kernel.might_sleep('drm_dep_device_wait_idle');
  yield* wait_event(ds.kernel, ds.idle, () => ds.queues === 0);
}

/** Queues of `dev` not yet freed. Any context. */
export function drm_dep_device_queue_count(dev: drm_dep_device): number {
  return device_state_of(dev).queues;
}

/* ------------------------------------------------------------------------------------------ */
/* Init, get, put                                                                              */
/* ------------------------------------------------------------------------------------------ */

const teardown_wqs = new WeakMap<Kernel, workqueue_struct>();

/**
 * The module-wide teardown workqueue [I]: WQ_MEM_RECLAIM because the last put of a queue may
 * come from the reclaim path and the teardown frees memory, and WQ_MEM_WARN_ON_RECLAIM so that
 * a GFP_KERNEL allocation in ops.release is reported. Allocated once (module init in C).
 */
function drm_dep_teardown_wq(k: Kernel): workqueue_struct {
  let wq = teardown_wqs.get(k);
  if (wq === undefined) {
    wq = alloc_workqueue(k, 'drm_dep_teardown', WQ_UNBOUND | WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM, 0);
    teardown_wqs.set(k, wq);
  }
  return wq;
}

function valid_timeout(t: number): boolean {
  return t === MAX_SCHEDULE_TIMEOUT || (Number.isSafeInteger(t) && t > 0);
}

/**
 * drm_dep_queue_init - initialise a zeroed queue with one reference (the caller's).
 * Process context; may sleep (allocates the submit workqueue).
 * Returns 0, -EINVAL for bad arguments, or -EBUSY if `q` is already initialised.
 * A driver-given workqueue that is not reclaim-annotated (WQ_MEM_WARN_ON_RECLAIM) triggers a
 * WARN but is accepted, so the driver still runs and the report names the culprit.
 */
export function drm_dep_queue_init(q: drm_dep_queue, args: drm_dep_queue_init_args): number {
  const qs = queue_state_of(q);
  const k = qs.kernel;
  const site = 'drm_dep_queue_init';
  k.might_sleep(site);
  if ((qs.phase !== QUEUE_ZEROED) && k.WARN_ON(true, site, `drm_dep_queue_init on an initialised queue ${qs.name}`)) return -EBUSY;
  const flags = args.flags ?? 0;
  if (typeof args.ops?.run_job !== 'function' || typeof args.ops.timedout_job !== 'function') return -EINVAL;
  if (typeof args.name !== 'string' || args.name.length === 0) return -EINVAL;
  if ((flags & ~DRM_DEP_QUEUE_FLAGS_ALL) !== 0) return -EINVAL;
  if (!Number.isSafeInteger(args.credit_limit) || args.credit_limit < 1) return -EINVAL;
  if (!valid_timeout(args.timeout)) return -EINVAL;
  for (const [what, wq] of [['submit_wq', args.submit_wq], ['timeout_wq', args.timeout_wq]] as const) {
    if (wq !== undefined && wq !== null) {
      (!workqueue_is_reclaim_annotated(wq)) && k.WARN_ON(true, site, `${args.name}: driver-given ${what} ${wq.name} is not reclaim annotated (WQ_MEM_WARN_ON_RECLAIM)`);
    }
  }
  qs.name = args.name;
  qs.ops = args.ops;
  qs.flags = flags;
  qs.credit_limit = args.credit_limit;
  qs.timeout_jiffies = args.timeout;
  qs.own_submit_wq = args.submit_wq === undefined || args.submit_wq === null;
  qs.submit_wq = qs.own_submit_wq
    ? alloc_ordered_workqueue(k, args.name, WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM)
    : args.submit_wq!;
  qs.own_timeout_wq = (args.timeout_wq === undefined || args.timeout_wq === null) && k.assume(drm_dep_assume_tdr_wq) === 'separate';
  qs.timeout_wq = qs.own_timeout_wq
    ? alloc_ordered_workqueue(k, `${args.name}-tdr`, WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM)
    : args.timeout_wq ?? qs.submit_wq;
  qs.release_at_last_put = k.assume(drm_dep_assume_release) === 'last-put';
  qs.defer_irq_done = (flags & DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE) === 0 && k.assume(drm_dep_assume_job_done_irq) === 'irq-safe-only';
  qs.submit_batch_max = k.assume(drm_dep_assume_submit_batch) === 'one' ? 1 : DRM_DEP_SUBMIT_BATCH_MAX;
  qs.job_lock = spin_lock_init(k, '&drm_dep_queue->job.lock');
  qs.work_run_job = INIT_WORK(k, drm_dep_queue_run_job_work, 'drm_dep_queue_run_job_work', qs);
  qs.work_put_job = INIT_WORK(k, drm_dep_queue_put_job_work, 'drm_dep_queue_put_job_work', qs);
  qs.work_tdr = INIT_DELAYED_WORK(k, drm_dep_queue_tdr_work, 'drm_dep_queue_tdr_work', qs);
  qs.work_release = INIT_WORK(k, drm_dep_queue_release_work, 'drm_dep_queue_release_work', qs);
  qs.work_free = INIT_WORK(k, drm_dep_queue_free_work, 'drm_dep_queue_free_work', qs);
  if (qs.defer_irq_done) qs.work_done_job = INIT_WORK(k, drm_dep_queue_done_job_work, 'drm_dep_queue_done_job_work', qs);
  qs.fence_context = k.dma_fence_context_alloc(1);
  qs.refcount.refcount = 1;
  qs.id = k.lifetime.track('drm_dep_queue', args.name);
  qs.phase = QUEUE_LIVE;
  if (args.dev !== undefined && args.dev !== null) {
    qs.dev = args.dev;
    device_state_of(args.dev).queues++;
  }
  return 0;
}

/**
 * Common entry check of the queue API: initialised, memory alive, last reference not gone.
 * Returns false (after recording why) when the call must not proceed.
 */
export function queue_check_live(qs: QueueState, site: string): boolean {
  const k = qs.kernel;
  if (qs.phase === QUEUE_ZEROED) {
    k.violation('warn', site, `${site} on a drm_dep_queue that was never initialised`);
    return false;
  }
  if (!k.lifetime.use(qs.id, site)) return false;
  return !((qs.phase !== QUEUE_LIVE) && k.WARN_ON(true, site, `${site} on drm_dep_queue ${qs.name} after its last put (teardown under way)`));
}

/** drm_dep_queue_get - take a reference. Any context. Returns `q`. */
export function drm_dep_queue_get<Q extends drm_dep_queue>(q: Q): Q {
  const qs = queue_state_of(q);
  if (qs.phase === QUEUE_ZEROED || !qs.kernel.lifetime.use(qs.id, 'drm_dep_queue_get')) return q;
  kref_get(qs.refcount); // a get on a zero count is reported by kref as a use after free
  return q;
}

/**
 * drm_dep_queue_get_unless_zero - take a reference only while the count is not zero. Any
 * context. Returns `q`, or null once the last reference is gone (the queue is a zombie whose
 * teardown is under way): the RFC's queue workers start with kref_get_unless_zero on the queue,
 * and a driver walking its own queue table (xe's xe_exec_queue_get_unless_zero) needs the same
 * to skip a queue that is being released [I: exported as the RFC's workers use it].
 */
export function drm_dep_queue_get_unless_zero<Q extends drm_dep_queue>(q: Q): Q | null {
  const qs = queue_state_of(q);
  if (qs.phase === QUEUE_ZEROED || !qs.kernel.lifetime.use(qs.id, 'drm_dep_queue_get_unless_zero')) return null;
  return kref_get_unless_zero(qs.refcount) ? q : null;
}

/**
 * drm_dep_queue_put - drop a reference. Any context, including hardirq and the reclaim path:
 * the last put calls ops.release right there (dep.release=last-put) or queues the teardown
 * work on the preallocated work item (dep.release=work); either way drm_dep itself neither
 * allocates nor sleeps [V S2 "reclaim-safe final puts"; mechanism I].
 */
export function drm_dep_queue_put(q: drm_dep_queue): void {
  const qs = queue_state_of(q);
  if (qs.phase === QUEUE_ZEROED || !qs.kernel.lifetime.use(qs.id, 'drm_dep_queue_put')) return;
  kref_put(qs.refcount, () => queue_last_put(qs));
}

/** The last reference is gone (dep.release decides whether ops.release runs here). */
function queue_last_put(qs: QueueState): void {
  if (qs.release_at_last_put) {
    queue_release(qs);
    return;
  }
  qs.phase = QUEUE_ZOMBIE;
  queue_work(drm_dep_teardown_wq(qs.kernel), qs.work_release!);
}

/* ------------------------------------------------------------------------------------------ */
/* Submission                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** Kick the submit worker unless the queue is stopped or being torn down. Any context. */
function queue_kick_run_job(qs: QueueState): void {
  if (qs.stopped || qs.phase !== QUEUE_LIVE) return;
  queue_work(qs.submit_wq!, qs.work_run_job!);
}

function queue_kick_put_job(qs: QueueState): void {
  if (qs.stopped) return;
  queue_work(qs.submit_wq!, qs.work_put_job!);
}

/** The job's finished-fence identity, as every drm_dep_job_* tracepoint carries it. */
function job_trace_id(js: JobState): { fence_context: number; fence_seqno: number } {
  const f = js.fence!.base;
  return { fence_context: f.context, fence_seqno: f.seqno };
}

function trace_job(qs: QueueState, name: 'drm_dep_job_queue' | 'drm_dep_job_run', js: JobState): void {
  const k = qs.kernel;
  if (!k.trace.enabled) return;
  // job_count: jobs in the SPSC queue; hw_job_count: the credit count, as upstream's
  // drm_sched_job tracepoint class reports it.
  const f = js.fence!.base;
  k.tp(name, {
    fence_context: f.context, fence_seqno: f.seqno, ring: qs.name, job_count: qs.job_queue.length,
    hw_job_count: qs.credit_count, client_id: js.client_id,
  });
}

/**
 * Called by drm_dep_job_push() with the job armed and the queue's job reference taken, inside
 * the arm→push signalling section. Any context (the bypass only where sleeping is allowed).
 */
export function queue_push_job(qs: QueueState, js: JobState): void {
  const k = qs.kernel;
  k.spend(dep_cost(k, 'job_push_ns'));
  trace_job(qs, 'drm_dep_job_queue', js);
  if (k.trace.enabled) {
    for (const dep of js.dependencies.values()) {
      k.tp('drm_dep_job_add_dep', { ...job_trace_id(js), dep_context: dep.context, dep_seqno: dep.seqno });
    }
  }
  if (queue_can_bypass(qs, js)) {
    queue_run_job(qs, js);
    return;
  }
  const first = qs.job_queue.length === 0;
  qs.job_queue.push(js);
  // Only the empty→non-empty transition kicks: a non-empty queue has a worker queued, or is
  // blocked on a dependency (its callback kicks) or on credits (completion kicks).
  if (first) queue_kick_run_job(qs);
}

/** The bypass decision (docs/assumptions.md §10.10-12). */
function queue_can_bypass(qs: QueueState, js: JobState): boolean {
  const k = qs.kernel;
  if ((qs.flags & DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS) === 0) return false;
  if (!k.current.may_sleep || qs.in_run_job) return false;
  if (qs.killed || qs.stopped || qs.phase !== QUEUE_LIVE) return false;
  if (job_has_unsignalled_dependency(k, js)) return false;
  const flags = spin_lock_irqsave(qs.job_lock!);
  const ok = qs.job_queue.length === 0 && qs.credit_count + js.credits <= qs.credit_limit;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  return ok;
}

function job_has_unsignalled_dependency(k: Kernel, js: JobState): boolean {
  for (const dep of js.dependencies.values()) {
    k.spend(dep_cost(k, 'dependency_ns'));
    if (!dep.signaled) return true;
  }
  return false;
}

/**
 * drm_dep_queue_run_job_work - the submit worker (ordered submit workqueue, kworker context).
 * Drains ready jobs in order: waits on the head job's dependencies, cancels it if the queue was
 * killed (after every started job has completed, so the timeline signals in order), or runs it
 * when its credits fit. At most DRM_DEP_SUBMIT_BATCH_MAX jobs per invocation, or one
 * (dep.submit-batch).
 */
function drm_dep_queue_run_job_work(work: work_struct): void {
  const qs = work.owner as QueueState;
  if (!kref_get_unless_zero(qs.refcount)) return; // zombie guard [V S9]
  queue_submit_batch(qs);
  drm_dep_queue_put(qs.owner);
}

function queue_submit_batch(qs: QueueState): void {
  for (let n = 0; ; n++) {
    if (qs.stopped) return;
    const js = qs.job_queue.at(0);
    if (js === undefined) return;
    if (n === qs.submit_batch_max) {
      queue_kick_run_job(qs); // bounded batch: let other work on the workqueue run
      return;
    }
    if (job_wait_dependency(js, dependency_wakeup)) return;
    if (qs.killed) {
      if (queue_has_pending(qs)) return; // completion of the last started job kicks again
      qs.job_queue.shift();
      queue_cancel_job(qs, js, DRM_DEP_KILLED_JOB_ERROR);
      continue;
    }
    if (!queue_credits_fit(qs, js)) return; // completion kicks when credits come back
    qs.job_queue.shift();
    queue_run_job(qs, js);
  }
}

/** Dependency fence callback: the head job may be ready. Signaller's context (any). */
function dependency_wakeup(_fence: dma_fence, cb: dma_fence_cb): void {
  const js = cb.owner as JobState;
  queue_kick_run_job(js.qs!);
}

function queue_has_pending(qs: QueueState): boolean {
  const flags = spin_lock_irqsave(qs.job_lock!);
  const busy = qs.pending_list.length > 0;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  return busy;
}

function queue_credits_fit(qs: QueueState, js: JobState): boolean {
  const flags = spin_lock_irqsave(qs.job_lock!);
  const fit = qs.credit_count + js.credits <= qs.credit_limit;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  return fit;
}

/** Append to the pending list. Must be called with qs.job_lock held. */
function pending_list_add_locked(qs: QueueState, js: JobState): void {
  lockdep_assert_held(qs.job_lock!, 'pending_list_add_locked');
  qs.pending_list.push(js);
}

/**
 * Arm the TDR for the oldest pending job: a full timeout from now (the head is the job the
 * firmware is executing). Must be called with qs.job_lock held.
 */
function tdr_arm_locked(qs: QueueState): void {
  lockdep_assert_held(qs.job_lock!, 'tdr_arm_locked');
  if (qs.stopped || qs.pending_list.length === 0) return;
  if (qs.tdr_immediate) {
    mod_delayed_work(qs.timeout_wq!, qs.work_tdr!, 0);
    return;
  }
  if (qs.timeout_jiffies === MAX_SCHEDULE_TIMEOUT) return;
  mod_delayed_work(qs.timeout_wq!, qs.work_tdr!, qs.timeout_jiffies);
}

/**
 * Re-arm the TDR for the new head after the head completed (dep.tdr-rearm decides what an
 * outstanding trigger does). Must be called with qs.job_lock held.
 */
function tdr_rearm_head_locked(qs: QueueState): void {
  if (qs.tdr_immediate) {
    // Read here, where it decides, not at init: a run that never triggers a TDR is then the
    // same run under every value (readiness reuses it: Kernel.assumptions_read).
    const rearm = qs.kernel.assume(drm_dep_assume_tdr_rearm);
    if (rearm === 'keep' && delayed_work_pending(qs.work_tdr!)) return;
    if (rearm === 'full-timeout') qs.tdr_immediate = false;
  }
  tdr_arm_locked(qs);
}

/**
 * Hand `js` to ops.run_job (submit worker, or the pusher on the bypass path). Process or
 * kworker context; runs run_job inside a dma-fence signalling section.
 */
function queue_run_job(qs: QueueState, js: JobState): void {
  const k = qs.kernel;
  k.spend(dep_cost(k, 'job_run_ns'));
  const flags = spin_lock_irqsave(qs.job_lock!);
  const first = qs.pending_list.length === 0;
  qs.credit_count += js.credits;
  pending_list_add_locked(qs, js);
  if (first) tdr_arm_locked(qs); // later jobs do not push the timer out
  js.state = JOB_RUNNING;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  trace_job(qs, 'drm_dep_job_run', js);
  const cookie = dma_fence_begin_signalling(k);
  qs.in_run_job = true;
  const ret = qs.ops!.run_job(js.owner);
  qs.in_run_job = false;
  dma_fence_end_signalling(k, cookie);
  if ((qs.flags & DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE) !== 0) {
    job_dependencies_destroy(js); // [V S9] process context, after run_job returned
  }
  if (ret === null) {
    queue_job_done(qs, js, 0);
  } else if (typeof ret === 'number') {
    (ret >= 0) && k.WARN_ON(true, 'drm_dep_queue_run_job', `${qs.name}: run_job returned ${ret}, not a negative errno`);
    queue_job_done(qs, js, ret < 0 ? ret : -EINVAL);
  } else {
    js.hw_fence = ret; // the reference run_job returned is drm_dep's
    const r = dma_fence_add_callback(ret, js.hw_cb, hw_fence_done);
    if (r === -ENOENT) queue_job_done(qs, js, ret.error);
    else (r !== 0) && k.WARN_ON(true, 'drm_dep_queue_run_job', `${qs.name}: cannot add a callback to the HW fence (${r})`);
  }
}

/** HW fence callback: the job completed. The HW fence signaller's context (often hardirq). */
function hw_fence_done(fence: dma_fence, cb: dma_fence_cb): void {
  const js = cb.owner as JobState;
  const qs = js.qs!;
  if (qs.defer_irq_done && qs.kernel.current.in_irq) queue_defer_job_done(qs, js, fence.error);
  else queue_job_done(qs, js, fence.error);
}

/**
 * dep.job-done-irq=irq-safe-only, a queue without JOB_PUT_IRQ_SAFE: a completion in hardirq is
 * handed to the done worker on the submit workqueue. Not paused by drm_dep_queue_stop
 * (completions still signal on a stopped queue). Hardirq.
 */
export function queue_defer_job_done(qs: QueueState, js: JobState, error: number): void {
  const flags = spin_lock_irqsave(qs.job_lock!);
  js.deferred_error = error;
  js.done_deferred = true;
  qs.deferred_done.push(js);
  spin_unlock_irqrestore(qs.job_lock!, flags);
  queue_work(qs.submit_wq!, qs.work_done_job!);
}

/** drm_dep_queue_done_job_work: process the completions deferred from hardirq (kworker). */
function drm_dep_queue_done_job_work(work: work_struct): void {
  const qs = work.owner as QueueState;
  if (!kref_get_unless_zero(qs.refcount)) return; // zombie guard [V S9]
  const flags = spin_lock_irqsave(qs.job_lock!);
  const batch = qs.deferred_done.splice(0, qs.deferred_done.length);
  spin_unlock_irqrestore(qs.job_lock!, flags);
  for (const js of batch) queue_job_done(qs, js, js.deferred_error);
  drm_dep_queue_put(qs.owner);
}

/**
 * A running job completed with `error` (0 or a negative errno). Any context, hardirq included.
 * Takes the job off the pending list, returns its credits, re-arms the TDR for the new oldest
 * job, signals the finished fence, and drops the queue's job reference: right here with
 * DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, else through the put_job worker.
 */
export function queue_job_done(qs: QueueState, js: JobState, error: number): void {
  const k = qs.kernel;
  k.spend(dep_cost(k, 'job_done_ns'));
  const irq_put = (qs.flags & DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE) !== 0;
  const flags = spin_lock_irqsave(qs.job_lock!);
  const index = qs.pending_list.indexOf(js);
  if ((index < 0) && k.WARN_ON(true, 'drm_dep_job_done', `${qs.name}: completed job is not on the pending list`)) {
    spin_unlock_irqrestore(qs.job_lock!, flags);
    return;
  }
  // Jobs usually complete oldest first: removal is O(1) there.
  qs.pending_list.remove_at(index);
  qs.credit_count -= js.credits;
  if (index === 0) {
    if (qs.pending_list.length === 0) {
      cancel_delayed_work(qs.work_tdr!);
      qs.tdr_immediate = false;
    } else {
      tdr_rearm_head_locked(qs);
    }
  }
  js.state = JOB_DONE;
  if (!irq_put) qs.done_list.push(js);
  const kick = qs.job_queue.length > 0;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  if (k.trace.enabled) k.tp('drm_dep_job_done', job_trace_id(js));
  job_signal_finished(js, error);
  if (kick) queue_kick_run_job(qs); // credits came back, or a killed queue may cancel now
  if (irq_put) drm_dep_job_put(js.owner); // the queue's job reference [V S9]
  else queue_kick_put_job(qs);
}

/**
 * Complete a job that never ran (killed queue): signal its finished fence with `error` and drop
 * the queue's job reference. Submit worker (kworker) context.
 */
function queue_cancel_job(qs: QueueState, js: JobState, error: number): void {
  const k = qs.kernel;
  js.state = JOB_DONE;
  job_dependencies_destroy(js);
  if (k.trace.enabled) k.tp('drm_dep_job_done', job_trace_id(js));
  job_signal_finished(js, error);
  drm_dep_job_put(js.owner);
}

/**
 * drm_dep_queue_put_job_work - drops the queue's reference of every done job (submit
 * workqueue, kworker context). Not used with DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE.
 */
function drm_dep_queue_put_job_work(work: work_struct): void {
  const qs = work.owner as QueueState;
  if (!kref_get_unless_zero(qs.refcount)) return; // zombie guard [V S9]
  if (!qs.stopped) {
    const flags = spin_lock_irqsave(qs.job_lock!);
    const batch = qs.done_list.splice(0, qs.done_list.length);
    spin_unlock_irqrestore(qs.job_lock!, flags);
    for (const js of batch) drm_dep_job_put(js.owner);
  }
  drm_dep_queue_put(qs.owner);
}

/* ------------------------------------------------------------------------------------------ */
/* Timeout (TDR)                                                                               */
/* ------------------------------------------------------------------------------------------ */

function is_sleepable<T>(value: unknown): value is Sleepable<T> {
  return typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function';
}

/**
 * drm_dep_queue_tdr_work - the oldest pending job timed out (TDR workqueue, kworker context,
 * may sleep). Holds a job reference across ops.timedout_job; re-arms unless ENODEV.
 */
function* drm_dep_queue_tdr_work(work: work_struct): Sleepable {
  const qs = work.owner as QueueState;
  const k = qs.kernel;
  if (!kref_get_unless_zero(qs.refcount)) return; // zombie guard [V S9]
  let flags = spin_lock_irqsave(qs.job_lock!);
  const js = qs.pending_list.at(0);
  qs.tdr_immediate = false;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  if (js !== undefined) {
    drm_dep_job_get(js.owner);
    // deplab-only: the handler may complete or cancel jobs before it returns.
    if (k.trace.enabled) k.tp('drm_dep_tdr_start', job_trace_id(js));
    const ret = qs.ops!.timedout_job(js.owner);
    const status: number = is_sleepable<drm_dep_timedout_stat>(ret) ? yield* ret : ret;
    (status !== DRM_DEP_TIMEDOUT_RESET && status !== DRM_DEP_TIMEDOUT_NO_HANG && status !== DRM_DEP_TIMEDOUT_ENODEV) && k.WARN_ON(true, 'drm_dep_queue_tdr_work', `${qs.name}: timedout_job returned ${status}`);
    if (k.trace.enabled) k.tp('drm_dep_job_timedout', { ...job_trace_id(js), status });
    if (status !== DRM_DEP_TIMEDOUT_ENODEV) {
      flags = spin_lock_irqsave(qs.job_lock!);
      if (!delayed_work_pending(qs.work_tdr!)) tdr_arm_locked(qs);
      spin_unlock_irqrestore(qs.job_lock!, flags);
    }
    drm_dep_job_put(js.owner);
  }
  drm_dep_queue_put(qs.owner);
}

/**
 * drm_dep_queue_trigger_timeout - run the TDR now, once, for the oldest pending job (device
 * teardown, a fault, a kill that wants in-flight work gone). When nothing is pending the TDR
 * runs, finds nothing and leaves no state behind. Any context.
 */
export function drm_dep_queue_trigger_timeout(q: drm_dep_queue): void {
  const qs = queue_state_of(q);
  if (!queue_check_live(qs, 'drm_dep_queue_trigger_timeout')) return;
  const flags = spin_lock_irqsave(qs.job_lock!);
  qs.tdr_immediate = true;
  mod_delayed_work(qs.timeout_wq!, qs.work_tdr!, 0);
  spin_unlock_irqrestore(qs.job_lock!, flags);
}

/* ------------------------------------------------------------------------------------------ */
/* Stop / start / kill                                                                          */
/* ------------------------------------------------------------------------------------------ */

/**
 * drm_dep_queue_stop - pause submission and the put_job worker, and disarm the TDR timer (a
 * TDR already running finishes). Completions still signal finished fences. Process context;
 * sleeps until the workers are idle, so never call it from run_job; calling it from
 * timedout_job is fine.
 */
export function* drm_dep_queue_stop(q: drm_dep_queue): Sleepable {
  const qs = queue_state_of(q);
  if (!queue_check_live(qs, 'drm_dep_queue_stop')) return;
  const k = qs.kernel;
  k.might_sleep('drm_dep_queue_stop');
  qs.stopped = true;
  cancel_delayed_work(qs.work_tdr!);
  const self = k.current_sleeper;
  if (self instanceof Worker && self.wq === qs.submit_wq && qs.submit_wq.ordered) {
    // Called from an item of the queue's own ordered workqueue (timedout_job with the default
    // timeout_wq): the other items cannot be running, so dequeuing them is exact.
    cancel_work(qs.work_run_job!);
    cancel_work(qs.work_put_job!);
    return;
  }
  yield* cancel_work_sync(qs.work_run_job!);
  yield* cancel_work_sync(qs.work_put_job!);
}

/** drm_dep_queue_start - undo drm_dep_queue_stop: re-arm the TDR, kick the workers. Any context. */
export function drm_dep_queue_start(q: drm_dep_queue): void {
  const qs = queue_state_of(q);
  if (!queue_check_live(qs, 'drm_dep_queue_start') || !qs.stopped) return;
  qs.stopped = false;
  const flags = spin_lock_irqsave(qs.job_lock!);
  tdr_arm_locked(qs);
  const run = qs.job_queue.length > 0;
  const put = qs.done_list.length > 0;
  spin_unlock_irqrestore(qs.job_lock!, flags);
  if (run) queue_kick_run_job(qs);
  if (put) queue_kick_put_job(qs);
}

/**
 * drm_dep_queue_kill - no new job will run on `q`. Jobs not yet handed to run_job (queued now
 * or pushed later) complete with DRM_DEP_KILLED_JOB_ERROR (-ECANCELED), in queue order, each
 * after its own dependencies and after every started job has completed, so the fence timeline
 * stays ordered. Started jobs are left to the hardware or the TDR; no driver op is called and
 * the TDR is not triggered. Returns at once (not a sleeping call); any context. Idempotent.
 * New drm_dep_job_init() calls on a killed queue fail with -ECANCELED.
 */
export function drm_dep_queue_kill(q: drm_dep_queue): void {
  const qs = queue_state_of(q);
  if (!queue_check_live(qs, 'drm_dep_queue_kill') || qs.killed) return;
  qs.killed = true;
  qs.kernel.tp('drm_dep_queue_kill', { ring: qs.name, fence_context: qs.fence_context });
  if (qs.job_queue.length > 0) queue_kick_run_job(qs);
}

/* ------------------------------------------------------------------------------------------ */
/* Asynchronous teardown                                                                        */
/* ------------------------------------------------------------------------------------------ */

/**
 * drm_dep_queue_release_work - first teardown stage with dep.release=work (drm_dep teardown
 * workqueue): cancel the queue's idle work items, then call ops.release.
 */
function* drm_dep_queue_release_work(work: work_struct): Sleepable {
  const qs = work.owner as QueueState;
  yield* queue_cancel_work_items(qs);
  queue_release(qs);
}

/** Cancel the queue's work items, which leave at once (zombie guard) if they get to run. */
function* queue_cancel_work_items(qs: QueueState): Sleepable {
  yield* cancel_delayed_work_sync(qs.work_tdr!);
  yield* cancel_work_sync(qs.work_run_job!);
  yield* cancel_work_sync(qs.work_put_job!);
  if (qs.work_done_job !== null) yield* cancel_work_sync(qs.work_done_job);
}

/**
 * Call ops.release (or complete the release at once without it): in the release work, or in
 * the last put's context with dep.release=last-put. No job can exist any more (each holds a
 * queue reference).
 */
function queue_release(qs: QueueState): void {
  const k = qs.kernel;
  (qs.job_queue.length + qs.pending_list.length + qs.done_list.length + qs.deferred_done.length > 0) && k.WARN_ON(true, 'drm_dep_queue_release', `${qs.name}: jobs left at teardown`);
  qs.phase = QUEUE_RELEASING;
  k.tp('drm_dep_queue_release', { ring: qs.name });
  if (qs.ops!.release !== undefined) qs.ops!.release(qs.owner);
  else drm_dep_queue_release_done(qs.owner);
}

/**
 * drm_dep_queue_release_done - the driver's completion of ops.release: the firmware no longer
 * refers to the queue, its memory may go. Any context (e.g. the firmware's reply IRQ).
 */
export function drm_dep_queue_release_done(q: drm_dep_queue): void {
  const qs = queue_state_of(q);
  const k = qs.kernel;
  const site = 'drm_dep_queue_release_done';
  if (!k.lifetime.use(qs.id, site)) return;
  if ((qs.phase !== QUEUE_RELEASING) && k.WARN_ON(true, site, `${qs.name}: release_done outside of ops.release`)) return;
  qs.phase = QUEUE_RELEASED;
  queue_work(drm_dep_teardown_wq(k), qs.work_free!);
}

/** drm_dep_queue_free_work - last stage: destroy the owned workqueue, free, tell the device. */
function* drm_dep_queue_free_work(work: work_struct): Sleepable {
  const qs = work.owner as QueueState;
  const k = qs.kernel;
  if (qs.release_at_last_put) yield* queue_cancel_work_items(qs);
  if (qs.own_submit_wq) yield* destroy_workqueue(qs.submit_wq!);
  if (qs.own_timeout_wq) yield* destroy_workqueue(qs.timeout_wq!);
  k.tp('drm_dep_queue_free', { ring: qs.name });
  const dev = qs.dev;
  qs.phase = QUEUE_FREED;
  k.lifetime.free(qs.id, 'drm_dep_queue_free');
  qs.ops!.free_queue?.(qs.owner);
  if (dev !== null) {
    const ds = device_state_of(dev);
    ds.queues--;
    k.wake_up(ds.idle);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                   */
/* ------------------------------------------------------------------------------------------ */

export function drm_dep_queue_name(q: drm_dep_queue): string {
  const qs = queue_state_of(q);
  qs.kernel.lifetime.use(qs.id, 'drm_dep_queue_name');
  return qs.name;
}

export function drm_dep_queue_flags(q: drm_dep_queue): number {
  return queue_state_of(q).flags;
}

/** The job timeout (q->job.timeout), jiffies. */
export function drm_dep_queue_timeout(q: drm_dep_queue): number {
  return queue_state_of(q).timeout_jiffies;
}

/** The fence context of the queue's finished fences. */
export function drm_dep_queue_fence_context(q: drm_dep_queue): number {
  return queue_state_of(q).fence_context;
}

export function drm_dep_queue_is_killed(q: drm_dep_queue): boolean {
  return queue_state_of(q).killed;
}

export function drm_dep_queue_is_stopped(q: drm_dep_queue): boolean {
  return queue_state_of(q).stopped;
}

/** Credits of the jobs handed to run_job and not yet completed. */
export function drm_dep_queue_credit_count(q: drm_dep_queue): number {
  return queue_state_of(q).credit_count;
}

/**
 * drm_dep_queue_for_each_pending_job - call `fn` on every job handed to run_job and not yet
 * completed, oldest first. Only on a stopped queue (WARN otherwise), as drm_sched's
 * drm_sched_for_each_pending_job: the driver's reset path uses it.
 */
export function drm_dep_queue_for_each_pending_job<J extends drm_dep_job>(q: drm_dep_queue, fn: (job: J) => void): void {
  const qs = queue_state_of(q);
  const site = 'drm_dep_queue_for_each_pending_job';
  if (!queue_check_live(qs, site)) return;
  !qs.stopped && qs.kernel.WARN_ON(true, site, `${qs.name}: pending jobs iterated on a queue that is not stopped`);
  for (const js of qs.pending_list.to_array()) fn(js.owner as J);
}

