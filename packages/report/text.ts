/**
 * The comparison as fixed-width plain text, to paste into a mail: a summary table in the
 * layout of the kernel test robot (mean ± relative stddev, %change, mean ± relative stddev,
 * metric), then a ministat-style block per metric that differs (N, min, max, median, average,
 * stddev per side and the 95% difference, or "No difference proven at 95.0% confidence").
 * The statistics are those of the comparison: per-seed paired differences, Student t.
 */
import { cost_table_entries } from '@deplab/sim';
import { summarize, type ComparisonResult, type MetricComparison } from '@deplab/harness';

export interface TextContext {
  readonly command: string;
  readonly version: string;
  /** sensitivity_text() output, appended when a sweep was run. */
  readonly sensitivity?: string;
}

/** ministat's %g-like number: six significant digits, no exponent for ordinary magnitudes. */
export function g(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e9 || abs < 1e-4) return x.toExponential(3);
  return String(Number(x.toPrecision(6)));
}

/** Sample stddev, with floating-point noise on constant data (1e-16 of the mean) shown as 0. */
function stddev(values: readonly number[]): number {
  const s = summarize(values);
  return s.n < 2 || s.stddev <= 1e-9 * Math.max(1, Math.abs(s.mean)) ? 0 : s.stddev;
}

function rel_stddev(values: readonly number[]): string {
  const s = summarize(values);
  if (s.mean === 0 || stddev(values) === 0) return '     ';
  return `± ${String(Math.min(999, Math.round((100 * s.stddev) / Math.abs(s.mean)))).padStart(2)}%`;
}

function change(m: MetricComparison): string {
  const c = m.comparison;
  if (c.verdict === 'identical') return '';
  if (!Number.isFinite(c.delta_rel)) return `${c.delta >= 0 ? '+' : ''}${g(c.delta)}`;
  const p = c.delta_rel * 100;
  // Keep the column: changes of 10000% and more in exponent form, as the robot does.
  return `${p >= 0 ? '+' : ''}${Math.abs(p) >= 1e4 ? p.toExponential(1) : p.toFixed(1)}%`;
}

/** The kernel test robot's table: base on the left, candidate on the right, metric last. */
function robot_table(r: ComparisonResult): string[] {
  const out = [
    '       drm_sched                     drm_dep',
    '---------------- ---------------------------',
    '         %stddev     %change         %stddev',
    '             \\          |                \\',
  ];
  for (const m of r.metrics) {
    const c = m.comparison;
    const mark = c.verdict === 'better' || c.verdict === 'worse' ? ` (${c.verdict})` : '';
    out.push(`${g(c.mean_a).padStart(10)} ${rel_stddev(m.sched)} ${change(m).padStart(10)} ${g(c.mean_b).padStart(10)} ${rel_stddev(m.dep)}  ${m.name}${mark}`);
  }
  return out;
}

function ministat_row(mark: string, values: readonly number[]): string {
  const s = summarize(values);
  return `${mark} ${String(s.n).padStart(3)} ${[s.min, s.max, s.p50, s.mean, stddev(values)].map((v) => g(v).padStart(13)).join(' ')}`;
}

/** ministat's comparison block for one metric, on the paired per-seed differences. */
export function ministat_block(m: MetricComparison): string[] {
  const c = m.comparison;
  const out = [
    `${m.name} (${m.lower_is_better ? 'lower' : 'higher'} is better)`,
    'x drm_sched',
    '+ drm_dep',
    '      N           Min           Max        Median           Avg        Stddev',
    ministat_row('x', m.sched),
    ministat_row('+', m.dep),
  ];
  if (c.verdict === 'identical') {
    out.push('Identical on every seed.');
  } else if (c.verdict === 'no difference proven') {
    out.push(c.n < 2 ? 'No difference proven at 95.0% confidence (one seed: no interval)' : 'No difference proven at 95.0% confidence');
  } else {
    const half = (c.ci_high - c.ci_low) / 2;
    out.push('Difference at 95.0% confidence', `        ${g(c.delta)} +/- ${g(half)}`);
    if (Number.isFinite(c.delta_rel)) out.push(`        ${(c.delta_rel * 100).toFixed(3)}% +/- ${((half / Math.abs(c.mean_a)) * 100).toFixed(3)}%`);
    out.push(`        (paired Student's t over ${c.n} seeds; verdict: ${c.verdict}${c.verdict === 'negligible' ? ', under 1% of drm_sched' : ''})`);
  }
  return out;
}

/** Break a line at spaces to at most `width` characters, continuation lines indented. */
export function wrap(line: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      out.push(current);
      current = indent + word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

export function comparison_text(r: ComparisonResult, ctx: TextContext): string {
  const seeds = `${r.seeds.length} (${r.seeds[0]}..${r.seeds[r.seeds.length - 1]}), paired`;
  const out: string[] = [
    `deplab ${ctx.version}: ${r.workload.name} on ${r.driver}, drm_sched (x, base) vs drm_dep (+)`,
    `workload:   ${r.workload.source}`,
    `seeds:      ${seeds}`,
    ...wrap(`cost table: ${cost_table_entries(r.costs).join(' ')}`, 78, '            '),
    `reproduce:  ${ctx.command}`,
    '',
    ...robot_table(r),
    '',
    `behaviour: ${r.diff_counts.equivalent} equivalent, ${r.diff_counts['expected difference']} expected differences, ${r.diff_counts.regression} regressions` +
      (r.unmatched.sched_only + r.unmatched.dep_only > 0 ? ` (${r.unmatched.sched_only + r.unmatched.dep_only} jobs not compared)` : ''),
  ];
  for (const e of r.diff_examples.filter((x) => x.diff.cls === 'regression').slice(0, 5)) {
    out.push(`  regression: ${e.diff.reason}, job ${e.diff.logical}, seed ${e.seed}`);
  }
  const kinds = [...new Set([...Object.keys(r.violations.sched), ...Object.keys(r.violations.dep)])].sort();
  out.push(kinds.length === 0 ? 'violations: none on either backend'
    : `violations: ${kinds.map((k) => `${k} ${r.violations.sched[k] ?? 0} (drm_sched) / ${r.violations.dep[k] ?? 0} (drm_dep)`).join(', ')}`);
  // Negligible differences (proven, under 1%) get one line; every other difference its block.
  const negligible = r.metrics.filter((m) => m.comparison.verdict === 'negligible').map((m) => m.name);
  if (negligible.length > 0) out.push(...wrap(`negligible (proven, under 1% of drm_sched): ${negligible.join(', ')}`, 78, '  '));
  for (const m of r.metrics) {
    if (m.comparison.verdict === 'identical' || m.comparison.verdict === 'negligible') continue;
    out.push('', ...ministat_block(m));
  }
  if (ctx.sensitivity !== undefined) out.push('', ctx.sensitivity.trimEnd());
  return out.join('\n') + '\n';
}
