/**
 * The same ported KUnit cases on the mock GPU bound to drm_dep, under every combination of
 * drm_dep queue flags. A case's assertions are unchanged unless docs/behaviour-differences.md
 * says drm_dep deliberately differs; the cases that assert drm_dep's own behaviour for those
 * differences are in on-dep.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS } from '@deplab/drm-dep';
import { mock_dep_backend } from './on-dep.ts';
import { run_case } from './kunit/kunit.ts';
import { kunit_cases } from './kunit-cases.testlib.ts';
import { tests_basic } from './kunit/tests_basic.ts';
import { tests_scheduler } from './kunit/tests_scheduler.ts';

const flag_sets = [
  ['none', 0],
  ['JOB_PUT_IRQ_SAFE', DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE],
  ['SUBMIT_BYPASS', DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS],
  ['JOB_PUT_IRQ_SAFE|SUBMIT_BYPASS', DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE | DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS],
] as const;

for (const [flags_name, flags] of flag_sets) {
  describe(`KUnit drm_dep on the mock GPU, flags ${flags_name}`, () => {
    const backend = mock_dep_backend(flags);
    for (const { label, c, param } of kunit_cases([...tests_basic, ...tests_scheduler], 'drm_dep')) {
      it(label, () => {
        const result = run_case(c, backend, param);
        expect(result.failures).toEqual([]);
      });
    }
  });
}
