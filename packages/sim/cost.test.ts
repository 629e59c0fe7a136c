import { describe, expect, it } from 'vitest';
import { COST_KEYS, DEFAULT_COSTS, INIT_WORK, Kernel, alloc_workqueue, make_cost_table, queue_work } from './index.ts';

describe('cost table', () => {
  it('defaults are non-negative integers and the table is frozen', () => {
    const t = make_cost_table();
    for (const key of COST_KEYS) expect(Number.isInteger(t[key]) && t[key] >= 0).toBe(true);
    expect(Object.isFrozen(t)).toBe(true);
    expect(t).toEqual(DEFAULT_COSTS);
  });

  it('overrides replace single entries', () => {
    const t = make_cost_table({ kworker_wakeup_ns: 9_000, driver: { 'xe.run_job_ns': 2_000 } });
    expect(t.kworker_wakeup_ns).toBe(9_000);
    expect(t.work_dispatch_ns).toBe(DEFAULT_COSTS.work_dispatch_ns);
    expect(t.driver['xe.run_job_ns']).toBe(2_000);
  });

  it('rejects bad values with an error naming the entry', () => {
    expect(() => make_cost_table({ kworker_wakeup_ns: -1 })).toThrow('cost kworker_wakeup_ns must be a non-negative integer number of ns, got -1');
    expect(() => make_cost_table({ spin_lock_ns: 1.5 })).toThrow(/cost spin_lock_ns .* got 1.5/);
    expect(() => make_cost_table({ kmalloc_ns: Number.NaN })).toThrow(/kmalloc_ns/);
    expect(() => make_cost_table({ driver: { 'xe.run_job_ns': -5 } })).toThrow(/cost driver\.xe\.run_job_ns .* got -5/);
    expect(() => new Kernel({ costs: { fence_signal_ns: -3 } })).toThrow(RangeError);
  });

  it('rejects unknown entries (a misspelt override must not silently keep the default)', () => {
    const typo = { kworker_wakup_ns: 1 } as unknown as Parameters<typeof make_cost_table>[0];
    expect(() => make_cost_table(typo)).toThrow(/unknown cost entry kworker_wakup_ns/);
  });

  it('Kernel.cost_of reads a driver cost or falls back', () => {
    const k = new Kernel({ costs: { driver: { 'mock.run_job_ns': 700 } } });
    expect(k.cost_of('mock.run_job_ns', 1)).toBe(700);
    expect(k.cost_of('mock.other_ns', 42)).toBe(42);
  });

  it('an entry changes timing: raising kworker_wakeup_ns delays a work item by exactly the difference', () => {
    const start = (wakeup_ns: number) => {
      const k = new Kernel({ costs: { kworker_wakeup_ns: wakeup_ns } });
      let at = -1;
      queue_work(alloc_workqueue(k, 'test', 0, 0), INIT_WORK(k, () => { at = k.now(); }, 'w'));
      k.run_all();
      return at;
    };
    expect(start(10_000) - start(6_000)).toBe(4_000);
    expect(start(0)).toBe(DEFAULT_COSTS.work_dispatch_ns);
  });

  it('work_dispatch_ns and hardirq_entry_ns show up in timing too', () => {
    const k = new Kernel({ costs: { work_dispatch_ns: 1_234, hardirq_entry_ns: 77 } });
    const seen: number[] = [];
    queue_work(alloc_workqueue(k, 'test', 0, 0), INIT_WORK(k, () => { seen.push(k.now()); }, 'w'));
    k.raise_irq_at(k.request_irq('gpu', null, () => seen.push(k.now())), 100_000, 0);
    k.run_all();
    expect(seen).toEqual([k.costs.kworker_wakeup_ns + 1_234, 100_077]);
  });
});
