/**
 * drm_dep_hw_ring: one hardware ring fed by many drm_dep queues (the HW-queue layer proposed
 * in docs/hw-queue.md; no upstream C exists). The ring takes over the part of
 * drm_gpu_scheduler that drm_dep dropped because firmware schedulers do not need it: choosing
 * which context's ready job goes to the hardware next, a credit limit shared by every queue of
 * the ring, one timeout (TDR) per ring, and stop/resubmit/start for a ring reset.
 *
 * Flow of one job: drm_dep waits for its dependencies and calls the layer's run_job op, which
 * stages the job in its queue and returns the job's ring fence (drm_dep_hw_queue.ts); the
 * ring worker picks the next staged job by priority level and policy (drm_dep_hw_rq.ts),
 * charges its credits and calls the driver's ops.run_job; the driver's HW fence completes it:
 * credits come back, the ring fence signals (drm_dep then signals the finished fence) and the
 * retire worker drops the layer's job reference, accounting GPU time for FAIR.
 *
 * Works (all on the ring's ordered submit workqueue unless the driver gives a TDR workqueue):
 * run (arbitration, bounded batches), retire (in completion order, like drm_sched's free_job
 * work) and the TDR delayed work. Context rules: completion may run in hardirq and takes only
 * job_lock (irqsave); the run queues and staged lists are under rq_lock, process context only;
 * lock order rq_lock -> job_lock, and the layer never calls the driver with either held.
 */
import {
  alloc_ordered_workqueue, cancel_delayed_work, cancel_delayed_work_sync, cancel_work, cancel_work_sync,
  define_assumption, delayed_work_pending, destroy_workqueue, dma_fence_add_callback,
  dma_fence_begin_signalling, dma_fence_end_signalling, dma_fence_put, dma_fence_remove_callback,
  dma_fence_set_error, dma_fence_signal, EBUSY, EINVAL, ENOENT, INIT_DELAYED_WORK, INIT_WORK,
  lockdep_assert_held, MAX_SCHEDULE_TIMEOUT, mod_delayed_work, queue_work, spin_lock, spin_lock_init,
  spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore, wait_event, workqueue_is_reclaim_annotated,
  Worker, WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM,
  type dma_fence, type dma_fence_cb, type Sleepable, type work_struct,
} from '@deplab/sim';
import {
  DRM_DEP_KILLED_JOB_ERROR, DRM_DEP_TIMEDOUT_ENODEV, DRM_DEP_TIMEDOUT_NO_HANG, DRM_DEP_TIMEDOUT_RESET,
  drm_dep_job_get, drm_dep_job_put, drm_dep_queue_is_killed, type drm_dep_timedout_stat,
} from '@deplab/drm-dep';
import { rq_pop_queue, rq_remove_queue, rq_select } from './drm_dep_hw_rq.ts';
import {
  DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, DRM_DEP_HW_POLICY_RR, DRM_DEP_HW_PRIORITY_COUNT,
  DRM_DEP_HW_RUN_BATCH_MAX, HW_JOB_DONE, HW_JOB_RUNNING, hw_cost, hw_job_state, hw_ring_state, HwRunQueue,
  RING_DEAD, RING_LIVE, RING_ZEROED,
  type drm_dep_hw_job, type drm_dep_hw_ring, type drm_dep_hw_ring_init_args, type HwJobState, type RingState,
} from './drm_dep_hw_state.ts';

/**
 * When the ring TDR is (re)armed [design choice, docs/hw-queue.md "Timeout and reset"]:
 * 'head' gives the oldest job on the ring a full period, re-armed when that job completes;
 * 'every_start' pushes the timer out at every job start, as drm_sched_job_begin does, so a
 * busy ring postpones the detection of a hang (docs/legacy-hazards.md).
 */
export const DEP_HW_TDR_ARM = define_assumption({
  id: 'dep-hw.tdr_arm',
  values: ['head', 'every_start'] as const,
  default: 'head',
  summary: 'HW-queue layer: arm the ring TDR for the oldest job only, or push it out at every job start (drm_sched)',
  doc: 'docs/hw-queue.md#timeout-and-reset',
});

/* ------------------------------------------------------------------------------------------ */
/* Init, fini                                                                                   */

function valid_timeout(t: number): boolean {
  return t === MAX_SCHEDULE_TIMEOUT || (Number.isSafeInteger(t) && t > 0);
}

