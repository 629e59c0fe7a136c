import { describe, expect, it } from 'vitest';
import { RandomStream } from '@deplab/sim';
import { BOOTSTRAP_MIN_CLUSTERS, bootstrap_percentile_delta, holm_adjust, is_negligible, paired_compare, percentile, summarize } from './stats.ts';
import { LatencyDistribution, pooled, type LatencySketch } from './latency.ts';

describe('paired statistics', () => {
  it('computes the Student t interval and p of the per-seed differences', () => {
    // d = [1, 2, 3, 4, 5]: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764451; t = 3 / (sqrt(2.5)/sqrt(5)) = 4.2426
    const r = paired_compare([10, 10, 10, 10, 10], [11, 12, 13, 14, 15], true);
    const half = 2.7764451 * Math.sqrt(2.5) / Math.sqrt(5);
    expect(r.method).toBe('paired-t');
    expect(r.n_eff).toBe(5);
    expect(r.delta).toBe(3);
    expect(r.ci_low).toBeCloseTo(3 - half, 5);
    expect(r.ci_high).toBeCloseTo(3 + half, 5);
    expect(r.p).toBeCloseTo(0.013236, 5); // two-sided, 4 degrees of freedom
    expect(r.verdict).toBe('worse'); // higher latency for the candidate
    expect(r.wins_a).toBe(5);
    expect(r.delta_rel).toBeCloseTo(0.3, 10);
  });

  it('says no difference is proven when the test does not reject', () => {
    const r = paired_compare([1, 2, 3, 4], [2, 1, 4, 3], true);
    expect(r.verdict).toBe('no difference proven');
    expect(r.wins_a + r.wins_b + r.ties).toBe(4);
  });

  it('calls a lower value better when lower is better, and the reverse otherwise', () => {
    expect(paired_compare([5, 6, 7, 8], [4, 5.1, 6, 7.05], true).verdict).toBe('better');
    expect(paired_compare([5, 6, 7, 8], [4, 5.1, 6, 7.05], false).verdict).toBe('worse');
  });

  it('rejects unpaired input with a clear error', () => {
    expect(() => paired_compare([1], [1, 2], true)).toThrow(/1 baseline values vs 2 candidate values/);
  });
});

