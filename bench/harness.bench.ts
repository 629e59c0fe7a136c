/**
 * Full-stack throughput: simulated jobs per wall second.
 * - scheduler stack: the mock GPU driven KUnit-style (entity/queue, jobs pushed 1000 at a time,
 *   the simulation run until the last finishes), tracing off: the cost of the models
 *   themselves (substrate, scheduler, mock driver);
 * - harness: run_workload (with its run monitor) + metrics on a 5,000-job workload, as
 *   `deplab compare` does per seed and backend (trace hashed and observed, not recorded).
 * Each runs with the constant cost profile (the figures before cost profiles are comparable
 * with these) and, for the cost of drawing, with the default profile (desktop).
 */
import { Kernel, MAX_SCHEDULE_TIMEOUT, type CostProfileName } from '@deplab/sim';
import { mock_dep_backend, mock_sched_backend, type MockBackend } from '@deplab/driver-mock';
import { compute_metrics, find_driver, load_workload_json, run_workload } from '@deplab/harness';
import type { Benchmark, Suite } from './registry.ts';

const BATCH = 1000;

function stack(name: string, backend: MockBackend, profile: CostProfileName): Benchmark {
  return {
    name: `harness/mock ${name}: scheduler stack, tracing off, ${profile}`,
    unit: 'jobs',
    units_per_call: BATCH,
    setup() {
      const k = new Kernel({ trace: 'off', costs: { profile } });
      const sched = backend.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
      const entity = backend.drm_mock_sched_entity_new(k, 2, sched);
      return () => {
        let last = null;
        for (let i = 0; i < BATCH; i++) {
          const job = backend.drm_mock_sched_job_new(k, entity);
          backend.drm_mock_sched_job_set_duration_us(job, 10);
          backend.drm_mock_sched_job_submit(job);
          last = job;
        }
        const done = last!;
        k.run_until(() => backend.drm_mock_sched_job_is_finished(done));
      };
    },
  };
}

const JOBS = 5000;
const workload = (() => {
  const r = load_workload_json(JSON.stringify({
    name: 'bench', clients: [0, 1].map((i) => ({
      name: `c${i}`, queues: [{ name: 'q', engine: 'render' }],
      program: { loops: JOBS / 2, steps: [{ batch: { queue: 'q', duration_us: [50, 150] } }, { queue_depth: { depth: 8 } }] },
    })),
  }), 'bench.json');
  if (!r.ok) throw new Error('bench workload invalid');
  return r.workload;
})();

function harness(driver: string, backend: 'sched' | 'dep', profile: CostProfileName): Benchmark {
  return {
    name: `harness/${driver} drm_${backend}: run_workload + monitor + metrics, ${profile}`,
    unit: 'jobs',
    units_per_call: JOBS,
    setup() {
      const d = find_driver(driver)!;
      let seed = 1;
      return () => {
        const outcome = run_workload(workload, d.factory, backend, { seed: seed++, costs: { profile }, device: d.defaults, monitor: { pairing: true } });
        compute_metrics(outcome);
      };
    },
  };
}

export const harness_suite: Suite = {
  area: 'harness',
  benchmarks: (['constant', 'desktop'] as const).flatMap((profile) => [
    stack('drm_sched', mock_sched_backend(), profile),
    stack('drm_dep', mock_dep_backend(), profile),
    harness('mock', 'sched', profile),
    harness('mock', 'dep', profile),
    harness('xe', 'sched', profile),
    harness('xe', 'dep', profile),
  ]),
};
