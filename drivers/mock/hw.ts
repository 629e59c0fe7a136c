/**
 * The KUnit mock GPU (drivers/gpu/drm/scheduler/tests/mock_scheduler.c, sched_tests.h), as
 * hardware only: one timeline that executes jobs strictly back to back in submission order,
 * one lock, one list. Timed jobs complete from an hrtimer (hardirq context) at finish_at;
 * manual jobs (duration 0) complete only when the test advances the timeline, and block
 * every job behind them. This file knows nothing of either scheduler: on-sched.ts and
 * on-dep.ts bind the same hardware to drm_sched and to drm_dep.
 *
 * Deviations: the hw fence memory is part of the job and freed by the KUnit framework at test
 * end; here the fence's release marks it freed, so the lifetime tracker's leak check stays
 * meaningful. The `job_started` hook (deplab only) reports when a job starts executing: when it
 * reaches the head of job_list, on an idle timeline at submission or when the job before it
 * completes (in the handler that completes it: for a timed job, the hrtimer expiry after its
 * finish_at) or times out. A job behind a cancelled one does not start (cancel_job comes from
 * scheduler or device teardown, which cancels every job on the hardware).
 */
import {
  ECANCELED, ETIMEDOUT, HRTIMER_MODE_ABS, HRTIMER_NORESTART, NSEC_PER_USEC,
  Fifo, complete, completion, dma_fence, dma_fence_free, dma_fence_get, dma_fence_init,
  dma_fence_is_signaled_locked, dma_fence_set_error, dma_fence_signal_locked, hrtimer,
  hrtimer_cancel, hrtimer_setup, hrtimer_start, lockdep_assert_held, spin_lock_init,
  spin_lock_irq, spin_lock_irqsave, spin_unlock_irq, spin_unlock_irqrestore,
  wait_queue_head, type Kernel, type dma_fence_ops, type spinlock_t,
} from '@deplab/sim';

export const DRM_MOCK_SCHED_JOB_DONE = 0x1;
export const DRM_MOCK_SCHED_JOB_TIMEDOUT = 0x2;
export const DRM_MOCK_SCHED_JOB_DONT_RESET = 0x4;
export const DRM_MOCK_SCHED_JOB_RESET_SKIPPED = 0x8;

/** The mock GPU: sched->lock, sched->job_list and sched->hw_timeline of the C mock. */
export class mock_gpu {
  readonly kernel: Kernel;
  readonly name: string;
  readonly lock: spinlock_t;
  /** Jobs on the hardware, in submission order. */
  readonly job_list = new Fifo<mock_hw_job>();
  readonly hw_timeline: { context: number; next_seqno: number; cur_seqno: number };
  /** Jobs submitted over the GPU's life, for reports. */
  submitted = 0;
  /** Woken whenever a job reaches the hardware (drm_dep has no scheduled fence to wait on). */
  readonly submit_wait = new wait_queue_head();
  /** deplab only: a job starts executing (set by the driver while tracing; see the file comment). */
  job_started: ((job: mock_hw_job) => void) | null = null;

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.name = name;
    this.lock = spin_lock_init(kernel, '&sched->lock');
    this.hw_timeline = { context: kernel.dma_fence_context_alloc(1), next_seqno: 0, cur_seqno: 0 };
  }
}

/** The hardware side of one mock job (drm_mock_sched_job without its scheduler base). */
export class mock_hw_job {
  readonly gpu: mock_gpu;
  /** The binding's job object that embeds this (container_of). */
  readonly owner: unknown;
  flags = 0;
  duration_us = 0;
  /** Absolute completion time in ns; 0 for a manual job. */
  finish_at = 0;
  readonly hw_fence: dma_fence;
  readonly timer: hrtimer;
  readonly done: completion;
  /** Set when the hardware accepted the job (run_job called); drm_dep has no scheduled fence. */
  submitted_at_ns = -1;

  constructor(gpu: mock_gpu, owner: unknown) {
    this.gpu = gpu;
    this.owner = owner;
    this.hw_fence = new dma_fence(gpu.kernel, 'mock.hw_fence');
    this.hw_fence.owner = this;
    this.timer = hrtimer_setup(gpu.kernel, mock_hw_job_signal_timer, 'drm_mock_sched_job_signal_timer', this);
    this.done = new completion(gpu.kernel);
  }
}

const mock_hw_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'drm_mock_sched',
  get_timeline_name: (fence) => (fence.owner as mock_hw_job).gpu.name,
  release(fence: dma_fence): void {
    const job = fence.owner as mock_hw_job;
    hrtimer_cancel(job.timer);
    dma_fence_free(fence); // the containing job is freed by the KUnit framework
  },
};

/** drm_mock_sched_job_complete: with the lock held. */
function mock_hw_job_complete(job: mock_hw_job): void {
  const gpu = job.gpu;
  lockdep_assert_held(gpu.lock, 'drm_mock_sched_job_complete');
  job.flags |= DRM_MOCK_SCHED_JOB_DONE;
  unlink(gpu, job, true);
  dma_fence_signal_locked(job.hw_fence);
  complete(job.done);
}

/** Take `job` off the timeline; with `start_next`, the job now at the head starts executing. */
function unlink(gpu: mock_gpu, job: mock_hw_job, start_next: boolean): void {
  // Jobs complete in order, so this is nearly always the head, where removal is O(1).
  if (gpu.job_list.at(0) === job) {
    gpu.job_list.shift();
    if (start_next && gpu.job_started !== null && gpu.job_list.length > 0) gpu.job_started(gpu.job_list.at(0)!);
    return;
  }
  gpu.job_list.remove(job);
}

