/**
 * The invariants every exploration run is checked against, after the run (the models check the
 * kernel rules themselves while they run; those arrive here as kernel violations):
 *
 * - kernel violations, each as a finding: fence_double_signal (a fence signalled twice),
 *   use_after_free, double_free, refcount_underflow, leak (alive after full teardown), the
 *   lockdep kinds, sleep_in_atomic, gfp_in_atomic, warn, bug, hang (a teardown or wait that
 *   never ends: the runner's stuck flag / SimulationHang);
 * - never_signalled: every submitted job's finished fence signals by the end of teardown;
 * - signal_order: fences of one queue signal in submission order, unless both fences carry an
 *   error (error paths such as drm_sched's newest-first cancel may reorder cancelled jobs);
 * - dependency_order: no job runs before its dependencies allow it. A dependency on another
 *   ring must have finished. One on the same ring only needs to have been run (or finished):
 *   drm_sched pipelines same-scheduler dependencies on the scheduled fence, and drm_dep drops
 *   fences of the job's own queue (its jobs run in order), so only "ran before its dependency
 *   even ran" is a violation there. Order is causal (trace emission order), not timestamps:
 *   bodies run atomically with a local clock, so a hardirq body that signals a fence at local
 *   time t may be followed by a kworker body whose local clock reads less than t;
 * - score_leak: a `*_score` tracepoint (drm_sched_score: the scheduler's load score at fini)
 *   must read 0: every job that added to it took it back (the site names the likely debtors);
 * - credit_leak: where the driver fixes the credits of a job, a run tracepoint's credit count
 *   (hw_job_count) never exceeds the credits of the jobs in flight on that ring; drm_sched has
 *   no public credit accessor, so this reads the tracepoint both models emit;
 * - tdr_late: with a TDR period T, the device never goes T plus slack without progress (a
 *   hardware completion or a timeout) while a job is in flight on it. The slack covers the
 *   jiffy rounding of delayed work and the kworker wake-ups on the way, not a TDR re-armed by
 *   later job starts (drm_sched's mod_delayed_work in job_begin).
 */
import { ESRCH, type Violation } from '@deplab/sim';
import type { JobRecord, Observation } from '../run/observer.ts';
import type { RunOutcome } from '../run/runner.ts';
import type { Finding } from './types.ts';

export interface InvariantContext {
  /** The TDR period the device runs with, or null (no tdr_late check). */
  readonly timeout_ms: number | null;
  /** Credits of every job, if the driver fixes them (no credit_leak check otherwise). */
  readonly credits_per_job: number | null;
}

const MS = 1_000_000;

