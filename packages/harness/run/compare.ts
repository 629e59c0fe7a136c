/**
 * A/B comparison: one workload on one driver, both backends, N seeds. Seeds pair the runs:
 * seed s on drm_sched and seed s on drm_dep draw the same workload numbers, so per-seed
 * differences carry the comparison (paired statistics), and a behaviour diff per seed says
 * what differs beyond timing.
 */
import { RandomStream, make_cost_table, type CostOverrides, type CostTable } from '@deplab/sim';
import type { DeviceFactory, DeviceOptions } from '@deplab/driver-api';
import { bootstrap_percentile_delta, paired_compare, type BootstrapInterval, type PairedComparison } from '../stats/stats.ts';
import type { Workload } from '../workload/types.ts';
import { diff_runs, type DiffClass, type JobDiff, type QueueDiff, type Unmatched, type ViolationDiff } from './diff.ts';
import { SCALAR_METRICS, compute_metrics, type RunMetrics } from './metrics.ts';
import { observe, type JobRecord } from './observer.ts';
import { run_workload, type RunOptions } from './runner.ts';

export interface CompareOptions {
  readonly seeds: readonly number[];
  readonly costs?: CostOverrides;
  readonly device?: DeviceOptions;
  readonly max_time_ms?: number;
}

export interface MetricComparison {
  readonly name: string;
  readonly lower_is_better: boolean;
  readonly sched: readonly number[];
  readonly dep: readonly number[];
  readonly comparison: PairedComparison;
}

export interface SeedResult {
  readonly seed: number;
  readonly sched: RunMetrics;
  readonly dep: RunMetrics;
  readonly digest_sched: string;
  readonly digest_dep: string;
  readonly stuck_sched: string | null;
  readonly stuck_dep: string | null;
  readonly diff_counts: Readonly<Record<DiffClass, number>>;
  /** Jobs not compared because the other side's program ran fewer iterations. */
  readonly unmatched: Unmatched;
}

export interface DiffExample {
  readonly seed: number;
  readonly diff: JobDiff;
}

export interface ComparisonResult {
  readonly workload: { readonly name: string; readonly source: string; readonly description: string; readonly notes: readonly string[] };
  readonly driver: string;
  readonly seeds: readonly number[];
  readonly costs: CostTable;
  readonly metrics: readonly MetricComparison[];
  readonly percentile_bootstrap: readonly { readonly name: string; readonly interval: BootstrapInterval }[];
  readonly diff_counts: Readonly<Record<DiffClass, number>>;
  readonly unmatched: Unmatched;
  /** One example job per (class, reason), first seed it appeared in. */
  readonly diff_examples: readonly DiffExample[];
  readonly queue_diffs: readonly (QueueDiff & { readonly seed: number })[];
  readonly violation_diffs: readonly (ViolationDiff & { readonly seed: number })[];
  readonly violations: { readonly sched: Readonly<Record<string, number>>; readonly dep: Readonly<Record<string, number>> };
  readonly per_seed: readonly SeedResult[];
}

/** What one seed contributes: both runs' metrics, latency samples and behaviour diff. Plain data. */
export interface SeedOutput {
  readonly seed: number;
  readonly result: SeedResult;
  readonly latency_sched: readonly number[];
  readonly latency_dep: readonly number[];
  readonly examples: readonly DiffExample[];
  readonly queue_diffs: readonly (QueueDiff & { readonly seed: number })[];
  readonly violation_diffs: readonly (ViolationDiff & { readonly seed: number })[];
  readonly violations_sched: Readonly<Record<string, number>>;
  readonly violations_dep: Readonly<Record<string, number>>;
}

