/**
 * The KUnit mock GPU bound to drm_dep: the same hw.ts, one drm_dep_queue per KUnit "entity",
 * all on the shared mock hardware timeline. The "scheduler" of the helper set becomes what a
 * firmware-scheduled driver has: a device (the drm_dep unload barrier), the hardware, and the
 * defaults its queues are created with (timeout, credit limit, queue flags).
 *
 * Differences the conversion brings (docs/behaviour-differences.md):
 * - credit_limit is per queue: two entities on one mock scheduler share one credit pool on
 *   drm_sched, two queues each have their own on drm_dep;
 * - entity free is drm_dep_queue_kill + drm_dep_queue_put: it returns at once, unstarted jobs
 *   complete with DRM_DEP_KILLED_JOB_ERROR, started ones are left to the hardware;
 * - there is no scheduled fence: wait_scheduled waits until the job reached the hardware;
 * - priorities and modify_sched do not exist (the firmware schedules);
 * - the timed-out job is not freed by the driver: drm_dep keeps it pending until its hardware
 *   fence (signalled with -ETIMEDOUT) completes it.
 */
import {
  dma_fence_put, wait_event_timeout, wait_for_completion_timeout,
  type Kernel, type Sleepable, type dma_fence,
} from '@deplab/sim';
import {
  DRM_DEP_TIMEDOUT_NO_HANG, DRM_DEP_TIMEDOUT_RESET, drm_dep_device, drm_dep_device_wait_idle, drm_dep_job,
  drm_dep_job_add_dependency, drm_dep_job_arm, drm_dep_job_finished_fence, drm_dep_job_init, drm_dep_job_push,
  drm_dep_job_put, drm_dep_queue, drm_dep_queue_init, drm_dep_queue_kill, drm_dep_queue_put, type drm_dep_queue_ops,
} from '@deplab/drm-dep';
import {
  DRM_MOCK_SCHED_JOB_DONE, mock_gpu, mock_gpu_advance, mock_gpu_cancel, mock_gpu_submit, mock_gpu_timedout,
  mock_hw_job, mock_hw_job_is_finished,
} from './hw.ts';
import type { JobHwStartTrace } from '@deplab/driver-api';
import type { MockBackend, MockEntity, MockJob, MockSched } from './uapi.ts';

const U32_MAX = 0xffffffff;

export class drm_mock_dep_scheduler implements MockSched {
  readonly kernel: Kernel;
  readonly gpu: mock_gpu;
  readonly dev: drm_dep_device;
  readonly timeout: number;
  readonly flags: number;
  credit_limit = U32_MAX;
  readonly queues: drm_mock_dep_queue[] = [];
  hw_start: JobHwStartTrace<mock_hw_job> | null = null;

  constructor(kernel: Kernel, timeout: number, flags: number) {
    this.kernel = kernel;
    this.gpu = new mock_gpu(kernel, 'drm-mock-scheduler');
    this.dev = new drm_dep_device(kernel, 'drm-mock-device');
    this.timeout = timeout;
    this.flags = flags;
  }
}

export class drm_mock_dep_queue extends drm_dep_queue implements MockEntity {
  readonly sched: drm_mock_dep_scheduler;
  /**
   * Jobs pushed and not yet handed to the hardware (the driver's own count). Jobs that reached
   * the hardware or finished are dropped from the head at the next push, so it stays bounded.
   */
  readonly pushed: drm_mock_dep_job[] = [];
  freed = false;

  constructor(kernel: Kernel, sched: drm_mock_dep_scheduler) {
    super(kernel);
    this.sched = sched;
  }
}

export class drm_mock_dep_job extends drm_dep_job implements MockJob {
  readonly hw: mock_hw_job;
  readonly queue: drm_mock_dep_queue;

  constructor(kernel: Kernel, queue: drm_mock_dep_queue) {
    super(kernel);
    this.queue = queue;
    this.hw = new mock_hw_job(queue.sched.gpu, this);
  }
}

/** run_job: hand the job to the mock GPU; the hw fence's initial reference goes to drm_dep. */
function mock_dep_run_job(job: drm_mock_dep_job): dma_fence {
  return mock_gpu_submit(job.queue.sched.gpu, job.hw);
}

