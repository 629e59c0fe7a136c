/**
 * Test helpers every driver's tests share, on the public Device interface: a queue created or
 * the test fails, a submit from the test thread, a job's outcome.
 */
import type { Kernel, dma_fence } from '@deplab/sim';
import type { ClientHandle, Device, EngineClass, JobHandle, Priority, QueueHandle } from './index.ts';

/** A kernel and a device on it. */
export interface DeviceRig {
  readonly k: Kernel;
  readonly dev: Device;
}

/** Create a queue; throws on an ioctl error. */
export function queue(r: DeviceRig, client: ClientHandle, engine: EngineClass = 'render', priority: Priority = 'normal'): QueueHandle {
  const q = r.dev.create_queue(client, { engine, priority });
  if (typeof q === 'number') throw new Error(`create_queue failed: ${q}`);
  return q;
}

/** Submit from the test thread; throws on an ioctl error. */
export function submit(r: DeviceRig, q: QueueHandle, duration_ns: number | 'manual', deps: dma_fence[] = [], hang = false): JobHandle {
  const h = r.k.run_task(r.dev.submit(q, { duration_ns, deps, hang }));
  if (typeof h === 'number') throw new Error(`submit failed: ${h}`);
  return h;
}

/** A job's outcome: 'pending', or its out-fence error (0 = success). */
export function outcome(j: JobHandle): 'pending' | number {
  return j.out_fence.signaled ? j.out_fence.error : 'pending';
}
