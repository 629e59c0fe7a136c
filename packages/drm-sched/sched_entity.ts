/**
 * Scheduler entities (drivers/gpu/drm/scheduler/sched_entity.c, multi-rq + FAIR state of
 * 146cc263).
 */
import {
  ECANCELED, EINVAL, ENOMEM, ESRCH, GFP_KERNEL, INIT_WORK, complete_all, completion, dma_fence_add_callback,
  dma_fence_get, dma_fence_get_rcu, dma_fence_is_signaled, dma_fence_put, dma_fence_remove_callback,
  dma_fence_set_error, kfree, kmalloc, kref, kref_get, kref_put, schedule_work, spin_lock,
  spin_unlock, spinlock_t, wait_event_killable, wait_event_timeout, wait_for_completion,
  DMA_FENCE_FLAG_SIGNALED_BIT, type Sleepable, type dma_fence, type dma_fence_cb, type work_struct,
} from '@deplab/sim';
import {
  DRM_SCHED_FENCE_DONT_PIPELINE, DRM_SCHED_POLICY_FAIR, DRM_SCHED_PRIORITY_KERNEL,
  MAX_WAIT_SCHED_ENTITY_Q_EMPTY, drm_sched_entity_stats, type atomic_t, type drm_gpu_scheduler,
  type drm_sched_entity, type drm_sched_job, type drm_sched_priority,
} from './gpu_scheduler.ts';
import { drm_sched_fence_finished, drm_sched_fence_scheduled, to_drm_sched_fence } from './sched_fence.ts';
import { drm_sched_rq_add_entity, drm_sched_rq_pop_entity, drm_sched_rq_remove_entity } from './sched_rq.ts';
import { drm_sched_call_free_job, drm_sched_pick_best, drm_sched_wakeup, trace_drm_sched_job } from './sched_main.ts';
import { COST_SPSC_OP_NS, drm_printk, drm_sched_cost, dma_fence_timestamp, ewma_drm_sched_avgtime_add, ktime_to_us } from './sched_internal.ts';

/* ------------------------------------------------------------------------------------------ */
/* Entity stats                                                                                 */

const ENTITY_STATS_SIZE = 64;

/** drm_sched_entity_stats_new (sched_entity.c): kzalloc, kref_init, spin_lock_init, ewma init. */
function drm_sched_entity_stats_new(entity: drm_sched_entity): drm_sched_entity_stats | null {
  const k = entity.kernel;
  const alloc = kmalloc(k, ENTITY_STATS_SIZE, GFP_KERNEL, 'drm_sched_entity_stats');
  if (alloc === null) return null;
  const stats = new drm_sched_entity_stats();
  stats.refcount = new kref(k, 'drm_sched_entity_stats');
  stats.lock = new spinlock_t(k, '&stats->lock');
  stats.alloc = alloc;
  return stats;
}

/** drm_sched_entity_stats_get (sched_internal.h). */
export function drm_sched_entity_stats_get(stats: drm_sched_entity_stats): drm_sched_entity_stats {
  kref_get(stats.refcount);
  return stats;
}

/** drm_sched_entity_stats_put (sched_internal.h): kfree at the last reference. */
export function drm_sched_entity_stats_put(stats: drm_sched_entity_stats): void {
  kref_put(stats.refcount, (ref) => kfree(ref.kernel, stats.alloc));
}

/**
 * drm_sched_entity_stats_job_add_gpu_time (sched_entity.c): add the job's GPU time
 * (finished - scheduled timestamps) to the entity stats and their EWMA. Returns ns.
 */
export function drm_sched_entity_stats_job_add_gpu_time(job: drm_sched_job): number {
  const stats = job.entity_stats!;
  const s_fence = job.s_fence!;
  const duration = dma_fence_timestamp(s_fence.finished) - dma_fence_timestamp(s_fence.scheduled);
  spin_lock(stats.lock);
  stats.runtime += duration;
  ewma_drm_sched_avgtime_add(stats.avg_job_us, ktime_to_us(duration));
  spin_unlock(stats.lock);
  return duration;
}

