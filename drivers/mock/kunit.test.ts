/**
 * The upstream drm_sched KUnit suite (tests_basic.c, tests_scheduler.c), ported, on the mock
 * GPU bound to drm_sched, under each scheduling policy. FIFO is upstream's default; RR and
 * FAIR run the same cases (the assertions do not depend on the policy; the metrics do).
 */
import { describe, expect, it } from 'vitest';
import { Kernel, MAX_SCHEDULE_TIMEOUT } from '@deplab/sim';
import { DRM_SCHED_POLICY_FAIR, DRM_SCHED_POLICY_FIFO, DRM_SCHED_POLICY_RR, DRM_SCHED_PRIORITY_NORMAL } from '@deplab/drm-sched';
import { mock_sched_backend } from './on-sched.ts';
import { run_case } from './kunit/kunit.ts';
import { kunit_cases } from './kunit-cases.testlib.ts';
import { tests_basic } from './kunit/tests_basic.ts';
import { tests_scheduler } from './kunit/tests_scheduler.ts';

const policies = [
  ['FIFO', DRM_SCHED_POLICY_FIFO],
  ['RR', DRM_SCHED_POLICY_RR],
  ['FAIR', DRM_SCHED_POLICY_FAIR],
] as const;

for (const [policy_name, policy] of policies) {
  describe(`KUnit drm_sched on the mock GPU, policy ${policy_name}`, () => {
    const backend = mock_sched_backend(policy);
    for (const { label, c, param } of kunit_cases([...tests_basic, ...tests_scheduler], 'drm_sched')) {
      it(label, () => {
        const result = run_case(c, backend, param);
        expect(result.failures).toEqual([]);
        expect(result.status).toBe('pass');
      });
    }
  });
}

describe('FIFO orders jobs pushed at one instant by push order (ktime_get strictly increasing in a context)', () => {
  /** Three jobs of entity a, then three of b, pushed by the test thread in zero time. */
  function run_order(policy: number): string[] {
    const k = new Kernel({ init_name: 'kunit_try_catch' });
    const b = mock_sched_backend(policy);
    const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
    const ea = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const eb = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const jobs = (['a1', 'a2', 'a3', 'b1', 'b2', 'b3'] as const).map((name) => {
      const job = b.drm_mock_sched_job_new(k, name[0] === 'a' ? ea : eb);
      b.drm_mock_sched_job_set_duration_us(job, 100);
      b.drm_mock_sched_job_submit(job);
      return { name, job };
    });
    expect(b.drm_mock_sched_job_wait_finished(jobs[5].job, k.HZ)).toBe(true);
    // The hardware timeline's seqnos number the jobs in the order run_job handed them over.
    const order = [...jobs].sort((x, y) => x.job.hw.hw_fence.seqno - y.job.hw.hw_fence.seqno).map((x) => x.name);
    b.drm_mock_sched_entity_free(ea);
    b.drm_mock_sched_entity_free(eb);
    b.drm_mock_sched_fini(sched);
    expect(k.violations.format()).toBe('');
    return order;
  }

  it('FIFO: push order; with equal submit_ts an entity re-keyed after its pop went behind the other (round robin)', () => {
    expect(run_order(DRM_SCHED_POLICY_FIFO)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
  });

  it('RR interleaves the same pushes', () => {
    expect(run_order(DRM_SCHED_POLICY_RR)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });
});
