/**
 * Robustness of a comparison: the same workload and seeds compared again under each variant of
 * a family (a cost-table entry over a range, the named cost profiles, the values of a modelling
 * assumption), and for every metric verdict and every guarantee whether it holds across the
 * family. The defaults of the cost table are estimates and the RFC leaves choices open
 * (docs/cost-model.md, docs/assumptions.md): a conclusion that flips inside the family is a
 * conclusion about the estimate or the choice, not about the schedulers.
 *
 * The sweep is split in three so the command can spread it over worker threads: the seed tasks
 * (sensitivity_tasks), their aggregation (sensitivity_from_outputs), and the text.
 */
import { markdownTable } from 'markdown-table';
import { COST_KEYS, COST_PROFILE_NAMES, known_assumptions, type AssumptionValues, type CostOverrides, type CostProfileName } from '@deplab/sim';
import type { DeviceFactory, DeviceOptions } from '@deplab/driver-api';
import { aggregate, compare_seed, type ComparisonResult, type SeedOutput, type Verdict, type Workload } from '@deplab/harness';
import { pct } from './numbers.ts';
import { judged } from './finding.ts';
import { MAIL_WIDTH, wrap } from './wrap.ts';

/** One way to run the comparison: cost overrides and assumption values on top of the comparison's own. */
export interface Variant {
  readonly label: string;
  readonly costs: CostOverrides;
  readonly assume: AssumptionValues;
}

export interface VariantFamily {
  /** What varies, e.g. "kworker_wakeup_ns" or "cost profile" or "dep.release". */
  readonly name: string;
  readonly variants: readonly Variant[];
}

/** A cost-table entry over values (ns). */
export function cost_entry_family(key: string, values: readonly number[]): VariantFamily {
  if (!(COST_KEYS as readonly string[]).includes(key)) throw new RangeError(`sensitivity: unknown cost entry '${key}' (known: ${COST_KEYS.join(', ')})`);
  if (values.length < 2) throw new RangeError(`sensitivity: ${key} needs at least two values`);
  for (const v of values) if (!Number.isInteger(v) || v < 0) throw new RangeError(`sensitivity: ${key} values must be non-negative integers (ns), got ${v}`);
  return { name: key, variants: [...values].sort((a, b) => a - b).map((v) => ({ label: `${v} ns`, costs: { [key]: v } as CostOverrides, assume: {} })) };
}

/** The cost profiles (docs/cost-model.md) as one family: the whole machine fast, typical, loaded, or without jitter. */
export function cost_profile_family(names: readonly CostProfileName[] = COST_PROFILE_NAMES): VariantFamily {
  for (const n of names) if (!(COST_PROFILE_NAMES as readonly string[]).includes(n)) throw new RangeError(`sensitivity: unknown cost profile '${n}' (known: ${COST_PROFILE_NAMES.join(', ')})`);
  return { name: 'cost profile', variants: names.map((n) => ({ label: n, costs: { profile: n }, assume: {} })) };
}

/**
 * A selectable modelling assumption (docs/assumptions.md) over all its values, or over the
 * values other than its default (readiness, whose base run is the default).
 */
export function assumption_family(id: string, alternatives_only = false): VariantFamily {
  const a = known_assumptions().find((x) => x.id === id);
  if (a === undefined) throw new RangeError(`sensitivity: unknown assumption '${id}' (known: ${known_assumptions().map((x) => x.id).join(', ')})`);
  const values = alternatives_only ? a.values.filter((v) => v !== a.default) : a.values;
  return { name: `assumption ${a.id}`, variants: values.map((v) => ({ label: v, costs: {}, assume: { [a.id]: v } })) };
}

/**
 * The default sweep: the cost profiles (every entry's distribution at once, including the
 * constant table, whose fixed timings can lock two clients' phases), then the two wake-up
 * latencies as constants from fast to very slow, which docs/cost-model.md says conclusions must
 * be swept over; every other entry is tens to hundreds of ns. Then the simulated CPUs' serving
 * order (sim.cpu-order), which decides who waits when the CPUs are contended.
 */
export function default_families(): VariantFamily[] {
  return [
    cost_profile_family(),
    cost_entry_family('kworker_wakeup_ns', [2000, 6000, 20000, 100000]), cost_entry_family('process_wakeup_ns', [2000, 6000, 20000, 100000]),
    assumption_family('sim.cpu-order'),
  ];
}

export const DEFAULT_SENSITIVITY_SEEDS = 3;

