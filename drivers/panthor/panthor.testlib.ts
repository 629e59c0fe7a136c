/**
 * Helpers for the panthor tests: a device on one backend, a software fence the test signals,
 * and teardown that lets the asynchronous release work finish before unplug and checks leaks.
 */
import {
  Kernel, delayed_work_pending, dma_fence, dma_fence_init, dma_fence_put, dma_fence_signal, spin_lock_init,
  type Sleepable, type dma_fence_ops, EXACT_TIMING,
} from '@deplab/sim';
import type { Backend, ClientHandle, JobHandle, QueueHandle } from '@deplab/driver-api';
import type { panthor_queue } from './csf.ts';
import { PanthorDevice } from './uapi.ts';

import { outcome, queue, submit } from '@deplab/driver-api/device.testlib';

export { outcome, queue, submit };

export const MS = 1_000_000;
export const S = 1_000_000_000;

export interface Rig {
  readonly k: Kernel;
  readonly dev: PanthorDevice;
}

export function rig(backend: Backend, driver: Record<string, number> = {}, trace: 'off' | 'hash' | 'record' = 'off',
  driver_costs: Record<string, number> = {}): Rig {
  const k = new Kernel({ trace, init_name: 'test', ...EXACT_TIMING, costs: { ...EXACT_TIMING.costs, driver: driver_costs } });
  const dev = new PanthorDevice(k, backend, { driver });
  return { k, dev };
}

/** Run a test thread (the submitting process) to its end. */
export function run<T>(r: Rig, gen: Sleepable<T>): T {
  return r.k.run_task(gen);
}



export function submit_errno(r: Rig, q: QueueHandle, duration_ns: number): number {
  const h = r.k.run_task(r.dev.submit(q, { duration_ns, deps: [] }));
  return typeof h === 'number' ? h : 0;
}

/** The driver queue behind a CS queue handle (test-only peek). */
export function panthor_queue_of(q: QueueHandle): panthor_queue {
  const h = q as unknown as { group: { queues: panthor_queue[] }; queue_idx: number };
  return h.group.queues[h.queue_idx];
}

/** Times (ns) of the trace events named `name` (a rig with trace 'record'). */
export function trace_times(r: Rig, name: string): number[] {
  return r.k.trace.events.filter((e) => e.name === name).map((e) => e.t_ns);
}

/** Outcome of a job: 'pending', or its fence error (0 = success). */

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

/* The timeout scenarios panthor.test.ts checks per binding and bindings.test.ts across them. */

/** What a scenario leaves behind: leaked objects after teardown and kernel violations. */
export interface Clean { readonly leaks: number; readonly violations: string[] }

/**
 * A LOW group that never gets the only CSG slot while a HIGH group keeps it busy for 8 s, with
 * `low_jobs` jobs pushed while it waits; sampled at 6 s and at 9 s.
 */
export function starved_group(backend: Backend, low_jobs: number) {
  const r = rig(backend, { csg_slots: 1 });
  const h = r.dev.open_client('high');
  const l = r.dev.open_client('low');
  const hq = queue(r, h, 'render', 'high');
  const lq = queue(r, l, 'render', 'low');
  const high = Array.from({ length: 8 }, () => submit(r, hq, 1 * S));
  r.k.run_for(10 * MS);
  const low = Array.from({ length: low_jobs }, () => submit(r, lq, 1 * MS));
  r.k.run_for(6 * S);
  const timeout = panthor_queue_of(lq).timeout;
  const at_6s = { low: low.map(outcome), timer_pending: delayed_work_pending(timeout.work), remaining: timeout.remaining };
  r.k.run_for(3 * S);
  const res = { at_6s, high: high.map(outcome), low: low.map(outcome), low_done_at: low.map(done_at), jiffies: r.k.jiffies };
  return { ...res, leaks: teardown(r, [h, l]), violations: violations(r) };
}

/**
 * A hung job in group a sharing the only CSG slot with group b's 2 s job (so a is off the slot
 * about half the time for ~4 s); a job submitted to a at 8 s; traced.
 */
export function rotating_hang(backend: Backend) {
  const r = rig(backend, { csg_slots: 1 }, 'record');
  const a = r.dev.open_client('a');
  const b = r.dev.open_client('b');
  const aq = queue(r, a);
  const bq = queue(r, b);
  const hung = submit(r, aq, 1 * MS, [], true);
  const busy = submit(r, bq, 2 * S);
  r.k.run_for(8 * S);
  const late = submit_errno(r, aq, 1 * MS);
  r.k.run_for(4 * S);
  const res = {
    killed_at: done_at(hung), busy: outcome(busy), late,
    queue_timeouts: trace_times(r, 'panthor_queue_timeout').length,
    tdr_calls: trace_times(r, 'drm_sched_job_timedout').length + trace_times(r, 'drm_dep_job_timedout').length,
  };
  return { ...res, leaks: teardown(r, [a, b]), violations: violations(r) };
}

/** A hung job, then one job submitted every second from 1.5 s to 9.5 s: their fates. */
export function hang_behind_stream(backend: Backend) {
  const r = rig(backend);
  const c = r.dev.open_client('app');
  const q = queue(r, c);
  const hung = submit(r, q, 1 * MS, [], true);
  const later: JobHandle[] = [];
  const refused: number[] = [];
  r.k.run_for(500 * MS);
  for (let i = 0; i < 9; i++) {
    r.k.run_for(1 * S);
    const h = r.k.run_task(r.dev.submit(q, { duration_ns: 1 * MS, deps: [] }));
    if (typeof h === 'number') refused.push(h);
    else later.push(h);
  }
  r.k.run_for(1 * S);
  const res = { killed_at: done_at(hung), later: later.map(outcome), refused };
  return { ...res, leaks: teardown(r, [c]), violations: violations(r) };
}
