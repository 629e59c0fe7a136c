/**
 * The KUnit scheduling-quality scenarios (drivers/gpu/drm/scheduler/tests/tests_scheduler.c
 * @ 637315cb400e) as harness workloads on the mock, with the case's own parameters: the
 * credit limit its suite's init sets (device option credit_limit), priorities, job counts and
 * durations, sync, wait, test duration, and the overhead cases' set-up (a first job that
 * blocks the queue while the others are submitted). builtin/kunit.test.ts checks each against
 * a table transcribed from that file. On other drivers they would be the same load shape
 * without the mock's credit limit, so they are mock-only.
 */
import type { BuiltinWorkload } from './index.ts';

type Priority = 'low' | 'normal' | 'high';

interface Client { priority: Priority; job_cnt: number; job_us: number; sync: boolean; wait_us: number }

/** The upstream case a kunit/* built-in runs: suite (its init sets the credit limit), test, parameter. */
export interface KunitOrigin {
  readonly suite: string;
  readonly test: string;
  /** The parameter's description, null for an unparameterised test. */
  readonly param: string | null;
}

export interface KunitBuiltin extends BuiltinWorkload {
  readonly kunit: KunitOrigin;
}

/** drm_sched_client_work: per cycle job_cnt jobs, wait for the last if sync, fsleep(wait_us); cycles = DIV_ROUND_UP(duration, period). */
function client_program(name: string, c: Client, duration_ms: number) {
  const steps: object[] = [];
  for (let i = 0; i < c.job_cnt; i++) steps.push({ batch: { queue: 'q', duration_us: c.job_us } });
  if (c.sync) steps.push({ sync: { step: -1 } });
  if (c.wait_us > 0) steps.push({ delay: { us: c.wait_us } });
  const loops = Math.ceil((duration_ms * 1000) / (c.job_cnt * c.job_us + c.wait_us));
  return { name, queues: [{ name: 'q', engine: 'render', priority: c.priority }], program: { loops, steps } };
}

const ONE_CREDIT = 'drm_sched_scheduler_two_clients_one_credit_tests';
const TWO_CLIENTS = 'drm_sched_scheduler_two_clients_test';

const two = (name: string, param: string, a: Client, b: Client, dflt = false): KunitBuiltin => ({
  name: `kunit/${name}`,
  description: `KUnit ${ONE_CREDIT} "${param}" (credit limit 1)`,
  drivers: ['mock'], default: dflt, device: { credit_limit: 1 },
  kunit: { suite: ONE_CREDIT, test: TWO_CLIENTS, param },
  source: { json: { clients: [client_program('client0', a, 1000), client_program('client1', b, 1000)] } },
});

const N = 'normal' as const, L = 'low' as const, H = 'high' as const;
const c = (priority: Priority, job_cnt: number, job_us: number, sync: boolean, wait_us: number): Client =>
  ({ priority, job_cnt, job_us, sync, wait_us });

/**
 * drm_sched_scheduler_queue_overhead / _ping_pong: 1001 jobs on `queues` entities in turn
 * (entity[i % n]); job 0 has no duration and blocks the queue while the other 1000 (1 ms
 * each, in ping_pong each depending on the previous one's finished fence) are submitted; it
 * is released once it is on the hardware. KUnit waits for that with wait_scheduled(first, HZ);
 * the workload format has no such step, so the client sleeps 10 ms, far longer than any wake-up
 * of the cost profiles, before terminating job 0.
 */
function overhead_program(queues: readonly string[], chained: boolean) {
  const steps: object[] = [{ batch: { queue: queues[0], duration_us: 'infinite' } }];
  for (let i = 1; i <= 1000; i++) {
    steps.push({ batch: { queue: queues[i % queues.length], duration_us: 1000, ...(chained ? { deps: [{ step: -1 }] } : {}) } });
  }
  steps.push({ delay: { us: 10_000 } });
  steps.push({ terminate: { step: -steps.length } });
  return { clients: [{ name: 'kunit', queues: queues.map((q) => ({ name: q, engine: 'render' })), program: { loops: 1, steps } }] };
}

