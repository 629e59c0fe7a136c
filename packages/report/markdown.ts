/**
 * The comparison report in Markdown. The answer first (the main finding, derived from the
 * data), then the evidence: behaviour by guarantee with a replay token per case, outcomes of
 * jobs caught in races, violation groups with their triage, performance with honest statistics,
 * and what ran (seeds, digests, costs, assumptions). Tables are built with markdown-table; the
 * output is byte-stable for the same result (no dates, no host names, fixed number formats).
 */
import { markdownTable } from 'markdown-table';
import { COST_KEYS, format_cost_spec } from '@deplab/sim';
import { guarantee, triage, type ComparisonResult, type GroupComparison, type MetricComparison, type Triage } from '@deplab/harness';
import { main_finding } from './finding.ts';
import { sensitivity_markdown, type SensitivityResult } from './sensitivity.ts';
import { backend_label } from './labels.ts';
import { fmt, metric_value, p_value, pct, signed } from './numbers.ts';
import { md_cell_code, md_code } from './shell.ts';

export { fmt } from './numbers.ts';

export interface ReportContext {
  /** The exact command that regenerates this report. */
  readonly command: string;
  readonly version: string;
  /** The sensitivity sweep, if one was run: its section, and the families a headline verdict depends on. */
  readonly sensitivity?: SensitivityResult | null;
  /** Body of the "Charts" section (write_comparison_charts), if charts were written. */
  readonly charts?: string;
  /** Relative path from the report to the repository root, for links into docs/ (default ../../). */
  readonly root?: string;
}

const replay = (token: string) => md_code(`npx deplab replay ${token}`);

export function comparison_markdown(r: ComparisonResult, ctx: ReportContext): string {
  const root = ctx.root ?? '../../';
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const out: string[] = [];
  out.push(`# ${r.workload.name} on ${r.driver}: ${base} vs ${cand}`, '');
  out.push(`**Main finding.** ${main_finding(r, ctx.sensitivity)}`, '');
  if (r.workload.description !== '') out.push(r.workload.description, '');
  const assumptions = Object.entries(r.assume).map(([k, v]) => `${k}=${v}`).join(', ') || 'defaults (docs/assumptions.md)';
  out.push(markdownTable([
    ['', ''],
    ['workload', md_cell_code(r.workload.source)],
    ['driver', `${r.driver}${Object.keys(r.device).length > 0 ? ` (${Object.entries(r.device).map(([k, v]) => `${k}=${String(v)}`).join(', ')})` : ''}`],
    ['backends', `${base} (baseline) vs ${cand} (candidate)`],
    ['seeds', `${r.seeds.length} (${r.seeds[0]}..${r.seeds[r.seeds.length - 1]}), paired; ${r.n_eff} distinct run pair(s)${r.n_eff === 1 ? ': deterministic' : ''}`],
    ['cost profile', `${r.costs.profile} (every entry in the cost table at the end; docs/cost-model.md)`],
    ['assumptions', assumptions],
    ['deplab', ctx.version],
    ['reproduce', md_cell_code(ctx.command)],
  ]), '');
  out.push(...behaviour_section(r, root), ...races_section(r), ...violations_section(r, root), ...performance_section(r));
  if (ctx.sensitivity !== undefined && ctx.sensitivity !== null) out.push('## Sensitivity', '', sensitivity_markdown(ctx.sensitivity, root).trimEnd(), '');
  if (ctx.charts !== undefined) out.push('## Charts', '', ctx.charts.trimEnd(), '');
  if (r.workload.notes.length > 0) out.push('## Workload notes', '', ...r.workload.notes.map((n) => `- ${n}`), '');
  out.push(...runs_section(r));
  return out.join('\n') + '\n';
}

