/**
 * Paired statistics over seeds. Each seed runs both backends on the same workload draws
 * (common random numbers), so per-seed differences are the unit of comparison: mean
 * difference, 95% confidence interval from Student's t, relative change, verdict, wins.
 * Percentiles of pooled samples get a cluster bootstrap interval (seeds resampled with
 * replacement) from a named seeded stream, so reports are reproducible.
 */
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

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, mean: NaN, stddev: NaN, min: NaN, max: NaN, p50: NaN, p90: NaN, p99: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: values.length,
    mean: mean(sorted),
    stddev: values.length > 1 ? sampleStandardDeviation(sorted) : 0,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
  };
}

/** Percentile of unsorted values (linear interpolation as in simple-statistics). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  return quantileSorted([...values].sort((a, b) => a - b), p);
}

/**
 * better / worse: the 95% interval excludes zero and the mean difference is at least 1% of the
 * baseline mean; negligible: proven but below 1%; no difference proven: the interval spans
 * zero; identical: every seed gave exactly the same value on both sides.
 */
export type Verdict = 'better' | 'worse' | 'negligible' | 'no difference proven' | 'identical';

/** Proven differences smaller than this fraction of the baseline mean are called negligible. */
export const NEGLIGIBLE_REL = 0.01;

export interface PairedComparison {
  readonly n: number;
  /** Mean of baseline (drm_sched) and candidate (drm_dep). */
  readonly mean_a: number;
  readonly mean_b: number;
  /** Mean of per-seed (b - a). */
  readonly delta: number;
  /** delta / mean_a, NaN when mean_a is 0. */
  readonly delta_rel: number;
  /** 95% confidence interval of delta (Student t with n-1 degrees of freedom). */
  readonly ci_low: number;
  readonly ci_high: number;
  readonly verdict: Verdict;
  /** Seeds where the candidate was better / worse / equal. */
  readonly wins_b: number;
  readonly wins_a: number;
  readonly ties: number;
}

/**
 * Compare candidate `b` against baseline `a`, paired by index (seed). `lower_is_better` says
 * which direction is "better" for the candidate.
 */
export function paired_compare(a: readonly number[], b: readonly number[], lower_is_better: boolean, confidence = 0.95): PairedComparison {
  if (a.length !== b.length) throw new RangeError(`paired_compare: ${a.length} baseline values vs ${b.length} candidate values`);
  const n = a.length;
  if (n === 0) throw new RangeError('paired_compare: no samples');
  // Differences below float noise (1e-9 relative) are no difference at all.
  const d = a.map((x, i) => {
    const diff = b[i] - x;
    return Math.abs(diff) <= 1e-9 * Math.max(Math.abs(x), Math.abs(b[i])) ? 0 : diff;
  });
  const delta = mean(d);
  const mean_a = mean([...a]);
  const mean_b = mean([...b]);
  let wins_a = 0, wins_b = 0, ties = 0;
  for (const x of d) {
    if (x === 0) ties++;
    else if ((x < 0) === lower_is_better) wins_b++;
    else wins_a++;
  }
  const sd = n > 1 ? sampleStandardDeviation(d) : 0;
  let ci_low = delta, ci_high = delta;
  if (n > 1) {
    const half = t_quantile(1 - (1 - confidence) / 2, n - 1) * (sd / Math.sqrt(n));
    ci_low = delta - half;
    ci_high = delta + half;
  }
  let verdict: Verdict;
  if (sd === 0 && delta === 0) verdict = 'identical';
  else if (n < 2 || (ci_low <= 0 && ci_high >= 0)) verdict = 'no difference proven';
  else if (mean_a !== 0 && Math.abs(delta / mean_a) < NEGLIGIBLE_REL) verdict = 'negligible';
  else verdict = (delta < 0) === lower_is_better ? 'better' : 'worse';
  return {
    n, mean_a, mean_b, delta, delta_rel: mean_a === 0 ? NaN : delta / mean_a,
    ci_low, ci_high, verdict, wins_a, wins_b, ties,
  };
}

export interface BootstrapInterval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly resamples: number;
}

/**
 * Cluster bootstrap of the difference of a percentile between candidate and baseline:
 * samples_a[i] / samples_b[i] are the pooled samples of seed i on each backend; seeds are
 * resampled together so the pairing is kept.
 */
export function bootstrap_percentile_delta(samples_a: readonly (readonly number[])[], samples_b: readonly (readonly number[])[],
  p: number, stream: RandomStream, resamples = 1000, confidence = 0.95): BootstrapInterval {
  const n = samples_a.length;
  if (n !== samples_b.length || n === 0) throw new RangeError('bootstrap_percentile_delta: need the same non-zero number of seeds on both sides');
  const stat = (idx: readonly number[]): number => {
    const pa: number[] = [], pb: number[] = [];
    for (const i of idx) {
      for (const x of samples_a[i]) pa.push(x);
      for (const x of samples_b[i]) pb.push(x);
    }
    return percentile(pb, p) - percentile(pa, p);
  };
  const estimate = stat(Array.from({ length: n }, (_, i) => i));
  const deltas: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const idx = Array.from({ length: n }, () => stream.below(n));
    const v = stat(idx);
    if (!Number.isNaN(v)) deltas.push(v);
  }
  deltas.sort((x, y) => x - y);
  const alpha = (1 - confidence) / 2;
  return { estimate, low: quantileSorted(deltas, alpha), high: quantileSorted(deltas, 1 - alpha), resamples };
}
