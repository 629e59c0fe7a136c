/**
 * drm_dep_hw_queue and drm_dep_hw_job: a drm_dep queue (and its jobs) feeding a
 * drm_dep_hw_ring (docs/hw-queue.md). The queue is a plain drm_dep_queue whose ops are the
 * layer's: drm_dep keeps everything it does for any queue (dependencies, the finished fence
 * timeline, refcounts, kill, the zombie guard, asynchronous teardown, the unload barrier) and
 * calls the layer's run_job once a job is ready; the layer stages the job and returns the
 * job's ring fence, which it signals when the hardware is done with the job.
 *
 * The queue's drm_dep timeout is MAX_SCHEDULE_TIMEOUT (the ring times its jobs on the
 * hardware, not drm_dep, which would also count the time a job waits for the ring). Its
 * drm_dep credit_limit is the staging limit, by default unbounded like a drm_sched entity's
 * job queue: a limit as low as the ring's would make a busy queue look idle between two of
 * its jobs (drm_dep stages the next one only when the previous completes), and RR and FAIR
 * would then treat it as a newcomer every time (docs/hw-queue.md "Staging").
 */
import {
  dma_fence_add_callback, dma_fence_get, dma_fence_init, dma_fence_is_signaled, dma_fence_put, EINVAL,
  MAX_SCHEDULE_TIMEOUT, spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
  type dma_fence, type dma_fence_cb, type dma_fence_ops, type workqueue_struct,
} from '@deplab/sim';
import {
  DRM_DEP_TIMEDOUT_NO_HANG, drm_dep_job_add_dependency, drm_dep_job_arm, drm_dep_job_finished_fence, drm_dep_job_get,
  drm_dep_job_init, drm_dep_job_push, drm_dep_queue_fence_context, drm_dep_queue_init, drm_dep_queue_kill,
  drm_dep_queue_release_done,
  type drm_dep_device, type drm_dep_job, type drm_dep_queue, type drm_dep_queue_ops, type drm_dep_timedout_stat,
} from '@deplab/drm-dep';
import { drm_dep_hw_ring_fault, job_scheduled, ring_check_live, ring_kick_run } from './drm_dep_hw_ring.ts';
import { rq_add_queue, rq_requeue_priority } from './drm_dep_hw_rq.ts';
import {
  DRM_DEP_HW_PRIORITY_COUNT, HW_JOB_INIT, HW_JOB_NEW, HW_JOB_PUSHED, HW_JOB_STAGED, hw_cost, hw_job_state,
  hw_queue_state, hw_ring_state,
  type drm_dep_hw_job, type drm_dep_hw_queue, type drm_dep_hw_ring, type HwJobState, type HwQueueState, type RingState,
} from './drm_dep_hw_state.ts';

/** Arguments of drm_dep_hw_queue_init. */
export interface drm_dep_hw_queue_init_args {
  /** Queue name (drm_dep's: workqueue, timeline, traces). */
  name: string;
  /** DRM_DEP_HW_PRIORITY_*: the level it is served at (and FAIR's weight). */
  priority: number;
  /** DRM_DEP_QUEUE_FLAGS_*; default 0. */
  flags?: number;
  /** The device whose drm_dep unload barrier waits for this queue. */
  dev?: drm_dep_device | null;
  /**
   * drm_dep's submit workqueue for this queue; default: the ring's (one ordered workqueue per
   * ring, as drm_sched has one per scheduler). Must be reclaim-annotated.
   */
  submit_wq?: workqueue_struct | null;
  /** Credits of ready jobs the queue may stage ahead of the ring (>= the ring's credit_limit); default DRM_DEP_HW_STAGE_LIMIT. */
  stage_limit?: number;
}

/** Default staging limit: unbounded in practice (U32_MAX, drm_sched's mock credit limit). */
export const DRM_DEP_HW_STAGE_LIMIT = 0xffffffff;

function valid_priority(p: number): boolean {
  return Number.isSafeInteger(p) && p >= 0 && p < DRM_DEP_HW_PRIORITY_COUNT;
}

/**
 * drm_dep_hw_queue_init - initialise a zeroed queue on `ring` with one reference (the
 * caller's), as drm_dep_queue_init does. Process context; may sleep. Returns 0, -EINVAL for a
 * bad priority or a ring that is not initialised, or drm_dep_queue_init's error.
 */
