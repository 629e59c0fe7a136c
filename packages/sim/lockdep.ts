/**
 * lockdep-lite (kernel/locking/lockdep.c, much reduced) and the lock primitives.
 *
 * Lock classes are named like lockdep's ("&sched->job_list_lock"); every instance initialised
 * with the same name shares a class. On each acquisition lockdep-lite:
 *   - reports recursion (the class already held by this context, unless both are reads);
 *   - adds an order edge from every held class to the new one; a new edge that closes a cycle
 *     is a `lockdep_cycle` splat naming both acquisition sites of each edge on the cycle;
 *   - records hardirq usage: a class taken in hardirq is HARDIRQ-safe, one taken with hardirqs
 *     enabled is HARDIRQ-unsafe; both on one class is `lockdep_irq_inconsistent`, and an order
 *     edge from a safe class to an unsafe one is `lockdep_irq_order`.
 * Pseudo-locks (lockdep_map: dma_fence_map, fs_reclaim, work and workqueue maps) take part in
 * the order graph and recursion checks but not in irq usage, as in the kernel.
 * Simplifications: no softirq usage states, no read/write distinction in cycle search (all
 * edges count), each violation reported once per (kind, classes).
 */
import type { ExecContext, HeldLock } from './context.ts';
import { LazySite, type Kernel, type Site } from './kernel.ts';
import { wait_queue_head } from './wait.ts';

export class LockClass {
  readonly id: number;
  readonly name: string;
  readonly pseudo: boolean;
  in_hardirq_site: Site | null = null;
  hardirq_on_site: Site | null = null;
  /** Order edges out of this class: target class id -> the two acquisition sites. */
  readonly after = new Map<number, LockEdge>();
  /**
   * after.has(id) as an array indexed by class id: every acquisition checks it once per held
   * lock, and an array load is much cheaper than a Map lookup.
   */
  readonly after_known: boolean[] = [];
  /** Reverse edges, for irq-order propagation. */
  readonly before = new Set<number>();
  /**
   * A HARDIRQ-safe class (not a pseudo-lock) reaches this one along order edges, itself
   * included. Kept as edges and irq usage are added (each only ever turns true), so a new edge
   * asks two flags, not two searches of a graph that grows with every per-queue class.
   */
  irq_safe_above = false;
  /** This class reaches a HARDIRQ-unsafe class (not a pseudo-lock), itself included. */
  irq_unsafe_below = false;

  constructor(id: number, name: string, pseudo: boolean) {
    this.id = id;
    this.name = name;
    this.pseudo = pseudo;
  }
}

export interface LockEdge {
  readonly held_site: Site;
  readonly taken_site: Site;
  readonly context: string;
}

/** A held-stack entry (HeldLock). Released entries are reused: each job takes ~25 locks. */
class HeldEntry implements HeldLock {
  cls: LockClass;
  read: boolean;
  site: Site;
  instance: object;

  constructor(cls: LockClass, read: boolean, site: Site, instance: object) {
    this.cls = cls;
    this.read = read;
    this.site = site;
    this.instance = instance;
  }
}

export class Lockdep {
  private readonly kernel: Kernel;
  /** Entries popped off held stacks, for the next acquisitions (no allocation per lock taken). */
  private readonly free_entries: HeldEntry[] = [];
  private readonly classes: LockClass[] = [];
  private readonly by_name = new Map<string, LockClass>();
  /** Scratch of path(): the search's visit stamps and predecessors by class id (no allocation per edge). */
  private readonly path_stamp: number[] = [];
  private readonly path_prev: number[] = [];
  private path_epoch = 0;
  private readonly path_queue: number[] = [];
  /** Acquisitions checked, for the cost model and reports. */
  acquisitions = 0;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  class_of(name: string, pseudo = false): LockClass {
    let cls = this.by_name.get(name);
    if (cls === undefined) {
      cls = new LockClass(this.classes.length, name, pseudo);
      this.classes.push(cls);
      this.by_name.set(name, cls);
      this.path_stamp.push(0);
      this.path_prev.push(-1);
    }
    return cls;
  }

