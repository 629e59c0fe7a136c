/**
 * Triage-rule tests on real runs: a hand-written workload run as an exploration case (FIFO
 * order, the campaign's checks), its findings grouped and triaged exactly as a campaign report
 * does (campaign_subject, faults ['campaign'], the case's driver variant).
 */
import type { Backend } from '@deplab/driver-api';
import { run_case } from '../../explore/execute.ts';
import { variant_label } from '../../explore/profiles.ts';
import { finding_key, type ExploreCase, type OptionValue } from '../../explore/types.ts';
import { load_workload_json } from '../../workload/load-json.ts';
import { campaign_subject, triage } from '../triage.ts';

export interface CaseSpec {
  readonly driver: string;
  readonly backend: Backend;
  /** The workload as JSON (workload/README.md). */
  readonly workload: object;
  readonly device?: Readonly<Record<string, OptionValue>>;
  readonly costs?: Readonly<Record<string, number>>;
}

export function driver_case(spec: CaseSpec): ExploreCase {
  const loaded = load_workload_json(JSON.stringify(spec.workload), 'triage-case.json');
  if (!loaded.ok) throw new Error(`triage case: ${loaded.errors.map((e) => e.message).join('; ')}`);
  return {
    driver: spec.driver, backend: spec.backend, workload: loaded.workload, seed: 1, strategy: 'fifo', choices: null,
    options: { device: spec.device ?? {}, costs: spec.costs ?? {}, alloc_fail_probability: 0, pct_depth: 3, pct_horizon: 1 },
  };
}

/** Finding key (kind @ site) -> the rule that classifies it in a campaign report (null: unclassified). */
export function triaged_findings(spec: CaseSpec): Map<string, string | null> {
  const c = driver_case(spec);
  const variant = variant_label(c.driver, c.backend, c.options.device);
  const out = new Map<string, string | null>();
  for (const f of run_case(c).findings) {
    const key = finding_key(f);
    if (!out.has(key)) out.set(key, triage(campaign_subject(f.kind, f.site, f.message), c.driver, c.backend, ['campaign'], variant).rule);
  }
  return out;
}
