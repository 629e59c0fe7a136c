/**
 * The index of a report directory (README.md): the answer first, generated from the data. When
 * the directory holds a readiness result (readiness.json, written by `deplab readiness`), the
 * page opens with each driver's deprecation verdict, its robustness and the findings that decide
 * it, each linked to its evidence; then every comparison with its main finding.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable } from 'markdown-table';
import { backend_label, family_adjustment, main_finding, verdict_href } from '@deplab/report';
import { comparison_basename, type ComparisonOutput } from './cmd-compare.ts';
import { slug } from './options.ts';
import { md_code } from './quote.ts';

/** What readiness.json holds for the index (written by cmd-readiness.ts). */
export interface ReadinessSummary {
  readonly command: string;
  readonly drivers: readonly {
    readonly driver: string;
    readonly verdict: string;
    readonly robustness: string;
    readonly deciding: readonly { readonly text: string; readonly link: string }[];
  }[];
}

export function read_readiness_summary(dir: string): ReadinessSummary | null {
  const path = join(dir, 'readiness.json');
  if (!existsSync(path)) return null;
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { summary?: ReadinessSummary };
    return doc.summary ?? null;
  } catch {
    return null;
  }
}

export function index_markdown(results: readonly ComparisonOutput[], command: string, version: string, root: string, out_dir?: string): string {
  const lines = ['# deplab reports', ''];
  const readiness = out_dir === undefined ? null : read_readiness_summary(out_dir);
  if (readiness !== null) {
    lines.push('## The answer: can each driver leave drm_sched?', '',
      `From [readiness.md](readiness.md) (${md_code(readiness.command)}): each verdict rests on the driver's parity workloads, its fault matrix and its ` +
      'exploration campaign; *robustness* says whether it holds under every cost profile and modelling-assumption variant tried.', '');
    const rows = [['driver', 'verdict', 'robustness', 'what decides it']];
    for (const d of readiness.drivers) rows.push([d.driver, `**${d.verdict}**`, d.robustness, d.deciding.map((x) => `[${x.text}](${verdict_href(x.link, root)})`).join('; ') || '–']);
    lines.push(markdownTable(rows), '');
  } else {
    lines.push('No readiness result in this directory: run `deplab readiness` with the same `--out` for the per-driver deprecation verdicts.', '');
  }
  const family = family_adjustment(results.map((c) => c.result));
  lines.push('## Comparisons', '', `Regenerate with ${md_code(command)} (deplab ${version}). Each row is one driver and workload over paired seeds; ` +
    `the main finding is derived from the report's data. How to read the reports: [docs/reports.md](${root}docs/reports.md). ` +
    `A p-value is adjusted over the metrics of its own comparison (Holm); a difference that Holm's adjustment over every test of ` +
    `all ${results.length} rows (${family.tests} tests) does not prove says "not proven over the ${results.length} comparisons": it can be chance. ` +
    `A finding counts once a mechanism explains it ([docs/findings.md](${root}docs/findings.md#perf-default-report) traces the main findings).`, '');
  const rows = [['driver', 'workload', 'backends', 'seeds (distinct runs)', 'regressions', 'violation groups', 'main finding']];
  for (const c of results) {
    const r = c.result;
    const regressions = r.guarantees.reduce((n, g) => n + g.diff.regression, 0);
    rows.push([r.driver, `[${c.plan.workload_spec}](${slug(r.driver)}/${comparison_basename(c.plan)}.md)`, `${backend_label(r.baseline)} vs ${backend_label(r.candidate)}`,
      `${r.seeds.length} (${r.n_eff})`, String(regressions), String(r.groups.length), main_finding(r, c.sensitivity, family)]);
  }
  lines.push(markdownTable(rows), '');
  return lines.join('\n');
}
