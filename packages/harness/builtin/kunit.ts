/**
 * The KUnit scheduling-quality scenarios (tests_scheduler.c) as harness workloads: each
 * client submits job_cnt jobs of job_us, waits for the last if sync, sleeps wait_us, for one
 * second. On the mock they reproduce the KUnit figures; on other drivers they are the same
 * load shape.
 */
import type { BuiltinWorkload } from './index.ts';

interface Client { priority: 'low' | 'normal' | 'high'; job_cnt: number; job_us: number; sync: boolean; wait_us: number }

/** drm_sched_client_work: cycles = DIV_ROUND_UP(duration, job_cnt * job_us + wait_us). */
function client_program(name: string, c: Client, duration_ms: number) {
  const steps: object[] = [];
  for (let i = 0; i < c.job_cnt; i++) steps.push({ batch: { queue: 'q', duration_us: c.job_us } });
  if (c.sync) steps.push({ sync: { step: -1 } });
  if (c.wait_us > 0) steps.push({ delay: { us: c.wait_us } });
  const loops = Math.ceil((duration_ms * 1000) / (c.job_cnt * c.job_us + c.wait_us));
  return { name, queues: [{ name: 'q', engine: 'render', priority: c.priority }], program: { loops, steps } };
}

const two = (name: string, description: string, a: Client, b: Client, dflt = false): BuiltinWorkload => ({
  name: `kunit/${name}`, description: `KUnit two clients: ${description}`, drivers: ['mock'], default: dflt,
  source: { json: { clients: [client_program('client0', a, 1000), client_program('client1', b, 1000)] } },
});

const N = 'normal' as const, L = 'low' as const, H = 'high' as const;
const c = (priority: Client['priority'], job_cnt: number, job_us: number, sync: boolean, wait_us: number): Client =>
  ({ priority, job_cnt, job_us, sync, wait_us });

export const KUNIT_WORKLOADS: readonly BuiltinWorkload[] = [
  two('normal-normal', 'normal and normal priority, async 8 ms jobs', c(N, 1, 8000, false, 0), c(N, 1, 8000, false, 0)),
  two('normal-low', 'normal and low priority, async 8 ms jobs', c(N, 1, 8000, false, 0), c(L, 1, 8000, false, 0)),
  two('high-low', 'high and low priority, async 8 ms jobs', c(H, 1, 8000, false, 0), c(L, 1, 8000, false, 0)),
  two('50-50', '50% and 50%, sync', c(N, 1, 1500, true, 1500), c(N, 1, 2500, true, 2500), true),
  two('low-hog-interactive', 'low priority hog and interactive client', c(L, 3, 2500, false, 500), c(N, 1, 500, true, 10000), true),
  two('heavy-interactive', 'heavy rendering and interactive client', c(N, 3, 2500, true, 2500), c(N, 1, 1000, true, 9000)),
  {
    name: 'kunit/many-clients-13', description: 'KUnit many clients: 13 sync clients, 4 x 1 ms jobs each', drivers: ['mock'], default: true,
    source: { json: { clients: Array.from({ length: 13 }, (_, i) => client_program(`client${i}`, c(N, 4, 1000, true, 0), Math.floor(1000 / 13))) } },
  },
  {
    name: 'kunit/ping-pong', description: 'KUnit ping-pong: 1000 x 1 ms jobs alternating two queues, each on the previous one', drivers: ['mock'], default: true,
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
