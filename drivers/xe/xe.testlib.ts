/**
 * Test helpers for the xe driver model: a device on either binding, submission from a
 * simulated user thread, per-job outcomes, and the teardown that every test ends with
 * (close, unplug, drain, then no leak and no unexpected violation).
 */
import { expect } from 'vitest';
import {
  Kernel, dma_fence, dma_fence_init, dma_fence_put, errno_name, spin_lock_init,
  type Sleepable, type Violation, EXACT_TIMING,
} from '@deplab/sim';
import type { Backend, ClientHandle, JobHandle, JobSpec, QueueHandle, QueueOptions } from '@deplab/driver-api';
import { GUC_ACTION_NAMES } from './hw.ts';
import { XeDevice, xe_device_factory } from './uapi.ts';

export const MS = 1_000_000;
export const US = 1_000;
export const BACKENDS = ['sched', 'dep'] as const satisfies readonly Backend[];

export interface Setup {
  readonly k: Kernel;
  readonly dev: XeDevice;
}

export function setup(backend: Backend, driver: Record<string, number | string | boolean> = {}, assume: Record<string, string> = {}): Setup {
  const k = new Kernel({ trace: 'record', ...EXACT_TIMING, assume: { ...EXACT_TIMING.assume, ...assume } });
  const dev = xe_device_factory(k, backend, { driver: { fw_log: true, ...driver } }) as XeDevice;
  return { k, dev };
}

export function queue(dev: XeDevice, client: ClientHandle, options: Partial<QueueOptions> = {}): QueueHandle {
  const q = dev.create_queue(client, { engine: 'render', priority: 'normal', ...options });
  if (typeof q === 'number') throw new Error(`create_queue failed: ${errno_name(q)}`);
  return q;
}

/** Submit from the test thread (process context); throws on an ioctl error. */
export function submit(k: Kernel, dev: XeDevice, q: QueueHandle, spec: Partial<JobSpec> & { duration_ns: JobSpec['duration_ns'] }): JobHandle {
  const r = k.run_task(dev.submit(q, { deps: [], ...spec }));
  if (typeof r === 'number') throw new Error(`submit failed: ${errno_name(r)}`);
  return r;
}

/** Submit several jobs without running the simulation in between (one ioctl after the other). */
export function submit_many(k: Kernel, dev: XeDevice, q: QueueHandle, specs: (Partial<JobSpec> & { duration_ns: JobSpec['duration_ns'] })[]): JobHandle[] {
  return k.run_task((function* (): Sleepable<JobHandle[]> {
    const out: JobHandle[] = [];
    for (const spec of specs) {
      const r = yield* dev.submit(q, { deps: [], ...spec });
      if (typeof r === 'number') throw new Error(`submit failed: ${errno_name(r)}`);
      out.push(r);
    }
    return out;
  })());
}

/** "0", "-ETIME", ... once signalled; "pending" otherwise. */
export function outcome(j: JobHandle): string {
  return j.out_fence.signaled ? errno_name(j.out_fence.error) : 'pending';
}

export function outcomes(jobs: readonly JobHandle[]): string[] {
  return jobs.map(outcome);
}

/** A software fence the test signals (an in-fence from outside the driver). */
export function sw_fence(k: Kernel, name = 'test.sw_fence'): dma_fence {
  const f = new dma_fence(k, name);
  dma_fence_init(f, { get_driver_name: () => 'test', get_timeline_name: () => name }, spin_lock_init(k, 'test_fence_lock'),
    k.dma_fence_context_alloc(1), 1);
  return f;
}

/** Names of the H2G commands the firmware processed for one GuC id, in order. */
export function fw_actions(dev: XeDevice, guc_id: number): string[] {
  return dev.xe.hw.log.filter((e) => e.guc_id === guc_id).map((e) => GUC_ACTION_NAMES[e.action]);
}

export function guc_id(dev: XeDevice, q: QueueHandle): number {
  return dev.binding.guc_id(dev.exec_queue(q)!);
}

export function events(k: Kernel, name: string) {
  return k.trace.events.filter((e) => e.name === name);
}

/**
 * Close every client, unplug, drain; then nothing the driver or a scheduler allocated may be
 * alive, and the only violations are the `expected` ones (matched by kind and message part).
 * Returns the unplug latency in ns.
 */
export function teardown(s: Setup, clients: ClientHandle[], expected: { kind: Violation['kind']; message: string }[] = [], extra_fences: dma_fence[] = []): number {
  const { k, dev } = s;
  for (const f of extra_fences) dma_fence_put(f);
  for (const c of clients) k.run_task(dev.close_client(c));
  const t0 = k.now();
  k.run_task(dev.unplug());
  const unplug_ns = k.now() - t0;
  k.run_all();
  k.lifetime.check_leaks('teardown');
  const unexpected = k.violations.list.filter((v) => !expected.some((e) => v.kind === e.kind && v.message.includes(e.message)));
  expect(unexpected.map((v) => `${v.kind} ${v.site}: ${v.message}`)).toEqual([]);
  for (const e of expected) expect(k.violations.list.some((v) => v.kind === e.kind && v.message.includes(e.message)), e.message).toBe(true);
  expect(dev.xe.exec_queues).toBe(0);
  return unplug_ns;
}
