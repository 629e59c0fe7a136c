/**
 * drm_sched's legacy hazards (docs/legacy-hazards.md, numbered as there): what the model
 * reproduces on purpose on drm_sched and drm_dep removes. Most come from a driver variant of
 * the exploration (the mock's `no_cancel_job`, `tdr=...`, `unplug_keeps_queues`) that
 * reproduces a pattern real drivers had; a rule names the drivers whose groups were checked
 * against its mechanism. Tests: legacy.test.ts (a real run per rule).
 */
import type { TriageRule } from '../triage.ts';

/** The objects a drm_sched job holds (its entity stats reference too): what leaks when a job is never freed. */
const JOB_OBJECTS = /^(drm_sched_job|drm_sched_fence\.(finished|scheduled)|kmalloc:drm_sched_fence|kmalloc:drm_sched_entity_stats|kmalloc:xa_node|mock\.hw_fence)$/;

const FINI_LEAK = 'drm_sched_fini without cancel_job leaves pending jobs unfreed, their HW callbacks still installed (hazard 1)';
const RELEASE_AFTER_FINI = "a live process's release flushes an entity whose scheduler drm_sched_fini stopped (flushing already, or after fini): "
  + 'wait_event_killable never sees it idle, so the release never returns and the entity and its queued jobs are never freed (hazard 2)';

