/**
 * The same ported KUnit cases on the mock GPU bound to drm_dep through the HW-queue layer
 * (on-dep-hw.ts), with the kernel's assertions unchanged, under each ring policy, and under
 * every combination of drm_dep queue flags with the default policy (FIFO). Cases limited to
 * drm_dep (KunitCase.backends) apply here too: the layer is drm_dep underneath.
 */
import { describe, expect, it } from 'vitest';
import { DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS } from '@deplab/drm-dep';
import { DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, DRM_DEP_HW_POLICY_RR } from '@deplab/drm-dep-hw';
import { mock_dep_hw_backend } from './on-dep-hw.ts';
import { run_case } from './kunit/kunit.ts';
import { kunit_cases } from './kunit-cases.testlib.ts';
import { tests_basic } from './kunit/tests_basic.ts';
import { tests_scheduler } from './kunit/tests_scheduler.ts';

const configurations = [
  ['policy FIFO', DRM_DEP_HW_POLICY_FIFO, 0],
  ['policy RR', DRM_DEP_HW_POLICY_RR, 0],
  ['policy FAIR', DRM_DEP_HW_POLICY_FAIR, 0],
  ['policy FIFO, flags JOB_PUT_IRQ_SAFE', DRM_DEP_HW_POLICY_FIFO, DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE],
  ['policy FIFO, flags SUBMIT_BYPASS', DRM_DEP_HW_POLICY_FIFO, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS],
  ['policy FIFO, flags JOB_PUT_IRQ_SAFE|SUBMIT_BYPASS', DRM_DEP_HW_POLICY_FIFO, DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE | DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS],
] as const;

for (const [name, policy, flags] of configurations) {
  describe(`KUnit drm_dep + HW layer on the mock GPU, ${name}`, () => {
    const backend = mock_dep_hw_backend(policy, flags);
    for (const { label, c, param } of kunit_cases([...tests_basic, ...tests_scheduler], 'drm_dep')) {
      it(label, () => {
        const result = run_case(c, backend, param);
        expect(result.failures).toEqual([]);
        expect(result.status).toBe('pass');
      });
    }
  });
}
