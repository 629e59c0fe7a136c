/**
 * Readiness verdicts with provenance. A driver's verdict rests on its behaviour evidence (the
 * parity workloads and the fault matrix, each a comparison of drm_sched with the driver's
 * drm_dep path over paired seeds) and on its exploration campaign, judged item by item:
 *
 *   blocked                  a guarantee that holds on drm_sched breaks on drm_dep (a regression),
 *                            or a violation group only drm_dep shows that triage calls a scheduler
 *                            difference; each blocker names its guarantee or group, the runs, the
 *                            seeds, a replay token and a one-line cause;
 *   ready after driver fixes no blocker, but drm_dep's annotations expose latent driver bugs
 *                            (listed: fix them in the driver before converting);
 *   ready                    nothing of the above;
 *   not assessed             something the verdict would rest on was not exercised or not
 *                            classified (an unclassified violation group, a driver-model or harness
 *                            defect, a fault the driver cannot take): no verdict rests on an
 *                            unclassified item.
 *
 * Code blockers (legacy API left in the drm_dep binding, internal accesses) block too. Robustness:
 * the same judgement under each variant (cost profiles, modelling assumption values); a verdict
 * that changes under one "depends on" it.
 */
import type { Backend } from '@deplab/driver-api';
import { campaign_subject, triage, type ComparisonResult, type GroupComparison, type Triage, type TriageClass } from '@deplab/harness';
import { backend_label } from './labels.ts';

export type VerdictKind = 'ready' | 'ready after driver fixes' | 'blocked' | 'not assessed';

/** One comparison the verdict rests on: a parity workload or a fault of the matrix. */
export interface RunEvidence {
  readonly kind: 'parity' | 'fault';
  /** The workload (parity) or the fault (fault matrix). */
  readonly label: string;
  /** Where its report is (relative to the readiness report), if one was written. */
  readonly report: string | null;
  readonly result: ComparisonResult;
}

/** A campaign's findings for one backend (from `<out>/explore/<driver>.json`). */
export interface CampaignGroup {
  readonly kind: string;
  readonly site: string;
  readonly seeds: number;
  readonly message: string;
  readonly first: readonly { readonly variant: string; readonly seed: number; readonly token: string }[];
}

export interface CampaignEvidence {
  readonly report: string;
  readonly command: string;
  readonly backends: readonly { readonly backend: Backend; readonly seeds_run: number; readonly groups: readonly CampaignGroup[] }[];
}

/** One item of a verdict, with what it rests on. */
export interface VerdictItem {
  readonly text: string;
  /** The guarantee, violation group or finding it is about. */
  readonly about: string;
  /** Runs (workload or fault), seeds and a replay token, as far as they apply. */
  readonly runs: readonly string[];
  readonly seeds: readonly number[];
  readonly token: string | null;
  readonly cause: string;
  /** Where it is written up or shown (a report, docs/findings.md#...). */
  readonly link: string | null;
}

export interface DriverJudgement {
  readonly verdict: VerdictKind;
  readonly blockers: readonly VerdictItem[];
  /** Latent driver bugs drm_dep exposes: fix before converting. */
  readonly fixes: readonly VerdictItem[];
  /** Differences that decide nothing on their own but a reader should know (race shares, legacy hazards removed, improvements). */
  readonly findings: readonly VerdictItem[];
  /** What was not exercised or not classified. */
  readonly not_assessed: readonly string[];
}

/** The faults a readiness fault matrix covers (the exploration --faults names). */
export const FAULT_MATRIX = ['hang', 'engine-reset', 'device-reset', 'ctrl-c', 'unplug', 'alloc-fail'] as const;

function group_item(r: RunEvidence, g: GroupComparison, t: Triage, cand: Backend): VerdictItem {
  const side = g.presence === 'baseline only' ? r.result.baseline : cand;
  return {
    text: `${g.kind} at ${g.site}${g.root === '' ? '' : `: ${g.root}`}${g.presence === 'both' ? '' : ` (${backend_label(side)} only)`}`,
    about: `violation group ${g.key}`, runs: [r.label], seeds: [...new Set([...g.baseline.seeds, ...g.candidate.seeds])].sort((a, b) => a - b),
    token: null, cause: t.cause, link: t.doc ?? r.report,
  };
}

