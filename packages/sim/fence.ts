/**
 * struct dma_fence (drivers/dma-buf/dma-fence.c, dma-fence-array.c, include/linux/dma-fence.h).
 *
 * - Contexts and seqnos; dma_fence_is_later within one context.
 * - dma_fence_signal takes the fence lock (irqsave), stamps the time, runs the callbacks in the
 *   signaller's context under that lock, inside a signalling section (dma_fence_map held for
 *   read), exactly as the kernel does; so a callback that sleeps or allocates with GFP_KERNEL
 *   is reported.
 * - dma_fence_wait is process-context only and tells lockdep it may wait (dma_fence_map write).
 * - Reference counted; the memory is released at the last put (ops->release or the default
 *   free). Any use after that is a use-after-free violation.
 * - Ops are detached at signal when the fence has neither .wait nor .release (the dma-fence
 *   rework the drm_dep review asks for): names then read "detached-driver"/"signaled-timeline".
 */
import type { Kernel } from './kernel.ts';
import { kfree, type Allocation } from './alloc.ts';
import { EINVAL, ENOENT, ERESTARTSYS } from './errno.ts';
import { kref, kref_get, kref_get_unless_zero, kref_put } from './kref.ts';
import {
  lock_map_acquire, lock_map_acquire_read, lock_map_release, spin_lock_irqsave, spin_unlock_irqrestore,
  spinlock_t, lockdep_assert_held,
} from './lockdep.ts';
import { MAX_SCHEDULE_TIMEOUT } from './time.ts';
import { WAIT_OK, WAIT_SIGNAL, wait_until_timeout, type Sleepable } from './wait.ts';

export const DMA_FENCE_FLAG_INITIALIZED_BIT = 0;
export const DMA_FENCE_FLAG_SIGNALED_BIT = 1;
export const DMA_FENCE_FLAG_TIMESTAMP_BIT = 2;
export const DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT = 3;
export const DMA_FENCE_FLAG_USER_BITS = 4;

export interface dma_fence_ops {
  get_driver_name(fence: dma_fence): string;
  get_timeline_name(fence: dma_fence): string;
  enable_signaling?(fence: dma_fence): boolean;
  signaled?(fence: dma_fence): boolean;
  /** Custom wait (drm_dep's fence has none). Present only to decide ops detachment. */
  wait?: true;
  /** Release the fence memory at the last put; the default frees it. */
  release?(fence: dma_fence): void;
  set_deadline?(fence: dma_fence, deadline_ns: number): void;
}

export type dma_fence_func_t = (fence: dma_fence, cb: dma_fence_cb) => void;

/** struct dma_fence_cb: embed one per waiter; `owner` is the container (container_of). */
export class dma_fence_cb {
  func: dma_fence_func_t | null = null;
  owner: unknown;
  linked: dma_fence | null = null;

  constructor(owner: unknown = null) {
    this.owner = owner;
  }
}

export class dma_fence {
  readonly kernel: Kernel;
  ops: dma_fence_ops | null = null;
  lock: spinlock_t | null = null;
  context = 0;
  seqno = 0;
  flags = 0;
  error = 0;
  timestamp_ns = 0;
  readonly refcount: kref;
  cb_list: dma_fence_cb[] = [];
  /** Lifetime tracker id, assigned at init. */
  id = -1;
  /** How often dma_fence_init ran on this memory (a second time is the resubmit hazard). */
  init_count = 0;
  /** Type name for the lifetime tracker and reports (e.g. "drm_sched_fence.finished"). */
  type: string;
  /** The object embedding this fence (to_drm_sched_fence and friends). */
  owner: unknown = null;
  /**
   * The kmalloc'd memory of a fence its owner allocated whole and leaves to the dma-fence core
   * (no .release op): dma_fence_free frees it, as C's kfree_rcu(fence) does. Null otherwise.
   */
  memory: Allocation | null = null;

  constructor(kernel: Kernel, type = 'dma_fence') {
    this.kernel = kernel;
    this.type = type;
    this.refcount = new kref(kernel, type);
    this.refcount.refcount = 0;
  }

  /** Fence name for traces: "<context>:<seqno>". */
  get name(): string {
    return fence_name('', this.context, this.seqno);
  }

