/**
 * @deplab/drm-sched: a model of the legacy DRM GPU scheduler (drivers/gpu/drm/scheduler,
 * include/drm/gpu_scheduler.h), post-revert 7.2-rc7 state. This file is the public API: the
 * kernel's exported symbols and the header's structures, constants and inline helpers, with
 * kernel names and argument order. Sleeping functions are generators (`yield*` them).
 *
 * Deliberate deviations (see each doc comment and docs/assumptions.md): `sched_policy` is a
 * per-scheduler init argument instead of a module parameter; `timedout_job` may return a
 * generator; MAX_WAIT_SCHED_ENTITY_Q_EMPTY is a function of the kernel (its HZ).
 */
export {
  DRM_GPU_SCHED_STAT_ENODEV, DRM_GPU_SCHED_STAT_NONE, DRM_GPU_SCHED_STAT_NO_HANG, DRM_GPU_SCHED_STAT_RESET,
  DRM_SCHED_FENCE_DONT_PIPELINE, DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT, DRM_SCHED_POLICY_DEFAULT,
  DRM_SCHED_POLICY_FAIR, DRM_SCHED_POLICY_FIFO, DRM_SCHED_POLICY_RR, DRM_SCHED_PRIORITY_COUNT,
  DRM_SCHED_PRIORITY_HIGH, DRM_SCHED_PRIORITY_INVALID, DRM_SCHED_PRIORITY_KERNEL, DRM_SCHED_PRIORITY_LOW,
  DRM_SCHED_PRIORITY_NORMAL, MAX_WAIT_SCHED_ENTITY_Q_EMPTY, MAX_WAIT_SCHED_ENTITY_Q_EMPTY_MS,
  atomic_dec, atomic_inc, atomic_read, atomic_set, atomic_t,
  drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_stats, drm_sched_fence, drm_sched_job, drm_sched_rq,
  type drm_gpu_sched_stat, type drm_sched_backend_ops, type drm_sched_init_args, type drm_sched_priority,
} from './gpu_scheduler.ts';
export { spsc_queue_count, type spsc_queue } from './sched_internal.ts';
export { to_drm_sched_fence } from './sched_fence.ts';
export {
  drm_sched_entity_destroy, drm_sched_entity_error, drm_sched_entity_fini, drm_sched_entity_flush,
  drm_sched_entity_init, drm_sched_entity_kill, drm_sched_entity_modify_sched, drm_sched_entity_push_job,
  drm_sched_entity_set_priority,
} from './sched_entity.ts';
export {
  drm_sched_fault, drm_sched_fini, drm_sched_for_each_pending_job, drm_sched_increase_karma, drm_sched_init,
  drm_sched_is_stopped, drm_sched_job_add_dependency, drm_sched_job_add_implicit_dependencies,
  drm_sched_job_add_resv_dependencies, drm_sched_job_add_syncobj_dependency, drm_sched_job_arm,
  drm_sched_job_cleanup, drm_sched_job_has_dependency, drm_sched_job_init, drm_sched_job_is_signaled,
  drm_sched_pick_best, drm_sched_resubmit_jobs, drm_sched_resume_timeout, drm_sched_start, drm_sched_stop,
  drm_sched_suspend_timeout, drm_sched_tdr_queue_imm, drm_sched_wqueue_ready, drm_sched_wqueue_start,
  drm_sched_wqueue_stop, sched_fence_signalling_annotation,
} from './sched_main.ts';
