/**
 * Run queues and the three selection policies (drivers/gpu/drm/scheduler/sched_rq.c, the
 * multi-policy variant of the post-revert 7.2 code, docs/assumptions.md#drm-sched-era).
 *
 * Every policy walks a tree of the entities that have queued jobs, ordered by
 * entity->oldest_job_waiting: FIFO keys by the head job's submit_ts, RR by a fake timestamp
 * that moves the popped entity to the back, FAIR by a CFS-like virtual runtime. The rbtree is
 * the simulator's rb_root_cached: an equal key goes after the existing equal ones.
 *
 * Policy dispatch follows the reconstruction: add_entity tests RR and FAIR and otherwise takes
 * the FIFO path; pop_entity tests FIFO and FAIR and otherwise takes the RR path. An out-of-range
 * policy therefore mixes the two, as the unchecked module parameter would.
 */
import {
  ENOSPC, lockdep_assert_held, reinit_completion, spin_lock, spin_unlock,
  type Kernel,
} from '@deplab/sim';
import {
  DRM_SCHED_POLICY_FAIR, DRM_SCHED_POLICY_FIFO, DRM_SCHED_POLICY_RR, DRM_SCHED_PRIORITY_INVALID,
  DRM_SCHED_PRIORITY_NORMAL, DRM_SCHED_PRIORITY_HIGH, DRM_SCHED_PRIORITY_KERNEL, DRM_SCHED_PRIORITY_LOW,
  type drm_gpu_scheduler, type drm_sched_entity, type drm_sched_entity_stats, type drm_sched_priority,
  drm_sched_rq,
} from './gpu_scheduler.ts';
import {
  COST_RB_TREE_OP_NS, COST_SELECT_STEP_NS, drm_printk, drm_sched_cost, ewma_drm_sched_avgtime_read,
} from './sched_internal.ts';
import { drm_sched_entity_is_ready } from './sched_entity.ts';
import { drm_sched_can_queue } from './sched_main.ts';

/* ------------------------------------------------------------------------------------------ */
/* The tree                                                                                     */

function rb_add_cached(rq: drm_sched_rq, entity: drm_sched_entity): void {
  rq.rb_tree.add(entity);
  entity.rb_linked = true;
  rq.kernel.spend(drm_sched_cost(rq.kernel, 'drm_sched.rb_tree_op_ns', COST_RB_TREE_OP_NS));
}

function rb_erase_cached(rq: drm_sched_rq, entity: drm_sched_entity): void {
  if (rq.kernel.WARN_ON(!rq.rb_tree.erase(entity), 'rb_erase_cached', 'entity marked linked but not in its rq tree')) return;
  entity.rb_linked = false;
  rq.kernel.spend(drm_sched_cost(rq.kernel, 'drm_sched.rb_tree_op_ns', COST_RB_TREE_OP_NS));
}

/** drm_sched_rq_update_prio: head_prio = READ_ONCE(head->priority), or INVALID. */
function drm_sched_rq_update_prio(rq: drm_sched_rq): void {
  lockdep_assert_held(rq.lock, 'drm_sched_rq_update_prio');
  rq.head_prio = rq.rb_tree.first()?.priority ?? DRM_SCHED_PRIORITY_INVALID;
}

/** drm_sched_rq_remove_tree_locked (sched_rq.c): both locks held; out of the tree if in it. */
function drm_sched_rq_remove_tree_locked(entity: drm_sched_entity, rq: drm_sched_rq): void {
  lockdep_assert_held(entity.lock, 'drm_sched_rq_remove_tree_locked');
  lockdep_assert_held(rq.lock, 'drm_sched_rq_remove_tree_locked');
  if (entity.rb_linked) {
    rb_erase_cached(rq, entity);
    drm_sched_rq_update_prio(rq);
  }
}

/** drm_sched_rq_update_tree_locked (sched_rq.c): both locks held; re-insert with key `ts`. */
function drm_sched_rq_update_tree_locked(entity: drm_sched_entity, rq: drm_sched_rq, ts: number): void {
  lockdep_assert_held(entity.lock, 'drm_sched_rq_update_tree_locked');
  lockdep_assert_held(rq.lock, 'drm_sched_rq_update_tree_locked');
  drm_sched_rq_remove_tree_locked(entity, rq);
  entity.oldest_job_waiting = ts;
  rb_add_cached(rq, entity);
  drm_sched_rq_update_prio(rq);
}

/** drm_sched_rq_init (sched_rq.c): a new rq bound to `sched`, tracked as 'drm_sched_rq'. */
export function drm_sched_rq_init(k: Kernel, sched: drm_gpu_scheduler, index: number): drm_sched_rq {
  const rq = new drm_sched_rq(k);
  rq.sched = sched;
  rq.head_prio = DRM_SCHED_PRIORITY_INVALID;
  rq.lifetime_id = k.lifetime.track('drm_sched_rq', `${sched.name}/rq${index}`);
  return rq;
}