/** Why `args` cannot initialise a ring, or null. */
function ring_args_problem(args: drm_dep_hw_ring_init_args): string | null {
  if (typeof args.ops?.run_job !== 'function' || typeof args.ops.timedout_job !== 'function') return 'ops.run_job and ops.timedout_job are required';
  if (typeof args.name !== 'string' || args.name.length === 0) return 'name must be a non-empty string';
  if (!Number.isSafeInteger(args.credit_limit) || args.credit_limit < 1) return `credit_limit must be an integer >= 1, got ${String(args.credit_limit)}`;
  if (!valid_timeout(args.timeout)) return `timeout must be jiffies > 0 or MAX_SCHEDULE_TIMEOUT, got ${String(args.timeout)}`;
  const policy = args.policy ?? DRM_DEP_HW_POLICY_FIFO;
  if (policy !== DRM_DEP_HW_POLICY_FIFO && policy !== DRM_DEP_HW_POLICY_RR && policy !== DRM_DEP_HW_POLICY_FAIR) return `unknown policy ${String(policy)}`;
  const levels = args.levels ?? DRM_DEP_HW_PRIORITY_COUNT;
  if (!Number.isSafeInteger(levels) || levels < 1 || levels > DRM_DEP_HW_PRIORITY_COUNT) return `levels must be 1..${DRM_DEP_HW_PRIORITY_COUNT}, got ${String(levels)}`;
  return null;
}

/**
 * drm_dep_hw_ring_init - initialise a zeroed ring. Process context; may sleep (allocates the
 * ring's ordered submit workqueue unless the driver gives one). Returns 0, -EINVAL for bad
 * arguments (the reason is printed as a WARN), -EBUSY if the ring is already initialised.
 * A driver-given workqueue that is not reclaim-annotated WARNs, as drm_dep's does.
 */
export function drm_dep_hw_ring_init(ring: drm_dep_hw_ring, args: drm_dep_hw_ring_init_args): number {
  const rs = hw_ring_state(ring);
  const k = rs.kernel;
  const site = 'drm_dep_hw_ring_init';
  k.might_sleep(site);
  if ((rs.phase !== RING_ZEROED) && k.WARN_ON(true, site, `drm_dep_hw_ring_init on an initialised ring ${rs.name}`)) return -EBUSY;
  const problem = ring_args_problem(args);
  if (problem !== null) {
    k.WARN_ON(true, site, `${String(args.name)}: ${problem}`);
    return -EINVAL;
  }
  for (const [what, wq] of [['submit_wq', args.submit_wq], ['timeout_wq', args.timeout_wq]] as const) {
    if (wq !== undefined && wq !== null && !workqueue_is_reclaim_annotated(wq)) {
      k.WARN_ON(true, site, `${args.name}: driver-given ${what} ${wq.name} is not reclaim annotated (WQ_MEM_WARN_ON_RECLAIM)`);
    }
  }
  rs.name = args.name;
  rs.ops = args.ops;
  rs.policy = args.policy ?? DRM_DEP_HW_POLICY_FIFO;
  const levels = args.levels ?? (rs.policy === DRM_DEP_HW_POLICY_FAIR ? 1 : DRM_DEP_HW_PRIORITY_COUNT);
  rs.levels = Array.from({ length: levels }, () => new HwRunQueue());
  rs.credit_limit = args.credit_limit;
  rs.timeout_jiffies = args.timeout;
  rs.no_pipeline = args.no_pipeline === true;
  rs.own_submit_wq = args.submit_wq === undefined || args.submit_wq === null;
  rs.submit_wq = rs.own_submit_wq ? alloc_ordered_workqueue(k, args.name, WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM) : args.submit_wq!;
  rs.timeout_wq = args.timeout_wq ?? rs.submit_wq;
  rs.rq_lock = spin_lock_init(k, '&drm_dep_hw_ring->rq_lock');
  rs.job_lock = spin_lock_init(k, '&drm_dep_hw_ring->job_lock');
  rs.fence_lock = spin_lock_init(k, '&drm_dep_hw_ring->fence_lock');
  rs.sched_fence_lock = spin_lock_init(k, '&drm_dep_hw_ring->sched_fence_lock');
  rs.work_run = INIT_WORK(k, drm_dep_hw_ring_run_work, 'drm_dep_hw_ring_run_work', rs);
  rs.work_retire = INIT_WORK(k, drm_dep_hw_ring_retire_work, 'drm_dep_hw_ring_retire_work', rs);
  rs.work_tdr = INIT_DELAYED_WORK(k, drm_dep_hw_ring_tdr_work, 'drm_dep_hw_ring_tdr_work', rs);
  rs.id = k.lifetime.track('drm_dep_hw_ring', args.name);
  rs.phase = RING_LIVE;
  return 0;
}