/* ------------------------------------------------------------------------------------------ */
/* Init, priority, scheduler list                                                               */

/** memset(entity, 0) of the scheduler-owned state. */
function entity_memset(entity: drm_sched_entity): void {
  entity.rq = null;
  entity.stats = null;
  entity.sched_list = null;
  entity.num_sched_list = 0;
  entity.rr_ts = 0;
  entity.fence_seq = 0;
  entity.dependency = null;
  entity.guilty = null;
  entity.last_scheduled = null;
  entity.stopped = false;
  entity.oldest_job_waiting = 0;
  entity.rb_linked = false;
  entity.on_rq_list = false;
  while (entity.job_queue.pop() !== null) { /* a zeroed queue */ }
}

/**
 * The rq an entity starts on, with the priority clamp quirk of 146cc263: an out-of-range
 * priority is clamped, but the rq is indexed with the *unclamped* rq_priority. An index past
 * the end of sched_rq[] is a slab-out-of-bounds read in C; here a `bug` violation and no rq.
 */
function entity_initial_rq(entity: drm_sched_entity, sched: drm_gpu_scheduler): void {
  const k = entity.kernel;
  if (sched.sched_rq === null) {
    drm_printk(k, 'warn', 'drm_sched_entity_init', 'called with uninitialized scheduler');
    return;
  }
  if (entity.priority >= sched.num_user_rqs) {
    drm_printk(k, 'err', 'drm_sched_entity_init', `entity has out-of-bounds priority: ${entity.priority}. num_user_rqs: ${sched.num_user_rqs}`);
    entity.priority = Math.max(sched.num_user_rqs - 1, DRM_SCHED_PRIORITY_KERNEL);
  }
  if (entity.rq_priority < 0 || entity.rq_priority >= sched.sched_rq.length) {
    k.violation('bug', 'drm_sched_entity_init',
      `KASAN: slab-out-of-bounds read of sched->sched_rq[${entity.rq_priority}] (array of ${sched.sched_rq.length}): rq_priority is not clamped`);
    return;
  }
  entity.rq = sched.sched_rq[entity.rq_priority];
}

/**
 * drm_sched_entity_init (sched_entity.c): a context entity on the schedulers in `sched_list`.
 * Returns 0, -EINVAL for an empty list or NULL first scheduler, -ENOMEM if the stats cannot
 * be allocated. Process context.
 */
export function drm_sched_entity_init(entity: drm_sched_entity, priority: drm_sched_priority,
  sched_list: (drm_gpu_scheduler | null)[] | null, num_sched_list: number, guilty: atomic_t | null): number {
  if (sched_list === null || num_sched_list === 0 || sched_list[0] === null || sched_list[0] === undefined) return -EINVAL;
  const k = entity.kernel;
  entity_memset(entity);
  entity.stats = drm_sched_entity_stats_new(entity);
  if (entity.stats === null) return -ENOMEM;
  const first = sched_list[0];
  entity.guilty = guilty;
  entity.priority = priority;
  entity.rq_priority = first.sched_policy === DRM_SCHED_POLICY_FAIR ? DRM_SCHED_PRIORITY_KERNEL : priority;
  entity.last_user = k.current;
  entity.num_sched_list = num_sched_list;
  entity.sched_list = num_sched_list > 1 ? (sched_list as drm_gpu_scheduler[]) : null;
  entity_initial_rq(entity, first);
  entity.entity_idle = new completion(k);
  complete_all(entity.entity_idle); // we start in an idle state
  entity.lock = new spinlock_t(k, '&entity->lock');
  entity.fence_context = k.dma_fence_context_alloc(2);
  entity.lifetime_id = k.lifetime.track('drm_sched_entity', `entity ${entity.fence_context}`);
  return 0;
}