export function check_invariants(outcome: RunOutcome, obs: Observation, ctx: InvariantContext): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (f: Finding) => {
    const key = `${f.kind}\u0000${f.site}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(f);
  };
  for (const v of outcome.kernel.violations.list) add(from_violation(v));
  if (outcome.stuck_at === 'teardown') add({ kind: 'hang', site: 'teardown', message: outcome.stuck ?? '', time_ns: outcome.kernel.now() });
  const facts = trace_facts(outcome);
  never_signalled(obs, outcome.kernel.now(), add);
  signal_order(obs, add);
  dependency_order(obs, facts, add);
  score_leak(outcome, obs, add);
  if (ctx.credits_per_job !== null) credit_leak(outcome, facts, ctx.credits_per_job, add);
  if (ctx.timeout_ms !== null) tdr_late(outcome, obs, facts, ctx.timeout_ms, add);
  return findings;
}

/** A kernel violation as a finding; a leak's site names the leaked type (one site covers all leaks). */
export function from_violation(v: Violation): Finding {
  const site = v.kind === 'leak' ? `${v.site}: ${v.message.slice(0, v.message.indexOf(' '))}` : v.site;
  return { kind: v.kind, site, message: v.message, time_ns: v.time_ns };
}

/** What the invariants read from the trace beyond the observer's records. */
interface TraceFacts {
  /** Ring (scheduler or queue) each job ran on, by logical id. */
  readonly ring: Map<string, string>;
  /** Trace index of each job's run tracepoint and of its finished fence's signal (causal order). */
  readonly run_index: Map<string, number>;
  readonly finished_index: Map<string, number>;
  /** Timeout tracepoints, in time order. */
  readonly timeouts_ns: number[];
  /** First unplug call, or Infinity. */
  readonly unplug_ns: number;
  /** Device recoveries [start, done] from the drivers' reset tracepoints (RESET_TRACEPOINTS). */
  readonly resets: [number, number][];
}

/**
 * Driver tracepoints bracketing a whole-device recovery (phase 'start' / 'done'). The
 * schedulers are stopped inside (drm_sched_stop / drm_dep_queue_stop cancel the TDR), so no
 * timeout is due until the recovery ends.
 */
const RESET_TRACEPOINTS: ReadonlySet<string> = new Set(['xe_gt_reset', 'panthor_reset']);

function fence_key(context: number, seqno: number): string {
  return `${context}:${seqno}`;
}

function trace_facts(outcome: RunOutcome): TraceFacts {
  const logical = new Map<string, string>();
  for (const j of outcome.jobs) if (j.submit_error === 0) logical.set(fence_key(j.fence_context, j.fence_seqno), j.logical);
  const ring = new Map<string, string>();
  const run_index = new Map<string, number>();
  const finished_index = new Map<string, number>();
  const timeouts_ns: number[] = [];
  let unplug_ns = Infinity;
  const resets: [number, number][] = [];
  let reset_start = -1;
  const events = outcome.kernel.trace.events;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (ev.name === 'drm_sched_job_run' || ev.name === 'drm_dep_job_run') {
      const l = logical.get(fence_key(ev.args.fence_context as number, ev.args.fence_seqno as number));
      if (l !== undefined && !ring.has(l)) { ring.set(l, String(ev.args.ring)); run_index.set(l, i); }
    } else if (ev.name === 'dma_fence_signaled') {
      const l = logical.get(fence_key(ev.args.context as number, ev.args.seqno as number));
      if (l !== undefined && !finished_index.has(l)) finished_index.set(l, i);
    } else if (ev.name === 'drm_sched_job_timedout' || ev.name === 'drm_dep_job_timedout') {
      timeouts_ns.push(ev.t_ns);
    } else if (ev.name === 'harness_unplug' && ev.args.phase === 'call' && unplug_ns === Infinity) {
      unplug_ns = ev.t_ns;
    } else if (RESET_TRACEPOINTS.has(ev.name)) {
      if (ev.args.phase === 'start') reset_start = ev.t_ns;
      else if (ev.args.phase === 'done' && reset_start >= 0) { resets.push([reset_start, ev.t_ns]); reset_start = -1; }
    }
  }
  if (reset_start >= 0) resets.push([reset_start, Infinity]);
  return { ring, run_index, finished_index, timeouts_ns, unplug_ns, resets };
}

function never_signalled(obs: Observation, end_ns: number, add: (f: Finding) => void): void {
  const missing = obs.jobs.filter((j) => j.submit_error === 0 && j.finished_ns < 0).map((j) => j.logical);
  if (missing.length === 0) return;
  const list = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, ... (${missing.length} jobs)` : '');
  add({ kind: 'never_signalled', site: 'finished fence after teardown', message: `finished fence never signalled: ${list}`, time_ns: end_ns });
}

function seqno_of(logical: string): number {
  return Number(logical.slice(logical.lastIndexOf('#') + 1));
}

function signal_order(obs: Observation, add: (f: Finding) => void): void {
  const by_logical = new Map(obs.jobs.map((j) => [j.logical, j]));
  for (const [queue, order] of obs.signal_order) {
    let latest: JobRecord | null = null; // the highest-numbered job signalled so far
    for (const id of order) {
      const job = by_logical.get(id)!;
      if (latest !== null && seqno_of(latest.logical) > seqno_of(id) && !(latest.error !== 0 && job.error !== 0)) {
        add({
          kind: 'signal_order', site: 'finished fences of one queue',
          message: `${queue}: ${latest.logical} (error ${latest.error}) signalled before the earlier ${id} (error ${job.error})`,
          time_ns: job.finished_ns,
        });
        return;
      }
      if (latest === null || seqno_of(id) > seqno_of(latest.logical)) latest = job;
    }
  }
}

function dependency_order(obs: Observation, facts: TraceFacts, add: (f: Finding) => void): void {
  const by_logical = new Map(obs.jobs.map((j) => [j.logical, j]));
  for (const job of obs.jobs) {
    const run = facts.run_index.get(job.logical);
    if (run === undefined) continue;
    for (const id of job.deps) {
      const dep = by_logical.get(id);
      if (dep === undefined || dep.submit_error !== 0) continue;
      const finished = (facts.finished_index.get(id) ?? Infinity) < run;
      const same_ring = facts.ring.get(id) !== undefined && facts.ring.get(id) === facts.ring.get(job.logical);
      const scheduled = same_ring && (facts.run_index.get(id) ?? Infinity) < run;
      if (finished || scheduled) continue;
      add({
        kind: 'dependency_order', site: same_ring ? 'same-ring dependency' : 'cross-ring dependency',
        message: `${job.logical} ran at ${job.run_ns} ns before its dependency ${id} had ${same_ring ? 'run' : 'finished'} (run ${dep.run_ns}, finished ${dep.finished_ns})`,
        time_ns: job.run_ns,
      });
      return;
    }
  }
}

/**
 * The site says which jobs the missing units can be charged to: as many jobs killed (finished
 * with drm_sched's kill error -ESRCH, never run) as the score is off, or jobs that never
 * finished at all (still queued or pending when the scheduler went away).
 */