/** Judge a driver from its run evidence and campaign (code blockers come in as items already made). */
export function judge_driver(runs: readonly RunEvidence[], campaign: CampaignEvidence | null, code_blockers: readonly VerdictItem[],
  expected_faults: readonly string[], driver: string): DriverJudgement {
  const blockers: VerdictItem[] = [...code_blockers], fixes: VerdictItem[] = [], findings: VerdictItem[] = [], not_assessed: string[] = [];
  if (runs.filter((r) => r.kind === 'parity').length === 0) not_assessed.push('no parity workload ran');
  const ran_faults = new Set(runs.filter((r) => r.kind === 'fault').map((r) => r.label));
  for (const f of expected_faults) if (!ran_faults.has(f)) not_assessed.push(`fault ${f} was not exercised`);
  const seen_groups = new Set<string>();
  for (const r of runs) {
    const res = r.result;
    for (const g of res.guarantees) {
      const reg = g.examples.find((e) => e.cls === 'regression');
      if (g.diff.regression > 0) {
        blockers.push({
          text: `regression of \`${g.id}\`: ${g.diff.regression} case(s)`, about: `guarantee ${g.id}`, runs: [r.label], seeds: g.regression_seeds,
          token: reg?.token ?? null, cause: reg === undefined ? 'see the report' : reg.candidate, link: r.report,
        });
      }
      if (g.diff.improvement > 0) {
        const imp = g.examples.find((e) => e.cls === 'improvement');
        findings.push({
          text: `improvement of \`${g.id}\`: drm_sched breaks it ${g.diff.improvement} time(s), ${backend_label(res.candidate)} keeps it`, about: `guarantee ${g.id}`,
          runs: [r.label], seeds: [], token: imp?.token ?? null, cause: imp === undefined ? '' : imp.baseline, link: r.report,
        });
      }
    }
    for (const d of res.distributions) {
      if (d.direction === null) continue;
      findings.push({
        text: `of jobs ${d.situation}, ${backend_label(res.candidate)} ends ${d.direction === 'candidate more' ? 'more' : 'fewer'} "${d.outcome}" (${(d.comparison.delta * 100).toFixed(1)} pp)`,
        about: `race ${d.situation}`, runs: [r.label], seeds: res.seeds, token: null, cause: 'outcome shares of jobs caught in the race, paired over seeds', link: r.report,
      });
    }
    for (const g of res.groups) {
      const side = g.presence === 'baseline only' ? res.baseline : res.candidate;
      const t = triage(g, driver, side, res.workload.faults);
      const key = `${t.class}|${g.key}`;
      if (seen_groups.has(key)) continue;
      seen_groups.add(key);
      classify(t.class, group_item(r, g, t, res.candidate), g.presence, { blockers, fixes, findings, not_assessed });
    }
  }
  if (campaign === null) not_assessed.push('no exploration campaign in this output (deplab explore)');
  else {
    const sched_keys = new Set(campaign.backends.filter((b) => b.backend === 'sched').flatMap((b) => b.groups.map((g) => `${g.kind} @ ${g.site}`)));
    for (const b of campaign.backends) {
      if (b.backend === 'sched') continue;
      for (const g of b.groups) {
        const presence = sched_keys.has(`${g.kind} @ ${g.site}`) ? 'both' : 'candidate only';
        // Triaged per driver variant (a rule may hold for one flag combination only); one item per class.
        const by_class = new Map<string, { t: ReturnType<typeof triage>; first: CampaignGroup['first'][number][] }>();
        for (const f of g.first) {
          const t = triage(campaign_subject(g.kind, g.site, g.message), driver, b.backend, ['campaign'], f.variant);
          const k = `${t.class}|${t.rule}`;
          if (!by_class.has(k)) by_class.set(k, { t, first: [] });
          by_class.get(k)!.first.push(f);
        }
        for (const { t, first } of by_class.values()) {
          const variants = by_class.size > 1 ? `, variant(s) ${first.map((f) => f.variant).join(', ')}` : '';
          const item: VerdictItem = {
            text: `campaign: ${g.kind} at ${g.site} (${g.seeds} seed(s)${variants}${presence === 'both' ? ', also on drm_sched' : ''})`, about: `campaign group ${g.kind} @ ${g.site}`,
            runs: [`explore ${backend_label(b.backend)}`], seeds: first.map((f) => f.seed), token: first[0]?.token ?? null, cause: t.cause, link: t.doc ?? campaign.report,
          };
          classify(t.class, item, presence, { blockers, fixes, findings, not_assessed });
        }
      }
    }
  }
  const verdict: VerdictKind = not_assessed.some((x) => x.startsWith('unclassified') || x.startsWith('defect') || x === 'no parity workload ran') ? 'not assessed'
    : blockers.length > 0 ? 'blocked' : fixes.length > 0 ? 'ready after driver fixes' : 'ready';
  return { verdict, blockers, fixes, findings, not_assessed };
}

function classify(cls: TriageClass, item: VerdictItem, presence: string, into: { blockers: VerdictItem[]; fixes: VerdictItem[]; findings: VerdictItem[]; not_assessed: string[] }): void {
  switch (cls) {
    case 'scheduler difference':
      if (presence === 'baseline only') into.findings.push({ ...item, text: `${item.text}: drm_dep removes it` });
      else if (presence === 'candidate only') into.blockers.push(item);
      else into.findings.push({ ...item, text: `${item.text}: on both schedulers` });
      break;
    case 'latent driver bug': into.fixes.push(item); break;
    case 'legacy hazard': case 'expected under fault': into.findings.push(item); break;
    case 'driver-model defect': case 'harness bug': into.not_assessed.push(`defect of deplab (${cls}): ${item.text}: ${item.cause}`); break;
    case 'unclassified': into.not_assessed.push(`unclassified: ${item.text} (${item.runs.join(', ')}): ${item.cause}`); break;
  }
}
