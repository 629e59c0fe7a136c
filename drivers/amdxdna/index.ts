/**
 * @deplab/driver-amdxdna: the AMD NPU (AIE2) model driver, as at the RFC's base (device option
 * `era`, '7.0' by default, '6.18' for the earlier snapshot). hw.ts is the NPU and its firmware,
 * mailbox.ts the driver's transport to it, aie2_ctx.ts the part of aie2_ctx.c both bindings
 * share, on-sched.ts the binding to drm_sched (upstream), on-dep.ts the binding to drm_dep (the
 * RFC's conversion, inferred), uapi.ts the ioctls and the harness Device over either binding.
 */
export { AMDXDNA_OPTION_SCHEMA, amdxdna_device, AmdxdnaDevice } from './uapi.ts';
export { HWCTX_MAX_CMDS, HWCTX_MAX_TIMEOUT_MS, XDNA_ERAS, type xdna_era } from './amdxdna_ctx.ts';
export {
  AIE2_STATUS_AIE_INSTRUCTION_ERROR, AIE2_STATUS_SUCCESS, ERT_CMD_STATE_ABORT, ERT_CMD_STATE_COMPLETED,
  ERT_CMD_STATE_ERROR, ERT_CMD_STATE_NEW, ERT_CMD_STATE_TIMEOUT,
} from './hw.ts';
export { RX_TIMEOUT_MS } from './mailbox.ts';
