/**
 * Sensitivity of a comparison to the cost table: the same workload and seeds compared again
 * with one cost entry set to each of several values, and for every metric whether its verdict
 * holds over the range. The cost table's defaults are estimates (docs/cost-model.md), so a
 * conclusion that flips inside the plausible range of an entry is a conclusion about the
 * estimate, not about the schedulers.
 *
 * The sweep is split in three so the command can spread it over worker threads: the seed
 * tasks (sensitivity_tasks), their aggregation (sensitivity_from_outputs), and the text.
 */
import { markdownTable } from 'markdown-table';
import { COST_KEYS, make_cost_table, type CostOverrides } from '@deplab/sim';
import type { DeviceFactory, DeviceOptions } from '@deplab/driver-api';
import { aggregate, compare_seed, type SeedOutput, type Verdict, type Workload } from '@deplab/harness';

export interface SweepEntry {
  /** A cost-table entry (COST_KEYS). */
  readonly key: string;
  /** Values in ns, ascending. */
  readonly values: readonly number[];
}

/**
 * The default sweep: the two wake-up latencies, which docs/cost-model.md says conclusions
 * must be swept over (2..100 µs); every other entry is tens to hundreds of ns.
 */
export const DEFAULT_SWEEP: readonly SweepEntry[] = [
  { key: 'kworker_wakeup_ns', values: [2000, 6000, 20000, 100000] },
  { key: 'process_wakeup_ns', values: [2000, 6000, 20000, 100000] },
];

export const DEFAULT_SENSITIVITY_SEEDS = 3;

/** One seed of one swept value: what a worker runs. */
export interface SensitivityTask {
  readonly key: string;
  readonly value: number;
  readonly seed: number;
  readonly costs: CostOverrides;
}

export function check_sweep(sweep: readonly SweepEntry[]): void {
  for (const e of sweep) {
    if (!(COST_KEYS as readonly string[]).includes(e.key)) throw new RangeError(`sensitivity: unknown cost entry '${e.key}' (known: ${COST_KEYS.join(', ')})`);
    if (e.values.length < 2) throw new RangeError(`sensitivity: ${e.key} needs at least two values`);
    for (const v of e.values) if (!Number.isInteger(v) || v < 0) throw new RangeError(`sensitivity: ${e.key} values must be non-negative integers (ns), got ${v}`);
  }
}

/** Every (entry, value, seed) to run, in a fixed order; `base` are the comparison's own overrides. */
export function sensitivity_tasks(base: CostOverrides, sweep: readonly SweepEntry[], seeds: readonly number[]): SensitivityTask[] {
  check_sweep(sweep);
  const out: SensitivityTask[] = [];
  for (const e of sweep) {
    for (const value of e.values) for (const seed of seeds) out.push({ key: e.key, value, seed, costs: { ...base, [e.key]: value } });
  }
  return out;
}

/** The verdict of one metric at one value of the swept entry. */
export interface SweptVerdict {
  readonly value: number;
  readonly verdict: Verdict;
  readonly delta_rel: number;
}

export type Robustness = 'holds' | 'direction holds' | 'depends';

export interface SweptMetric {
  readonly name: string;
  readonly by_value: readonly SweptVerdict[];
  readonly robustness: Robustness;
}

export interface SweptEntry {
  readonly key: string;
  readonly values: readonly number[];
  readonly metrics: readonly SweptMetric[];
}

export interface SensitivityResult {
  readonly workload: string;
  readonly driver: string;
  readonly seeds: readonly number[];
  readonly entries: readonly SweptEntry[];
}

/** better / worse, or no practical difference (negligible, not proven, identical). */
function direction(v: Verdict): 'better' | 'worse' | 'none' {
  return v === 'better' || v === 'worse' ? v : 'none';
}

export function robustness(verdicts: readonly Verdict[]): Robustness {
  if (verdicts.every((v) => v === verdicts[0])) return 'holds';
  if (verdicts.every((v) => direction(v) === direction(verdicts[0]))) return 'direction holds';
  return 'depends';
}