/**
 * drm_sched_entity_modify_sched (sched_entity.c): replace the scheduler list. Takes effect only
 * at a later arm, when select_rq runs with an empty queue and a signalled last job.
 */
export function drm_sched_entity_modify_sched(entity: drm_sched_entity, sched_list: drm_gpu_scheduler[] | null, num_sched_list: number): void {
  entity.kernel.WARN_ON(num_sched_list === 0 || sched_list === null, 'drm_sched_entity_modify_sched');
  spin_lock(entity.lock);
  entity.sched_list = sched_list;
  entity.num_sched_list = num_sched_list;
  spin_unlock(entity.lock);
}

/**
 * drm_sched_entity_set_priority (sched_entity.c): only writes entity->priority. rq_priority
 * is fixed at init, so this never moves the entity between run queues.
 */
export function drm_sched_entity_set_priority(entity: drm_sched_entity, priority: drm_sched_priority): void {
  spin_lock(entity.lock);
  entity.priority = priority;
  spin_unlock(entity.lock);
}

/** drm_sched_entity_error (sched_entity.c): the error of last_scheduled (RCU read). */
export function drm_sched_entity_error(entity: drm_sched_entity): number {
  const fence = entity.last_scheduled;
  return fence !== null ? fence.error : 0;
}

/** drm_sched_entity_is_ready (sched_entity.c): queued jobs and no pending dependency. */
export function drm_sched_entity_is_ready(entity: drm_sched_entity): boolean {
  if (entity.job_queue.count === 0) return false;
  return entity.dependency === null;
}

/** drm_sched_entity_is_idle (sched_entity.c): off the rq list, empty queue, or stopped. */
function drm_sched_entity_is_idle(entity: drm_sched_entity): boolean {
  return !entity.on_rq_list || entity.job_queue.count === 0 || entity.stopped;
}

/* ------------------------------------------------------------------------------------------ */
/* Kill, flush, fini                                                                            */

/** xa_erase(&job->dependencies, index): under the xa_lock; the erase that empties the xarray frees its node. */
function xa_erase_dependency(job: drm_sched_job, index: number): void {
  const k = job.kernel;
  spin_lock(job.xa_lock!);
  job.dependencies[index] = null;
  if (job.xa_node !== null && job.dependencies.every((f) => f === null)) {
    kfree(k, job.xa_node);
    job.xa_node = null;
  }
  spin_unlock(job.xa_lock!);
}

/**
 * drm_sched_entity_kill_jobs_work (sched_entity.c), on the system workqueue: wait for every
 * dependency (a scheduled-fence dependency is converted to its finished fence with
 * dma_fence_get_rcu, which fails once that fence is dying), then signal scheduled, signal
 * finished with -ESRCH and free the job. run_job and prepare_job are never called.
 */
function drm_sched_entity_kill_jobs_work(work: work_struct): void {
  const job = work.owner as drm_sched_job;
  const k = job.kernel;
  k.lifetime.use(job.lifetime_id, 'drm_sched_entity_kill_jobs_work');
  for (let index = 0; index < job.dependencies.length; index++) {
    let f = job.dependencies[index];
    if (f === null) continue;
    const s_fence = to_drm_sched_fence(f);
    if (s_fence !== null && f === s_fence.scheduled) {
      f = dma_fence_get_rcu(s_fence.finished);
      dma_fence_put(s_fence.scheduled);
    }
    xa_erase_dependency(job, index);
    if (f !== null && dma_fence_add_callback(f, job.finish_cb, drm_sched_entity_kill_jobs_cb) === 0) return;
    dma_fence_put(f);
  }
  const s_fence = job.s_fence!;
  drm_sched_fence_scheduled(s_fence, null);
  drm_sched_fence_finished(s_fence, -ESRCH);
  k.WARN_ON(s_fence.parent !== null, 'drm_sched_entity_kill_jobs_work', 'killed job has a parent fence');
  drm_sched_call_free_job(job.sched!, job);
}

