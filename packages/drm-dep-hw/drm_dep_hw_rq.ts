/**
 * The ring's run queues: one per priority level, served in strict order; within a level the
 * queues with staged jobs are kept in a tree ordered by a key that the policy computes, as
 * drm_sched's run queues do (drivers/gpu/drm/scheduler/sched_rq.c; FIFO and RR as in the
 * multi-policy state of 7.2-rc7, FAIR as sched_rq.c @ 637315cb400e, the fair series' file):
 *
 *   FIFO  key = push time of the queue's oldest staged job;
 *   RR    key = a per-level fake timestamp: a queue that ran goes to the back, a new one to the front;
 *   FAIR  key = virtual GPU time: GPU time scaled by the priority's shift (KERNEL 1, HIGH 2,
 *         NORMAL 4, LOW 7), kept relative to the tree head while the queue is idle, re-joining
 *         near the head (higher priority first, lower priority pushed back by about one average
 *         job, equal priority by 1 ns depending on whether its jobs are shorter than average).
 *
 * The tree is the simulator's rb_root_cached (an equal key goes after the existing ones, like
 * rb_add_cached). Every function here runs with the ring's rq_lock held.
 * Deviation from sched_rq.c: the queue is "ready" whenever it has staged jobs (drm_dep has
 * already waited for their dependencies), so no entity->dependency test; a killed queue is
 * skipped and left for the run worker to reap.
 */
import { ENOSPC, lockdep_assert_held } from '@deplab/sim';
import { drm_dep_queue_is_killed } from '@deplab/drm-dep';
import {
  DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, DRM_DEP_HW_POLICY_RR, DRM_DEP_HW_PRIORITY_HIGH,
  DRM_DEP_HW_PRIORITY_KERNEL, DRM_DEP_HW_PRIORITY_LOW, DRM_DEP_HW_PRIORITY_NORMAL, hw_cost,
  type HwQueueState, type HwRunQueue, type RingState,
} from './drm_dep_hw_state.ts';

/* ------------------------------------------------------------------------------------------ */
/* The tree                                                                                     */

function tree_insert(rq: HwRunQueue, qs: HwQueueState): void {
  rq.tree.add(qs);
  qs.in_tree = true;
  rq.head_prio = rq.tree.first()!.priority;
}

function tree_remove(rq: HwRunQueue, qs: HwQueueState): void {
  if (qs.kernel.WARN_ON(!rq.tree.erase(qs), 'drm_dep_hw_rq', `${qs.name}: marked in the tree but not in it`)) return;
  qs.in_tree = false;
  rq.head_prio = rq.tree.first()?.priority ?? -1;
}

/** The level a queue of `priority` sits in. */
export function rq_level_of(rs: RingState, priority: number): HwRunQueue {
  return rs.levels[Math.min(priority, rs.levels.length - 1)];
}

/* ------------------------------------------------------------------------------------------ */
/* FAIR: virtual runtime (sched_rq.c @ 637315cb400e)                                            */

/** vruntime_shift[]: KERNEL ~2x HIGH, HIGH ~4x NORMAL, NORMAL ~8x LOW. */
const VRUNTIME_SHIFT: Readonly<Record<number, number>> = {
  [DRM_DEP_HW_PRIORITY_KERNEL]: 1,
  [DRM_DEP_HW_PRIORITY_HIGH]: 2,
  [DRM_DEP_HW_PRIORITY_NORMAL]: 4,
  [DRM_DEP_HW_PRIORITY_LOW]: 7,
};

function shift_of(priority: number): number {
  return 2 ** VRUNTIME_SHIFT[priority];
}

/** drm_sched_rq_get_min_vruntime: the head's vruntime, 0 for an empty tree. */
function min_vruntime(rq: HwRunQueue): number {
  return rq.tree.first()?.vruntime ?? 0;
}

/** drm_sched_entity_save_vruntime: keep the lag relative to the head, or 0. */
function save_vruntime(qs: HwQueueState, min: number): void {
  qs.vruntime = min !== 0 && qs.vruntime > min ? qs.vruntime - min : 0;
}

/** drm_sched_entity_restore_vruntime: the key of a queue re-joining its level. */
function restore_vruntime(rs: RingState, qs: HwQueueState, min: number, head_prio: number): number {
  let vruntime = qs.vruntime;
  if (vruntime === 0 && head_prio >= 0) {
    const avg_us = qs.avg_job_us.read();
    const ring_avg_us = rs.avg_job_us.read();
    if (qs.priority > head_prio) vruntime = (1 + avg_us + ring_avg_us) * shift_of(qs.priority) * 1000;
    else if (qs.priority < head_prio) vruntime = -(head_prio - qs.priority);
    else vruntime = avg_us <= ring_avg_us ? -1 : 1;
  }
  qs.vruntime = min + vruntime;
  return qs.vruntime;
}