/** Entry check of the ring API: initialised and not finalised. */
export function ring_check_live(rs: RingState, site: string): boolean {
  const k = rs.kernel;
  if (rs.phase === RING_ZEROED) {
    k.violation('warn', site, `${site} on a drm_dep_hw_ring that was never initialised`);
    return false;
  }
  return k.lifetime.use(rs.id, site);
}

/**
 * drm_dep_hw_ring_fini - the ring's teardown barrier: sleeps until every queue initialised on
 * the ring has been freed (the driver must have killed and put them: their teardown is
 * drm_dep's asynchronous one), then stops the works and frees the ring. Process context.
 * Jobs still on the ring at that point are a driver bug (WARN): no queue can own them.
 */
export function* drm_dep_hw_ring_fini(ring: drm_dep_hw_ring): Sleepable {
  const rs = hw_ring_state(ring);
  const k = rs.kernel;
  const site = 'drm_dep_hw_ring_fini';
  if (!ring_check_live(rs, site)) return;
  k.might_sleep(site);
  yield* wait_event(k, rs.idle, () => rs.queues.size === 0);
  rs.stopped = true;
  yield* cancel_delayed_work_sync(rs.work_tdr!);
  yield* cancel_work_sync(rs.work_run!);
  yield* cancel_work_sync(rs.work_retire!);
  (rs.pending.length + rs.done_list.length > 0) && k.WARN_ON(true, site, `${rs.name}: jobs left on the ring at fini`);
  if (rs.own_submit_wq) yield* destroy_workqueue(rs.submit_wq!);
  rs.phase = RING_DEAD;
  k.tp('drm_dep_hw_ring_fini', { ring: rs.name });
  k.lifetime.free(rs.id, site);
}

/* ------------------------------------------------------------------------------------------ */
/* Kicks and the TDR timer                                                                      */

/** Queue the run worker unless the ring is stopped or gone. Any context. */
export function ring_kick_run(rs: RingState): void {
  if (rs.stopped || rs.phase !== RING_LIVE) return;
  queue_work(rs.submit_wq!, rs.work_run!);
}

function ring_kick_retire(rs: RingState): void {
  if (rs.stopped || rs.phase !== RING_LIVE) return;
  queue_work(rs.submit_wq!, rs.work_retire!);
}

/** Arm the TDR for the oldest job on the ring: a full period from now. job_lock held. */
function tdr_arm_locked(rs: RingState): void {
  lockdep_assert_held(rs.job_lock!, 'drm_dep_hw tdr_arm_locked');
  if (rs.stopped || rs.pending.length === 0) return;
  if (rs.tdr_immediate) {
    mod_delayed_work(rs.timeout_wq!, rs.work_tdr!, 0);
    return;
  }
  if (rs.timeout_jiffies === MAX_SCHEDULE_TIMEOUT) return;
  mod_delayed_work(rs.timeout_wq!, rs.work_tdr!, rs.timeout_jiffies);
}

/* ------------------------------------------------------------------------------------------ */
/* The run worker: arbitration                                                                  */

function trace_job(rs: RingState, name: string, js: HwJobState, extra: Record<string, number | string>): void {
  const k = rs.kernel;
  if (!k.trace.enabled) return;
  k.tp(name, { fence_context: js.fence_context, fence_seqno: js.fence_seqno, ring: rs.name, queue: js.qs!.name, ...extra });
}

/**
 * Take the next job for the hardware: strict priority levels, the policy within a level,
 * credits checked against the ring's limit. Charges the credits and puts the job on the
 * pending list. Returns null when nothing is staged or the head job does not fit.
 */