/** Run one seed on both backends and diff them. */
export function compare_seed(workload: Workload, factory: DeviceFactory, seed: number, options: Omit<CompareOptions, 'seeds'>): SeedOutput {
  const run_options: RunOptions = { seed, costs: options.costs, device: options.device, max_time_ms: options.max_time_ms };
  const a = run_workload(workload, factory, 'sched', run_options);
  const b = run_workload(workload, factory, 'dep', run_options);
  const oa = observe(a), ob = observe(b);
  const d = diff_runs(oa, ob, a.kernel.violations.list, b.kernel.violations.list);
  const examples = new Map<string, DiffExample>();
  for (const j of d.jobs) {
    if (j.cls === 'equivalent') continue;
    const key = `${j.cls}|${j.reason}`;
    if (!examples.has(key)) examples.set(key, { seed, diff: j });
  }
  const count = (list: readonly { kind: string }[]) => {
    const out: Record<string, number> = {};
    for (const v of list) out[v.kind] = (out[v.kind] ?? 0) + 1;
    return out;
  };
  return {
    seed,
    result: {
      seed, sched: compute_metrics(a, oa), dep: compute_metrics(b, ob), digest_sched: a.kernel.trace.digest(),
      digest_dep: b.kernel.trace.digest(), stuck_sched: a.stuck, stuck_dep: b.stuck, diff_counts: d.counts, unmatched: d.unmatched,
    },
    latency_sched: latency_samples(oa.jobs),
    latency_dep: latency_samples(ob.jobs),
    examples: [...examples.values()],
    queue_diffs: d.queues.filter((q) => q.cls !== 'equivalent').map((q) => ({ ...q, seed })),
    violation_diffs: d.violations.map((v) => ({ ...v, seed })),
    violations_sched: count(a.kernel.violations.list),
    violations_dep: count(b.kernel.violations.list),
  };
}

/** Combine per-seed outputs (in seed order) into the comparison. */
export function aggregate(workload: Workload, driver: string, costs: CostTable, outputs: readonly SeedOutput[]): ComparisonResult {
  if (outputs.length === 0) throw new RangeError('aggregate: no seeds');
  const sorted = [...outputs].sort((x, y) => x.seed - y.seed);
  const per_seed = sorted.map((o) => o.result);
  const totals: Record<DiffClass, number> = { equivalent: 0, 'expected difference': 0, regression: 0 };
  const examples = new Map<string, DiffExample>();
  const viol = { sched: {} as Record<string, number>, dep: {} as Record<string, number> };
  for (const o of sorted) {
    for (const cls of Object.keys(totals) as DiffClass[]) totals[cls] += o.result.diff_counts[cls];
    for (const e of o.examples) {
      const key = `${e.diff.cls}|${e.diff.reason}`;
      if (!examples.has(key)) examples.set(key, e);
    }
    for (const [k, n] of Object.entries(o.violations_sched)) viol.sched[k] = (viol.sched[k] ?? 0) + n;
    for (const [k, n] of Object.entries(o.violations_dep)) viol.dep[k] = (viol.dep[k] ?? 0) + n;
  }
  const metrics: MetricComparison[] = SCALAR_METRICS.map((m) => {
    const sched = per_seed.map((s) => m.pick(s.sched));
    const dep = per_seed.map((s) => m.pick(s.dep));
    return { name: m.name, lower_is_better: m.lower_is_better, sched, dep, comparison: paired_compare(sched, dep, m.lower_is_better) };
  }).filter((m) => m.sched.every(Number.isFinite) && m.dep.every(Number.isFinite));
  const stream = new RandomStream(sorted[0].seed, `bootstrap/${workload.name}/${driver}`);
  const percentile_bootstrap = [0.5, 0.99].map((p) => ({
    name: `submit_to_finished_us.p${Math.round(p * 100)}`,
    interval: bootstrap_percentile_delta(sorted.map((o) => o.latency_sched), sorted.map((o) => o.latency_dep), p, stream, 500),
  })).filter((b) => Number.isFinite(b.interval.estimate));
  return {
    workload: { name: workload.name, source: workload.source, description: workload.description, notes: workload.notes.map((n) => `${n.kind}: ${n.message}`) },
    driver, seeds: sorted.map((o) => o.seed), costs, metrics, percentile_bootstrap, diff_counts: totals,
    unmatched: {
      sched_only: per_seed.reduce((n, s) => n + s.unmatched.sched_only, 0),
      dep_only: per_seed.reduce((n, s) => n + s.unmatched.dep_only, 0),
    },
    diff_examples: [...examples.values()], queue_diffs: sorted.flatMap((o) => o.queue_diffs),
    violation_diffs: sorted.flatMap((o) => o.violation_diffs), violations: viol, per_seed,
  };
}

/** Compare in this thread, seed after seed (the CLI spreads seeds over worker threads). */
export function compare(workload: Workload, driver: string, factory: DeviceFactory, options: CompareOptions): ComparisonResult {
  if (options.seeds.length === 0) throw new RangeError('compare: at least one seed is needed');
  const outputs = options.seeds.map((seed) => compare_seed(workload, factory, seed, options));
  return aggregate(workload, driver, make_cost_table(options.costs), outputs);
}

function latency_samples(jobs: readonly JobRecord[]): number[] {
  const out: number[] = [];
  for (const j of jobs) if (j.finished_ns >= 0) out.push((j.finished_ns - j.submitted_ns) / 1000);
  return out;
}
