/**
 * Real groups for rule tests: a small JSON workload run as one exploration case (FIFO order,
 * drm_sched unless told), its findings grouped by kind and site as a campaign groups them and
 * triaged with the case's driver variant, as `deplab explore` does.
 */
import type { Backend } from '@deplab/driver-api';
import { run_case } from '../../explore/execute.ts';
import { variant_label } from '../../explore/profiles.ts';
import type { OptionValue } from '../../explore/types.ts';
import { load_workload_json } from '../../workload/index.ts';
import { campaign_subject, triage } from '../triage.ts';

export interface ScenarioOptions {
  readonly backend?: Backend;
  /** Cost-table overrides, as a campaign's `slow-kworker` fault sets them. */
  readonly costs?: Readonly<Record<string, number>>;
}

/** Every group of the run (`kind @ site`, a leak's site naming its type): its first report and the rule that classifies it, or null. */
export function scenario_groups(driver: string, device: Readonly<Record<string, OptionValue>>, workload: object, opts: ScenarioOptions = {}):
  Map<string, { readonly message: string; readonly rule: string | null }> {
  const backend = opts.backend ?? 'sched';
  const loaded = load_workload_json(JSON.stringify({ name: 'rule-test', ...workload }), 'rule-test.json');
  if (!loaded.ok) throw new Error(`bad test workload: ${JSON.stringify(loaded.errors)}`);
  const run = run_case({
    driver, backend, workload: loaded.workload, seed: 1, strategy: 'fifo', choices: null,
    options: { device, costs: { ...opts.costs }, alloc_fail_probability: 0, pct_depth: 3, pct_horizon: 0 },
  });
  const variant = variant_label(driver, backend, device);
  const groups = new Map<string, { message: string; rule: string | null }>();
  for (const f of run.findings) {
    const key = `${f.kind} @ ${f.site}`;
    if (!groups.has(key)) groups.set(key, { message: f.message, rule: triage(campaign_subject(f.kind, f.site, f.message), driver, backend, ['campaign'], variant).rule });
  }
  return groups;
}

/** Every group of the run with the rule that classifies it, or null. */
export function triaged_groups(driver: string, device: Readonly<Record<string, OptionValue>>, workload: object, opts: ScenarioOptions = {}): Map<string, string | null> {
  return new Map([...scenario_groups(driver, device, workload, opts)].map(([key, g]) => [key, g.rule]));
}

/** One client `name` with one render queue `q` running `steps` once. */
export function client(name: string, steps: readonly object[], queues: readonly object[] = [{ name: 'q', engine: 'render' }]): object {
  return { name, queues, program: { loops: 1, steps } };
}
