/**
 * Paired statistics over seeds. Each seed runs both backends on the same workload draws
 * (common random numbers), so per-seed differences are the unit of comparison.
 *
 * Honest about what the seeds can show (docs/reports.md#statistics):
 * - Seeds whose runs are identical on both sides (same trace digests) are one observation, not
 *   several: `n_eff` counts distinct (baseline, candidate) run pairs. With n_eff = 1, or when
 *   every seed gives the same difference, the result is *deterministic*: the single delta, no
 *   interval, no win count, no verdict.
 * - With n_eff >= 3: Student's t on the per-seed differences (interval, two-sided p). With
 *   n_eff = 2 nothing is claimed ("too few runs").
 * - Many metrics are tested at once: the caller adjusts the p-values with Holm's method
 *   (holm_adjust) and a verdict better/worse needs the adjusted p below alpha.
 * - "Negligible" needs BOTH a relative and an absolute threshold: a +1 ms cost on a 770 ms
 *   baseline is not hidden by the baseline's size.
 * - A relative delta on a baseline smaller than the metric's absolute threshold is not given
 *   (NaN): the report shows the absolute delta.
 * Pooled-percentile intervals come from a cluster bootstrap (seeds resampled), only with at
 * least BOOTSTRAP_MIN_CLUSTERS distinct runs.
 */
import t_cdf from '@stdlib/stats-base-dists-t-cdf';
import t_quantile from '@stdlib/stats-base-dists-t-quantile';
import { mean, quantileSorted, sampleStandardDeviation } from 'simple-statistics';
import type { RandomStream } from '@deplab/sim';

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export const EMPTY_SUMMARY: Summary = Object.freeze({ n: 0, mean: NaN, stddev: NaN, min: NaN, max: NaN, p50: NaN, p90: NaN, p99: NaN });

export function summarize(values: readonly number[] | Float64Array): Summary {
  if (values.length === 0) return EMPTY_SUMMARY;
  const sorted = Float64Array.from(values).sort();
  return summarize_sorted(sorted);
}

/** Summary of values already sorted ascending (no copy). */
export function summarize_sorted(sorted: Float64Array | readonly number[]): Summary {
  const n = sorted.length;
  if (n === 0) return EMPTY_SUMMARY;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const m = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i] - m) ** 2;
  return {
    n, mean: m, stddev: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min: sorted[0], max: sorted[n - 1],
    p50: quantile_sorted(sorted, 0.5), p90: quantile_sorted(sorted, 0.9), p99: quantile_sorted(sorted, 0.99),
  };
}

/** Quantile of sorted values with linear interpolation between closest ranks (as numpy's default). */
export function quantile_sorted(sorted: Float64Array | readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Percentile of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  return quantile_sorted(Float64Array.from(values).sort(), p);
}

/**
 * better / worse: a proven, non-negligible difference (Holm-adjusted p below alpha);
 * negligible: proven but below both thresholds; no difference proven: the test does not reject;
 * deterministic: one distinct run pair, or the same difference on every seed (the delta is
 * exact, nothing to test); too few runs: two distinct run pairs; identical: the same value on
 * both sides on every seed; backend-specific: the metric's events mean different things on the
 * two backends (shown, never judged).
 */
export type Verdict = 'better' | 'worse' | 'negligible' | 'no difference proven' | 'deterministic' | 'too few runs' | 'identical' | 'backend-specific';

export const ALPHA = 0.05;
/** Default relative threshold of "negligible" (fraction of the baseline mean). */
export const NEGLIGIBLE_REL = 0.01;
/** Fewest distinct runs for a pooled-percentile bootstrap interval. */
export const BOOTSTRAP_MIN_CLUSTERS = 10;

export interface Thresholds {
  /** Below this fraction of the baseline AND below `abs`: negligible. */
  readonly rel: number;
  /** Absolute threshold in the metric's unit; also the smallest baseline a percentage is given for. */
  readonly abs: number;
}

