/**
 * The same mixed workload on drm_sched and on drm_dep (scenario.testlib.ts): every job must end
 * the same way (finished or not, error code) on both, except the jobs the README's
 * "Differences between the bindings" explains; those are asserted one by one.
 */
import { describe, expect, it } from 'vitest';
import { MS } from './xe.testlib.ts';
import { run_scenario } from './scenario.testlib.ts';

describe('xe: identical per-job outcomes on drm_sched and drm_dep, except the documented differences', () => {
  const sched = run_scenario('sched');
  const dep = run_scenario('dep');

  /** Jobs whose outcome differs on purpose, with [drm_sched, drm_dep]. */
  const expected_differences = new Map<string, [string, string]>([
    // #d1: waiting for its in-fence when the client was killed.
    ['ra2#0', ['-ETIME', '-ECANCELED']],
    // #d3: never got a credit before the ban; drm_sched runs each on the banned queue and the
    // immediate TDR errors it as a timed-out head.
    ['cb#56', ['-ETIME', '-ECANCELED']], ['cb#57', ['-ETIME', '-ECANCELED']],
    ['cb#58', ['-ETIME', '-ECANCELED']], ['cb#59', ['-ETIME', '-ECANCELED']],
    // #d4: submitted after drm_dep's TDR had banned the queue (drm_sched had not fired yet).
    ...[4, 5, 6, 7, 8, 9].map((i) => [`st#${i}`, ['-ECANCELED', 'submit:-ECANCELED']] as [string, [string, string]]),
  ]);

  it('the same jobs, and the same outcome for every job not listed as a difference', () => {
    expect([...dep.outcomes.keys()].sort()).toEqual([...sched.outcomes.keys()].sort());
    const differing: string[] = [];
    for (const [name, s] of sched.outcomes) {
      const d = dep.outcomes.get(name)!;
      if (s !== d) differing.push(name);
      const want = expected_differences.get(name);
      if (want !== undefined) expect([name, s, d]).toEqual([name, ...want]);
      else expect([name, d]).toEqual([name, s]);
    }
    expect(differing.sort()).toEqual([...expected_differences.keys()].sort());
    // Sanity: the workload exercised errors and successes on both.
    const values = [...sched.outcomes.values()];
    for (const v of ['0', '-ETIME', '-ECANCELED']) expect(values).toContain(v);
  });

  it('#d4: a hung head under a steady stream of submissions: drm_sched pushes the TDR out at every run_job', () => {
    // The head hangs from ~0 ms; a job is submitted every 30 ms until 270 ms; timeout 100 ms.
    expect(dep.finished_ns.get('st#0')).toBeLessThan(101 * MS);
    expect(sched.finished_ns.get('st#0')).toBeGreaterThan(370 * MS);
    expect(sched.finished_ns.get('st#0')).toBeLessThan(371 * MS);
  });

  it('is deterministic: the same run gives a byte-identical trace on each binding', () => {
    expect(run_scenario('sched').trace_digest).toBe(sched.trace_digest);
    expect(run_scenario('dep').trace_digest).toBe(dep.trace_digest);
    expect(dep.trace_digest).not.toBe(sched.trace_digest);
  });

  it('teardown latency: Ctrl-C returns at once on both; destruction and unplug are asynchronous and short', () => {
    expect(sched.close_ns).toBe(0);
    expect(dep.close_ns).toBe(0);
    for (const r of [sched, dep]) {
      expect(r.freed_after_close_ns).toBeLessThan(100_000);
      expect(r.unplug_ns).toBeLessThan(MS);
    }
  });
});
