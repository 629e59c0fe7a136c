/**
 * What `deplab compare` and `deplab report` add to a comparison besides the tables: the SVG
 * charts (re-running the first seed in this thread) and the cost-table sensitivity sweep
 * (its seeds spread over the worker pool like the comparison's own).
 */
import type { CostOverrides } from '@deplab/sim';
import { builtins_for, type ComparisonResult, type DriverEntry, type SeedOutput, type Workload } from '@deplab/harness';
import {
  DEFAULT_SENSITIVITY_SEEDS, DEFAULT_SWEEP, sensitivity_tasks, write_comparison_charts, type SensitivityTask, type SweepEntry,
} from '@deplab/report';
import type { SeedTask } from './pool.ts';

/** Write the charts of a comparison beside its report; returns the Markdown of the Charts section. */
export function write_charts(d: DriverEntry, workload: Workload, result: ComparisonResult, outputs: readonly SeedOutput[], dir: string, basename: string,
  builtin_device: Readonly<Record<string, number | string | boolean>> = {}): string {
  // The same device options as the pool's seed tasks, so the re-run seed is the compared one.
  return write_comparison_charts(result, workload, d.factory, dir, basename, {
    device: { driver: { ...d.defaults.driver, ...builtin_device } },
    latency: { sched: outputs.map((o) => o.latency_sched), dep: outputs.map((o) => o.latency_dep) },
  });
}

export interface SensitivityPlan {
  readonly sweep: readonly SweepEntry[];
  readonly seeds: number;
}

export const DEFAULT_PLAN: SensitivityPlan = { sweep: DEFAULT_SWEEP, seeds: DEFAULT_SENSITIVITY_SEEDS };

/** --sensitivity-cost key=v1,v2,... (repeatable) into sweep entries; the caller checks the keys. */
export function parse_sweep(list: readonly string[]): SweepEntry[] | null {
  const out: SweepEntry[] = [];
  for (const item of list) {
    const m = /^([a-z_]+)=(\d+(?:,\d+)+)$/.exec(item);
    if (m === null) return null;
    out.push({ key: m[1], values: m[2].split(',').map(Number).sort((a, b) => a - b) });
  }
  return out;
}

/** The pool tasks of a sweep, beside the sweep tasks sensitivity_from_outputs needs. */
export function sensitivity_plan_tasks(driver: string, workload: string, base: CostOverrides, plan: SensitivityPlan): { tasks: SeedTask[]; sweep: SensitivityTask[] } {
  const sweep = sensitivity_tasks(base, plan.sweep, Array.from({ length: plan.seeds }, (_, i) => i + 1));
  return { sweep, tasks: sweep.map((t) => ({ driver, workload, seed: t.seed, costs: t.costs })) };
}

/**
 * The workload `deplab report` sweeps for a driver: its first default gem_wsim workload (a
 * realistic frame-paced load, and cheap), else its first default workload.
 */
export function representative_workload(driver: string): string | null {
  const defaults = builtins_for(driver, true);
  return (defaults.find((w) => w.name.startsWith('wsim/')) ?? defaults[0])?.name ?? null;
}
