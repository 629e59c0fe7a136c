/**
 * The one-sentence main finding of a comparison, derived from its data (never written by
 * hand): a guarantee regression first; else a significant difference in how jobs caught in a
 * race end; else the largest judged performance differences, with the mechanism the data shows
 * where the run monitor measured one (pipelining of same-ring dependencies, jobs on the hardware
 * at once, a queue's jobs run back to back) and whether the two sides ran the same jobs.
 */
import { ALPHA, holm_adjust, is_negligible, type ComparisonResult, type MetricComparison, type PairedComparison } from '@deplab/harness';
import { backend_label } from './labels.ts';
import type { SensitivityResult } from './sensitivity.ts';
import { metric_value, p_value, signed } from './numbers.ts';

/**
 * A judged difference: proven and not negligible, or exact on every seed and not negligible by
 * the same rule (is_negligible: below both the relative and the absolute threshold).
 */
export function judged(m: MetricComparison): boolean {
  const c = m.comparison;
  if (!m.comparable) return false;
  if (c.verdict === 'better' || c.verdict === 'worse') return true;
  if (c.verdict !== 'deterministic') return false;
  return !is_negligible(c.delta, c.mean_a, c.thresholds);
}

/** What a reader weighs first: what the user waits for, then what the system pays. */
const CATEGORY: readonly { readonly name: string; readonly test: RegExp }[] = [
  { name: 'latency', test: /^(submit_to_finished|submit_to_hw_start|ready_to_hw_start)_us\.|^teardown_release_us\./ },
  { name: 'throughput', test: /^throughput_/ },
  { name: 'cpu', test: /^(kworker_wakeups|cpu_us|work_items)_per_job$/ },
  { name: 'memory', test: /_bytes$/ },
];

function category(m: MetricComparison): number {
  const i = CATEGORY.findIndex((c) => c.test.test(m.name));
  return i < 0 ? CATEGORY.length : i;
}

/** How big a judged difference is: relative to the baseline where that is defined, else in units of its threshold. */
function weight(m: MetricComparison): number {
  const c = m.comparison;
  return Number.isFinite(c.delta_rel) ? Math.abs(c.delta_rel) : Math.abs(c.delta) / Math.max(c.thresholds.abs, 1e-9) * c.thresholds.rel;
}

/** The largest judged difference of each category, in category order, at most `n`. */
export function headline_metrics(metrics: readonly MetricComparison[], n = 2): MetricComparison[] {
  const best = new Map<number, MetricComparison>();
  for (const m of metrics.filter(judged)) {
    const k = category(m), cur = best.get(k);
    if (cur === undefined || weight(m) > weight(cur) || (weight(m) === weight(cur) && m.name < cur.name)) best.set(k, m);
  }
  return [...best.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m).slice(0, n);
}

/**
 * Holm's adjustment over every test of several comparisons shown side by side (the report
 * index, a sweep's table). Each comparison adjusts over its own metrics only, so across many
 * rows a headline at p 0.02 can be chance; over the family of every tested metric and outcome
 * share of every comparison, the headlines that do not hold say so (family_caveat).
 */
export interface FamilyAdjustment {
  readonly comparisons: number;
  /** The tests in the family: paired t-tests (a difference exact on every seed is not one). */
  readonly tests: number;
  readonly p_holm: ReadonlyMap<PairedComparison, number>;
}

export function family_adjustment(results: readonly ComparisonResult[]): FamilyAdjustment {
  const items: { comparison: PairedComparison; lower_is_better: boolean }[] = [];
  for (const r of results) {
    for (const m of r.metrics) if (m.comparable) items.push({ comparison: m.comparison, lower_is_better: m.lower_is_better });
    for (const d of r.distributions) items.push({ comparison: d.comparison, lower_is_better: true });
  }
  const p_holm = new Map<PairedComparison, number>();
  // holm_adjust returns an untested item as it was, a tested one with its adjusted p.
  holm_adjust(items).forEach((a, i) => { if (a !== items[i]) p_holm.set(items[i].comparison, a.comparison.p_holm); });
  return { comparisons: results.length, tests: p_holm.size, p_holm };
}

/** "; not proven over the 28 comparisons: p 0.61 after Holm over 336 tests" for a proven test the family does not prove; else ''. */
export function family_caveat(c: PairedComparison, family: FamilyAdjustment | undefined): string {
  const p = family?.p_holm.get(c);
  if (family === undefined || p === undefined || p < ALPHA || (c.verdict !== 'better' && c.verdict !== 'worse')) return '';
  return `; not proven over the ${family.comparisons} comparisons: p ${p_value(p)} after Holm over ${family.tests} tests`;
}

/**
 * "+1.00 kworker wake-ups per job (the same on all 5 seeds)"; with the families of a sensitivity
 * sweep under which the verdict changes direction, "...; depends on sim.cpu-order)"; shown
 * among other comparisons, whether the difference holds over all of them (family_caveat).
 */
