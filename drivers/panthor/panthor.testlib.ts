/**
 * Helpers for the panthor tests: a device on one backend, a software fence the test signals,
 * and teardown that lets the asynchronous release work finish before unplug and checks leaks.
 */
import {
  Kernel, dma_fence, dma_fence_init, dma_fence_put, dma_fence_signal, spin_lock_init,
  type Sleepable, type dma_fence_ops, EXACT_TIMING,
} from '@deplab/sim';
import type { Backend, ClientHandle, JobHandle, QueueHandle } from '@deplab/driver-api';
import { PanthorDevice } from './uapi.ts';

export const MS = 1_000_000;
export const S = 1_000_000_000;

export interface Rig {
  readonly k: Kernel;
  readonly dev: PanthorDevice;
}

export function rig(backend: Backend, driver: Record<string, number> = {}, trace: 'off' | 'hash' | 'record' = 'off'): Rig {
  const k = new Kernel({ trace, init_name: 'test', ...EXACT_TIMING });
  const dev = new PanthorDevice(k, backend, { driver });
  return { k, dev };
}

/** Run a test thread (the submitting process) to its end. */
export function run<T>(r: Rig, gen: Sleepable<T>): T {
  return r.k.run_task(gen);
}

export function queue(r: Rig, client: ClientHandle, engine: 'render' | 'compute' | 'copy' | 'bind' = 'render',
  priority: 'low' | 'normal' | 'high' | 'realtime' = 'normal'): QueueHandle {
  const q = r.dev.create_queue(client, { engine, priority });
  if (typeof q === 'number') throw new Error(`create_queue failed: ${q}`);
  return q;
}

/** Submit from the test thread; throws on an ioctl error. */
export function submit(r: Rig, q: QueueHandle, duration_ns: number | 'manual', deps: dma_fence[] = [], hang = false): JobHandle {
  const h = r.k.run_task(r.dev.submit(q, { duration_ns, deps, hang }));
  if (typeof h === 'number') throw new Error(`submit failed: ${h}`);
  return h;
}

export function submit_errno(r: Rig, q: QueueHandle, duration_ns: number): number {
  const h = r.k.run_task(r.dev.submit(q, { duration_ns, deps: [] }));
  return typeof h === 'number' ? h : 0;
}

/** Outcome of a job: 'pending', or its fence error (0 = success). */
export function outcome(j: JobHandle): 'pending' | number {
  return j.out_fence.signaled ? j.out_fence.error : 'pending';
}

export function done_at(j: JobHandle): number {
  return j.out_fence.signaled ? j.out_fence.timestamp_ns : -1;
}

const sw_ops: dma_fence_ops = { get_driver_name: () => 'test', get_timeline_name: () => 'sw' };

/** A fence the test signals by hand (an external syncobj). The test owns one reference. */
export function sw_fence(k: Kernel): dma_fence {
  const f = new dma_fence(k, 'test.sw_fence');
  dma_fence_init(f, sw_ops, spin_lock_init(k, 'test_sw_fence_lock'), k.dma_fence_context_alloc(1), 1);
  return f;
}

export function sw_signal(f: dma_fence): void {
  if (!f.signaled) dma_fence_signal(f);
}

/** Close the clients, let the release work run, unplug, drain, and count leaks. */
export function teardown(r: Rig, clients: ClientHandle[], fences: dma_fence[] = []): number {
  for (const c of clients) run(r, r.dev.close_client(c));
  r.k.run_for(50 * MS);
  run(r, r.dev.unplug());
  for (const f of fences) { sw_signal(f); dma_fence_put(f); }
  // Like the harness: run until nothing is left, bounded (a leaked TDR re-arms forever).
  r.k.run_until(() => r.k.eq.peek_time() === Infinity, r.k.now() + 120 * S);
  return r.k.lifetime.check_leaks('after unplug', r.k.lifetime.live().map((o) => o.type).filter((t) => t !== 'dma_fence.stub'));
}

export function violations(r: Rig): string[] {
  return r.k.violations.list.map((v) => `${v.kind} @${v.site}: ${v.message}`);
}
