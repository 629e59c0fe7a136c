/**
 * Violations triaged, not counted. A run's kernel violations are grouped by (kind, site, root
 * cause): the site is where the acquisition or allocation that closed a lockdep cycle happened
 * (or where a WARN fired, a sleep was attempted, ...), and it is the root cause: one upstream
 * GFP_KERNEL allocation under several annotated workers is one group however many lock chains
 * lead to it (the chains are kept as the group's details). For a leak the root is the type left
 * alive. Backends are compared by their *sets* of groups, never by raw counts. Each group is
 * classified by the first rule of TRIAGE_RULES that matches it; a group no rule matches is
 * "unclassified", which a committed report must never contain.
 */
import type { Backend } from '@deplab/driver-api';
import type { Violation } from '@deplab/sim';
import { AMDXDNA_RULES } from './triage-rules/amdxdna.ts';
import { HARNESS_RULES } from './triage-rules/harness.ts';
import { LEGACY_RULES } from './triage-rules/legacy.ts';
import { MOCK_RULES } from './triage-rules/mock.ts';
import { PANFROST_RULES } from './triage-rules/panfrost.ts';
import { PANTHOR_RULES } from './triage-rules/panthor.ts';
import { XE_RULES } from './triage-rules/xe.ts';

export type TriageClass =
  /** The schedulers differ: a guarantee or rule drm_dep (or the baseline) breaks and the other keeps. */
  | 'scheduler difference'
  /** A real driver bug, present upstream (drm_dep's annotations may be what exposes it, or it shows on drm_sched too): fix in the driver before converting. */
  | 'latent driver bug'
  /** A documented hazard of the legacy scheduler (docs/legacy-hazards.md) that drm_dep removes. */
  | 'legacy hazard'
  /** Follows from the fault the run injected (allocation failure, unplug with work in flight, ...). */
  | 'expected under fault'
  /** A defect of deplab's driver model: must be fixed, never shipped. */
  | 'driver-model defect'
  /** A defect of deplab's harness. */
  | 'harness bug'
  | 'unclassified';

export interface ViolationGroup {
  /** kind | site | root: the identity compared across backends. */
  readonly key: string;
  readonly kind: string;
  readonly site: string;
  /** The leaked type for a leak; empty otherwise (the site is the root cause). */
  readonly root: string;
  readonly count: number;
  /** The distinct reports of the group, numbers taken out (e.g. the lock chains of a lockdep site), at most DETAILS_MAX. */
  readonly details: readonly string[];
  /** The first report of the group: time, context, message, the first detail lines. */
  readonly first: { readonly time_ns: number; readonly context: string; readonly message: string; readonly detail: readonly string[] };
}

const DETAILS_MAX = 8;

/** The root cause of a report beyond its site: the leaked type of a leak. */
export function root_of(v: Violation): string {
  if (v.kind === 'leak') return v.message.slice(0, v.message.indexOf(' ') >= 0 ? v.message.indexOf(' ') : undefined);
  return '';
}

/** Numbers (times, ids, seqnos, counts) out of a text, so that runs of one mechanism group together. */
function normalize(text: string): string {
  return text.replace(/0x[0-9a-f]+/gi, 'N').replace(/\d+(\.\d+)?/g, 'N');
}

export function group_violations(list: readonly Violation[]): ViolationGroup[] {
  const groups = new Map<string, { kind: string; site: string; root: string; count: number; details: string[]; first: Violation }>();
  for (const v of list) {
    const root = root_of(v);
    const key = `${v.kind} | ${v.site} | ${root}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { kind: v.kind, site: v.site, root, count: 0, details: [], first: v }));
    g.count++;
    const d = normalize(v.message);
    if (g.details.length < DETAILS_MAX && !g.details.includes(d)) g.details.push(d);
  }
  return [...groups.entries()].map(([key, g]) => ({
    key, kind: g.kind, site: g.site, root: g.root, count: g.count, details: g.details,
    first: { time_ns: g.first.time_ns, context: g.first.context, message: g.first.message, detail: g.first.detail.slice(0, 4) },
  })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What a rule is matched against: a group's identity and its distinct reports. */
export type TriageSubject = Pick<ViolationGroup, 'kind' | 'site' | 'root' | 'details'>;

export interface TriageRule {
  readonly id: string;
  readonly kind?: RegExp;
  readonly site?: RegExp;
  readonly root?: RegExp;
  /** Matches when any of the group's reports matches. */
  readonly detail?: RegExp;
  readonly drivers?: readonly string[];
  readonly backends?: readonly Backend[];
  /** Only when the run injected this fault (workload events or exploration faults). */
  readonly under_fault?: readonly string[];
  /** Only for an exploration seed whose driver variant (e.g. `no_cancel_job`, `tdr=stop_no_hang`) matches. */
  readonly variant?: RegExp;
  readonly class: Exclude<TriageClass, 'unclassified'>;
  /** One line: the mechanism. */
  readonly cause: string;
  /** Where it is written up (docs/findings.md#..., docs/legacy-hazards.md#..., a driver README). */
  readonly doc: string;
}

/**
 * Every known group, most specific rule first: each driver's own, then drm_sched's legacy
 * hazards, then the harness's. Adding a rule is a claim: it names the mechanism and where it is
 * written up (triage-rules/triage-rules.test.ts checks that every document and anchor exists),
 * with a model test behind the mechanism.
 */
export const TRIAGE_RULES: readonly TriageRule[] = [
  ...MOCK_RULES, ...XE_RULES, ...PANTHOR_RULES, ...AMDXDNA_RULES, ...PANFROST_RULES, ...LEGACY_RULES, ...HARNESS_RULES,
];

export interface Triage {
  readonly class: TriageClass;
  readonly rule: string | null;
  readonly cause: string;
  readonly doc: string | null;
}

export function triage(g: TriageSubject, driver: string, backend: Backend, faults: readonly string[] = [], variant = ''): Triage {
  for (const r of TRIAGE_RULES) {
    if (r.variant !== undefined && !r.variant.test(variant)) continue;
    if (r.kind !== undefined && !r.kind.test(g.kind)) continue;
    if (r.site !== undefined && !r.site.test(g.site)) continue;
    if (r.root !== undefined && !r.root.test(g.root)) continue;
    if (r.detail !== undefined && !g.details.some((d) => r.detail!.test(d))) continue;
    if (r.drivers !== undefined && !r.drivers.includes(driver)) continue;
    if (r.backends !== undefined && !r.backends.includes(backend)) continue;
    if (r.under_fault !== undefined && !r.under_fault.some((f) => faults.includes(f))) continue;
    return { class: r.class, rule: r.id, cause: r.cause, doc: r.doc };
  }
  return { class: 'unclassified', rule: null, cause: `${g.kind} at ${g.site}: ${g.details[0] ?? ''}`, doc: null };
}

/**
 * An exploration group as a triage subject: a campaign's site for a leak carries the leaked type
 * ("after unplug: drm_sched_job"), which a comparison keeps apart as the group's root.
 */
export function campaign_subject(kind: string, site: string, message: string): TriageSubject {
  const m = kind === 'leak' ? /^(.*): (\S+)$/.exec(site) : null;
  return m === null ? { kind, site, root: '', details: [message] } : { kind, site: m[1], root: m[2], details: [message] };
}
