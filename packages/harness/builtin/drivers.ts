/**
 * Per-driver realistic profiles from the spec's workload-shape notes (drivers.md 2.9, 3.8,
 * 4.8, 5.4). Numbers there are engineering estimates, and so are these.
 */
import type { BuiltinWorkload } from './index.ts';

const inference = (clients: number, jobs_per_client: number): object => ({
  clients: Array.from({ length: clients }, (_, i) => ({
    name: `app${i}`, queues: [{ name: 'ctx', engine: 'compute' }],
    // Host-paced inference: a burst of commands (the ioctl blocks at 4 in flight), then think time.
    program: { loops: jobs_per_client / 8, steps: [
      ...Array.from({ length: 8 }, () => ({ batch: { queue: 'ctx', duration_us: [500, 5000] } })),
      { sync: { step: -1 } },
      { delay: { us: { dist: 'exponential', mean_us: 2000, max_us: 20000 } } },
    ] },
  })),
});

/** panthor: more groups than CSG slots, 2-3 jobs per frame chained through syncobjs. */
const panthor_rotation = (groups: number): object => ({
  clients: Array.from({ length: groups }, (_, i) => ({
    name: `app${i}`,
    queues: [{ name: 'vertex', engine: 'render', priority: i % 4 === 0 ? 'high' : 'normal' }, { name: 'frag', engine: 'render', priority: i % 4 === 0 ? 'high' : 'normal' }],
    program: { loops: 30, steps: [
      { batch: { queue: 'vertex', duration_us: [1000, 4000] } },
      { batch: { queue: 'frag', duration_us: [2000, 8000], deps: [{ step: -1 }] } },
      { period: { rate: `${[60, 120, 240][i % 3]}fps` } },
    ] },
  })),
});

export const DRIVER_WORKLOADS: readonly BuiltinWorkload[] = [
  {
    name: 'panthor/rotation', description: 'panthor: 12 apps (groups) rotating through 8 CSG slots, vertex+fragment chains at 60-240 fps',
    drivers: ['panthor'], default: true, source: { json: panthor_rotation(12) },
  },
  {
    name: 'panthor/vm-bind', description: 'panthor: frames whose render jobs wait on VM_BIND jobs of the same client',
    drivers: ['panthor'], default: false,
    source: { json: { clients: Array.from({ length: 4 }, (_, i) => ({
      name: `app${i}`, queues: [{ name: 'bind', engine: 'bind' }, { name: 'gfx', engine: 'render' }],
      program: { loops: 40, steps: [
        { batch: { queue: 'bind', duration_us: [20, 200] } },
        { batch: { queue: 'gfx', duration_us: [1000, 6000], deps: [{ step: -1 }] } },
        { period: { rate: '60fps' } },
      ] },
    })) } },
  },
  {
    name: 'panthor/hang-group-kill', description: 'panthor: a hung job kills its whole group while other groups keep rotating',
    drivers: ['panthor'], default: false,
    source: { json: { ...panthor_rotation(10), events: [{ after: { client: 'app1', step: 0, loop: 5 }, action: 'hang_job', client: 'app1', queue: 'vertex' }] } },
  },
  {
    name: 'amdxdna/inference', description: 'amdxdna: 3 apps streaming inference commands at the 4-in-flight cap',
    drivers: ['amdxdna'], default: true, source: { json: inference(3, 80) },
  },
  {
    name: 'amdxdna/ctrl-c-hung', description: 'amdxdna: an app with a hung command is killed (Ctrl-C) during the 60 s timeout',
    drivers: ['amdxdna'], default: false,
    source: { json: { ...inference(1, 16), events: [
      { after: { client: 'app0', step: 0, loop: 0 }, action: 'hang_job', client: 'app0', queue: 'ctx' },
      { at_us: 200000, action: 'close_client', client: 'app0' },
    ] } },
  },
];
