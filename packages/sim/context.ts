/**
 * Execution contexts and the rules attached to them.
 *
 *   kind      may sleep  GFP_KERNEL  where it comes from
 *   process   yes        yes         spawned tasks (user threads, KUnit threads), the init context
 *   kworker   yes        yes         one per workqueue worker
 *   softirq   no         no          timer_list and delayed-work timers
 *   hardirq   no         no          device interrupts and hrtimer callbacks
 *
 * A context also carries what lockdep needs: its held-lock stack and whether hardirqs are
 * disabled. Whether it sits in a dma-fence signalling section is a held pseudo-lock
 * (dma_fence_map), so the same stack answers that question.
 */
import type { LockClass } from './lockdep.ts';
import type { Site } from './kernel.ts';

export type ContextKind = 'process' | 'kworker' | 'softirq' | 'hardirq';

export interface HeldLock {
  readonly cls: LockClass;
  readonly read: boolean;
  /** Where it was taken (formatted when printed). */
  readonly site: Site;
  /** The lock object (spinlock_t, mutex, lockdep_map) to release it by identity. */
  readonly instance: object;
}

export class ExecContext {
  readonly kind: ContextKind;
  readonly name: string;
  readonly held: HeldLock[] = [];
  /** local_irq_save / spin_lock_irqsave nesting depth. */
  irqs_off = 0;
  /** Spinlocks held (preempt_count stand-in): sleeping is illegal while > 0. */
  atomic = 0;
  /** The last value ktime_get() returned in this context (reads are strictly increasing). */
  ktime_last_ns = -1;

  constructor(kind: ContextKind, name: string) {
    this.kind = kind;
    this.name = name;
  }

  get may_sleep(): boolean {
    return (this.kind === 'process' || this.kind === 'kworker') && this.atomic === 0 && this.irqs_off === 0;
  }

  get in_irq(): boolean {
    return this.kind === 'hardirq';
  }

  /** in_atomic(): hardirq, softirq, spinlock held or irqs disabled. */
  get in_atomic(): boolean {
    return !this.may_sleep;
  }

  get hardirqs_enabled(): boolean {
    return this.kind !== 'hardirq' && this.irqs_off === 0;
  }

  holds(instance: object): boolean {
    for (let i = this.held.length - 1; i >= 0; i--) if (this.held[i].instance === instance) return true;
    return false;
  }

  holds_class_named(name: string): boolean {
    for (const h of this.held) if (h.cls.name === name) return true;
    return false;
  }
}
