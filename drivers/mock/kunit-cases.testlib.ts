/**
 * The ported KUnit cases one backend runs, one entry per case and parameter, with the label
 * KUnit prints (`suite.case (param)`): shared by the drm_sched, drm_dep and HW-queue suites.
 * A case limited to some backends (KunitCase.backends) runs only on those named; the HW-queue
 * binding counts as drm_dep (it is drm_dep underneath).
 */
import type { KunitCase } from './kunit/kunit.ts';

export function kunit_cases(list: readonly KunitCase[], backend: 'drm_sched' | 'drm_dep'): { label: string; c: KunitCase; param: number | null }[] {
  const out: { label: string; c: KunitCase; param: number | null }[] = [];
  for (const c of list) {
    if (c.backends !== undefined && !c.backends.includes(backend)) continue;
    if (c.params === undefined) out.push({ label: `${c.suite}.${c.name}`, c, param: null });
    else c.params.forEach((p, i) => out.push({ label: `${c.suite}.${c.name} (${p.description})`, c, param: i }));
  }
  return out;
}