/** timedout_job: as the drm_sched mock, but the job stays drm_dep's to complete and free. */
function mock_dep_timedout_job(job: drm_mock_dep_job): number {
  return mock_gpu_timedout(job.hw) ? DRM_DEP_TIMEDOUT_RESET : DRM_DEP_TIMEDOUT_NO_HANG;
}

/** release_job: drop the job_list reference of a job that reached the hardware. */
function mock_dep_release_job(job: drm_mock_dep_job): void {
  if (job.hw.submitted_at_ns >= 0) dma_fence_put(job.hw.hw_fence);
}

const mock_dep_ops: drm_dep_queue_ops<drm_mock_dep_job, drm_mock_dep_queue> = {
  run_job: mock_dep_run_job,
  timedout_job: mock_dep_timedout_job as drm_dep_queue_ops<drm_mock_dep_job, drm_mock_dep_queue>['timedout_job'],
  release_job: mock_dep_release_job,
};

export function drm_mock_sched_new(k: Kernel, timeout: number, flags = 0): drm_mock_dep_scheduler {
  return new drm_mock_dep_scheduler(k, timeout, flags);
}

export function drm_mock_sched_entity_new(k: Kernel, _priority: number, sched: drm_mock_dep_scheduler): drm_mock_dep_queue {
  const q = new drm_mock_dep_queue(k, sched);
  const ret = drm_dep_queue_init(q, {
    ops: mock_dep_ops, name: `drm-mock-queue-${sched.queues.length}`, flags: sched.flags,
    credit_limit: sched.credit_limit, timeout: sched.timeout, dev: sched.dev,
  });
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_dep_queue_init returned ${ret}`);
  sched.queues.push(q);
  return q;
}

/** Entity free becomes kill + put: asynchronous teardown, returns at once. */
export function drm_mock_sched_entity_free(q: drm_mock_dep_queue): void {
  if (q.freed) return;
  q.freed = true;
  drm_dep_queue_kill(q);
  drm_dep_queue_put(q);
}

/**
 * Device teardown: whatever the hardware still holds is cancelled (-ECANCELED, as the
 * drm_sched mock's cancel_job does), queues the test forgot are killed, then the drm_dep
 * unload barrier waits until every queue is released.
 */
export function* drm_mock_sched_fini_sleepable(sched: drm_mock_dep_scheduler): Sleepable {
  for (const q of sched.queues) drm_mock_sched_entity_free(q);
  for (const hw of sched.gpu.job_list.to_array()) mock_gpu_cancel(hw);
  yield* drm_dep_device_wait_idle(sched.dev);
}

export function drm_mock_sched_job_new(k: Kernel, q: drm_mock_dep_queue): drm_mock_dep_job {
  const job = new drm_mock_dep_job(k, q);
  const ret = drm_dep_job_init(job, q, 1, 1);
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_dep_job_init returned ${ret}`);
  return job;
}

/** deplab_job_hw_start: an armed job's finished fence, recorded before the push can run it. */
export function record_armed(hw_start: JobHwStartTrace<mock_hw_job> | null, job: drm_dep_job, hw: mock_hw_job): void {
  if (hw_start === null) return;
  const finished = drm_dep_job_finished_fence(job)!;
  hw_start.armed(hw, finished);
  dma_fence_put(finished);
}

/** arm + push; the driver drops its own reference at once (the queue holds one while it runs). */
export function drm_mock_sched_job_submit(job: drm_mock_dep_job): void {
  drm_dep_job_arm(job);
  record_armed(job.queue.sched.hw_start, job, job.hw);
  pushed_prune(job.queue);
  job.queue.pushed.push(job);
  drm_dep_job_push(job);
  drm_dep_job_put(job);
}

export function* drm_mock_sched_job_wait_finished_sleepable(job: MockJob, timeout: number): Sleepable<boolean> {
  if ((job.hw.flags & DRM_MOCK_SCHED_JOB_DONE) !== 0) return true;
  return (yield* wait_for_completion_timeout(job.hw.done, timeout)) !== 0;
}

