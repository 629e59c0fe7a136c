/**
 * Triage rules for the mock's own violation groups (packages/harness/run/triage.ts; each names
 * its mechanism and where it is written up). drm_sched's hazards the mock's variants reproduce
 * are in legacy.ts. Tests: mock.test.ts.
 */
import type { TriageRule } from '../triage.ts';

export const MOCK_RULES: readonly TriageRule[] = [
  {
    id: 'mock-free-job-unrun', kind: /^refcount_underflow$/, site: /^dma_fence_put$/, detail: /never-initialised mock\.hw_fence/,
    drivers: ['mock'], backends: ['sched'], class: 'latent driver bug', doc: 'docs/findings.md#mock-free-job-unrun',
    cause: "upstream mock_sched_free_job puts the hw fence unconditionally; a job killed with its entity never ran, so it puts a fence never initialised (refcount_t underflow)",
  },
];