/** drm_sched_entity_update_vruntime: vruntime += GPU time since the last re-key << shift. */
function update_vruntime(qs: HwQueueState): number {
  const delta = qs.runtime_ns - qs.prev_runtime_ns;
  qs.prev_runtime_ns = qs.runtime_ns;
  qs.vruntime += delta * shift_of(qs.priority);
  return qs.vruntime;
}

/* ------------------------------------------------------------------------------------------ */
/* Membership                                                                                   */

/** The key of a queue (re-)joining its level with the first staged job at its head. */
function join_key(rs: RingState, rq: HwRunQueue, qs: HwQueueState): number {
  if (rs.policy === DRM_DEP_HW_POLICY_RR) return qs.rr_ts;
  if (rs.policy === DRM_DEP_HW_POLICY_FAIR) return restore_vruntime(rs, qs, min_vruntime(rq), rq.head_prio);
  return qs.staged.at(0)!.submit_ns;
}

/** A queue's first staged job arrived: put the queue in its level's tree. rq_lock held. */
export function rq_add_queue(rs: RingState, qs: HwQueueState): void {
  lockdep_assert_held(rs.rq_lock!, 'rq_add_queue');
  if (qs.in_tree) return;
  const rq = rq_level_of(rs, qs.priority);
  qs.key = join_key(rs, rq, qs);
  tree_insert(rq, qs);
}

/**
 * After the ring took the head staged job of `qs`: re-key it if it has another one, else
 * take it out of the tree (FAIR keeps its lag relative to the new head). rq_lock held.
 */
export function rq_pop_queue(rs: RingState, qs: HwQueueState): void {
  lockdep_assert_held(rs.rq_lock!, 'rq_pop_queue');
  const rq = rq_level_of(rs, qs.priority);
  tree_remove(rq, qs);
  if (qs.staged.length === 0) {
    if (rs.policy === DRM_DEP_HW_POLICY_FAIR) save_vruntime(qs, min_vruntime(rq));
    return;
  }
  if (rs.policy === DRM_DEP_HW_POLICY_FIFO) qs.key = qs.staged.at(0)!.submit_ns;
  else if (rs.policy === DRM_DEP_HW_POLICY_FAIR) qs.key = update_vruntime(qs);
  else qs.key = qs.rr_ts = ++rq.rr_ts;
  tree_insert(rq, qs);
}

/** Take `qs` out of its level (killed, or leaving the ring). rq_lock held. */
export function rq_remove_queue(rs: RingState, qs: HwQueueState): void {
  lockdep_assert_held(rs.rq_lock!, 'rq_remove_queue');
  if (qs.in_tree) tree_remove(rq_level_of(rs, qs.priority), qs);
}

/**
 * Move `qs` to the level of `priority` keeping its key (a priority change); FAIR's shift
 * follows the new priority from the next re-key. rq_lock held.
 */
export function rq_requeue_priority(rs: RingState, qs: HwQueueState, priority: number): void {
  lockdep_assert_held(rs.rq_lock!, 'rq_requeue_priority');
  const was = qs.in_tree;
  if (was) tree_remove(rq_level_of(rs, qs.priority), qs);
  qs.priority = priority;
  if (was) tree_insert(rq_level_of(rs, priority), qs);
}

/**
 * drm_sched_select_entity + drm_sched_rq_select_entity: levels highest first, each tree in key
 * order; the first live queue wins if its head job's credits fit, else -ENOSPC, which also
 * blocks every lower level (the queue keeps its place). A killed queue is skipped and flagged
 * for reaping. Returns the queue, -ENOSPC or null. rq_lock held; `fits` is called with it.
 */
export function rq_select(rs: RingState, fits: (credits: number) => boolean): HwQueueState | number | null {
  lockdep_assert_held(rs.rq_lock!, 'rq_select');
  const k = rs.kernel;
  for (const rq of rs.levels) {
    for (const qs of rq.tree) {
      k.spend(hw_cost(k, 'select_step_ns'));
      if (drm_dep_queue_is_killed(qs.owner)) {
        rs.reap_pending = true;
        continue;
      }
      return fits(qs.staged.at(0)!.credits) ? qs : -ENOSPC;
    }
  }
  return null;
}
