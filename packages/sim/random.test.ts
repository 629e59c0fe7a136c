import { describe, expect, it } from 'vitest';
import { Kernel, RandomStream, RandomStreams } from './index.ts';

function draw(s: RandomStream, n = 64): number[] {
  return Array.from({ length: n }, () => s.next_u32());
}

describe('random streams', () => {
  it('the same (seed, name) gives the same sequence', () => {
    expect(draw(new RandomStream(5, 'jobs'))).toEqual(draw(new RandomStream(5, 'jobs')));
  });

  it('a different seed or name gives a different sequence', () => {
    const base = draw(new RandomStream(5, 'jobs'));
    expect(draw(new RandomStream(6, 'jobs'))).not.toEqual(base);
    expect(draw(new RandomStream(5, 'jobs2'))).not.toEqual(base);
    // No shifted copy either: the name is not just an offset into one sequence.
    const other = draw(new RandomStream(5, 'faults'), 256);
    expect(other.some((v, i) => i + 4 <= 256 && base.slice(0, 4).every((b, j) => other[i + j] === b))).toBe(false);
  });

  it('streams are independent: drawing from one does not move another', () => {
    const a = new RandomStreams(9);
    const b = new RandomStreams(9);
    draw(a.stream('noise'), 1000);
    expect(draw(a.stream('workload'))).toEqual(draw(b.stream('workload')));
  });

  it('creation order does not matter', () => {
    const a = new RandomStreams(3);
    const a1 = a.stream('x');
    const a2 = a.stream('y');
    const b = new RandomStreams(3);
    const b2 = b.stream('y');
    const b1 = b.stream('x');
    expect(draw(a1)).toEqual(draw(b1));
    expect(draw(a2)).toEqual(draw(b2));
  });

  it('stream(name) returns the same object within a run, so draws continue', () => {
    const r = new RandomStreams(1);
    const first = r.stream('s').next_u32();
    const second = r.stream('s').next_u32();
    const fresh = new RandomStream(1, 's');
    expect([fresh.next_u32(), fresh.next_u32()]).toEqual([first, second]);
  });

  it('a Kernel derives its streams from its seed', () => {
    const k1 = new Kernel({ seed: 77 });
    const k2 = new Kernel({ seed: 77 });
    const k3 = new Kernel({ seed: 78 });
    expect(draw(k1.random.stream('w'))).toEqual(draw(k2.random.stream('w')));
    expect(draw(k1.random.stream('v'))).not.toEqual(draw(k3.random.stream('v')));
  });

  it('draws stay in range', () => {
    const s = new RandomStream(11, 'range');
    const ints = new Set<number>();
    let bad = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = s.float();
      const n = s.int(-2, 2);
      const b = s.below(3);
      if (!(f >= 0 && f < 1) || !Number.isInteger(n) || !(b >= 0 && b < 3 && Number.isInteger(b))) bad++;
      ints.add(n);
    }
    expect(bad).toBe(0);
    expect([...ints].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2]);
    expect(() => s.int(3, 2)).toThrow(RangeError);
    expect(() => new RandomStream(1.5, 'x')).toThrow(RangeError);
  });

  it('distributions have the right mean', () => {
    const s = new RandomStream(12, 'mean');
    let sum = 0, hits = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      sum += s.exponential(100);
      if (s.chance(0.25)) hits++;
    }
    expect(sum / n).toBeGreaterThan(97);
    expect(sum / n).toBeLessThan(103);
    expect(hits / n).toBeGreaterThan(0.24);
    expect(hits / n).toBeLessThan(0.26);
  });
});
