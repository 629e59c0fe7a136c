/**
 * The KUnit overhead test (tests_scheduler.c drm_sched_scheduler_queue_overhead: 1001 jobs, the
 * first manual, the rest 1 ms, credit limit 1) as a full-speed check: one whole case per call,
 * including scheduler set-up and teardown, on each backend.
 */
import type { CostProfileName } from '@deplab/sim';
import { mock_dep_backend, mock_sched_backend, run_case, tests_scheduler, type MockBackend } from '@deplab/driver-mock';
import type { Benchmark, Suite } from './registry.ts';

const overhead = tests_scheduler.find((c) => c.name === 'drm_sched_scheduler_queue_overhead')!;

function bench(name: string, backend: MockBackend, profile: CostProfileName): Benchmark {
  return {
    name: `kunit/queue_overhead ${name}: whole case, ${profile}`,
    unit: 'jobs',
    units_per_call: 1001,
    setup() {
      return () => {
        const r = run_case(overhead, backend, null, { kernel: { costs: { profile } } });
        if (r.status !== 'pass') throw new Error(`queue_overhead failed: ${r.failures.join('; ')}`);
      };
    },
  };
}

export const kunit_suite: Suite = {
  area: 'kunit',
  benchmarks: (['constant', 'desktop'] as const).flatMap((profile) => [bench('drm_sched', mock_sched_backend(), profile), bench('drm_dep', mock_dep_backend(), profile)]),
};
