import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo, rb_root_cached } from './index.ts';

describe('Fifo', () => {
  it('behaves as an array used as a queue, across compactions (random operations)', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('push' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ k: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ k: fc.constantFrom('unshift' as const, 'remove_at' as const, 'remove' as const), n: fc.nat() }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const f = new Fifo<number>();
      const ref: number[] = [];
      let next = 0;
      for (const { k, n } of ops) {
        if (k === 'push') for (let i = 0; i < n; i++) { f.push(next); ref.push(next++); }
        else if (k === 'shift') for (let i = 0; i < n; i++) expect(f.shift()).toBe(ref.shift());
        else if (k === 'unshift') { f.unshift(next); ref.unshift(next++); }
        else if (k === 'remove_at') { const i = ref.length === 0 ? 0 : n % ref.length; expect(f.remove_at(i)).toBe(ref.splice(i, 1)[0]); }
        else { const x = ref.length === 0 ? -1 : ref[n % ref.length]; expect(f.remove(x)).toBe(ref.includes(x)); if (ref.includes(x)) ref.splice(ref.indexOf(x), 1); }
        expect(f.length).toBe(ref.length);
        expect(f.at(0)).toBe(ref[0]);
        expect(f.at(ref.length - 1)).toBe(ref[ref.length - 1]);
        expect(f.at(ref.length)).toBe(undefined);
      }
      expect(f.to_array()).toEqual(ref);
      if (ref.length > 0) expect(f.indexOf(ref[ref.length >> 1])).toBe(ref.length >> 1);
      if (ref.every((x, i) => i === 0 || ref[i - 1] < x)) {
        for (const x of [ref[0], ref[ref.length >> 1], ref[ref.length - 1]]) if (x !== undefined) expect(f.find_sorted(x, (y) => y)).toBe(x);
        expect(f.find_sorted(-1, (y) => y)).toBe(undefined);
        expect(f.find_sorted(next, (y) => y)).toBe(undefined);
      }
    }), { seed: 16, numRuns: 60 });
  });

  it('keeps its array no larger than twice what it holds however many entries went through it', () => {
    const f = new Fifo<object>();
    for (let i = 0; i < 100_000; i++) { f.push({}); if (i >= 10) f.shift(); }
    expect(f.length).toBe(10);
    // The backing store after 99,990 shifts: compacted, not 100,000 slots of which 10 are live.
    expect((f as unknown as { items: unknown[] }).items.length).toBeLessThanOrEqual(2048);
  });
});

describe('rb_root_cached', () => {
  it('walks in key order, equal keys in insertion order, whatever is erased and added, as an array and as a tree (random operations)', () => {
    interface Node { key: number; rb_seq: number; id: number }
    // limit 3: the array becomes the B+ tree after three nodes.
    fc.assert(fc.property(fc.constantFrom(128, 3), fc.array(fc.record({ add: fc.boolean(), key: fc.integer({ min: 0, max: 5 }), pick: fc.nat() }), { maxLength: 200 }), (limit, ops) => {
      const t = new rb_root_cached<Node>((n) => n.key, limit);
      let ref: Node[] = [];
      let id = 0;
      for (const { add, key, pick } of ops) {
        if (add || ref.length === 0) {
          const n = { key, rb_seq: 0, id: id++ };
          t.add(n);
          // rb_add_cached: after the existing equal keys.
          let at = ref.length;
          while (at > 0 && ref[at - 1].key > key) at--;
          ref.splice(at, 0, n);
        } else {
          const n = ref[pick % ref.length];
          expect(t.erase(n)).toBe(true);
          expect(t.erase(n)).toBe(false);
          ref = ref.filter((x) => x !== n);
        }
        expect(t.size).toBe(ref.length);
        expect(t.first()).toBe(ref[0] ?? null);
      }
      expect([...t].map((n) => n.id)).toEqual(ref.map((n) => n.id));
      expect(t.to_array()).toEqual(ref);
    }), { seed: 16, numRuns: 300 });
  });
});
