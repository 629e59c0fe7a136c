/**
 * Triage rules for panfrost's violation groups (packages/harness/run/triage.ts; each names its
 * mechanism and where it is written up). Two come from JM_CTX_DESTROY's in-flight kill (it never
 * fires on drm_sched; on the HW-queue binding it reaches the IRQ handler's order); the others
 * from panfrost's remove on drm_sched (drivers/panfrost/README.md "Unplug on drm_sched"), where
 * panfrost_jm_fini finalises the slot schedulers while jobs, the IRQ thread or a GPU reset still
 * use them. The drm_sched hazards remove also reaches on panfrost (the fini warning, entities
 * outliving their scheduler, their score units, a reset restarting a finalised scheduler) are
 * legacy.ts's rules.
 */
import type { TriageRule } from '../triage.ts';
import { ALL_WAIT_AFTER_UNPLUG } from './harness.ts';

/** What one job, its JM context and the context's entities leave behind when never freed. */
const JOB_AND_CONTEXT = /^(drm_sched_job|drm_sched_fence\.(finished|scheduled)|kmalloc:drm_sched_fence|kmalloc:xa_node|kmalloc:panfrost_job|panfrost_fence|kmalloc:panfrost_fence|panfrost_jm_ctx|drm_sched_entity|kmalloc:drm_sched_entity_stats)$/;

const UNPLUG = { drivers: ['panfrost'], backends: ['sched'], under_fault: ['campaign', 'unplug'] } as const;
const DESTROY = { drivers: ['panfrost'], under_fault: ['campaign', 'destroy', 'ctrl-c'] } as const;
/** A job cancelled (-ECANCELED) signalled before an earlier job of its queue that succeeded. */
const CANCELLED_FIRST = /\(error -125\) signalled before the earlier \S+ \(error 0\)$/;

const PENDING = 'panfrost_remove runs drm_sched_fini with jobs still on the slots or queued in open files\' entities, and panfrost has no cancel_job: ' +
  'they never complete; the jobs, their fences, their JM context and its entities are never freed (hazard 1)';

export const PANFROST_RULES: readonly TriageRule[] = [
  {
    // Only with --assume sched.fence-signalling-annotation=annotated: upstream drm_sched does not annotate run_job.
    id: 'panfrost-run-job-gfp-kernel', kind: /^lockdep_cycle$/, site: /^kmalloc\(panfrost_fence, GFP_KERNEL\)$/, detail: /dma_fence_map -> fs_reclaim/,
    drivers: ['panfrost'], backends: ['sched'], class: 'latent driver bug',
    cause: 'panfrost_job_run allocates its done fence with GFP_KERNEL inside run_job, a dma-fence signalling section once drm_sched annotates it ' +
      '(panfrost\'s own reset FIXME says the same); the HW-queue binding allocates it at submit',
    doc: 'drivers/panfrost/README.md#run-job-gfp-kernel',
  },
  {
    id: 'panfrost-destroyed-context-out-of-order', kind: /^signal_order$/, site: /^finished fences of one queue$/, detail: CANCELLED_FIRST, ...DESTROY, backends: ['sched'],
    class: 'latent driver bug', doc: 'drivers/panfrost/README.md#ctx-destroy-hard-stop',
    cause: 'JM_CTX_DESTROY or close: run_job fails the context\'s queued jobs with -ECANCELED at once while the job ahead of them on the slot, which the ' +
      'in-flight kill misses (job->base.entity is NULL once drm_sched popped it), signals success later',
  },
  {
    id: 'panfrost-irq-failed-before-done', kind: /^signal_order$/, site: /^finished fences of one queue$/, detail: CANCELLED_FIRST, ...DESTROY, backends: ['dep-hw'],
    class: 'latent driver bug', doc: 'drivers/panfrost/README.md#irq-failed-before-done',
    cause: 'panfrost_job_handle_irq handles a slot\'s failed job before its done ones: the job the in-flight kill hard-stopped behind one that had just ' +
      'finished signals -ECANCELED first when the IRQ thread collects both in one pass',
  },
  { id: 'panfrost-unplug-pending-leak', kind: /^leak$/, site: /^after unplug$/, root: JOB_AND_CONTEXT, ...UNPLUG, class: 'legacy hazard', cause: PENDING, doc: 'drivers/panfrost/README.md#unplug-pending' },
  { id: 'panfrost-unplug-pending-unsignalled', kind: /^never_signalled$/, site: /^finished fence after teardown$/, ...UNPLUG, class: 'legacy hazard', cause: PENDING, doc: 'drivers/panfrost/README.md#unplug-pending' },
  {
    // Every blocked program waits for a job and the device was unplugged (the runner's stuck report).
    id: 'panfrost-unplug-pending-waiter', kind: /^hang$/, site: /^run_workload$/, ...UNPLUG, detail: ALL_WAIT_AFTER_UNPLUG, class: 'legacy hazard',
    cause: `${PENDING}; a client waiting for one of them never returns`, doc: 'drivers/panfrost/README.md#unplug-pending',
  },
  {
    id: 'panfrost-unplug-irq-thread', kind: /^use_after_free$/, site: /^drm_sched_job_done: s_fence->sched$/, ...UNPLUG, class: 'latent driver bug',
    cause: 'a HW fence signalled after drm_sched_fini runs drm_sched_job_done on the finalised scheduler: panfrost_jm_fini masks the JOB interrupt ' +
      'but neither waits for the IRQ thread already woken (which unmasks it again) nor for a GPU reset in progress',
    doc: 'drivers/panfrost/README.md#unplug-irq-thread',
  },
  {
    // The TDR's handler then uses the freed scheduler, and drm_sched_increase_karma (for a job
    // still hung there) dereferences its cleared run queues.
    id: 'panfrost-restart-rearms-tdr', kind: /^(use_after_free|bug)$/, site: /^drm_sched_(job_timedout|increase_karma)$/, ...UNPLUG, class: 'latent driver bug',
    cause: 'a GPU reset still running at remove restarts a slot scheduler panfrost_jm_fini already finalised; drm_sched_start re-arms its TDR, which fires on it later',
    doc: 'drivers/panfrost/README.md#unplug-during-reset',
  },
];
