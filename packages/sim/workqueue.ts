/**
 * Workqueues (kernel/workqueue.c, include/linux/workqueue.h), modelled for what schedulers
 * depend on:
 *   - queue_work on a pending item is a no-op (returns false); an item re-queued while it runs
 *     runs again afterwards, never concurrently with itself (non-reentrancy);
 *   - an ordered workqueue runs one item at a time, in queueing order;
 *   - up to max_active items of one workqueue run at once, each on its own kworker;
 *   - an idle kworker woken by queue_work starts after the kworker wake-up latency; a busy one
 *     moves on to the next item after the dispatch cost (both from the cost table); the caller
 *     pays __queue_work, try_to_grab_pending, the wake-up and the delayed-work timer (waker-side
 *     entries of the cost table);
 *   - a delayed work's timer runs when the timer wheel runs it (timer_wheel.ts);
 *   - cancel_work_sync / flush_work / flush_workqueue / destroy_workqueue really wait, and
 *     carry the kernel's lockdep annotations (work and workqueue lockdep maps), so flushing a
 *     work from inside itself or under a lock the work takes is reported;
 *   - WQ_MEM_WARN_ON_RECLAIM (RFC drm_dep patch 01) teaches lockdep at alloc_workqueue that
 *     reclaim may wait for the workqueue (fs_reclaim -> (wq_completion)), so a sleeping
 *     allocation in one of its items closes a cycle through process_one_work's maps;
 *   - disable_work / enable_work (6.10+) nest: a disabled item is never queued, and
 *     mod_delayed_work on it only cancels.
 * Simplifications (docs/assumptions.md): every pool behaves like an unbound pool (no per-CPU
 * concurrency management), kworkers are per workqueue, the WQ_MEM_RECLAIM rescuer is not
 * modelled (there is no memory pressure).
 */
import { ExecContext } from './context.ts';
import { Kernel, PHASE_KWORKER, TimedChoice, type Callback } from './kernel.ts';
import { lock_map_acquire, lock_map_release, lockdep_map } from './lockdep.ts';
import type { Sleepable, Sleeper } from './wait.ts';
import { wait_queue_head } from './wait.ts';
import type { EventHandle } from './event-queue.ts';
import { MAX_SCHEDULE_TIMEOUT } from './time.ts';
import { TIMER_WHEEL, timer_list_fire_ns } from './timer_wheel.ts';

export const WQ_UNBOUND = 1 << 1;
export const WQ_FREEZABLE = 1 << 2;
export const WQ_MEM_RECLAIM = 1 << 3;
export const WQ_HIGHPRI = 1 << 4;
export const WQ_CPU_INTENSIVE = 1 << 5;
export const WQ_SYSFS = 1 << 6;
export const WQ_POWER_EFFICIENT = 1 << 7;
/**
 * From the drm_dep RFC (patch 01, "workqueue: Add interface to teach lockdep to warn on reclaim
 * violations"). The bit value is not public; any free bit serves.
 */
export const WQ_MEM_WARN_ON_RECLAIM = 1 << 9;
export const __WQ_ORDERED = 1 << 17;

export const WQ_MAX_ACTIVE = 2048;
export const WQ_UNBOUND_MAX_ACTIVE = WQ_MAX_ACTIVE;
export const WQ_DFL_ACTIVE = WQ_MAX_ACTIVE / 2;

export type work_func_t = (work: work_struct) => void | Sleepable<void>;

export class work_struct {
  readonly kernel: Kernel;
  readonly func: work_func_t;
  readonly name: string;
  /** The object this work is embedded in (container_of). */
  readonly owner: unknown;
  readonly lockdep_map: lockdep_map;
  /** Lockdep site of the work map while the item runs (built once, not per execution). */
  readonly process_site: string;
  /** Set for the work of a delayed_work. */
  dwork: delayed_work | null = null;
  pending = false;
  canceling = 0;
  /** disable_work() depth: queueing is ignored while it is above 0. */
  disable_depth = 0;
  wq: workqueue_struct | null = null;
  running_on: Worker | null = null;
  /** Successful queueings so far; an execution covers every queueing before its start. */
  queued_seq = 0;
  covers = 0;
  done_seq = 0;
  /** wq.enqueue_seq at the time this item was put on its queue (for flush_workqueue). */
  wq_stamp = 0;
  /** work->entry: the neighbours on its workqueue's worklist while queued. */
  entry_prev: work_struct | null = null;
  entry_next: work_struct | null = null;
  readonly flushers = new wait_queue_head();

