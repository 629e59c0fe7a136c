/**
 * The mock driver's user-facing operations: the KUnit helper set of sched_tests.h, identical
 * for both bindings, so one KUnit-style scenario runs unchanged on drm_sched (on-sched.ts) or
 * drm_dep (on-dep.ts). Top-level helpers that wait run the simulation forward (the KUnit test
 * thread is the kernel's init context); the *_sleepable variants are for simulated threads
 * (KUnit kthread workers and work items), used with `yield*`.
 */
import type { Kernel, Sleepable, dma_fence } from '@deplab/sim';
import type { JobHwStartTrace } from '@deplab/driver-api';
import type { mock_gpu, mock_hw_job } from './hw.ts';
import type { DriverOptionSchema } from '@deplab/driver-api';

export interface MockSched {
  readonly kernel: Kernel;
  readonly gpu: mock_gpu;
  /** deplab_job_hw_start bookkeeping, set by the harness device while tracing (the binding records each job at arm). */
  hw_start: JobHwStartTrace<mock_hw_job> | null;
}

export interface MockEntity {
  readonly sched: MockSched;
}

export interface MockJob {
  readonly hw: mock_hw_job;
}

export interface MockBackend {
  readonly name: 'drm_sched' | 'drm_dep' | 'drm_dep_hw';
  /**
   * This binding with the driver variant that device options select (device.ts lists them),
   * or null when the options select none.
   */
  configure(options: Readonly<Record<string, number | string | boolean>>): MockBackend | null;
  /** drm_mock_sched_new(test, timeout): timeout in jiffies, MAX_SCHEDULE_TIMEOUT for none. */
  drm_mock_sched_new(k: Kernel, timeout: number): MockSched;
  drm_mock_sched_fini(sched: MockSched): void;
  drm_mock_sched_fini_sleepable(sched: MockSched): Sleepable;
  /** What the tests do with `sched->base.credit_limit = n` (a direct poke upstream). */
  set_credit_limit(sched: MockSched, credit_limit: number): void;
  credit_limit(sched: MockSched): number;
  drm_mock_sched_entity_new(k: Kernel, priority: number, sched: MockSched): MockEntity;
  drm_mock_sched_entity_free(entity: MockEntity): void;
  drm_mock_sched_entity_free_sleepable(entity: MockEntity): Sleepable;
  drm_mock_sched_job_new(k: Kernel, entity: MockEntity): MockJob;
  drm_mock_sched_job_set_duration_us(job: MockJob, duration_us: number): void;
  /** drm_sched_job_add_dependency(&job->base, fence) or its drm_dep equivalent; consumes `fence`. */
  drm_mock_sched_job_add_dependency(job: MockJob, fence: dma_fence): number;
  /** A new reference to the job's finished fence (valid after submit). */
  drm_mock_sched_job_finished_fence(job: MockJob): dma_fence;
  drm_mock_sched_job_submit(job: MockJob): void;
  drm_mock_sched_job_is_finished(job: MockJob): boolean;
  drm_mock_sched_job_wait_finished(job: MockJob, timeout: number): boolean;
  drm_mock_sched_job_wait_finished_sleepable(job: MockJob, timeout: number): Sleepable<boolean>;
  drm_mock_sched_job_wait_scheduled(job: MockJob, timeout: number): boolean;
  drm_mock_sched_advance(sched: MockSched, num: number): number;
  /** drm_sched_entity_set_priority; drm_dep has no priorities between queues (returns false). */
  set_priority(entity: MockEntity, priority: number): boolean;
  /** drm_sched_entity_modify_sched; drm_dep queues are 1:1 with their scheduler (returns false). */
  modify_sched(entity: MockEntity, sched: MockSched): boolean;
  /** Jobs queued in the entity not yet handed to the hardware (spsc_queue_count). */
  queue_depth(entity: MockEntity): number;
}

/** What the mock device accepts (device.ts documents each option), checked by the harness before a run. */
export const MOCK_OPTION_SCHEMA: DriverOptionSchema = {
  device: {
    timeout_ms: { type: 'int', min: 1, max: 3_600_000 },
    credit_limit: { type: 'int', min: 1, max: 1_000_000 },
    dep_flags: { type: 'int', min: 0, max: 3 },
    no_cancel_job: { type: 'bool' },
    tdr: { type: 'enum', values: ['role_model', 'reset_leaves_job', 'stop_no_hang'] },
    unplug_keeps_queues: { type: 'bool' },
    close_as: { type: 'enum', values: ['close', 'exit', 'sigkill', 'exit_sigkill'] },
  },
  queue: {},
  // One serial timeline takes every engine class.
  engines: ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'],
};
