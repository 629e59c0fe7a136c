/**
 * drm_dep_job: one unit of GPU work on one drm_dep_queue (models drivers/gpu/drm/dep/
 * drm_dep_job.c and drm_dep_job.h of "[RFC PATCH 02/12] drm/dep: Add DRM dependency queue
 * layer"). The C code is NOT available; this follows the mail text (docs/rfc-sources.md: S4, S9) and the
 * "DOC: DRM dependency job" fragment quoted in S11.
 *
 * Verified [V S11, S4, S9]: the driver allocates the job (usually embedded) and calls
 * drm_dep_job_init(); on success the job holds one kref and a reference to its queue until
 * its last put. Dependencies are kept in an xarray and deduplicated per fence context; the
 * add_dependency / syncobj / resv / implicit helpers mirror drm_sched's. Arm initialises the
 * finished fence with the next seqno of the queue; push hands the job to the queue, which takes
 * a job reference. With DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, done and the put may run in
 * hardirq and the dependency xarray is destroyed after run_job returns, in process context.
 * Everything else (argument lists, error codes, the misuse WARNs) is inferred: docs/assumptions.md.
 */
import {
  dma_fence_add_callback, dma_fence_begin_signalling, dma_fence_end_signalling, dma_fence_get,
  dma_fence_is_later, dma_fence_is_signaled, dma_fence_put, dma_fence_remove_callback,
  dma_resv_fences, dma_resv_usage_rw, drm_syncobj_find_fence, ECANCELED, EBUSY, EINVAL, ENOMEM,
  GFP_KERNEL, kfree, kref, kref_get, kref_put, lockdep_assert_held, spin_lock,
  spin_lock_init, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
  type Allocation, type dma_fence, dma_fence_cb, type dma_fence_func_t, type dma_resv, type drm_file,
  type drm_gem_object, type Kernel, type spinlock_t, xa_alloc_node,
} from '@deplab/sim';
import {
  drm_dep_fence_alloc, drm_dep_fence_init, drm_dep_fence_release, drm_dep_fence_signal, type drm_dep_fence,
} from './drm_dep_fence.ts';
import {
  dep_cost, dep_queue_state, drm_dep_queue_put, DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, type drm_dep_queue,
  queue_check_live, queue_defer_job_done, queue_job_done, queue_push_job, type QueueState,
} from './drm_dep_queue.ts';

export const JOB_NEW = 0;
export const JOB_INIT = 1;
export const JOB_ARMED = 2;
/** Pushed: in the SPSC queue (or being run by the bypass). */
export const JOB_QUEUED = 3;
/** Handed to run_job, on the pending list. */
export const JOB_RUNNING = 4;
/** Finished fence signalled (completed, or cancelled by kill). */
export const JOB_DONE = 5;
export const JOB_RELEASED = 6;

/** Everything inside struct drm_dep_job. Never exported from index.ts. */
export class JobState {
  readonly kernel: Kernel;
  readonly owner: drm_dep_job;
  qs: QueueState | null = null;
  id = -1;
  readonly refcount: kref;
  state = JOB_NEW;
  credits = 0;
  client_id = 0;
  /** The dependency xarray: one fence (with a reference) per context; Map order = index order. */
  readonly dependencies = new Map<number, dma_fence>();
  xa_node: Allocation | null = null;
  xa_lock: spinlock_t | null = null;
  /** Dependencies as the submit worker walks them (frozen at arm) and its cursor. */
  dep_list: dma_fence[] = [];
  dep_cursor = 0;
  readonly dep_cb: dma_fence_cb;
  /** The HW fence run_job returned (drm_dep's reference) and drm_dep's callback on it. */
  hw_fence: dma_fence | null = null;
  readonly hw_cb: dma_fence_cb;
  fence: drm_dep_fence | null = null;
  /** dma_fence_begin_signalling cookie from arm, consumed by push. */
  signalling_cookie: boolean | null = null;
  /** Completed in hardirq and handed to the done worker (dep.job-done-irq=irq-safe-only), with its error. */
  done_deferred = false;
  deferred_error = 0;

  constructor(kernel: Kernel, owner: drm_dep_job) {
    this.kernel = kernel;
    this.owner = owner;
    this.refcount = new kref(kernel, 'drm_dep_job');
    this.refcount.refcount = 0;
    this.dep_cb = new dma_fence_cb(this);
    this.hw_cb = new dma_fence_cb(this);
  }
}