export const LEGACY_RULES: readonly TriageRule[] = [
  // 1. drm_sched_fini without cancel_job. panfrost (7.0) has no cancel_job; the mock only in its no_cancel_job shape.
  { id: 'legacy-fini-warn', kind: /^warn$/, site: /^drm_sched_fini$/, drivers: ['mock', 'panfrost'], backends: ['sched'], class: 'legacy hazard', cause: FINI_LEAK, doc: 'docs/legacy-hazards.md#fini-leak' },
  { id: 'legacy-fini-leak', kind: /^leak$/, root: JOB_OBJECTS, variant: /^no_cancel_job\b/, drivers: ['mock'], backends: ['sched'], class: 'legacy hazard', cause: FINI_LEAK, doc: 'docs/legacy-hazards.md#fini-leak' },
  {
    id: 'legacy-fini-late-done', kind: /^use_after_free$/, site: /^drm_sched_job_done: s_fence->sched/, variant: /^no_cancel_job\b/, drivers: ['mock'], backends: ['sched'],
    class: 'legacy hazard', cause: `${FINI_LEAK}: a late HW completion runs drm_sched_job_done on the finalised scheduler`, doc: 'docs/legacy-hazards.md#fini-leak',
  },
  {
    id: 'legacy-fini-pending', variant: /^no_cancel_job\b/, drivers: ['mock'], backends: ['sched'],
    kind: /^(never_signalled|score_leak)$/, site: /^(finished fence after teardown|drm_sched_score at teardown \((unfinished jobs|other)\))$/,
    class: 'legacy hazard', doc: 'docs/legacy-hazards.md#fini-leak',
    cause: `${FINI_LEAK}: a job pending at fini keeps its score unit, and one behind a hung job never signals; a release meeting fini leaves its queued jobs so too (hazard 2)`,
  },
  // 2. Entities outliving their scheduler.
  {
    id: 'legacy-entity-after-fini', kind: /^use_after_free$/, site: /^(drm_sched_rq_remove_entity|drm_sched_entity_flush|drm_sched_entity_wakeup)\b/,
    drivers: ['mock', 'panfrost'], backends: ['sched'],
    class: 'legacy hazard', cause: 'an entity torn down (or woken by a dependency) after its scheduler uses the run queue drm_sched_fini freed (hazard 2)', doc: 'docs/legacy-hazards.md#entity-after-fini',
  },
  {
    id: 'legacy-release-after-fini', drivers: ['mock'], backends: ['sched'],
    kind: /^(hang|never_signalled|score_leak)$/, site: /^(Kernel\.run_task|teardown|finished fence after teardown|drm_sched_score at teardown \(unfinished jobs\))$/,
    class: 'legacy hazard', cause: RELEASE_AFTER_FINI, doc: 'docs/legacy-hazards.md#release-after-fini',
  },
  {
    // Only an entity whose release never finished is left; for the other shapes the jobs' own rules come first.
    id: 'legacy-release-after-fini-leak', kind: /^leak$/, root: /^drm_sched_entity$/, drivers: ['mock'], backends: ['sched'],
    class: 'legacy hazard', cause: RELEASE_AFTER_FINI, doc: 'docs/legacy-hazards.md#release-after-fini',
  },
  {
    id: 'legacy-release-after-fini-jobs', kind: /^leak$/, root: JOB_OBJECTS, variant: /^(plain|unplug_keeps_queues|tdr=stop_no_hang)\b/, drivers: ['mock'], backends: ['sched'],
    class: 'legacy hazard', cause: RELEASE_AFTER_FINI, doc: 'docs/legacy-hazards.md#release-after-fini',
  },
  {
    // tdr=stop_no_hang: campaign seed 417, whose client closes 1 s after the unplug's fini (its entity was still queued).
    id: 'legacy-entity-score-at-fini', kind: /^score_leak$/, site: /\(other\)$/, variant: /^(plain|unplug_keeps_queues|tdr=reset_leaves_job|tdr=stop_no_hang)\b/, drivers: ['mock'], backends: ['sched'],
    class: 'legacy hazard', doc: 'docs/legacy-hazards.md#entity-after-fini',
    cause: 'score units at fini that are neither unfinished jobs nor killed jobs the monitor counts: an entity still on its run queue (released during or after fini, hazard 2), '
      + 'or a job killed with its entity after a hang was injected into it (hazard 8; counted as hung, not as killed before start)',
  },
  {
    id: 'legacy-fini-with-work-score', kind: /^score_leak$/, site: /\((other|unfinished jobs)\)$/, drivers: ['panfrost'], backends: ['sched'],
    class: 'legacy hazard', doc: 'docs/legacy-hazards.md#entity-after-fini',
    cause: "remove() runs drm_sched_fini with the files' entities still on their run queues and jobs pending (no cancel_job): their score units are still counted (hazards 1, 2)",
  },
  {
    id: 'legacy-restart-after-fini', drivers: ['panfrost'], backends: ['sched'],
    kind: /^(use_after_free|warn)$/, site: /^(drm_sched_select_entity|drm_sched_rq_pop_entity: entity->rq|queue_work)$/, detail: /freed drm_sched_rq|on workqueue pan_js being destroyed/,
    class: 'latent driver bug', doc: 'docs/legacy-hazards.md#restart-after-fini',
    cause: "panfrost_jm_fini finalises the slots' schedulers one by one while a GPU reset (a TDR or panfrost_reset_work; it stops and restarts every slot) is still running: it restarts a finalised scheduler, whose run work walks the freed run queues",
  },
  // 3, 4. Ownership of the job the TDR unlinked.
  {
    id: 'legacy-reset-leaves-job', kind: /^leak$/, root: JOB_OBJECTS, variant: /^tdr=reset_leaves_job\b/, drivers: ['mock'], backends: ['sched'],
    class: 'legacy hazard', cause: 'RESET on a job the TDR unlinked: the driver owns it and never frees it (hazards 3, 4)', doc: 'docs/legacy-hazards.md#reset-ownership',
  },
  {
    id: 'legacy-free-guilty', kind: /^(use_after_free|bug)$/, variant: /^tdr=stop_no_hang\b/, drivers: ['mock'], backends: ['sched'],
    site: /^(drm_sched_get_finished_job|drm_sched_job_cleanup|drm_sched_job_timedout|drm_sched_stop|free_job|dma_fence_put|dma_fence_signal)$/,
    class: 'legacy hazard', cause: 'free_guilty: stop + NO_HANG re-inserts the job the TDR freed (hazard 4)', doc: 'docs/legacy-hazards.md#free-guilty',
  },
  // 8. Killed jobs keep their score unit.
  {
    id: 'legacy-killed-score', kind: /^score_leak$/, site: /\(killed jobs\)$/, backends: ['sched'],
    class: 'legacy hazard', cause: "killed jobs' score is never decremented (hazard 8)", doc: 'docs/legacy-hazards.md#killed-score',
  },
  // 10. Latent bugs.
  {
    // xe: drm_sched's TDR, one scheduler per exec queue (a hung job, later jobs of its queue still start).
    id: 'legacy-tdr-pushed-out', kind: /^tdr_late$/, drivers: ['mock', 'xe'], backends: ['sched'],
    class: 'legacy hazard', cause: 'every job start pushes the TDR out (mod_delayed_work in drm_sched_job_begin), so a hung job is detected late (hazard 10)', doc: 'docs/legacy-hazards.md#tdr-pushed-out',
  },
];