export function drm_dep_hw_queue_init(q: drm_dep_hw_queue, ring: drm_dep_hw_ring, args: drm_dep_hw_queue_init_args): number {
  const qs = hw_queue_state(q);
  const rs = hw_ring_state(ring);
  const k = qs.kernel;
  if (!ring_check_live(rs, 'drm_dep_hw_queue_init')) return -EINVAL;
  if (!valid_priority(args.priority)) {
    k.WARN_ON(true, 'drm_dep_hw_queue_init', `${String(args.name)}: priority ${String(args.priority)} is not 0..${DRM_DEP_HW_PRIORITY_COUNT - 1}`);
    return -EINVAL;
  }
  const stage_limit = args.stage_limit ?? DRM_DEP_HW_STAGE_LIMIT;
  if (!Number.isSafeInteger(stage_limit) || stage_limit < rs.credit_limit) {
    k.WARN_ON(true, 'drm_dep_hw_queue_init', `${String(args.name)}: stage_limit ${String(stage_limit)} is below the ring's credit_limit ${rs.credit_limit}`);
    return -EINVAL;
  }
  const ret = drm_dep_queue_init(q, {
    ops: HW_QUEUE_OPS, name: args.name, flags: args.flags ?? 0, credit_limit: stage_limit,
    timeout: MAX_SCHEDULE_TIMEOUT, submit_wq: args.submit_wq ?? rs.submit_wq, dev: args.dev ?? null,
  });
  if (ret !== 0) return ret;
  qs.ring = rs;
  qs.ops = rs.ops;
  qs.name = args.name;
  qs.priority = args.priority;
  qs.fence_context = k.dma_fence_context_alloc(1);
  qs.sched_context = k.dma_fence_context_alloc(1);
  qs.initialised = true;
  spin_lock(rs.rq_lock!);
  rs.queues.add(qs);
  rs.by_finished_context.set(drm_dep_queue_fence_context(q), qs);
  spin_unlock(rs.rq_lock!);
  return 0;
}

/**
 * drm_dep_hw_queue_kill - drm_dep_queue_kill, and the ring drops the queue's staged jobs: once
 * its jobs on the hardware are done, they complete with DRM_DEP_KILLED_JOB_ERROR in queue
 * order, then drm_dep cancels what it still holds. Jobs on the hardware are left to it or to
 * the ring TDR. Any context; returns at once. (A plain drm_dep_queue_kill also works: the
 * ring notices at its next run.)
 */
export function drm_dep_hw_queue_kill(q: drm_dep_hw_queue): void {
  const qs = hw_queue_state(q);
  drm_dep_queue_kill(q);
  const rs = qs.ring;
  if (rs === null) return;
  rs.reap_pending = true;
  ring_kick_run(rs);
}

/**
 * drm_dep_hw_queue_set_priority - serve the queue at `priority` from its next job on (it moves
 * level at once, keeping its place key). Process context, no sleep. Returns 0 or -EINVAL.
 */
export function drm_dep_hw_queue_set_priority(q: drm_dep_hw_queue, priority: number): number {
  const qs = hw_queue_state(q);
  const rs = qs.ring;
  if (rs === null || !valid_priority(priority)) return -EINVAL;
  spin_lock(rs.rq_lock!);
  rq_requeue_priority(rs, qs, priority);
  spin_unlock(rs.rq_lock!);
  ring_kick_run(rs);
  return 0;
}

export function drm_dep_hw_queue_priority(q: drm_dep_hw_queue): number {
  return hw_queue_state(q).priority;
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs                                                                                         */

/**
 * drm_dep_hw_job_init - drm_dep_job_init for a job of a HW queue, taking `credits` of the
 * ring's credit_limit while it is on the hardware. Process context. Returns 0, -EINVAL for
 * credits outside 1..the ring's credit_limit, or drm_dep_job_init's error.
 */
export function drm_dep_hw_job_init(job: drm_dep_hw_job, q: drm_dep_hw_queue, credits: number, client_id = 0): number {
  const js = hw_job_state(job);
  const qs = hw_queue_state(q);
  if (!qs.initialised) {
    js.kernel.violation('warn', 'drm_dep_hw_job_init', 'drm_dep_hw_job_init on a queue that is not a HW queue of a ring');
    return -EINVAL;
  }
  if (!Number.isSafeInteger(credits) || credits < 1 || credits > qs.ring!.credit_limit) return -EINVAL;
  const ret = drm_dep_job_init(job, q, credits, client_id);
  if (ret !== 0) return ret;
  js.qs = qs;
  js.credits = credits;
  js.client_id = client_id;
  js.state = HW_JOB_INIT;
  return 0;
}

const sched_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'drm_dep_hw',
  get_timeline_name: (fence) => `${(fence.owner as HwJobState).qs?.name ?? 'drm_dep_hw'}.scheduled`,
};

