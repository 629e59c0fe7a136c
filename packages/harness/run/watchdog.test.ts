/**
 * No false hangs: a run has no built-in time limit shorter than a workload may last (the format
 * allows an hour), and the hang watchdog tells a stuck run from a long one by progress, at a
 * cost of a few wake-ups however long the run. A real deadlock is still reported, at
 * run_workload, soon after progress stops.
 */
import { describe, expect, it } from 'vitest';
import { find_driver } from '../drivers.ts';
import { load_workload_json } from '../workload/load-json.ts';
import type { Workload } from '../workload/types.ts';
import { WATCHDOG_QUIET_MIN_MS, run_workload } from './runner.ts';

function workload(json: object): Workload {
  const r = load_workload_json(JSON.stringify(json), 'watchdog.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.workload;
}

const mock = find_driver('mock')!;
const xe = find_driver('xe')!;
const hangs = (r: ReturnType<typeof run_workload>) => r.kernel.violations.list.filter((v) => v.kind === 'hang');

describe('the hang watchdog', () => {
  it('the issue\'s 1-hour workload (60 fps for 3,600,000 ms) runs to its end: ~216,000 jobs, not "hang at run_workload" at 600 s, with a few wake-ups', () => {
    const w = workload({ name: 'hour', streams: [{ client: 'c', queue: 'q', engine: 'render', duration_ms: 3600000, rate: '60fps', duration_us: 1000 }] });
    const r = run_workload(w, mock.factory, 'sched', { seed: 1 });
    expect(r.stuck).toBe(null);
    expect(hangs(r)).toEqual([]);
    expect(r.programs_completed).toBe(1);
    // A period of 16,667 µs for 60 fps, over an hour: about 216,000 frames.
    expect(r.observation.submitted).toBeGreaterThan(215_000);
    expect(r.observation.finished).toBe(r.observation.submitted);
    expect(r.kernel.now()).toBeGreaterThan(3600e9);
    // Polling every simulated ms would be 3.6 M wake-ups; the watchdog sleeps until its deadline.
    expect(r.watchdog_wakeups).toBeLessThan(100);
  }, 120_000);

  it('long quiet stretches are waited out: a 50-minute job, a 40-minute delay, an event at 55 minutes', () => {
    const long_job = workload({ name: 'long', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 2, steps: [{ batch: { queue: 'q', duration_us: 3_000_000_000 } }] } }] });
    const r1 = run_workload(long_job, mock.factory, 'dep', { seed: 1 });
    expect(r1.stuck).toBe(null);
    expect(r1.observation.finished).toBe(2);
    const long_delay = workload({ name: 'sleepy', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 2, steps: [{ delay: { us: 2_400_000_000 } }, { batch: { queue: 'q', duration_us: 10 } }] } }] });
    const r2 = run_workload(long_delay, mock.factory, 'sched', { seed: 1 });
    expect(r2.stuck).toBe(null);
    expect(r2.observation.finished).toBe(2);
    const late_fence = workload({
      name: 'late', external_fences: [{ name: 'f', signal_at_us: 3_300_000_000 }],
      clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps: [{ batch: { queue: 'q', duration_us: 10, deps: [{ external: 'f' }], wait: true } }] } }],
    });
    const r3 = run_workload(late_fence, mock.factory, 'sched', { seed: 1 });
    expect(r3.stuck).toBe(null);
    expect(r3.observation.finished).toBe(1);
  });

  it('a real deadlock is reported at run_workload once nothing progressed for the quiet period, cheaply', () => {
    const dead = workload({
      name: 'dead', external_fences: [{ name: 'never' }],
      clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 2, steps: [{ batch: { queue: 'q', duration_us: 10, deps: [{ external: 'never' }], wait: true } }] } }],
    });
    const r = run_workload(dead, mock.factory, 'sched', { seed: 1 });
    expect(r.stuck).not.toBe(null);
    // (Closing the blocked client then hangs the teardown too, which the outcome reports last.)
    expect(hangs(r).find((v) => v.site === 'run_workload')?.message).toMatch(/programs still running with no progress for \d+\.\d+ s of virtual time/);
    expect(r.watchdog_wakeups).toBeLessThan(5);
    // Found within the quiet period (twice the default TDR allowance), not at an hour.
    expect(r.kernel.now()).toBeLessThan(4 * WATCHDOG_QUIET_MIN_MS * 1e6);
  });

  it('a hung job that the driver\'s TDR kills is progress: xe recovers it, the run is not stuck', () => {
    const w = workload({ name: 'tdr', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 100, hang: true } }, { delay: { us: 1000 } }] } }] });
    const r = run_workload(w, xe.factory, 'sched', { seed: 1 });
    expect(r.stuck).toBe(null);
    expect(r.programs_completed).toBe(1);
  });

  it('an explicit budget (what exploration runs use) still cuts the run at that time', () => {
    const w = workload({ name: 'cut', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 100, steps: [{ batch: { queue: 'q', duration_us: 100 } }, { delay: { us: 100_000 } }] } }] });
    const r = run_workload(w, mock.factory, 'sched', { seed: 1, max_time_ms: 1_000, drain_ms: 100 });
    expect(r.stuck).toMatch(/programs still running after 1 s of virtual time/);
    expect(r.stuck_at).toBe('run_workload');
  });
});