/* ------------------------------------------------------------------------------------------ */
/* FAIR: virtual runtime                                                                        */

/** vruntime_shift[]: KERNEL gets ~2x HIGH, HIGH ~4x NORMAL, NORMAL ~8x LOW. */
const vruntime_shift: Readonly<Record<number, number>> = {
  [DRM_SCHED_PRIORITY_KERNEL]: 1,
  [DRM_SCHED_PRIORITY_HIGH]: 2,
  [DRM_SCHED_PRIORITY_NORMAL]: 4,
  [DRM_SCHED_PRIORITY_LOW]: 7,
};

function shift_of(prio: drm_sched_priority): number {
  return 2 ** (vruntime_shift[prio] ?? 0);
}

function stats_of(entity: drm_sched_entity): drm_sched_entity_stats {
  return entity.stats!;
}

/** drm_sched_rq_get_min_vruntime: the vruntime of the tree head, 0 for an empty tree. */
function drm_sched_rq_get_min_vruntime(rq: drm_sched_rq): number {
  lockdep_assert_held(rq.lock, 'drm_sched_rq_get_min_vruntime');
  const head = rq.rb_tree.first();
  if (head === null) return 0;
  const stats = stats_of(head);
  spin_lock(stats.lock);
  const vruntime = stats.vruntime;
  spin_unlock(stats.lock);
  return vruntime;
}

/** drm_sched_entity_save_vruntime: keep the lag relative to the head, or reset to 0. */
function drm_sched_entity_save_vruntime(entity: drm_sched_entity, min_vruntime: number): void {
  const stats = stats_of(entity);
  spin_lock(stats.lock);
  const vruntime = stats.vruntime;
  stats.vruntime = min_vruntime !== 0 && vruntime > min_vruntime ? vruntime - min_vruntime : 0;
  spin_unlock(stats.lock);
}

/** The re-join position of an entity whose saved vruntime is 0 while a head exists. */
function rejoin_offset(prio: drm_sched_priority, head_prio: drm_sched_priority, avg_us: number, sched_avg_us: number): number {
  if (prio > head_prio) return (1 + avg_us + sched_avg_us) * shift_of(prio) * 1000;
  if (prio < head_prio) return -(head_prio - prio);
  return avg_us <= sched_avg_us ? -1 : 1;
}

/** drm_sched_entity_restore_vruntime: the key of a re-added entity (min + relative lag). */
function drm_sched_entity_restore_vruntime(entity: drm_sched_entity, min_vruntime: number, rq_prio: drm_sched_priority): number {
  const stats = stats_of(entity);
  const sched = entity.rq!.sched!;
  spin_lock(stats.lock);
  let vruntime = stats.vruntime;
  const avg_us = ewma_drm_sched_avgtime_read(stats.avg_job_us);
  const sched_avg_us = ewma_drm_sched_avgtime_read(sched.avg_job_us); // unlocked read, as in C
  if (vruntime === 0 && rq_prio !== DRM_SCHED_PRIORITY_INVALID) {
    vruntime = rejoin_offset(entity.priority, rq_prio, avg_us, sched_avg_us);
  }
  vruntime = min_vruntime + vruntime;
  stats.vruntime = vruntime;
  spin_unlock(stats.lock);
  return vruntime;
}

/** drm_sched_entity_update_vruntime: vruntime += (runtime - prev_runtime) << shift[prio]. */
function drm_sched_entity_update_vruntime(entity: drm_sched_entity): number {
  const stats = stats_of(entity);
  spin_lock(stats.lock);
  const prev = stats.prev_runtime;
  const runtime = stats.runtime;
  stats.prev_runtime = runtime;
  stats.vruntime += (runtime - prev) * shift_of(entity.priority);
  const vruntime = stats.vruntime;
  spin_unlock(stats.lock);
  return vruntime;
}

/** drm_sched_rq_get_rr_ts: rq->rr_ts + 1 ns, stored in both the rq and the entity. */
function drm_sched_rq_get_rr_ts(rq: drm_sched_rq, entity: drm_sched_entity): number {
  lockdep_assert_held(entity.lock, 'drm_sched_rq_get_rr_ts');
  lockdep_assert_held(rq.lock, 'drm_sched_rq_get_rr_ts');
  const ts = rq.rr_ts + 1;
  entity.rr_ts = ts;
  rq.rr_ts = ts;
  return ts;
}

/* ------------------------------------------------------------------------------------------ */
/* Entity membership                                                                            */

/** The key of an entity being (re-)added to its rq, by policy (§3.6). */
function add_entity_key(entity: drm_sched_entity, rq: drm_sched_rq, ts: number, policy: number): number {
  if (policy === DRM_SCHED_POLICY_RR) return entity.rr_ts;
  if (policy === DRM_SCHED_POLICY_FAIR) {
    const min_vruntime = drm_sched_rq_get_min_vruntime(rq);
    return drm_sched_entity_restore_vruntime(entity, min_vruntime, rq.head_prio);
  }
  return ts; // FIFO, and any out-of-range policy value
}

