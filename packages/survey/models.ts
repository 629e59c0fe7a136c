/**
 * The survey beside deplab's own models: a real driver that deplab also models (xe, panthor,
 * amdxdna; the mock is no real driver) gets its model's readiness verdict linked and its API
 * use compared, symbol by symbol, with the model's drm_sched binding (packages/report
 * api-usage.ts scan_drivers). And the per-driver summary the readiness report links to.
 */
import { readFileSync } from 'node:fs';
import type { ApiScan } from '@deplab/report';
import type { Survey } from './survey.ts';
import { driver_anchor } from './output.ts';

export interface ModelCheck {
  /** The survey's driver name (e.g. xe) and deplab's model folder (drivers/<model>). */
  readonly survey_driver: string;
  readonly model: string;
  /** drm_sched symbols the real driver uses and the model's on-sched.ts does not. */
  readonly real_only: readonly string[];
  /** Symbols the model uses that the real driver does not. */
  readonly model_only: readonly string[];
  readonly both: readonly string[];
  readonly uses_less: boolean;
  /** Scheduler-structure fields the real driver reaches (struct.field) and those the model's bindings reach. */
  readonly real_fields: readonly string[];
  readonly model_fields: readonly string[];
}

/** Model folders that stand for a real driver. */
export function modelled_drivers(scan: ApiScan): string[] {
  return scan.drivers.filter((d) => d !== 'mock');
}

export function compare_with_models(s: Survey, scan: ApiScan): ModelCheck[] {
  const out: ModelCheck[] = [];
  for (const model of modelled_drivers(scan)) {
    const d = s.drivers.find((x) => x.driver === model || x.driver.endsWith(`/${model}`));
    const binding = scan.bindings.find((b) => b.driver === model && b.backend === 'sched');
    if (d === undefined || binding === undefined) continue;
    const model_symbols = new Set(binding.symbols.filter((x) => x.module === '@deplab/drm-sched' && x.uses > 0).map((x) => x.symbol));
    // Types name the same things in C and in the model; compare every kind.
    const real = new Set(d.symbols.map((x) => x.symbol));
    const real_only = [...real].filter((x) => !model_symbols.has(x)).sort();
    const model_only = [...model_symbols].filter((x) => !real.has(x)).sort();
    out.push({
      survey_driver: d.driver, model, real_only, model_only, both: [...real].filter((x) => model_symbols.has(x)).sort(), uses_less: real_only.length > 0,
      real_fields: d.fields.map((f) => `${f.struct}.${f.field}`),
      model_fields: [...new Set(scan.internal.filter((a) => a.driver === model && a.file.endsWith('/on-sched.ts')).map((a) => a.member))].sort(),
    });
  }
  return out;
}

export interface SurveySummary {
  readonly driver: string;
  readonly dir: string;
  readonly path: string;
  readonly mapping: string;
  readonly reasons: readonly string[];
  readonly blockers: readonly string[];
  /** Link to the driver's section of the survey Markdown. */
  readonly link: string;
}

/**
 * Per-driver summary of a survey (the object, or the path of its survey.json), for the
 * readiness report: `survey_md` is the link to survey.md as seen from the report that links it.
 */
export function survey_summary(input: Survey | string, survey_md = 'survey/survey.md'): SurveySummary[] {
  let s: Survey;
  if (typeof input === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(input, 'utf8'));
    } catch (e) {
      throw new Error(`${input}: not a readable survey JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as Survey).drivers)) throw new Error(`${input}: not a survey JSON (no drivers array)`);
    s = parsed as Survey;
  } else {
    s = input;
  }
  return s.drivers.map((d) => ({ driver: d.driver, dir: d.dir, path: d.path, mapping: d.mapping, reasons: d.reasons, blockers: d.blockers, link: `${survey_md}#${driver_anchor(d.driver)}` }));
}
