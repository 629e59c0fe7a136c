import { describe, expect, it } from 'vitest';
import {
  COST_KEYS, COST_PROFILES, COST_PROFILE_NAMES, CONSTANT_COSTS, DEFAULT_COSTS, DEFAULT_COST_PROFILE, INIT_WORK, Kernel,
  RandomStream, RandomStreams, alloc_workqueue, cost_max_ns, cost_median_ns, cost_table_entries, format_cost_spec,
  make_cost_table, make_costs, parse_cost_spec, queue_work, type CostOverrides, type CostSpec,
} from './index.ts';

/** The table every figure before cost profiles was computed with. */
const OLD_TABLE = {
  kworker_wakeup_ns: 6_000, work_dispatch_ns: 300, process_wakeup_ns: 6_000, hardirq_entry_ns: 1_000,
  softirq_entry_ns: 500, spin_lock_ns: 20, mutex_lock_ns: 40, kmalloc_ns: 100, kfree_ns: 60,
  fence_signal_ns: 150, fence_callback_ns: 50,
};
const WAKER_SIDE = ['queue_work_ns', 'cancel_work_ns', 'try_to_wake_up_ns', 'timer_mod_ns', 'timer_del_ns', 'hrtimer_start_ns', 'hrtimer_cancel_ns'];