/** Whether `credits` more fit on the ring, read under its job lock. */
function ring_fits(rs: RingState, credits: number): boolean {
  const flags = spin_lock_irqsave(rs.job_lock!);
  const ok = rs.credit_count + credits <= rs.credit_limit;
  spin_unlock_irqrestore(rs.job_lock!, flags);
  return ok;
}

function ring_pick(rs: RingState): HwJobState | null {
  const k = rs.kernel;
  spin_lock(rs.rq_lock!);
  const qs = rq_select(rs, (credits) => ring_fits(rs, credits));
  if (qs === null || typeof qs === 'number') {
    spin_unlock(rs.rq_lock!);
    return null;
  }
  const js = qs.staged.shift()!;
  rq_pop_queue(rs, qs);
  const flags = spin_lock_irqsave(rs.job_lock!);
  rs.credit_count += js.credits;
  qs.on_ring++;
  rs.pending.push(js);
  js.state = HW_JOB_RUNNING;
  if (rs.pending.length === 1 || k.assume(DEP_HW_TDR_ARM) === 'every_start') tdr_arm_locked(rs);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  spin_unlock(rs.rq_lock!);
  return js;
}

/**
 * The job reached the hardware, or ended without reaching it (`error`): signal its scheduled
 * fence once, so that same-ring dependants may go to the ring. Any context.
 */
export function job_scheduled(js: HwJobState, error: number): void {
  const f = js.sched_fence;
  if (f.id < 0 || f.signaled) return;
  const rs = js.qs!.ring!;
  const flags = spin_lock_irqsave(rs.job_lock!);
  js.qs!.unscheduled.remove(js);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  if (error < 0) dma_fence_set_error(f, error);
  dma_fence_signal(f);
}

/** Hand a picked (or resubmitted) job to the driver inside a dma-fence signalling section. */
function ring_hw_run(rs: RingState, js: HwJobState): void {
  const k = rs.kernel;
  k.spend(hw_cost(k, 'run_ns'));
  js.start_ns = k.now();
  job_scheduled(js, 0);
  trace_job(rs, 'drm_dep_hw_job_run', js, { priority: js.qs!.priority, credits: js.credits, hw_job_count: rs.credit_count, client_id: js.client_id });
  const cookie = dma_fence_begin_signalling(k);
  const ret = rs.ops!.run_job(js.owner);
  dma_fence_end_signalling(k, cookie);
  if (ret === null) {
    ring_job_done(rs, js, 0);
  } else if (typeof ret === 'number') {
    (ret >= 0) && k.WARN_ON(true, 'drm_dep_hw_ring_run_job', `${rs.name}: run_job returned ${ret}, not a negative errno`);
    ring_job_done(rs, js, ret < 0 ? ret : -EINVAL);
  } else {
    js.hw_fence = ret; // run_job's reference is the layer's
    const r = dma_fence_add_callback(ret, js.hw_cb, hw_fence_done);
    if (r === -ENOENT) ring_job_done(rs, js, ret.error);
    else (r !== 0) && k.WARN_ON(true, 'drm_dep_hw_ring_run_job', `${rs.name}: cannot add a callback to the HW fence (${r})`);
  }
}

/**
 * Cancel the staged jobs of killed queues that have nothing left on the hardware: in queue
 * order, with drm_dep's DRM_DEP_KILLED_JOB_ERROR, so that the queue's fences still signal in
 * order (its jobs on the ring finished first). Run worker, process context.
 */
function ring_reap_killed(rs: RingState): void {
  rs.reap_pending = false;
  const cancelled: HwJobState[] = [];
  spin_lock(rs.rq_lock!);
  for (const rq of rs.levels) {
    for (const qs of rq.tree.to_array()) {
      if (!drm_dep_queue_is_killed(qs.owner)) continue;
      const flags = spin_lock_irqsave(rs.job_lock!);
      const busy = qs.on_ring > 0;
      spin_unlock_irqrestore(rs.job_lock!, flags);
      if (busy) continue;
      rq_remove_queue(rs, qs);
      for (let js = qs.staged.shift(); js !== undefined; js = qs.staged.shift()) cancelled.push(js);
    }
  }
  spin_unlock(rs.rq_lock!);
  for (const js of cancelled) {
    js.state = HW_JOB_DONE;
    job_scheduled(js, DRM_DEP_KILLED_JOB_ERROR);
    trace_job(rs, 'drm_dep_hw_job_cancel', js, { error: DRM_DEP_KILLED_JOB_ERROR });
    dma_fence_set_error(js.ring_fence, DRM_DEP_KILLED_JOB_ERROR);
    dma_fence_signal(js.ring_fence);
    drm_dep_job_put(js.owner); // the layer's reference from staging
  }
}