  /**
   * Ops detachment at signal: later readers get the rework's fixed names
   * (dma_fence_driver_name / dma_fence_timeline_name), never the issuer's code.
   */
  detach_ops(): void {
    this.ops = null;
  }

  get signaled(): boolean {
    return (this.flags & (1 << DMA_FENCE_FLAG_SIGNALED_BIT)) !== 0;
  }
}

/** dma_fence.name, as a LifetimeNamer: the tracker builds it only for a report. */
function fence_name(_base: string, context: number, seqno: number): string {
  return `${context}:${seqno}`;
}

/**
 * dma_fence_init: initialise `fence` with one reference. Re-initialising a live fence (what the
 * deprecated drm_sched_resubmit_jobs does) is allowed, as in C, and counted in init_count.
 */
export function dma_fence_init(fence: dma_fence, ops: dma_fence_ops, lock: spinlock_t, context: number, seqno: number): void {
  const k = fence.kernel;
  fence.ops = ops;
  fence.lock = lock;
  fence.context = context;
  fence.seqno = seqno;
  fence.flags = 1 << DMA_FENCE_FLAG_INITIALIZED_BIT;
  fence.error = 0;
  if (fence.cb_list.length > 0) fence.cb_list = [];
  fence.refcount.refcount = 1;
  fence.init_count++;
  if (fence.id < 0 || !k.lifetime.is_live(fence.id)) fence.id = k.lifetime.track_lazy(fence.type, fence_name, '', context, seqno);
  if (k.trace.full) k.tp('dma_fence_init', { driver: ops.get_driver_name(fence), timeline: ops.get_timeline_name(fence), context, seqno });
}

/**
 * An uninitialised fence has no lock: report it (check_live says model_error) rather than
 * crash on the lock. Returns whether the fence has a lock to take.
 */
function check_lock(fence: dma_fence, site: string): boolean {
  if (fence.lock !== null) return true;
  check_live(fence, site);
  return false;
}

function check_live(fence: dma_fence, site: string): boolean {
  if (fence.id < 0) {
    fence.kernel.violation('model_error', site, `${site} on an uninitialised ${fence.type}`);
    return false;
  }
  return fence.kernel.lifetime.use(fence.id, site);
}

export function dma_fence_get(fence: dma_fence): dma_fence;
export function dma_fence_get(fence: dma_fence | null): dma_fence | null;
export function dma_fence_get(fence: dma_fence | null): dma_fence | null {
  if (fence === null) return null;
  if (fence.id < 0) {
    // Zeroed memory: refcount_inc on 0 WARNs and saturates (lib/refcount.c).
    fence.kernel.violation('use_after_free', 'dma_fence_get',
      `refcount_t: addition on 0; use-after-free. (dma_fence_get on a never-initialised ${fence.type})`);
    return fence;
  }
  if (check_live(fence, 'dma_fence_get')) kref_get(fence.refcount);
  return fence;
}

/** dma_fence_get_rcu: a reference only if the count is not already zero (RCU lookup). */
export function dma_fence_get_rcu(fence: dma_fence): dma_fence | null {
  return kref_get_unless_zero(fence.refcount) ? fence : null;
}

/** kref release hook: the work is done in dma_fence_put, which knows the fence. */
function dma_fence_release(_ref: kref): void {}

export function dma_fence_put(fence: dma_fence | null): void {
  if (fence === null) return;
  if (fence.id < 0) {
    // Zeroed memory (e.g. the KUnit mock's hw fence of a job that never ran): kref_put on a
    // zero refcount_t WARNs and saturates; nothing is released (lib/refcount.c).
    fence.kernel.violation('refcount_underflow', 'dma_fence_put',
      `refcount_t: underflow; use-after-free. (dma_fence_put on a never-initialised ${fence.type})`);
    return;
  }
  if (!check_live(fence, 'dma_fence_put')) return;
  if (kref_put(fence.refcount, dma_fence_release)) {
    const k = fence.kernel;
    if (!fence.signaled && fence.cb_list.length > 0) {
      k.violation('warn', 'dma_fence_release', `fence ${fence.type} ${fence.name} released with callbacks pending`);
    }
    if (k.trace.full) k.tp('dma_fence_destroy', { context: fence.context, seqno: fence.seqno });
    if (fence.ops !== null && fence.ops.release !== undefined) fence.ops.release(fence);
    else dma_fence_free(fence);
  }
}

