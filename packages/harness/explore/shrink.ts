/**
 * Shrinking: the smallest case that still shows a finding of the same kind and site. Delta
 * debugging (ddmin) over the workload's events, clients and steps, then fewer loops, unused
 * queues, fewer options, and finally the tie-breaker choices (a shorter prefix, fewer non-FIFO
 * entries). While the workload shrinks the recorded choices no longer fit it exactly, so
 * candidates replay them leniently; the result is re-run once to record its exact choices.
 */
import { check_workload } from '../workload/check.ts';
import type { BatchStep, ClientDefinition, Step, Workload, WorkloadEvent } from '../workload/types.ts';
import { run_case, type CaseRun } from './execute.ts';
import { finding_key, type ExploreCase } from './types.ts';

export interface ShrinkStats {
  readonly clients: number;
  readonly queues: number;
  readonly jobs: number;
  readonly events: number;
  /** Choices that differ from FIFO (the rest replay as FIFO). */
  readonly choices: number;
}

export interface ShrinkResult {
  /** The shrunk case with its exact choice record (trailing FIFO choices dropped). */
  readonly case: ExploreCase;
  readonly run: CaseRun;
  readonly before: ShrinkStats;
  readonly after: ShrinkStats;
  /** Runs spent. */
  readonly runs: number;
}

export function case_stats(c: ExploreCase, run: CaseRun): ShrinkStats {
  return {
    clients: c.workload.clients.length,
    queues: c.workload.clients.reduce((n, x) => n + x.queues.length, 0),
    jobs: run.kernel === null ? 0 : run.kernel.trace.events.filter((e) => e.name === 'drm_sched_job_queue' || e.name === 'drm_dep_job_queue').length,
    events: c.workload.events.length,
    choices: (c.choices ?? run.choices).filter((x) => x !== 0).length,
  };
}

/** Shrink `c` (whose choices are a run's exact record) keeping a finding with key `key`; null if `c` does not show it. */
export function shrink_case(c: ExploreCase, key: string, budget_runs = 400): ShrinkResult | null {
  let runs = 0;
  const shows = (x: ExploreCase): boolean => {
    if (runs >= budget_runs || check_workload(x.workload).length > 0) return false;
    runs++;
    return run_case(x, { replay: 'lenient' }).findings.some((f) => finding_key(f) === key);
  };
  const first = run_case(c, { replay: 'lenient' });
  if (!first.findings.some((f) => finding_key(f) === key)) return null;
  const before = case_stats(c, first);
  let cur = c;
  for (let round = 0; round < 3; round++) {
    const start = JSON.stringify(cur.workload) + JSON.stringify(cur.options) + String(cur.choices?.length);
    cur = with_workload(cur, { ...cur.workload, events: ddmin(cur.workload.events, (events) => shows(with_workload(cur, { ...cur.workload, events }))) });
    const names = ddmin(cur.workload.clients.map((x) => x.name), (kept) => shows(with_workload(cur, keep_clients(cur.workload, kept))));
    cur = with_workload(cur, keep_clients(cur.workload, names));
    for (const client of cur.workload.clients.map((x) => x.name)) cur = shrink_client(cur, client, shows);
    cur = shrink_options(cur, shows);
    cur = shrink_choices(cur, shows);
    if (JSON.stringify(cur.workload) + JSON.stringify(cur.options) + String(cur.choices?.length) === start) break;
  }
  // Record the exact choices of the shrunk run; FIFO past the end of the record.
  const recorded = run_case(cur, { replay: 'lenient' });
  const exact = [...recorded.choices];
  while (exact.length > 0 && exact[exact.length - 1] === 0) exact.pop();
  const final: ExploreCase = { ...cur, choices: exact };
  const run = run_case(final, { replay: 'exact' });
  if (!run.findings.some((f) => finding_key(f) === key)) return null;
  return { case: final, run, before, after: case_stats(final, run), runs: runs + 3 };
}