/** One seed of one variant: what a worker runs. */
export interface SensitivityTask {
  readonly family: string;
  readonly label: string;
  readonly seed: number;
  readonly costs: CostOverrides;
  readonly assume: AssumptionValues;
}

/** Every (family, variant, seed) to run, in a fixed order, on top of the comparison's own costs and assumptions. */
export function sensitivity_tasks(base: { costs?: CostOverrides; assume?: AssumptionValues }, families: readonly VariantFamily[], seeds: readonly number[]): SensitivityTask[] {
  const out: SensitivityTask[] = [];
  for (const f of families) {
    for (const v of f.variants) {
      for (const seed of seeds) {
        out.push({ family: f.name, label: v.label, seed, costs: { ...base.costs, ...v.costs }, assume: { ...base.assume, ...v.assume } });
      }
    }
  }
  return out;
}

export type Robustness = 'holds' | 'direction holds' | 'depends';

export interface SweptVerdict {
  readonly label: string;
  readonly verdict: Verdict | 'regression' | 'no regression';
  /** Which way the candidate went, if the difference is judged (proven, or exact and not negligible). */
  readonly stance: 'better' | 'worse' | 'regression' | 'none';
  readonly delta_rel: number;
}

export interface SweptItem {
  /** A metric name, or "guarantee <id>" for behaviour. */
  readonly name: string;
  readonly by_variant: readonly SweptVerdict[];
  readonly robustness: Robustness;
}

export interface SweptFamily {
  readonly name: string;
  readonly labels: readonly string[];
  readonly items: readonly SweptItem[];
}

export interface SensitivityResult {
  readonly workload: string;
  readonly driver: string;
  readonly seeds: readonly number[];
  readonly families: readonly SweptFamily[];
}

/** holds: the same verdict throughout; direction holds: the same stance; depends: otherwise. */
export function robustness(points: readonly Pick<SweptVerdict, 'verdict' | 'stance'>[]): Robustness {
  if (points.every((v) => v.verdict === points[0].verdict)) return 'holds';
  if (points.every((v) => v.stance === points[0].stance)) return 'direction holds';
  return 'depends';
}

/** The items of one comparison that a sweep tracks: every comparable metric, and each guarantee as regression / no regression. */
function items_of(r: ComparisonResult): Map<string, Omit<SweptVerdict, 'label'>> {
  const out = new Map<string, Omit<SweptVerdict, 'label'>>();
  for (const m of r.metrics) {
    if (!m.comparable) continue;
    const c = m.comparison;
    const stance = !judged(m) ? 'none' : (c.delta < 0) === m.lower_is_better ? 'better' : 'worse';
    out.set(m.name, { verdict: c.verdict, stance, delta_rel: c.delta_rel });
  }
  for (const g of r.guarantees) {
    if (g.checked.baseline + g.checked.candidate === 0) continue;
    const reg = g.diff.regression > 0;
    out.set(`guarantee ${g.id}`, { verdict: reg ? 'regression' : 'no regression', stance: reg ? 'regression' : 'none', delta_rel: NaN });
  }
  return out;
}

/** Aggregate the outputs of sensitivity_tasks (same order) into verdicts per family and variant. */
export function sensitivity_from_outputs(workload: Workload, driver: string, tasks: readonly SensitivityTask[], outputs: readonly SeedOutput[],
  device?: DeviceOptions): SensitivityResult {
  if (tasks.length !== outputs.length) throw new RangeError(`sensitivity: ${tasks.length} tasks but ${outputs.length} outputs`);
  const groups = new Map<string, { family: string; label: string; costs: CostOverrides; assume: AssumptionValues; outputs: SeedOutput[] }>();
  tasks.forEach((t, i) => {
    const id = `${t.family}\u0000${t.label}`;
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { family: t.family, label: t.label, costs: t.costs, assume: t.assume, outputs: [] }));
    g.outputs.push(outputs[i]);
  });
  const names = [...new Set(tasks.map((t) => t.family))];
  const families: SweptFamily[] = names.map((name) => {
    const points = [...groups.values()].filter((g) => g.family === name)
      .map((g) => ({ label: g.label, items: items_of(aggregate(workload, driver, g.outputs, { costs: g.costs, assume: g.assume, device })) }));
    const item_names = [...new Set(points.flatMap((p) => [...p.items.keys()]))];
    const items: SweptItem[] = item_names.map((item) => {
      const by_variant: SweptVerdict[] = points.map((p) => ({ label: p.label, ...(p.items.get(item) ?? { verdict: 'identical', stance: 'none', delta_rel: NaN }) }));
      return { name: item, by_variant, robustness: robustness(by_variant) };
    });
    return { name, labels: points.map((p) => p.label), items };
  });
  return { workload: workload.name, driver, seeds: [...new Set(tasks.map((t) => t.seed))].sort((a, b) => a - b), families };
}

