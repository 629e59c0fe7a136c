/**
 * Behaviour diff of one seed between a baseline and a candidate backend, by guarantee
 * (guarantees.ts, docs/guarantees.md). Jobs are matched by their logical id (the n-th job of a
 * queue); for every job-level guarantee a job is
 *   regression   checked and held on the baseline, broken on the candidate;
 *   improvement  broken on the baseline, checked and held on the candidate;
 *   both         broken on both (a finding about both schedulers, not a difference).
 * A guarantee that does not apply to the job on one side (e.g. job_result for a job caught by a
 * kill on that side) pairs nothing, and neither does a job whose situation differs between the
 * sides (a kill, reset, timeout or unplug caught it in flight on one side only: timing decides
 * that): where outcomes race by design the comparison is the outcome distributions per situation
 * (compare.ts), not job by job. Run-level guarantees are compared
 * as held / broken per run.
 */
import { JOB_BIT, JOB_GUARANTEES, type GuaranteeId } from './guarantees.ts';
import type { Break, GuaranteeTally, Observation, QueueMasks } from './monitor.ts';

export type GuaranteeDiffClass = 'regression' | 'improvement' | 'both';

export interface GuaranteeDiff {
  readonly guarantee: GuaranteeId;
  readonly cls: GuaranteeDiffClass;
  /** Job logical id, or '' for a run-level guarantee. */
  readonly subject: string;
  /** What each side shows: the break's message, or "held". */
  readonly baseline: string;
  readonly candidate: string;
}

export interface GuaranteeDiffCounts {
  regression: number;
  improvement: number;
  both: number;
}

/** Examples kept per (guarantee, class) per seed; counts stay exact. */
export const DIFF_EXAMPLES_MAX = 5;

export interface SeedDiff {
  readonly counts: Readonly<Partial<Record<GuaranteeId, GuaranteeDiffCounts>>>;
  readonly examples: readonly GuaranteeDiff[];
  /** Jobs present on one side only (a program bounded by time ran more iterations there): not compared. */
  readonly unmatched: { readonly baseline_only: number; readonly candidate_only: number };
  /** Jobs that would have differed but whose situation differs between the sides: not compared job by job. */
  readonly situation_differs: number;
}

function message(tally: GuaranteeTally | undefined, subject: string): string {
  return tally?.examples.find((b: Break) => b.subject === subject)?.message ?? 'broken';
}

export function diff_seed(a_masks: ReadonlyMap<string, QueueMasks>, b_masks: ReadonlyMap<string, QueueMasks>, a: Observation, b: Observation): SeedDiff {
  const counts: Partial<Record<GuaranteeId, GuaranteeDiffCounts>> = {};
  const examples: GuaranteeDiff[] = [];
  const shown = new Map<string, number>();
  const note = (g: GuaranteeId, cls: GuaranteeDiffClass, subject: string) => {
    const c = (counts[g] ??= { regression: 0, improvement: 0, both: 0 });
    c[cls]++;
    const key = `${g}|${cls}`;
    const n = shown.get(key) ?? 0;
    if (n >= DIFF_EXAMPLES_MAX) return;
    shown.set(key, n + 1);
    examples.push({
      guarantee: g, cls, subject,
      baseline: cls === 'improvement' || cls === 'both' ? message(a.guarantees[g], subject) : 'held',
      candidate: cls === 'regression' || cls === 'both' ? message(b.guarantees[g], subject) : 'held',
    });
  };
  let baseline_only = 0, candidate_only = 0, situation_differs = 0;
  const keys = [...new Set([...a_masks.keys(), ...b_masks.keys()])].sort();
  for (const key of keys) {
    const qa = a_masks.get(key), qb = b_masks.get(key);
    const na = qa?.count ?? 0, nb = qb?.count ?? 0;
    if (na > nb) baseline_only += na - nb;
    if (nb > na) candidate_only += nb - na;
    const n = Math.min(na, nb);
    for (let i = 0; i < n; i++) {
      const app_a = qa!.applicable[i], br_a = qa!.broken[i], app_b = qb!.applicable[i], br_b = qb!.broken[i];
      if ((br_a | br_b) === 0) continue;
      const sa = qa!.situation[i], sb = qb!.situation[i];
      const raced = sa !== sb && (sa !== 'undisturbed' || sb !== 'undisturbed');
      let skipped = false;
      for (const g of JOB_GUARANTEES) {
        const bit = JOB_BIT[g];
        const broken_a = (br_a & bit) !== 0, broken_b = (br_b & bit) !== 0;
        const held_a = (app_a & bit) !== 0 && !broken_a, held_b = (app_b & bit) !== 0 && !broken_b;
        if (broken_a && broken_b) note(g, 'both', `${key}#${i}`);
        else if (raced && ((held_a && broken_b) || (broken_a && held_b))) skipped = true;
        else if (held_a && broken_b) note(g, 'regression', `${key}#${i}`);
        else if (broken_a && held_b) note(g, 'improvement', `${key}#${i}`);
      }
      if (skipped) situation_differs++;
    }
  }
  for (const g of ['tdr_late', 'credit_leak', 'score_leak'] as const) {
    const ta = a.guarantees[g], tb = b.guarantees[g];
    const checked_a = (ta?.checked ?? 0) > 0, checked_b = (tb?.checked ?? 0) > 0;
    const broken_a = (ta?.broken ?? 0) > 0, broken_b = (tb?.broken ?? 0) > 0;
    const first = (t: GuaranteeTally | undefined) => t?.examples[0]?.message ?? 'held';
    const cls: GuaranteeDiffClass | null = broken_a && broken_b ? 'both' : broken_b && checked_a ? 'regression' : broken_a && checked_b ? 'improvement' : null;
    if (cls === null) continue;
    const c = (counts[g] ??= { regression: 0, improvement: 0, both: 0 });
    c[cls]++;
    examples.push({ guarantee: g, cls, subject: '', baseline: first(ta), candidate: first(tb) });
  }
  return { counts, examples, unmatched: { baseline_only, candidate_only }, situation_differs };
}