  constructor(kernel: Kernel, func: work_func_t, name: string, owner: unknown) {
    this.kernel = kernel;
    this.func = func;
    this.name = name;
    this.owner = owner;
    const names = work_names(name);
    this.lockdep_map = new lockdep_map(kernel, names[0]);
    this.process_site = names[1];
  }
}

/** The lockdep class and process site names of a work item's name, made once per name (INIT_WORK runs per job). */
const WORK_NAMES = new Map<string, readonly [string, string]>();

function work_names(name: string): readonly [string, string] {
  let names = WORK_NAMES.get(name);
  if (names === undefined) {
    names = [`(work_completion)(${name})`, `process_one_work(${name})`];
    if (WORK_NAMES.size < 10_000) WORK_NAMES.set(name, names);
  }
  return names;
}

/** INIT_WORK: `name` is the lockdep class and trace name of the item, `owner` its container. */
export function INIT_WORK(k: Kernel, func: work_func_t, name: string, owner: unknown = null): work_struct {
  return new work_struct(k, func, name, owner);
}

export class delayed_work {
  readonly work: work_struct;
  timer: EventHandle = -1;
  /**
   * timer.expires: when the timer was last armed to fire (ns); Infinity once parked at
   * MAX_SCHEDULE_TIMEOUT. Kept after the timer fires, as the kernel's timer_list keeps it.
   */
  expires_ns = -1;
  readonly timer_cb: Callback;
  /** When the timer wheel's rounding decides the timer's fire time (timer_list_fire_ns). */
  readonly choice = new TimedChoice();

  constructor(work: work_struct) {
    this.work = work;
    this.timer_cb = { fn: delayed_work_timer_fn, target: this };
  }
}

export function INIT_DELAYED_WORK(k: Kernel, func: work_func_t, name: string, owner: unknown = null): delayed_work {
  const dwork = new delayed_work(new work_struct(k, func, name, owner));
  dwork.work.dwork = dwork;
  return dwork;
}

export function to_delayed_work(work: work_struct): delayed_work {
  if (work.dwork === null) throw new Error(`${work.name} is not a delayed work`);
  return work.dwork;
}

const WORKER_IDLE = 0;
const WORKER_SCHEDULED = 1;
const WORKER_RUNNING = 2;
const WORKER_BLOCKED = 3;

export class Worker implements Sleeper {
  readonly wq: workqueue_struct;
  readonly ctx: ExecContext;
  state = WORKER_IDLE;
  current: work_struct | null = null;
  /** wq_stamp of the queueing being executed: the item may re-queue itself meanwhile (flush_workqueue). */
  current_stamp = 0;
  gen: Sleepable<void> | null = null;
  resume_scheduled = false;
  sigkill_pending = false;
  exiting = false;

  constructor(wq: workqueue_struct, index: number) {
    this.wq = wq;
    this.ctx = new ExecContext('kworker', `kworker/${wq.name}/${index}`);
  }

  wake(): void {
    if (this.state !== WORKER_BLOCKED || this.resume_scheduled) return;
    this.resume_scheduled = true;
    const k = this.wq.kernel;
    k.stats.kworker_wakeups++;
    k.spend(k.cost.try_to_wake_up_ns.draw());
    k.schedule_at(k.now() + k.cost.kworker_wakeup_ns.draw(), PHASE_KWORKER, wq_event_kind(k), this, 0);
  }
}