describe('honest about what the seeds show', () => {
  it('seeds whose runs are identical are one observation: deterministic, no interval, wins or verdict', () => {
    const r = paired_compare([129015, 129015, 129015, 129015, 129015], [130305, 130305, 130305, 130305, 130305], true, ['x', 'x', 'x', 'x', 'x']);
    expect(r.n).toBe(5);
    expect(r.n_eff).toBe(1);
    expect(r.method).toBe('deterministic');
    expect(r.verdict).toBe('deterministic');
    expect(r.delta).toBe(1290);
    expect(Number.isNaN(r.ci_low) && Number.isNaN(r.ci_high) && Number.isNaN(r.p)).toBe(true);
    expect(r.wins_a + r.wins_b + r.ties).toBe(0);
  });

  it('the same difference on every seed is deterministic too (zero variance), and equal values are identical', () => {
    const r = paired_compare([1, 2, 3], [2, 3, 4], true, ['a', 'b', 'c']);
    expect(r.verdict).toBe('deterministic');
    expect(r.delta).toBe(1);
    expect(paired_compare([5, 6, 7], [5, 6, 7], true).verdict).toBe('identical');
  });

  it('two distinct run pairs are too few for a test', () => {
    const r = paired_compare([1, 2, 1, 2], [3, 3, 3, 3], true, ['a', 'b', 'a', 'b']);
    expect(r.n_eff).toBe(2);
    expect(r.verdict).toBe('too few runs');
    expect(Number.isNaN(r.ci_low)).toBe(true);
  });

  it('negligible needs both thresholds: +1 ms on a 770 ms baseline is not negligible', () => {
    const base = [770_000, 771_000, 769_000, 770_500, 769_500];
    const plus_1ms = base.map((x, i) => x + 1000 + (i % 2 === 0 ? 20 : -20));
    const r = paired_compare(base, plus_1ms, true, null, { rel: 0.01, abs: 10 });
    expect(r.delta / r.mean_a).toBeLessThan(0.01);
    expect(r.verdict).toBe('worse');
    expect(is_negligible(1000, 770_000, { rel: 0.01, abs: 10 })).toBe(false);
    expect(is_negligible(5, 770_000, { rel: 0.01, abs: 10 })).toBe(true);
  });

  it('gives no percentage on a baseline below the absolute threshold', () => {
    const r = paired_compare([0.01, 0.02, 0.015, 0.012], [0.5, 0.6, 0.55, 0.52], true, null, { rel: 0.01, abs: 0.05 });
    expect(Number.isNaN(r.delta_rel)).toBe(true);
    expect(r.delta).toBeGreaterThan(0.4);
  });

  it("adjusts a family's p-values with Holm's method and re-decides the verdicts", () => {
    // Three metrics: p = 0.01, 0.02, 0.04 unadjusted; Holm: 0.03, 0.04, 0.04.
    const mk = (p: number) => ({ lower_is_better: true, comparison: { ...paired_compare([1, 2, 3, 4], [2, 3.1, 4, 5.2], true), p } });
    const adjusted = holm_adjust([mk(0.04), mk(0.01), mk(0.02)]);
    expect(adjusted.map((m) => m.comparison.p_holm)).toEqual([0.04, 0.03, 0.04]);
    const strict = holm_adjust([mk(0.04), mk(0.03)]);
    expect(strict.map((m) => m.comparison.p_holm)).toEqual([0.06, 0.06]);
    expect(strict.every((m) => m.comparison.verdict === 'no difference proven')).toBe(true);
  });

  it('summarizes percentiles', () => {
    const s = summarize(Array.from({ length: 101 }, (_, i) => i));
    expect(s.p50).toBe(50);
    expect(s.p99).toBe(99);
    expect(s.max).toBe(100);
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
  });
});

describe('pooled-percentile bootstrap', () => {
  const sketch = (values: number[]): LatencySketch => {
    const d = new LatencyDistribution();
    for (const v of values) d.add(v);
    return d.result().sketch;
  };

  it('is refused below the minimum number of distinct runs', () => {
    const a = Array.from({ length: BOOTSTRAP_MIN_CLUSTERS - 1 }, (_, i) => sketch([i + 1, i + 2, i + 3]));
    expect(bootstrap_percentile_delta(pooled, a, a, 0.5, new RandomStream(1, 'b'), 50)).toBeNull();
    // Ten seeds that are one run twice over count as two clusters.
    const keys = Array.from({ length: 10 }, (_, i) => String(i % 2));
    const ten = Array.from({ length: 10 }, () => sketch([1, 2, 3]));
    expect(bootstrap_percentile_delta(pooled, ten, ten, 0.5, new RandomStream(1, 'b'), 50, keys)).toBeNull();
  });

  it('bootstraps a percentile difference reproducibly from a seeded stream', () => {
    const a = Array.from({ length: 12 }, (_, i) => sketch([100 + i, 200 + i, 300 + i, 400 + i]));
    const b = Array.from({ length: 12 }, (_, i) => sketch([110 + i, 210 + i, 310 + i, 410 + i]));
    const r1 = bootstrap_percentile_delta(pooled, a, b, 0.9, new RandomStream(7, 'bootstrap'), 200)!;
    const r2 = bootstrap_percentile_delta(pooled, a, b, 0.9, new RandomStream(7, 'bootstrap'), 200)!;
    expect(r1).toEqual(r2);
    expect(r1.clusters).toBe(12);
    expect(r1.estimate).toBeGreaterThan(8);
    expect(r1.estimate).toBeLessThan(12);
    expect(r1.low).toBeLessThanOrEqual(r1.estimate);
    expect(r1.high).toBeGreaterThanOrEqual(r1.estimate);
  });
});