export function metric_change(m: MetricComparison, depends: readonly string[] = [], family?: FamilyAdjustment): string {
  const c = m.comparison;
  const how = c.verdict === 'deterministic' ? `the same on all ${c.n} seeds` : `${c.verdict}, p ${p_value(c.p_holm)} after Holm, n ${c.n_eff}`;
  const on = depends.length > 0 ? `; depends on ${depends.join(', ')}` : '';
  return `${signed(metric_value(m.name, c.delta))} ${metric_phrase(m.name)} (${how}${on}${family_caveat(c, family)})`;
}

/** The families of a sweep under which an item's verdict changes direction ("assumption " dropped from the name). */
export function depends_on(sens: SensitivityResult | null | undefined, item: string): string[] {
  if (sens === null || sens === undefined) return [];
  return sens.families.filter((f) => f.items.some((i) => i.name === item && i.robustness === 'depends')).map((f) => f.name.replace(/^assumption /, ''));
}

const PHRASES: Readonly<Record<string, string>> = {
  kworker_wakeups_per_job: 'kworker wake-ups per job',
  work_items_per_job: 'work items per job',
  cpu_us_per_job: 'of CPU per job',
  throughput_jobs_per_s: 'throughput',
  peak_sched_bytes: 'peak scheduler memory',
  'teardown_release_us.max': 'teardown until released (max)',
};

export function metric_phrase(name: string): string {
  if (PHRASES[name] !== undefined) return PHRASES[name];
  const m = /^(\w+)_us\.(p\d+|max)$/.exec(name);
  if (m !== null) return `${m[1].replace(/_to_/g, '→').replace(/_/g, ' ')} ${m[2]}`;
  return name;
}

/**
 * The main finding; given the comparison's sensitivity sweep, each headline metric names the
 * families under which its verdict changes direction (docs/reports.md#sensitivity); given the
 * family of comparisons it is shown among, each headline test it does not prove says so.
 */
export function main_finding(r: ComparisonResult, sens: SensitivityResult | null = null, family?: FamilyAdjustment): string {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const regressions = r.guarantees.filter((g) => g.diff.regression > 0);
  if (regressions.length > 0) {
    const g = regressions[0];
    const e = g.examples.find((x) => x.cls === 'regression');
    const on = depends_on(sens, `guarantee ${g.id}`);
    return `${cand} breaks \`${g.id}\` where ${base} keeps it: ${g.diff.regression} case(s) over seed(s) ${g.regression_seeds.join(', ')}` +
      (e !== undefined ? ` (first: ${e.subject || 'the run'}, seed ${e.seed}: ${e.candidate})` : '') +
      (regressions.length > 1 ? `; ${regressions.length - 1} more guarantee(s) regress` : '') +
      (on.length > 0 ? ` (depends on ${on.join(', ')})` : '') + '.';
  }
  const races = r.distributions.filter((d) => d.direction !== null);
  const parts: string[] = [];
  // More jobs on the hardware is what pipelining is; a separate concurrency phrase only without
  // either, the order in which queues' jobs reach run_job.
  const mechanisms = [pipelining_phrase(r) ?? concurrency_phrase(r) ?? batching_phrase(r)].filter((x): x is string => x !== null);
  const perf = headline_metrics(r.metrics);
  if (perf.length > 0) {
    parts.push(`${cand} vs ${base}: ${perf.map((m) => metric_change(m, depends_on(sens, m.name), family) + stage_phrase(r, m)).join('; ')}`);
    const population = population_phrase(r, perf);
    if (population !== null) parts.push(population);
  }
  if (races.length > 0) {
    const d = races[0];
    parts.push(`of jobs ${d.situation}, ${cand} ends ${d.direction === 'candidate more' ? 'more' : 'fewer'} with "${d.outcome}" ` +
      `(${(mean(d.baseline_share) * 100).toFixed(1)}% vs ${(mean(d.candidate_share) * 100).toFixed(1)}%${family_caveat(d.comparison, family)})`);
  }
  const improvements = r.guarantees.filter((g) => g.diff.improvement > 0).map((g) => `\`${g.id}\``);
  if (improvements.length > 0) parts.push(`${cand} keeps ${improvements.join(', ')} where ${base} breaks it`);
  if (parts.length === 0) {
    return `No guarantee regresses, and no performance difference is proven beyond the negligible thresholds` +
      (r.n_eff === 1 ? ` (every seed gave the same run: deterministic)` : ` (${r.n_eff} distinct runs)`) + '.';
  }
  return (mechanisms.length > 0 ? `${mechanisms.join('; ')}: ` : '') + parts.join('; ') + '.';
}

/** Mean over seeds of one side's metric. */
function side_mean(r: ComparisonResult, side: 'baseline' | 'candidate', pick: (m: ComparisonResult['per_seed'][number]['baseline']['metrics']) => number): number {
  return mean(r.per_seed.map((s) => pick(s[side].metrics)));
}

/**
 * How many jobs the credit limits let onto the hardware at once, when the backends differ: one
 * credit pool per drm_gpu_scheduler (shared by its entities) against one per drm_dep_queue is
 * the difference a conversion makes, and it moves waiting from the scheduler to the hardware.
 */