/** drm_sched_entity_kill_jobs_cb (sched_entity.c): put `f`, queue the kill work (system wq). */
function drm_sched_entity_kill_jobs_cb(f: dma_fence | null, cb: dma_fence_cb): void {
  const job = cb.owner as drm_sched_job;
  dma_fence_put(f);
  job.work ??= INIT_WORK(job.kernel, drm_sched_entity_kill_jobs_work, '&job->work', job);
  schedule_work(job.kernel, job.work);
}

/** Chain one queued job on `prev` (or kill it right away if prev is NULL or signalled). */
function kill_chain_job(job: drm_sched_job, prev: dma_fence | null): void {
  if (prev === null || dma_fence_add_callback(prev, job.finish_cb, drm_sched_entity_kill_jobs_cb) !== 0) {
    dma_fence_put(prev);
    drm_sched_entity_kill_jobs_cb(null, job.finish_cb);
  }
}

/**
 * drm_sched_entity_kill (sched_entity.c): stop the entity, take it off its rq, wait until the
 * worker no longer uses it, then complete every queued job in queue order, each after its
 * predecessor's finished fence and all its own dependencies, with -ESRCH. May sleep.
 */
export function* drm_sched_entity_kill(entity: drm_sched_entity): Sleepable {
  if (entity.rq === null) return;
  spin_lock(entity.lock);
  entity.stopped = true;
  drm_sched_rq_remove_entity(entity.rq, entity);
  spin_unlock(entity.lock);
  yield* wait_for_completion(entity.entity_idle);
  // deplab-only: from here no queued job of the entity reaches run_job (keyed by its finished fences).
  const k = entity.kernel;
  if (k.trace.enabled) k.tp('drm_sched_entity_kill', { fence_context: entity.fence_context + 1 });
  let prev = dma_fence_get(entity.last_scheduled);
  for (let job = entity.job_queue.pop(); job !== null; job = entity.job_queue.pop()) {
    const s_fence = job.s_fence!;
    dma_fence_get(s_fence.finished);
    kill_chain_job(job, prev);
    prev = s_fence.finished;
  }
  dma_fence_put(prev);
}

/**
 * drm_sched_entity_flush (sched_entity.c): wait until the entity's queue has been drained to
 * the HW. An exiting task (PF_EXITING) waits at most `timeout_jiffies`; any other task waits
 * killably without bound. If the caller was the last user and is exiting with SIGKILL, the
 * entity is killed. Returns the remaining timeout. May sleep.
 */
export function* drm_sched_entity_flush(entity: drm_sched_entity, timeout_jiffies: number): Sleepable<number> {
  const k = entity.kernel;
  if (entity.rq === null) return 0;
  k.lifetime.use(entity.rq.lifetime_id, 'drm_sched_entity_flush: entity->rq');
  const sched = entity.rq.sched!;
  const task = k.current_task();
  const exiting = task !== null && task.exiting;
  let ret = timeout_jiffies;
  if (exiting) {
    if (timeout_jiffies !== 0) ret = yield* wait_event_timeout(k, sched.job_scheduled, () => drm_sched_entity_is_idle(entity), timeout_jiffies);
  } else {
    yield* wait_event_killable(k, sched.job_scheduled, () => drm_sched_entity_is_idle(entity));
  }
  // cmpxchg(&entity->last_user, current->group_leader, NULL)
  const last_user = entity.last_user;
  if (last_user === k.current) entity.last_user = null;
  if (last_user === k.current && exiting && task!.sigkill_pending) yield* drm_sched_entity_kill(entity);
  return ret;
}

/**
 * drm_sched_entity_fini (sched_entity.c): kill (again), drop a pending dependency callback,
 * put last_scheduled and the stats. The entity is dead afterwards (its lifetime ends here).
 * May sleep.
 */
