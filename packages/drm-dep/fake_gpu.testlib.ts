/**
 * Test-only fake firmware GPU for the drm_dep tests, in the spirit of the KUnit mock scheduler
 * (drivers/gpu/drm/scheduler/tests/mock_scheduler.c): one lock, one in-order ring per queue, a
 * HW fence per job signalled from the device interrupt. Like a real driver binding it imports
 * only the public API (./index.ts) and the simulated kernel.
 *
 * Execution model: the jobs of one queue execute one after the other (a firmware ring); only
 * the ring head runs, for `duration_ns` from the moment it became the head; Infinity means it
 * hangs until fake_queue_complete() or the TDR. Queues run in parallel.
 */
import {
  dma_fence, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_set_error, dma_fence_signal_locked,
  ETIMEDOUT, type irq_line, type Kernel, MAX_SCHEDULE_TIMEOUT, spin_lock_init, spin_lock_irqsave,
  spin_unlock_irqrestore, type spinlock_t, type workqueue_struct,
} from '@deplab/sim';
import {
  drm_dep_job, drm_dep_job_arm, drm_dep_job_finished_fence, drm_dep_job_init, drm_dep_job_push,
  drm_dep_job_add_dependency, drm_dep_job_queue, drm_dep_queue, drm_dep_queue_init, drm_dep_queue_release_done,
  DRM_DEP_TIMEDOUT_RESET, type drm_dep_device, type drm_dep_queue_ops, type drm_dep_timedout_stat,
} from './index.ts';

const hw_fence_ops = {
  get_driver_name: () => 'fake_gpu',
  get_timeline_name: (f: dma_fence) => `fake_ring.${f.context}`,
};

export class fake_gpu {
  readonly kernel: Kernel;
  readonly irq: irq_line;
  /** The one lock: the rings and every HW fence. */
  readonly lock: spinlock_t;
  readonly queues: fake_queue[] = [];

  constructor(kernel: Kernel, name = 'fake_gpu') {
    this.kernel = kernel;
    this.lock = spin_lock_init(kernel, 'fake_gpu.lock');
    this.irq = kernel.request_irq(name, this, fake_gpu_irq);
  }
}

export class fake_queue extends drm_dep_queue {
  readonly gpu: fake_gpu;
  readonly index: number;
  readonly hw_context: number;
  hw_seqno = 0;
  /** In flight, oldest first; ring[0] executes. */
  readonly ring: fake_job[] = [];
  /** What happened to the queue, in order: 'release', 'release_done', 'free'. */
  readonly log: string[] = [];
  /** Context kind of each release_job call. */
  readonly release_job_contexts: string[] = [];
  timeouts = 0;

  constructor(gpu: fake_gpu) {
    super(gpu.kernel);
    this.gpu = gpu;
    this.index = gpu.queues.length;
    this.hw_context = gpu.kernel.dma_fence_context_alloc(1);
    gpu.queues.push(this);
  }
}

export class fake_job extends drm_dep_job {
  duration_ns: number;
  /** The driver's reference to the HW fence, from run_job until it signals. */
  hw_fence: dma_fence | null = null;
  end_ns = Infinity;
  run_count = 0;
  released = false;

  constructor(kernel: Kernel, duration_ns: number) {
    super(kernel);
    this.duration_ns = duration_ns;
  }
}

/** Start the ring head of `q`: it ends `duration_ns` from now. Call with gpu.lock held. */
function start_head(q: fake_queue): void {
  const head = q.ring[0];
  if (head === undefined || head.end_ns !== Infinity) return;
  if (head.duration_ns === Infinity) return;
  const k = q.gpu.kernel;
  head.end_ns = k.now() + head.duration_ns;
  k.raise_irq_at(q.gpu.irq, head.end_ns, q.index);
}

/** Complete the head of `q` with `error`. Call with gpu.lock held; returns the driver's HW fence ref. */
function complete_head_locked(q: fake_queue, error: number): dma_fence {
  const job = q.ring.shift()!;
  const fence = job.hw_fence!;
  job.hw_fence = null;
  if (error < 0) dma_fence_set_error(fence, error);
  dma_fence_signal_locked(fence);
  return fence;
}

/** The device interrupt: ring `arg` has a head that may have finished. Hardirq context. */
function fake_gpu_irq(gpu: fake_gpu, arg: number): void {
  const q = gpu.queues[arg];
  const k = gpu.kernel;
  const done: dma_fence[] = [];
  const flags = spin_lock_irqsave(gpu.lock);
  for (let guard = 0; guard < 1_000_000; guard++) {
    const head = q.ring[0];
    if (head === undefined || head.end_ns > k.now()) break;
    done.push(complete_head_locked(q, 0));
    start_head(q);
  }
  spin_unlock_irqrestore(gpu.lock, flags);
  for (const f of done) dma_fence_put(f);
}

/** Finish the first `count` in-flight jobs of `q` now (from the device interrupt). */
export function fake_queue_complete(q: fake_queue, count = 1): void {
  const k = q.gpu.kernel;
  const flags = spin_lock_irqsave(q.gpu.lock);
  for (let i = 0; i < count && i < q.ring.length; i++) q.ring[i].duration_ns = 0;
  if (q.ring[0] !== undefined) q.ring[0].end_ns = Math.min(q.ring[0].end_ns, k.now());
  spin_unlock_irqrestore(q.gpu.lock, flags);
  k.raise_irq_at(q.gpu.irq, k.now(), q.index);
}

