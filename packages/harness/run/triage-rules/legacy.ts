/**
 * drm_sched's legacy hazards (docs/legacy-hazards.md): what the model reproduces on purpose on
 * drm_sched and drm_dep removes. Most come from a driver variant of the exploration (the mock's
 * `no_cancel_job`, `tdr=...`) that reproduces a pattern real drivers had.
 */
import type { TriageRule } from '../triage.ts';

/** The objects a drm_sched job holds: what leaks when a job is never freed. */
const JOB_OBJECTS = /^(drm_sched_job|drm_sched_fence\.(finished|scheduled)|kmalloc:drm_sched_fence|mock\.hw_fence)$/;

const FINI_LEAK = 'drm_sched_fini without cancel_job leaves pending jobs unfreed, their HW callbacks still installed (§7.1)';

export const LEGACY_RULES: readonly TriageRule[] = [
  { id: 'legacy-fini-warn', kind: /^warn$/, site: /^drm_sched_fini$/, backends: ['sched'], class: 'legacy hazard', cause: FINI_LEAK, doc: 'docs/legacy-hazards.md#fini-leak' },
  { id: 'legacy-fini-leak', kind: /^leak$/, root: JOB_OBJECTS, variant: /^no_cancel_job\b/, backends: ['sched'], class: 'legacy hazard', cause: FINI_LEAK, doc: 'docs/legacy-hazards.md#fini-leak' },
  {
    id: 'legacy-fini-late-done', kind: /^use_after_free$/, site: /^drm_sched_job_done: s_fence->sched/, variant: /^no_cancel_job\b/, backends: ['sched'],
    class: 'legacy hazard', cause: `${FINI_LEAK}: a late HW completion runs drm_sched_job_done on the finalised scheduler`, doc: 'docs/legacy-hazards.md#fini-leak',
  },
  {
    id: 'legacy-entity-after-fini', kind: /^use_after_free$/, site: /^(drm_sched_rq_remove_entity|drm_sched_entity_flush)/, backends: ['sched'],
    class: 'legacy hazard', cause: 'an entity torn down after its scheduler uses the run queue drm_sched_fini freed (§7.2)', doc: 'docs/legacy-hazards.md#entity-after-fini',
  },
  {
    id: 'legacy-reset-leaves-job', kind: /^leak$/, root: JOB_OBJECTS, variant: /^tdr=reset_leaves_job\b/, backends: ['sched'],
    class: 'legacy hazard', cause: 'RESET on a job the TDR unlinked: the driver owns it and never frees it (§7.3, §7.4)', doc: 'docs/legacy-hazards.md#reset-ownership',
  },
  {
    id: 'legacy-free-guilty', kind: /^(use_after_free|bug|double_free)$/, variant: /^tdr=stop_no_hang\b/, backends: ['sched'],
    class: 'legacy hazard', cause: 'free_guilty: stop + NO_HANG re-inserts the job the TDR freed (§7.4)', doc: 'docs/legacy-hazards.md#free-guilty',
  },
  {
    id: 'legacy-killed-score', kind: /^score_leak$/, site: /\(killed jobs\)$/, backends: ['sched'],
    class: 'legacy hazard', cause: "killed jobs' score is never decremented (§7.8)", doc: 'docs/legacy-hazards.md#killed-score',
  },
  {
    id: 'legacy-tdr-pushed-out', kind: /^tdr_late$/, backends: ['sched'],
    class: 'legacy hazard', cause: 'every job start pushes the TDR out (mod_delayed_work in drm_sched_job_begin), so a hung job is detected late (§7.10)', doc: 'docs/legacy-hazards.md#tdr-pushed-out',
  },
];