/**
 * dma_fence_free: release the memory (kfree_rcu: after an RCU grace period in C; the model
 * charges the kfree of `memory`, if the fence has one, to the context of the last put).
 */
export function dma_fence_free(fence: dma_fence): void {
  const memory = fence.memory;
  if (memory !== null) {
    fence.memory = null;
    kfree(fence.kernel, memory);
  }
  fence.kernel.lifetime.free(fence.id, 'dma_fence_free');
}

/** dma_fence_begin_signalling: returns a cookie for dma_fence_end_signalling. */
export function dma_fence_begin_signalling(k: Kernel): boolean {
  // As in C: nothing is tracked in atomic context, nor when already inside a section.
  if (k.current.in_atomic) return true;
  if (k.current.holds(k.dma_fence_map)) return true;
  lock_map_acquire_read(k.dma_fence_map);
  return false;
}

export function dma_fence_end_signalling(k: Kernel, cookie: boolean): void {
  if (cookie) return;
  lock_map_release(k.dma_fence_map);
}

/** __dma_fence_might_wait: tell lockdep that the current context may wait on a fence. */
export function dma_fence_might_wait(k: Kernel): void {
  // Inside a signalling section (dma_fence_map held for read) lockdep reports the recursion.
  lock_map_acquire(k.dma_fence_map);
  lock_map_release(k.dma_fence_map);
}

/**
 * dma_fence_signal_timestamp_locked: signal with the fence lock held. Returns 0, or -EINVAL if
 * the fence had already signalled (recorded as `fence_double_signal`).
 */
export function dma_fence_signal_timestamp_locked(fence: dma_fence, timestamp_ns: number): number {
  const k = fence.kernel;
  if (!check_live(fence, 'dma_fence_signal')) return -EINVAL;
  if (fence.lock !== null) lockdep_assert_held(fence.lock, 'dma_fence_signal_locked');
  if (fence.signaled) {
    k.violation('fence_double_signal', 'dma_fence_signal', `${fence.type} ${fence.name} signalled twice`);
    return -EINVAL;
  }
  fence.flags |= (1 << DMA_FENCE_FLAG_SIGNALED_BIT) | (1 << DMA_FENCE_FLAG_TIMESTAMP_BIT);
  fence.timestamp_ns = timestamp_ns;
  k.spend(k.cost.fence_signal_ns.draw());
  if (k.trace.enabled) k.tp('dma_fence_signaled', { context: fence.context, seqno: fence.seqno, error: fence.error });
  const list = fence.cb_list;
  if (list.length > 0) fence.cb_list = []; // an empty list can stay: no allocation per signal
  for (let i = 0; i < list.length; i++) {
    const cb = list[i];
    cb.linked = null;
    k.spend(k.cost.fence_callback_ns.draw());
    cb.func!(fence, cb);
  }
  const ops = fence.ops;
  if (ops !== null && ops.wait === undefined && ops.release === undefined) fence.detach_ops();
  return 0;
}

export function dma_fence_signal_locked(fence: dma_fence): number {
  return dma_fence_signal_timestamp_locked(fence, fence.kernel.now());
}

/** dma_fence_signal: take the lock, signal, run the callbacks, inside a signalling section. */
export function dma_fence_signal(fence: dma_fence): number {
  const k = fence.kernel;
  if (!check_lock(fence, 'dma_fence_signal')) return -EINVAL;
  const cookie = dma_fence_begin_signalling(k);
  const flags = spin_lock_irqsave(fence.lock!);
  const r = dma_fence_signal_timestamp_locked(fence, k.now());
  spin_unlock_irqrestore(fence.lock!, flags);
  dma_fence_end_signalling(k, cookie);
  return r;
}

