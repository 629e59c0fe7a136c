/**
 * deplab_job_hw_start on the mock GPU: a job starts when it reaches the head of the timeline,
 * on both bindings alike (the hook and its bookkeeping are the harness device's, device.ts).
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '@deplab/sim';
import type { DeviceFactory } from '@deplab/driver-api';
import { expect_behind_a_hang, expect_busy_queue, expect_killed_while_waiting, finish, job_starts, scenario, submit_all } from '@deplab/driver-api/hw-start.testlib';
import { MockDevice } from './device.ts';
import { mock_dep_backend } from './on-dep.ts';
import { mock_sched_backend } from './on-sched.ts';

const mock_device_factory: DeviceFactory = (k, backend, options) =>
  new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options);

describe('mock: deplab_job_hw_start', () => {
  it('a busy timeline starts each job once, when the one before completes (later than its run_job), alike on both bindings', () => {
    // The timer handler that completes a job starts the next: the hrtimer expiry is the gap's overhead.
    const r = expect_busy_queue(mock_device_factory, [300_000, 200_000, 400_000, 100_000], [0, 10_000]);
    // Job 3 waits for 900 us of work ahead of it, all handed over within the first 10 us.
    for (const jobs of Object.values(r)) expect(jobs[3].starts_ns[0] - jobs[3].run_ns).toBeGreaterThan(880_000);
  });

  it('jobs killed while waiting on a fence never run and never start', () => {
    const r = expect_killed_while_waiting(mock_device_factory, 3, 2_000_000, { driver: { close_as: 'sigkill' } });
    for (const { jobs } of Object.values(r)) expect(jobs.slice(1).map((j) => j.run_ns)).toEqual([-1, -1, -1]);
  });

  it('jobs handed to the hardware behind a hung job are cancelled at unplug without starting', () => {
    const r = expect_behind_a_hang(mock_device_factory, 3);
    for (const jobs of Object.values(r)) expect(jobs.map((j) => j.outcome)).toEqual(['-ECANCELED', '-ECANCELED', '-ECANCELED', '-ECANCELED']);
  });

  it('the job behind a timed-out one starts when the timeout removes it from the timeline', () => {
    for (const backend of ['sched', 'dep'] as const) {
      const s = scenario(mock_device_factory, backend, { driver: { timeout_ms: 10 } });
      const handles = submit_all(s, [{ duration_ns: 100_000, deps: [], hang: true }, { duration_ns: 100_000, deps: [] }]);
      finish(s);
      const [hung, next] = job_starts(s.k, handles);
      // As in the C mock, the second job's timer expired while the hung one blocked the head:
      // it starts when the first is removed but nothing completes it, so it times out too.
      expect([hung.outcome, next.outcome], backend).toEqual(['-ETIMEDOUT', '-ETIMEDOUT']);
      expect(next.starts_ns.length).toBe(1);
      expect(next.starts_ns[0] - hung.starts_ns[0], backend).toBeGreaterThanOrEqual(10_000_000);
      // The TDR's timer runs on the wheel's next tick and its work waits for a kworker wake-up.
      expect(next.starts_ns[0], backend).toBeLessThan(12_000_000);
    }
  });

  it('an untraced run installs nothing', () => {
    for (const backend of ['sched', 'dep'] as const) {
      const dev = mock_device_factory(new Kernel({ trace: 'off' }), backend);
      expect(dev.reports_hw_start).toBe(true);
      expect((dev as unknown as { sched: { hw_start: unknown; gpu: { job_started: unknown } } }).sched.hw_start).toBeNull();
      expect((dev as unknown as { sched: { gpu: { job_started: unknown } } }).sched.gpu.job_started).toBeNull();
    }
  });
});
