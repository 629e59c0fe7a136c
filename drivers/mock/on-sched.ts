/**
 * The KUnit mock GPU bound to drm_sched, as upstream writes it
 * (drivers/gpu/drm/scheduler/tests/mock_scheduler.c and sched_tests.h): one scheduler with
 * num_rqs = DRM_SCHED_PRIORITY_COUNT, credit_limit U32_MAX, hang_limit 1, an owned ordered
 * submit workqueue and system_percpu_wq for the TDR; entities on that scheduler; jobs of one
 * credit whose hardware half lives in hw.ts.
 */
import {
  dma_fence_get, dma_fence_put, dma_fence_wait_timeout,
  wait_for_completion_timeout, type Kernel, type Sleepable, type dma_fence,
} from '@deplab/sim';
import {
  DRM_GPU_SCHED_STAT_NO_HANG, DRM_GPU_SCHED_STAT_RESET, DRM_SCHED_PRIORITY_COUNT,
  drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_destroy, drm_sched_entity_init,
  drm_sched_entity_modify_sched, drm_sched_entity_push_job, drm_sched_entity_set_priority,
  drm_sched_fini, drm_sched_init, drm_sched_job, drm_sched_job_add_dependency, drm_sched_job_arm,
  drm_sched_job_cleanup, drm_sched_job_init, drm_sched_start, drm_sched_stop,
  type drm_gpu_sched_stat, type drm_sched_backend_ops,
} from '@deplab/drm-sched';
import {
  DRM_MOCK_SCHED_JOB_DONE, mock_gpu, mock_gpu_advance, mock_gpu_cancel, mock_gpu_submit,
  mock_gpu_timedout, mock_hw_job, mock_hw_job_is_finished,
} from './hw.ts';
import type { JobHwStartTrace } from '@deplab/driver-api';
import type { MockBackend, MockEntity, MockJob, MockSched } from './uapi.ts';

const U32_MAX = 0xffffffff;

/**
 * Driver shapes the legacy scheduler allows but mishandles, for exploration campaigns
 * (docs/legacy-hazards.md, numbered as there). None is the KUnit mock's own behaviour:
 * - no_cancel_job: the ops lack cancel_job, like every driver before bf8bbaefaa6a (hazard 1);
 * - tdr 'reset_leaves_job': timedout_job resets the hardware and returns RESET without
 *   disposing of the job, as if the scheduler still owned it (hazards 3, 4);
 * - tdr 'stop_no_hang': timedout_job resets the job, calls drm_sched_stop/start and returns
 *   NO_HANG, the documented misuse that re-inserts a job the TDR frees (free_guilty, hazard 4).
 */
export interface MockSchedVariant {
  readonly no_cancel_job?: boolean;
  readonly tdr?: 'role_model' | 'reset_leaves_job' | 'stop_no_hang';
}

export class drm_mock_scheduler implements MockSched {
  readonly kernel: Kernel;
  readonly base: drm_gpu_scheduler;
  readonly gpu: mock_gpu;
  hw_start: JobHwStartTrace<mock_hw_job> | null = null;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.base = new drm_gpu_scheduler(kernel);
    this.base.owner = this;
    this.gpu = new mock_gpu(kernel, 'drm-mock-scheduler');
  }
}

export class drm_mock_sched_entity implements MockEntity {
  readonly base: drm_sched_entity;
  readonly sched: drm_mock_scheduler;
  /**
   * Jobs pushed and not yet handed to run_job, counted by the driver. Upstream's KUnit reads
   * spsc_queue_count(&entity->base.job_queue), a scheduler internal; the model keeps its own.
   */
  queued = 0;

  constructor(kernel: Kernel, sched: drm_mock_scheduler) {
    this.base = new drm_sched_entity(kernel);
    this.sched = sched;
  }
}

export class drm_mock_sched_job extends drm_sched_job implements MockJob {
  readonly hw: mock_hw_job;
  readonly mock_entity: drm_mock_sched_entity;

  constructor(kernel: Kernel, entity: drm_mock_sched_entity) {
    super(kernel);
    this.hw = new mock_hw_job(entity.sched.gpu, this);
    this.mock_entity = entity;
  }
}

function to_mock_sched(sched: drm_gpu_scheduler): drm_mock_scheduler {
  return sched.owner as drm_mock_scheduler;
}

function to_mock_job(job: drm_sched_job): drm_mock_sched_job {
  return job as unknown as drm_mock_sched_job;
}

/** mock_sched_run_job: hand the job to the mock GPU; the hw fence reference goes to the scheduler. */
function mock_sched_run_job(sched_job: drm_sched_job): dma_fence {
  const sched = to_mock_sched(sched_job.sched!);
  const job = to_mock_job(sched_job);
  job.mock_entity.queued--;
  return mock_gpu_submit(sched.gpu, job.hw);
}

/**
 * mock_sched_timedout_job: a DONT_RESET job reports NO_HANG; otherwise the hung job's hw fence
 * is signalled with -ETIMEDOUT and the driver disposes of the job itself (no drm_sched_stop),
 * the "better role model" for RESET of the series "drm/sched/tests: Make timedout_job callback
 * a better role model".
 */