/** Aggregate the outputs of sensitivity_tasks (same order) into verdicts per entry and value. */
export function sensitivity_from_outputs(workload: Workload, driver: string, tasks: readonly SensitivityTask[], outputs: readonly SeedOutput[]): SensitivityResult {
  if (tasks.length !== outputs.length) throw new RangeError(`sensitivity: ${tasks.length} tasks but ${outputs.length} outputs`);
  const groups = new Map<string, { key: string; value: number; costs: CostOverrides; outputs: SeedOutput[] }>();
  tasks.forEach((t, i) => {
    const id = `${t.key}=${t.value}`;
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { key: t.key, value: t.value, costs: t.costs, outputs: [] }));
    g.outputs.push(outputs[i]);
  });
  const keys = [...new Set(tasks.map((t) => t.key))];
  const entries: SweptEntry[] = keys.map((key) => {
    const points = [...groups.values()].filter((g) => g.key === key).sort((a, b) => a.value - b.value)
      .map((g) => ({ value: g.value, result: aggregate(workload, driver, make_cost_table(g.costs), g.outputs) }));
    const names = points[0].result.metrics.map((m) => m.name);
    const metrics: SweptMetric[] = names.map((name) => {
      const by_value = points.map((p) => {
        const m = p.result.metrics.find((x) => x.name === name);
        return { value: p.value, verdict: m?.comparison.verdict ?? 'no difference proven', delta_rel: m?.comparison.delta_rel ?? NaN };
      });
      return { name, by_value, robustness: robustness(by_value.map((v) => v.verdict)) };
    });
    return { key, values: points.map((p) => p.value), metrics };
  });
  return { workload: workload.name, driver, seeds: [...new Set(tasks.map((t) => t.seed))].sort((a, b) => a - b), entries };
}

export interface SensitivityOptions {
  readonly sweep?: readonly SweepEntry[];
  readonly seeds?: readonly number[];
  readonly costs?: CostOverrides;
  readonly device?: DeviceOptions;
}

/** The whole sweep in this thread (tests, small sweeps); the command uses worker threads. */
export function run_sensitivity(workload: Workload, driver: string, factory: DeviceFactory, options: SensitivityOptions = {}): SensitivityResult {
  const seeds = options.seeds ?? Array.from({ length: DEFAULT_SENSITIVITY_SEEDS }, (_, i) => i + 1);
  const tasks = sensitivity_tasks(options.costs ?? {}, options.sweep ?? DEFAULT_SWEEP, seeds);
  const outputs = tasks.map((t) => compare_seed(workload, factory, t.seed, { costs: t.costs, device: options.device }));
  return sensitivity_from_outputs(workload, driver, tasks, outputs);
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : 'n/a';
}

function cell(v: SweptVerdict): string {
  return v.verdict === 'identical' ? 'identical' : `${v.verdict} (${pct(v.delta_rel)})`;
}

/** Where a verdict that depends on the entry changes, e.g. "better at 2000..6000, worse at 20000..100000". */
function describe_change(m: SweptMetric): string {
  const runs: { verdict: Verdict; from: number; to: number }[] = [];
  for (const v of m.by_value) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.verdict === v.verdict) last.to = v.value;
    else runs.push({ verdict: v.verdict, from: v.value, to: v.value });
  }
  return runs.map((r) => `${r.verdict} at ${r.from === r.to ? r.from : `${r.from}..${r.to}`}`).join(', ');
}

/** The report section: a summary per swept entry, then the verdict of every metric at every value. */
export function sensitivity_markdown(s: SensitivityResult): string {
  const out: string[] = [
    `Each cost entry below was set to each value in turn and the comparison repeated on seeds ${s.seeds.join(', ')} ` +
    '(fewer seeds than the main table, so a verdict here can be weaker). A verdict **holds** if it is the same at every value, ' +
    'its **direction holds** if drm_dep stays better, worse or neither throughout, and it **depends** on the entry otherwise. ' +
    'How to read it: [docs/reports.md](../../docs/reports.md#sensitivity).', '',
  ];
  for (const e of s.entries) {
    const depends = e.metrics.filter((m) => m.robustness === 'depends');
    out.push(`### ${e.key} = ${e.values.join(', ')} ns`, '');
    out.push(depends.length === 0
      ? `Every verdict keeps its direction over ${e.values[0]}..${e.values[e.values.length - 1]} ns.`
      : `Verdicts that depend on ${e.key}: ${depends.map((m) => `${m.name} (${describe_change(m)})`).join('; ')}.`, '');
    const rows = [['metric', ...e.values.map((v) => String(v)), 'verdict over the range']];
    for (const m of e.metrics) rows.push([m.name, ...m.by_value.map(cell), m.robustness]);
    out.push(markdownTable(rows, { align: ['l', ...e.values.map(() => 'r' as const), 'l'] }), '');
  }
  return out.join('\n');
}

/** The same as plain text, for `deplab compare --format text`. */
export function sensitivity_text(s: SensitivityResult): string {
  const out: string[] = [`Sensitivity (seeds ${s.seeds.join(', ')}):`];
  for (const e of s.entries) {
    out.push('', `  ${e.key} = ${e.values.join(', ')} ns`);
    for (const m of e.metrics) {
      const detail = m.robustness === 'depends' ? `: ${describe_change(m)}` : ` (${m.by_value[0].verdict})`;
      out.push(`    ${m.name.padEnd(36)} ${m.robustness}${detail}`);
    }
  }
  return out.join('\n') + '\n';
}