  /** Record that `ctx` takes `cls` (lock instance `instance`) at `site`. */
  acquire(ctx: ExecContext, cls: LockClass, instance: object, read: boolean, site_hint: string | null): void {
    this.acquisitions++;
    const held = ctx.held;
    // The common case (every job takes ~25 locks): no recursion, and an order edge from each held
    // class is already known, so the graph does not change. One pass over the stack decides that.
    let known = true;
    for (let i = 0; i < held.length && known; i++) {
      const h = held[i];
      known = h.cls === cls ? h.read && read : h.cls.after_known[cls.id] === true;
    }
    let site = known ? site_hint : this.check_held(ctx, cls, read, site_hint);
    if (!cls.pseudo) {
      if (ctx.in_irq) {
        if (cls.in_hardirq_site === null) {
          site ??= this.kernel.lazy_caller_site();
          cls.in_hardirq_site = in_context(site, ctx.name);
          this.mark_safe_above(cls);
          this.check_irq_usage(cls);
        }
      } else if (ctx.hardirqs_enabled && cls.hardirq_on_site === null) {
        site ??= this.kernel.lazy_caller_site();
        cls.hardirq_on_site = in_context(site, ctx.name);
        this.mark_unsafe_below(cls);
        this.check_irq_usage(cls);
      }
    }
    const entry = this.free_entries.pop();
    if (entry === undefined) {
      held.push(new HeldEntry(cls, read, site ?? 'unknown', instance));
    } else {
      entry.cls = cls;
      entry.read = read;
      entry.site = site ?? 'unknown';
      entry.instance = instance;
      held.push(entry);
    }
  }

  /**
   * The held-stack checks of an acquisition the fast path could not clear: recursion reports,
   * then new order edges. Returns the acquisition site if it had to be computed.
   */
  private check_held(ctx: ExecContext, cls: LockClass, read: boolean, site_hint: string | null): Site | null {
    const held = ctx.held;
    for (let i = 0; i < held.length; i++) {
      const h = held[i];
      if (h.cls !== cls) continue;
      if (h.read && read) continue; // recursive read (dma_fence_map in nested signalling)
      this.report('lockdep_recursion', `${cls.name}`, () => {
        const site = site_hint ?? this.kernel.caller_site();
        return [site, `possible recursive locking detected: ${ctx.name} acquires ${cls.name} while holding it`,
          [`first acquired at ${h.site}`, `again at ${site}`]];
      });
    }
    // Innermost held lock first, as lockdep's check_prevs_add walks the stack: the lock the
    // context took last is the one a splat names as "already holding". One acquisition prints
    // at most one circular-dependency report (lockdep stops at its first splat); the other
    // edges that would close a cycle are left out of the graph like that one.
    let site: Site | null = site_hint;
    let cycle_reported = false;
    for (let i = held.length - 1; i >= 0; i--) {
      const from = held[i].cls;
      if (from === cls || from.after_known[cls.id] === true) continue;
      site ??= this.kernel.lazy_caller_site();
      if (this.add_edge(ctx, from, cls, held[i].site, site, !cycle_reported)) cycle_reported = true;
    }
    return site;
  }

  release(ctx: ExecContext, instance: object, name: string): void {
    const held = ctx.held;
    for (let i = held.length - 1; i >= 0; i--) {
      if (held[i].instance === instance) {
        const entry = held[i] as HeldEntry;
        // Close the gap by hand: usually the innermost lock, and splice allocates its result.
        for (let j = i + 1; j < held.length; j++) held[j - 1] = held[j];
        held.pop();
        this.free_entries.push(entry);
        return;
      }
    }
    this.kernel.violation('lockdep_unlock', this.kernel.caller_site(),
      `${ctx.name} releases ${name}, which it does not hold`);
  }

  /** Add the order edge from -> to; returns true if it would close a cycle (not added). */
  private add_edge(ctx: ExecContext, from: LockClass, to: LockClass, held_site: Site, taken_site: Site, report: boolean): boolean {
    const path = this.path(to, from);
    if (path !== null) {
      if (!report) return true;
      this.report('lockdep_cycle', [from.name, to.name].sort().join('|'), () => {
        const detail = [`${ctx.name}: holding ${from.name} (acquired at ${held_site})`,
          `  then takes ${to.name} at ${taken_site}`, 'existing dependency chain:'];
        for (let i = 0; i + 1 < path.length; i++) {
          const edge = path[i].after.get(path[i + 1].id)!;
          detail.push(`  ${path[i].name} -> ${path[i + 1].name}: held at ${edge.held_site}, taken at ${edge.taken_site} (${edge.context})`);
        }
        return [taken_site, `possible circular locking dependency: ${from.name} -> ${to.name} closes a cycle`, detail];
      });
      return true; // like lockdep, do not add the edge that closes the cycle
    }
    from.after.set(to.id, { held_site, taken_site, context: ctx.name });
    from.after_known[to.id] = true;
    to.before.add(from.id);
    // The edge adds no cycle, so it changes neither what reaches `from` nor what `to` reaches:
    // the flags answer for the graph with or without it.
    const irq_order = from.irq_safe_above && to.irq_unsafe_below;
    if (from.irq_safe_above) this.mark_safe_above(to);
    if (to.irq_unsafe_below) this.mark_unsafe_below(from);
    if (irq_order) {
      const safe = this.find_backwards(from, (c) => c.in_hardirq_site !== null)!;
      const unsafe = this.find_forwards(to, (c) => c.hardirq_on_site !== null)!;
      this.report('lockdep_irq_order', `${safe.name}|${unsafe.name}`, () => [taken_site,
        `HARDIRQ-safe -> HARDIRQ-unsafe lock order: ${safe.name} -> ... -> ${unsafe.name}`,
        [`${safe.name} used in hardirq at ${safe.in_hardirq_site}`,
          `${unsafe.name} taken with hardirqs enabled at ${unsafe.hardirq_on_site}`,
          `new dependency ${from.name} -> ${to.name}: held at ${held_site}, taken at ${taken_site}`]]);
    }
    return false;
  }

