/**
 * The readiness fault matrix: one small steady workload (two clients, a queue each, jobs of
 * 0.2-0.8 ms kept four deep) with one fault injected while jobs are in flight. Each fault is a
 * workload event (or the allocation-failure option), the same on every driver that can take it;
 * a driver declares the faults its device can inject (DriverEntry.faults).
 */
import type { Workload } from '../workload/types.ts';
import { load_workload_json } from '../workload/load-json.ts';

export const MATRIX_FAULTS = ['hang', 'fw-error', 'engine-reset', 'device-reset', 'ctrl-c', 'unplug', 'alloc-fail'] as const;
export type MatrixFault = (typeof MATRIX_FAULTS)[number];

/** Allocation failure probability of the alloc-fail cell (non-sleeping allocations). */
export const MATRIX_ALLOC_FAIL_PROBABILITY = 0.05;

const client = (name: string) => ({
  name, queues: [{ name: 'q', engine: 'render' }],
  program: { loops: 30, steps: [{ batch: { queue: 'q', duration_us: [200, 800] } }, { queue_depth: { depth: 4 } }] },
});

const EVENTS: Readonly<Record<MatrixFault, readonly object[]>> = {
  hang: [{ after: { client: 'a', step: 0, loop: 3 }, action: 'hang_job', client: 'a', queue: 'q' }],
  'fw-error': [{ at_us: 5000, action: 'fw_error', client: 'a', queue: 'q' }],
  'engine-reset': [{ at_us: 5000, action: 'engine_reset', client: 'a', queue: 'q' }],
  'device-reset': [{ at_us: 5000, action: 'device_reset' }],
  'ctrl-c': [{ at_us: 5000, action: 'close_client', client: 'a' }],
  unplug: [{ at_us: 6000, action: 'unplug' }],
  'alloc-fail': [],
};

/** The matrix cell of one fault, compiled (the JSON goes through the same loader as user files). */
export function fault_workload(fault: MatrixFault): Workload {
  const r = load_workload_json(JSON.stringify({
    name: `fault/${fault}`, description: `readiness fault matrix: ${fault} while jobs are in flight`,
    clients: [client('a'), client('b')], events: EVENTS[fault],
  }), `builtin:fault/${fault}`);
  if (!r.ok) throw new Error(`fault matrix workload ${fault}: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.workload;
}
