/**
 * A tiny fake GPU and driver for the drm-sched tests, after the KUnit mock
 * (tests/mock_scheduler.c): one timeline, one lock, one list of jobs "on the HW" executed
 * strictly back to back; a job with duration 0 is manual (completed by advance() or
 * signal_job()). Completion runs in hardirq context from a per-job hrtimer, like the mock.
 * Test-only: not part of the package API.
 */
import {
  ECANCELED, ETIMEDOUT, HRTIMER_MODE_ABS, HRTIMER_NORESTART, Kernel, dma_fence, dma_fence_get, dma_fence_init,
  dma_fence_put, dma_fence_set_error, dma_fence_signal_locked, hrtimer, hrtimer_cancel, hrtimer_start,
  spin_lock_irqsave, spin_unlock_irqrestore, spinlock_t, MAX_SCHEDULE_TIMEOUT,
  type KernelOptions, type Sleepable, type dma_fence_ops, EXACT_TIMING,
} from '@deplab/sim';
import {
  DRM_GPU_SCHED_STAT_RESET, DRM_SCHED_PRIORITY_COUNT, drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_init,
  drm_sched_entity_push_job, drm_sched_init, drm_sched_job, drm_sched_job_arm, drm_sched_job_cleanup,
  drm_sched_job_init, type drm_gpu_sched_stat, type drm_sched_backend_ops, type drm_sched_priority,
} from './index.ts';

const hw_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'fake_gpu',
  get_timeline_name: () => 'fake_gpu.timeline',
};

export class fake_job extends drm_sched_job {
  /** The GPU of the scheduler the job was last run on. */
  gpu: fake_gpu;
  readonly label: string;
  duration_us: number;
  finish_at_ns = 0;
  readonly hw_fence: dma_fence;
  readonly timer: hrtimer;
  /** If set, run_job returns this instead of a HW fence (null, or a negative errno). */
  run_result: null | number | undefined = undefined;

  constructor(kernel: Kernel, gpu: fake_gpu, label: string, duration_us: number) {
    super(kernel);
    this.gpu = gpu;
    this.label = label;
    this.duration_us = duration_us;
    this.hw_fence = new dma_fence(kernel, 'fake_gpu.hw_fence');
    this.timer = new hrtimer(kernel, (t) => fake_gpu_timer(t.owner as fake_job), `fake_job ${label}`, this);
  }
}

export class fake_gpu {
  readonly kernel: Kernel;
  readonly lock: spinlock_t;
  readonly context: number;
  next_seqno = 0;
  /** Jobs on the HW, in run_job order. */
  readonly job_list: fake_job[] = [];
  readonly run_log: string[] = [];
  readonly free_log: string[] = [];
  readonly cancel_log: string[] = [];
  /** Replaces the mock-like timedout_job when set. */
  on_timeout: ((job: fake_job) => drm_gpu_sched_stat | Sleepable<drm_gpu_sched_stat>) | null = null;
  readonly ops: drm_sched_backend_ops;

  constructor(kernel: Kernel, with_cancel: boolean) {
    this.kernel = kernel;
    this.lock = new spinlock_t(kernel, '&fake_gpu->lock');
    this.context = kernel.dma_fence_context_alloc(1);
    this.ops = {
      run_job: (job) => fake_run_job(this, job as fake_job),
      timedout_job: (job) => this.on_timeout !== null ? this.on_timeout(job as fake_job) : fake_timedout_job(this, job as fake_job),
      free_job: (job) => fake_free_job(this, job as fake_job),
    };
    if (with_cancel) this.ops.cancel_job = (job) => fake_cancel_job(this, job as fake_job);
  }
}

function fake_run_job(gpu: fake_gpu, job: fake_job): dma_fence | null | number {
  job.gpu = gpu; // load balancing may have moved the job to another scheduler
  gpu.run_log.push(job.label);
  if (job.run_result !== undefined) return job.run_result;
  const k = gpu.kernel;
  dma_fence_init(job.hw_fence, hw_fence_ops, gpu.lock, gpu.context, ++gpu.next_seqno);
  dma_fence_get(job.hw_fence); // the job_list reference
  const flags = spin_lock_irqsave(gpu.lock);
  if (job.duration_us !== 0) {
    const last = gpu.job_list.length > 0 ? gpu.job_list[gpu.job_list.length - 1].finish_at_ns : 0;
    job.finish_at_ns = (last !== 0 ? last : k.now()) + job.duration_us * 1000;
  }
  gpu.job_list.push(job);
  if (job.finish_at_ns !== 0) hrtimer_start(job.timer, job.finish_at_ns, HRTIMER_MODE_ABS);
  spin_unlock_irqrestore(gpu.lock, flags);
  return job.hw_fence;
}

/** Complete `job` (gpu lock held): unlink and signal its HW fence with `error`. */
function fake_complete_locked(gpu: fake_gpu, job: fake_job, error: number): void {
  const i = gpu.job_list.indexOf(job);
  if (i >= 0) gpu.job_list.splice(i, 1);
  if (error !== 0) dma_fence_set_error(job.hw_fence, error);
  dma_fence_signal_locked(job.hw_fence);
}

function fake_gpu_timer(job: fake_job): number {
  const gpu = job.gpu;
  const flags = spin_lock_irqsave(gpu.lock);
  while (gpu.job_list.length > 0) {
    const head = gpu.job_list[0];
    if (head.duration_us === 0 || gpu.kernel.now() < head.finish_at_ns) break;
    fake_complete_locked(gpu, head, 0);
  }
  spin_unlock_irqrestore(gpu.lock, flags);
  return HRTIMER_NORESTART;
}

