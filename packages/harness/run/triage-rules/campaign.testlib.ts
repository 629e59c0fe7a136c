/**
 * Rule tests on real groups: one exploration case built from a workload, run as a campaign runs
 * it, its findings grouped by (kind, site) and triaged as the campaign report triages them.
 */
import type { Backend } from '@deplab/driver-api';
import { run_case } from '../../explore/execute.ts';
import { variant_label } from '../../explore/profiles.ts';
import type { ExploreCase, OptionValue } from '../../explore/types.ts';
import { load_workload_json } from '../../workload/load-json.ts';
import { campaign_subject, triage } from '../triage.ts';

export function explore_case(driver: string, backend: Backend, workload: object, device: Record<string, OptionValue> = {}, costs: Record<string, number> = {}): ExploreCase {
  const loaded = load_workload_json(JSON.stringify(workload), `${driver}-rule-test.json`);
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('; '));
  return {
    driver, backend, workload: loaded.workload, seed: 1, strategy: 'fifo', choices: null,
    options: { device, costs, alloc_fail_probability: 0, pct_depth: 3, pct_horizon: 0 },
  };
}

/** Each (kind, site) group of the run (a leak's site names the leaked type): its first report and the rule that classifies it, null if none. */
export function campaign_groups(c: ExploreCase): Map<string, { readonly message: string; readonly rule: string | null }> {
  const run = run_case(c);
  const variant = variant_label(c.driver, c.backend, c.options.device);
  const out = new Map<string, { message: string; rule: string | null }>();
  for (const f of run.findings) {
    const key = `${f.kind} @ ${f.site}`;
    if (!out.has(key)) out.set(key, { message: f.message, rule: triage(campaign_subject(f.kind, f.site, f.message), c.driver, c.backend, ['campaign'], variant).rule });
  }
  return out;
}

/** Each (kind, site) group of the run with the rule that classifies it. */
export function campaign_triage(c: ExploreCase): Map<string, string | null> {
  return new Map([...campaign_groups(c)].map(([key, g]) => [key, g.rule]));
}