export function dma_fence_signal_timestamp(fence: dma_fence, timestamp_ns: number): number {
  const k = fence.kernel;
  if (!check_lock(fence, 'dma_fence_signal_timestamp')) return -EINVAL;
  const cookie = dma_fence_begin_signalling(k);
  const flags = spin_lock_irqsave(fence.lock!);
  const r = dma_fence_signal_timestamp_locked(fence, timestamp_ns);
  spin_unlock_irqrestore(fence.lock!, flags);
  dma_fence_end_signalling(k, cookie);
  return r;
}

/** dma_fence_is_signaled: also asks ops->signaled and signals on its behalf. */
export function dma_fence_is_signaled(fence: dma_fence): boolean {
  if (fence.signaled) return true;
  check_live(fence, 'dma_fence_is_signaled');
  if (fence.ops?.signaled !== undefined && fence.ops.signaled(fence)) {
    dma_fence_signal(fence);
    return true;
  }
  return false;
}

export function dma_fence_is_signaled_locked(fence: dma_fence): boolean {
  if (fence.signaled) return true;
  if (fence.ops?.signaled !== undefined && fence.ops.signaled(fence)) {
    dma_fence_signal_locked(fence);
    return true;
  }
  return false;
}

/** dma_fence_set_error: only before signalling, only negative errnos (WARN otherwise). */
export function dma_fence_set_error(fence: dma_fence, error: number): void {
  const k = fence.kernel;
  check_live(fence, 'dma_fence_set_error');
  if (fence.signaled) {
    k.violation('fence_error_after_signal', 'dma_fence_set_error',
      `dma_fence_set_error(${error}) on signalled ${fence.type} ${fence.name}`);
  }
  if (error >= 0 || error < -4095) k.violation('warn', 'dma_fence_set_error', `invalid fence error ${error}`);
  fence.error = error;
}

export function dma_fence_get_status_locked(fence: dma_fence): number {
  if (dma_fence_is_signaled_locked(fence)) return fence.error !== 0 ? fence.error : 1;
  return 0;
}

/** dma_fence_get_status: 0 pending, 1 signalled OK, negative error if signalled with one. */
export function dma_fence_get_status(fence: dma_fence): number {
  if (dma_fence_is_signaled(fence)) return fence.error !== 0 ? fence.error : 1;
  return 0;
}

/**
 * dma_fence_add_callback: 0 if added, -ENOENT if already signalled (callback not added),
 * -EINVAL for an uninitialised fence.
 */
export function dma_fence_add_callback(fence: dma_fence, cb: dma_fence_cb, func: dma_fence_func_t): number {
  if (!check_live(fence, 'dma_fence_add_callback')) return -EINVAL;
  if (fence.signaled) {
    cb.linked = null;
    return -ENOENT;
  }
  const flags = spin_lock_irqsave(fence.lock!);
  let ret = 0;
  if (dma_fence_enable_sw_signaling_locked(fence) || fence.signaled) {
    ret = -ENOENT;
    cb.linked = null;
  } else {
    cb.func = func;
    cb.linked = fence;
    fence.cb_list.push(cb);
  }
  spin_unlock_irqrestore(fence.lock!, flags);
  return ret;
}

/** Returns true if enabling signalling found the fence already signalled. */
function dma_fence_enable_sw_signaling_locked(fence: dma_fence): boolean {
  if ((fence.flags & (1 << DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT)) !== 0) return false;
  fence.flags |= 1 << DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT;
  if (fence.ops?.enable_signaling !== undefined && !fence.ops.enable_signaling(fence)) {
    dma_fence_signal_locked(fence);
    return true;
  }
  return false;
}

export function dma_fence_enable_sw_signaling(fence: dma_fence): void {
  if (!check_lock(fence, 'dma_fence_enable_sw_signaling')) return;
  const flags = spin_lock_irqsave(fence.lock!);
  dma_fence_enable_sw_signaling_locked(fence);
  spin_unlock_irqrestore(fence.lock!, flags);
}

/** dma_fence_remove_callback: true if the callback was still pending and is now removed. */
export function dma_fence_remove_callback(fence: dma_fence, cb: dma_fence_cb): boolean {
  check_live(fence, 'dma_fence_remove_callback');
  if (fence.lock === null) return false;
  const flags = spin_lock_irqsave(fence.lock!);
  const i = fence.cb_list.indexOf(cb);
  if (i >= 0) {
    fence.cb_list.splice(i, 1);
    cb.linked = null;
  }
  spin_unlock_irqrestore(fence.lock!, flags);
  return i >= 0;
}

