/**
 * The driver registry: which backends each driver has, the clear error for one it has not, and
 * the HW-queue backend running a workload end to end (mock and panfrost).
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '@deplab/sim';
import { backend_problem, driver_backends, find_driver } from './drivers.ts';
import { find_builtin, load_builtin } from './builtin/index.ts';
import { run_workload } from './run/runner.ts';

describe('driver registry', () => {
  it('lists the backends of each driver; panfrost and the mock have the HW-queue backend', () => {
    expect(driver_backends(find_driver('panfrost')!)).toEqual(['sched', 'dep-hw']);
    expect(driver_backends(find_driver('mock')!)).toEqual(['sched', 'dep', 'dep-hw']);
    expect(driver_backends(find_driver('xe')!)).toEqual(['sched', 'dep']);
    expect(backend_problem(find_driver('panfrost')!, 'dep')).toBe('driver panfrost has no dep binding (its backends: sched, dep-hw)');
    expect(backend_problem(find_driver('mock')!, 'dep-hw')).toBeNull();
  });

  it('a factory asked for a backend its driver has no binding for refuses it with a RangeError naming both', () => {
    for (const name of ['xe', 'panthor', 'amdxdna']) {
      expect(() => find_driver(name)!.factory(new Kernel(), 'dep-hw')).toThrow(`driver ${name} has no dep-hw binding (its backends: sched, dep)`);
    }
  });

  for (const driver of ['mock', 'panfrost']) {
    it(`${driver} runs wsim/composited-ui on the HW-queue backend: every job finishes, no violation`, () => {
      const d = find_driver(driver)!;
      const loaded = load_builtin(find_builtin('wsim/composited-ui')!, d.engines);
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const run = run_workload(loaded.workload, d.factory, 'dep-hw', { seed: 1, device: d.defaults, monitor: { retain: true } });
      expect(run.stuck).toBeNull();
      expect(run.device.backend).toBe('dep-hw');
      const jobs = run.observation.jobs!;
      expect(jobs.length).toBeGreaterThan(100);
      expect(jobs.filter((j) => j.finished_ns < 0 || j.error !== 0)).toEqual([]);
      expect(run.kernel.violations.list.map((v) => `${v.kind} @${v.site}`)).toEqual([]);
    });
  }
});
