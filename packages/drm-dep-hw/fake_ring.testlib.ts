/**
 * Test-only fake hardware ring for the HW-queue layer tests, in the spirit of the KUnit mock
 * (one lock, one in-order ring): the jobs on the ring execute one after the other, the head
 * for `duration_ns` from the moment it became the head (Infinity: it hangs until the test or
 * the TDR completes it), and complete from the device interrupt. Like a driver binding it uses
 * only the public APIs of drm_dep and the layer.
 */
import {
  dma_fence, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_set_error, dma_fence_signal_locked,
  ETIMEDOUT, EXACT_TIMING, Kernel, MAX_SCHEDULE_TIMEOUT, spin_lock_init, spin_lock_irqsave, spin_unlock_irqrestore,
  type irq_line, type KernelOptions, type Sleepable, type spinlock_t,
} from '@deplab/sim';
import {
  drm_dep_device, drm_dep_device_wait_idle, drm_dep_job_arm, drm_dep_job_finished_fence,
  drm_dep_job_put, drm_dep_queue_put, DRM_DEP_TIMEDOUT_RESET, type drm_dep_timedout_stat,
} from '@deplab/drm-dep';
import {
  drm_dep_hw_job, drm_dep_hw_job_add_dependency, drm_dep_hw_job_init, drm_dep_hw_job_push, drm_dep_hw_queue, drm_dep_hw_queue_init,
  drm_dep_hw_queue_kill, drm_dep_hw_ring, drm_dep_hw_ring_fini, drm_dep_hw_ring_init, DRM_DEP_HW_PRIORITY_NORMAL,
  type drm_dep_hw_ring_ops,
} from './index.ts';

const hw_fence_ops = {
  get_driver_name: () => 'fake_hw',
  get_timeline_name: () => 'fake_hw.ring',
};

export class fake_hw_job extends drm_dep_hw_job {
  readonly queue: fake_hw_queue;
  duration_ns: number;
  readonly label: string;
  /** The hardware's reference to its fence while the job is on the ring. */
  hw_fence: dma_fence | null = null;
  end_ns = Infinity;
  runs = 0;
  released = false;

  constructor(queue: fake_hw_queue, duration_ns: number, label: string) {
    super(queue.rig.kernel);
    this.queue = queue;
    this.duration_ns = duration_ns;
    this.label = label;
  }
}

export class fake_hw_queue extends drm_dep_hw_queue {
  readonly rig: fake_rig;
  readonly name: string;
  freed = false;

  constructor(rig: fake_rig, name: string) {
    super(rig.kernel);
    this.rig = rig;
    this.name = name;
  }
}

/** One kernel, one device, one ring and its fake hardware, and what happened. */
export class fake_rig {
  readonly kernel: Kernel;
  readonly ring: drm_dep_hw_ring;
  readonly dev: drm_dep_device;
  readonly lock: spinlock_t;
  readonly irq: irq_line;
  readonly hw_context: number;
  hw_seqno = 0;
  /** On the hardware, oldest first; ring[0] executes. */
  readonly hw_ring: fake_hw_job[] = [];
  /** Labels of the jobs in the order they reached the hardware (a resubmit appends again). */
  readonly run_log: string[] = [];
  /** Ring credits in use each time a job reached the hardware. */
  readonly credits_at_run: number[] = [];
  credits_in_use = 0;
  readonly timedout: string[] = [];
  readonly queues: fake_hw_queue[] = [];
  /** What timedout_job does (default: fail the hung head with -ETIMEDOUT, RESET). */
  on_timeout: (job: fake_hw_job) => drm_dep_timedout_stat | Sleepable<drm_dep_timedout_stat> = (job) => fake_fail_head(job, -ETIMEDOUT);
  /** Virtual time of each timedout_job call, ns. */
  readonly timedout_at_ns: number[] = [];

