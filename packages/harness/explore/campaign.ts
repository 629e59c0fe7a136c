/**
 * Campaigns: many seeds, each a generated case run once; findings deduplicated by kind and
 * site per backend, with the first seed of each driver variant kept as a replay token; the
 * first occurrences shrunk to reproducers. Seed and shrink tasks are plain data in and out,
 * so a worker pool can run them (packages/cli/cmd-explore.ts); results depend only on the
 * tasks, never on which thread ran them or when.
 */
import type { Backend } from '@deplab/driver-api';
import { COVERAGE_COUNTERS } from './coverage.ts';
import { run_case } from './execute.ts';
import { generate_case } from './generate.ts';
import { variant_label } from './profiles.ts';
import { shrink_case, type ShrinkStats } from './shrink.ts';
import { timeline } from './timeline.ts';
import { decode_token, encode_choices, encode_token } from './token.ts';
import { finding_key, type Coverage, type FaultKind, type Finding, type Strategy } from './types.ts';

export interface SeedTask {
  readonly driver: string;
  readonly backend: Backend;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  readonly strategy: Strategy;
  readonly pct_depth?: number;
  /** Preemption points inside bodies. */
  readonly preempt?: boolean;
}

export interface SeedReport {
  readonly seed: number;
  readonly backend: Backend;
  readonly variant: string;
  readonly jobs: number;
  readonly findings: readonly Finding[];
  /** Replay token of the run (only when it has findings). */
  readonly token: string | null;
  readonly choices: string;
  readonly coverage: Coverage;
}

/** Generate and run one seed. */
export function explore_seed(task: SeedTask): SeedReport {
  const c = generate_case(task);
  const run = run_case(c);
  const exact = { ...c, choices: run.choices };
  return {
    seed: task.seed, backend: task.backend, variant: variant_label(task.driver, task.backend, c.options.device),
    jobs: run.kernel === null ? 0 : run.kernel.trace.events.filter((e) => e.name === 'drm_sched_job_queue' || e.name === 'drm_dep_job_queue').length,
    findings: run.findings, token: run.findings.length > 0 ? encode_token(exact) : null,
    choices: encode_choices(run.choices), coverage: run.coverage,
  };
}

export interface ShrinkTask {
  readonly token: string;
  readonly key: string;
  readonly budget_runs?: number;
}

export interface ShrinkReport {
  readonly key: string;
  /** False when the token did not show the finding again (then nothing else is set). */
  readonly reproduced: boolean;
  readonly token: string | null;
  readonly before: ShrinkStats | null;
  readonly after: ShrinkStats | null;
  readonly runs: number;
  /** The trace up to the finding, from a full-detail replay of the shrunk case. */
  readonly timeline: string;
  readonly message: string;
}

export function shrink_task(task: ShrinkTask): ShrinkReport {
  const c = decode_token(task.token).case;
  const result = shrink_case(c, task.key, task.budget_runs);
  if (result === null) return { key: task.key, reproduced: false, token: null, before: null, after: null, runs: 0, timeline: '', message: '' };
  const full = run_case(result.case, { replay: 'exact', trace_detail: 'full' });
  const f = full.findings.find((x) => finding_key(x) === task.key) ?? result.run.findings.find((x) => finding_key(x) === task.key)!;
  return {
    key: task.key, reproduced: true, token: encode_token(result.case), before: result.before, after: result.after, runs: result.runs,
    timeline: full.kernel === null ? '' : timeline(full.kernel.trace.events, f.time_ns), message: f.message,
  };
}

/* ------------------------------------------------------------------------------------------ */
/* Aggregation                                                                                  */

export interface FindingGroup {
  readonly backend: Backend;
  readonly key: string;
  readonly kind: string;
  readonly site: string;
  readonly message: string;
  /** Seeds that showed it. */
  readonly seeds: number;
  /** First seed with its choice string and token, per driver variant. */
  readonly first: { readonly variant: string; readonly seed: number; readonly choices: string; readonly token: string; readonly count: number }[];
}

export interface BackendSummary {
  readonly backend: Backend;
  readonly seeds_run: number;
  readonly seeds_with_findings: number;
  readonly jobs: number;
  readonly variants: Readonly<Record<string, number>>;
  readonly groups: readonly FindingGroup[];
  readonly coverage_total: Coverage;
  readonly coverage_runs: Coverage;
}

export function summarize_campaign(reports: readonly SeedReport[]): BackendSummary[] {
  const out: BackendSummary[] = [];
  for (const backend of ['sched', 'dep', 'dep-hw'] as const) {
    const mine = reports.filter((r) => r.backend === backend).sort((a, b) => a.seed - b.seed);
    if (mine.length === 0) continue;
    const variants: Record<string, number> = {};
    const groups = new Map<string, { kind: string; site: string; message: string; seeds: number; first: Map<string, { seed: number; choices: string; token: string; count: number }> }>();
    const coverage_total: Coverage = {}, coverage_runs: Coverage = {};
    for (const { name } of COVERAGE_COUNTERS) { coverage_total[name] = 0; coverage_runs[name] = 0; }
    let jobs = 0;
    for (const r of mine) {
      variants[r.variant] = (variants[r.variant] ?? 0) + 1;
      jobs += r.jobs;
      for (const [name, n] of Object.entries(r.coverage)) {
        coverage_total[name] = (coverage_total[name] ?? 0) + n;
        if (n > 0) coverage_runs[name] = (coverage_runs[name] ?? 0) + 1;
      }
      for (const f of r.findings) {
        const key = finding_key(f);
        let g = groups.get(key);
        if (g === undefined) groups.set(key, (g = { kind: f.kind, site: f.site, message: f.message, seeds: 0, first: new Map() }));
        g.seeds++;
        const first = g.first.get(r.variant);
        if (first === undefined) g.first.set(r.variant, { seed: r.seed, choices: r.choices, token: r.token!, count: 1 });
        else first.count++;
      }
    }
    const list: FindingGroup[] = [...groups].map(([key, g]) => ({
      backend, key, kind: g.kind, site: g.site, message: g.message, seeds: g.seeds,
      first: [...g.first].map(([variant, x]) => ({ variant, ...x })).sort((a, b) => a.seed - b.seed),
    })).sort((a, b) => a.kind.localeCompare(b.kind) || a.site.localeCompare(b.site));
    out.push({
      backend, seeds_run: mine.length, seeds_with_findings: mine.filter((r) => r.findings.length > 0).length, jobs,
      variants, groups: list, coverage_total, coverage_runs,
    });
  }
  return out;
}

