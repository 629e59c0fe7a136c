/**
 * deplab_job_hw_start on panthor: a job starts when its group is resident on a CSG slot and
 * the queue's command stream reaches its ring entry (after the doorbell latency when a doorbell
 * made the firmware look). Installed by the shared panthor_device, jobs recorded by
 * GROUP_SUBMIT at arm: the same on both bindings.
 */
import { describe, expect, it } from 'vitest';
import { Kernel, errno_name } from '@deplab/sim';
import { expect_behind_a_hang, expect_busy_queue, expect_killed_while_waiting, finish, job_starts, scenario, submit_all } from '@deplab/driver-api/hw-start.testlib';
import { PanthorDevice, panthor_device_factory } from './uapi.ts';

const BACKENDS = ['sched', 'dep'] as const;

describe('panthor: deplab_job_hw_start', () => {
  it('a busy stream starts each job once, when the one before ends (later than its run_job), alike on both bindings', () => {
    const r = expect_busy_queue(panthor_device_factory, [300_000, 200_000, 400_000, 100_000], [0, 0]);
    // The first job waits for its group to get a CSG slot (the tick, the firmware's START ack).
    for (const jobs of Object.values(r)) expect(jobs[0].starts_ns[0] - jobs[0].run_ns).toBeGreaterThan(10_000);
  });

  it('a job on a resident group starts the doorbell latency after the ring write', () => {
    for (const b of BACKENDS) {
      const s = scenario(panthor_device_factory, b);
      const first = submit_all(s, [{ duration_ns: 100_000, deps: [] }]);
      s.k.run_for(500_000); // the group stays on its slot, its stream idle
      const second = submit_all(s, [{ duration_ns: 100_000, deps: [] }]);
      finish(s);
      const [a, next] = job_starts(s.k, [...first, ...second]);
      expect([a.starts_ns.length, next.starts_ns.length], b).toEqual([1, 1]);
      const doorbell_ns = s.k.cost_of('panthor.fw_doorbell_ns', 2_000);
      const run_job_ns = s.k.cost_of('panthor.run_job_ns', 1_500);
      expect(next.starts_ns[0] - next.run_ns, b).toBeGreaterThanOrEqual(doorbell_ns + run_job_ns);
      expect(next.starts_ns[0] - next.run_ns, b).toBeLessThan(doorbell_ns + run_job_ns + 1_000);
    }
  });

  it('jobs killed while waiting on a fence never start', () => {
    expect_killed_while_waiting(panthor_device_factory, 3, 2_000_000);
  });

  it('jobs in the ring behind a hung job never start: the group is terminated', () => {
    expect_behind_a_hang(panthor_device_factory, 3);
  });

  it('a job suspended and resumed as groups share one CSG slot is reported once, at its first start', () => {
    for (const b of BACKENDS) {
      const k = new Kernel({ trace: 'record', init_name: 'test' });
      const dev = panthor_device_factory(k, b, { driver: { csg_slots: 1 } }) as PanthorDevice;
      const resumes: number[] = [];
      const report = dev.ptdev.gpu.entry_started!;
      dev.ptdev.gpu.entry_started = (entry) => { resumes.push(k.now()); report(entry); };
      const handles = ['a', 'b'].map((name) => {
        const client = dev.open_client(name);
        const q = dev.create_queue(client, { engine: 'render', priority: 'normal' });
        if (typeof q === 'number') throw new Error(`create_queue: ${errno_name(q)}`);
        return submit_all({ k, dev, client, queue: q }, [{ duration_ns: 50_000_000, deps: [] }])[0];
      });
      k.run_all();
      const jobs = job_starts(k, handles);
      expect(jobs.map((j) => j.outcome), b).toEqual(['0', '0']);
      expect(jobs.map((j) => j.starts_ns.length), b).toEqual([1, 1]);
      expect(resumes.length, b).toBeGreaterThan(2);
      expect(jobs.map((j) => j.starts_ns[0]), b).toEqual([...new Set(resumes)].slice(0, 2).sort((x, y) => x - y));
      k.run_task(dev.unplug());
    }
  });

  it('an untraced run installs nothing', () => {
    for (const b of BACKENDS) {
      const dev = panthor_device_factory(new Kernel({ trace: 'off' }), b) as PanthorDevice;
      expect(dev.ptdev.hw_start).toBeNull();
      expect(dev.ptdev.gpu.entry_started).toBeNull();
    }
  });
});
