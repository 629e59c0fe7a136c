/**
 * Behaviour diff between the two backends for one seed: per job (matched by logical id) and
 * per queue, each finding classified as
 *   equivalent           same outcome (timing aside);
 *   expected difference  a documented difference (docs/behaviour-differences.md, or a legacy
 *                        hazard in docs/legacy-hazards.md that drm_dep removes), named by rule;
 *   regression           anything else: an error that differs, a job that completes on one
 *                        side only, a reordered timeline, a violation only drm_dep shows.
 * The rules are data: each says what it matches and where it is documented.
 */
import { errno_name, ECANCELED, EIO, ESRCH, ETIME, ETIMEDOUT } from '@deplab/sim';
import type { Violation } from '@deplab/sim';
import type { JobRecord, Observation } from './observer.ts';

export type DiffClass = 'equivalent' | 'expected difference' | 'regression';

/**
 * Jobs present on one side only because that side's program ran more iterations (a program
 * bounded by duration_ms runs as many iterations as time allows) are not compared; they are
 * counted here.
 */
export interface Unmatched {
  readonly sched_only: number;
  readonly dep_only: number;
}

export interface JobDiff {
  readonly logical: string;
  readonly cls: DiffClass;
  /** Rule id for an expected difference; a short reason for a regression. */
  readonly reason: string;
  readonly doc: string | null;
  readonly sched: JobRecord | null;
  readonly dep: JobRecord | null;
}

export interface QueueDiff {
  readonly queue: string;
  readonly cls: DiffClass;
  readonly reason: string;
  readonly doc: string | null;
}

export interface ViolationDiff {
  readonly kind: string;
  readonly side: 'drm_sched' | 'drm_dep';
  readonly cls: DiffClass;
  readonly example: string;
  readonly doc: string | null;
}

export interface BehaviourDiff {
  readonly jobs: readonly JobDiff[];
  readonly queues: readonly QueueDiff[];
  readonly violations: readonly ViolationDiff[];
  readonly counts: Readonly<Record<DiffClass, number>>;
  readonly unmatched: Unmatched;
}

/** When each side destroyed (killed, closed) the job's queue: -1 if it never did. */
export interface KillTimes {
  readonly sched: number;
  readonly dep: number;
}

interface JobRule {
  readonly id: string;
  readonly doc: string;
  readonly matches: (a: JobRecord, b: JobRecord, kill: KillTimes) => boolean;
}

/** Errors a kill, ban or reset puts on a job caught in flight. */
const TEARDOWN_ERRORS = new Set([-ECANCELED, -ESRCH, -ETIME, -ETIMEDOUT, -EIO]);

function caught_by_kill(r: JobRecord, kill_ns: number): boolean {
  return kill_ns >= 0 && r.error !== null && TEARDOWN_ERRORS.has(r.error) && r.finished_ns >= kill_ns;
}

/** Documented per-job differences (docs/behaviour-differences.md, anchors by rule id). */
export const JOB_RULES: readonly JobRule[] = [
  {
    // drm_sched_entity_kill completes queued jobs with -ESRCH; drm_dep_queue_kill with -ECANCELED.
    id: 'kill-error-code',
    doc: 'docs/behaviour-differences.md#kill-error-code',
    matches: (a, b) => a.error === -ESRCH && b.error === -ECANCELED && a.run_ns < 0 && b.run_ns < 0,
  },
  {
    // Queue killed (Ctrl-C, ban) before the job ran: drm_dep cancels it unrun with -ECANCELED;
    // on drm_sched the driver still runs it on the dead queue, where it fails (xe: -ETIME from
    // the immediate TDR or -ECANCELED).
    id: 'kill-unstarted-cancelled',
    doc: 'docs/behaviour-differences.md#kill-unstarted-cancelled',
    matches: (a, b) => a.error !== null && a.error < 0 && a.run_ns >= 0 && b.error === -ECANCELED && b.run_ns < 0,
  },
  {
    // The queue was destroyed while jobs were in flight: which of them the kill catches (and,
    // on xe, which one the immediate TDR blames with -ETIME) depends on how far each side got
    // by then. Counted when at least one side failed the job at or after its kill and the
    // other either did the same or had completed it successfully before its own kill.
    id: 'killed-in-flight',
    doc: 'docs/behaviour-differences.md#killed-in-flight',
    matches: (a, b, kill) => (caught_by_kill(a, kill.sched) && (caught_by_kill(b, kill.dep) || (b.error === 0 && b.finished_ns < kill.dep)))
      || (caught_by_kill(b, kill.dep) && a.error === 0 && a.finished_ns < kill.sched),
  },
  {
    // A job the legacy model never completes (pending-list leak at fini without cancel_job)
    // that drm_dep completes with an error at teardown.
    id: 'teardown-completes-pending',
    doc: 'docs/legacy-hazards.md#fini-leak',
    matches: (a, b) => a.finished_ns < 0 && b.finished_ns >= 0 && b.error !== 0,
  },
];

/** Violation kinds the legacy model shows by design (docs/legacy-hazards.md). */
const LEGACY_HAZARD_KINDS = new Set(['leak', 'warn']);