  private check_irq_usage(cls: LockClass): void {
    if (cls.in_hardirq_site !== null && cls.hardirq_on_site !== null) {
      const used = cls.in_hardirq_site, on = cls.hardirq_on_site;
      this.report('lockdep_irq_inconsistent', cls.name, () => [used,
        `inconsistent lock state: ${cls.name} used in hardirq and with hardirqs enabled`,
        [`IN-HARDIRQ at ${used}`, `HARDIRQ-ON at ${on}`]]);
    }
    if (cls.in_hardirq_site !== null) {
      const unsafe = this.find_forwards(cls, (c) => c !== cls && c.hardirq_on_site !== null);
      if (unsafe !== null) {
        const used = cls.in_hardirq_site;
        this.report('lockdep_irq_order', `${cls.name}|${unsafe.name}`, () => [used,
          `HARDIRQ-safe -> HARDIRQ-unsafe lock order: ${cls.name} -> ... -> ${unsafe.name}`,
          [`${cls.name} used in hardirq at ${used}`, `${unsafe.name} taken with hardirqs enabled at ${unsafe.hardirq_on_site}`]]);
      }
    }
    if (cls.hardirq_on_site !== null) {
      const safe = this.find_backwards(cls, (c) => c !== cls && c.in_hardirq_site !== null);
      if (safe !== null) {
        const on = cls.hardirq_on_site;
        this.report('lockdep_irq_order', `${safe.name}|${cls.name}`, () => [on,
          `HARDIRQ-safe -> HARDIRQ-unsafe lock order: ${safe.name} -> ... -> ${cls.name}`,
          [`${safe.name} used in hardirq at ${safe.in_hardirq_site}`, `${cls.name} taken with hardirqs enabled at ${on}`]]);
      }
    }
  }

  /** Set irq_safe_above on `start` and every class it reaches that does not have it yet. */
  private mark_safe_above(start: LockClass): void {
    if (start.irq_safe_above) return;
    start.irq_safe_above = true;
    const stack = [start];
    while (stack.length > 0) {
      for (const id of stack.pop()!.after.keys()) {
        const c = this.classes[id];
        if (!c.irq_safe_above) { c.irq_safe_above = true; stack.push(c); }
      }
    }
  }

  /** Set irq_unsafe_below on `start` and every class that reaches it and does not have it yet. */
  private mark_unsafe_below(start: LockClass): void {
    if (start.irq_unsafe_below) return;
    start.irq_unsafe_below = true;
    const stack = [start];
    while (stack.length > 0) {
      for (const id of stack.pop()!.before) {
        const c = this.classes[id];
        if (!c.irq_unsafe_below) { c.irq_unsafe_below = true; stack.push(c); }
      }
    }
  }

