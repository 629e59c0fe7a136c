import { afterEach, describe, expect, it, vi } from 'vitest';
import { RandomStream } from '@deplab/sim';
import { draw, type Distribution } from '../index.ts';

const kinds: Distribution[] = [
  { kind: 'constant', value_us: 250 },
  { kind: 'uniform', min_us: 100, max_us: 200 },
  { kind: 'exponential', mean_us: 500, min_us: 1, max_us: null },
  { kind: 'normal', mean_us: 2000, stddev_us: 300, min_us: 1, max_us: null },
];

function sample(distribution: Distribution, stream: RandomStream, count: number): number[] {
  return Array.from({ length: count }, () => draw(distribution, stream));
}

describe('draw', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(kinds.map((d) => [d.kind, d] as const))('%s: same seed and stream name, same values', (_, distribution) => {
    const a = sample(distribution, new RandomStream(7, 'client:game'), 200);
    const b = sample(distribution, new RandomStream(7, 'client:game'), 200);
    expect(a).toEqual(b);
    for (const value of a) expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
    if (distribution.kind !== 'constant') {
      expect(sample(distribution, new RandomStream(7, 'client:other'), 200)).not.toEqual(a);
      expect(sample(distribution, new RandomStream(8, 'client:game'), 200)).not.toEqual(a);
    }
  });

  it('consumes a fixed amount of the stream per draw, so one draw never shifts another kind', () => {
    const u32_per_draw = { constant: 0, uniform: 2, exponential: 2, normal: 4 } as const;
    for (const distribution of kinds) {
      const used = new RandomStream(3, 's');
      const reference = new RandomStream(3, 's');
      draw(distribution, used);
      for (let i = 0; i < u32_per_draw[distribution.kind]; i++) reference.next_u32();
      expect(used.next_u32()).toBe(reference.next_u32());
    }
  });

  it('uniform is inclusive at both ends', () => {
    const values = new Set(sample({ kind: 'uniform', min_us: 1, max_us: 3 }, new RandomStream(1, 'u'), 300));
    expect([...values].sort()).toEqual([1, 2, 3]);
  });

  it('exponential and normal have their mean and respect their bounds', () => {
    const stream = new RandomStream(11, 'moments');
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(sample(kinds[2], stream, 20_000))).toBeCloseTo(500, -1.5);
    const normal = sample(kinds[3], stream, 20_000);
    const m = mean(normal);
    expect(m).toBeCloseTo(2000, -1);
    expect(Math.sqrt(mean(normal.map((v) => (v - m) ** 2)))).toBeCloseTo(300, -1);
    const clamped = sample({ kind: 'normal', mean_us: 10, stddev_us: 100, min_us: 5, max_us: 20 }, stream, 1000);
    expect(Math.min(...clamped)).toBe(5);
    expect(Math.max(...clamped)).toBe(20);
  });

  it('never uses Math.random', () => {
    const spy = vi.spyOn(Math, 'random').mockImplementation(() => { throw new Error('Math.random used'); });
    for (const distribution of kinds) sample(distribution, new RandomStream(1, 'x'), 10);
    expect(spy).not.toHaveBeenCalled();
  });

  it('rejects malformed distributions', () => {
    const stream = new RandomStream(1, 'x');
    expect(() => draw({ kind: 'uniform', min_us: 5, max_us: 1 }, stream)).toThrow(RangeError);
    expect(() => draw({ kind: 'constant', value_us: 1.5 }, stream)).toThrow(RangeError);
    expect(() => draw({ kind: 'exponential', mean_us: 0, min_us: 0, max_us: null }, stream)).toThrow(RangeError);
  });
});
