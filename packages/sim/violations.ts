/**
 * The violation log. Model code never throws on a broken rule: it records a violation with
 * the virtual time, the execution context and a site, and carries on as the kernel would
 * (a WARN splat, a lockdep report, a KASAN report). Tests and the harness assert on the log.
 */

export type ViolationKind =
  | 'use_after_free'      // an object used after its memory was released
  | 'double_free'         // an object released twice
  | 'refcount_underflow'  // kref_put / dma_fence_put on a zero count
  | 'leak'                // an object still alive after full teardown
  | 'lockdep_cycle'       // circular lock dependency (AB-BA), incl. pseudo-locks
  | 'lockdep_recursion'   // a lock (or pseudo-lock) acquired while already held
  | 'lockdep_irq_inconsistent' // a class used in hardirq and with hardirqs enabled
  | 'lockdep_irq_order'   // a hardirq-safe lock taken before a hardirq-unsafe one
  | 'lockdep_unlock'      // unlock of a lock not held by this context
  | 'lock_held_at_exit'   // a body returned (or slept) with a spinlock held
  | 'sleep_in_atomic'     // might_sleep() in hardirq/softirq, under a spinlock, irqs off
  | 'gfp_in_atomic'       // a sleeping allocation (GFP_KERNEL) in atomic context
  | 'fence_error_after_signal' // dma_fence_set_error on a signalled fence
  | 'fence_double_signal' // signalling a fence that already signalled
  | 'warn'                // WARN_ON / dev_WARN / WARN_ON_ONCE fired
  | 'bug'                 // BUG_ON fired (the kernel would oops; the model records and goes on)
  | 'hang'                // a wait that can never finish, or a bounded loop hit its bound
  | 'model_error';        // the model itself was used in a way it does not support

export interface Violation {
  readonly kind: ViolationKind;
  readonly time_ns: number;
  /** Execution context name, e.g. "kworker/u:drm-mock-scheduler/0" or "hardirq". */
  readonly context: string;
  /** Where in the model it was detected (function or source position). */
  readonly site: string;
  readonly message: string;
  /** Extra lines, e.g. both acquisition sites of a lockdep cycle. */
  readonly detail: readonly string[];
}

export class ViolationLog {
  readonly list: Violation[] = [];
  private readonly once = new Set<string>();
  /** Called for every violation; the harness uses it for continuous invariant checks. */
  on_record: ((v: Violation) => void) | null = null;

  record(v: Violation): void {
    this.list.push(v);
    if (this.on_record !== null) this.on_record(v);
  }

  /** Record only the first violation with this key (WARN_ON_ONCE, lockdep's one-splat rule). */
  /** Whether record_once(key, ...) has recorded its violation. */
  recorded_once(key: string): boolean {
    return this.once.has(key);
  }

  record_once(key: string, v: Violation): boolean {
    if (this.once.has(key)) return false;
    this.once.add(key);
    this.record(v);
    return true;
  }

  count(kind?: ViolationKind): number {
    if (kind === undefined) return this.list.length;
    let n = 0;
    for (const v of this.list) if (v.kind === kind) n++;
    return n;
  }

  of_kind(kind: ViolationKind): Violation[] {
    return this.list.filter((v) => v.kind === kind);
  }

  /** Human-readable, one violation per block, like a kernel log. */
  format(): string {
    return this.list.map(format_violation).join('\n');
  }
}

export function format_violation(v: Violation): string {
  const head = `[${(v.time_ns / 1e9).toFixed(9)}] ${v.kind} in ${v.context} at ${v.site}: ${v.message}`;
  return v.detail.length === 0 ? head : [head, ...v.detail.map((d) => `    ${d}`)].join('\n');
}