/**
 * A queue reset (what a driver's TDR does): every in-flight job of `q` completes, the head with
 * `head_error` and the others with `other_error`, in ring order. Any context.
 */
export function fake_queue_reset(q: fake_queue, head_error: number, other_error: number): number {
  const done: dma_fence[] = [];
  const flags = spin_lock_irqsave(q.gpu.lock);
  while (q.ring.length > 0) done.push(complete_head_locked(q, done.length === 0 ? head_error : other_error));
  spin_unlock_irqrestore(q.gpu.lock, flags);
  for (const f of done) dma_fence_put(f);
  return done.length;
}

function fake_run_job(job: fake_job): dma_fence {
  const q = drm_dep_job_queue<fake_queue>(job);
  const k = q.gpu.kernel;
  job.run_count++;
  // Preallocated in a real driver: run_job is in a signalling section and may not allocate.
  const fence = new dma_fence(k, 'fake_hw_fence');
  dma_fence_init(fence, hw_fence_ops, q.gpu.lock, q.hw_context, ++q.hw_seqno);
  job.hw_fence = fence;
  const flags = spin_lock_irqsave(q.gpu.lock);
  q.ring.push(job);
  start_head(q);
  spin_unlock_irqrestore(q.gpu.lock, flags);
  return dma_fence_get(fence);
}

/** The fake's TDR: the ring head hung; error it with -ETIMEDOUT and move on (a queue reset). */
function fake_timedout_job(job: fake_job): drm_dep_timedout_stat {
  const q = drm_dep_job_queue<fake_queue>(job);
  q.timeouts++;
  let fence: dma_fence | null = null;
  const flags = spin_lock_irqsave(q.gpu.lock);
  if (q.ring[0] === job) {
    fence = complete_head_locked(q, -ETIMEDOUT);
    start_head(q);
  }
  spin_unlock_irqrestore(q.gpu.lock, flags);
  dma_fence_put(fence);
  return DRM_DEP_TIMEDOUT_RESET;
}

export interface fake_queue_options {
  name?: string;
  flags?: number;
  credit_limit?: number;
  /** Job timeout in ms; default none (MAX_SCHEDULE_TIMEOUT). */
  timeout_ms?: number;
  /** Firmware teardown latency: with it, ops.release completes asynchronously after this. */
  fw_teardown_ns?: number;
  dev?: drm_dep_device | null;
  submit_wq?: workqueue_struct | null;
  timeout_wq?: workqueue_struct | null;
  /** Replace single ops (tests of TDR variants). */
  ops?: Partial<drm_dep_queue_ops<fake_job, fake_queue>>;
}

/** Create and initialise a fake queue; throws if drm_dep_queue_init fails (a test bug). */
export function fake_queue_create(gpu: fake_gpu, opts: fake_queue_options = {}): fake_queue {
  const k = gpu.kernel;
  const q = new fake_queue(gpu);
  const teardown_ns = opts.fw_teardown_ns;
  const ops: drm_dep_queue_ops<fake_job, fake_queue> = {
    run_job: fake_run_job,
    timedout_job: fake_timedout_job,
    release_job(job) {
      job.released = true;
      q.release_job_contexts.push(k.current.kind);
    },
    free_queue(queue) {
      queue.log.push('free');
    },
    ...opts.ops,
  };
  if (teardown_ns !== undefined) {
    // Firmware deregistration: the reply arrives as an interrupt `teardown_ns` later.
    const reply = { fn: (queue: fake_queue) => { queue.log.push('release_done'); drm_dep_queue_release_done(queue); }, target: q };
    ops.release = (queue) => {
      queue.log.push('release');
      k.call_hardirq_at(k.now() + teardown_ns, reply, 0);
    };
  }
  const ret = drm_dep_queue_init(q, {
    ops,
    name: opts.name ?? `fake${q.index}`,
    flags: opts.flags ?? 0,
    credit_limit: opts.credit_limit ?? 64,
    timeout: opts.timeout_ms === undefined ? MAX_SCHEDULE_TIMEOUT : k.jiffies.msecs_to_jiffies(opts.timeout_ms),
    submit_wq: opts.submit_wq,
    timeout_wq: opts.timeout_wq,
    dev: opts.dev,
  });
  if (ret !== 0) throw new Error(`drm_dep_queue_init failed: ${ret}`);
  return q;
}

/** A job of `duration_ns` on `q` with `deps` (references consumed); throws if init fails. */
export function fake_job_create(q: fake_queue, duration_ns: number, opts: { credits?: number; deps?: dma_fence[] } = {}): fake_job {
  const job = new fake_job(q.gpu.kernel, duration_ns);
  const ret = drm_dep_job_init(job, q, opts.credits ?? 1);
  if (ret !== 0) throw new Error(`drm_dep_job_init failed: ${ret}`);
  for (const dep of opts.deps ?? []) {
    const r = drm_dep_job_add_dependency(job, dep);
    if (r !== 0) throw new Error(`drm_dep_job_add_dependency failed: ${r}`);
  }
  return job;
}

/** arm + push; returns a reference to the finished fence (the caller puts it). */
export function fake_job_submit(job: fake_job): dma_fence {
  drm_dep_job_arm(job);
  const fence = drm_dep_job_finished_fence(job)!;
  drm_dep_job_push(job);
  return fence;
}