let job_state_of: (job: drm_dep_job) => JobState;

/**
 * struct drm_dep_job. Drivers embed it by extending this class; `new drm_dep_job(kernel)` is
 * zeroed memory until drm_dep_job_init(). All fields are private; use the functions below.
 */
export class drm_dep_job {
  readonly #state: JobState;

  constructor(kernel: Kernel) {
    this.#state = new JobState(kernel, this);
  }

  static {
    job_state_of = (job) => job.#state;
  }
}

/** Internal: the private state of `job` (for drm_dep_queue.ts). */
export function dep_job_state(job: drm_dep_job): JobState {
  return job_state_of(job);
}

/** Entry check of the job API: initialised and not yet freed. */
function job_check_live(js: JobState, site: string): boolean {
  const k = js.kernel;
  if (js.state === JOB_NEW) {
    k.violation('warn', site, `${site} on a drm_dep_job that was never initialised`);
    return false;
  }
  return k.lifetime.use(js.id, site);
}

function job_name(js: JobState): string {
  return js.kernel.lifetime.describe(js.id);
}

/* ------------------------------------------------------------------------------------------ */
/* Init                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/** The lifetime tracker's name of a job (a LifetimeNamer: built only when a report needs it). */
function dep_job_name(queue_name: string, serial: number): string {
  return `${queue_name}/job${serial}`;
}

/**
 * drm_dep_job_init - initialise `job` for queue `q`, taking `credits` of the queue's
 * credit_limit while it runs. On success the job holds one reference (the caller's) and a
 * reference to `q` until its last put. Allocates the finished fence: process context, may sleep.
 * Returns 0; -EINVAL for credits outside 1..credit_limit or a dead queue; -ECANCELED if `q` was
 * killed; -EBUSY if the job is already initialised; -ENOMEM.
 * `client_id` is the drm client id reported by the tracepoints (as drm_sched_job_init's).
 */
