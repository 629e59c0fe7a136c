import { describe, expect, it } from 'vitest';
import { LatencyDistribution, SKETCH_ALPHA, merge_sketches, sketch_quantile } from './latency.ts';
import { percentile } from './stats.ts';

function values(n: number, seed = 1): number[] {
  // A deterministic spread over six decades (xorshift), like latencies from ns to ms.
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return Math.round(10 ** (1 + 6 * (x / 2 ** 32)));
  });
}

describe('latency distributions', () => {
  it('are exact below the bound: percentiles equal those of the sorted samples', () => {
    const v = values(5000);
    const d = new LatencyDistribution();
    for (const x of v) d.add(x);
    const r = d.result();
    expect(r.exact).toBe(true);
    expect(r.summary.p50).toBe(percentile(v, 0.5));
    expect(r.summary.p99).toBe(percentile(v, 0.99));
    expect(r.summary.max).toBe(Math.max(...v));
  });

  it('are exact across many storage chunks', () => {
    const v = values(150_000, 11);
    const d = new LatencyDistribution();
    for (const x of v) d.add(x);
    const r = d.result();
    expect(r.exact).toBe(true);
    expect(r.summary.n).toBe(150_000);
    expect(r.summary.p90).toBe(percentile(v, 0.9));
    expect(r.summary.min).toBe(Math.min(...v));
    expect(r.summary.mean).toBeCloseTo(v.reduce((a, b) => a + b, 0) / v.length, 6);
  });

  it('past the bound, continue in the sketch within its relative accuracy, and say so', () => {
    const v = values(20_000, 7);
    const d = new LatencyDistribution(1000);
    for (const x of v) d.add(x);
    const r = d.result();
    expect(r.exact).toBe(false);
    expect(r.summary.n).toBe(20_000);
    for (const p of [0.5, 0.9, 0.99]) {
      const exact = percentile(v, p);
      const got = p === 0.5 ? r.summary.p50 : p === 0.9 ? r.summary.p90 : r.summary.p99;
      // Rank interpolation aside, the value is within alpha of a sample near that rank.
      expect(Math.abs(got - exact) / exact).toBeLessThan(SKETCH_ALPHA * 3);
    }
  });

  it('merge sketches of several runs into the sketch of the pooled samples', () => {
    const a = values(3000, 3), b = values(4000, 9);
    const da = new LatencyDistribution(), db = new LatencyDistribution(), dall = new LatencyDistribution();
    for (const x of a) { da.add(x); dall.add(x); }
    for (const x of b) { db.add(x); dall.add(x); }
    const merged = merge_sketches([da.result().sketch, db.result().sketch]);
    const whole = dall.result().sketch;
    expect(merged.count).toBe(7000);
    expect(merged.counts).toEqual(whole.counts);
    expect(sketch_quantile(merged, 0.9)).toBe(sketch_quantile(whole, 0.9));
    expect(merged.max).toBe(Math.max(...a, ...b));
  });

  it('keeps zeros apart from the log buckets', () => {
    const d = new LatencyDistribution();
    for (const x of [0, 0, 0, 5, 10]) d.add(x);
    const s = d.result().sketch;
    expect(s.zeros).toBe(3);
    expect(sketch_quantile(s, 0.5)).toBe(0);
    expect(sketch_quantile(s, 1)).toBe(10);
  });

  it('an exact distribution gives the sketch a distribution sketched from its first sample has', () => {
    const v = values(3000, 5);
    const exact = new LatencyDistribution(), sketched = new LatencyDistribution(0);
    for (const x of v) { exact.add(x); sketched.add(x); }
    expect(exact.result().exact).toBe(true);
    expect(sketched.result().exact).toBe(false);
    expect(JSON.parse(JSON.stringify(exact.result().sketch))).toEqual(sketched.result().sketch);
    expect(structuredClone(exact.result()).sketch).toEqual(sketched.result().sketch);
  });
});
