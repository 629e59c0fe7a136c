/**
 * deplab_job_hw_start on xe: a job starts when the GuC has its context scheduled and the ring
 * head reaches the job's entry (the ring writes its start seqno). Installed by the shared
 * xe_guc_submit_init, jobs recorded by the exec ioctl at arm: the same on both bindings.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '@deplab/sim';
import { expect_behind_a_hang, expect_busy_queue, expect_killed_while_waiting, finish, job_starts, scenario, submit_all } from '@deplab/driver-api/hw-start.testlib';
import { BACKENDS } from './xe.testlib.ts';
import { XeDevice, xe_device_factory } from './uapi.ts';

describe('xe: deplab_job_hw_start', () => {
  it('a busy ring starts each job once, when the one before ends (later than its run_job), alike on both bindings', () => {
    const r = expect_busy_queue(xe_device_factory, [300_000, 200_000, 400_000, 100_000], [0, 0]);
    // The first job waits for the context's registration and enable (GuC round trips).
    for (const jobs of Object.values(r)) expect(jobs[0].starts_ns[0] - jobs[0].run_ns).toBeGreaterThan(10_000);
  });

  it("run_job on a killed queue is no start: drm_sched still calls it, nothing reaches the ring; drm_dep cancels the jobs", () => {
    const r = expect_killed_while_waiting(xe_device_factory, 3, 2_000_000);
    expect(r.sched.jobs.slice(1).every((j) => j.run_ns > r.sched.close_ns)).toBe(true);
    expect(r.dep.jobs.slice(1).map((j) => j.run_ns)).toEqual([-1, -1, -1]);
  });

  it('jobs in the ring behind a hung job never start: the kill takes the context off the hardware', () => {
    expect_behind_a_hang(xe_device_factory, 3);
  });

  it('a job executed again after a GT reset is reported once, at its first start', () => {
    for (const b of BACKENDS) {
      // A VM-bind queue is not banned for a job the reset interrupted: the job runs again.
      const s = scenario(xe_device_factory, b);
      const dev = s.dev as XeDevice;
      const bind = dev.create_queue(s.client, { engine: 'bind', priority: 'normal' });
      if (typeof bind === 'number') throw new Error('bind queue');
      const engine_starts: number[] = [];
      const report = dev.xe.hw.job_started!;
      dev.xe.hw.job_started = (job) => { engine_starts.push(s.k.now()); report(job); };
      const handles = submit_all({ ...s, queue: bind }, [{ duration_ns: 2_000_000, deps: [] }]);
      s.k.run_for(1_000_000);
      dev.inject_fault({ kind: 'device_reset' });
      finish(s);
      const [job] = job_starts(s.k, handles);
      expect(job.outcome, b).toBe('0');
      expect(engine_starts.length, b).toBe(2);
      expect(job.starts_ns, b).toEqual([engine_starts[0]]);
    }
  });

  it('an untraced run installs nothing', () => {
    for (const b of BACKENDS) {
      const dev = xe_device_factory(new Kernel({ trace: 'off' }), b) as XeDevice;
      expect(dev.xe.hw_start).toBeNull();
      expect(dev.xe.hw.job_started).toBeNull();
    }
  });
});