  constructor(options: KernelOptions = {}) {
    // Exact timing: the expected times in the tests are computed by hand.
    this.kernel = new Kernel({ ...EXACT_TIMING, ...options, assume: { ...EXACT_TIMING.assume, ...options.assume } });
    this.ring = new drm_dep_hw_ring(this.kernel);
    this.dev = new drm_dep_device(this.kernel, 'fake_hw');
    this.lock = spin_lock_init(this.kernel, 'fake_hw.lock');
    this.irq = this.kernel.request_irq('fake_hw', this, fake_hw_irq);
    this.hw_context = this.kernel.dma_fence_context_alloc(1);
  }
}

/** Start the head of the hardware ring: it ends `duration_ns` from now. gpu lock held. */
function start_head(rig: fake_rig): void {
  const head = rig.hw_ring[0];
  if (head === undefined || head.end_ns !== Infinity || head.duration_ns === Infinity) return;
  head.end_ns = rig.kernel.now() + head.duration_ns;
  rig.kernel.raise_irq_at(rig.irq, head.end_ns, 0);
}

/** Complete the head with `error`; returns the hardware's fence reference to drop. Lock held. */
function complete_head_locked(rig: fake_rig, error: number): dma_fence {
  const job = rig.hw_ring.shift()!;
  const fence = job.hw_fence!;
  job.hw_fence = null;
  rig.credits_in_use -= 1;
  if (error < 0) dma_fence_set_error(fence, error);
  dma_fence_signal_locked(fence);
  return fence;
}

function fake_hw_irq(rig: fake_rig): void {
  const k = rig.kernel;
  const done: dma_fence[] = [];
  const flags = spin_lock_irqsave(rig.lock);
  for (;;) {
    const head = rig.hw_ring[0];
    if (head === undefined || head.end_ns > k.now()) break;
    done.push(complete_head_locked(rig, 0));
    start_head(rig);
  }
  spin_unlock_irqrestore(rig.lock, flags);
  for (const f of done) dma_fence_put(f);
}

/** Let the hung head of the ring finish now. */
export function fake_complete_head(rig: fake_rig): void {
  const flags = spin_lock_irqsave(rig.lock);
  const head = rig.hw_ring[0];
  if (head !== undefined) {
    head.duration_ns = 0;
    head.end_ns = Infinity;
    start_head(rig);
  }
  spin_unlock_irqrestore(rig.lock, flags);
}

/** Fail the head with `error` if it is `job` (a TDR that resets the engine); RESET. */
export function fake_fail_head(job: fake_hw_job, error: number): drm_dep_timedout_stat {
  const rig = job.queue.rig;
  let fence: dma_fence | null = null;
  const flags = spin_lock_irqsave(rig.lock);
  if (rig.hw_ring[0] === job) {
    fence = complete_head_locked(rig, error);
    start_head(rig);
  }
  spin_unlock_irqrestore(rig.lock, flags);
  dma_fence_put(fence);
  return DRM_DEP_TIMEDOUT_RESET;
}

/**
 * A hardware reset: everything on the ring is forgotten (no fence signals); the layer's reset
 * path decides what runs again. Returns the jobs that were on the hardware.
 */
export function fake_hw_reset(rig: fake_rig): fake_hw_job[] {
  const flags = spin_lock_irqsave(rig.lock);
  const lost = rig.hw_ring.splice(0, rig.hw_ring.length);
  rig.credits_in_use -= lost.length;
  spin_unlock_irqrestore(rig.lock, flags);
  for (const job of lost) {
    job.end_ns = Infinity;
    dma_fence_put(job.hw_fence); // the hardware's reference; the layer keeps its own
    job.hw_fence = null;
  }
  return lost;
}

function fake_run_job(job: fake_hw_job): dma_fence {
  const rig = job.queue.rig;
  const k = rig.kernel;
  job.runs++;
  // Preallocated in a real driver (run_job is in a signalling section).
  const fence = new dma_fence(k, 'fake_hw_fence');
  dma_fence_init(fence, hw_fence_ops, rig.lock, rig.hw_context, ++rig.hw_seqno);
  job.hw_fence = dma_fence_get(fence);
  job.end_ns = Infinity;
  const flags = spin_lock_irqsave(rig.lock);
  rig.hw_ring.push(job);
  rig.credits_in_use += 1;
  start_head(rig);
  spin_unlock_irqrestore(rig.lock, flags);
  rig.run_log.push(job.label);
  rig.credits_at_run.push(rig.credits_in_use);
  return fence; // its initial reference goes to the layer
}

