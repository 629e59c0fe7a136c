/**
 * The KUnit mock GPU bound to drm_dep through the HW-queue layer (@deplab/drm-dep-hw): the
 * same hw.ts; the mock "scheduler" becomes one drm_dep_hw_ring (the mock's single hardware
 * timeline) plus the drm_dep device for the unload barrier; each KUnit entity becomes one
 * drm_dep_hw_queue on that ring. What drm_sched's scheduler did for the mock and drm_dep
 * alone does not, the ring does: one credit pool for every queue, priorities (strict levels,
 * FIFO / RR / FAIR within a level), one TDR for the timeline.
 *
 * Differences from on-dep.ts (the conversion onto the layer):
 * - ring init is deferred to the first entity (or fini): the KUnit cases poke
 *   sched->base.credit_limit after drm_mock_sched_new, and a ring's limit is fixed at init;
 * - entity free is drm_dep_hw_queue_kill + drm_dep_queue_put (asynchronous, as on drm_dep);
 * - set_priority works (drm_dep_hw_queue_set_priority); modify_sched still does not exist;
 * - a dependency on a job of another queue of the ring waits until that job reached the
 *   hardware (drm_dep_hw_job_add_dependency), as drm_sched's scheduled fence lets it;
 * - fini: free every queue, cancel what the hardware holds, the drm_dep unload barrier, then
 *   the ring's fini barrier.
 */
import { dma_fence_put, type Kernel, type Sleepable, type dma_fence } from '@deplab/sim';
import {
  DRM_DEP_TIMEDOUT_NO_HANG, DRM_DEP_TIMEDOUT_RESET, drm_dep_device, drm_dep_device_wait_idle,
  drm_dep_job_arm, drm_dep_job_finished_fence, drm_dep_job_put, drm_dep_queue_put,
} from '@deplab/drm-dep';
import {
  DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, drm_dep_hw_job, drm_dep_hw_job_add_dependency, drm_dep_hw_job_init, drm_dep_hw_job_push,
  drm_dep_hw_queue, drm_dep_hw_queue_init, drm_dep_hw_queue_kill, drm_dep_hw_queue_set_priority, drm_dep_hw_ring,
  drm_dep_hw_ring_fini, drm_dep_hw_ring_init, type drm_dep_hw_ring_ops,
} from '@deplab/drm-dep-hw';
import {
  mock_gpu, mock_gpu_advance, mock_gpu_cancel, mock_gpu_submit, mock_gpu_timedout, mock_hw_job, mock_hw_job_is_finished,
} from './hw.ts';
import {
  drm_mock_sched_job_wait_finished_sleepable, drm_mock_sched_job_wait_scheduled_sleepable, pushed_prune, queued, record_armed,
} from './on-dep.ts';
import type { JobHwStartTrace } from '@deplab/driver-api';
import type { MockBackend, MockEntity, MockJob, MockSched } from './uapi.ts';

const U32_MAX = 0xffffffff;

export class drm_mock_dep_hw_scheduler implements MockSched {
  readonly kernel: Kernel;
  readonly gpu: mock_gpu;
  readonly ring: drm_dep_hw_ring;
  readonly dev: drm_dep_device;
  readonly timeout: number;
  readonly flags: number;
  readonly policy: number;
  credit_limit = U32_MAX;
  ring_ready = false;
  hw_start: JobHwStartTrace<mock_hw_job> | null = null;
  readonly queues: drm_mock_dep_hw_queue[] = [];

  constructor(kernel: Kernel, timeout: number, flags: number, policy: number) {
    this.kernel = kernel;
    this.gpu = new mock_gpu(kernel, 'drm-mock-scheduler');
    this.ring = new drm_dep_hw_ring(kernel);
    this.dev = new drm_dep_device(kernel, 'drm-mock-device');
    this.timeout = timeout;
    this.flags = flags;
    this.policy = policy;
  }
}

export class drm_mock_dep_hw_queue extends drm_dep_hw_queue implements MockEntity {
  readonly sched: drm_mock_dep_hw_scheduler;
  /** Jobs pushed and not yet on the hardware (the driver's own count, pruned at each push). */
  readonly pushed: drm_mock_dep_hw_job[] = [];
  freed = false;

  constructor(kernel: Kernel, sched: drm_mock_dep_hw_scheduler) {
    super(kernel);
    this.sched = sched;
  }
}