/** dma_fence_is_later(f1, f2): f1 is later on the same context. */
export function dma_fence_is_later(f1: dma_fence, f2: dma_fence): boolean {
  if (f1.context !== f2.context) {
    f1.kernel.violation('warn', 'dma_fence_is_later', `comparing fences of contexts ${f1.context} and ${f2.context}`);
    return false;
  }
  return f1.seqno > f2.seqno;
}

/** dma_fence_later: the later of two fences on one context, or null if they are unrelated. */
export function dma_fence_later(f1: dma_fence, f2: dma_fence): dma_fence | null {
  if (f1.context !== f2.context) return null;
  return dma_fence_is_later(f1, f2) ? f1 : f2;
}

export function dma_fence_set_deadline(fence: dma_fence, deadline_ns: number): void {
  if (fence.ops?.set_deadline !== undefined && !dma_fence_is_signaled(fence)) fence.ops.set_deadline(fence, deadline_ns);
}

export function dma_fence_driver_name(fence: dma_fence): string {
  return fence.ops !== null ? fence.ops.get_driver_name(fence) : 'detached-driver';
}

export function dma_fence_timeline_name(fence: dma_fence): string {
  return fence.ops !== null ? fence.ops.get_timeline_name(fence) : 'signaled-timeline';
}

/**
 * dma_fence_wait_timeout: sleep until `fence` signals or `timeout_jiffies` passes. Returns the
 * remaining jiffies (>= 1) when signalled, 0 on timeout, -ERESTARTSYS if interrupted.
 */
export function* dma_fence_wait_timeout(fence: dma_fence, intr: boolean, timeout_jiffies: number): Sleepable<number> {
  const k = fence.kernel;
  k.might_sleep('dma_fence_wait');
  dma_fence_might_wait(k);
  check_live(fence, 'dma_fence_wait');
  if (dma_fence_is_signaled(fence)) return timeout_jiffies === 0 ? 1 : Math.max(1, timeout_jiffies);
  if (timeout_jiffies === 0) return 0;
  const self = k.current_sleeper;
  const cb = new dma_fence_cb(self);
  const added = dma_fence_add_callback(fence, cb, wake_waiter) === 0;
  const deadline = timeout_jiffies >= MAX_SCHEDULE_TIMEOUT ? Infinity : k.jiffies.expiry_ns(k.now(), timeout_jiffies);
  // dma_fence_default_wait sleeps in schedule_timeout: woken when the timer wheel runs its timer.
  const r = yield* wait_until_timeout(k, null, () => fence.signaled, deadline, intr);
  if (added && cb.linked !== null) dma_fence_remove_callback(fence, cb);
  if (r === WAIT_SIGNAL) return -ERESTARTSYS;
  if (r !== WAIT_OK) return 0;
  if (deadline === Infinity) return MAX_SCHEDULE_TIMEOUT;
  return Math.max(1, k.jiffies.at(deadline) - k.jiffies_now);
}

function wake_waiter(_fence: dma_fence, cb: dma_fence_cb): void {
  const sleeper = cb.owner as { wake(): void } | null;
  sleeper?.wake();
}

/** dma_fence_wait: 0 when signalled, -ERESTARTSYS if interrupted. */
export function* dma_fence_wait(fence: dma_fence, intr: boolean): Sleepable<number> {
  const r = yield* dma_fence_wait_timeout(fence, intr, MAX_SCHEDULE_TIMEOUT);
  return r < 0 ? r : 0;
}

/* Stub fence ---------------------------------------------------------------------------------- */

const stub_ops: dma_fence_ops = {
  get_driver_name: () => 'stub',
  get_timeline_name: () => 'stub',
};

const stubs = new WeakMap<Kernel, dma_fence>();

