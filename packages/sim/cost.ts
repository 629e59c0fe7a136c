/**
 * The cost table: how long simulated kernel operations take, in ns. One table per run; the
 * defaults and their sources are in docs/cost-model.md. Reports print the table they used,
 * and sweeps override single entries to show whether a conclusion depends on one.
 */

export interface CostTable {
  /** Idle kworker woken by queue_work until it runs the item (scheduler wake-up latency). */
  readonly kworker_wakeup_ns: number;
  /** A busy kworker moving on to the next item of its pool. */
  readonly work_dispatch_ns: number;
  /** A sleeping process task woken (wake_up, complete, fence callback) until it runs. */
  readonly process_wakeup_ns: number;
  /** Hardirq entry and exit around a device interrupt handler. */
  readonly hardirq_entry_ns: number;
  /** Softirq/timer-wheel callback entry (timer_list, delayed work timers). */
  readonly softirq_entry_ns: number;
  /** An uncontended spinlock acquire+release. */
  readonly spin_lock_ns: number;
  /** An uncontended mutex acquire+release. */
  readonly mutex_lock_ns: number;
  /** kmalloc / kmem_cache_alloc fast path. */
  readonly kmalloc_ns: number;
  /** kfree fast path. */
  readonly kfree_ns: number;
  /** dma_fence_signal bookkeeping without callbacks. */
  readonly fence_signal_ns: number;
  /** Each dma_fence callback invoked by a signal. */
  readonly fence_callback_ns: number;
  /** Named driver costs (e.g. "xe.run_job_ns"); drivers read them with Kernel.cost_of. */
  readonly driver: Readonly<Record<string, number>>;
}

export const DEFAULT_COSTS: CostTable = Object.freeze({
  kworker_wakeup_ns: 6_000,
  work_dispatch_ns: 300,
  process_wakeup_ns: 6_000,
  hardirq_entry_ns: 1_000,
  softirq_entry_ns: 500,
  spin_lock_ns: 20,
  mutex_lock_ns: 40,
  kmalloc_ns: 100,
  kfree_ns: 60,
  fence_signal_ns: 150,
  fence_callback_ns: 50,
  driver: Object.freeze({}),
});

type NumericCostKey = Exclude<keyof CostTable, 'driver'>;

export const COST_KEYS: readonly NumericCostKey[] = [
  'kworker_wakeup_ns', 'work_dispatch_ns', 'process_wakeup_ns', 'hardirq_entry_ns',
  'softirq_entry_ns', 'spin_lock_ns', 'mutex_lock_ns', 'kmalloc_ns', 'kfree_ns',
  'fence_signal_ns', 'fence_callback_ns',
];

export type CostOverrides = Partial<Omit<CostTable, 'driver'>> & { driver?: Record<string, number> };

/** A table with some entries replaced. Every value must be a non-negative integer ns. */
export function make_cost_table(overrides: CostOverrides = {}): CostTable {
  // A misspelt entry in a sweep would otherwise run silently with the default.
  for (const key of Object.keys(overrides)) {
    if (key !== 'driver' && !(COST_KEYS as readonly string[]).includes(key)) {
      throw new RangeError(`unknown cost entry ${key} (known: ${COST_KEYS.join(', ')}, driver)`);
    }
  }
  const table = { ...DEFAULT_COSTS, ...overrides, driver: { ...DEFAULT_COSTS.driver, ...(overrides.driver ?? {}) } };
  for (const key of COST_KEYS) check_cost(key, table[key]);
  for (const [key, value] of Object.entries(table.driver)) check_cost(`driver.${key}`, value);
  return Object.freeze(table);
}

function check_cost(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`cost ${name} must be a non-negative integer number of ns, got ${String(value)}`);
  }
}
