/**
 * The comparison report in Markdown: header (what ran and how to reproduce it), the A/B table
 * with paired statistics, the behaviour diff with one concrete job per finding, violations,
 * and per-seed trace digests. Tables are built with markdown-table; output is byte-stable for
 * the same result (no dates, no host names, fixed number formats).
 */
import { markdownTable } from 'markdown-table';
import { cost_table_entries, errno_name } from '@deplab/sim';
import type { ComparisonResult, JobRecord } from '@deplab/harness';

export interface ReportContext {
  /** The exact command that regenerates this report. */
  readonly command: string;
  readonly version: string;
  /** Body of the "Sensitivity" section (sensitivity_markdown), if a sweep was run. */
  readonly sensitivity?: string;
  /** Body of the "Charts" section (write_comparison_charts), if charts were written. */
  readonly charts?: string;
}

export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return x.toFixed(0);
  if (abs >= 1) return x.toFixed(digits);
  return x.toPrecision(3);
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : 'n/a';
}

function t(ns: number): string {
  return ns < 0 ? '-' : `${(ns / 1000).toFixed(1)}`;
}

function timeline(r: JobRecord | null): string {
  if (r === null) return 'not submitted';
  if (r.submit_error !== 0) return `submit failed ${errno_name(r.submit_error)}`;
  const err = r.error === null ? 'never signalled' : errno_name(r.error);
  return `submit ${t(r.submitted_ns)}, run ${t(r.run_ns)}, hw done ${t(r.hw_done_ns)}, finished ${t(r.finished_ns)} (${err}), freed ${t(r.freed_ns)}${r.timedout ? ', timed out' : ''}`;
}

export function comparison_markdown(r: ComparisonResult, ctx: ReportContext): string {
  const out: string[] = [];
  out.push(`# ${r.workload.name} on ${r.driver}: drm_sched vs drm_dep`, '');
  if (r.workload.description !== '') out.push(r.workload.description, '');
  out.push(markdownTable([
    ['', ''],
    ['workload', `\`${r.workload.source}\``],
    ['driver', r.driver],
    ['seeds', `${r.seeds.length} (${r.seeds[0]}..${r.seeds[r.seeds.length - 1]}), paired`],
    ['cost table', cost_table_entries(r.costs).join(', ')],
    ['deplab', ctx.version],
    ['reproduce', `\`${ctx.command}\``],
  ]), '');
  out.push('## Performance', '', 'Per-seed differences drm_dep − drm_sched; 95% confidence interval from Student t over the seeds. Times in µs.', '');
  const rows: string[][] = [['metric', 'drm_sched', 'drm_dep', 'delta', 'delta %', '95% CI', 'verdict', 'wins (dep:sched:tie)']];
  for (const m of r.metrics) {
    const c = m.comparison;
    rows.push([m.name + (m.lower_is_better ? '' : ' (higher is better)'), fmt(c.mean_a), fmt(c.mean_b), fmt(c.delta), pct(c.delta_rel),
      `[${fmt(c.ci_low)}, ${fmt(c.ci_high)}]`, c.verdict, `${c.wins_b}:${c.wins_a}:${c.ties}`]);
  }
  out.push(markdownTable(rows, { align: ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'r'] }), '');
  if (r.percentile_bootstrap.length > 0) {
    out.push('Pooled latency percentiles, cluster bootstrap over seeds (500 resamples):', '');
    for (const b of r.percentile_bootstrap) {
      out.push(`- ${b.name}: delta ${fmt(b.interval.estimate)} µs, 95% interval [${fmt(b.interval.low)}, ${fmt(b.interval.high)}]`);
    }
    out.push('');
  }
  if (ctx.sensitivity !== undefined) out.push('## Sensitivity', '', ctx.sensitivity.trimEnd(), '');
  if (ctx.charts !== undefined) out.push('## Charts', '', ctx.charts.trimEnd(), '');
  out.push('## Behaviour', '');
  out.push(markdownTable([
    ['class', 'findings'],
    ['equivalent', String(r.diff_counts.equivalent)],
    ['expected difference', String(r.diff_counts['expected difference'])],
    ['regression', String(r.diff_counts.regression)],
  ]), '');
  if (r.unmatched.sched_only + r.unmatched.dep_only > 0) {
    out.push(`Not compared: ${r.unmatched.sched_only} jobs on drm_sched and ${r.unmatched.dep_only} on drm_dep from program iterations ` +
      'the other side did not reach (programs bounded by time run as many iterations as their speed allows).', '');
  }
  if (r.diff_examples.length > 0) {
    out.push('One job per distinct finding (times in µs of virtual time):', '');
    for (const e of r.diff_examples) {
      const d = e.diff;
      out.push(`- **${d.cls}**: ${d.reason}${d.doc !== null ? ` ([why](../../${d.doc}))` : ''}, job \`${d.logical}\`, seed ${e.seed}`);
      out.push(`  - drm_sched: ${timeline(d.sched)}`);
      out.push(`  - drm_dep: ${timeline(d.dep)}`);
    }
    out.push('');
  }
  for (const q of r.queue_diffs.slice(0, 10)) out.push(`- queue \`${q.queue}\` (seed ${q.seed}): ${q.cls}: ${q.reason}`);
  if (r.queue_diffs.length > 0) out.push('');
  out.push('## Violations', '');
  const kinds = [...new Set([...Object.keys(r.violations.sched), ...Object.keys(r.violations.dep)])].sort();
  if (kinds.length === 0) out.push('None on either backend.', '');
  else {
    out.push(markdownTable([['kind', 'drm_sched', 'drm_dep'], ...kinds.map((k) => [k, String(r.violations.sched[k] ?? 0), String(r.violations.dep[k] ?? 0)])]), '');
    for (const v of r.violation_diffs.slice(0, 10)) out.push(`- ${v.kind} only on ${v.side} (seed ${v.seed}, ${v.cls}): ${v.example}`);
    out.push('');
  }
  if (r.workload.notes.length > 0) {
    out.push('## Workload notes', '', ...r.workload.notes.map((n) => `- ${n}`), '');
  }
  out.push('## Runs', '');
  out.push(markdownTable([['seed', 'drm_sched jobs', 'drm_dep jobs', 'drm_sched trace', 'drm_dep trace'],
    ...r.per_seed.map((s) => [String(s.seed), String(s.sched.jobs_submitted), String(s.dep.jobs_submitted), `\`${s.digest_sched}\``, `\`${s.digest_dep}\``])]), '');
  const stuck = r.per_seed.filter((s) => s.stuck_sched !== null || s.stuck_dep !== null);
  for (const s of stuck) out.push(`- seed ${s.seed}: ${s.stuck_sched ?? ''} ${s.stuck_dep ?? ''}`);
  return out.join('\n') + '\n';
}
