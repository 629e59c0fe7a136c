/** Stress cases: many queues, deep dependency chains, teardown storms. For every driver. */
import type { BuiltinWorkload } from './index.ts';

export const STRESS_WORKLOADS: readonly BuiltinWorkload[] = [
  {
    name: 'stress/many-queues', description: '1000 clients, one queue each, 5 short jobs per queue', drivers: ['*'], default: false,
    source: { json: { clients: Array.from({ length: 1000 }, (_, i) => ({
      name: `c${i}`, queues: [{ name: 'q', engine: 'render' }],
      program: { loops: 5, steps: [{ batch: { queue: 'q', duration_us: [20, 80] } }] },
    })) } },
  },
  {
    name: 'stress/deep-chain', description: 'a 2000-job dependency chain across 4 queues of one client', drivers: ['*'], default: false,
    source: { json: { clients: [{
      name: 'chain', queues: ['q0', 'q1', 'q2', 'q3'].map((name) => ({ name, engine: 'render' })),
      program: { loops: 500, steps: [
        { batch: { queue: 'q0', duration_us: [50, 150], deps: [{ client: 'chain', queue: 'q3', last: true }] } },
        { batch: { queue: 'q1', duration_us: [50, 150], deps: [{ step: -1 }] } },
        { batch: { queue: 'q2', duration_us: [50, 150], deps: [{ step: -1 }] } },
        { batch: { queue: 'q3', duration_us: [50, 150], deps: [{ step: -1 }] } },
        { queue_depth: { depth: 32 } },
      ] },
    }] } },
  },
  {
    name: 'stress/teardown-storm', description: '64 clients keep 8 jobs in flight and all close at 20 ms (Ctrl-C storm)', drivers: ['*'], default: true,
    source: { json: {
      clients: Array.from({ length: 64 }, (_, i) => ({
        name: `c${i}`, queues: [{ name: 'q', engine: 'render' }],
        program: { duration_ms: 100, steps: [{ batch: { queue: 'q', duration_us: [200, 2000] } }, { queue_depth: { depth: 8 } }] },
      })),
      events: Array.from({ length: 64 }, (_, i) => ({ at_us: 20000, action: 'close_client', client: `c${i}` })),
    } },
  },
];
