/**
 * Sleeping: wait queues, completions and the sleep primitives (include/linux/wait.h,
 * completion.h, delay.h). Code that sleeps is a generator ("resumable process"): a primitive
 * registers how it will be woken and yields; the kernel resumes it in simulated time. Use them
 * with `yield*` from a spawned process task or a work function that returns a generator.
 */
import type { ExecContext } from './context.ts';
import { TimedChoice, type Kernel } from './kernel.ts';
import { ERESTARTSYS } from './errno.ts';
import { MAX_SCHEDULE_TIMEOUT } from './time.ts';
import { timer_list_fire_ns } from './timer_wheel.ts';

/** Anything that can block in a generator: a process task or a kworker running a sleepy item. */
export interface Sleeper {
  readonly ctx: ExecContext;
  /** Make it runnable (idempotent while a resume is already scheduled). */
  wake(): void;
  /** A fatal signal is pending (SIGKILL): killable waits return early. */
  sigkill_pending: boolean;
  /** PF_EXITING: the task is exiting (file close from do_exit). */
  exiting: boolean;
}

export type Sleepable<T = void> = Generator<void, T, void>;

export class wait_queue_head {
  readonly sleepers: Sleeper[] = [];
}

export function init_waitqueue_head(): wait_queue_head {
  return new wait_queue_head();
}

export const WAIT_OK = 0;
export const WAIT_TIMEOUT = 1;
export const WAIT_SIGNAL = 2;
export type WaitResult = typeof WAIT_OK | typeof WAIT_TIMEOUT | typeof WAIT_SIGNAL;

/** Remaining jiffies in the kernel's convention: >= 1 when the condition held, else 0. */
function remaining_jiffies(k: Kernel, deadline_ns: number): number {
  if (deadline_ns === Infinity) return MAX_SCHEDULE_TIMEOUT;
  const left = k.jiffies.at(deadline_ns) - k.jiffies.at(k.now());
  return Math.max(1, left);
}

/** The nominal expiry of a timeout (what the remaining jiffies count down to), in ns. */
function deadline_of(k: Kernel, timeout_jiffies: number): number {
  return timeout_jiffies >= MAX_SCHEDULE_TIMEOUT ? Infinity : k.jiffies.expiry_ns(k.now(), Math.max(0, timeout_jiffies));
}

/**
 * k.wait_until, woken at the latest when schedule_timeout's timer for the nominal expiry
 * `deadline_ns` runs (the timer wheel's bucket). A timeout already expired ends the wait at
 * once, as ___wait_event does with no time left.
 */
export function* wait_until_timeout(k: Kernel, wq: wait_queue_head | null, cond: () => boolean, deadline_ns: number, killable = false): Sleepable<WaitResult> {
  if (deadline_ns === Infinity || deadline_ns <= k.now()) return yield* k.wait_until(wq, cond, deadline_ns, killable);
  return yield* wait_for_timer(k, wq, cond, k.jiffies.at(deadline_ns), 0, killable);
}

/**
 * k.wait_until, woken at the latest when a timer_list armed now with `expires` runs
 * (`exact_extra` jiffies later under exact-jiffy). The timer.wheel choice the timer opens
 * (timer_list_fire_ns) is closed when the wait ends.
 */
function* wait_for_timer(k: Kernel, wq: wait_queue_head | null, cond: () => boolean, expires: number, exact_extra: number, killable: boolean): Sleepable<WaitResult> {
  const choice = new TimedChoice();
  const r = yield* k.wait_until(wq, cond, timer_list_fire_ns(k, expires, choice, expires + exact_extra), killable);
  k.close_choice(choice);
  return r;
}

/** wait_event: sleep until `cond()` holds. */
export function* wait_event(k: Kernel, wq: wait_queue_head, cond: () => boolean): Sleepable {
  yield* k.wait_until(wq, cond);
}

/**
 * wait_event_timeout: returns 0 if `cond()` is still false when the timeout elapsed, else the
 * remaining jiffies (at least 1).
 */
