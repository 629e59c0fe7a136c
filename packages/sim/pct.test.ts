import { describe, expect, it } from 'vitest';
import { EventQueue, PHASE_KWORKER } from './event-queue.ts';
import { pct_tie_breaker } from './pct.ts';

/** Pop every event of one instant with `tb`; returns the order of their args. */
function order(tb: ReturnType<typeof pct_tie_breaker>, n: number): number[] {
  const eq = new EventQueue();
  eq.tie_breaker = tb;
  for (let i = 0; i < n; i++) eq.schedule(10, PHASE_KWORKER, 0, null, i);
  const out: number[] = [];
  for (let slot = eq.pop(); slot >= 0; slot = eq.pop()) {
    out.push(eq.arg_of(slot));
    eq.done(slot);
  }
  return out;
}

describe('pct_tie_breaker', () => {
  it('always picks a candidate, and the same seed gives the same choices', () => {
    const a = pct_tie_breaker(7, { depth: 3, horizon: 20 });
    const b = pct_tie_breaker(7, { depth: 3, horizon: 20 });
    for (let i = 0; i < 200; i++) {
      const count = 2 + (i % 5);
      const x = a.choose(count);
      expect(x).toBe(b.choose(count));
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(count);
    }
  });

  it('depth 1 keeps one priority order within an instant: a permutation, different across seeds', () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const o = order(pct_tie_breaker(seed, { depth: 1 }), 5);
      expect([...o].sort()).toEqual([0, 1, 2, 3, 4]);
      orders.add(o.join(','));
    }
    expect(orders.size).toBeGreaterThan(10);
  });

  it('a change point demotes the current leader at its choice number', () => {
    // With depth 2 and horizon 1 the only change point is choice 0: the leader of the first
    // choice drops below everyone, so it is popped last.
    for (let seed = 1; seed <= 10; seed++) {
      const plain = order(pct_tie_breaker(seed, { depth: 1 }, 'same'), 4);
      const changed = order(pct_tie_breaker(seed, { depth: 2, horizon: 1 }, 'same'), 4);
      expect(changed[changed.length - 1]).toBe(plain[0]);
    }
  });

  it('rejects bad parameters', () => {
    expect(() => pct_tie_breaker(1, { depth: 0 })).toThrow(RangeError);
    expect(() => pct_tie_breaker(1, { horizon: 0 })).toThrow(RangeError);
  });
});
