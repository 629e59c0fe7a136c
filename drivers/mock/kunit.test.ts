/**
 * The upstream drm_sched KUnit suite (tests_basic.c, tests_scheduler.c), ported, on the mock
 * GPU bound to drm_sched, under each scheduling policy. FIFO is upstream's default; RR and
 * FAIR run the same cases (the assertions do not depend on the policy; the metrics do).
 */
import { describe, expect, it } from 'vitest';
import { DRM_SCHED_POLICY_FAIR, DRM_SCHED_POLICY_FIFO, DRM_SCHED_POLICY_RR } from '@deplab/drm-sched';
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