function mock_sched_timedout_job(sched_job: drm_sched_job): number {
  const job = to_mock_job(sched_job);
  if (!mock_gpu_timedout(job.hw)) return DRM_GPU_SCHED_STAT_NO_HANG;
  dma_fence_put(job.hw.hw_fence); // the job_list reference
  drm_sched_job_cleanup(sched_job);
  return DRM_GPU_SCHED_STAT_RESET;
}

/** mock_sched_free_job: drop the job_list reference and clean up; KUnit frees the memory. */
function mock_sched_free_job(sched_job: drm_sched_job): void {
  const job = to_mock_job(sched_job);
  if (job.hw.submitted_at_ns < 0) job.mock_entity.queued--; // killed before run_job
  dma_fence_put(job.hw.hw_fence);
  drm_sched_job_cleanup(sched_job);
}

/** mock_sched_cancel_job: fail the hw fence with -ECANCELED; drm_sched calls free_job after. */
function mock_sched_cancel_job(sched_job: drm_sched_job): void {
  mock_gpu_cancel(to_mock_job(sched_job).hw);
}

/** Variant 'reset_leaves_job': the hardware is reset, the job is left to nobody (it leaks). */
function mock_sched_timedout_reset_leaves_job(sched_job: drm_sched_job): number {
  mock_gpu_timedout(to_mock_job(sched_job).hw);
  return DRM_GPU_SCHED_STAT_RESET;
}

/** Variant 'stop_no_hang': reset the job, stop and restart the scheduler, report NO_HANG (misuse). */
function* mock_sched_timedout_stop_no_hang(sched_job: drm_sched_job): Sleepable<drm_gpu_sched_stat> {
  const sched = to_mock_sched(sched_job.sched!);
  mock_gpu_timedout(to_mock_job(sched_job).hw);
  yield* drm_sched_stop(sched.base, sched_job);
  drm_sched_start(sched.base, 0);
  return DRM_GPU_SCHED_STAT_NO_HANG;
}

const drm_mock_scheduler_ops: drm_sched_backend_ops = {
  run_job: mock_sched_run_job,
  timedout_job: mock_sched_timedout_job,
  free_job: mock_sched_free_job,
  cancel_job: mock_sched_cancel_job,
};

function mock_sched_ops(variant: MockSchedVariant): drm_sched_backend_ops {
  if (variant.no_cancel_job !== true && (variant.tdr ?? 'role_model') === 'role_model') return drm_mock_scheduler_ops;
  const ops: drm_sched_backend_ops = { ...drm_mock_scheduler_ops };
  if (variant.no_cancel_job === true) delete ops.cancel_job;
  if (variant.tdr === 'reset_leaves_job') ops.timedout_job = mock_sched_timedout_reset_leaves_job;
  if (variant.tdr === 'stop_no_hang') ops.timedout_job = mock_sched_timedout_stop_no_hang;
  return ops;
}

/** drm_mock_sched_new(test, timeout). Throws (KUNIT_ASSERT) if drm_sched_init fails. */
export function drm_mock_sched_new(k: Kernel, timeout: number, sched_policy?: number, variant: MockSchedVariant = {}): drm_mock_scheduler {
  const sched = new drm_mock_scheduler(k);
  const ret = drm_sched_init(sched.base, {
    ops: mock_sched_ops(variant),
    submit_wq: null,
    timeout_wq: null,
    num_rqs: DRM_SCHED_PRIORITY_COUNT,
    credit_limit: U32_MAX,
    hang_limit: 1,
    timeout,
    score: null, // upstream's mock passes none: the scheduler counts in its own _score
    name: 'drm-mock-scheduler',
    dev: null,
    sched_policy,
  });
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_sched_init returned ${ret}`);
  return sched;
}

export function* drm_mock_sched_fini_sleepable(sched: drm_mock_scheduler): Sleepable {
  yield* drm_sched_fini(sched.base);
}

export function drm_mock_sched_entity_new(k: Kernel, priority: number, sched: drm_mock_scheduler): drm_mock_sched_entity {
  const entity = new drm_mock_sched_entity(k, sched);
  const ret = drm_sched_entity_init(entity.base, priority, [sched.base], 1, null);
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_sched_entity_init returned ${ret}`);
  return entity;
}

/** drm_mock_sched_entity_free = drm_sched_entity_destroy: waits until the queue drained to the HW. */
export function* drm_mock_sched_entity_free_sleepable(entity: drm_mock_sched_entity): Sleepable {
  yield* drm_sched_entity_destroy(entity.base);
}

export function drm_mock_sched_job_new(k: Kernel, entity: drm_mock_sched_entity): drm_mock_sched_job {
  const job = new drm_mock_sched_job(k, entity);
  const ret = drm_sched_job_init(job, entity.base, 1, null, 1);
  if (ret !== 0) throw new Error(`KUNIT_ASSERT_EQ: drm_sched_job_init returned ${ret}`);
  return job;
}