export class drm_mock_dep_hw_job extends drm_dep_hw_job implements MockJob {
  readonly hw: mock_hw_job;
  readonly queue: drm_mock_dep_hw_queue;

  constructor(kernel: Kernel, queue: drm_mock_dep_hw_queue) {
    super(kernel);
    this.queue = queue;
    this.hw = new mock_hw_job(queue.sched.gpu, this);
  }
}

/** run_job: hand the job to the mock GPU; the hw fence's initial reference goes to the ring. */
function mock_dep_hw_run_job(job: drm_mock_dep_hw_job): dma_fence {
  return mock_gpu_submit(job.queue.sched.gpu, job.hw);
}

/** timedout_job: as on drm_dep; the ring completes the job when its hw fence (-ETIMEDOUT) signals. */
function mock_dep_hw_timedout_job(job: drm_mock_dep_hw_job): number {
  return mock_gpu_timedout(job.hw) ? DRM_DEP_TIMEDOUT_RESET : DRM_DEP_TIMEDOUT_NO_HANG;
}

/** release_job: drop the job_list reference of a job that reached the hardware. */
function mock_dep_hw_release_job(job: drm_mock_dep_hw_job): void {
  if (job.hw.submitted_at_ns >= 0) dma_fence_put(job.hw.hw_fence);
}

const mock_dep_hw_ops: drm_dep_hw_ring_ops<drm_mock_dep_hw_job, drm_mock_dep_hw_queue> = {
  run_job: mock_dep_hw_run_job,
  timedout_job: mock_dep_hw_timedout_job as drm_dep_hw_ring_ops<drm_mock_dep_hw_job, drm_mock_dep_hw_queue>['timedout_job'],
  release_job: mock_dep_hw_release_job,
};

export function drm_mock_sched_new(k: Kernel, timeout: number, flags = 0, policy = DRM_DEP_HW_POLICY_FIFO): drm_mock_dep_hw_scheduler {
  return new drm_mock_dep_hw_scheduler(k, timeout, flags, policy);
}

/** The ring, initialised with the credit limit the case set by now. */
function mock_ring(sched: drm_mock_dep_hw_scheduler): drm_dep_hw_ring {
  if (sched.ring_ready) return sched.ring;
  const ret = drm_dep_hw_ring_init(sched.ring, {
    ops: mock_dep_hw_ops, name: 'drm-mock-scheduler', credit_limit: sched.credit_limit,
    timeout: sched.timeout, policy: sched.policy,
  });
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_dep_hw_ring_init returned ${ret}`);
  sched.ring_ready = true;
  return sched.ring;
}

export function drm_mock_sched_entity_new(k: Kernel, priority: number, sched: drm_mock_dep_hw_scheduler): drm_mock_dep_hw_queue {
  const q = new drm_mock_dep_hw_queue(k, sched);
  const ret = drm_dep_hw_queue_init(q, mock_ring(sched), {
    name: `drm-mock-queue-${sched.queues.length}`, priority, flags: sched.flags, dev: sched.dev,
  });
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_dep_hw_queue_init returned ${ret}`);
  sched.queues.push(q);
  return q;
}

/** Entity free becomes kill + put: asynchronous teardown, returns at once. */
export function drm_mock_sched_entity_free(q: drm_mock_dep_hw_queue): void {
  if (q.freed) return;
  q.freed = true;
  drm_dep_hw_queue_kill(q);
  drm_dep_queue_put(q);
}

/**
 * Device teardown: queues the case forgot are freed, whatever the hardware still holds is
 * cancelled (-ECANCELED, as the drm_sched mock's cancel_job does), then the drm_dep unload
 * barrier and the ring's fini barrier.
 */
export function* drm_mock_sched_fini_sleepable(sched: drm_mock_dep_hw_scheduler): Sleepable {
  for (const q of sched.queues) drm_mock_sched_entity_free(q);
  for (const hw of sched.gpu.job_list.to_array()) mock_gpu_cancel(hw);
  yield* drm_dep_device_wait_idle(sched.dev);
  yield* drm_dep_hw_ring_fini(mock_ring(sched));
}