function score_leak(outcome: RunOutcome, obs: Observation, add: (f: Finding) => void): void {
  const killed = obs.jobs.filter((j) => j.error === -ESRCH && j.run_ns < 0).length;
  const unfinished = obs.jobs.filter((j) => j.submit_error === 0 && j.finished_ns < 0).length;
  for (const ev of outcome.kernel.trace.events) {
    if (!ev.name.endsWith('_score') || typeof ev.args.score !== 'number' || ev.args.score === 0) continue;
    const score = ev.args.score;
    const cause = unfinished === 0 && killed >= score ? 'killed jobs' : unfinished > 0 ? 'unfinished jobs' : 'other';
    add({
      kind: 'score_leak', site: `${ev.name} at teardown (${cause})`,
      message: `scheduler score ${score} at fini, expected 0 (${killed} job(s) killed before they ran, ${unfinished} never finished)`, time_ns: ev.t_ns,
    });
  }
}

function credit_leak(outcome: RunOutcome, facts: TraceFacts, credits_per_job: number, add: (f: Finding) => void): void {
  const logical = new Map<string, string>();
  for (const j of outcome.jobs) if (j.submit_error === 0) logical.set(fence_key(j.fence_context, j.fence_seqno), j.logical);
  const in_flight = new Map<string, Set<string>>();
  for (const ev of outcome.kernel.trace.events) {
    const run = ev.name === 'drm_sched_job_run' || ev.name === 'drm_dep_job_run';
    const done = ev.name === 'drm_sched_job_done' || ev.name === 'drm_dep_job_done';
    if (!run && !done) continue;
    const id = logical.get(fence_key(ev.args.fence_context as number, ev.args.fence_seqno as number));
    if (id === undefined) continue;
    const ring = facts.ring.get(id);
    if (ring === undefined) continue;
    let set = in_flight.get(ring);
    if (set === undefined) in_flight.set(ring, (set = new Set()));
    if (done) { set.delete(id); continue; }
    set.add(id);
    const count = Number(ev.args.hw_job_count);
    if (count > set.size * credits_per_job) {
      add({
        kind: 'credit_leak', site: `credit count of ring ${ring.replace(/-\d+$/, '-N')}`,
        message: `${id} runs with hw_job_count ${count} but only ${set.size} job(s) of ${credits_per_job} credit(s) are in flight on ${ring}`,
        time_ns: ev.t_ns,
      });
      return;
    }
  }
}

function tdr_late(outcome: RunOutcome, obs: Observation, facts: TraceFacts, timeout_ms: number, add: (f: Finding) => void): void {
  const costs = outcome.kernel.costs;
  const jiffy_ns = Math.ceil(1e9 / outcome.kernel.HZ);
  // A delayed work fires on the first tick at or after its expiry (one jiffy late at most); the
  // re-arming work and the TDR work each wait for a kworker wake-up, possibly behind one item.
  const slack_ns = jiffy_ns + 3 * (costs.kworker_wakeup_ns + costs.work_dispatch_ns) + 100_000;
  const limit_ns = timeout_ms * MS + slack_ns;
  // Points in time: +1 a job starts, -1 it ends (progress), 0 a timeout (progress).
  const points: [number, number][] = [];
  for (const j of obs.jobs) {
    if (j.run_ns < 0) continue;
    const ends = [j.hw_done_ns, j.finished_ns].filter((t) => t >= 0);
    const end = ends.length > 0 ? Math.min(...ends) : Infinity;
    if (end < j.run_ns) continue;
    points.push([j.run_ns, +1]);
    if (end !== Infinity) points.push([end, -1]);
  }
  for (const t of facts.timeouts_ns) points.push([t, 0]);
  // A device recovery is progress at both ends, and the time inside it does not count.
  const RECOVERY_START = -2, RECOVERY_DONE = 2;
  for (const [a, b] of facts.resets) { points.push([a, RECOVERY_START]); if (b !== Infinity) points.push([b, RECOVERY_DONE]); }
  // Ends before starts at one instant: a completion at t is progress for whatever ran at t.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const window_end = Math.min(facts.unplug_ns, outcome.kernel.now());
  let pending = 0, since = 0, recovering = 0;
  for (const [t, delta] of [...points, [window_end, 0] as [number, number]]) {
    if (t > window_end) break;
    // Inside a recovery nothing is late; its start is checked like any progress point.
    if (recovering === 0 && pending > 0 && t - since > limit_ns) {
      add({
        kind: 'tdr_late', site: 'timeout detection',
        message: `no completion and no timeout for ${((t - since) / MS).toFixed(1)} ms with jobs in flight (TDR period ${timeout_ms} ms, slack ${(slack_ns / MS).toFixed(1)} ms)`,
        time_ns: t, // the late progress itself ends the timeline
      });
      return;
    }
    if (delta === RECOVERY_START || delta === RECOVERY_DONE) {
      recovering += delta === RECOVERY_START ? 1 : -1;
      since = t;
      continue;
    }
    if (recovering > 0 || delta <= 0 || pending === 0) since = t;
    pending += delta;
  }
}