export class workqueue_struct {
  readonly kernel: Kernel;
  readonly name: string;
  readonly flags: number;
  readonly max_active: number;
  readonly ordered: boolean;
  readonly lockdep_map: lockdep_map;
  /** Lockdep sites of process_one_work (built once, not per item). */
  readonly process_site: string;
  /**
   * The worklist, oldest first (so in wq_stamp order), linked through work->entry as in the
   * kernel: taking an item from anywhere is O(1), as a workqueue shared by thousands of
   * schedulers needs.
   */
  worklist_first: work_struct | null = null;
  worklist_last: work_struct | null = null;
  /** Items on the worklist. */
  nr_queued = 0;
  readonly workers: Worker[] = [];
  readonly idle: Worker[] = [];
  /** Workers scheduled, running or blocked in an item. */
  active = 0;
  /** Workers woken but not yet running. */
  scheduled = 0;
  enqueue_seq = 0;
  /**
   * Queued items still running (re-queued while they run): not eligible. Usually 0, and then
   * the eligible items are the whole queue, found without a scan.
   */
  busy_queued = 0;
  destroying = false;
  readonly flushers = new wait_queue_head();
  /** Items executed, for reports. */
  executed = 0;

  constructor(kernel: Kernel, name: string, flags: number, max_active: number, user_lockdep_map: lockdep_map | null = null) {
    this.kernel = kernel;
    this.name = name;
    this.flags = flags;
    this.ordered = (flags & __WQ_ORDERED) !== 0;
    const limit = (flags & WQ_UNBOUND) !== 0 ? WQ_UNBOUND_MAX_ACTIVE : WQ_MAX_ACTIVE;
    this.max_active = this.ordered ? 1 : max_active === 0 ? WQ_DFL_ACTIVE : Math.min(Math.max(1, max_active), limit);
    // wq_init_lockdep(): a dynamic key per workqueue, one lock class each; or the caller's map.
    this.lockdep_map = user_lockdep_map ?? new lockdep_map(kernel, `(wq_completion)${name}`);
    this.process_site = `process_one_work(${name})`;
    if ((flags & WQ_MEM_WARN_ON_RECLAIM) !== 0) taint_reclaim(kernel, this);
  }
}

/**
 * RFC patch 01 ("workqueue: Add interface to teach lockdep to warn on reclaim violations"):
 * record fs_reclaim -> (wq_completion)name once, at creation, as if reclaim flushed the
 * workqueue. process_one_work adds (wq_completion) -> (work_completion) for every item, so a
 * GFP_KERNEL allocation inside one closes the cycle the patch's example splat shows: holding
 * (work_completion), acquiring fs_reclaim, "which lock already depends on the new lock".
 * fs_reclaim is not held while items run. Done on a context of its own, so that the locks
 * the allocating caller holds are not part of the priming.
 */
function taint_reclaim(k: Kernel, wq: workqueue_struct): void {
  const ctx = new ExecContext('process', 'lockdep priming');
  const site = `alloc_workqueue(${wq.name}, WQ_MEM_WARN_ON_RECLAIM)`;
  k.lockdep.acquire(ctx, k.fs_reclaim.cls, k.fs_reclaim, false, site);
  k.lockdep.acquire(ctx, wq.lockdep_map.cls, wq.lockdep_map, false, site);
  k.lockdep.release(ctx, wq.lockdep_map, wq.lockdep_map.cls.name);
  k.lockdep.release(ctx, k.fs_reclaim, k.fs_reclaim.cls.name);
}

/** alloc_workqueue(name, flags, max_active); max_active 0 means the default. */
export function alloc_workqueue(k: Kernel, name: string, flags: number, max_active: number): workqueue_struct {
  return new workqueue_struct(k, name, flags, max_active);
}

/** alloc_ordered_workqueue(name, flags): one item at a time, in queueing order. */
export function alloc_ordered_workqueue(k: Kernel, name: string, flags: number): workqueue_struct {
  return new workqueue_struct(k, name, flags | WQ_UNBOUND | __WQ_ORDERED, 1);
}

/**
 * alloc_ordered_workqueue_lockdep_map(name, flags, map) (include/linux/workqueue.h,
 * CONFIG_LOCKDEP): an ordered workqueue whose completion map is `map`, owned by the caller
 * (__WQ_USER_OWNED_LOCKDEP), so every workqueue made with the same map is one lock class.
 */
export function alloc_ordered_workqueue_lockdep_map(k: Kernel, name: string, flags: number, map: lockdep_map): workqueue_struct {
  return new workqueue_struct(k, name, flags | WQ_UNBOUND | __WQ_ORDERED, 1, map);
}