/** Complete the first `n` jobs on the HW in order (drm_mock_sched_advance). */
export function fake_gpu_advance(gpu: fake_gpu, n: number): number {
  const flags = spin_lock_irqsave(gpu.lock);
  let done = 0;
  while (done < n && gpu.job_list.length > 0) {
    fake_complete_locked(gpu, gpu.job_list[0], 0);
    done++;
  }
  spin_unlock_irqrestore(gpu.lock, flags);
  return done;
}

/** Complete one job out of order, optionally with an error. */
export function fake_gpu_signal(job: fake_job, error = 0): void {
  const flags = spin_lock_irqsave(job.gpu.lock);
  fake_complete_locked(job.gpu, job, error);
  spin_unlock_irqrestore(job.gpu.lock, flags);
}

/** Like mock_sched_timedout_job: signal the hung job -ETIMEDOUT and dispose of it (no stop/start). */
function fake_timedout_job(gpu: fake_gpu, job: fake_job): drm_gpu_sched_stat {
  const flags = spin_lock_irqsave(gpu.lock);
  if (!job.hw_fence.signaled) fake_complete_locked(gpu, job, -ETIMEDOUT);
  spin_unlock_irqrestore(gpu.lock, flags);
  dma_fence_put(job.hw_fence);
  drm_sched_job_cleanup(job);
  return DRM_GPU_SCHED_STAT_RESET;
}

function fake_free_job(gpu: fake_gpu, job: fake_job): void {
  gpu.free_log.push(job.label);
  hrtimer_cancel(job.timer);
  if (job.hw_fence.init_count > 0) dma_fence_put(job.hw_fence); // the job_list reference
  drm_sched_job_cleanup(job);
}

function fake_cancel_job(gpu: fake_gpu, job: fake_job): void {
  gpu.cancel_log.push(job.label);
  hrtimer_cancel(job.timer);
  const flags = spin_lock_irqsave(gpu.lock);
  if (job.hw_fence.init_count > 0 && !job.hw_fence.signaled) fake_complete_locked(gpu, job, -ECANCELED);
  spin_unlock_irqrestore(gpu.lock, flags);
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up helpers                                                                               */

export interface TestSchedOptions {
  credit_limit?: number;
  timeout?: number;
  sched_policy?: number;
  num_rqs?: number;
  hang_limit?: number;
  cancel_job?: boolean;
  name?: string;
}

export interface TestRig {
  kernel: Kernel;
  sched: drm_gpu_scheduler;
  gpu: fake_gpu;
}

export function make_kernel(options: KernelOptions = {}): Kernel {
  return new Kernel({ trace: 'record', ...EXACT_TIMING, ...options });
}

export function make_sched(kernel: Kernel, o: TestSchedOptions = {}): TestRig {
  const gpu = new fake_gpu(kernel, o.cancel_job ?? true);
  const sched = new drm_gpu_scheduler(kernel);
  const r = drm_sched_init(sched, {
    ops: gpu.ops, num_rqs: o.num_rqs ?? DRM_SCHED_PRIORITY_COUNT, credit_limit: o.credit_limit ?? 0xffffffff,
    hang_limit: o.hang_limit ?? 1, timeout: o.timeout ?? MAX_SCHEDULE_TIMEOUT, name: o.name ?? 'fake-sched',
    sched_policy: o.sched_policy,
  });
  if (r !== 0) throw new Error(`drm_sched_init failed: ${r}`);
  return { kernel, sched, gpu };
}

export function make_entity(rig: TestRig, priority: drm_sched_priority, guilty: null | { counter: number } = null): drm_sched_entity {
  const entity = new drm_sched_entity(rig.kernel);
  const r = drm_sched_entity_init(entity, priority, [rig.sched], 1, guilty as never);
  if (r !== 0) throw new Error(`drm_sched_entity_init failed: ${r}`);
  return entity;
}

export function make_job(rig: TestRig, entity: drm_sched_entity, label: string, duration_us = 0, credits = 1): fake_job {
  const job = new fake_job(rig.kernel, rig.gpu, label, duration_us);
  const r = drm_sched_job_init(job, entity, credits, null, 1);
  if (r !== 0) throw new Error(`drm_sched_job_init failed: ${r}`);
  return job;
}

/** drm_mock_sched_job_submit: arm + push. */
export function submit(job: drm_sched_job): void {
  drm_sched_job_arm(job);
  drm_sched_entity_push_job(job);
}

/** Names of work items executed, by work name, from the trace. */
export function work_counts(kernel: Kernel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of kernel.trace.events) {
    if (e.name !== 'workqueue_execute_start') continue;
    const w = String(e.args.work);
    out[w] = (out[w] ?? 0) + 1;
  }
  return out;
}

/** The trace events of one name. */
export function events(kernel: Kernel, name: string): { t_ns: number; args: Record<string, unknown> }[] {
  return kernel.trace.events.filter((e) => e.name === name).map((e) => ({ t_ns: e.t_ns, args: e.args }));
}

/** Violations formatted for an expect() message. */
export function violations_text(kernel: Kernel): string {
  return kernel.violations.format();
}

export const MS = 1_000_000;
export const US = 1_000;