/** No scheduled fence on drm_dep: wait until the job reached the hardware. */
export function* drm_mock_sched_job_wait_scheduled_sleepable(job: MockJob, timeout: number): Sleepable<boolean> {
  if ((job.hw.flags & DRM_MOCK_SCHED_JOB_DONE) !== 0) {
    throw new Error('KUNIT_ASSERT_FALSE: job already DONE in drm_mock_sched_job_wait_scheduled');
  }
  const gpu = job.hw.gpu;
  return (yield* wait_event_timeout(gpu.kernel, gpu.submit_wait, () => job.hw.submitted_at_ns >= 0, timeout)) !== 0;
}

/** The driver's own list of pushed jobs (drm_dep has no entity queue count to read). */
export interface PushedJobs {
  readonly pushed: MockJob[];
}

/** Drop the head jobs of `pushed` that queued() would not count any more. */
export function pushed_prune(q: PushedJobs): void {
  let n = 0;
  while (n < q.pushed.length && (q.pushed[n].hw.submitted_at_ns >= 0 || mock_hw_job_is_finished(q.pushed[n].hw))) n++;
  if (n > 0) q.pushed.splice(0, n);
}

/** Jobs pushed and not yet on the hardware nor finished. */
export function queued(q: PushedJobs): number {
  let n = 0;
  for (const j of q.pushed) if (j.hw.submitted_at_ns < 0 && !mock_hw_job_is_finished(j.hw)) n++;
  return n;
}

/** The mock on drm_dep as a MockBackend; `flags` are the DRM_DEP_QUEUE_FLAGS_* of every queue. */
export function mock_dep_backend(flags = 0): MockBackend {
  return {
    name: 'drm_dep',
    configure: (o) => (typeof o.dep_flags === 'number' ? mock_dep_backend(o.dep_flags) : null),
    drm_mock_sched_new: (k, timeout) => drm_mock_sched_new(k, timeout, flags),
    drm_mock_sched_fini: (s) => s.kernel.run_task(drm_mock_sched_fini_sleepable(s as drm_mock_dep_scheduler)),
    drm_mock_sched_fini_sleepable: (s) => drm_mock_sched_fini_sleepable(s as drm_mock_dep_scheduler),
    set_credit_limit: (s, n) => { (s as drm_mock_dep_scheduler).credit_limit = n; },
    credit_limit: (s) => (s as drm_mock_dep_scheduler).credit_limit,
    drm_mock_sched_entity_new: (k, prio, s) => drm_mock_sched_entity_new(k, prio, s as drm_mock_dep_scheduler),
    drm_mock_sched_entity_free: (e) => drm_mock_sched_entity_free(e as drm_mock_dep_queue),
    drm_mock_sched_entity_free_sleepable: function* (e): Sleepable { drm_mock_sched_entity_free(e as drm_mock_dep_queue); },
    drm_mock_sched_job_new: (k, e) => drm_mock_sched_job_new(k, e as drm_mock_dep_queue),
    drm_mock_sched_job_set_duration_us: (j, us) => { j.hw.duration_us = us; },
    drm_mock_sched_job_add_dependency: (j, f) => drm_dep_job_add_dependency(j as drm_mock_dep_job, f),
    drm_mock_sched_job_finished_fence: (j) => drm_dep_job_finished_fence(j as drm_mock_dep_job)!,
    drm_mock_sched_job_submit: (j) => drm_mock_sched_job_submit(j as drm_mock_dep_job),
    drm_mock_sched_job_is_finished: (j) => mock_hw_job_is_finished(j.hw),
    drm_mock_sched_job_wait_finished: (j, t) => j.hw.gpu.kernel.run_task(drm_mock_sched_job_wait_finished_sleepable(j, t)),
    drm_mock_sched_job_wait_finished_sleepable: drm_mock_sched_job_wait_finished_sleepable,
    drm_mock_sched_job_wait_scheduled: (j, t) => j.hw.gpu.kernel.run_task(drm_mock_sched_job_wait_scheduled_sleepable(j, t)),
    drm_mock_sched_advance: (s, n) => mock_gpu_advance(s.gpu, n),
    set_priority: () => false,
    modify_sched: () => false,
    queue_depth: (e) => queued(e as drm_mock_dep_queue),
  };
}