/** RFC patch 01 helper: whether `wq` was created with WQ_MEM_WARN_ON_RECLAIM. */
export function workqueue_is_reclaim_annotated(wq: workqueue_struct): boolean {
  return (wq.flags & WQ_MEM_WARN_ON_RECLAIM) !== 0;
}

const event_kinds = new WeakMap<Kernel, number>();

function wq_event_kind(k: Kernel): number {
  let kind = event_kinds.get(k);
  if (kind === undefined) {
    kind = k.register_event_kind('kworker', (w) => worker_run(w as Worker));
    event_kinds.set(k, kind);
  }
  return kind;
}

/**
 * queue_work: queue `work` on `wq` unless it is already pending. Returns true if queued.
 * Callable from any context.
 */
export function queue_work(wq: workqueue_struct, work: work_struct): boolean {
  if (work.pending || work.canceling > 0 || work.disable_depth > 0) return false;
  if (wq.destroying) {
    wq.kernel.violation('warn', 'queue_work', `queue_work(${work.name}) on workqueue ${wq.name} being destroyed`);
    return false;
  }
  work.pending = true;
  enqueue(wq, work);
  if (wq.kernel.preemption) wq.kernel.preempt_point();
  return true;
}

/** schedule_work: queue_work on the system workqueue. */
export function schedule_work(k: Kernel, work: work_struct): boolean {
  return queue_work(k.system_wq('system_percpu_wq'), work);
}

/** list_add_tail(&work->entry, &pool->worklist). */
function worklist_add_tail(wq: workqueue_struct, work: work_struct): void {
  work.entry_prev = wq.worklist_last;
  work.entry_next = null;
  if (wq.worklist_last === null) wq.worklist_first = work;
  else wq.worklist_last.entry_next = work;
  wq.worklist_last = work;
  wq.nr_queued++;
}

/** list_del_init(&work->entry). */
function worklist_del(wq: workqueue_struct, work: work_struct): void {
  if (work.entry_prev === null) wq.worklist_first = work.entry_next;
  else work.entry_prev.entry_next = work.entry_next;
  if (work.entry_next === null) wq.worklist_last = work.entry_prev;
  else work.entry_next.entry_prev = work.entry_prev;
  work.entry_prev = work.entry_next = null;
  wq.nr_queued--;
}

/** __queue_work: the caller pays queue_work_ns. */
function enqueue(wq: workqueue_struct, work: work_struct): void {
  const k = wq.kernel;
  k.spend(k.cost.queue_work_ns.draw());
  work.wq = wq;
  work.queued_seq++;
  work.wq_stamp = ++wq.enqueue_seq;
  worklist_add_tail(wq, work);
  if (work.running_on !== null) wq.busy_queued++;
  if (k.trace.full) k.tp('workqueue_queue_work', { workqueue: wq.name, work: work.name, function: work.func.name });
  dispatch(wq);
}

/**
 * The first item a worker may start now, or null. Items still running (re-queued while they
 * run) are skipped: at most busy_queued of them.
 */
function next_eligible(wq: workqueue_struct): work_struct | null {
  const first = wq.worklist_first;
  if (wq.ordered) {
    // One at a time, in order; the head may be the item still running (re-queued).
    return first !== null && first.running_on === null && wq.active - wq.scheduled === 0 ? first : null;
  }
  let w = first;
  while (w !== null && w.running_on !== null) w = w.entry_next;
  return w;
}

/** Wake idle workers for eligible items, up to max_active. */
function dispatch(wq: workqueue_struct): void {
  if (wq.ordered) {
    if (wq.active === 0 && next_eligible(wq) !== null) wake_worker(wq);
    return;
  }
  // Eligible items (queued, not running: busy_queued counts the others), up to what the idle
  // capacity plus the woken workers can take.
  const want = wq.max_active - wq.active + wq.scheduled;
  const eligible = want > 0 ? Math.min(want, wq.nr_queued - wq.busy_queued) : 0;
  while (wq.scheduled < eligible && wq.active < wq.max_active) wake_worker(wq);
}