const OVERHEAD = 'drm_sched_scheduler_overhead_tests';

export const KUNIT_WORKLOADS: readonly KunitBuiltin[] = [
  two('normal-normal', 'Normal priority and normal priority', c(N, 1, 8000, false, 0), c(N, 1, 8000, false, 0)),
  two('normal-low', 'Normal priority and low priority', c(N, 1, 8000, false, 0), c(L, 1, 8000, false, 0)),
  two('high-low', 'High priority and low priority', c(H, 1, 8000, false, 0), c(L, 1, 8000, false, 0)),
  two('50-50', '50% and 50%', c(N, 1, 1500, true, 1500), c(N, 1, 2500, true, 2500), true),
  two('low-hog-interactive', 'Low priority hog and interactive client', c(L, 3, 2500, false, 500), c(N, 1, 500, true, 10000), true),
  two('heavy-interactive', 'Heavy rendering and interactive client', c(N, 3, 2500, true, 2500), c(N, 1, 1000, true, 9000)),
  {
    name: 'kunit/many-clients-13', description: 'KUnit drm_sched_scheduler_many_clients_tests "13 clients" (credit limit 2): 13 sync clients, 4 x 1 ms jobs each, 76 ms',
    drivers: ['mock'], default: true, device: { credit_limit: 2 },
    kunit: { suite: 'drm_sched_scheduler_many_clients_tests', test: 'drm_sched_scheduler_many_clients_test', param: '13 clients' },
    source: { json: { clients: Array.from({ length: 13 }, (_, i) => client_program(`client${i}`, c(N, 4, 1000, true, 0), Math.floor(1000 / 13))) } },
  },
  {
    name: 'kunit/queue-overhead', description: `KUnit ${OVERHEAD} queue_overhead (credit limit 1): 1000 x 1 ms jobs queued behind a blocking one`,
    drivers: ['mock'], default: false, device: { credit_limit: 1 },
    kunit: { suite: OVERHEAD, test: 'drm_sched_scheduler_queue_overhead', param: null },
    source: { json: overhead_program(['q'], false) },
  },
  {
    name: 'kunit/ping-pong', description: `KUnit ${OVERHEAD} ping_pong (credit limit 1): 1000 x 1 ms jobs alternating two queues, each on the previous one, queued behind a blocking one`,
    drivers: ['mock'], default: true, device: { credit_limit: 1 },
    kunit: { suite: OVERHEAD, test: 'drm_sched_scheduler_ping_pong', param: null },
    source: { json: overhead_program(['a', 'b'], true) },
  },
];

/**
 * Load shapes after the KUnit scenarios without their set-up, under names that do not claim
 * KUnit's: they run at the mock's default credit limit (U32_MAX), so every job reaches the
 * hardware at once.
 */
export const MOCK_SHAPE_WORKLOADS: readonly BuiltinWorkload[] = [
  {
    name: 'mock/ping-pong-pipelined',
    description: 'two queues alternating, each job on the previous one, queue depth 64, credit limit U32_MAX: unlike KUnit ping_pong '
      + '(credit limit 1, a blocking first job) the scheduler may pipeline a dependency on its own ring',
    drivers: ['mock'], default: true,
    source: {
      json: {
        clients: [{
          name: 'pp', queues: [{ name: 'a', engine: 'render' }, { name: 'b', engine: 'render' }],
          program: { loops: 500, steps: [
            { batch: { queue: 'a', duration_us: 1000, deps: [{ client: 'pp', queue: 'b', last: true }] } },
            { batch: { queue: 'b', duration_us: 1000, deps: [{ step: -1 }] } },
            { queue_depth: { depth: 64 } },
          ] },
        }],
      },
    },
  },
];
