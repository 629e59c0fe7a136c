/**
 * Helpers for the amdxdna tests (not part of the package API): a kernel and a device on one
 * binding, spawning submitter threads, reading per-job outcomes and violations.
 */
import { EXACT_TIMING, Kernel, dma_fence_wait, type Sleepable, type Task } from '@deplab/sim';
import type { Backend, ClientHandle, JobHandle, JobSpec, QueueHandle } from '@deplab/driver-api';
import { AmdxdnaDevice } from './uapi.ts';

export const MS = 1_000_000;
export const US = 1_000;
export const S = 1_000_000_000;

export interface Rig {
  readonly kernel: Kernel;
  readonly dev: AmdxdnaDevice;
}

/** A kernel recording its trace and a device; upstream_gfp off unless a test looks for that finding. */
export function rig(backend: Backend, driver: Record<string, number | boolean | string> = {}): Rig {
  const kernel = new Kernel({ trace: 'record', init_name: 'test', ...EXACT_TIMING });
  const dev = new AmdxdnaDevice(kernel, backend, { driver: { upstream_gfp: false, ...driver } });
  return { kernel, dev };
}

export function queue(r: Rig, client: ClientHandle): QueueHandle {
  const q = r.dev.create_queue(client, { engine: 'compute', priority: 'normal' });
  if (typeof q === 'number') throw new Error(`create_queue failed: ${q}`);
  return q;
}

/** Clients 'a' and 'b', one hardware context each. */
export function two_clients(r: Rig): { c1: ClientHandle; c2: ClientHandle; q1: QueueHandle; q2: QueueHandle } {
  const c1 = r.dev.open_client('a');
  const c2 = r.dev.open_client('b');
  return { c1, c2, q1: queue(r, c1), q2: queue(r, c2) };
}

export function cmd(duration_ns: number, extra: Partial<JobSpec> = {}): JobSpec {
  return { duration_ns, deps: [], ...extra };
}

/** One submission as the submitting thread saw it. */
export interface Submitted {
  readonly call_ns: number;
  readonly return_ns: number;
  readonly result: JobHandle | number;
}

/** A thread that submits `specs` to `q` one after the other and records each call. */
export function submitter(r: Rig, name: string, q: QueueHandle, specs: readonly JobSpec[], log: Submitted[]): Task {
  const { kernel, dev } = r;
  return kernel.spawn(name, (function* (): Sleepable {
    for (const spec of specs) {
      const call_ns = kernel.now();
      const result = yield* dev.submit(q, spec);
      log.push({ call_ns, return_ns: kernel.now(), result });
    }
  })());
}

export function job(s: Submitted): JobHandle {
  if (typeof s.result === 'number') throw new Error(`submit failed: ${s.result}`);
  return s.result;
}

/** Wait (in the test's init context) until every fence has signalled. */
export function wait_all(r: Rig, jobs: readonly JobHandle[]): void {
  r.kernel.run_task((function* (): Sleepable {
    for (const j of jobs) if (!j.out_fence.signaled) yield* dma_fence_wait(j.out_fence, false);
  })());
}

/** Per-job outcome: whether the out fence signalled, and its error. */
export interface Outcome {
  readonly signaled: boolean;
  readonly error: number;
}

export function outcome(j: JobHandle): Outcome {
  return { signaled: j.out_fence.signaled, error: j.out_fence.error };
}

/** Run a sleeping device operation from the test thread; returns its duration in ns. */
export function timed(r: Rig, op: Sleepable<unknown>): number {
  const t0 = r.kernel.now();
  r.kernel.run_task(op);
  return r.kernel.now() - t0;
}

/** Close every client, unplug, let async teardown finish, and report what is still alive. */
export function teardown(r: Rig, clients: readonly ClientHandle[]): number {
  const { kernel, dev } = r;
  kernel.run_task((function* (): Sleepable {
    for (const c of clients) yield* dev.close_client(c);
    yield* dev.unplug();
  })());
  kernel.run_all();
  return kernel.lifetime.check_leaks('amdxdna test teardown');
}

/** Violations as `kind message` strings, for exact expectations. */
export function violation_keys(r: Rig): string[] {
  return r.kernel.violations.list.map((v) => `${v.kind} ${v.message}`);
}
