/**
 * Triage rules for panfrost's violation groups (packages/harness/run/triage.ts; each names its
 * mechanism and where it is written up). Two come from JM_CTX_DESTROY's in-flight kill (it never
 * fires on drm_sched; on the HW-queue binding it reaches the IRQ handler's order); the others
 * from panfrost's remove on drm_sched
 * (drivers/panfrost/README.md "Unplug on drm_sched"): panfrost_remove unregisters the DRM device
 * without waiting for its files and runs panfrost_jm_fini, which finalises the slot schedulers
 * while jobs, open files' entities, the IRQ thread or a GPU reset may still use them. The
 * HW-queue binding has none of them (the same runs are clean on dep-hw).
 */
import type { TriageRule } from '../triage.ts';

/** What one job, its JM context and the context's entities leave behind when never freed. */
const JOB_AND_CONTEXT = /^(drm_sched_job|drm_sched_fence\.(finished|scheduled)|kmalloc:drm_sched_fence|kmalloc:panfrost_job|panfrost_fence|kmalloc:panfrost_fence|panfrost_jm_ctx|drm_sched_entity|kmalloc:drm_sched_entity_stats)$/;

const SCHED = { drivers: ['panfrost'], backends: ['sched'], under_fault: ['campaign', 'unplug'] } as const;

const PENDING = 'panfrost_remove runs drm_sched_fini with jobs still on the slots or queued in open files\' entities, and panfrost has no cancel_job: ' +
  'they never complete; the jobs, their fences, their JM context and its entities are never freed (§7.1)';
const OPEN_FILES = 'panfrost_remove does not wait for the open files: their entities outlive the finalised schedulers (on the run queues at fini; ' +
  'a dependency signalled afterwards wakes an entity whose run queue is freed) (§7.2)';
const IRQ_THREAD = 'a HW fence signalled after drm_sched_fini runs drm_sched_job_done on the finalised scheduler: panfrost_jm_fini masks the JOB interrupt ' +
  'but neither waits for the IRQ thread already woken (which unmasks it again) nor for a GPU reset in progress';
const DURING_RESET = 'panfrost_jm_fini finalises the slot schedulers before it cancels the reset work (and a reset from another slot\'s TDR runs on): ' +
  'the reset restarts them (drm_sched_start: submit work on the destroyed workqueue, the TDR re-armed, run_job work on freed run queues)';

export const PANFROST_RULES: readonly TriageRule[] = [
  {
    id: 'panfrost-destroyed-context-out-of-order', kind: /^signal_order$/, site: /^finished fences of one queue$/, drivers: ['panfrost'], backends: ['sched'],
    detail: /\(error -125\) signalled before the earlier \S+ \(error 0\)$/, under_fault: ['campaign', 'destroy', 'ctrl-c'], class: 'latent driver bug',
    cause: 'JM_CTX_DESTROY or close: run_job fails the context\'s queued jobs with -ECANCELED at once while the job ahead of them on the slot, which the ' +
      'in-flight kill misses (job->base.entity is NULL once drm_sched popped it), signals success later',
    doc: 'drivers/panfrost/README.md#ctx-destroy-hard-stop',
  },
  {
    id: 'panfrost-irq-failed-before-done', kind: /^signal_order$/, site: /^finished fences of one queue$/, drivers: ['panfrost'], backends: ['dep-hw'],
    detail: /\(error -125\) signalled before the earlier \S+ \(error 0\)$/, under_fault: ['campaign', 'destroy', 'ctrl-c'], class: 'latent driver bug',
    cause: 'panfrost_job_handle_irq handles a slot\'s failed job before its done ones: the job the in-flight kill hard-stopped behind one that had just ' +
      'finished signals -ECANCELED first when the IRQ thread collects both in one pass',
    doc: 'drivers/panfrost/README.md#irq-failed-before-done',
  },
  { id: 'panfrost-unplug-pending-leak', kind: /^leak$/, site: /^after unplug$/, root: JOB_AND_CONTEXT, ...SCHED, class: 'legacy hazard', cause: PENDING, doc: 'drivers/panfrost/README.md#unplug-pending' },
  { id: 'panfrost-unplug-pending-unsignalled', kind: /^never_signalled$/, site: /^finished fence after teardown$/, ...SCHED, class: 'legacy hazard', cause: PENDING, doc: 'drivers/panfrost/README.md#unplug-pending' },
  { id: 'panfrost-unplug-pending-score', kind: /^score_leak$/, site: /\(unfinished jobs\)$/, ...SCHED, class: 'legacy hazard', cause: PENDING, doc: 'drivers/panfrost/README.md#unplug-pending' },
  {
    id: 'panfrost-unplug-pending-waiter', kind: /^hang$/, site: /^run_workload$/, ...SCHED, class: 'legacy hazard',
    cause: `${PENDING}; a client waiting for one of them never returns`, doc: 'drivers/panfrost/README.md#unplug-pending',
  },
  { id: 'panfrost-unplug-open-files-score', kind: /^score_leak$/, site: /\(other\)$/, ...SCHED, class: 'legacy hazard', cause: OPEN_FILES, doc: 'drivers/panfrost/README.md#unplug-open-files' },
  { id: 'panfrost-unplug-open-files-wakeup', kind: /^use_after_free$/, site: /^drm_sched_entity_wakeup: entity->rq$/, ...SCHED, class: 'legacy hazard', cause: OPEN_FILES, doc: 'drivers/panfrost/README.md#unplug-open-files' },
  { id: 'panfrost-unplug-irq-thread', kind: /^use_after_free$/, site: /^drm_sched_job_done: s_fence->sched$/, ...SCHED, class: 'latent driver bug', cause: IRQ_THREAD, doc: 'drivers/panfrost/README.md#unplug-irq-thread' },
  {
    id: 'panfrost-unplug-during-reset-queue-work', kind: /^warn$/, site: /^queue_work$/, detail: /^queue_work\(&sched->work_(run|free)_job\) on workqueue pan_js being destroyed$/, ...SCHED,
    class: 'latent driver bug', cause: DURING_RESET, doc: 'drivers/panfrost/README.md#unplug-during-reset',
  },
  {
    id: 'panfrost-unplug-during-reset-uaf', kind: /^use_after_free$/, site: /^(drm_sched_job_timedout|drm_sched_select_entity|drm_sched_rq_pop_entity: entity->rq)$/, ...SCHED,
    class: 'latent driver bug', cause: DURING_RESET, doc: 'drivers/panfrost/README.md#unplug-during-reset',
  },
];