export function drm_dep_job_init(job: drm_dep_job, q: drm_dep_queue, credits: number, client_id = 0): number {
  const js = job_state_of(job);
  const qs = dep_queue_state(q);
  const k = js.kernel;
  const site = 'drm_dep_job_init';
  if (js.state === JOB_RELEASED) {
    k.lifetime.use(js.id, site); // the job memory was released: a use after free
    return -EINVAL;
  }
  if ((js.state !== JOB_NEW) && k.WARN_ON(true, site, `drm_dep_job_init on an initialised job ${job_name(js)}`)) return -EBUSY;
  if (!queue_check_live(qs, site)) return -EINVAL;
  if (!Number.isSafeInteger(credits) || credits < 1 || credits > qs.credit_limit) return -EINVAL;
  if (qs.killed) return -ECANCELED;
  const fence = drm_dep_fence_alloc(k, qs.name, qs.id);
  if (fence === null) return -ENOMEM;
  js.qs = qs;
  js.credits = credits;
  js.client_id = client_id;
  js.fence = fence;
  js.xa_lock = spin_lock_init(k, '&drm_dep_job->dependencies.xa_lock');
  js.refcount.refcount = 1;
  js.id = k.lifetime.track_lazy('drm_dep_job', dep_job_name, qs.name, ++qs.job_serial);
  js.state = JOB_INIT;
  kref_get(qs.refcount); // the job's queue reference, until its last put [V S4, S11]
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Dependencies                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/**
 * drm_dep_job_add_dependency - make `job` wait for `fence`. Consumes the reference to `fence`
 * on success and on error. Deduplicated per fence context: one entry per context, the later
 * seqno wins and keeps the earlier's index. A fence of the job's own queue is dropped (jobs of
 * one queue run in order). Must be called before drm_dep_job_arm() (WARN and -EINVAL after).
 * Process context; may sleep (allocates an xarray node). Returns 0, -EINVAL or -ENOMEM.
 */
export function drm_dep_job_add_dependency(job: drm_dep_job, fence: dma_fence | null): number {
  if (fence === null) return 0;
  const js = job_state_of(job);
  const k = js.kernel;
  const site = 'drm_dep_job_add_dependency';
  if (!job_check_live(js, site)) {
    dma_fence_put(fence);
    return -EINVAL;
  }
  if ((js.state !== JOB_INIT) && k.WARN_ON(true, site, `${job_name(js)}: dependency added after drm_dep_job_arm`)) {
    dma_fence_put(fence);
    return -EINVAL;
  }
  k.spend(dep_cost(k, 'dependency_ns'));
  if (fence.context === js.qs!.fence_context) {
    dma_fence_put(fence);
    return 0;
  }
  const old = js.dependencies.get(fence.context);
  if (old !== undefined) {
    if (dma_fence_is_later(fence, old)) {
      spin_lock(js.xa_lock!); // xa_store
      js.dependencies.set(fence.context, fence);
      spin_unlock(js.xa_lock!);
      dma_fence_put(old);
    } else {
      dma_fence_put(fence);
    }
    return 0;
  }
  // xa_alloc: the allocation checks always; a node once a second entry needs one.
  const node = xa_alloc_node(k, js.xa_node, js.dependencies.size, GFP_KERNEL);
  if (typeof node === 'number') {
    dma_fence_put(fence);
    return node;
  }
  js.xa_node = node;
  spin_lock(js.xa_lock!); // xa_alloc: plain xa_lock, so the class is HARDIRQ-ON
  js.dependencies.set(fence.context, fence);
  spin_unlock(js.xa_lock!);
  return 0;
}

/**
 * drm_dep_job_add_syncobj_dependency - add the fence of syncobj `handle` (binary; `point` 0).
 * Returns 0 or a negative errno (-ENOENT for an unknown handle or an empty syncobj).
 */
export function drm_dep_job_add_syncobj_dependency(job: drm_dep_job, file: drm_file, handle: number, point: number): number {
  const fence = drm_syncobj_find_fence(file, handle, point, 0);
  if (typeof fence === 'number') return fence;
  return drm_dep_job_add_dependency(job, fence);
}

/**
 * drm_dep_job_add_resv_dependencies - add every fence of `resv` a waiter with `usage` must
 * wait for. The caller must hold the reservation lock. Returns 0 or the first error.
 */
export function drm_dep_job_add_resv_dependencies(job: drm_dep_job, resv: dma_resv, usage: number): number {
  lockdep_assert_held(resv.lock, 'drm_dep_job_add_resv_dependencies');
  for (const fence of dma_resv_fences(resv, usage)) {
    const ret = drm_dep_job_add_dependency(job, dma_fence_get(fence));
    if (ret !== 0) return ret;
  }
  return 0;
}

/**
 * drm_dep_job_add_implicit_dependencies - implicit sync on `obj`: a write waits for readers
 * and writers, a read for writers. The caller must hold the object's reservation lock.
 */
export function drm_dep_job_add_implicit_dependencies(job: drm_dep_job, obj: drm_gem_object, write: boolean): number {
  return drm_dep_job_add_resv_dependencies(job, obj.resv, dma_resv_usage_rw(write));
}

/**
 * Internal: the submit worker's dependency step. Returns true if the job must wait: a callback
 * (`wakeup`) is installed on its first unsignalled dependency (traced as unschedulable).
 */
export function job_wait_dependency(js: JobState, wakeup: dma_fence_func_t): boolean {
  if (js.dep_cb.linked !== null) return true; // still waiting on the last one
  const k = js.kernel;
  const list = js.dep_list;
  while (js.dep_cursor < list.length) {
    const dep = list[js.dep_cursor];
    k.spend(dep_cost(k, 'dependency_ns'));
    if (!dma_fence_is_signaled(dep) && dma_fence_add_callback(dep, js.dep_cb, wakeup) === 0) {
      if (k.trace.enabled) {
        const f = js.fence!.base;
        k.tp('drm_dep_job_unschedulable', { fence_context: f.context, fence_seqno: f.seqno, dep_context: dep.context, dep_seqno: dep.seqno });
      }
      return true;
    }
    js.dep_cursor++;
  }
  return false;
}

/**
 * Internal: xa_destroy of the dependency xarray after putting every fence. xa_destroy takes the
 * xa_lock with irqsave; because add_dependency took it with hardirqs on, lockdep reports an
 * inconsistent lock state if this ever runs in hardirq. That is why, with
 * DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, it runs right after run_job, in process context [V S9].
 */
export function job_dependencies_destroy(js: JobState): void {
  if (js.xa_node === null && js.dependencies.size === 0) return;
  const k = js.kernel;
  for (const dep of js.dependencies.values()) dma_fence_put(dep);
  js.dependencies.clear();
  js.dep_list = [];
  js.dep_cursor = 0;
  const flags = spin_lock_irqsave(js.xa_lock!);
  kfree(k, js.xa_node);
  js.xa_node = null;
  spin_unlock_irqrestore(js.xa_lock!, flags);
}

/* ------------------------------------------------------------------------------------------ */
/* Arm, push, fence                                                                            */
/* ------------------------------------------------------------------------------------------ */

/**
 * drm_dep_job_arm - initialise the finished fence with the next seqno of the queue's timeline
 * and open the dma-fence signalling critical section that drm_dep_job_push() closes: from here
 * to push nothing may allocate with GFP_KERNEL, wait on a fence or fail (lockdep reports it).
 * The caller serialises arm+push per queue (seqno order = queue order). WARNs on double arm.
 */
export function drm_dep_job_arm(job: drm_dep_job): void {
  const js = job_state_of(job);
  const k = js.kernel;
  const site = 'drm_dep_job_arm';
  if (!job_check_live(js, site)) return;
  if ((js.state !== JOB_INIT) && k.WARN_ON(true, site, `${job_name(js)}: drm_dep_job_arm on a job already armed`)) return;
  js.signalling_cookie = dma_fence_begin_signalling(k);
  const qs = js.qs!;
  drm_dep_fence_init(js.fence!, qs.fence_context, ++qs.fence_seqno);
  js.dep_list = [...js.dependencies.values()];
  js.state = JOB_ARMED;
}

/**
 * drm_dep_job_finished_fence - a new reference to the job's finished fence (the caller puts
 * it). The fence outlives the job and the queue. Only after arm (WARN and null before).
 */
export function drm_dep_job_finished_fence(job: drm_dep_job): dma_fence | null {
  const js = job_state_of(job);
  const site = 'drm_dep_job_finished_fence';
  if (!job_check_live(js, site)) return null;
  if ((js.state < JOB_ARMED) && js.kernel.WARN_ON(true, site, `${job_name(js)}: finished fence of an unarmed job`)) return null;
  return dma_fence_get(js.fence!.base);
}

/**
 * drm_dep_job_push - hand an armed job to its queue, which takes a job reference until the job
 * completed and the put_job worker (or the IRQ put) dropped it. Closes the signalling section
 * opened by arm. With DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS run_job may be called from here.
 * Any context. WARNs (and does nothing) for a job that is not armed or already pushed.
 */
export function drm_dep_job_push(job: drm_dep_job): void {
  const js = job_state_of(job);
  const k = js.kernel;
  const site = 'drm_dep_job_push';
  if (!job_check_live(js, site)) return;
  if ((js.state === JOB_INIT) && k.WARN_ON(true, site, `${job_name(js)}: drm_dep_job_push before drm_dep_job_arm`)) return;
  if ((js.state !== JOB_ARMED) && k.WARN_ON(true, site, `${job_name(js)}: drm_dep_job_push of a job already pushed`)) return;
  const cookie = js.signalling_cookie!;
  js.signalling_cookie = null;
  kref_get(js.refcount); // the queue's job reference [V S4, S11]
  js.state = JOB_QUEUED;
  queue_push_job(js.qs!, js);
  dma_fence_end_signalling(k, cookie);
}

/** Internal: signal the finished fence (with `error` if negative). */
export function job_signal_finished(js: JobState, error: number): void {
  drm_dep_fence_signal(js.fence!, error);
}

/* ------------------------------------------------------------------------------------------ */
/* Completion, references                                                                       */
/* ------------------------------------------------------------------------------------------ */

/**
 * drm_dep_job_done - complete a running job with `error` (0 or a negative errno). drm_dep calls
 * it itself from its callback on the HW fence returned by run_job; a driver calls it only to
 * complete a job before (or instead of) signalling that HW fence, and drm_dep then removes its
 * callback. Any context; hardirq included (the queue's job put is deferred to the put_job
 * worker unless the queue has DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE). With
 * dep.job-done-irq=irq-safe-only, a call from hardirq on a queue without that flag WARNs and
 * the completion is deferred to the queue's done worker. WARNs for a job that is not running
 * (never run, or already done).
 */
export function drm_dep_job_done(job: drm_dep_job, error: number): void {
  const js = job_state_of(job);
  const k = js.kernel;
  const site = 'drm_dep_job_done';
  if (!job_check_live(js, site)) return;
  if ((js.state !== JOB_RUNNING || js.done_deferred) && k.WARN_ON(true, site, `${job_name(js)}: drm_dep_job_done on a job that is not running`)) return;
  (error > 0) && k.WARN_ON(true, site, `${job_name(js)}: drm_dep_job_done with positive error ${error}`);
  if (js.hw_fence !== null && js.hw_cb.linked !== null) dma_fence_remove_callback(js.hw_fence, js.hw_cb);
  const qs = js.qs!;
  if (qs.defer_irq_done && k.current.in_irq) {
    k.WARN_ON(true, site, `${job_name(js)}: drm_dep_job_done from hardirq on queue ${qs.name} without DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE`);
    queue_defer_job_done(qs, js, error > 0 ? -EINVAL : error);
    return;
  }
  queue_job_done(qs, js, error > 0 ? -EINVAL : error);
}

/** drm_dep_job_get - take a job reference. Any context. Returns `job`. */
export function drm_dep_job_get<J extends drm_dep_job>(job: J): J {
  const js = job_state_of(job);
  if (job_check_live(js, 'drm_dep_job_get')) kref_get(js.refcount);
  return job;
}

/**
 * drm_dep_job_put - drop a job reference; the last one releases the job (job_release below).
 * Process context, or any context (hardirq included) when the job's queue has
 * DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE. From hardirq without the flag it WARNs and proceeds, as
 * the kernel would: a release in hardirq then also trips lockdep on the dependency xarray.
 */
export function drm_dep_job_put(job: drm_dep_job): void {
  const js = job_state_of(job);
  const k = js.kernel;
  const site = 'drm_dep_job_put';
  if (!job_check_live(js, site)) return;
  (k.current.in_irq && (js.qs!.flags & DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE) === 0) && k.WARN_ON(true, site, `${job_name(js)}: job put from hardirq on queue ${js.qs!.name} without DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE`);
  kref_put(js.refcount, () => job_release(js));
}

/**
 * The last job reference is gone: free drm_dep's parts (dependencies, HW fence reference, the
 * job's finished-fence reference), then the driver's release_job, then drop the job's queue
 * reference (which may be the queue's last: that only queues the async teardown).
 * An armed job that was never pushed breaks the arm→push contract: WARN, and its fence is
 * signalled with -ECANCELED so no waiter hangs.
 */
function job_release(js: JobState): void {
  const k = js.kernel;
  const qs = js.qs!;
  if (js.state === JOB_ARMED) {
    k.violation('warn', 'drm_dep_job_put', `${job_name(js)}: armed job released without drm_dep_job_push`);
    if (js.signalling_cookie === false && k.current.holds(k.dma_fence_map)) dma_fence_end_signalling(k, false);
    js.signalling_cookie = null;
    drm_dep_fence_signal(js.fence!, -ECANCELED);
  }
  k.spend(dep_cost(k, 'job_free_ns'));
  const armed = js.state >= JOB_ARMED;
  const fence_context = js.fence!.base.context;
  const fence_seqno = js.fence!.base.seqno;
  job_dependencies_destroy(js);
  dma_fence_put(js.hw_fence);
  js.hw_fence = null;
  drm_dep_fence_release(js.fence!);
  js.state = JOB_RELEASED;
  k.lifetime.free(js.id, 'drm_dep_job_release');
  if (armed && k.trace.enabled) k.tp('drm_dep_job_free', { fence_context, fence_seqno });
  qs.ops!.release_job?.(js.owner);
  drm_dep_queue_put(qs.owner);
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** The queue the job was initialised for (no reference taken). */
export function drm_dep_job_queue<Q extends drm_dep_queue = drm_dep_queue>(job: drm_dep_job): Q {
  const js = job_state_of(job);
  job_check_live(js, 'drm_dep_job_queue');
  return js.qs!.owner as Q;
}

export function drm_dep_job_credits(job: drm_dep_job): number {
  return job_state_of(job).credits;
}

/** The job's finished fence has signalled (no reference taken). */
export function drm_dep_job_is_signaled(job: drm_dep_job): boolean {
  const js = job_state_of(job);
  return js.state >= JOB_ARMED && js.fence!.base.signaled;
}