function same_outcome(a: JobRecord, b: JobRecord): boolean {
  return a.submit_error === b.submit_error && (a.finished_ns >= 0) === (b.finished_ns >= 0) && a.error === b.error
    && (a.run_ns >= 0) === (b.run_ns >= 0);
}

function describe(r: JobRecord | null): string {
  if (r === null) return 'absent';
  if (r.submit_error !== 0) return `submit failed ${errno_name(r.submit_error)}`;
  if (r.finished_ns < 0) return r.run_ns >= 0 ? 'ran, never finished' : 'never ran, never finished';
  return `${r.run_ns >= 0 ? 'ran' : 'never ran'}, finished ${errno_name(r.error ?? 0)}`;
}

export function diff_runs(sched: Observation, dep: Observation, sched_violations: readonly Violation[], dep_violations: readonly Violation[]): BehaviourDiff {
  const kill_a = new Map(sched.queues.map((q) => [q.queue, q.destroy_call_ns]));
  const kill_b = new Map(dep.queues.map((q) => [q.queue, q.destroy_call_ns]));
  const kill_of = (r: JobRecord): KillTimes => ({
    sched: kill_a.get(`${r.client}/${r.queue}`) ?? -1, dep: kill_b.get(`${r.client}/${r.queue}`) ?? -1,
  });
  const by_logical = new Map<string, JobRecord>(dep.jobs.map((j) => [j.logical, j]));
  const last_iteration = (list: readonly JobRecord[]) => {
    const m = new Map<string, number>();
    for (const j of list) m.set(j.client, Math.max(m.get(j.client) ?? -1, j.iteration));
    return m;
  };
  const last_a = last_iteration(sched.jobs), last_b = last_iteration(dep.jobs);
  const jobs: JobDiff[] = [];
  const seen = new Set<string>();
  let sched_only = 0, dep_only = 0;
  for (const a of sched.jobs) {
    const b = by_logical.get(a.logical) ?? null;
    seen.add(a.logical);
    if (b === null && a.iteration > (last_b.get(a.client) ?? -1)) { sched_only++; continue; }
    jobs.push(classify_job(a, b, kill_of(a)));
  }
  for (const b of dep.jobs) {
    if (seen.has(b.logical)) continue;
    if (b.iteration > (last_a.get(b.client) ?? -1)) { dep_only++; continue; }
    jobs.push(classify_job(null, b, kill_of(b)));
  }
  const queues: QueueDiff[] = [];
  const names = new Set([...sched.signal_order.keys(), ...dep.signal_order.keys()]);
  for (const q of [...names].sort()) {
    const oa = sched.signal_order.get(q) ?? [], ob = dep.signal_order.get(q) ?? [];
    const common = new Set(oa.filter((x) => ob.includes(x)));
    const fa = oa.filter((x) => common.has(x)), fb = ob.filter((x) => common.has(x));
    const same = fa.every((x, i) => x === fb[i]);
    queues.push(same
      ? { queue: q, cls: 'equivalent', reason: 'same finished-fence order', doc: null }
      : { queue: q, cls: 'regression', reason: `finished fences signalled in a different order (first difference at position ${fa.findIndex((x, i) => x !== fb[i])})`, doc: null });
  }
  const violations: ViolationDiff[] = [];
  const kinds = (list: readonly Violation[]) => new Map(list.map((v) => [v.kind as string, v]));
  const ka = kinds(sched_violations), kb = kinds(dep_violations);
  for (const [kind, v] of ka) {
    if (kb.has(kind)) continue;
    violations.push({ kind, side: 'drm_sched', cls: LEGACY_HAZARD_KINDS.has(kind) ? 'expected difference' : 'regression',
      example: `${v.site}: ${v.message}`, doc: LEGACY_HAZARD_KINDS.has(kind) ? 'docs/legacy-hazards.md' : null });
  }
  for (const [kind, v] of kb) {
    if (ka.has(kind)) continue;
    violations.push({ kind, side: 'drm_dep', cls: 'regression', example: `${v.site}: ${v.message}`, doc: null });
  }
  const counts: Record<DiffClass, number> = { equivalent: 0, 'expected difference': 0, regression: 0 };
  for (const d of [...jobs, ...queues, ...violations]) counts[d.cls]++;
  return { jobs, queues, violations, counts, unmatched: { sched_only, dep_only } };
}

function classify_job(a: JobRecord | null, b: JobRecord | null, kill: KillTimes): JobDiff {
  const logical = (a ?? b)!.logical;
  if (a === null || b === null) {
    return { logical, cls: 'regression', reason: `submitted on one backend only (drm_sched: ${describe(a)}, drm_dep: ${describe(b)})`, doc: null, sched: a, dep: b };
  }
  if (same_outcome(a, b)) return { logical, cls: 'equivalent', reason: describe(a), doc: null, sched: a, dep: b };
  for (const rule of JOB_RULES) {
    if (rule.matches(a, b, kill)) return { logical, cls: 'expected difference', reason: rule.id, doc: rule.doc, sched: a, dep: b };
  }
  return { logical, cls: 'regression', reason: `drm_sched: ${describe(a)}; drm_dep: ${describe(b)}`, doc: null, sched: a, dep: b };
}