function wake_worker(wq: workqueue_struct): void {
  const k = wq.kernel;
  const worker = wq.idle.pop() ?? new_worker(wq);
  worker.state = WORKER_SCHEDULED;
  wq.active++;
  wq.scheduled++;
  k.stats.kworker_wakeups++;
  k.spend(k.cost.try_to_wake_up_ns.draw());
  k.schedule_at(k.now() + k.cost.kworker_wakeup_ns.draw(), PHASE_KWORKER, wq_event_kind(k), worker, 0);
}

function new_worker(wq: workqueue_struct): Worker {
  const w = new Worker(wq, wq.workers.length);
  wq.workers.push(w);
  return w;
}

function worker_run(worker: Worker): void {
  const wq = worker.wq;
  const k = wq.kernel;
  if (!k.claim_cpu(PHASE_KWORKER, wq_event_kind(k), worker)) return;
  if (worker.state === WORKER_BLOCKED) {
    worker.resume_scheduled = false;
    k.enter(worker.ctx);
    step_item(worker);
    k.leave(worker.ctx);
    return;
  }
  // WORKER_SCHEDULED: take the first eligible item, if any is left.
  wq.scheduled--;
  const first = wq.worklist_first;
  const work = wq.ordered ? (first !== null && first.running_on === null ? first : null) : next_eligible(wq);
  if (work === null) {
    worker_idle(worker);
    return;
  }
  worklist_del(wq, work);
  work.pending = false;
  work.running_on = worker;
  work.covers = work.queued_seq;
  worker.current = work;
  worker.current_stamp = work.wq_stamp;
  worker.state = WORKER_RUNNING;
  k.stats.work_items++;
  wq.executed++;
  k.enter(worker.ctx);
  k.spend(k.cost.work_dispatch_ns.draw());
  // process_one_work(): the workqueue and work lockdep maps are held while the item runs.
  lock_map_acquire(wq.lockdep_map, wq.process_site);
  lock_map_acquire(work.lockdep_map, work.process_site);
  if (k.trace.full) k.tp('workqueue_execute_start', { workqueue: wq.name, work: work.name, function: work.func.name });
  const prev = k.current_sleeper;
  k.current_sleeper = worker;
  const r = work.func(work);
  k.current_sleeper = prev;
  if (r !== undefined) {
    worker.gen = r;
    step_item(worker);
  } else {
    finish_item(worker);
  }
  k.leave(worker.ctx);
}

/** Advance the running item's generator; finish the item when it returns. */
function step_item(worker: Worker): void {
  const k = worker.wq.kernel;
  const prev = k.current_sleeper;
  k.current_sleeper = worker;
  worker.state = WORKER_RUNNING;
  const r = worker.gen!.next();
  k.current_sleeper = prev;
  if (r.done === true) {
    worker.gen = null;
    finish_item(worker);
  } else {
    worker.state = WORKER_BLOCKED;
    if (worker.ctx.atomic > 0) {
      k.violation('sleep_in_atomic', worker.current!.name, `${worker.ctx.name} slept in ${worker.current!.name} with a spinlock held`);
    }
  }
}

function finish_item(worker: Worker): void {
  const wq = worker.wq;
  const k = wq.kernel;
  const work = worker.current!;
  if (k.trace.full) k.tp('workqueue_execute_end', { workqueue: wq.name, work: work.name, function: work.func.name });
  lock_map_release(work.lockdep_map);
  lock_map_release(wq.lockdep_map);
  k.check_exit_clean(worker.ctx, work.name);
  work.running_on = null;
  if (on_queue(work)) work.wq!.busy_queued--;
  work.done_seq = work.covers;
  worker.current = null;
  k.wake_up(work.flushers);
  k.wake_up(wq.flushers);
  // Keep going on this worker if there is more to do (no wake-up: the kworker is running).
  if (wq.ordered ? wq.nr_queued > 0 : has_unclaimed(wq)) {
    worker.state = WORKER_SCHEDULED;
    wq.scheduled++;
    k.schedule_at(k.now(), PHASE_KWORKER, wq_event_kind(k), worker, 0);
    return;
  }
  worker_idle(worker);
}

/** On its workqueue's queue: pending, and not waiting on its delayed-work timer. */
function on_queue(work: work_struct): boolean {
  return work.pending && (work.dwork === null || work.dwork.timer < 0);
}

