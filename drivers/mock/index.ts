/**
 * @deplab/driver-mock: the KUnit mock GPU (hw.ts) bound to drm_sched (on-sched.ts) and drm_dep
 * (on-dep.ts), its KUnit helper set (uapi.ts), the ported KUnit suite (kunit/) and the mock as
 * a harness device (device.ts).
 */
export * from './hw.ts';
export type { MockBackend, MockEntity, MockJob, MockSched } from './uapi.ts';
export { MOCK_OPTION_SCHEMA } from './uapi.ts';
export { mock_sched_backend } from './on-sched.ts';
export { mock_dep_backend } from './on-dep.ts';
export { mock_dep_hw_backend } from './on-dep-hw.ts';
export { MockDevice } from './device.ts';
export { run_case, kunit, KunitAbort, type KunitCase, type KunitResult, type RunCaseOptions } from './kunit/kunit.ts';
export { tests_basic } from './kunit/tests_basic.ts';
export { tests_scheduler } from './kunit/tests_scheduler.ts';