/**
 * drm_sched_rq_add_entity (sched_rq.c): called by push_job when the entity's queue becomes
 * non-empty. Takes entity->lock then rq->lock. Returns the scheduler to wake, or null (with a
 * "Trying to push to a killed entity" error print) if the entity was stopped.
 */
export function drm_sched_rq_add_entity(entity: drm_sched_entity, ts: number): drm_gpu_scheduler | null {
  const k = entity.kernel;
  spin_lock(entity.lock);
  if (entity.stopped) {
    spin_unlock(entity.lock);
    drm_printk(k, 'err', 'drm_sched_rq_add_entity', 'Trying to push to a killed entity');
    return null;
  }
  const rq = entity.rq!;
  k.lifetime.use(rq.lifetime_id, 'drm_sched_rq_add_entity: entity->rq');
  const sched = rq.sched!;
  spin_lock(rq.lock);
  if (!entity.on_rq_list) {
    sched.score.counter++;
    rq.entities.push(entity);
    entity.on_rq_list = true;
  }
  drm_sched_rq_update_tree_locked(entity, rq, add_entity_key(entity, rq, ts, sched.sched_policy));
  spin_unlock(rq.lock);
  spin_unlock(entity.lock);
  return sched;
}

/**
 * drm_sched_rq_remove_entity (sched_rq.c): must hold entity->lock. Leaves the rq's entity list
 * (score--) and the tree.
 */
export function drm_sched_rq_remove_entity(rq: drm_sched_rq | null, entity: drm_sched_entity): void {
  const k = entity.kernel;
  lockdep_assert_held(entity.lock, 'drm_sched_rq_remove_entity');
  if (!entity.on_rq_list) return;
  const r = rq!;
  k.lifetime.use(r.lifetime_id, 'drm_sched_rq_remove_entity: rq');
  spin_lock(r.lock);
  r.sched!.score.counter--;
  const i = r.entities.indexOf(entity);
  if (i >= 0) r.entities.splice(i, 1);
  entity.on_rq_list = false;
  drm_sched_rq_remove_tree_locked(entity, r);
  spin_unlock(r.lock);
}

/** The new key of an entity that still has a job after a pop, by policy (§3.6). */
function pop_entity_key(entity: drm_sched_entity, rq: drm_sched_rq, policy: number): number {
  if (policy === DRM_SCHED_POLICY_FIFO) return entity.job_queue.peek()!.submit_ts;
  if (policy === DRM_SCHED_POLICY_FAIR) return drm_sched_entity_update_vruntime(entity);
  return drm_sched_rq_get_rr_ts(rq, entity); // RR, and any out-of-range policy value
}

/**
 * drm_sched_rq_pop_entity (sched_rq.c): after every pop, re-key the entity if it has a next
 * job, else take it out of the tree (FAIR saves its relative vruntime).
 */
export function drm_sched_rq_pop_entity(entity: drm_sched_entity): void {
  const k = entity.kernel;
  spin_lock(entity.lock);
  const rq = entity.rq!;
  k.lifetime.use(rq.lifetime_id, 'drm_sched_rq_pop_entity: entity->rq');
  const policy = rq.sched!.sched_policy;
  spin_lock(rq.lock);
  if (entity.job_queue.peek() !== null) {
    drm_sched_rq_update_tree_locked(entity, rq, pop_entity_key(entity, rq, policy));
  } else {
    drm_sched_rq_remove_tree_locked(entity, rq);
    if (policy === DRM_SCHED_POLICY_FAIR) drm_sched_entity_save_vruntime(entity, drm_sched_rq_get_min_vruntime(rq));
  }
  spin_unlock(rq.lock);
  spin_unlock(entity.lock);
}

/**
 * drm_sched_rq_select_entity (sched_rq.c): walk the tree in key order; the first ready entity
 * wins (marked busy via reinit_completion(entity_idle)) or, if its head job does not fit the
 * credits, the walk stops with -ENOSPC so that it keeps its place. Null if none is ready.
 */
export function drm_sched_rq_select_entity(sched: drm_gpu_scheduler, rq: drm_sched_rq): drm_sched_entity | number | null {
  const k = sched.kernel;
  spin_lock(rq.lock);
  for (const entity of rq.rb_tree) {
    k.spend(drm_sched_cost(k, 'drm_sched.select_step_ns', COST_SELECT_STEP_NS));
    if (!drm_sched_entity_is_ready(entity)) continue;
    if (!drm_sched_can_queue(sched, entity)) {
      spin_unlock(rq.lock);
      return -ENOSPC;
    }
    reinit_completion(entity.entity_idle);
    spin_unlock(rq.lock);
    return entity;
  }
  spin_unlock(rq.lock);
  return null;
}