/**
 * drm_dep_hw_ring_run_work - the ring worker (ring submit workqueue, kworker): reaps killed
 * queues, then hands staged jobs to the hardware while credits allow, at most
 * DRM_DEP_HW_RUN_BATCH_MAX per invocation.
 */
function drm_dep_hw_ring_run_work(work: work_struct): void {
  const rs = work.owner as RingState;
  if (!rs.kernel.lifetime.use(rs.id, 'drm_dep_hw_ring_run_work')) return;
  if (rs.reap_pending) ring_reap_killed(rs);
  for (let n = 0; ; n++) {
    if (rs.stopped) return;
    if (n === DRM_DEP_HW_RUN_BATCH_MAX) {
      ring_kick_run(rs); // bounded batch: let the retire and TDR works run
      return;
    }
    const js = ring_pick(rs);
    if (js === null) break;
    ring_hw_run(rs, js);
  }
  if (rs.reap_pending) ring_reap_killed(rs);
}

/* ------------------------------------------------------------------------------------------ */
/* Completion and retire                                                                        */

/** The layer's callback on the driver's HW fence. The signaller's context (often hardirq). */
function hw_fence_done(fence: dma_fence, cb: dma_fence_cb): void {
  const js = cb.owner as HwJobState;
  ring_job_done(js.qs!.ring!, js, fence.error);
}

/**
 * A job on the ring completed with `error` (0 or a negative errno). Any context, hardirq
 * included: returns the credits, re-arms the TDR for the new oldest job, signals the ring
 * fence (drm_dep completes the job from its callback) and kicks the retire and run workers.
 */
function ring_job_done(rs: RingState, js: HwJobState, error: number): void {
  const k = rs.kernel;
  const qs = js.qs!;
  k.spend(hw_cost(k, 'done_ns'));
  const flags = spin_lock_irqsave(rs.job_lock!);
  const index = rs.pending.indexOf(js);
  if ((index < 0) && k.WARN_ON(true, 'drm_dep_hw_job_done', `${rs.name}: completed job is not on the ring`)) {
    spin_unlock_irqrestore(rs.job_lock!, flags);
    return;
  }
  rs.pending.remove_at(index);
  rs.credit_count -= js.credits;
  qs.on_ring--;
  js.done_ns = k.now();
  js.state = HW_JOB_DONE;
  if (index === 0) {
    if (rs.pending.length === 0) {
      cancel_delayed_work(rs.work_tdr!);
      rs.tdr_immediate = false;
    } else {
      tdr_arm_locked(rs);
    }
  }
  rs.done_list.push(js);
  // The job holds a queue reference, so the queue is alive to ask.
  if (qs.on_ring === 0 && drm_dep_queue_is_killed(qs.owner)) rs.reap_pending = true;
  spin_unlock_irqrestore(rs.job_lock!, flags);
  trace_job(rs, 'drm_dep_hw_job_done', js, { error });
  if (error < 0) dma_fence_set_error(js.ring_fence, error);
  dma_fence_signal(js.ring_fence);
  ring_kick_retire(rs);
  ring_kick_run(rs);
}

/**
 * drm_dep_hw_ring_retire_work - drop the layer's reference of every completed job, in
 * completion order, adding its GPU time (from the later of its start and the previous job's
 * completion, as drm_sched's timestamp fix-up) to its queue's FAIR statistics and the ring's
 * average. Ring submit workqueue, kworker context (the put may free the job).
 */