  private find_forwards(start: LockClass, pred: (c: LockClass) => boolean): LockClass | null {
    const seen = new Set<number>([start.id]);
    const stack = [start];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (!c.pseudo && pred(c)) return c;
      for (const id of c.after.keys()) if (!seen.has(id)) { seen.add(id); stack.push(this.classes[id]); }
    }
    return null;
  }

  private find_backwards(start: LockClass, pred: (c: LockClass) => boolean): LockClass | null {
    const seen = new Set<number>([start.id]);
    const stack = [start];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (!c.pseudo && pred(c)) return c;
      for (const id of c.before) if (!seen.has(id)) { seen.add(id); stack.push(this.classes[id]); }
    }
    return null;
  }

  /**
   * Shortest path of classes from `from` to `to` along order edges, or null. Breadth first, as
   * before, so a report names the same chain; nothing reaches a class with no edge into it.
   */
  private path(from: LockClass, to: LockClass): LockClass[] | null {
    if (to.before.size === 0 || from.after.size === 0) return null;
    const stamp = this.path_stamp, prev = this.path_prev, queue = this.path_queue;
    const epoch = ++this.path_epoch;
    stamp[from.id] = epoch;
    prev[from.id] = -1;
    queue.length = 0;
    queue.push(from.id);
    for (let qi = 0; qi < queue.length; qi++) {
      const id = queue[qi];
      if (id === to.id) {
        const out: LockClass[] = [];
        for (let at = id; at !== -1; at = prev[at]) out.push(this.classes[at]);
        return out.reverse();
      }
      for (const next of this.classes[id].after.keys()) {
        if (stamp[next] !== epoch) { stamp[next] = epoch; prev[next] = id; queue.push(next); }
      }
    }
    return null;
  }

  /**
   * One report per (kind, key), as lockdep stops at its first splat of a kind. Its text is made
   * only for the first: a repeat prints nothing, so it reads no site (lockdep_sites 'on-demand').
   */
  private report(kind: 'lockdep_cycle' | 'lockdep_recursion' | 'lockdep_irq_inconsistent' | 'lockdep_irq_order',
    key: string, text: () => readonly [site: Site, message: string, detail: string[]]): void {
    const once = `${kind}:${key}`;
    if (this.kernel.violations.recorded_once(once)) return;
    const [site, message, detail] = text();
    this.kernel.violation_once(once, kind, String(site), message, detail);
  }
}

/** "<site> (<context>)": where a class was first used in or out of hardirq, formatted when printed. */
function in_context(site: Site, context: string): Site {
  return typeof site === 'string' ? `${site} (${context})` : new LazySite(() => `${site} (${context})`);
}

/* ------------------------------------------------------------------------------------------ */
/* Lock primitives                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** spinlock_t. `name` is its lockdep class (the spin_lock_init site in the kernel). */
export class spinlock_t {
  readonly kernel: Kernel;
  readonly cls: LockClass;
  owner: ExecContext | null = null;

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.cls = kernel.lockdep.class_of(name);
  }
}

/** spin_lock_init: a new lock of class `name`. */
export function spin_lock_init(kernel: Kernel, name: string): spinlock_t {
  return new spinlock_t(kernel, name);
}

function take_spin(lock: spinlock_t, site: string | null): void {
  const k = lock.kernel;
  const ctx = k.current;
  if (lock.owner !== null) {
    // Bodies run atomically, so a held spinlock here means its holder slept with it
    // (already reported) or this context takes it twice (recursion, reported by lockdep).
    if (lock.owner !== ctx) {
      k.violation('hang', site ?? k.caller_site(),
        `spinlock ${lock.cls.name} is held by ${lock.owner.name}: this would spin forever`);
    }
  }
  k.lockdep.acquire(ctx, lock.cls, lock, false, site);
  lock.owner = ctx;
  ctx.atomic++;
  k.spend(k.cost.spin_lock_ns.draw());
}

function drop_spin(lock: spinlock_t): void {
  const k = lock.kernel;
  const ctx = k.current;
  k.lockdep.release(ctx, lock, lock.cls.name);
  if (lock.owner === ctx) lock.owner = null;
  if (ctx.atomic > 0) ctx.atomic--;
}

export function spin_lock(lock: spinlock_t, site: string | null = null): void {
  take_spin(lock, site);
}

export function spin_unlock(lock: spinlock_t): void {
  drop_spin(lock);
  if (lock.kernel.preemption) lock.kernel.preempt_point();
}

/** spin_lock_irqsave: returns the flags to pass to spin_unlock_irqrestore. */
export function spin_lock_irqsave(lock: spinlock_t, site: string | null = null): number {
  const ctx = lock.kernel.current;
  const flags = ctx.irqs_off;
  ctx.irqs_off++;
  take_spin(lock, site);
  return flags;
}

export function spin_unlock_irqrestore(lock: spinlock_t, flags: number): void {
  drop_spin(lock);
  lock.kernel.current.irqs_off = flags;
  if (lock.kernel.preemption) lock.kernel.preempt_point();
}

/** spin_lock_irq: like irqsave but unconditionally re-enables on unlock. */
export function spin_lock_irq(lock: spinlock_t, site: string | null = null): void {
  lock.kernel.current.irqs_off++;
  take_spin(lock, site);
}