function draws(spec: CostSpec, n: number, seed = 1): number[] {
  const cost = make_costs(make_cost_table({ profile: 'constant', kworker_wakeup_ns: spec }), new RandomStreams(seed)).kworker_wakeup_ns;
  return Array.from({ length: n }, () => cost.draw());
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

describe('cost profiles', () => {
  it('constant is the old table exactly, with every waker-side entry 0', () => {
    const t = COST_PROFILES.constant;
    expect(t.profile).toBe('constant');
    for (const [key, ns] of Object.entries(OLD_TABLE)) expect(t[key as keyof typeof OLD_TABLE], key).toBe(ns);
    for (const key of WAKER_SIDE) expect(t[key as (typeof COST_KEYS)[number]], key).toBe(0);
    expect(COST_KEYS).toEqual([...Object.keys(OLD_TABLE), ...WAKER_SIDE]);
    expect({ ...CONSTANT_COSTS }).toEqual(Object.fromEntries(COST_KEYS.map((k) => [k, t[k]])));
  });

  it('desktop is the default; every profile is valid, frozen, and charges the waker', () => {
    expect(DEFAULT_COST_PROFILE).toBe('desktop');
    expect(DEFAULT_COSTS).toBe(COST_PROFILES.desktop);
    expect(make_cost_table()).toEqual(COST_PROFILES.desktop);
    expect(new Kernel().costs.profile).toBe('desktop');
    for (const name of COST_PROFILE_NAMES) {
      const t = COST_PROFILES[name];
      expect(Object.isFrozen(t)).toBe(true);
      expect(make_cost_table({ profile: name })).toEqual(t);
      if (name === 'constant') continue;
      for (const key of WAKER_SIDE) expect(cost_max_ns(t[key as (typeof COST_KEYS)[number]]), `${name} ${key}`).toBeGreaterThan(0);
    }
  });

  it('the realistic profiles give wake-ups a tail: p99.9 and max far above the median', () => {
    for (const name of ['server-idle', 'desktop', 'busy'] as const) {
      const spec = COST_PROFILES[name].kworker_wakeup_ns;
      const sorted = draws(spec, 200_000).sort((a, b) => a - b);
      const median = quantile(sorted, 0.5);
      expect(Math.abs(median / cost_median_ns(spec) - 1), name).toBeLessThan(0.01);
      expect(quantile(sorted, 0.999), name).toBeGreaterThan(10 * median);
      expect(sorted[sorted.length - 1], name).toBeLessThanOrEqual(cost_max_ns(spec));
      expect(cost_max_ns(spec), name).toBeGreaterThan(40 * median);
    }
  });
});

describe('building a table', () => {
  it('overrides replace single entries of the chosen profile', () => {
    const t = make_cost_table({ profile: 'busy', kworker_wakeup_ns: 9_000, driver: { 'xe.run_job_ns': 2_000 } });
    expect(t.profile).toBe('busy');
    expect(t.kworker_wakeup_ns).toBe(9_000);
    expect(t.process_wakeup_ns).toEqual(COST_PROFILES.busy.process_wakeup_ns);
    expect(t.work_dispatch_ns).toBe(COST_PROFILES.busy.work_dispatch_ns);
    expect(t.driver['xe.run_job_ns']).toBe(2_000);
    const u = make_cost_table({ queue_work_ns: { dist: 'uniform', min_ns: 100, max_ns: 300 } });
    expect(u.profile).toBe('desktop');
    expect(u.queue_work_ns).toEqual({ dist: 'uniform', min_ns: 100, max_ns: 300 });
  });

  it('the table is plain data: it survives JSON and structured clone unchanged', () => {
    for (const t of [COST_PROFILES.desktop, make_cost_table({ profile: 'server-idle', spin_lock_ns: { dist: 'lognormal', median_ns: 20, p99_ns: 80, max_ns: 400 } })]) {
      expect(make_cost_table(JSON.parse(JSON.stringify(t)) as CostOverrides)).toEqual(t);
      expect(make_cost_table(structuredClone(t) as CostOverrides)).toEqual(t);
    }
  });

  it('rejects bad values with an error naming the entry and what is wrong', () => {
    const bad = (o: unknown) => () => make_cost_table(o as CostOverrides);
    expect(bad({ kworker_wakeup_ns: -1 })).toThrow('cost kworker_wakeup_ns must be a non-negative integer number of ns, got -1');
    expect(bad({ spin_lock_ns: 1.5 })).toThrow(/cost spin_lock_ns .* got 1.5/);
    expect(bad({ kmalloc_ns: Number.NaN })).toThrow(/kmalloc_ns/);
    expect(bad({ driver: { 'xe.run_job_ns': -5 } })).toThrow(/cost driver\.xe\.run_job_ns .* got -5/);
    expect(bad({ driver: { 'xe.run_job_ns': { dist: 'uniform', min_ns: 1, max_ns: 2 } } })).toThrow(/driver\.xe\.run_job_ns .*driver entries are constants/);
    expect(bad({ profile: 'laptop' })).toThrow("unknown cost profile 'laptop' (known: constant, server-idle, desktop, busy)");
    expect(bad({ kworker_wakup_ns: 1 })).toThrow(/unknown cost entry kworker_wakup_ns/);
    expect(bad({ queue_work_ns: { dist: 'uniform', min_ns: 5, max_ns: 4 } })).toThrow(/cost queue_work_ns: uniform needs min_ns <= max_ns/);
    expect(bad({ queue_work_ns: { dist: 'gamma', k: 2 } })).toThrow(/cost queue_work_ns: unknown distribution 'gamma'/);
    expect(bad({ queue_work_ns: { dist: 'uniform', min_ns: 1, max_ns: 2, mean_ns: 3 } })).toThrow(/unknown field 'mean_ns'/);
    expect(bad({ queue_work_ns: 'fast' })).toThrow(/cost queue_work_ns: expected a non-negative integer/);
    expect(bad({ hardirq_entry_ns: { dist: 'lognormal', median_ns: 1_000, p99_ns: 500, max_ns: 5_000 } })).toThrow(/hardirq_entry_ns: lognormal needs 0 < median_ns <= p99_ns <= max_ns/);
    expect(bad({ hardirq_entry_ns: { dist: 'lognormal', median_ns: 1_000, p99_ns: 2_000 } })).toThrow(/hardirq_entry_ns: max_ns must be/);
    const emp = (points: unknown, tail?: unknown) => bad({ process_wakeup_ns: { dist: 'empirical', points, ...(tail === undefined ? {} : { tail }) } });
    expect(emp([[0, 1]])).toThrow(/process_wakeup_ns: empirical needs at least two/);
    expect(emp([[0.1, 1], [1, 2]])).toThrow(/first point must be at quantile 0/);
    expect(emp([[0, 1], [0.5, 2], [0.5, 3], [1, 4]])).toThrow(/quantiles must increase .*point 2/);
    expect(emp([[0, 5], [1, 4]])).toThrow(/ns must not decrease \(point 1\)/);
    expect(emp([[0, 1], [0.9, 2]])).toThrow(/without a tail the last point must be at quantile 1/);
    expect(emp([[0, 1], [1, 2]], { alpha: 2, max_ns: 10 })).toThrow(/with a tail the last point must be below quantile 1/);
    expect(emp([[0, 1], [0.9, 20]], { alpha: 2, max_ns: 10 })).toThrow(/tail max_ns must be an integer >= the last point's ns/);
    expect(emp([[0, 1], [0.9, 2]], { alpha: 0, max_ns: 10 })).toThrow(/tail alpha must be a positive number/);
    expect(() => new Kernel({ costs: { fence_signal_ns: -3 } })).toThrow(RangeError);
  });
});

describe('drawing', () => {
  it('a constant entry is a field read and never touches its stream', () => {
    const k = new Kernel({ seed: 5, costs: { profile: 'constant' } });
    for (const key of COST_KEYS) {
      expect(k.cost[key].constant_ns).toBe(CONSTANT_COSTS[key]);
      for (let i = 0; i < 3; i++) k.cost[key].draw();
    }
    // An untouched stream still starts where a fresh one with the same (seed, name) does.
    expect(k.random.stream('cost/kworker_wakeup_ns').next_u32()).toBe(new RandomStream(5, 'cost/kworker_wakeup_ns').next_u32());
  });

  it('the same seed gives identical draws, another seed different ones; each entry has its own stream', () => {
    const seq = (seed: number, key: 'kworker_wakeup_ns' | 'process_wakeup_ns') => {
      const k = new Kernel({ seed });
      return Array.from({ length: 50 }, () => k.cost[key].draw());
    };
    expect(seq(3, 'kworker_wakeup_ns')).toEqual(seq(3, 'kworker_wakeup_ns'));
    expect(seq(4, 'kworker_wakeup_ns')).not.toEqual(seq(3, 'kworker_wakeup_ns'));
    // Same distribution, different purpose: independent streams.
    expect(COST_PROFILES.desktop.process_wakeup_ns).toEqual(COST_PROFILES.desktop.kworker_wakeup_ns);
    expect(seq(3, 'process_wakeup_ns')).not.toEqual(seq(3, 'kworker_wakeup_ns'));
    // Two kernels with one seed (the two backends of a comparison) draw the same sequence, each from its own stream.
    const a = new Kernel({ seed: 9 }), b = new Kernel({ seed: 9 });
    const first_a = a.cost.kworker_wakeup_ns.draw();
    for (let i = 0; i < 10; i++) b.cost.process_wakeup_ns.draw();
    expect(b.cost.kworker_wakeup_ns.draw()).toBe(first_a);
  });

  it('uniform draws integers covering [min_ns, max_ns]', () => {
    const d = draws({ dist: 'uniform', min_ns: 10, max_ns: 14 }, 5_000);
    expect(new Set(d)).toEqual(new Set([10, 11, 12, 13, 14]));
  });

  it('lognormal has the given median and 99th percentile, clamped to max_ns', () => {
    const spec: CostSpec = { dist: 'lognormal', median_ns: 4_000, p99_ns: 40_000, max_ns: 60_000 };
    const sorted = draws(spec, 200_000).sort((a, b) => a - b);
    expect(quantile(sorted, 0.5) / 4_000).toBeCloseTo(1, 1);
    expect(quantile(sorted, 0.99) / 40_000).toBeCloseTo(1, 1);
    expect(sorted[sorted.length - 1]).toBe(60_000);
    expect(sorted.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
  });

  it('empirical follows its points and, above the last, a Pareto tail capped at max_ns', () => {
    const spec: CostSpec = { dist: 'empirical', points: [[0, 1_000], [0.5, 2_000], [0.9, 10_000]], tail: { alpha: 2, max_ns: 100_000 } };
    const n = 400_000;
    const sorted = draws(spec, n).sort((a, b) => a - b);
    expect(quantile(sorted, 0)).toBe(1_000);
    expect(Math.abs(quantile(sorted, 0.25) - 1_500)).toBeLessThan(30);
    expect(Math.abs(quantile(sorted, 0.7) - 6_000)).toBeLessThan(100);
    // P(X > x) = 0.1 * (10 000 / x)^2 in the tail: 0.1% above 100 000 would be, but the cap holds them.
    const above = (x: number) => sorted.filter((v) => v > x).length / n;
    expect(above(20_000) / 0.025).toBeCloseTo(1, 1);
    expect(above(40_000) / 0.00625).toBeCloseTo(1, 1);
    expect(sorted[sorted.length - 1]).toBe(100_000);
    expect(sorted.filter((v) => v === 100_000).length / n).toBeCloseTo(0.001, 3);
  });

  it('median and maximum of every kind of spec', () => {
    expect([cost_median_ns(7), cost_max_ns(7)]).toEqual([7, 7]);
    expect([cost_median_ns({ dist: 'uniform', min_ns: 10, max_ns: 20 }), cost_max_ns({ dist: 'uniform', min_ns: 10, max_ns: 20 })]).toEqual([15, 20]);
    expect(cost_median_ns({ dist: 'empirical', points: [[0, 0], [0.25, 100], [0.75, 300], [1, 400]] })).toBe(200);
    expect(cost_max_ns({ dist: 'empirical', points: [[0, 0], [1, 400]] })).toBe(400);
    // A median inside the tail: 100 * ((1 - 0.2) / 0.5)^(1/2).
    expect(cost_median_ns({ dist: 'empirical', points: [[0, 0], [0.2, 100]], tail: { alpha: 2, max_ns: 10_000 } })).toBe(126);
  });
});

describe('text form', () => {
  it('every profile entry prints in the text form and parses back to the same spec', () => {
    for (const name of COST_PROFILE_NAMES) {
      for (const key of COST_KEYS) {
        const spec = COST_PROFILES[name][key];
        expect(parse_cost_spec(key, format_cost_spec(spec)), `${name} ${key}`).toEqual(spec);
      }
    }
    expect(format_cost_spec(COST_PROFILES.desktop.kworker_wakeup_ns)).toBe('empirical:0=2500,0.5=6000,0.9=11000,0.99=40000,0.999=230000,tail=2:700000');
    expect(parse_cost_spec('hardirq_entry_ns', 'lognormal:1000:4000:25000')).toEqual({ dist: 'lognormal', median_ns: 1_000, p99_ns: 4_000, max_ns: 25_000 });
    expect(parse_cost_spec('queue_work_ns', 'uniform:100:300')).toEqual({ dist: 'uniform', min_ns: 100, max_ns: 300 });
    expect(parse_cost_spec('queue_work_ns', '250')).toBe(250);
    expect(cost_table_entries(COST_PROFILES.constant).slice(0, 3)).toEqual(['profile=constant', 'kworker_wakeup_ns=6000', 'work_dispatch_ns=300']);
  });

  it('bad text names the entry and the expected syntax', () => {
    expect(() => parse_cost_spec('queue_work_ns', 'fast')).toThrow(/cost queue_work_ns: not a number or distribution in 'fast' \(expected NS, uniform:MIN:MAX/);
    expect(() => parse_cost_spec('queue_work_ns', 'uniform:1')).toThrow(/uniform takes MIN:MAX/);
    expect(() => parse_cost_spec('queue_work_ns', 'lognormal:1:2')).toThrow(/lognormal takes MEDIAN:P99:MAX/);
    expect(() => parse_cost_spec('queue_work_ns', 'gamma:1:2')).toThrow(/unknown distribution 'gamma'/);
    expect(() => parse_cost_spec('queue_work_ns', 'empirical:0=1,tail=2:9,1=5')).toThrow(/the tail comes last/);
    expect(() => parse_cost_spec('queue_work_ns', 'uniform:9:1')).toThrow(/uniform needs min_ns <= max_ns/);
    expect(() => parse_cost_spec('queue_work_ns', 'uniform:1.5:2')).toThrow(/'1.5' is not an integer number of ns/);
  });
});

describe('costs in the kernel', () => {
  it('Kernel.cost_of reads a driver cost or falls back', () => {
    const k = new Kernel({ costs: { driver: { 'mock.run_job_ns': 700 } } });
    expect(k.cost_of('mock.run_job_ns', 1)).toBe(700);
    expect(k.cost_of('mock.other_ns', 42)).toBe(42);
  });

  it('an entry changes timing: raising kworker_wakeup_ns delays a work item by exactly the difference', () => {
    const start = (wakeup_ns: number) => {
      const k = new Kernel({ costs: { profile: 'constant', kworker_wakeup_ns: wakeup_ns } });
      let at = -1;
      queue_work(alloc_workqueue(k, 'test', 0, 0), INIT_WORK(k, () => { at = k.now(); }, 'w'));
      k.run_all();
      return at;
    };
    expect(start(10_000) - start(6_000)).toBe(4_000);
    expect(start(0)).toBe(CONSTANT_COSTS.work_dispatch_ns);
  });

  it('a distribution entry makes the wake-up latency vary from item to item, reproducibly', () => {
    const starts = (seed: number) => {
      const k = new Kernel({ seed, costs: { profile: 'constant', kworker_wakeup_ns: { dist: 'uniform', min_ns: 1_000, max_ns: 100_000 } } });
      const wq = alloc_workqueue(k, 'test', 0, 0);
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = i * 1_000_000;
        k.run_until(() => false, t0);
        queue_work(wq, INIT_WORK(k, () => { out.push(k.now() - t0); }, `w${i}`));
        k.run_all();
      }
      return out;
    };
    const a = starts(1);
    expect(new Set(a).size).toBeGreaterThan(15);
    expect(a.every((ns) => ns >= 1_000 + 300 && ns <= 100_000 + 300)).toBe(true);
    expect(starts(1)).toEqual(a);
    expect(starts(2)).not.toEqual(a);
  });

  it('work_dispatch_ns and hardirq_entry_ns show up in timing too', () => {
    const k = new Kernel({ costs: { profile: 'constant', work_dispatch_ns: 1_234, hardirq_entry_ns: 77 } });
    const seen: number[] = [];
    queue_work(alloc_workqueue(k, 'test', 0, 0), INIT_WORK(k, () => { seen.push(k.now()); }, 'w'));
    k.raise_irq_at(k.request_irq('gpu', null, () => seen.push(k.now())), 100_000, 0);
    k.run_all();
    expect(seen).toEqual([CONSTANT_COSTS.kworker_wakeup_ns + 1_234, 100_077]);
  });
});
