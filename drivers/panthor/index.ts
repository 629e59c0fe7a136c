/**
 * @deplab/driver-panthor: the Arm Mali CSF panthor model driver. hw.ts is the GPU/firmware,
 * csf.ts the group scheduler both bindings share, on-sched.ts / on-dep.ts the drm_sched and
 * drm_dep bindings, uapi.ts the ioctls and the harness Device (panthor_device_factory).
 */
export { PanthorDevice, panthor_device_factory, PANTHOR_DEFAULTS, PANTHOR_OPTION_SCHEMA, type PanthorDeviceOptions } from './uapi.ts';
export {
  JOB_TIMEOUT_MS, PANTHOR_CSG_PRIORITY_COUNT, PANTHOR_CSG_PRIORITY_HIGH, PANTHOR_CSG_PRIORITY_LOW,
  PANTHOR_CSG_PRIORITY_MEDIUM, PANTHOR_CSG_PRIORITY_RT, PANTHOR_DEVICE_PROFILING_CYCLES,
  PANTHOR_DEVICE_PROFILING_TIMESTAMP, calc_job_credits, group_can_run,
} from './csf.ts';
export {
  DRM_PANTHOR_EXCEPTION_CS_INSTR_INVALID, DRM_PANTHOR_EXCEPTION_CS_UNRECOVERABLE, MAX_CSG_PRIO,
} from './hw.ts';
export { panthor_sched_binding } from './on-sched.ts';
export { panthor_dep_binding } from './on-dep.ts';
