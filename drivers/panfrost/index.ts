/**
 * @deplab/driver-panfrost: the Arm Mali job-manager panfrost model driver. hw.ts is the GPU's
 * JOB register block and job chains, jm.ts what both bindings share (slots, the JOB interrupt,
 * the hardware half of the reset, JM contexts), on-sched.ts / on-dep-hw.ts the drm_sched and
 * drm_dep + HW-queue layer bindings, uapi.ts the ioctls and the harness Device.
 */
export { PanfrostDevice, panfrost_device_factory, panfrost_options, PANFROST_DEFAULTS, PANFROST_OPTION_SCHEMA, type PanfrostDeviceOptions } from './uapi.ts';
export {
  JOB_TIMEOUT_MS, PANFROST_JD_REQ_FS, PANFROST_JM_CTX_PRIORITY_HIGH, PANFROST_JM_CTX_PRIORITY_LOW,
  PANFROST_JM_CTX_PRIORITY_MEDIUM,
} from './jm.ts';
export { NUM_JOB_SLOTS } from './hw.ts';
export { panfrost_sched_binding } from './on-sched.ts';
export { panfrost_dep_hw_binding } from './on-dep-hw.ts';
