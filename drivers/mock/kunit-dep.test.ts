/**
 * The same ported KUnit cases on the mock GPU bound to drm_dep, under every combination of
 * drm_dep queue flags. A case's assertions are unchanged unless docs/behaviour-differences.md
 * says drm_dep deliberately differs; the cases that assert drm_dep's own behaviour for those
 * differences are in on-dep.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS } from '@deplab/drm-dep';
import { mock_dep_backend } from './on-dep.ts';
import { run_case, type KunitCase } from './kunit/kunit.ts';
import { tests_basic } from './kunit/tests_basic.ts';
import { tests_scheduler } from './kunit/tests_scheduler.ts';

const flag_sets = [
  ['none', 0],
  ['JOB_PUT_IRQ_SAFE', DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE],
  ['SUBMIT_BYPASS', DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS],
  ['JOB_PUT_IRQ_SAFE|SUBMIT_BYPASS', DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE | DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS],
] as const;

function cases(list: readonly KunitCase[]): { label: string; c: KunitCase; param: number | null }[] {
  const out: { label: string; c: KunitCase; param: number | null }[] = [];
  for (const c of list) {
    if (c.backends !== undefined && !c.backends.includes('drm_dep')) continue;
    if (c.params === undefined) out.push({ label: `${c.suite}.${c.name}`, c, param: null });
    else c.params.forEach((p, i) => out.push({ label: `${c.suite}.${c.name} (${p.description})`, c, param: i }));
  }
  return out;
}

for (const [flags_name, flags] of flag_sets) {
  describe(`KUnit drm_dep on the mock GPU, flags ${flags_name}`, () => {
    const backend = mock_dep_backend(flags);
    for (const { label, c, param } of cases([...tests_basic, ...tests_scheduler])) {
      it(label, () => {
        const result = run_case(c, backend, param);
        expect(result.failures).toEqual([]);
      });
    }
  });
}