/** drm_mock_sched_job_signal_timer: complete every expired timed job from the head. */
function mock_hw_job_signal_timer(timer: hrtimer): number {
  const gpu = (timer.owner as mock_hw_job).gpu;
  const now = gpu.kernel.ktime_get();
  const flags = spin_lock_irqsave(gpu.lock);
  while (gpu.job_list.length > 0) {
    const job = gpu.job_list.at(0)!;
    if (job.duration_us === 0) break; // a manual job blocks everything behind it
    if (now < job.finish_at) break;
    gpu.hw_timeline.cur_seqno = job.hw_fence.seqno;
    mock_hw_job_complete(job);
  }
  spin_unlock_irqrestore(gpu.lock, flags);
  return HRTIMER_NORESTART;
}

/**
 * The hardware half of mock_sched_run_job: initialise the hw fence on the GPU timeline, take
 * the job_list reference, queue the job behind the last one (a timed job restarts its clock
 * when it follows a manual job) and arm its timer. Returns the hw fence whose initial
 * reference goes to the caller (the scheduler).
 */
export function mock_gpu_submit(gpu: mock_gpu, job: mock_hw_job): dma_fence {
  const k = gpu.kernel;
  dma_fence_init(job.hw_fence, mock_hw_fence_ops, gpu.lock, gpu.hw_timeline.context, ++gpu.hw_timeline.next_seqno);
  dma_fence_get(job.hw_fence); // reference for the job_list
  spin_lock_irq(gpu.lock);
  if (job.duration_us !== 0) {
    let prev_finish_at = 0;
    if (gpu.job_list.length > 0) prev_finish_at = gpu.job_list.at(gpu.job_list.length - 1)!.finish_at;
    if (prev_finish_at === 0) prev_finish_at = k.ktime_get();
    job.finish_at = prev_finish_at + job.duration_us * NSEC_PER_USEC;
  }
  gpu.job_list.push(job);
  if (job.finish_at !== 0) hrtimer_start(job.timer, job.finish_at, HRTIMER_MODE_ABS);
  if (gpu.job_started !== null && gpu.job_list.length === 1) gpu.job_started(job);
  spin_unlock_irq(gpu.lock);
  job.submitted_at_ns = k.now();
  gpu.submitted++;
  k.wake_up(gpu.submit_wait);
  return job.hw_fence;
}

/**
 * drm_mock_sched_advance: move the timeline `num` seqnos past the last completed one and
 * complete every job up to it. Returns how many completed (0 with a WARN on u32 overflow).
 */
export function mock_gpu_advance(gpu: mock_gpu, num: number): number {
  const k = gpu.kernel;
  let found = 0;
  const flags = spin_lock_irqsave(gpu.lock);
  if (!k.WARN_ON_ONCE(gpu.hw_timeline.cur_seqno + num > 0xffffffff, 'drm_mock_sched_advance', 'hw timeline seqno overflow')) {
    gpu.hw_timeline.cur_seqno += num;
    while (gpu.job_list.length > 0) {
      const job = gpu.job_list.at(0)!;
      if (gpu.hw_timeline.cur_seqno < job.hw_fence.seqno) break;
      mock_hw_job_complete(job);
      found++;
    }
  }
  spin_unlock_irqrestore(gpu.lock, flags);
  return found;
}

/**
 * The hardware half of mock_sched_timedout_job. A DONT_RESET job is not hung (RESET_SKIPPED
 * is set, persistently): returns false. Otherwise an unsignalled hw fence is unlinked, marked
 * TIMEDOUT and signalled with -ETIMEDOUT; returns true (the job was reset). The caller drops
 * the job_list reference.
 */
export function mock_gpu_timedout(job: mock_hw_job): boolean {
  const gpu = job.gpu;
  if ((job.flags & DRM_MOCK_SCHED_JOB_DONT_RESET) !== 0) {
    job.flags |= DRM_MOCK_SCHED_JOB_RESET_SKIPPED;
    return false;
  }
  const flags = spin_lock_irqsave(gpu.lock);
  if (!dma_fence_is_signaled_locked(job.hw_fence)) {
    unlink(gpu, job, true);
    job.flags |= DRM_MOCK_SCHED_JOB_TIMEDOUT;
    dma_fence_set_error(job.hw_fence, -ETIMEDOUT);
    dma_fence_signal_locked(job.hw_fence);
  }
  spin_unlock_irqrestore(gpu.lock, flags);
  return true;
}

/** The hardware half of mock_sched_cancel_job: stop the timer, fail an unsignalled job with -ECANCELED. */
export function mock_gpu_cancel(job: mock_hw_job): void {
  const gpu = job.gpu;
  hrtimer_cancel(job.timer);
  const flags = spin_lock_irqsave(gpu.lock);
  if (!dma_fence_is_signaled_locked(job.hw_fence)) {
    unlink(gpu, job, false);
    dma_fence_set_error(job.hw_fence, -ECANCELED);
    dma_fence_signal_locked(job.hw_fence);
  }
  spin_unlock_irqrestore(gpu.lock, flags);
}

export function mock_hw_job_is_finished(job: mock_hw_job): boolean {
  return (job.flags & DRM_MOCK_SCHED_JOB_DONE) !== 0;
}

/**
 * Fault injection (not in the C mock): the job stops making progress, like a hung ring. A job
 * not yet on the hardware becomes manual; one already running loses its completion timer.
 * Either way it now blocks every job behind it until a timeout or advance() handles it.
 */
export function mock_gpu_hang(job: mock_hw_job): void {
  hrtimer_cancel(job.timer);
  job.duration_us = 0;
  job.finish_at = 0;
}