export function* drm_sched_entity_fini(entity: drm_sched_entity): Sleepable {
  const k = entity.kernel;
  k.lifetime.use(entity.lifetime_id, 'drm_sched_entity_fini');
  yield* drm_sched_entity_kill(entity);
  if (entity.dependency !== null) {
    dma_fence_remove_callback(entity.dependency, entity.cb);
    dma_fence_put(entity.dependency);
    entity.dependency = null;
  }
  dma_fence_put(entity.last_scheduled);
  entity.last_scheduled = null;
  if (entity.stats !== null) drm_sched_entity_stats_put(entity.stats);
  k.lifetime.free(entity.lifetime_id, 'drm_sched_entity_fini');
}

/** drm_sched_entity_destroy (sched_entity.c): flush(MAX_WAIT_SCHED_ENTITY_Q_EMPTY) + fini. May sleep. */
export function* drm_sched_entity_destroy(entity: drm_sched_entity): Sleepable {
  yield* drm_sched_entity_flush(entity, MAX_WAIT_SCHED_ENTITY_Q_EMPTY(entity.kernel));
  yield* drm_sched_entity_fini(entity);
}

/* ------------------------------------------------------------------------------------------ */
/* Dependencies and popping                                                                     */

/** drm_sched_entity_wakeup (sched_entity.c): dependency callback; clear it and queue run work. */
function drm_sched_entity_wakeup(f: dma_fence, cb: dma_fence_cb): void {
  const entity = cb.owner as drm_sched_entity;
  const k = entity.kernel;
  k.lifetime.use(entity.lifetime_id, 'drm_sched_entity_wakeup');
  entity.dependency = null;
  dma_fence_put(f);
  k.lifetime.use(entity.rq!.lifetime_id, 'drm_sched_entity_wakeup: entity->rq');
  drm_sched_wakeup(entity.rq!.sched!);
}

function trace_dep(name: string, job: drm_sched_job, dep: dma_fence): void {
  const k = job.kernel;
  if (!k.trace.enabled) return;
  const f = job.s_fence!.finished;
  k.tp(name, { fence_context: f.context, fence_seqno: f.seqno, dep_context: dep.context, dep_seqno: dep.seqno });
}

/**
 * drm_sched_entity_add_dependency_cb (sched_entity.c): install the wake-up callback on
 * entity->dependency. Own-entity fences are dropped; a finished fence of the same scheduler
 * (no error, no DONT_PIPELINE) is replaced by its scheduled fence. Returns true if the entity
 * must wait.
 */
function drm_sched_entity_add_dependency_cb(entity: drm_sched_entity, job: drm_sched_job): boolean {
  let fence = entity.dependency!;
  const sched = entity.rq!.sched;
  if (fence.context === entity.fence_context || fence.context === entity.fence_context + 1) {
    dma_fence_put(fence); // our own job: ordered anyway
    return false;
  }
  const s_fence = to_drm_sched_fence(fence);
  if (fence.error === 0 && s_fence !== null && s_fence.sched === sched && (fence.flags & (1 << DRM_SCHED_FENCE_DONT_PIPELINE)) === 0) {
    fence = dma_fence_get(s_fence.scheduled);
    dma_fence_put(entity.dependency);
    entity.dependency = fence;
  }
  const dep = entity.dependency!;
  if (dma_fence_add_callback(dep, entity.cb, drm_sched_entity_wakeup) === 0) {
    // As upstream (6.16+): the head job cannot run until this (possibly pipelined) fence signals.
    trace_dep('drm_sched_job_unschedulable', job, dep);
    return true;
  }
  dma_fence_put(dep);
  return false;
}

/** drm_sched_job_dependency (sched_entity.c): the next xarray dependency (new ref), then prepare_job. */
function drm_sched_job_dependency(job: drm_sched_job, entity: drm_sched_entity): dma_fence | null {
  const f = job.last_dependency < job.dependencies.length ? job.dependencies[job.last_dependency] : null;
  if (f !== null) {
    job.last_dependency++;
    return dma_fence_get(f);
  }
  const ops = job.sched!.ops!;
  return ops.prepare_job !== undefined ? ops.prepare_job(job, entity) : null;
}