/** Whether an eligible item is left once the workers already woken have taken theirs. */
function has_unclaimed(wq: workqueue_struct): boolean {
  return wq.nr_queued - wq.busy_queued > wq.scheduled;
}

function worker_idle(worker: Worker): void {
  const wq = worker.wq;
  worker.state = WORKER_IDLE;
  wq.active--;
  wq.idle.push(worker);
  dispatch(wq);
}

/**
 * try_to_grab_pending: take `work` off its queue (or its delayed-work timer) if pending.
 * Returns whether it was. The caller pays cancel_work_ns, and timer_del_ns for a timer.
 */
function grab_pending(work: work_struct): boolean {
  const k = work.kernel;
  k.spend(k.cost.cancel_work_ns.draw());
  if (!work.pending) return false;
  const dwork = work.dwork;
  if (dwork !== null && dwork.timer >= 0) {
    k.spend(k.cost.timer_del_ns.draw());
    k.cancel_event(dwork.timer);
    dwork.timer = -1;
    k.close_choice(dwork.choice);
  } else if (work.wq !== null && (work.entry_prev !== null || work.wq.worklist_first === work)) {
    worklist_del(work.wq, work);
    if (work.running_on !== null) work.wq.busy_queued--;
  }
  work.pending = false;
  // A flush_work waiting for this queueing has nothing left to wait for.
  k.wake_up(work.flushers);
  if (work.wq !== null) k.wake_up(work.wq.flushers);
  return true;
}

/** cancel_work: dequeue if pending, do not wait. Returns whether it was pending. */
export function cancel_work(work: work_struct): boolean {
  return grab_pending(work);
}

/** WQ_MEM_RECLAIM workers must not wait on work that cannot make progress under reclaim. */
function check_flush_dependency(k: Kernel, target: workqueue_struct | null, what: string): void {
  const worker = k.current_sleeper;
  if (!(worker instanceof Worker) || target === null) return;
  if ((worker.wq.flags & WQ_MEM_RECLAIM) !== 0 && (target.flags & WQ_MEM_RECLAIM) === 0) {
    k.violation_once(`flushdep:${worker.wq.name}:${target.name}`, 'warn', what,
      `workqueue: WQ_MEM_RECLAIM ${worker.wq.name} is flushing !WQ_MEM_RECLAIM ${target.name}`);
  }
}

/**
 * The checks of a flush or cancel (might_sleep, the work's lockdep map, the flush dependency,
 * the item flushing itself); whether the execution covering queueing #target_seq is still to
 * wait for (then wait_idle). Apart from the wait, so that a flush with nothing to wait for
 * makes no generator.
 */
function idle_wait_needed(work: work_struct, target_seq: number, site: string): boolean {
  const k = work.kernel;
  k.might_sleep(site);
  lock_map_acquire(work.lockdep_map, site);
  lock_map_release(work.lockdep_map);
  check_flush_dependency(k, work.wq, site);
  if (work.running_on !== null && work.running_on === k.current_sleeper) {
    k.violation('hang', site, `${site}(${work.name}) called from the work item itself: deadlock`);
    return false;
  }
  // Wait for the execution covering queueing #target_seq; re-queueings after the call are not
  // waited for (else a self-re-arming item never lets a flush return), nor is a cancelled one.
  return work_busy_before(work, target_seq);
}

function* wait_idle(work: work_struct, target_seq: number): Sleepable<boolean> {
  yield* work.kernel.wait_until(work.flushers, () => !work_busy_before(work, target_seq));
  return true;
}

/** Whether the execution covering queueing #target_seq is still to come or running. */
function work_busy_before(work: work_struct, target_seq: number): boolean {
  return work.done_seq < target_seq && (work.pending || work.running_on !== null);
}

/** flush_work: wait until the last queueing of `work` has finished executing. */
export function* flush_work(work: work_struct): Sleepable<boolean> {
  if (!work.pending && work.running_on === null) {
    work.kernel.might_sleep('flush_work');
    return false;
  }
  const target = work.queued_seq;
  if (!idle_wait_needed(work, target, 'flush_work')) return false;
  return yield* wait_idle(work, target);
}

