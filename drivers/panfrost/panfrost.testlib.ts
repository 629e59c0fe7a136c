/**
 * Helpers for the panfrost tests: a device on one backend, submits from the test thread, an
 * external fence the test signals, and the teardown the harness does (close, settle, unplug,
 * drain, leak check).
 */
import {
  Kernel, dma_fence, dma_fence_init, dma_fence_put, dma_fence_signal, spin_lock_init, type CostOverrides, type dma_fence_ops,
} from '@deplab/sim';
import type { Backend, ClientHandle } from '@deplab/driver-api';
import { PanfrostDevice } from './uapi.ts';

import { outcome, queue, submit } from '@deplab/driver-api/device.testlib';

export { outcome, queue, submit };

export const MS = 1_000_000;
export const S = 1_000_000_000;

/** The violation the drm_sched binding reports with sched.fence-signalling-annotation=annotated (README, "Findings"). */
export const SCHED_RUN_JOB_ALLOC = 'lockdep_cycle';

export interface Rig {
  readonly k: Kernel;
  readonly dev: PanfrostDevice;
}

export function rig(backend: Backend, driver: Record<string, number | string | boolean> = {}, assume: Record<string, string> = {},
  costs: CostOverrides = {}): Rig {
  const k = new Kernel({ init_name: 'test', assume, costs });
  return { k, dev: new PanfrostDevice(k, backend, { driver }) };
}




const ext_ops: dma_fence_ops = { get_driver_name: () => 'test', get_timeline_name: () => 'ext' };

/** A fence the test signals by hand (an external syncobj). The test owns one reference. */
export function ext_fence(k: Kernel): dma_fence {
  const f = new dma_fence(k, 'test.ext_fence');
  dma_fence_init(f, ext_ops, spin_lock_init(k, 'test_ext_fence_lock'), k.dma_fence_context_alloc(1), 1);
  return f;
}

/** Close the clients, settle, unplug, drain; returns the number of leaked objects. */
export function teardown(r: Rig, clients: readonly ClientHandle[], fences: readonly dma_fence[] = []): number {
  for (const c of clients) r.k.run_task(r.dev.close_client(c));
  r.k.run_for(50 * MS);
  r.k.run_task(r.dev.unplug());
  for (const f of fences) {
    if (!f.signaled) dma_fence_signal(f);
    dma_fence_put(f);
  }
  r.k.run_until(() => r.k.eq.peek_time() === Infinity, r.k.now() + 120 * S);
  return r.k.lifetime.check_leaks('after unplug', r.k.lifetime.live().map((o) => o.type).filter((t) => t !== 'dma_fence.stub'));
}

/** Violations, as `kind @site: message`, leaving out the drm_sched binding's expected one. */
export function violations(r: Rig): string[] {
  return r.k.violations.list
    .filter((v) => !(r.dev.backend === 'sched' && v.kind === SCHED_RUN_JOB_ALLOC && v.site.startsWith('kmalloc(panfrost_fence')))
    .map((v) => `${v.kind} @${v.site}: ${v.message}`);
}
