/** Triage rules for xe's violation groups (packages/harness/run/triage.ts; each names its mechanism and where it is written up). */
import type { TriageRule } from '../triage.ts';

export const XE_RULES: readonly TriageRule[] = [
  {
    // A bind job on a VM queue that hangs (fault `hang`), or outlives a 1-3 ms job timeout
    // (fault `spurious-timeout`): the TDR finds it really timed out on a live VM queue.
    id: 'xe-vm-job-timeout-warn', kind: /^warn$/, site: /^guc_exec_queue_timedout_job$/, detail: /VM job timed out on non-killed execqueue/,
    drivers: ['xe'], under_fault: ['campaign', 'hang'],
    class: 'expected under fault',
    cause: "a VM-bind job hung or outlived its job timeout on a live VM queue: xe's own xe_gt_WARN in guc_exec_queue_timedout_job, then a GT reset (same on both schedulers)",
    doc: 'docs/findings.md#xe-vm-job-timeout-warn',
  },
];
