/**
 * The comparison as fixed-width plain text for a mail, within 80 columns: the main finding,
 * behaviour by guarantee (with replay commands split over continuation lines), jobs caught in
 * races, violation groups, then a summary table in the layout of the kernel test robot (mean ±
 * relative stddev, %change, mean ± relative stddev, metric) and a ministat-style block per judged
 * metric. The statistics are the comparison's own (docs/reports.md#statistics).
 */
import { cost_table_entries } from '@deplab/sim';
import { summarize, type ComparisonResult, type MetricComparison } from '@deplab/harness';
import { main_finding } from './finding.ts';
import { sensitivity_text, type SensitivityResult } from './sensitivity.ts';
import { backend_label } from './labels.ts';
import { p_value } from './numbers.ts';
import { group_triage } from './markdown.ts';
import { MAIL_WIDTH, wrap, wrap_text } from './wrap.ts';
import { plain_word_value, sh_quote, shell_words } from './shell.ts';

export { wrap };

export interface TextContext {
  readonly command: string;
  readonly version: string;
  /** The sensitivity sweep, if one was run: appended as text, and the families a headline verdict depends on. */
  readonly sensitivity?: SensitivityResult | null;
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

/**
 * A command to paste into a POSIX shell, split over lines ending in a backslash, within 80
 * columns. Lines break between shell words (never inside a quoted one); a word too long for a
 * line is cut: a replay token into pieces on indented lines (`deplab replay` joins its
 * arguments), any other word into pieces glued by a backslash-newline at the start of the next
 * line, each piece quoted on its own ('ab''cd' is one word), so the shell still reads one argument.
 */
export function command_lines(command: string, indent: string): string[] {
  const out: string[] = [];
  let current = indent;
  const room = () => MAIL_WIDTH - 2 - current.length;
  const flush = (continuation: string) => {
    out.push(`${current} \\`);
    current = continuation;
  };
  const words = shell_words(command);
  words.forEach((word, w) => {
    if (current.trim() !== '' && word.length + 1 > room()) flush(indent + '  ');
    if (word.length <= room()) {
      current = current.trim() === '' ? current + word : `${current} ${word}`;
      return;
    }
    const value = plain_word_value(word);
    if (w > 0 && words[w - 1] === 'replay' && value === word) {
      // A replay token: pieces as separate arguments.
      let rest = word;
      while (rest.length > 0) {
        if (current.trim() !== '' && room() < 9) flush(indent + '  ');
        const piece = rest.slice(0, Math.max(8, room() - 1));
        current = current.trim() === '' ? current + piece : `${current} ${piece}`;
        rest = rest.slice(piece.length);
      }
      return;
    }
    if (value === null) {
      current = current.trim() === '' ? current + word : `${current} ${word}`; // a form that cannot be cut: the line runs long
      return;
    }
    // One argument over lines: "piece\" then the next piece at column 0 (a backslash-newline joins them).
    let rest = value;
    let first = true;
    while (rest.length > 0) {
      const budget = Math.max(8, (first ? room() - (current.trim() === '' ? 0 : 1) : MAIL_WIDTH - 2) - 4);
      let n = Math.min(rest.length, budget);
      while (n > 1 && sh_quote(rest.slice(0, n)).length > budget) n--;
      if (n < rest.length && /[\uD800-\uDBFF]/.test(rest[n - 1])) n--; // never between the halves of a surrogate pair
      const piece = sh_quote(rest.slice(0, n));
      rest = rest.slice(n);
      if (first) current = current.trim() === '' ? current + piece : `${current} ${piece}`;
      else current = piece;
      first = false;
      if (rest.length > 0) { out.push(`${current}\\`); current = ''; }
    }
  });
  out.push(current);
  return out;
}

/** The kernel test robot's table: base on the left, candidate on the right, metric last. */
function robot_table(r: ComparisonResult): string[] {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const out = [
    `${base.padStart(16)} ${cand.padStart(27)}`,
    '---------------- ---------------------------',
    '         %stddev     %change         %stddev',
    '             \\          |                \\',
  ];
  for (const m of r.metrics.filter((x) => x.comparable)) {
    const c = m.comparison;
    const mark = c.verdict === 'better' || c.verdict === 'worse' ? ` (${c.verdict})` : '';
    out.push(...wrap(`${g(c.mean_a).padStart(10)} ${rel_stddev(m.baseline)} ${change(m).padStart(10)} ${g(c.mean_b).padStart(10)} ${rel_stddev(m.candidate)}  ${m.name}${mark}`,
      MAIL_WIDTH, ' '.repeat(48)));
  }
  return out;
}

function ministat_row(mark: string, values: readonly number[]): string {
  const s = summarize(values);
  return `${mark} ${String(s.n).padStart(3)} ${[s.min, s.max, s.p50, s.mean, stddev(values)].map((v) => g(v).padStart(12)).join(' ')}`;
}

/** ministat's comparison block for one metric, on the paired per-seed differences. */
export function ministat_block(m: MetricComparison, base = 'drm_sched', cand = 'drm_dep'): string[] {
  const c = m.comparison;
  const out = [
    `${m.name} (${m.lower_is_better ? 'lower' : 'higher'} is better)`,
    `x ${base}`,
    `+ ${cand}`,
    '      N          Min          Max       Median          Avg       Stddev',
    ministat_row('x', m.baseline),
    ministat_row('+', m.candidate),
  ];
  if (c.verdict === 'identical') {
    out.push('Identical on every seed.');
  } else if (c.method === 'deterministic') {
    out.push(`Deterministic: the same difference on every seed (${c.n_eff} distinct run pair(s)):`, `        ${g(c.delta)}`);
  } else if (c.method === 'too-few') {
    out.push(`Too few distinct runs (${c.n_eff}) for a test.`);
  } else if (c.verdict === 'no difference proven') {
    out.push(`No difference proven at 95.0% confidence (p ${p_value(c.p_holm)} after Holm)`);
  } else {
    const half = (c.ci_high - c.ci_low) / 2;
    out.push('Difference at 95.0% confidence', `        ${g(c.delta)} +/- ${g(half)}`);
    if (Number.isFinite(c.delta_rel)) out.push(`        ${(c.delta_rel * 100).toFixed(3)}% +/- ${((half / Math.abs(c.mean_a)) * 100).toFixed(3)}%`);
    out.push(`        (paired Student's t over ${c.n_eff} runs, p ${p_value(c.p_holm)} after Holm; ${c.verdict})`);
  }
  return out;
}

export function comparison_text(r: ComparisonResult, ctx: TextContext): string {
  const base = backend_label(r.baseline), cand = backend_label(r.candidate);
  const W = MAIL_WIDTH;
  const out: string[] = [
    ...wrap(`deplab ${ctx.version}: ${r.workload.name} on ${r.driver}, ${base} (x, base) vs ${cand} (+)`, W, '  '),
    ...wrap(`workload:    ${r.workload.source}`, W, ' '.repeat(13)),
    ...wrap(`seeds:       ${r.seeds.length} (${r.seeds[0]}..${r.seeds[r.seeds.length - 1]}), paired; ${r.n_eff} distinct run pair(s)`, W, ' '.repeat(13)),
    ...wrap(`assumptions: ${Object.entries(r.assume).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'}`, W, ' '.repeat(13)),
    ...wrap(`cost table:  ${cost_table_entries(r.costs).join(' ')}`, W, ' '.repeat(13)),
    'reproduce:', ...command_lines(ctx.command, '  '),
    '',
    ...wrap(`Main finding: ${main_finding(r, ctx.sensitivity)}`, W, '  '),
    '',
  ];
  const reg = r.guarantees.reduce((n, x) => n + x.diff.regression, 0), imp = r.guarantees.reduce((n, x) => n + x.diff.improvement, 0);
  const both = r.guarantees.reduce((n, x) => n + x.diff.both, 0);
  out.push(...wrap(`behaviour: ${reg} regression(s), ${imp} improvement(s), ${both} broken on both, over ${r.guarantees.filter((g) => g.checked.baseline + g.checked.candidate > 0).length} guarantees checked`, W, '  '));
  for (const e of r.guarantees.flatMap((x) => x.examples)) {
    out.push(...wrap(`  ${e.cls} of ${e.guarantee}: ${e.subject === '' ? 'the run' : e.subject}, seed ${e.seed}`, W, '    '));
    out.push(...wrap(`    ${base}: ${e.baseline}`, W, '      '), ...wrap(`    ${cand}: ${e.candidate}`, W, '      '));
    out.push(...command_lines(`npx deplab replay ${e.token}`, '    '));
  }
  for (const d of r.distributions.filter((x) => x.direction !== null)) {
    out.push(...wrap(`race: of jobs ${d.situation}, ${cand} ends ${d.direction === 'candidate more' ? 'more' : 'fewer'} "${d.outcome}" ` +
      `(${(d.comparison.delta * 100).toFixed(1)} pp)`, W, '  '));
  }
  out.push(r.groups.length === 0 ? 'violations: none on either backend' : `violations: ${r.groups.length} group(s)`);
  for (const gr of r.groups) {
    const t = group_triage(r, gr);
    out.push(...wrap(`  ${gr.kind} at ${gr.site} (${gr.presence}): ${t.class}`, W, '    '));
  }
  out.push('', ...robot_table(r));
  const negligible = r.metrics.filter((m) => m.comparison.verdict === 'negligible').map((m) => m.name);
  if (negligible.length > 0) out.push(...wrap(`negligible (proven, under both thresholds): ${negligible.join(', ')}`, W, '  '));
  for (const m of r.metrics.filter((x) => x.comparable)) {
    const c = m.comparison;
    if (c.verdict === 'identical' || c.verdict === 'negligible' || c.verdict === 'no difference proven' || c.verdict === 'too few runs') continue;
    out.push('', ...ministat_block(m, base, cand));
  }
  if (ctx.sensitivity !== undefined && ctx.sensitivity !== null) out.push('', sensitivity_text(ctx.sensitivity).trimEnd());
  // Whatever a part printed, the mail stays within its width.
  return wrap_text(out.join('\n') + '\n', MAIL_WIDTH);
}
