/**
 * Runs shared by the trace export tests: a small workload on the mock GPU with a dependency
 * across queues, a job that hangs (so the TDR fires) and a queue destroyed mid-run, recorded
 * with trace_detail 'full' on both backends.
 */
import { find_driver, load_workload_json, run_workload, type RunOutcome, type Workload } from '@deplab/harness';

export const mock = find_driver('mock')!.factory;

export const TRACE_WORKLOAD: Workload = (() => {
  const r = load_workload_json(JSON.stringify({
    name: 'trace-fixture',
    clients: [
      { name: 'producer', queues: [{ name: 'gfx', engine: 'render' }], program: { loops: 6, steps: [
        { batch: { queue: 'gfx', duration_us: [200, 600] } }, { delay: { us: 300 } }] } },
      { name: 'consumer', queues: [{ name: 'gfx', engine: 'render' }], program: { loops: 6, steps: [
        { batch: { queue: 'gfx', duration_us: 250, deps: [{ client: 'producer', queue: 'gfx', last: true }] } },
        { batch: { queue: 'gfx', duration_us: 100, deps: [{ step: -1 }] } }, { delay: { us: 500 } }] } },
      { name: 'hanger', queues: [{ name: 'gfx', engine: 'render' }], program: { loops: 1, steps: [
        { delay: { us: 1000 } }, { batch: { queue: 'gfx', duration_us: 100, hang: true } }] } },
    ],
  }), 'trace-fixture.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
})();

/** Constant costs: the replay test compares submission times to within the fixed wake-up latency. */
export const FIXTURE_COSTS = { profile: 'constant' } as const;

export function fixture_run(backend: 'sched' | 'dep', seed = 1): RunOutcome {
  return run_workload(TRACE_WORKLOAD, mock, backend, {
    seed, costs: FIXTURE_COSTS, trace_detail: 'full', device: { driver: { timeout_ms: 20 } }, drain_ms: 200, record: true, monitor: { retain: true },
  });
}