/** cancel_work_sync: dequeue `work`, wait for a running instance, block re-queueing meanwhile. */
export function* cancel_work_sync(work: work_struct): Sleepable<boolean> {
  const was_pending = grab_pending(work);
  work.canceling++;
  const target = work.queued_seq;
  if (idle_wait_needed(work, target, 'cancel_work_sync')) yield* wait_idle(work, target);
  work.canceling--;
  return was_pending;
}

/** disable_work: cancel `work` if pending and ignore queueing until enable_work. Nests. */
export function disable_work(work: work_struct): boolean {
  work.disable_depth++;
  return grab_pending(work);
}

/** disable_work_sync: disable_work, then wait for a running instance to finish. */
export function* disable_work_sync(work: work_struct): Sleepable<boolean> {
  const was_pending = disable_work(work);
  const target = work.queued_seq;
  if (idle_wait_needed(work, target, 'disable_work_sync')) yield* wait_idle(work, target);
  return was_pending;
}

/** enable_work: undo one disable_work; true once queueing is allowed again. */
export function enable_work(work: work_struct): boolean {
  if (work.disable_depth === 0) {
    work.kernel.violation('warn', 'enable_work', `enable_work(${work.name}) without disable_work`);
    return true;
  }
  return --work.disable_depth === 0;
}

/** flush_workqueue: wait for every item queued on `wq` before the call. */
export function* flush_workqueue(wq: workqueue_struct): Sleepable {
  const k = wq.kernel;
  k.might_sleep('flush_workqueue');
  lock_map_acquire(wq.lockdep_map, 'flush_workqueue');
  lock_map_release(wq.lockdep_map);
  check_flush_dependency(k, wq, 'flush_workqueue');
  const target = wq.enqueue_seq;
  const self = k.current_sleeper;
  if (self instanceof Worker && self.wq === wq) {
    k.violation('hang', 'flush_workqueue', `flush_workqueue(${wq.name}) from one of its own items: deadlock`);
    return;
  }
  yield* k.wait_until(wq.flushers, () => !wq_busy_before(wq, target));
}

/** Whether an item queued at or before stamp `target` is still queued or running. */
function wq_busy_before(wq: workqueue_struct, target: number): boolean {
  // The worklist is in stamp order: its head is the oldest queued item.
  if (wq.worklist_first !== null && wq.worklist_first.wq_stamp <= target) return true;
  for (const worker of wq.workers) if (worker.current !== null && worker.current_stamp <= target) return true;
  return false;
}

/** drain_workqueue: flush until nothing is queued (items may re-queue themselves meanwhile). */
export function* drain_workqueue(wq: workqueue_struct): Sleepable {
  for (let round = 0; ; round++) {
    yield* flush_workqueue(wq);
    // A woken worker that has not yet found the queue empty is idle for this purpose.
    if (wq.nr_queued === 0 && wq.workers.every((w) => w.current === null)) return;
    if (round === 1000) {
      wq.kernel.violation('hang', 'drain_workqueue', `${wq.name} still busy after 1000 flushes`);
      return;
    }
  }
}

/** destroy_workqueue: drain, then refuse further queueing. */
export function* destroy_workqueue(wq: workqueue_struct): Sleepable {
  yield* drain_workqueue(wq);
  wq.destroying = true;
}

/* Delayed work ------------------------------------------------------------------------------ */

function delayed_work_timer_fn(dwork: delayed_work): void {
  dwork.timer = -1;
  dwork.work.kernel.close_choice(dwork.choice);
  const wq = dwork.work.wq!;
  enqueue(wq, dwork.work);
}

function arm_delayed(wq: workqueue_struct, dwork: delayed_work, delay_jiffies: number): void {
  const k = wq.kernel;
  const work = dwork.work;
  work.pending = true;
  work.wq = wq;
  if (delay_jiffies <= 0) {
    dwork.expires_ns = k.now();
    enqueue(wq, work);
    return;
  }
  if (delay_jiffies >= MAX_SCHEDULE_TIMEOUT) {
    dwork.expires_ns = Infinity; // never fires; stays pending
    return;
  }
  // add_timer: timer.expires is jiffies + delay; the wheel decides when it runs.
  k.spend(k.cost.timer_mod_ns.draw());
  const expires = k.jiffies_now + delay_jiffies;
  dwork.expires_ns = k.jiffies.jiffies_to_nsecs(expires);
  dwork.timer = k.call_softirq_at(timer_list_fire_ns(k, expires, dwork.choice), dwork.timer_cb, 0);
}