export interface SensitivityOptions {
  readonly families?: readonly VariantFamily[];
  readonly seeds?: readonly number[];
  readonly costs?: CostOverrides;
  readonly assume?: AssumptionValues;
  readonly device?: DeviceOptions;
}

/** The whole sweep in this thread (tests, small sweeps); the command uses worker threads. */
export function run_sensitivity(workload: Workload, driver: string, factory: DeviceFactory, options: SensitivityOptions = {}): SensitivityResult {
  const seeds = options.seeds ?? Array.from({ length: DEFAULT_SENSITIVITY_SEEDS }, (_, i) => i + 1);
  const tasks = sensitivity_tasks(options, options.families ?? default_families(), seeds);
  const outputs = tasks.map((t) => compare_seed(workload, factory, t.seed, { costs: t.costs, assume: t.assume, device: options.device }));
  return sensitivity_from_outputs(workload, driver, tasks, outputs, options.device);
}

function cell(v: SweptVerdict): string {
  return Number.isFinite(v.delta_rel) && v.verdict !== 'identical' ? `${v.verdict} (${pct(v.delta_rel)})` : v.verdict;
}

/** Where a verdict that depends on the family changes, e.g. "better at 2000 ns..6000 ns, worse at 20000 ns". */
function describe_change(m: SweptItem): string {
  const runs: { verdict: string; from: string; to: string }[] = [];
  for (const v of m.by_variant) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.verdict === v.verdict) last.to = v.label;
    else runs.push({ verdict: v.verdict, from: v.label, to: v.label });
  }
  return runs.map((r) => `${r.verdict} at ${r.from === r.to ? r.from : `${r.from}..${r.to}`}`).join(', ');
}

/** One line per family: what holds and what depends on it. */
export function robustness_summary(s: SensitivityResult): string[] {
  return s.families.map((f) => {
    const depends = f.items.filter((m) => m.robustness === 'depends');
    return depends.length === 0 ? `${f.name} (${f.labels.join(', ')}): every verdict keeps its direction.`
      : `${f.name} (${f.labels.join(', ')}): depends for ${depends.map((m) => `${m.name} (${describe_change(m)})`).join('; ')}.`;
  });
}

/** The report section: a summary per family, then every item under every variant. */
export function sensitivity_markdown(s: SensitivityResult, root = '../../'): string {
  const out: string[] = [
    `Each family below was run variant by variant on seeds ${s.seeds.join(', ')} (fewer seeds than the main table, so a verdict here can be weaker). ` +
    'A verdict **holds** if it is the same under every variant, its **direction holds** if the candidate stays better, worse or neither throughout ' +
    '(for a guarantee: regresses or not throughout), and it **depends** on the family otherwise. ' +
    `How to read it: [docs/reports.md](${root}docs/reports.md#sensitivity).`, '',
  ];
  for (const f of s.families) {
    out.push(`### ${f.name}`, '', robustness_summary({ ...s, families: [f] })[0], '');
    const rows = [['item', ...f.labels, 'over the family']];
    for (const m of f.items) rows.push([m.name, ...m.by_variant.map(cell), m.robustness]);
    out.push(markdownTable(rows, { align: ['l', ...f.labels.map(() => 'r' as const), 'l'] }), '');
  }
  return out.join('\n');
}

/** The same as plain text, for `deplab compare --format text` (80 columns). */
export function sensitivity_text(s: SensitivityResult): string {
  const out: string[] = [`Sensitivity (seeds ${s.seeds.join(', ')}):`];
  for (const f of s.families) {
    out.push('', `  ${f.name}: ${f.labels.join(', ')}`);
    for (const m of f.items) {
      const detail = m.robustness === 'depends' ? `: ${describe_change(m)}` : ` (${m.by_variant[0].verdict})`;
      const line = `    ${m.name.padEnd(34)} ${m.robustness}${detail}`;
      out.push(...wrap(line, MAIL_WIDTH, ' '.repeat(6)));
    }
  }
  return out.join('\n') + '\n';
}
