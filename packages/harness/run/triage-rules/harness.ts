/**
 * Triage rules for harness's violation groups (packages/harness/run/triage.ts; each names its mechanism and where it is written up).
 *
 * `hang @ run_workload` is a program still blocked when the run's budget ends; the runner names
 * where each one is (waiting for which job, in which ioctl or event) and when the device was
 * unplugged, so a rule matches the mechanism, not the site. Messages are matched as a campaign
 * reports them (numbers) and as a comparison groups them (numbers replaced by N).
 */
import type { TriageRule } from '../triage.ts';

const DOC = 'docs/findings.md#harness-hang-run-workload';

/** Every blocked program waits for a job, and the device was unplugged (its removal returned). */
export const ALL_WAIT_AFTER_UNPLUG = /^programs still running .*: (\S+ waiting for \S+ since [\d.N]+ ms; )+device unplugged at [\d.N]+ ms$/;

export const HARNESS_RULES: readonly TriageRule[] = [
  {
    id: 'harness-hang-flush-after-unplug', kind: /^hang$/, site: /^run_workload$/, drivers: ['mock'], backends: ['sched'], under_fault: ['campaign'],
    detail: /: \S+ in (destroy_queue|close_client)\([^)]*\) since [\d.N]+ ms; .*device unplugged at [\d.N]+ ms$/,
    class: 'legacy hazard',
    cause: "a live process's queue destroy waits in drm_sched_entity_flush, without a timeout, for an entity that cannot drain (starved by priority or out of credits); the unplug's drm_sched_fini stops the scheduler under it, so the destroy never returns (hazard 2)",
    doc: 'docs/legacy-hazards.md#release-after-fini',
  },
  {
    id: 'harness-hang-entity-after-fini', kind: /^hang$/, site: /^run_workload$/, drivers: ['mock'], backends: ['sched'], variant: /^unplug_keeps_queues\b/,
    under_fault: ['campaign'], detail: ALL_WAIT_AFTER_UNPLUG,
    class: 'legacy hazard',
    cause: "the unplug finalises the scheduler and leaves the open files' entities (hazard 2): their queued jobs never run, and a program waiting for one never wakes",
    doc: 'docs/legacy-hazards.md#entity-after-fini',
  },
];