export function spin_unlock_irq(lock: spinlock_t): void {
  drop_spin(lock);
  lock.kernel.current.irqs_off = 0;
  if (lock.kernel.preemption) lock.kernel.preempt_point();
}

export function spin_is_locked(lock: spinlock_t): boolean {
  return lock.owner !== null;
}

/** lockdep_assert_held: a `warn` violation unless the current context holds `lock`. */
export function lockdep_assert_held(lock: spinlock_t | mutex | lockdep_map, site: string | null = null): boolean {
  const k = lock.kernel;
  if (k.current.holds(lock)) return true;
  k.violation('warn', site ?? k.caller_site(), `lockdep_assert_held(${lock.cls.name}) failed in ${k.current.name}`);
  return false;
}

/** lockdep_assert_not_held. */
export function lockdep_assert_not_held(lock: spinlock_t | mutex | lockdep_map, site: string | null = null): boolean {
  const k = lock.kernel;
  if (!k.current.holds(lock)) return true;
  k.violation('warn', site ?? k.caller_site(), `lockdep_assert_not_held(${lock.cls.name}) failed in ${k.current.name}`);
  return false;
}

/** struct mutex. Sleeping lock: illegal in atomic context. */
export class mutex {
  readonly kernel: Kernel;
  readonly cls: LockClass;
  owner: ExecContext | null = null;
  readonly waiters = new wait_queue_head();

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.cls = kernel.lockdep.class_of(name);
  }
}

export function mutex_init(kernel: Kernel, name: string): mutex {
  return new mutex(kernel, name);
}

/**
 * mutex_lock. Bodies run atomically, so the only way to find the mutex held by someone else is
 * that its owner went to sleep holding it; a plain body cannot wait for that, so it is reported
 * as a model error (code that can meet contention must be a resumable process and use
 * mutex_lock_sleepable).
 */
export function mutex_lock(m: mutex, site: string | null = null): void {
  const k = m.kernel;
  k.might_sleep(site ?? 'mutex_lock');
  if (m.owner !== null && m.owner !== k.current) {
    k.violation('model_error', site ?? k.caller_site(),
      `mutex ${m.cls.name} contended (held by sleeping ${m.owner.name}) in a body that cannot sleep`);
  }
  k.lockdep.acquire(k.current, m.cls, m, false, site);
  m.owner = k.current;
  k.spend(k.cost.mutex_lock_ns.draw());
}

/** mutex_lock from a resumable process: waits in simulated time while the mutex is held. */
export function* mutex_lock_sleepable(m: mutex, site: string | null = null): Generator<void, void, void> {
  const k = m.kernel;
  k.might_sleep(site ?? 'mutex_lock');
  k.lockdep.acquire(k.current, m.cls, m, false, site);
  while (m.owner !== null && m.owner !== k.current) {
    yield* k.wait_until(m.waiters, () => m.owner === null);
  }
  m.owner = k.current;
  k.spend(k.cost.mutex_lock_ns.draw());
}

export function mutex_trylock(m: mutex): boolean {
  const k = m.kernel;
  if (m.owner !== null) return false;
  k.lockdep.acquire(k.current, m.cls, m, false, null);
  m.owner = k.current;
  return true;
}

export function mutex_unlock(m: mutex): void {
  const k = m.kernel;
  k.lockdep.release(k.current, m, m.cls.name);
  m.owner = null;
  k.wake_up(m.waiters);
  if (k.preemption) k.preempt_point();
}

export function mutex_is_locked(m: mutex): boolean {
  return m.owner !== null;
}

/** struct lockdep_map: a pseudo-lock that exists only for lockdep (dma_fence_map, fs_reclaim). */
export class lockdep_map {
  readonly kernel: Kernel;
  readonly cls: LockClass;

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.cls = kernel.lockdep.class_of(name, true);
  }
}

export function lock_map_acquire(map: lockdep_map, site: string | null = null): void {
  map.kernel.lockdep.acquire(map.kernel.current, map.cls, map, false, site);
}

export function lock_map_acquire_read(map: lockdep_map, site: string | null = null): void {
  map.kernel.lockdep.acquire(map.kernel.current, map.cls, map, true, site);
}

export function lock_map_release(map: lockdep_map): void {
  map.kernel.lockdep.release(map.kernel.current, map, map.cls.name);
}

/** might_lock: record the order edge as if `lock` were taken here, without taking it. */
export function might_lock(lock: spinlock_t | mutex | lockdep_map, site: string | null = null): void {
  const k = lock.kernel;
  k.lockdep.acquire(k.current, lock.cls, lock, false, site);
  k.lockdep.release(k.current, lock, lock.cls.name);
}
