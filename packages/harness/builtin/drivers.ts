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

/** xe: a 3D client whose frame (render) feeds a compositor (render) and a copy, 60 fps. */
const xe_frames = (apps: number): object => ({
  clients: [
    ...Array.from({ length: apps }, (_, i) => ({
      name: `game${i}`, queues: [{ name: 'rcs', engine: 'render' }, { name: 'bcs', engine: 'copy' }],
      program: { loops: 60, steps: [
        { batch: { queue: 'rcs', duration_us: [2000, 9000] } },
        { batch: { queue: 'rcs', duration_us: [500, 2000], deps: [{ step: -1 }] } },
        { batch: { queue: 'bcs', duration_us: [100, 400], deps: [{ step: -1 }] } },
        { queue_depth: { depth: 3 } },
        { period: { rate: '60fps' } },
      ] },
    })),
    {
      name: 'compositor', queues: [{ name: 'rcs', engine: 'render', priority: 'high' }],
      program: { loops: 60, steps: [
        { batch: { queue: 'rcs', duration_us: [300, 900], deps: Array.from({ length: apps }, (_, i) => ({ client: `game${i}`, queue: 'bcs', last: true })) } },
        { sync: { step: -1 } },
        { period: { rate: '60fps' } },
      ] },
    },
  ],
});

/**
 * panfrost: apps drawing frames, a vertex/tiler job (JS1) then a fragment job (JS0) waiting
 * for it, at most two frames ahead, 60 fps; a high-priority compositor samples every app's
 * last fragment job.
 */
const panfrost_frames = (apps: number): object => ({
  clients: [
    ...Array.from({ length: apps }, (_, i) => ({
      name: `app${i}`, queues: [{ name: 'vtx', engine: 'compute' }, { name: 'frag', engine: 'render' }],
      program: { loops: 40, steps: [
        { batch: { queue: 'vtx', duration_us: [500, 3000] } },
        { batch: { queue: 'frag', duration_us: [1000, 6000], deps: [{ step: -1 }] } },
        { queue_depth: { depth: 2 } },
        { period: { rate: '60fps' } },
      ] },
    })),
    {
      name: 'compositor', queues: [{ name: 'frag', engine: 'render', priority: 'high' }],
      program: { loops: 40, steps: [
        { batch: { queue: 'frag', duration_us: [300, 900], deps: Array.from({ length: apps }, (_, i) => ({ client: `app${i}`, queue: 'frag', last: true })) } },
        { sync: { step: -1 } },
        { period: { rate: '60fps' } },
      ] },
    },
  ],
});

export const DRIVER_WORKLOADS: readonly BuiltinWorkload[] = [
  {
    name: 'xe/3d-frames', description: 'xe: 3 games (render+copy chains, 60 fps) feeding a high-priority compositor through cross-queue dependencies',
    drivers: ['xe'], default: true, source: { json: xe_frames(3) },
  },
  {
    name: 'xe/compute-lr', description: 'xe: long-running compute queues (no timeout) with bursts of 1-16 ms kernels beside a render client',
    drivers: ['xe'], default: false,
    source: { json: { clients: [
      ...[0, 1].map((i) => ({ name: `compute${i}`, queues: [{ name: 'ccs', engine: 'compute', long_running: true }],
        program: { loops: 20, steps: [...Array.from({ length: 4 }, () => ({ batch: { queue: 'ccs', duration_us: [1000, 16000] } })), { sync: { step: -1 } }, { delay: { us: [1000, 5000] } }] } })),
      { name: 'ui', queues: [{ name: 'rcs', engine: 'render' }], program: { loops: 60, steps: [{ batch: { queue: 'rcs', duration_us: [500, 3000] } }, { period: { rate: '60fps' } }] } },
    ] } },
  },
  {
    name: 'xe/vm-bind-tlb', description: 'xe: bursts of VM binds (each with a TLB invalidation) that render jobs depend on',
    drivers: ['xe'], default: true,
    source: { json: { clients: [0, 1].map((i) => ({
      name: `app${i}`, queues: [{ name: 'bind', engine: 'bind' }, { name: 'rcs', engine: 'render' }],
      program: { loops: 30, steps: [
        ...Array.from({ length: 4 }, () => ({ batch: { queue: 'bind', duration_us: [5, 50] } })),
        { batch: { queue: 'rcs', duration_us: [1000, 4000], deps: [{ step: -1 }] } },
        { sync: { step: -1 } },
        { delay: { us: [2000, 8000] } },
      ] },
    })) } },
  },
  {
    name: 'xe/ctrl-c', description: 'xe: four clients keep 8 jobs in flight on render and copy; two are killed (Ctrl-C) mid-stream',
    drivers: ['xe'], default: true,
    source: { json: {
      clients: [0, 1, 2, 3].map((i) => ({
        name: `app${i}`, queues: [{ name: 'rcs', engine: 'render' }, { name: 'bcs', engine: 'copy' }],
        program: { duration_ms: 200, steps: [
          { batch: { queue: 'rcs', duration_us: [1000, 6000] } },
          { batch: { queue: 'bcs', duration_us: [200, 800], deps: [{ step: -1 }] } },
          { queue_depth: { depth: 8 } },
        ] },
      })),
      events: [{ at_us: 50000, action: 'close_client', client: 'app1' }, { at_us: 90000, action: 'close_client', client: 'app3' }],
    } },
  },
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
    name: 'panfrost/frames', description: 'panfrost: 3 apps (vertex on JS1 -> fragment on JS0, 60 fps) and a high-priority compositor',
    drivers: ['panfrost'], default: true, source: { json: panfrost_frames(3) },
  },
  {
    name: 'panfrost/hang-reset', description: 'panfrost: a hung vertex job: the 500 ms timeout resets the whole GPU while the other apps keep drawing',
    drivers: ['panfrost'], default: false,
    source: { json: { ...panfrost_frames(3), events: [{ after: { client: 'app1', step: 0, loop: 5 }, action: 'hang_job', client: 'app1', queue: 'vtx' }] } },
  },
  {
    name: 'panfrost/ctrl-c', description: 'panfrost: apps keep two frames in flight; one is killed (Ctrl-C) mid-stream',
    drivers: ['panfrost'], default: false,
    source: { json: { ...panfrost_frames(3), events: [{ at_us: 150000, action: 'close_client', client: 'app2' }] } },
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
