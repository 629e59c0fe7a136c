/**
 * Preemption points in exploration: a race that needs an interrupt inside a body is found by a
 * campaign with preemption points and by none without them, and its token replays it exactly.
 */
import { describe, expect, it } from 'vitest';
import { spin_lock_init, spin_lock_irqsave, spin_unlock_irqrestore, type irq_line, type Kernel, type Sleepable, type spinlock_t } from '@deplab/sim';
import type { ClientHandle, Device, DeviceOptions, Fault, JobHandle, JobSpec, Priority, QueueHandle, QueueOptions } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { find_driver, register_driver } from '../drivers.ts';
import { explore_seed, type SeedReport } from './campaign.ts';
import { run_case } from './execute.ts';
import { generate_case } from './generate.ts';
import { decode_token } from './token.ts';
import { finding_key } from './types.ts';

const RACE = 'warn @ racy: doorbell ack';

/**
 * Test only: the mock with a racy submit ioctl. It rings a doorbell the device acknowledges
 * with an interrupt 500 ns later, finishes the ring update (1 µs) under its lock, and only then
 * publishes the job the ack handler looks up. The ack is due when the lock is released; with
 * bodies run atomically it is always handled after the ioctl returned.
 */
class RacyDoorbellDevice implements Device {
  readonly kernel: Kernel;
  readonly driver: string;
  readonly backend;
  readonly engines;
  private readonly lock: spinlock_t;
  private readonly ack: irq_line;
  private readonly published = new Set<number>();

  constructor(k: Kernel, private readonly inner: Device) {
    this.kernel = k;
    this.driver = inner.driver;
    this.backend = inner.backend;
    this.engines = inner.engines;
    this.lock = spin_lock_init(k, '&racy->ring_lock');
    this.ack = k.request_irq('racy-doorbell', this, (dev: RacyDoorbellDevice, id: number) => dev.doorbell_ack(id));
  }

  open_client(name: string): ClientHandle { return this.inner.open_client(name); }
  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number { return this.inner.create_queue(client, options); }

  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const r = yield* this.inner.submit(queue, spec);
    if (typeof r === 'number') return r;
    const k = this.kernel;
    let flags = spin_lock_irqsave(this.lock);
    k.raise_irq_at(this.ack, k.now() + 500, r.id); // the doorbell
    k.spend(1_000); // the rest of the ring update
    spin_unlock_irqrestore(this.lock, flags);
    flags = spin_lock_irqsave(this.lock);
    this.published.add(r.id); // too late if the ack came in between
    spin_unlock_irqrestore(this.lock, flags);
    return r;
  }

  private doorbell_ack(id: number): void {
    const flags = spin_lock_irqsave(this.lock);
    const known = this.published.delete(id);
    spin_unlock_irqrestore(this.lock, flags);
    this.kernel.WARN_ON(!known, 'racy: doorbell ack', `doorbell ack for job ${id}, which the driver has not published yet`);
  }

  complete_manual(job: JobHandle): void { this.inner.complete_manual(job); }
  set_priority(queue: QueueHandle, priority: Priority): number { return this.inner.set_priority(queue, priority); }
  destroy_queue(queue: QueueHandle): Sleepable<number> { return this.inner.destroy_queue(queue); }
  close_client(client: ClientHandle): Sleepable { return this.inner.close_client(client); }
  inject_fault(fault: Fault): void { this.inner.inject_fault(fault); }
  unplug(): Sleepable { return this.inner.unplug(); }
  queue_state(queue: QueueHandle) { return this.inner.queue_state(queue); }
}

if (find_driver('mock-racy-doorbell') === undefined) {
  register_driver({
    name: 'mock-racy-doorbell', description: 'test only: the mock with a doorbell ack racing the submit ioctl', engines: ['render'], defaults: {}, faults: [],
    factory: (k, backend, options?: DeviceOptions) => new RacyDoorbellDevice(k, new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options)),
  });
}

function campaign(backend: 'sched' | 'dep', preempt: boolean, seeds: number): SeedReport[] {
  return Array.from({ length: seeds }, (_, i) => explore_seed({ driver: 'mock-racy-doorbell', backend, seed: i + 1, faults: [], strategy: 'random', preempt }));
}

describe('preemption points in exploration', () => {
  for (const backend of ['sched', 'dep'] as const) {
    it(`an interrupt inside the submit ioctl is found with preemption points and not without (${backend})`, () => {
      const without = campaign(backend, false, 20);
      expect(without.flatMap((r) => r.findings.map(finding_key))).not.toContain(RACE);
      const hits = campaign(backend, true, 20).filter((r) => r.findings.some((f) => finding_key(f) === RACE));
      expect(hits.length).toBeGreaterThan(0);
      // The token carries the option and every decision: the replay is the same run.
      const c = decode_token(hits[0].token!).case;
      expect(c.options.preempt).toBe(true);
      const a = run_case(c, { replay: 'exact' }), b = run_case(c, { replay: 'exact' });
      expect(a.findings.map(finding_key)).toContain(RACE);
      expect(a.kernel!.trace.digest()).toBe(b.kernel!.trace.digest());
      expect(a.kernel!.preemptions).toBeGreaterThan(0);
    });
  }

  it('without the option a case carries no preempt key (earlier tokens and reports are unchanged)', () => {
    const req = { driver: 'mock-racy-doorbell', backend: 'sched', seed: 1, faults: [], strategy: 'random' } as const;
    const off = generate_case(req);
    expect(Object.keys(off.options)).not.toContain('preempt');
    const { preempt, ...rest } = generate_case({ ...req, preempt: true }).options;
    expect(preempt).toBe(true);
    expect(rest).toEqual(off.options);
  });
});