export interface PairedComparison {
  /** Seeds compared. */
  readonly n: number;
  /** Distinct (baseline, candidate) run pairs among them (by trace digests). */
  readonly n_eff: number;
  /** Mean of baseline and candidate. */
  readonly mean_a: number;
  readonly mean_b: number;
  /** Mean of per-seed (b - a). */
  readonly delta: number;
  /** delta / mean_a; NaN when |mean_a| is below the absolute threshold (near zero). */
  readonly delta_rel: number;
  /** 'paired-t' when a test was made; 'deterministic' or 'too-few' otherwise. */
  readonly method: 'paired-t' | 'deterministic' | 'too-few';
  /** 95% interval of delta (Student t, n_eff - 1 degrees of freedom); NaN without a test. */
  readonly ci_low: number;
  readonly ci_high: number;
  /** Two-sided p of the paired t-test (NaN without a test) and after Holm's adjustment. */
  readonly p: number;
  readonly p_holm: number;
  readonly verdict: Verdict;
  /** Seeds where the candidate was better / worse / equal (only with a test). */
  readonly wins_b: number;
  readonly wins_a: number;
  readonly ties: number;
  readonly thresholds: Thresholds;
}

/**
 * Compare candidate `b` against baseline `a`, paired by index (seed). `run_keys[i]` identifies
 * seed i's pair of runs (e.g. the two trace digests): equal keys are one observation.
 * The verdict here uses the unadjusted p; holm_adjust re-decides it for a family of metrics.
 */
export function paired_compare(a: readonly number[], b: readonly number[], lower_is_better: boolean,
  run_keys: readonly string[] | null = null, thresholds: Thresholds = { rel: NEGLIGIBLE_REL, abs: 0 }): PairedComparison {
  if (a.length !== b.length) throw new RangeError(`paired_compare: ${a.length} baseline values vs ${b.length} candidate values`);
  if (run_keys !== null && run_keys.length !== a.length) throw new RangeError(`paired_compare: ${a.length} values vs ${run_keys.length} run keys`);
  const n = a.length;
  if (n === 0) throw new RangeError('paired_compare: no samples');
  // One observation per distinct run pair: duplicates of a run add no information.
  const index: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const key = run_keys === null ? String(i) : run_keys[i];
    if (seen.has(key)) continue;
    seen.add(key);
    index.push(i);
  }
  const n_eff = index.length;
  // Differences below float noise (1e-9 relative) are no difference at all.
  const d = index.map((i) => {
    const diff = b[i] - a[i];
    return Math.abs(diff) <= 1e-9 * Math.max(Math.abs(a[i]), Math.abs(b[i])) ? 0 : diff;
  });
  const delta = mean(d);
  const mean_a = mean(index.map((i) => a[i]));
  const mean_b = mean(index.map((i) => b[i]));
  const delta_rel = Math.abs(mean_a) <= thresholds.abs || mean_a === 0 ? NaN : delta / mean_a;
  const base = { n, n_eff, mean_a, mean_b, delta, delta_rel, thresholds, p_holm: NaN };
  const sd = n_eff > 1 ? sampleStandardDeviation(d) : 0;
  if (sd === 0) {
    const verdict: Verdict = delta === 0 ? 'identical' : 'deterministic';
    return { ...base, method: 'deterministic', ci_low: NaN, ci_high: NaN, p: NaN, verdict, wins_a: 0, wins_b: 0, ties: 0 };
  }
  if (n_eff < 3) {
    return { ...base, method: 'too-few', ci_low: NaN, ci_high: NaN, p: NaN, verdict: 'too few runs', wins_a: 0, wins_b: 0, ties: 0 };
  }
  const se = sd / Math.sqrt(n_eff);
  const half = t_quantile(1 - ALPHA / 2, n_eff - 1) * se;
  const t = delta / se;
  const p = Math.min(1, 2 * (1 - t_cdf(Math.abs(t), n_eff - 1)));
  let wins_a = 0, wins_b = 0, ties = 0;
  for (const x of d) {
    if (x === 0) ties++;
    else if ((x < 0) === lower_is_better) wins_b++;
    else wins_a++;
  }
  const result = { ...base, method: 'paired-t' as const, ci_low: delta - half, ci_high: delta + half, p, wins_a, wins_b, ties, verdict: 'no difference proven' as Verdict };
  return { ...result, verdict: decide(result, p, lower_is_better) };
}