function behaviour_section(r: ComparisonResult, root: string): string[] {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const out = ['## Behaviour by guarantee', '',
    `Each guarantee ([docs/guarantees.md](${root}docs/guarantees.md)) is checked on every job (or run) it applies to. A *regression* holds on ${base} ` +
    `and breaks on ${cand} for the same job; an *improvement* the reverse. Jobs a kill, reset, timeout or unplug caught in flight are compared below as outcome shares, not job by job.`, ''];
  const rows = [['guarantee', `checked ${base} / ${cand}`, `broken ${base} / ${cand}`, 'regressions', 'improvements', 'broken on both']];
  for (const g of r.guarantees) {
    if (g.checked.baseline + g.checked.candidate === 0) continue;
    rows.push([`[\`${g.id}\`](${root}${guarantee(g.id).doc})`, `${g.checked.baseline} / ${g.checked.candidate}`, `${g.broken.baseline} / ${g.broken.candidate}`,
      String(g.diff.regression), String(g.diff.improvement), String(g.diff.both)]);
  }
  out.push(markdownTable(rows, { align: ['l', 'r', 'r', 'r', 'r', 'r'] }), '');
  const unchecked = r.guarantees.filter((g) => g.checked.baseline + g.checked.candidate === 0).map((g) => `\`${g.id}\``);
  if (unchecked.length > 0) out.push(`Not checked on this workload and driver: ${unchecked.join(', ')} (see each guarantee's scope).`, '');
  const cases = r.guarantees.flatMap((g) => g.examples);
  if (cases.length > 0) {
    out.push('Cases (the first few of each kind; counts above are complete):', '');
    for (const e of cases) {
      out.push(`- **${e.cls}** of \`${e.guarantee}\`: ${e.subject === '' ? 'the run' : `job \`${e.subject}\``}, seed ${e.seed}`);
      out.push(`  - ${base}: ${e.baseline}`, `  - ${cand}: ${e.candidate}`, `  - replay: ${replay(e.token)}`);
    }
    out.push('');
  }
  if (r.unmatched.baseline_only + r.unmatched.candidate_only > 0) {
    out.push(`Not compared: ${r.unmatched.baseline_only} job(s) on ${base} and ${r.unmatched.candidate_only} on ${cand} from program iterations ` +
      'the other side did not reach (programs bounded by time run as many iterations as their speed allows).', '');
  }
  if (r.situation_differs > 0) {
    out.push(`Not compared job by job: ${r.situation_differs} job(s) that a kill, reset, timeout or unplug caught in flight on one side only ` +
      '(timing decides which jobs are in flight); they count in the outcome shares of their situation below.', '');
  }
  return out;
}

function share(xs: readonly number[]): string {
  return `${(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length) * 100).toFixed(1)}%`;
}

function races_section(r: ComparisonResult): string[] {
  if (r.distributions.length === 0) return [];
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const out = ['## Jobs caught in races', '',
    'Jobs in flight when their queue was killed, a reset, timeout or fault hit the device, or it was unplugged, end one way or another depending on timing, ' +
    `on both backends. Per situation: the share of its jobs ending each way (mean over seeds; jobs summed over seeds), paired over seeds; a difference is stated only when ` +
    `it is significant after Holm's adjustment over these rows, or the same on every seed, and at least one percentage point.`, ''];
  const rows = [['situation', 'outcome', `${base} share (jobs)`, `${cand} share (jobs)`, 'difference', 'verdict']];
  for (const d of r.distributions) {
    const c = d.comparison;
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    const verdict = d.direction === null ? (c.verdict === 'too few runs' || c.verdict === 'deterministic' || c.verdict === 'identical' ? c.verdict : 'no difference proven')
      : `${cand} ${d.direction === 'candidate more' ? 'more' : 'fewer'} (${c.method === 'paired-t' ? `p ${p_value(c.p_holm)} Holm` : 'every seed'})`;
    rows.push([d.situation, d.outcome, `${share(d.baseline_share)} (${sum(d.baseline)})`, `${share(d.candidate_share)} (${sum(d.candidate)})`,
      `${c.delta >= 0 ? '+' : ''}${(c.delta * 100).toFixed(1)} pp`, verdict]);
  }
  out.push(markdownTable(rows, { align: ['l', 'l', 'r', 'r', 'r', 'l'] }), '');
  return out;
}

/** Triage of a group on the side(s) it appears on. */
export function group_triage(r: ComparisonResult, g: GroupComparison): Triage {
  const faults = r.workload.faults;
  const side = g.presence === 'baseline only' ? r.baseline : r.candidate;
  return triage(g, r.driver, side, faults);
}

function violations_section(r: ComparisonResult, root: string): string[] {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const out = ['## Violations', ''];
  if (r.groups.length === 0) return [...out, 'None on either backend.', ''];
  out.push(`Grouped by (kind, site, root cause); the backends are compared by which groups appear, not by how often (one mechanism may report several times). ` +
    `Each group is classified by the triage rules (packages/harness/run/triage.ts).`, '');
  const rows = [['group', `${base}: seeds (reports)`, `${cand}: seeds (reports)`, 'presence', 'class', 'cause']];
  for (const g of r.groups) {
    const t = group_triage(r, g);
    const seeds = (s: { seeds: readonly number[]; reports: number }) => (s.seeds.length === 0 ? '–' : `${s.seeds.length} (${s.reports})`);
    rows.push([`\`${g.kind}\` at ${g.site}${g.root !== '' ? `: ${g.root}` : ''}${g.details.length > 0 ? ` (${g.details.join('; ')})` : ''}`, seeds(g.baseline), seeds(g.candidate), g.presence, t.class,
      t.doc === null ? t.cause : `${t.cause} ([doc](${root}${t.doc}))`]);
  }
  out.push(markdownTable(rows), '');
  return out;
}

function performance_section(r: ComparisonResult): string[] {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const comparable = r.metrics.filter((m) => m.comparable), specific = r.metrics.filter((m) => !m.comparable);
  const tested = comparable.filter((m) => m.comparison.method === 'paired-t').length;
  const out = ['## Performance', '',
    `Per-seed differences ${cand} − ${base}. ${r.n_eff} distinct run pair(s) over ${r.seeds.length} seed(s): ` +
    (r.n_eff === 1 ? 'every seed gave the same runs, so each difference is exact (deterministic) and no interval, win count or verdict is given. '
      : r.n_eff < 3 ? 'too few distinct runs for a test; values are shown without verdicts. '
        : `paired Student t over the distinct runs; p-values adjusted with Holm's method over the ${tested} tested metrics. `) +
    'Negligible: below both 1% of the baseline and the metric\'s absolute threshold (docs/reports.md#statistics); % is not given on baselines below that threshold.', ''];
  const rows = [['metric', base, cand, 'delta', 'delta %', '95% CI', 'p (Holm)', 'verdict', `wins (${cand}:${base}:tie)`]];
  for (const m of comparable) rows.push(metric_row(m));
  out.push(markdownTable(rows, { align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'] }), '');
  if (r.percentile_bootstrap.length > 0) {
    out.push('Pooled latency percentiles (sketches merged over seeds, 0.1% relative accuracy), cluster bootstrap over distinct runs (500 resamples):', '');
    for (const b of r.percentile_bootstrap) {
      out.push(`- ${b.name}: delta ${fmt(b.interval.estimate)} µs, 95% interval [${fmt(b.interval.low)}, ${fmt(b.interval.high)}] over ${b.interval.clusters} runs`);
    }
    out.push('');
  } else if (r.bootstrap_note !== null) {
    out.push(`Pooled percentiles: ${r.bootstrap_note}.`, '');
  }
  if (specific.length > 0) {
    out.push('Backend-specific metrics: the events that end them differ in meaning between the backends (docs/reports.md#metrics), so they are shown side by side and never judged.', '');
    const srows = [['metric', base, cand]];
    for (const m of specific) srows.push([m.name, metric_value(m.name, m.comparison.mean_a), metric_value(m.name, m.comparison.mean_b)]);
    out.push(markdownTable(srows, { align: ['l', 'r', 'r'] }), '');
  }
  out.push(`Cost table (profile ${r.costs.profile}; a value is ns, or a distribution in the form --cost takes):`, '',
    markdownTable([['entry', 'value'], ...COST_KEYS.map((k) => [k, format_cost_spec(r.costs[k])])], { align: ['l', 'r'] }), '');
  return out;
}

function metric_row(m: MetricComparison): string[] {
  const c = m.comparison;
  const judged = c.method === 'paired-t';
  const verdict = c.verdict === 'deterministic' ? `deterministic (n_eff ${c.n_eff})` : c.verdict;
  return [m.name + (m.lower_is_better ? '' : ' (higher is better)'), fmt(c.mean_a), fmt(c.mean_b), signed(fmt(c.delta)), pct(c.delta_rel),
    judged ? `[${fmt(c.ci_low)}, ${fmt(c.ci_high)}]` : '–', judged ? p_value(c.p_holm) : '–', verdict, judged ? `${c.wins_b}:${c.wins_a}:${c.ties}` : '–'];
}

function runs_section(r: ComparisonResult): string[] {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const out = ['## Runs', ''];
  out.push(markdownTable([['seed', `${base} jobs`, `${cand} jobs`, `${base} trace`, `${cand} trace`],
    ...r.per_seed.map((s) => [String(s.seed), String(s.baseline.metrics.jobs_submitted), String(s.candidate.metrics.jobs_submitted),
      `\`${s.baseline.digest}\``, `\`${s.candidate.digest}\``])]), '');
  for (const s of r.per_seed.filter((x) => x.baseline.stuck !== null || x.candidate.stuck !== null)) {
    out.push(`- seed ${s.seed}: ${[s.baseline.stuck && `${base}: ${s.baseline.stuck}`, s.candidate.stuck && `${cand}: ${s.candidate.stuck}`].filter(Boolean).join('; ')}`);
  }
  if (!r.per_seed.every((s) => s.baseline.metrics.latency_exact && s.candidate.metrics.latency_exact)) {
    out.push('', 'Some runs had more samples than are kept exactly: their percentiles come from the 0.1%-accuracy sketch.');
  }
  return [...out, ''];
}
