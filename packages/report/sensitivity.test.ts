import { describe, expect, it } from 'vitest';
import { assumption_family, default_families } from './sensitivity.ts';

describe('assumption families', () => {
  it('sweep every value of a selectable assumption, or only its alternatives; an unknown id is an error naming the known ones', () => {
    expect(assumption_family('sim.cpu-order')).toEqual({
      name: 'assumption sim.cpu-order',
      variants: [
        { label: 'fifo', costs: {}, assume: { 'sim.cpu-order': 'fifo' } },
        { label: 'kworker-first', costs: {}, assume: { 'sim.cpu-order': 'kworker-first' } },
      ],
    });
    expect(assumption_family('sim.cpu-order', true).variants.map((v) => v.label)).toEqual(['kworker-first']);
    expect(() => assumption_family('sim.nope')).toThrow(/unknown assumption 'sim\.nope' \(known: .*sim\.cpu-order/);
  });

  it("the default sweep of every report includes the simulated CPUs' serving order", () => {
    expect(default_families().map((f) => f.name)).toEqual(['cost profile', 'kworker_wakeup_ns', 'process_wakeup_ns', 'assumption sim.cpu-order']);
  });
});