/** The finished fence signalled (completed, cancelled or never pushed): the scheduled one follows. */
function job_finished_cb(fence: dma_fence, cb: dma_fence_cb): void {
  job_scheduled(cb.owner as HwJobState, fence.error);
}

/**
 * Record what the ring needs from an armed job before drm_dep takes it: push time, the finished
 * fence (a reference until release) and its identity; start the scheduled fence on the same
 * seqno. Inside the arm->push signalling section: no allocation.
 */
function job_record_push(js: HwJobState): boolean {
  const f = drm_dep_job_finished_fence(js.owner);
  if (f === null) return false;
  const qs = js.qs!;
  const rs = qs.ring!;
  js.finished = f;
  js.fence_context = f.context;
  js.fence_seqno = f.seqno;
  js.submit_ns = js.kernel.ktime_get();
  js.state = HW_JOB_PUSHED;
  dma_fence_init(js.sched_fence, sched_fence_ops, rs.sched_fence_lock!, qs.sched_context, f.seqno);
  const flags = spin_lock_irqsave(rs.job_lock!);
  qs.unscheduled.push(js);
  qs.pushed_seqno = f.seqno;
  spin_unlock_irqrestore(rs.job_lock!, flags);
  if (dma_fence_add_callback(f, js.finished_cb, job_finished_cb) !== 0) job_scheduled(js, f.error);
  return true;
}

const fence_seqno_of = (js: HwJobState): number => js.fence_seqno;

/**
 * The job of another queue of `rs` that `fence` finishes, if it has not reached the hardware yet:
 * its scheduled fence (a new reference). Null when `fence` is not such a job's.
 */
function same_ring_scheduled(rs: RingState, own: HwQueueState, fence: dma_fence): dma_fence | null {
  const other = rs.by_finished_context.get(fence.context);
  if (other === undefined || other === own) return null;
  const flags = spin_lock_irqsave(rs.job_lock!);
  // Pushed in seqno order (arm and push are serialised per queue): a binary search.
  const js = other.unscheduled.find_sorted(fence.seqno, fence_seqno_of);
  const sched = js === undefined ? null : dma_fence_get(js.sched_fence);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  return sched;
}

/**
 * drm_dep_hw_job_add_dependency - drm_dep_job_add_dependency, pipelined on the ring: when
 * `fence` is the finished fence of a job of another queue of the same ring (without an error),
 * the job waits only until that job reached the ring (its scheduled fence), or not at all if
 * it is there already, because the ring executes in order (drm_sched's same-scheduler rule;
 * the ring's no_pipeline turns it off). Consumes `fence`. Process context; returns 0 or
 * drm_dep_job_add_dependency's error.
 */
export function drm_dep_hw_job_add_dependency(job: drm_dep_hw_job, fence: dma_fence | null): number {
  const js = hw_job_state(job);
  const qs = js.qs;
  if (fence === null || qs === null || qs.ring === null || qs.ring.no_pipeline) return drm_dep_job_add_dependency(job, fence);
  const rs = qs.ring;
  if (fence.error !== 0 || dma_fence_is_signaled(fence) || !rs.by_finished_context.has(fence.context)) return drm_dep_job_add_dependency(job, fence);
  const sched = same_ring_scheduled(rs, qs, fence);
  if (sched === null) {
    // Its queue is on this ring: the job is already on the hardware (or not pushed yet, when
    // its finished fence cannot be ours to see): keep the finished fence only in the latter case.
    const other = rs.by_finished_context.get(fence.context)!;
    if (other === qs || fence.seqno > other.pushed_seqno) return drm_dep_job_add_dependency(job, fence);
    dma_fence_put(fence);
    return 0;
  }
  dma_fence_put(fence);
  js.kernel.tp('drm_dep_hw_job_pipelined', { fence_context: fence.context, fence_seqno: fence.seqno, ring: rs.name });
  return drm_dep_job_add_dependency(job, sched);
}

/**
 * drm_dep_hw_job_push - drm_dep_job_push, recording the push time (the FIFO policy orders
 * queues by the push time of their oldest ready job, as drm_sched by submit_ts). Same
 * contexts and rules as drm_dep_job_push; the job must be armed.
 */
export function drm_dep_hw_job_push(job: drm_dep_hw_job): void {
  const js = hw_job_state(job);
  if (js.state === HW_JOB_INIT) job_record_push(js);
  drm_dep_job_push(job);
}

/** drm_dep_job_arm + drm_dep_hw_job_push, the usual pair. */
export function drm_dep_hw_job_arm_push(job: drm_dep_hw_job): void {
  drm_dep_job_arm(job);
  drm_dep_hw_job_push(job);
}

