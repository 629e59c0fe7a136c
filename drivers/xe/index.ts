/**
 * @deplab/driver-xe: the Intel xe GPU with GuC submission (hw.ts), bound to drm_sched
 * (on-sched.ts, as upstream v7.0) and to drm_dep (on-dep.ts, as the RFC conversion) over the
 * submission code both share (xe_guc_submit.ts, xe_gpu_scheduler.ts, xe_tlb_inval_job.ts,
 * xe_device.ts), its ioctls and the harness device (uapi.ts). See README.md.
 */
export {
  GUC_ACTION_NAMES, MAX_JOB_SIZE_BYTES, SZ_16K, XE_ENGINE_CLASS_COMPUTE, XE_ENGINE_CLASS_COPY, XE_ENGINE_CLASS_MAX,
  XE_ENGINE_CLASS_NAMES, XE_ENGINE_CLASS_RENDER, XE_ENGINE_CLASS_VIDEO_DECODE, XE_ENGINE_CLASS_VIDEO_ENHANCE,
  XE_GUC_ACTION_DEREGISTER_CONTEXT, XE_GUC_ACTION_HOST2GUC_UPDATE_CONTEXT_POLICIES, XE_GUC_ACTION_REGISTER_CONTEXT,
  XE_GUC_ACTION_SCHED_CONTEXT, XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET, XE_GUC_ACTION_TLB_INVALIDATION,
  XE_GUC_FW_LATENCY_NS, XE_RING_JOB_LIMIT, XE_TLB_INVAL_NS, xe_hw, xe_lrc,
} from './hw.ts';
export {
  EXEC_QUEUE_FLAG_KERNEL, EXEC_QUEUE_FLAG_VM, MAX_TLB_INVAL_JOBS, XE_CT_SEND_NS, XE_EXEC_QUEUE_PRIORITY_HIGH,
  XE_EXEC_QUEUE_PRIORITY_LOW, XE_EXEC_QUEUE_PRIORITY_NORMAL, XE_JOB_TIMEOUT_DEFAULT_MS, XE_VM_MIN_RUN_PERIOD_MS,
  xe_device, type XeBinding, type XeExecQueue,
} from './xe_device.ts';
export { XE_EXEC_IOCTL_NS, XE_OPTION_SCHEMA, XE_REBIND_NS, XeDevice, xe_device_factory } from './uapi.ts';
export { XE_RUN_JOB_NS } from './xe_guc_submit.ts';
export { xe_sched_binding } from './on-sched.ts';
export { xe_dep_binding } from './on-dep.ts';
