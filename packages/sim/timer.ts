/**
 * hrtimers (kernel/time/hrtimer.c) and timer_list timers (kernel/time/timer.c).
 * hrtimer callbacks run in hardirq context at exact ns (no slack: hrtimer_start arms with a
 * zero range); timer_list callbacks in softirq context when the timer wheel runs them
 * (timer_wheel.ts). A timer is one long-lived object: arming schedules one event, re-arming
 * cancels the previous one. Arming, modifying and cancelling cost the caller (cost table).
 */
import { TimedChoice, type Callback, type Kernel } from './kernel.ts';
import type { EventHandle } from './event-queue.ts';
import { timer_list_fire_ns } from './timer_wheel.ts';

export const HRTIMER_NORESTART = 0;
export const HRTIMER_RESTART = 1;
export const HRTIMER_MODE_ABS = 0;
export const HRTIMER_MODE_REL = 1;

export type hrtimer_fn = (timer: hrtimer) => number;

export class hrtimer {
  readonly kernel: Kernel;
  readonly function: hrtimer_fn;
  readonly name: string;
  /** The object the timer is embedded in (container_of). */
  readonly owner: unknown;
  expires_ns = 0;
  handle: EventHandle = -1;
  readonly cb: Callback;

  constructor(kernel: Kernel, fn: hrtimer_fn, name: string, owner: unknown) {
    this.kernel = kernel;
    this.function = fn;
    this.name = name;
    this.owner = owner;
    this.cb = { fn: hrtimer_run, target: this };
  }
}

/** hrtimer_setup (CLOCK_MONOTONIC). */
export function hrtimer_setup(k: Kernel, fn: hrtimer_fn, name: string, owner: unknown = null): hrtimer {
  return new hrtimer(k, fn, name, owner);
}

function hrtimer_run(timer: hrtimer): void {
  timer.handle = -1;
  const k = timer.kernel;
  if (k.trace.full) k.tp('hrtimer_expire_entry', { timer: timer.name, function: timer.function.name });
  if (timer.function(timer) === HRTIMER_RESTART) {
    timer.handle = k.call_hardirq_at(Math.max(timer.expires_ns, k.now()), timer.cb, 0);
  }
}

/** hrtimer_start: (re)arm to fire at `tim_ns` (absolute) or `tim_ns` from now (relative). */
export function hrtimer_start(timer: hrtimer, tim_ns: number, mode: number): void {
  const k = timer.kernel;
  k.spend(k.cost.hrtimer_start_ns.draw());
  if (timer.handle >= 0) k.cancel_event(timer.handle);
  timer.expires_ns = mode === HRTIMER_MODE_REL ? k.now() + tim_ns : tim_ns;
  timer.handle = k.call_hardirq_at(Math.max(timer.expires_ns, k.now()), timer.cb, 0);
}

/** hrtimer_try_to_cancel: 1 if it was active and is now cancelled, 0 if it was not active. */
export function hrtimer_try_to_cancel(timer: hrtimer): number {
  if (timer.handle < 0) return 0;
  const k = timer.kernel;
  k.spend(k.cost.hrtimer_cancel_ns.draw());
  const cancelled = k.cancel_event(timer.handle);
  timer.handle = -1;
  return cancelled ? 1 : 0;
}

/** hrtimer_cancel: callbacks run atomically here, so there is never one to wait for. */
export function hrtimer_cancel(timer: hrtimer): number {
  return hrtimer_try_to_cancel(timer);
}

export function hrtimer_active(timer: hrtimer): boolean {
  return timer.handle >= 0;
}

export function hrtimer_forward_now(timer: hrtimer, interval_ns: number): void {
  timer.expires_ns = timer.kernel.now() + interval_ns;
}

export type timer_fn = (timer: timer_list) => void;

export class timer_list {
  readonly kernel: Kernel;
  readonly function: timer_fn;
  readonly name: string;
  readonly owner: unknown;
  expires = 0;
  handle: EventHandle = -1;
  readonly cb: Callback;
  /** When the timer wheel's rounding decides the fire time (timer_list_fire_ns). */
  readonly choice = new TimedChoice();

  constructor(kernel: Kernel, fn: timer_fn, name: string, owner: unknown) {
    this.kernel = kernel;
    this.function = fn;
    this.name = name;
    this.owner = owner;
    this.cb = { fn: timer_list_run, target: this };
  }
}

export function timer_setup(k: Kernel, fn: timer_fn, name: string, owner: unknown = null): timer_list {
  return new timer_list(k, fn, name, owner);
}

function timer_list_run(timer: timer_list): void {
  timer.handle = -1;
  timer.kernel.close_choice(timer.choice);
  timer.function(timer);
}

/** mod_timer: expire at absolute `expires` jiffies (run when the wheel runs it). Returns 1 if the timer was pending. */
export function mod_timer(timer: timer_list, expires: number): number {
  const k = timer.kernel;
  k.spend(k.cost.timer_mod_ns.draw());
  const was = detach_timer(timer);
  timer.expires = expires;
  timer.handle = k.call_softirq_at(timer_list_fire_ns(k, expires, timer.choice), timer.cb, 0);
  return was;
}

function detach_timer(timer: timer_list): number {
  if (timer.handle < 0) return 0;
  timer.kernel.cancel_event(timer.handle);
  timer.handle = -1;
  timer.kernel.close_choice(timer.choice);
  return 1;
}

/** timer_delete (del_timer): 1 if the timer was pending. */
export function timer_delete(timer: timer_list): number {
  if (timer.handle < 0) return 0;
  const k = timer.kernel;
  k.spend(k.cost.timer_del_ns.draw());
  return detach_timer(timer);
}

/** timer_delete_sync: callbacks run atomically, so nothing to wait for. */
export function timer_delete_sync(timer: timer_list): number {
  return timer_delete(timer);
}

export function timer_pending(timer: timer_list): boolean {
  return timer.handle >= 0;
}
