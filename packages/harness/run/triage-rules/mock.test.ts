/** The mock's own rule classifies a real group: a SIGKILLed close kills queued jobs, whose free_job upstream's mock gets wrong. */
import { describe, expect, it } from 'vitest';
import { campaign_subject, triage } from '../triage.ts';
import { triaged_groups } from './scenario.testlib.ts';

describe('mock rules on real drm_sched groups', () => {
  it("mock-free-job-unrun: free_job of a job killed before run_job puts a never-initialised hw fence", () => {
    const g = triaged_groups('mock', { credit_limit: 1, close_as: 'sigkill' }, {
      clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 1000 } }] } }],
      events: [{ at_us: 100, action: 'close_client', client: 'a' }],
    });
    expect(g.get('refcount_underflow @ dma_fence_put')).toBe('mock-free-job-unrun');
  });

  it('claims no other refcount underflow, and none on drm_dep', () => {
    const other = { kind: 'refcount_underflow', site: 'dma_fence_put', root: '', details: ['refcount_t: underflow; use-after-free. (dma_fence_put on xe.hw_fence)'] };
    expect(triage(other, 'mock', 'sched').rule).toBeNull();
    const mine = campaign_subject('refcount_underflow', 'dma_fence_put', 'refcount_t: underflow; use-after-free. (dma_fence_put on a never-initialised mock.hw_fence)');
    expect(triage(mine, 'mock', 'dep').rule).toBeNull();
  });
});