function drm_dep_hw_ring_retire_work(work: work_struct): void {
  const rs = work.owner as RingState;
  const k = rs.kernel;
  if (!k.lifetime.use(rs.id, 'drm_dep_hw_ring_retire_work')) return;
  const flags = spin_lock_irqsave(rs.job_lock!);
  const batch = rs.done_list.splice(0, rs.done_list.length);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  for (const js of batch) {
    k.spend(hw_cost(k, 'retire_ns'));
    const duration_ns = Math.max(0, js.done_ns - Math.max(js.start_ns, rs.last_done_ns));
    rs.last_done_ns = Math.max(rs.last_done_ns, js.done_ns);
    const qs = js.qs!;
    spin_lock(rs.rq_lock!);
    qs.runtime_ns += duration_ns;
    qs.avg_job_us.add(duration_ns / 1000);
    rs.avg_job_us.add(duration_ns / 1000);
    spin_unlock(rs.rq_lock!);
    drm_dep_job_put(js.owner);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Timeout                                                                                      */

function is_sleepable<T>(value: unknown): value is Sleepable<T> {
  return typeof value === 'object' && value !== null && typeof (value as { next?: unknown }).next === 'function';
}

/**
 * drm_dep_hw_ring_tdr_work - the oldest job on the ring timed out (TDR workqueue, kworker,
 * may sleep). Holds a job reference across ops.timedout_job; re-arms unless ENODEV.
 */
function* drm_dep_hw_ring_tdr_work(work: work_struct): Sleepable {
  const rs = work.owner as RingState;
  const k = rs.kernel;
  if (!k.lifetime.use(rs.id, 'drm_dep_hw_ring_tdr_work')) return;
  let flags = spin_lock_irqsave(rs.job_lock!);
  const js = rs.pending.at(0);
  rs.tdr_immediate = false;
  if (js !== undefined) drm_dep_job_get(js.owner);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  if (js === undefined) return;
  const ret = rs.ops!.timedout_job(js.owner);
  const status: number = is_sleepable<drm_dep_timedout_stat>(ret) ? yield* ret : ret;
  (status !== DRM_DEP_TIMEDOUT_RESET && status !== DRM_DEP_TIMEDOUT_NO_HANG && status !== DRM_DEP_TIMEDOUT_ENODEV) && k.WARN_ON(true, 'drm_dep_hw_ring_tdr_work', `${rs.name}: timedout_job returned ${status}`);
  trace_job(rs, 'drm_dep_hw_job_timedout', js, { status });
  if (status !== DRM_DEP_TIMEDOUT_ENODEV) {
    flags = spin_lock_irqsave(rs.job_lock!);
    if (!delayed_work_pending(rs.work_tdr!)) tdr_arm_locked(rs);
    spin_unlock_irqrestore(rs.job_lock!, flags);
  }
  drm_dep_job_put(js.owner);
}

/**
 * drm_dep_hw_ring_fault - run the TDR now for the oldest job on the ring (a fault IRQ saw the
 * ring stop; drm_sched_fault). Any context.
 */
export function drm_dep_hw_ring_fault(ring: drm_dep_hw_ring): void {
  const rs = hw_ring_state(ring);
  if (!ring_check_live(rs, 'drm_dep_hw_ring_fault')) return;
  const flags = spin_lock_irqsave(rs.job_lock!);
  rs.tdr_immediate = true;
  mod_delayed_work(rs.timeout_wq!, rs.work_tdr!, 0);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  rs.kernel.tp('drm_dep_hw_ring_fault', { ring: rs.name });
}

/* ------------------------------------------------------------------------------------------ */
/* Stop, resubmit, start (ring reset)                                                           */

/**
 * drm_dep_hw_ring_stop - no job reaches the hardware any more and the TDR is disarmed (one
 * already running finishes); staging into the queues and completions go on. Process context;
 * sleeps until the run and retire works are idle, so callable from timedout_job (of this or
 * another ring) but not from run_job.
 */
export function* drm_dep_hw_ring_stop(ring: drm_dep_hw_ring): Sleepable {
  const rs = hw_ring_state(ring);
  const k = rs.kernel;
  if (!ring_check_live(rs, 'drm_dep_hw_ring_stop')) return;
  k.might_sleep('drm_dep_hw_ring_stop');
  rs.stopped = true;
  cancel_delayed_work(rs.work_tdr!);
  k.tp('drm_dep_hw_ring_stop', { ring: rs.name });
  const self = k.current_sleeper;
  if (self instanceof Worker && self.wq === rs.submit_wq && rs.submit_wq.ordered) {
    // From an item of the ring's own ordered workqueue (its TDR): the others cannot be running.
    cancel_work(rs.work_run!);
    cancel_work(rs.work_retire!);
    return;
  }
  yield* cancel_work_sync(rs.work_run!);
  yield* cancel_work_sync(rs.work_retire!);
}

/** drm_dep_hw_ring_start - undo drm_dep_hw_ring_stop: re-arm the TDR, kick the works. Any context. */
export function drm_dep_hw_ring_start(ring: drm_dep_hw_ring): void {
  const rs = hw_ring_state(ring);
  if (!ring_check_live(rs, 'drm_dep_hw_ring_start') || !rs.stopped) return;
  rs.stopped = false;
  const flags = spin_lock_irqsave(rs.job_lock!);
  tdr_arm_locked(rs);
  spin_unlock_irqrestore(rs.job_lock!, flags);
  rs.kernel.tp('drm_dep_hw_ring_start', { ring: rs.name });
  ring_kick_retire(rs);
  ring_kick_run(rs);
}

/**
 * drm_dep_hw_ring_for_each_pending_job - call `fn` on every job on the ring (handed to run_job,
 * not complete), oldest first. Only on a stopped ring (WARN otherwise): the reset path.
 */
export function drm_dep_hw_ring_for_each_pending_job<J extends drm_dep_hw_job>(ring: drm_dep_hw_ring, fn: (job: J) => void): void {
  const rs = hw_ring_state(ring);
  const site = 'drm_dep_hw_ring_for_each_pending_job';
  if (!ring_check_live(rs, site)) return;
  !rs.stopped && rs.kernel.WARN_ON(true, site, `${rs.name}: pending jobs iterated on a ring that is not stopped`);
  for (const js of rs.pending.to_array()) fn(js.owner as J);
}

/** Common checks of resubmit/complete: the job is on a stopped ring. Detaches its HW fence callback. */
function job_on_stopped_ring(js: HwJobState, site: string): RingState | null {
  const k = js.kernel;
  const rs = js.qs?.ring ?? null;
  if (rs === null || !ring_check_live(rs, site)) return null;
  if ((js.state !== HW_JOB_RUNNING) && k.WARN_ON(true, site, `${rs.name}: ${site} on a job that is not on the ring`)) return null;
  if (!rs.stopped && k.WARN_ON(true, site, `${rs.name}: ${site} on a ring that is not stopped`)) return null;
  if (js.hw_fence !== null && js.hw_cb.linked !== null) dma_fence_remove_callback(js.hw_fence, js.hw_cb);
  return rs;
}

/**
 * drm_dep_hw_job_resubmit - hand a job on a stopped ring to ops.run_job again (the reset lost
 * it): its old HW fence is dropped, the new one completes it. Its credits stay charged.
 * Process context (the reset path).
 */
export function drm_dep_hw_job_resubmit(job: drm_dep_hw_job): void {
  const js = hw_job_state(job);
  const rs = job_on_stopped_ring(js, 'drm_dep_hw_job_resubmit');
  if (rs === null) return;
  dma_fence_put(js.hw_fence);
  js.hw_fence = null;
  ring_hw_run(rs, js);
}

/**
 * drm_dep_hw_job_complete - complete a job on a stopped ring with `error` instead of its HW
 * fence (the reset lost it and it must not run again: the guilty job). Any context.
 */
export function drm_dep_hw_job_complete(job: drm_dep_hw_job, error: number): void {
  const js = hw_job_state(job);
  const rs = job_on_stopped_ring(js, 'drm_dep_hw_job_complete');
  if (rs === null) return;
  (error > 0) && js.kernel.WARN_ON(true, 'drm_dep_hw_job_complete', `${rs.name}: positive error ${error}`);
  ring_job_done(rs, js, error > 0 ? -EINVAL : error);
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors                                                                                    */

export function drm_dep_hw_ring_name(ring: drm_dep_hw_ring): string {
  return hw_ring_state(ring).name;
}

/** Credits of the jobs on the hardware. */
export function drm_dep_hw_ring_credit_count(ring: drm_dep_hw_ring): number {
  return hw_ring_state(ring).credit_count;
}

export function drm_dep_hw_ring_credit_limit(ring: drm_dep_hw_ring): number {
  return hw_ring_state(ring).credit_limit;
}

export function drm_dep_hw_ring_is_stopped(ring: drm_dep_hw_ring): boolean {
  return hw_ring_state(ring).stopped;
}

/** Queues initialised on the ring and not yet freed. */
export function drm_dep_hw_ring_queue_count(ring: drm_dep_hw_ring): number {
  return hw_ring_state(ring).queues.size;
}
