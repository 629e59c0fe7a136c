/**
 * Exploration data: a case is a plain (workload, seed, options) triple plus the driver, the
 * backend and how same-instant races are ordered; everything here is JSON-safe so cases travel
 * to worker threads and into replay tokens unchanged.
 */
import type { CostOverrides } from '@deplab/sim';
import type { Backend } from '@deplab/driver-api';
import type { Workload } from '../workload/types.ts';

/** Faults a campaign may inject (the --faults names). */
export const FAULT_KINDS = [
  'hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'destroy', 'unplug', 'alloc-fail', 'irq-burst',
  'slow-kworker', 'spurious-timeout',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How the tie-breaker orders events allowed to race (same time and phase). */
export const STRATEGIES = ['fifo', 'random', 'pct'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export type OptionValue = number | string | boolean;

export interface CaseOptions {
  /** Device options (DeviceOptions.driver): driver variants, timeouts, drm_dep flags. */
  readonly device: Readonly<Record<string, OptionValue>>;
  /** Cost-table overrides (numeric entries only, e.g. a slow kworker). */
  readonly costs: CostOverrides;
  /** kernel.faults.alloc_fail_probability: non-sleeping allocations that fail. */
  readonly alloc_fail_probability: number;
  /** PCT parameters (strategy 'pct'). */
  readonly pct_depth: number;
  readonly pct_horizon: number;
  /** Selected modelling assumptions (packages/sim/assumptions.ts); absent: the defaults. */
  readonly assume?: Readonly<Record<string, string>>;
  /**
   * 'compare': the run of a comparison (its time limits and checks, FIFO order), so a token
   * printed beside a comparison's regression replays that run; absent: an exploration run.
   */
  readonly mode?: 'compare';
  /**
   * Preemption points (KernelOptions.preemption): the strategy may also run a due interrupt
   * or another CPU's work nested inside a body. Absent means off (tokens without it replay
   * as before).
   */
  readonly preempt?: boolean;
}

export interface ExploreCase {
  readonly driver: string;
  readonly backend: Backend;
  readonly workload: Workload;
  readonly seed: number;
  readonly strategy: Strategy;
  /**
   * Recorded tie-breaker choices to replay exactly (EventQueue.choices), or null to let the
   * strategy choose. Past the end of the record the replay picks FIFO.
   */
  readonly choices: readonly number[] | null;
  readonly options: CaseOptions;
}

/** One broken invariant in one run. `site` is where it was seen; kind + site identify it. */
export interface Finding {
  readonly kind: string;
  readonly site: string;
  readonly message: string;
  /** Virtual time it was detected (the timeline ends here). */
  readonly time_ns: number;
}

export function finding_key(f: { kind: string; site: string }): string {
  return `${f.kind} @ ${f.site}`;
}

/** Counters that show which interesting interleavings a run reached (coverage.ts). */
export type Coverage = Record<string, number>;
