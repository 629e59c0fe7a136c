/**
 * deplab_job_hw_start on amdxdna: a command starts when its firmware context begins executing
 * it (the head of the context's queue; the ERT's dispatch overhead is part of its execution).
 * Installed by the shared amdxdna_dev, jobs recorded by aie2_cmd_submit at arm: the same on
 * both bindings.
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '@deplab/sim';
import { expect_behind_a_hang, expect_busy_queue } from '@deplab/driver-api/hw-start.testlib';
import { AmdxdnaDevice, amdxdna_device } from './uapi.ts';

const BACKENDS = ['sched', 'dep'] as const;

describe('amdxdna: deplab_job_hw_start', () => {
  it('a busy context starts each command once, when the one before ends (later than its run_job), alike on both bindings', () => {
    const dispatch_ns = (amdxdna_device(new Kernel(), 'sched') as AmdxdnaDevice).xdna.npu.dispatch_ns;
    expect(dispatch_ns).toBeGreaterThan(0);
    const r = expect_busy_queue(amdxdna_device, [300_000, 200_000, 400_000, 100_000], [dispatch_ns, dispatch_ns]);
    // Sent to the firmware at run_job; the first one starts at once (an idle context).
    for (const jobs of Object.values(r)) expect(jobs[0].starts_ns[0] - jobs[0].run_ns).toBeLessThan(5_000);
  });

  it('commands behind a hung one, dropped by the context destroy, never start', () => {
    expect_behind_a_hang(amdxdna_device, 3);
  });

  it('an untraced run installs nothing', () => {
    for (const b of BACKENDS) {
      const dev = amdxdna_device(new Kernel({ trace: 'off' }), b) as AmdxdnaDevice;
      expect(dev.xdna.hw_start).toBeNull();
      expect(dev.xdna.npu.cmd_started).toBeNull();
    }
  });
});