/* ------------------------------------------------------------------------------------------ */
/* The layer's drm_dep ops                                                                      */

const ring_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'drm_dep_hw',
  get_timeline_name: (fence) => (fence.owner as HwJobState).qs?.name ?? 'drm_dep_hw',
};

/**
 * run_job (drm_dep's submit worker, or the pusher with the bypass flag; signalling section):
 * the job's dependencies are met. Stage it in its queue, put the queue in its level if it was
 * idle, kick the ring worker, and give drm_dep the job's ring fence. Allocates nothing: the
 * ring fence is part of the job. The layer takes a job reference until retire.
 */
function hw_queue_stage_job(job: drm_dep_job): dma_fence | number {
  const js = hw_job_state(job as drm_dep_hw_job);
  const k = js.kernel;
  const qs = js.qs;
  if (qs === null || qs.ring === null) {
    k.violation('warn', 'drm_dep_hw_stage_job', 'a job of a HW queue was not initialised with drm_dep_hw_job_init');
    return -EINVAL;
  }
  const rs = qs.ring;
  k.spend(hw_cost(k, 'stage_ns'));
  if (js.state === HW_JOB_INIT) {
    k.violation_once('dep_hw_plain_push', 'warn', 'drm_dep_hw_stage_job', `${qs.name}: job pushed with drm_dep_job_push, not drm_dep_hw_job_push: FIFO keys it by its ready time`);
    job_record_push(js);
  }
  dma_fence_init(js.ring_fence, ring_fence_ops, rs.fence_lock!, qs.fence_context, ++qs.fence_seqno);
  drm_dep_job_get(job);
  js.state = HW_JOB_STAGED;
  spin_lock(rs.rq_lock!);
  qs.staged.push(js);
  if (qs.staged.length === 1) rq_add_queue(rs, qs);
  spin_unlock(rs.rq_lock!);
  ring_kick_run(rs);
  return dma_fence_get(js.ring_fence);
}

/**
 * timedout_job: drm_dep's own timer is off on a HW queue; drm_dep_queue_trigger_timeout() lands
 * here and becomes a fault on the queue's ring (its TDR runs for the ring's oldest job).
 */
function hw_queue_timedout_job(job: drm_dep_job): drm_dep_timedout_stat {
  const js = hw_job_state(job as drm_dep_hw_job);
  const rs = js.qs?.ring ?? null;
  if (rs !== null) drm_dep_hw_ring_fault(rs.owner as drm_dep_hw_ring);
  return DRM_DEP_TIMEDOUT_NO_HANG;
}

/** release_job: drop the layer's fences, then the driver's release_job. drm_dep's context rules. */
function hw_queue_release_job(job: drm_dep_job): void {
  const js = hw_job_state(job as drm_dep_hw_job);
  if (js.state >= HW_JOB_STAGED) dma_fence_put(js.ring_fence); // its initial reference
  if (js.sched_fence.id >= 0) dma_fence_put(js.sched_fence);
  dma_fence_put(js.finished);
  js.finished = null;
  dma_fence_put(js.hw_fence);
  js.hw_fence = null;
  js.state = HW_JOB_NEW;
  js.qs?.ops?.release_job?.(job);
}

/** release: the queue's last reference is gone and its works are idle. Nothing can be staged. */
function hw_queue_release(q: drm_dep_queue): void {
  const qs = hw_queue_state(q as drm_dep_hw_queue);
  const k = qs.kernel;
  (qs.staged.length > 0 || qs.in_tree || qs.on_ring > 0) && k.WARN_ON(true, 'drm_dep_hw_queue_release', `${qs.name}: released with jobs staged or on the ring`);
  if (qs.ops?.release_queue !== undefined) qs.ops.release_queue(q);
  else drm_dep_queue_release_done(q);
}

/** free_queue: leave the ring (its fini barrier counts queues until here), then the driver's. */
function hw_queue_free(q: drm_dep_queue): void {
  const qs = hw_queue_state(q as drm_dep_hw_queue);
  const rs = qs.ring!;
  spin_lock(rs.rq_lock!);
  rs.queues.delete(qs);
  rs.by_finished_context.delete(drm_dep_queue_fence_context(q));
  spin_unlock(rs.rq_lock!);
  const ops = qs.ops;
  qs.ring = null;
  qs.kernel.wake_up(rs.idle);
  ops?.free_queue?.(q);
}

const HW_QUEUE_OPS: drm_dep_queue_ops = {
  run_job: hw_queue_stage_job,
  timedout_job: hw_queue_timedout_job,
  release_job: hw_queue_release_job,
  release: hw_queue_release,
  free_queue: hw_queue_free,
};