export function drm_mock_sched_job_new(k: Kernel, q: drm_mock_dep_hw_queue): drm_mock_dep_hw_job {
  const job = new drm_mock_dep_hw_job(k, q);
  const ret = drm_dep_hw_job_init(job, q, 1, 1);
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_dep_hw_job_init returned ${ret}`);
  return job;
}

/**
 * arm + push; the driver drops its own reference at once (the queue holds one while it runs).
 * Between the two the job's finished fence is recorded for deplab_job_hw_start.
 */
export function drm_mock_sched_job_submit(job: drm_mock_dep_hw_job): void {
  pushed_prune(job.queue);
  job.queue.pushed.push(job);
  drm_dep_job_arm(job);
  record_armed(job.queue.sched.hw_start, job, job.hw);
  drm_dep_hw_job_push(job);
  drm_dep_job_put(job);
}

/**
 * The mock on drm_dep + the HW-queue layer as a MockBackend: `policy` is the ring's
 * (DRM_DEP_HW_POLICY_*, FIFO by default), `flags` the DRM_DEP_QUEUE_FLAGS_* of every queue.
 */
export function mock_dep_hw_backend(policy = DRM_DEP_HW_POLICY_FIFO, flags = 0): MockBackend {
  return {
    name: 'drm_dep_hw',
    configure: (o) => {
      const p = o.hw_policy;
      if (p !== undefined && p !== 'fifo' && p !== 'rr' && p !== 'fair') throw new RangeError(`mock: hw_policy must be fifo, rr or fair, got ${String(p)}`);
      if (p === undefined && typeof o.dep_flags !== 'number') return null;
      const chosen = p === undefined ? policy : p === 'fifo' ? DRM_DEP_HW_POLICY_FIFO : p === 'fair' ? DRM_DEP_HW_POLICY_FAIR : 0;
      return mock_dep_hw_backend(chosen, typeof o.dep_flags === 'number' ? o.dep_flags : flags);
    },
    drm_mock_sched_new: (k, timeout) => drm_mock_sched_new(k, timeout, flags, policy),
    drm_mock_sched_fini: (s) => s.kernel.run_task(drm_mock_sched_fini_sleepable(s as drm_mock_dep_hw_scheduler)),
    drm_mock_sched_fini_sleepable: (s) => drm_mock_sched_fini_sleepable(s as drm_mock_dep_hw_scheduler),
    set_credit_limit: (s, n) => {
      const sched = s as drm_mock_dep_hw_scheduler;
      if (sched.ring_ready) throw new Error('mock on drm_dep_hw: credit_limit set after the ring was initialised (the first entity fixes it)');
      sched.credit_limit = n;
    },
    credit_limit: (s) => (s as drm_mock_dep_hw_scheduler).credit_limit,
    drm_mock_sched_entity_new: (k, prio, s) => drm_mock_sched_entity_new(k, prio, s as drm_mock_dep_hw_scheduler),
    drm_mock_sched_entity_free: (e) => drm_mock_sched_entity_free(e as drm_mock_dep_hw_queue),
    drm_mock_sched_entity_free_sleepable: function* (e): Sleepable { drm_mock_sched_entity_free(e as drm_mock_dep_hw_queue); },
    drm_mock_sched_job_new: (k, e) => drm_mock_sched_job_new(k, e as drm_mock_dep_hw_queue),
    drm_mock_sched_job_set_duration_us: (j, us) => { j.hw.duration_us = us; },
    drm_mock_sched_job_add_dependency: (j, f) => drm_dep_hw_job_add_dependency(j as drm_mock_dep_hw_job, f),
    drm_mock_sched_job_finished_fence: (j) => drm_dep_job_finished_fence(j as drm_mock_dep_hw_job)!,
    drm_mock_sched_job_submit: (j) => drm_mock_sched_job_submit(j as drm_mock_dep_hw_job),
    drm_mock_sched_job_is_finished: (j) => mock_hw_job_is_finished(j.hw),
    drm_mock_sched_job_wait_finished: (j, t) => j.hw.gpu.kernel.run_task(drm_mock_sched_job_wait_finished_sleepable(j, t)),
    drm_mock_sched_job_wait_finished_sleepable: drm_mock_sched_job_wait_finished_sleepable,
    drm_mock_sched_job_wait_scheduled: (j, t) => j.hw.gpu.kernel.run_task(drm_mock_sched_job_wait_scheduled_sleepable(j, t)),
    drm_mock_sched_advance: (s, n) => mock_gpu_advance(s.gpu, n),
    set_priority: (e, p) => drm_dep_hw_queue_set_priority(e as drm_mock_dep_hw_queue, p) === 0,
    modify_sched: () => false,
    queue_depth: (e) => queued(e as drm_mock_dep_hw_queue),
  };
}