export interface fake_ring_options {
  credit_limit?: number;
  timeout_ms?: number;
  policy?: number;
  levels?: number;
  no_pipeline?: boolean;
  ops?: Partial<drm_dep_hw_ring_ops<fake_hw_job, fake_hw_queue>>;
}

/** A rig with its ring initialised; throws if drm_dep_hw_ring_init fails (a test bug). */
export function fake_rig_create(opts: fake_ring_options = {}, kernel_options: KernelOptions = {}): fake_rig {
  const rig = new fake_rig(kernel_options);
  const k = rig.kernel;
  const ops: drm_dep_hw_ring_ops<fake_hw_job, fake_hw_queue> = {
    run_job: fake_run_job,
    timedout_job: (job) => {
      rig.timedout.push(job.label);
      rig.timedout_at_ns.push(k.now());
      return rig.on_timeout(job);
    },
    release_job(job) {
      job.released = true;
    },
    free_queue(q) {
      q.freed = true;
    },
    ...opts.ops,
  };
  const ret = drm_dep_hw_ring_init(rig.ring, {
    ops, name: 'fake_ring', credit_limit: opts.credit_limit ?? 1, policy: opts.policy, levels: opts.levels, no_pipeline: opts.no_pipeline,
    timeout: opts.timeout_ms === undefined ? MAX_SCHEDULE_TIMEOUT : k.jiffies.msecs_to_jiffies(opts.timeout_ms),
  });
  if (ret !== 0) throw new Error(`drm_dep_hw_ring_init failed: ${ret}`);
  return rig;
}

export function fake_queue_create(rig: fake_rig, name: string, priority = DRM_DEP_HW_PRIORITY_NORMAL, flags = 0): fake_hw_queue {
  const q = new fake_hw_queue(rig, name);
  const ret = drm_dep_hw_queue_init(q, rig.ring, { name, priority, flags, dev: rig.dev });
  if (ret !== 0) throw new Error(`drm_dep_hw_queue_init failed: ${ret}`);
  rig.queues.push(q);
  return q;
}

/**
 * Submit a job of `duration_ns` labelled `label` (deps consumed); the test's reference is
 * dropped at once. Returns a reference to the finished fence (the caller puts it).
 */
export function fake_submit(q: fake_hw_queue, label: string, duration_ns: number, deps: dma_fence[] = []): { job: fake_hw_job; fence: dma_fence } {
  const job = new fake_hw_job(q, duration_ns, label);
  const ret = drm_dep_hw_job_init(job, q, 1);
  if (ret !== 0) throw new Error(`drm_dep_hw_job_init failed: ${ret}`);
  for (const d of deps) drm_dep_hw_job_add_dependency(job, d);
  drm_dep_job_arm(job);
  const fence = drm_dep_job_finished_fence(job)!;
  drm_dep_hw_job_push(job);
  drm_dep_job_put(job);
  return { job, fence };
}

/** Kill and put every queue, wait for drm_dep's unload barrier and the ring's fini. */
export function fake_rig_teardown(rig: fake_rig): void {
  const k = rig.kernel;
  for (const q of rig.queues) {
    drm_dep_hw_queue_kill(q);
    drm_dep_queue_put(q);
  }
  k.run_task((function* () {
    yield* drm_dep_device_wait_idle(rig.dev);
    yield* drm_dep_hw_ring_fini(rig.ring);
  })());
  k.run_all();
  k.lifetime.check_leaks('fake_rig_teardown', k.lifetime.live().map((o) => o.type).filter((t) => t !== 'dma_fence.stub'));
}
