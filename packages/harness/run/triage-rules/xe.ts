/** Triage rules for xe's violation groups (packages/harness/run/triage.ts; each names its mechanism and where it is written up). */
import type { TriageRule } from '../triage.ts';

export const XE_RULES: readonly TriageRule[] = [
  {
    // A bind job on a VM queue that hangs (fault `hang`), outlives a 1-3 ms job timeout (fault
    // `spurious-timeout`), or meets an engine-reset or CAT-error notification (`engine-reset`,
    // `fw-error`: the TDR at once): the TDR fails no job of a live VM queue, it WARNs and resets.
    id: 'xe-vm-job-timeout-warn', kind: /^warn$/, site: /^guc_exec_queue_timedout_job$/, detail: /VM job timed out on non-killed execqueue/,
    drivers: ['xe'], under_fault: ['campaign', 'hang', 'engine-reset', 'fw-error'],
    class: 'expected under fault',
    cause: "a VM-bind job hung, outlived its job timeout or met an engine-reset/CAT-error notification on a live VM queue: xe's own xe_gt_WARN in guc_exec_queue_timedout_job, then a GT reset (same on both schedulers)",
    doc: 'docs/findings.md#xe-vm-job-timeout-warn',
  },
];