/**
 * drm_sched_entity_pop_job (sched_entity.c): the head job once all its dependencies are
 * resolved, or null (entity->dependency set) if one is pending. Re-keys the entity in its rq
 * and clears job->entity.
 */
export function drm_sched_entity_pop_job(entity: drm_sched_entity): drm_sched_job | null {
  const k = entity.kernel;
  const job = entity.job_queue.peek();
  if (job === null) return null;
  for (let dep = drm_sched_job_dependency(job, entity); dep !== null; dep = drm_sched_job_dependency(job, entity)) {
    entity.dependency = dep;
    if (drm_sched_entity_add_dependency_cb(entity, job)) return null;
  }
  entity.dependency = null;
  if (entity.guilty !== null && entity.guilty.counter !== 0) dma_fence_set_error(job.s_fence!.finished, -ECANCELED);
  dma_fence_put(entity.last_scheduled);
  entity.last_scheduled = dma_fence_get(job.s_fence!.finished);
  entity.job_queue.pop(); // after the last_scheduled store (smp_wmb)
  k.spend(drm_sched_cost(k, 'drm_sched.spsc_op_ns', COST_SPSC_OP_NS));
  drm_sched_rq_pop_entity(entity);
  job.entity = null;
  return job;
}

/**
 * drm_sched_entity_select_rq (sched_entity.c), from arm: load balancing. Moves the entity to
 * the least loaded ready scheduler, only when its queue is empty and its last job finished.
 */
export function drm_sched_entity_select_rq(entity: drm_sched_entity): void {
  if (entity.sched_list === null) return;
  if (entity.job_queue.count !== 0) return;
  const fence = entity.last_scheduled;
  if (fence !== null && !dma_fence_is_signaled(fence)) return;
  spin_lock(entity.lock);
  const sched = drm_sched_pick_best(entity.sched_list, entity.num_sched_list);
  const rq = sched !== null ? sched.sched_rq![entity.rq_priority] ?? null : null;
  if (rq !== entity.rq) {
    drm_sched_rq_remove_entity(entity.rq, entity);
    entity.rq = rq;
  }
  if (entity.num_sched_list === 1) entity.sched_list = null;
  spin_unlock(entity.lock);
}

/**
 * drm_sched_entity_push_job (sched_entity.c): queue an armed job. score++, submit_ts = now;
 * only the empty -> non-empty transition adds the entity to its rq and wakes the scheduler.
 * After this the job may be completed and freed at any time.
 */
export function drm_sched_entity_push_job(job: drm_sched_job): void {
  const k = job.kernel;
  if (job.entity === null || job.s_fence === null) {
    k.violation('bug', 'drm_sched_entity_push_job', 'NULL pointer dereference: push of a job that was not initialised');
    return;
  }
  const entity = job.entity;
  const rq = entity.rq!;
  k.lifetime.use(rq.lifetime_id, 'drm_sched_entity_push_job: entity->rq');
  trace_drm_sched_job('drm_sched_job_queue', job, entity, rq.sched!);
  // Upstream (6.16+) traces every dependency of the job at push, right after the queue event.
  if (k.trace.enabled) for (const dep of job.dependencies) if (dep !== null) trace_dep('drm_sched_job_add_dep', job, dep);
  rq.sched!.score.counter++;
  entity.last_user = k.current;
  const submit_ts = k.ktime_get();
  job.submit_ts = submit_ts;
  const first = entity.job_queue.push(job);
  k.spend(drm_sched_cost(k, 'drm_sched.spsc_op_ns', COST_SPSC_OP_NS));
  if (first) {
    const sched = drm_sched_rq_add_entity(entity, submit_ts);
    if (sched !== null) drm_sched_wakeup(sched);
  }
}
