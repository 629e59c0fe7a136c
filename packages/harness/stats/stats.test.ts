import { describe, expect, it } from 'vitest';
import { RandomStream } from '@deplab/sim';
import { bootstrap_percentile_delta, paired_compare, summarize } from './stats.ts';

describe('paired statistics', () => {
  it('computes the Student t interval of the per-seed differences', () => {
    // d = [1, 2, 3, 4, 5]: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764451
    const a = [10, 10, 10, 10, 10];
    const b = [11, 12, 13, 14, 15];
    const r = paired_compare(a, b, true);
    const half = 2.7764451 * Math.sqrt(2.5) / Math.sqrt(5);
    expect(r.delta).toBe(3);
    expect(r.ci_low).toBeCloseTo(3 - half, 5);
    expect(r.ci_high).toBeCloseTo(3 + half, 5);
    expect(r.verdict).toBe('worse'); // higher latency for the candidate
    expect(r.wins_a).toBe(5);
    expect(r.delta_rel).toBeCloseTo(0.3, 10);
  });

  it('says no difference is proven when the interval spans zero', () => {
    const r = paired_compare([1, 2, 3, 4], [2, 1, 4, 3], true);
    expect(r.verdict).toBe('no difference proven');
    expect(r.wins_a + r.wins_b + r.ties).toBe(4);
  });

  it('calls a lower value better when lower is better, and the reverse otherwise', () => {
    expect(paired_compare([5, 6, 7], [4, 5.1, 6], true).verdict).toBe('better');
    expect(paired_compare([5, 6, 7], [4, 5.1, 6], false).verdict).toBe('worse');
    expect(paired_compare([5, 6, 7], [5, 6, 7], true).verdict).toBe('identical');
  });

  it('rejects unpaired input with a clear error', () => {
    expect(() => paired_compare([1], [1, 2], true)).toThrow(/1 baseline values vs 2 candidate values/);
  });

  it('summarizes percentiles', () => {
    const s = summarize(Array.from({ length: 101 }, (_, i) => i));
    expect(s.p50).toBe(50);
    expect(s.p99).toBe(99);
    expect(s.max).toBe(100);
  });

  it('bootstraps a percentile difference reproducibly from a seeded stream', () => {
    const a = [[1, 2, 3, 4], [2, 3, 4, 5], [1, 1, 2, 9]];
    const b = a.map((s) => s.map((x) => x + 10));
    const r1 = bootstrap_percentile_delta(a, b, 0.9, new RandomStream(7, 'bootstrap'), 200);
    const r2 = bootstrap_percentile_delta(a, b, 0.9, new RandomStream(7, 'bootstrap'), 200);
    expect(r1).toEqual(r2);
    expect(r1.estimate).toBe(10);
    expect(r1.low).toBeCloseTo(10, 9);
    expect(r1.high).toBeCloseTo(10, 9);
  });
});

describe('practical significance', () => {
  it('calls a proven difference below 1% of the baseline negligible', () => {
    const r = paired_compare([1000, 1001, 1002, 1003], [1001, 1002, 1003, 1004.5], true);
    expect(r.ci_low).toBeGreaterThan(0);
    expect(r.verdict).toBe('negligible');
  });
});