function with_workload(c: ExploreCase, workload: Workload): ExploreCase {
  return { ...c, workload };
}

/**
 * ddmin (Zeller): the smallest sub-list that still passes `test`, trying the empty list first,
 * then removing chunks of halving size. `test` returns false once the run budget is spent.
 */
export function ddmin<T>(items: readonly T[], test: (kept: readonly T[]) => boolean): T[] {
  if (items.length === 0) return [];
  if (test([])) return [];
  let cur = [...items];
  let n = 2;
  while (cur.length >= 2) {
    const size = Math.ceil(cur.length / n);
    let reduced = false;
    for (let start = 0; start < cur.length && !reduced; start += size) {
      const complement = [...cur.slice(0, start), ...cur.slice(start + size)];
      if (test(complement)) {
        cur = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  if (cur.length === 1 && test([])) return [];
  return cur;
}

/** Keep only the named clients; events and cross-client dependencies on the others go too. */
function keep_clients(w: Workload, names: readonly string[]): Workload {
  const keep = new Set(names);
  const clients = w.clients.filter((c) => keep.has(c.name)).map((c) => ({
    ...c,
    program: {
      ...c.program,
      steps: c.program.steps.map((s) => (s.kind === 'batch' ? { ...s, deps: s.deps.filter((d) => d.on !== 'last_job' || keep.has(d.client)) } : s)),
    },
  }));
  const events = w.events.filter((e) => {
    if (e.trigger.kind === 'after' && !keep.has(e.trigger.client)) return false;
    return !('client' in e.action) || keep.has(e.action.client);
  });
  return { ...w, clients, events };
}

/** Remove the steps at `drop` from one client's program, renumbering every reference to the rest. */
function remove_steps(w: Workload, client: string, drop: ReadonlySet<number>): Workload {
  const c = w.clients.find((x) => x.name === client)!;
  const steps = c.program.steps;
  const removed = new Set(drop);
  // A step that waits on, signals or terminates a removed step goes with it.
  for (let changed = true; changed;) {
    changed = false;
    steps.forEach((s, i) => {
      if (removed.has(i)) return;
      if ((s.kind === 'sync' || s.kind === 'signal' || s.kind === 'terminate') && removed.has(s.step_index)) { removed.add(i); changed = true; }
    });
  }
  const index = new Map<number, number>();
  steps.forEach((_, i) => { if (!removed.has(i)) index.set(i, index.size); });
  const renumber = (s: Step): Step => {
    switch (s.kind) {
      case 'batch': return { ...s, deps: s.deps.filter((d) => d.on !== 'step' || index.has(d.step_index)).map((d) => (d.on === 'step' ? { ...d, step_index: index.get(d.step_index)! } : d)) } as BatchStep;
      case 'sync': case 'signal': case 'terminate': return { ...s, step_index: index.get(s.step_index)! };
      default: return s;
    }
  };
  const new_steps = steps.filter((_, i) => !removed.has(i)).map(renumber);
  const events: WorkloadEvent[] = [];
  for (const e of w.events) {
    const t = e.trigger;
    if (t.kind !== 'after' || t.client !== client) { events.push(e); continue; }
    // A trigger on a removed step moves to the closest earlier step that stays.
    let i = t.step_index;
    while (i >= 0 && !index.has(i)) i--;
    if (i >= 0) events.push({ ...e, trigger: { ...t, step_index: index.get(i)! } });
  }
  const clients = w.clients.map((x) => (x.name === client ? { ...x, program: { ...x.program, steps: new_steps } } : x));
  return { ...w, clients, events };
}

function shrink_client(c: ExploreCase, client: string, shows: (x: ExploreCase) => boolean): ExploreCase {
  let cur = c;
  const def = (): ClientDefinition => cur.workload.clients.find((x) => x.name === client)!;
  // Fewer loops: one, else halves.
  const end = def().program.end;
  if (end.kind === 'loops' && end.loops > 1) {
    for (let loops = 1; loops < end.loops; loops = Math.max(loops + 1, Math.ceil((loops + end.loops) / 2))) {
      const candidate = set_loops(cur.workload, client, loops);
      if (shows(with_workload(cur, candidate))) { cur = with_workload(cur, candidate); break; }
    }
  }
  // Fewer steps.
  const all = def().program.steps.map((_, i) => i);
  const kept = ddmin(all, (k) => {
    const set = new Set(k);
    return k.length > 0 && shows(with_workload(cur, remove_steps(cur.workload, client, new Set(all.filter((i) => !set.has(i))))));
  });
  if (kept.length > 0 && kept.length < all.length) {
    const set = new Set(kept);
    cur = with_workload(cur, remove_steps(cur.workload, client, new Set(all.filter((i) => !set.has(i)))));
  }
  // Queues nothing refers to any more.
  const used = new Set<string>();
  for (const s of def().program.steps) if (s.kind === 'batch' || s.kind === 'set_priority') used.add(s.queue);
  for (const x of cur.workload.clients) for (const s of x.program.steps) if (s.kind === 'batch') for (const d of s.deps) if (d.on === 'last_job' && d.client === client) used.add(d.queue);
  for (const e of cur.workload.events) if ('queue' in e.action && e.action.client === client) used.add(e.action.queue);
  const queues = def().queues.filter((q) => used.has(q.name));
  if (queues.length > 0 && queues.length < def().queues.length) {
    const candidate = { ...cur.workload, clients: cur.workload.clients.map((x) => (x.name === client ? { ...x, queues } : x)) };
    if (shows(with_workload(cur, candidate))) cur = with_workload(cur, candidate);
  }
  return cur;
}

function set_loops(w: Workload, client: string, loops: number): Workload {
  const clients = w.clients.map((x) => (x.name === client ? { ...x, program: { ...x.program, end: { kind: 'loops' as const, loops } } } : x));
  const events = w.events.filter((e) => e.trigger.kind !== 'after' || e.trigger.client !== client || e.trigger.loop < loops);
  return { ...w, clients, events };
}

/** Drop device options, cost overrides and allocation failures that the finding does not need. */
function shrink_options(c: ExploreCase, shows: (x: ExploreCase) => boolean): ExploreCase {
  let cur = c;
  for (const key of Object.keys(cur.options.device)) {
    const { [key]: _, ...device } = cur.options.device;
    const candidate = { ...cur, options: { ...cur.options, device } };
    if (shows(candidate)) cur = candidate;
  }
  if (Object.keys(cur.options.costs).length > 0) {
    const candidate = { ...cur, options: { ...cur.options, costs: {} } };
    if (shows(candidate)) cur = candidate;
  }
  if (cur.options.alloc_fail_probability > 0) {
    const candidate = { ...cur, options: { ...cur.options, alloc_fail_probability: 0 } };
    if (shows(candidate)) cur = candidate;
  }
  return cur;
}

/** A shorter choice prefix (binary search), then as few non-FIFO choices as ddmin finds. */
function shrink_choices(c: ExploreCase, shows: (x: ExploreCase) => boolean): ExploreCase {
  const choices = c.choices ?? [];
  if (choices.every((x) => x === 0)) return { ...c, choices: [] };
  if (shows({ ...c, choices: [] })) return { ...c, choices: [] };
  let lo = 0, hi = choices.length; // shows(prefix hi) holds
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (shows({ ...c, choices: choices.slice(0, mid) })) hi = mid;
    else lo = mid;
  }
  const prefix = choices.slice(0, hi);
  const nonzero = prefix.flatMap((x, i) => (x !== 0 ? [i] : []));
  const kept = new Set(ddmin(nonzero, (k) => {
    const set = new Set(k);
    return shows({ ...c, choices: prefix.map((x, i) => (set.has(i) ? x : 0)) });
  }));
  return { ...c, choices: prefix.map((x, i) => (kept.has(i) ? x : 0)) };
}
