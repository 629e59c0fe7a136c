/**
 * @deplab/drm-dep-hw: a HW-queue layer on drm_dep (docs/hw-queue.md), the component the
 * drm_dep RFC says "could be built on top of DRM dep": many drm_dep queues arbitrated onto one
 * hardware ring with strict priority levels, FIFO / RR / FAIR within a level, a credit limit
 * shared by the ring, one TDR per ring and stop / resubmit / start for ring resets. Built on
 * drm_dep's public API only. This file is the public API; drivers also use drm_dep's
 * (arm, dependencies, put, finished fence, queue put, device barrier) on these objects.
 */
export {
  DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, DRM_DEP_HW_POLICY_RR,
  DRM_DEP_HW_PRIORITY_COUNT, DRM_DEP_HW_PRIORITY_HIGH, DRM_DEP_HW_PRIORITY_KERNEL, DRM_DEP_HW_PRIORITY_LOW,
  DRM_DEP_HW_PRIORITY_NORMAL, DRM_DEP_HW_RUN_BATCH_MAX, DRM_DEP_HW_COSTS,
  drm_dep_hw_job, drm_dep_hw_queue, drm_dep_hw_ring,
  type drm_dep_hw_ring_init_args, type drm_dep_hw_ring_ops,
} from './drm_dep_hw_state.ts';
export {
  DEP_HW_TDR_ARM,
  drm_dep_hw_job_complete, drm_dep_hw_job_resubmit,
  drm_dep_hw_ring_credit_count, drm_dep_hw_ring_credit_limit, drm_dep_hw_ring_fault, drm_dep_hw_ring_fini,
  drm_dep_hw_ring_for_each_pending_job, drm_dep_hw_ring_init, drm_dep_hw_ring_is_stopped, drm_dep_hw_ring_name,
  drm_dep_hw_ring_queue_count, drm_dep_hw_ring_start, drm_dep_hw_ring_stop,
} from './drm_dep_hw_ring.ts';
export {
  DRM_DEP_HW_STAGE_LIMIT, drm_dep_hw_job_add_dependency, drm_dep_hw_job_arm_push, drm_dep_hw_job_init, drm_dep_hw_job_push,
  drm_dep_hw_queue_init, drm_dep_hw_queue_kill, drm_dep_hw_queue_priority, drm_dep_hw_queue_set_priority,
  type drm_dep_hw_queue_init_args,
} from './drm_dep_hw_queue.ts';