function concurrency_phrase(r: ComparisonResult): string | null {
  const most = (side: 'baseline' | 'candidate') => Math.max(0, ...r.per_seed.map((s) => s[side].metrics.peak_jobs_on_hw));
  const a = most('baseline'), b = most('candidate');
  if (a === b || Math.max(a, b) < 2 * Math.min(a, b)) return null;
  const why = r.device.credit_limit !== undefined && r.baseline === 'sched' && r.candidate === 'dep'
    ? ` (credit_limit ${String(r.device.credit_limit)} applies per drm_gpu_scheduler, shared by its entities, and per drm_dep_queue)` : '';
  return `${backend_label(r.candidate)} lets up to ${b} job(s) onto the hardware at once, ${backend_label(r.baseline)} ${a}${why}`;
}

/**
 * Where a submit→finished difference arises, from the mean stage times: before the hardware
 * starts the job (dependencies, the scheduler, credits, the driver's ring) or after it (the
 * hardware, completion and signalling). Only when the job start is traced on both sides.
 */
function stage_phrase(r: ComparisonResult, m: MetricComparison): string {
  if (!m.name.startsWith('submit_to_finished_us.')) return '';
  const stage = (side: 'baseline' | 'candidate') => {
    const total = side_mean(r, side, (x) => x.latency.submit_to_finished_us.mean);
    const before = side_mean(r, side, (x) => x.latency.submit_to_hw_start_us.mean);
    return { total, before };
  };
  const a = stage('baseline'), b = stage('candidate');
  if (![a.total, a.before, b.total, b.before].every(Number.isFinite)) return '';
  const d_total = b.total - a.total, d_before = b.before - a.before;
  if (Math.abs(d_total) < 1e-9) return '';
  return ` (in the mean ${signed(metric_value('x_us', d_total))}, of which ${signed(metric_value('x_us', d_before))} before the hardware starts the job)`;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * drm_sched hands a job whose dependency is on its own ring to the hardware once that
 * dependency is scheduled (the scheduled fence); a backend that waits for the dependency to
 * finish does not pipeline. The run monitor counts jobs run_job'd before a same-ring dependency
 * finished.
 */
function pipelining_phrase(r: ComparisonResult): string | null {
  const count = (side: 'baseline' | 'candidate') => r.per_seed.reduce((n, s) => n + s[side].metrics.pipelined_jobs, 0);
  const a = count('baseline'), b = count('candidate');
  if (a === b) return null;
  const [more, fewer, n_more, n_fewer] = a > b ? [r.baseline, r.candidate, a, b] : [r.candidate, r.baseline, b, a];
  return `${backend_label(fewer)} ${n_fewer === 0 ? 'does not pipeline' : 'pipelines fewer'} same-ring dependencies ` +
    `(${backend_label(more)} ran ${n_more} job(s) before their same-ring dependency finished, ${backend_label(fewer)} ${n_fewer})`;
}

/**
 * drm_dep's submit worker hands every ready job of its queue to run_job in one invocation
 * (drm_dep_queue_run_job_work, up to DRM_DEP_SUBMIT_BATCH_MAX); drm_sched's run-job work one
 * job per invocation, the entity chosen anew each time (drm_sched_run_job_work). On what the
 * queues share in order (the mock's one timeline, xe's GuC command channel) one queue's jobs
 * then arrive back to back. The run monitor counts run_job calls that followed one of the same
 * queue while another queue had jobs waiting; stated when one side has at least twice the
 * other's and at least a tenth of its jobs.
 */
function batching_phrase(r: ComparisonResult): string | null {
  const sum = (side: 'baseline' | 'candidate', pick: (m: ComparisonResult['per_seed'][number]['baseline']['metrics']) => number) =>
    r.per_seed.reduce((n, s) => n + pick(s[side].metrics), 0);
  const a = sum('baseline', (m) => m.back_to_back_runs), b = sum('candidate', (m) => m.back_to_back_runs);
  const [more, fewer, n_more, n_fewer] = a > b ? [r.baseline, r.candidate, a, b] : [r.candidate, r.baseline, b, a];
  const jobs = sum(a > b ? 'baseline' : 'candidate', (m) => m.jobs_submitted);
  if (n_more < 2 * n_fewer || n_more < 0.1 * jobs) return null;
  return `${backend_label(more)} runs a queue's jobs back to back (${n_more} of ${jobs} run_job calls followed one of the same queue ` +
    `while another queue had jobs waiting, ${backend_label(fewer)} ${n_fewer})`;
}

/**
 * A latency percentile compares the jobs each side ran: a program bounded by time (or cut by
 * a close) runs as many iterations as its speed allows, so the two sides may not run the same
 * jobs, and jobs only one side ran shift its percentiles. Stated with a latency headline.
 */
function population_phrase(r: ComparisonResult, perf: readonly MetricComparison[]): string | null {
  if (!perf.some((m) => /_us\.(p\d+|max)$/.test(m.name) && !m.name.startsWith('teardown_'))) return null;
  const { baseline_only: a, candidate_only: b } = r.unmatched;
  if (a === b) return null;
  return `the sides ran different jobs: ${backend_label(r.candidate)} ran ${b} job(s) in program iterations ${backend_label(r.baseline)} did not reach, ` +
    `${backend_label(r.baseline)} ${a}`;
}
