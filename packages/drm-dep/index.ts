/**
 * @deplab/drm-dep: the model of the proposed DRM dependency queue ("[RFC PATCH 00/12]
 * Introduce DRM dep queue", Matthew Brost, 2026-03-16), include/drm/drm_dep.h's role.
 * The RFC's C code is not available: docs/rfc-sources.md holds what is verified, and
 * docs/assumptions.md every choice the model makes for what is not. This file is the ONLY public
 * API: drivers import nothing else (the objects are opaque; "Brost would not be receptive to
 * any driver directly touching drm_dep object structs"). The finished fence is reachable only
 * as an opaque dma_fence through drm_dep_job_finished_fence().
 */
export {
  drm_dep_queue,
  drm_dep_device,
  DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE,
  DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS,
  DRM_DEP_QUEUE_FLAGS_ALL,
  DRM_DEP_TIMEDOUT_RESET,
  DRM_DEP_TIMEDOUT_ENODEV,
  DRM_DEP_TIMEDOUT_NO_HANG,
  DRM_DEP_KILLED_JOB_ERROR,
  DRM_DEP_COSTS,
  DRM_DEP_SUBMIT_BATCH_MAX,
  drm_dep_queue_init,
  drm_dep_queue_get,
  drm_dep_queue_get_unless_zero,
  drm_dep_queue_put,
  drm_dep_queue_kill,
  drm_dep_queue_stop,
  drm_dep_queue_start,
  drm_dep_queue_trigger_timeout,
  drm_dep_queue_release_done,
  drm_dep_queue_name,
  drm_dep_queue_flags,
  drm_dep_queue_timeout,
  drm_dep_queue_fence_context,
  drm_dep_queue_is_killed,
  drm_dep_queue_is_stopped,
  drm_dep_queue_credit_count,
  drm_dep_queue_for_each_pending_job,
  drm_dep_device_wait_idle,
  drm_dep_device_queue_count,
  drm_dep_assume_release,
  drm_dep_assume_tdr_wq,
  drm_dep_assume_job_done_irq,
  drm_dep_assume_tdr_rearm,
  drm_dep_assume_submit_batch,
} from './drm_dep_queue.ts';
export type {
  drm_dep_queue_ops,
  drm_dep_queue_init_args,
  drm_dep_timedout_stat,
} from './drm_dep_queue.ts';
export {
  drm_dep_job,
  drm_dep_job_init,
  drm_dep_job_add_dependency,
  drm_dep_job_add_syncobj_dependency,
  drm_dep_job_add_resv_dependencies,
  drm_dep_job_add_implicit_dependencies,
  drm_dep_job_arm,
  drm_dep_job_push,
  drm_dep_job_finished_fence,
  drm_dep_job_done,
  drm_dep_job_get,
  drm_dep_job_put,
  drm_dep_job_queue,
  drm_dep_job_credits,
  drm_dep_job_is_signaled,
} from './drm_dep_job.ts';