export function* wait_event_timeout(k: Kernel, wq: wait_queue_head, cond: () => boolean, timeout_jiffies: number): Sleepable<number> {
  const deadline = deadline_of(k, timeout_jiffies);
  const r = yield* wait_until_timeout(k, wq, cond, deadline);
  return r === WAIT_OK ? remaining_jiffies(k, deadline) : 0;
}

/** wait_event_killable: 0 when `cond()` holds, -ERESTARTSYS if a fatal signal arrives first. */
export function* wait_event_killable(k: Kernel, wq: wait_queue_head, cond: () => boolean): Sleepable<number> {
  const r = yield* k.wait_until(wq, cond, Infinity, true);
  return r === WAIT_SIGNAL ? -ERESTARTSYS : 0;
}

/** wake_up / wake_up_all: every sleeper re-checks its condition (no exclusive waits here). */
export function wake_up(k: Kernel, wq: wait_queue_head): void {
  k.wake_up(wq);
}

export function wake_up_all(k: Kernel, wq: wait_queue_head): void {
  k.wake_up(wq);
}

/** struct completion. */
export class completion {
  readonly kernel: Kernel;
  /** Completions not yet consumed; Infinity after complete_all. */
  done = 0;
  readonly wait = new wait_queue_head();

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }
}

export function init_completion(k: Kernel): completion {
  return new completion(k);
}

export function reinit_completion(c: completion): void {
  c.done = 0;
}

export function complete(c: completion): void {
  if (c.done !== Infinity) c.done++;
  c.kernel.wake_up(c.wait);
}

export function complete_all(c: completion): void {
  c.done = Infinity;
  c.kernel.wake_up(c.wait);
}

export function completion_done(c: completion): boolean {
  return c.done > 0;
}

export function try_wait_for_completion(c: completion): boolean {
  if (c.done === 0) return false;
  if (c.done !== Infinity) c.done--;
  return true;
}

export function* wait_for_completion(c: completion): Sleepable {
  yield* c.kernel.wait_until(c.wait, () => c.done > 0);
  if (c.done !== Infinity) c.done--;
}

/** wait_for_completion_timeout: 0 on timeout, else remaining jiffies (at least 1). */
export function* wait_for_completion_timeout(c: completion, timeout_jiffies: number): Sleepable<number> {
  const k = c.kernel;
  const deadline = deadline_of(k, timeout_jiffies);
  const r = yield* wait_until_timeout(k, c.wait, () => c.done > 0, deadline);
  if (r !== WAIT_OK) return 0;
  if (c.done !== Infinity) c.done--;
  return remaining_jiffies(k, deadline);
}

/** schedule_timeout_uninterruptible: sleep `timeout_jiffies` ticks. */
export function* schedule_timeout(k: Kernel, timeout_jiffies: number): Sleepable {
  yield* wait_until_timeout(k, null, () => false, deadline_of(k, timeout_jiffies));
}

/**
 * msleep: schedule_timeout(msecs_to_jiffies(ms)), woken when the timer wheel runs the timer.
 * Since 4381b895f544 (v6.12) msleep adds no extra jiffy: the wheel already rounds up. With
 * the timer.wheel assumption at exact-jiffy the older msleep (one extra jiffy) is modelled.
 */
export function* msleep(k: Kernel, ms: number): Sleepable {
  yield* wait_for_timer(k, null, () => false, k.jiffies_now + k.jiffies.msecs_to_jiffies(ms), 1, false);
}

/**
 * usleep_range: an hrtimer sleep. The kernel may wake anywhere in [min, max] to coalesce
 * timers; the model wakes at exactly `min_us` (documented in docs/assumptions.md).
 */
export function* usleep_range(k: Kernel, min_us: number, max_us: number): Sleepable {
  if (max_us < min_us) k.violation('warn', 'usleep_range', `usleep_range(${min_us}, ${max_us}): max < min`);
  yield* k.wait_until(null, () => false, k.now() + min_us * 1000);
}

/** fsleep: the kernel picks udelay/usleep_range/msleep by length; here an hrtimer-precise sleep. */
export function* fsleep(k: Kernel, us: number): Sleepable {
  yield* k.wait_until(null, () => false, k.now() + us * 1000);
}