/** queue_delayed_work: queue after `delay_jiffies` unless already pending. */
export function queue_delayed_work(wq: workqueue_struct, dwork: delayed_work, delay_jiffies: number): boolean {
  const work = dwork.work;
  if (work.pending || work.canceling > 0 || work.disable_depth > 0) return false;
  arm_delayed(wq, dwork, delay_jiffies);
  return true;
}

/**
 * mod_delayed_work: (re)arm to `delay_jiffies` from now; returns whether it was pending. A
 * disabled item is only cancelled (clear_pending_if_disabled).
 */
export function mod_delayed_work(wq: workqueue_struct, dwork: delayed_work, delay_jiffies: number): boolean {
  const work = dwork.work;
  if (work.canceling > 0) return false;
  const was_pending = grab_pending(work);
  if (work.disable_depth === 0) arm_delayed(wq, dwork, delay_jiffies);
  return was_pending;
}

export function cancel_delayed_work(dwork: delayed_work): boolean {
  return grab_pending(dwork.work);
}

export function* cancel_delayed_work_sync(dwork: delayed_work): Sleepable<boolean> {
  return yield* cancel_work_sync(dwork.work);
}

export function disable_delayed_work(dwork: delayed_work): boolean {
  return disable_work(dwork.work);
}

export function* disable_delayed_work_sync(dwork: delayed_work): Sleepable<boolean> {
  return yield* disable_work_sync(dwork.work);
}

export function enable_delayed_work(dwork: delayed_work): boolean {
  return enable_work(dwork.work);
}

/** flush_delayed_work: fire a pending timer now, then flush the work. */
export function* flush_delayed_work(dwork: delayed_work): Sleepable<boolean> {
  const k = dwork.work.kernel;
  if (dwork.timer >= 0) {
    k.spend(k.cost.timer_del_ns.draw());
    k.cancel_event(dwork.timer);
    dwork.timer = -1;
    k.close_choice(dwork.choice);
    enqueue(dwork.work.wq!, dwork.work);
  }
  return yield* flush_work(dwork.work);
}

export function delayed_work_pending(dwork: delayed_work): boolean {
  return dwork.work.pending;
}

export function work_pending(work: work_struct): boolean {
  return work.pending;
}

/** work_busy-like query: pending or running. */
export function work_busy(work: work_struct): boolean {
  return work.pending || work.running_on !== null;
}

/**
 * The delayed work's timer.expires (ns): the last armed expiry, in the past once the timer
 * fired, Infinity while parked at MAX_SCHEDULE_TIMEOUT, -1 if never armed.
 */
export function delayed_work_timer_expires_ns(dwork: delayed_work): number {
  return dwork.expires_ns;
}

/** Absolute time the delayed work's timer fires, or -1 when no timer is armed. */
export function delayed_work_expiry_ns(dwork: delayed_work): number {
  if (dwork.timer < 0) return -1;
  const k = dwork.work.kernel;
  // The fire time tells the timer.wheel value: a read.
  if (dwork.choice.at_ns !== Infinity) k.assume(TIMER_WHEEL);
  return k.eq.peek_handle_time(dwork.timer);
}

Kernel.create_system_wq = (k, name) => {
  switch (name) {
    case 'system_wq':
    case 'system_percpu_wq':
      return k.system_wq_alias(name, 'system_percpu_wq', () => alloc_workqueue(k, 'events', 0, 0));
    case 'system_highpri_wq':
      return alloc_workqueue(k, 'events_highpri', WQ_HIGHPRI, 0);
    case 'system_long_wq':
      return alloc_workqueue(k, 'events_long', 0, 0);
    case 'system_unbound_wq':
    case 'system_dfl_wq':
      return k.system_wq_alias(name, 'system_unbound_wq', () => alloc_workqueue(k, 'events_unbound', WQ_UNBOUND, WQ_UNBOUND_MAX_ACTIVE));
    default:
      throw new Error(`unknown system workqueue ${name}`);
  }
};