function decide(c: Omit<PairedComparison, 'verdict'>, p: number, lower_is_better: boolean): Verdict {
  if (c.method !== 'paired-t') return c.method === 'too-few' ? 'too few runs' : c.delta === 0 ? 'identical' : 'deterministic';
  if (!(p < ALPHA)) return 'no difference proven';
  if (is_negligible(c.delta, c.mean_a, c.thresholds)) return 'negligible';
  return (c.delta < 0) === lower_is_better ? 'better' : 'worse';
}

/** Negligible: below the relative threshold of the baseline AND below the absolute threshold. */
export function is_negligible(delta: number, base: number, t: Thresholds): boolean {
  return Math.abs(delta) < t.rel * Math.abs(base) && Math.abs(delta) < t.abs;
}

/**
 * Holm's step-down adjustment over a family of comparisons (one report's metrics): tested
 * comparisons get p_holm and a verdict re-decided from it; the others pass through.
 */
export function holm_adjust<T extends { readonly comparison: PairedComparison; readonly lower_is_better: boolean }>(family: readonly T[]): T[] {
  const tested = family.map((m, i) => ({ i, p: m.comparison.p })).filter((x) => m_tested(family[x.i].comparison)).sort((x, y) => x.p - y.p || x.i - y.i);
  const adjusted = new Map<number, number>();
  let running = 0;
  tested.forEach((x, rank) => {
    running = Math.max(running, Math.min(1, (tested.length - rank) * x.p));
    adjusted.set(x.i, running);
  });
  return family.map((m, i) => {
    const p_holm = adjusted.get(i);
    if (p_holm === undefined) return m;
    const c = { ...m.comparison, p_holm };
    return { ...m, comparison: { ...c, verdict: decide(c, p_holm, m.lower_is_better) } };
  });
}

function m_tested(c: PairedComparison): boolean {
  return c.method === 'paired-t';
}

/**
 * Paired comparison of shares per seed (0..1: which part of the jobs caught in a race ended one
 * way): the same rules; under one percentage point is negligible.
 */
export function paired_shares(a: readonly number[], b: readonly number[], run_keys: readonly string[] | null): PairedComparison {
  return paired_compare(a, b, true, run_keys, { rel: Infinity, abs: 0.01 });
}

export interface BootstrapInterval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly resamples: number;
  /** Distinct runs (clusters) resampled. */
  readonly clusters: number;
}

/** Something a percentile can be read from after merging (a LatencySketch). */
export interface Mergeable<S> {
  merge(others: readonly S[]): { quantile(p: number): number };
}

/**
 * Cluster bootstrap of the difference of a pooled percentile between candidate and baseline:
 * sketches_a[i] / sketches_b[i] are seed i's latency sketches; seeds are resampled together so
 * the pairing is kept. Null below BOOTSTRAP_MIN_CLUSTERS distinct runs: too few clusters give an
 * interval that is far too narrow.
 */
export function bootstrap_percentile_delta<S>(merge: (list: readonly S[]) => { quantile(p: number): number },
  sketches_a: readonly S[], sketches_b: readonly S[], p: number, stream: RandomStream, resamples = 1000, run_keys: readonly string[] | null = null): BootstrapInterval | null {
  const keep: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < sketches_a.length; i++) {
    const key = run_keys === null ? String(i) : run_keys[i];
    if (!seen.has(key)) { seen.add(key); keep.push(i); }
  }
  const n = keep.length;
  if (n !== seen.size || sketches_a.length !== sketches_b.length) throw new RangeError('bootstrap_percentile_delta: need the same number of seeds on both sides');
  if (n < BOOTSTRAP_MIN_CLUSTERS) return null;
  const stat = (idx: readonly number[]): number =>
    merge(idx.map((i) => sketches_b[keep[i]])).quantile(p) - merge(idx.map((i) => sketches_a[keep[i]])).quantile(p);
  const estimate = stat(Array.from({ length: n }, (_, i) => i));
  const deltas: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const v = stat(Array.from({ length: n }, () => stream.below(n)));
    if (!Number.isNaN(v)) deltas.push(v);
  }
  deltas.sort((x, y) => x - y);
  return { estimate, low: quantileSorted(deltas, ALPHA / 2), high: quantileSorted(deltas, 1 - ALPHA / 2), resamples, clusters: n };
}
