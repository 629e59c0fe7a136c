/**
 * Full-stack throughput: simulated jobs per second.
 * - scheduler stack: the mock GPU driven KUnit-style (entity/queue, jobs pushed 1000 at a time,
 *   the simulation run until the last finishes), tracing off: the cost of the models
 *   themselves (substrate, scheduler, mock driver);
 * - harness path as `deplab compare` runs it per seed: run_workload with the run monitor in
 *   pairing mode (trace hashed and observed, not recorded) + compute_metrics, per backend, and
 *   both backends + the guarantee diff. One client on one queue keeps 8 jobs of 50-150 µs in
 *   flight: the shape of the bare loop (bench/bare.ts) these figures are measured against.
 * Each runs with the constant cost profile (comparable with the figures before cost profiles)
 * and with the default profile (desktop: distributions drawn, waker-side costs).
 */
import { Kernel, MAX_SCHEDULE_TIMEOUT, type CostProfileName } from '@deplab/sim';
import { mock_dep_backend, mock_sched_backend, type MockBackend } from '@deplab/driver-mock';
import { compute_metrics, diff_seed, find_driver, load_workload_json, run_workload, type Workload } from '@deplab/harness';
import { BARE_DEPTH } from './bare.ts';
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

/** Jobs per run: enough that set-up and teardown are a small part of a sample. */
export const HARNESS_JOBS = 20_000;

/** One client, one queue, BARE_DEPTH jobs of 50-150 µs in flight. */
export function one_queue_workload(jobs: number): Workload {
  const r = load_workload_json(JSON.stringify({
    name: `one-queue-${jobs}`, clients: [{
      name: 'c0', queues: [{ name: 'q', engine: 'render' }],
      program: { loops: jobs, steps: [{ batch: { queue: 'q', duration_us: [50, 150] } }, { queue_depth: { depth: BARE_DEPTH } }] },
    }],
  }), 'bench.json');
  if (!r.ok) throw new Error('bench workload invalid');
  return r.workload;
}

function harness(driver: string, backends: readonly ('sched' | 'dep')[], profile: CostProfileName): Benchmark {
  const what = backends.length === 1 ? `drm_${backends[0]}: run_workload + metrics` : 'both backends: run_workload + metrics + diff';
  return {
    name: `harness/${driver} ${what}, ${profile}`,
    unit: 'jobs',
    units_per_call: HARNESS_JOBS * backends.length,
    against_bare: true,
    setup() {
      const d = find_driver(driver)!;
      const workload = one_queue_workload(HARNESS_JOBS);
      let seed = 1;
      return () => {
        const runs = backends.map((b) => run_workload(workload, d.factory, b, { seed, costs: { profile }, device: d.defaults, monitor: { pairing: true } }));
        seed++;
        for (const r of runs) {
          compute_metrics(r);
          if (r.observation.finished !== HARNESS_JOBS) throw new Error(`${driver}: ${r.observation.finished} of ${HARNESS_JOBS} jobs finished`);
        }
        if (runs.length === 2) diff_seed(runs[0].monitor.masks(), runs[1].monitor.masks(), runs[0].observation, runs[1].observation);
      };
    },
  };
}

export const harness_suite: Suite = {
  area: 'harness',
  benchmarks: (['constant', 'desktop'] as const).flatMap((profile) => [
    stack('drm_sched', mock_sched_backend(), profile),
    stack('drm_dep', mock_dep_backend(), profile),
    harness('mock', ['sched'], profile),
    harness('mock', ['dep'], profile),
    harness('mock', ['sched', 'dep'], profile),
    harness('xe', ['sched'], profile),
    harness('xe', ['dep'], profile),
  ]),
};