/** drm_mock_sched_job_submit = arm + push. */
export function drm_mock_sched_job_submit(job: drm_mock_sched_job): void {
  drm_sched_job_arm(job);
  job.mock_entity.sched.hw_start?.armed(job.hw, job.s_fence!.finished);
  job.mock_entity.queued++;
  drm_sched_entity_push_job(job);
}

export function* drm_mock_sched_job_wait_finished_sleepable(job: drm_mock_sched_job, timeout: number): Sleepable<boolean> {
  if ((job.hw.flags & DRM_MOCK_SCHED_JOB_DONE) !== 0) return true;
  return (yield* wait_for_completion_timeout(job.hw.done, timeout)) !== 0;
}

/** drm_mock_sched_job_wait_scheduled: asserts the job is not DONE, then waits on the scheduled fence. */
export function* drm_mock_sched_job_wait_scheduled_sleepable(job: drm_mock_sched_job, timeout: number): Sleepable<boolean> {
  if ((job.hw.flags & DRM_MOCK_SCHED_JOB_DONE) !== 0) {
    throw new Error('KUNIT_ASSERT_FALSE: job already DONE in drm_mock_sched_job_wait_scheduled');
  }
  return (yield* dma_fence_wait_timeout(job.s_fence!.scheduled, false, timeout)) !== 0;
}

/**
 * The mock on drm_sched as a MockBackend; `sched_policy` is drm_sched's policy (default FIFO),
 * `variant` a driver shape for exploration (MockSchedVariant).
 */
export function mock_sched_backend(sched_policy?: number, variant: MockSchedVariant = {}): MockBackend {
  return {
  name: 'drm_sched',
  configure: (o) => {
    const tdr = o.tdr;
    if (tdr !== undefined && tdr !== 'role_model' && tdr !== 'reset_leaves_job' && tdr !== 'stop_no_hang') throw new RangeError(`mock: unknown tdr variant ${String(tdr)}`);
    return o.no_cancel_job === undefined && tdr === undefined ? null
      : mock_sched_backend(sched_policy, { ...variant, no_cancel_job: o.no_cancel_job === true, tdr });
  },
  drm_mock_sched_new: (k, timeout) => drm_mock_sched_new(k, timeout, sched_policy, variant),
  drm_mock_sched_fini: (s) => s.kernel.run_task(drm_mock_sched_fini_sleepable(s as drm_mock_scheduler)),
  drm_mock_sched_fini_sleepable: (s) => drm_mock_sched_fini_sleepable(s as drm_mock_scheduler),
  set_credit_limit: (s, n) => { (s as drm_mock_scheduler).base.credit_limit = n; },
  credit_limit: (s) => (s as drm_mock_scheduler).base.credit_limit,
  drm_mock_sched_entity_new: (k, prio, s) => drm_mock_sched_entity_new(k, prio, s as drm_mock_scheduler),
  drm_mock_sched_entity_free: (e) => e.sched.kernel.run_task(drm_mock_sched_entity_free_sleepable(e as drm_mock_sched_entity)),
  drm_mock_sched_entity_free_sleepable: (e) => drm_mock_sched_entity_free_sleepable(e as drm_mock_sched_entity),
  drm_mock_sched_job_new: (k, e) => drm_mock_sched_job_new(k, e as drm_mock_sched_entity),
  drm_mock_sched_job_set_duration_us: (j, us) => { j.hw.duration_us = us; },
  drm_mock_sched_job_add_dependency: (j, f) => drm_sched_job_add_dependency(j as drm_mock_sched_job, f),
  drm_mock_sched_job_finished_fence: (j) => dma_fence_get((j as drm_mock_sched_job).s_fence!.finished),
  drm_mock_sched_job_submit: (j) => drm_mock_sched_job_submit(j as drm_mock_sched_job),
  drm_mock_sched_job_is_finished: (j) => mock_hw_job_is_finished(j.hw),
  drm_mock_sched_job_wait_finished: (j, t) => j.hw.gpu.kernel.run_task(drm_mock_sched_job_wait_finished_sleepable(j as drm_mock_sched_job, t)),
  drm_mock_sched_job_wait_finished_sleepable: (j, t) => drm_mock_sched_job_wait_finished_sleepable(j as drm_mock_sched_job, t),
  drm_mock_sched_job_wait_scheduled: (j, t) => j.hw.gpu.kernel.run_task(drm_mock_sched_job_wait_scheduled_sleepable(j as drm_mock_sched_job, t)),
  drm_mock_sched_advance: (s, n) => mock_gpu_advance(s.gpu, n),
  set_priority: (e, p) => { drm_sched_entity_set_priority((e as drm_mock_sched_entity).base, p); return true; },
  modify_sched: (e, s) => { drm_sched_entity_modify_sched((e as drm_mock_sched_entity).base, [(s as drm_mock_scheduler).base], 1); return true; },
  queue_depth: (e) => (e as drm_mock_sched_entity).queued,
  };
}
