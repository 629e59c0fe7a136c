/**
 * Triage rules for panthor's violation groups (packages/harness/run/triage.ts; each names its
 * mechanism and where it is written up). Most are upstream panthor's unplug path
 * (docs/findings.md#panthor-unplug), a driver bug on both schedulers (fences that never signal):
 * they need an unplug while groups are alive, which the campaign injects (fault `unplug`); the
 * harness's own unplug comes after every client closed.
 */
import type { TriageRule } from '../triage.ts';

const UNPLUG = ['campaign', 'unplug'];
const DOC = 'docs/findings.md#panthor-unplug';
const NEVER_TERMINATED = 'after panthor_device_unplug nothing terminates a group resident on a CSG slot (the tick, FW-event and sync-update works are disabled, the PM suspend skips panthor_sched_suspend)';

export const PANTHOR_RULES: readonly TriageRule[] = [
  {
    id: 'panthor-unplug-leak', kind: /^leak$/, drivers: ['panthor'], under_fault: UNPLUG,
    root: /^(kmalloc:panthor_(group|queue|kernel_bo|vm|job|job\.done_fence|vm_bind_job|vm_op_ctx)|panthor\.done_fence)$/,
    class: 'latent driver bug', doc: DOC,
    cause: `${NEVER_TERMINATED}: the group, its queues, the VM, its jobs and the jobs waiting on them are never released`,
  },
  {
    id: 'panthor-unplug-leak-sched', kind: /^leak$/, drivers: ['panthor'], backends: ['sched'], under_fault: UNPLUG,
    root: /^(drm_gpu_scheduler|drm_sched_rq|drm_sched_entity|drm_sched_job|drm_sched_fence\.(finished|scheduled)|kmalloc:drm_sched_(fence|entity_stats)|kmalloc:xa_node)$/,
    class: 'latent driver bug', doc: DOC,
    cause: `${NEVER_TERMINATED}: group_release_work never runs, so its queues' drm_sched schedulers, entities and jobs stay (xa_node: a leaked job's dependency xarray)`,
  },
  {
    id: 'panthor-unplug-leak-dep', kind: /^leak$/, drivers: ['panthor'], backends: ['dep'], under_fault: UNPLUG,
    root: /^(drm_dep_queue|drm_dep_job|drm_dep_fence|kmalloc:(drm_dep_fence|xa_node))$/,
    class: 'latent driver bug', doc: DOC,
    cause: `${NEVER_TERMINATED}: group_release_work never runs, so its drm_dep queues and jobs stay (with each job's finished fence and its memory, and its dependency xarray's node)`,
  },
  {
    id: 'panthor-unplug-never-signalled', kind: /^never_signalled$/, site: /^finished fence after teardown$/, drivers: ['panthor'], under_fault: UNPLUG,
    class: 'latent driver bug', doc: DOC,
    cause: `${NEVER_TERMINATED}: its jobs, and jobs depending on them, never signal`,
  },
  {
    id: 'panthor-unplug-hang', kind: /^hang$/, site: /^run_workload$/, drivers: ['panthor'], under_fault: UNPLUG,
    class: 'latent driver bug', doc: DOC,
    cause: `${NEVER_TERMINATED}, and a group waiting for a slot is never scheduled (until its file closes): a program waiting on one of their jobs waits forever`,
  },
  {
    // A group that can no longer run (a fatal queue, destroyed, timed out): the faults that make it so.
    id: 'panthor-run-job-cancel-order', kind: /^signal_order$/, site: /^finished fences of one queue$/, detail: /\(error -(125|N)\) signalled before the earlier/,
    drivers: ['panthor'], under_fault: ['campaign', 'fw-error', 'engine-reset', 'hang', 'ctrl-c', 'destroy'],
    class: 'expected under fault', doc: 'docs/findings.md#run-job-error-order',
    cause: "panthor's run_job fails a job of a group that can no longer run with -ECANCELED, and both schedulers signal an errored run_job at once, ahead of an earlier job of the queue whose completion is still being processed",
  },
];