/** dma_fence_get_stub: a reference to the kernel's single always-signalled fence. */
export function dma_fence_get_stub(k: Kernel): dma_fence {
  let stub = stubs.get(k);
  if (stub === undefined) {
    stub = new dma_fence(k, 'dma_fence.stub');
    dma_fence_init(stub, stub_ops, new spinlock_t(k, 'dma_fence_stub_lock'), 0, 0);
    stub.flags |= (1 << DMA_FENCE_FLAG_SIGNALED_BIT) | (1 << DMA_FENCE_FLAG_TIMESTAMP_BIT);
    stub.timestamp_ns = k.now();
    stub.refcount.refcount = 1 << 30; // never freed, like the static stub in C
    k.lifetime.mark_static(stub.id); // so teardown leak checks do not report it
    stubs.set(k, stub);
  }
  return dma_fence_get(stub);
}

/** dma_fence_allocate_private_stub: a new signalled fence with the given timestamp. */
export function dma_fence_allocate_private_stub(k: Kernel, timestamp_ns: number): dma_fence {
  const f = new dma_fence(k, 'dma_fence.private_stub');
  dma_fence_init(f, stub_ops, new spinlock_t(k, 'dma_fence_stub_lock'), 0, 0);
  f.flags |= (1 << DMA_FENCE_FLAG_SIGNALED_BIT) | (1 << DMA_FENCE_FLAG_TIMESTAMP_BIT);
  f.timestamp_ns = timestamp_ns;
  return f;
}

/* Fence array --------------------------------------------------------------------------------- */

const array_ops: dma_fence_ops = {
  get_driver_name: () => 'dma_fence_array',
  get_timeline_name: () => 'unbound',
  release(fence: dma_fence): void {
    const array = fence.owner as dma_fence_array;
    for (const f of array.fences) dma_fence_put(f);
    dma_fence_free(fence);
  },
};

export class dma_fence_array {
  readonly base: dma_fence;
  readonly fences: dma_fence[];
  readonly signal_on_any: boolean;
  num_pending: number;
  readonly cbs: dma_fence_cb[];
  readonly work: { fn: (a: dma_fence_array) => void; target: dma_fence_array };

  constructor(k: Kernel, fences: dma_fence[], signal_on_any: boolean) {
    this.base = new dma_fence(k, 'dma_fence_array');
    this.base.owner = this;
    this.fences = fences;
    this.signal_on_any = signal_on_any;
    this.num_pending = signal_on_any ? 1 : fences.length;
    this.cbs = fences.map(() => new dma_fence_cb(this));
    this.work = { fn: array_irq_work, target: this };
  }
}

/**
 * dma_fence_array_create: a fence that signals when all (or, with signal_on_any, one) of
 * `fences` signal, with the first error among them. Takes over the references in `fences`.
 * As in C, the array signals from irq_work (hardirq context) right after the last member.
 */
export function dma_fence_array_create(k: Kernel, fences: dma_fence[], context: number, seqno: number, signal_on_any: boolean): dma_fence_array {
  const array = new dma_fence_array(k, fences, signal_on_any);
  dma_fence_init(array.base, array_ops, new spinlock_t(k, '&array->lock'), context, seqno);
  if (fences.length === 0) {
    array.num_pending = 0;
    k.call_hardirq_at(k.now(), array.work, 0);
    return array;
  }
  for (let i = 0; i < fences.length; i++) {
    dma_fence_get(array.base); // each pending callback holds the array
    if (dma_fence_add_callback(fences[i], array.cbs[i], array_cb_func) !== 0) {
      array_member_done(array, fences[i]);
      dma_fence_put(array.base);
    }
  }
  return array;
}

function array_member_done(array: dma_fence_array, member: dma_fence): void {
  if (member.error !== 0 && array.base.error === 0 && !array.base.signaled) array.base.error = member.error;
  if (--array.num_pending === 0) {
    const k = array.base.kernel;
    dma_fence_get(array.base);
    k.call_hardirq_at(k.now(), array.work, 0);
  }
}

function array_cb_func(fence: dma_fence, cb: dma_fence_cb): void {
  const array = cb.owner as dma_fence_array;
  array_member_done(array, fence);
  dma_fence_put(array.base);
}

function array_irq_work(array: dma_fence_array): void {
  if (!array.base.signaled) dma_fence_signal(array.base);
  if (array.fences.length > 0) dma_fence_put(array.base);
}

