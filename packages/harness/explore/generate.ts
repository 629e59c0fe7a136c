/**
 * Case generation: a small random workload and a fault plan per seed, drawn from named streams
 * of the seed (explore/faults, explore/workload, explore/variant, explore/timeout, ...), so the
 * same seed gives the same workload shape and fault kinds on both backends.
 *
 * Faults become workload events and options, never hooks: a case stays a plain (workload, seed,
 * options) triple that replays anywhere. Events that must land at an interesting instant (a
 * hardware completion, a timeout) are placed from a pilot run of the same case without them:
 * runs are deterministic, so the instant is there again in the real run up to the fault. The
 * pilot runs on the backend being explored, so those times may differ between backends.
 */
import type { Backend, EngineClass } from '@deplab/driver-api';
import { RandomStreams, cost_median_ns, make_cost_table, type RandomStream } from '@deplab/sim';
import { find_driver } from '../drivers.ts';
import { check_workload } from '../workload/check.ts';
import type { BatchStep, ClientDefinition, Dependency, EventAction, Priority, Step, Workload, WorkloadEvent } from '../workload/types.ts';
import { run_case } from './execute.ts';
import { DEP_FLAG_COMBINATIONS, explore_profile, type DriverVariant } from './profiles.ts';
import type { CaseOptions, ExploreCase, FaultKind, OptionValue, Strategy } from './types.ts';

export interface GenerateRequest {
  readonly driver: string;
  readonly backend: Backend;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  readonly strategy: Strategy;
  /** PCT depth d (default 3). */
  readonly pct_depth?: number;
  /** Preemption points inside bodies (CaseOptions.preempt). */
  readonly preempt?: boolean;
}

/** Generate the case explored for one seed (runs a pilot when fault timing needs one). */
export function generate_case(req: GenerateRequest): ExploreCase {
  const driver = find_driver(req.driver);
  if (driver === undefined) throw new Error(`unknown driver ${req.driver}`);
  const streams = new RandomStreams(req.seed);
  const active = active_faults(streams.stream('explore/faults'), req.faults);
  const has = (f: FaultKind) => active.includes(f);
  const clients = random_clients(streams.stream('explore/workload'), driver.engines);
  if (has('irq-burst')) clients.push(burst_client(streams.stream('explore/irq-burst'), driver.engines));
  const options = case_options(req, streams, has);
  const faults = avoid_runner_limits(clients, timed_faults(streams.stream('explore/timing'), active, clients));
  const events: WorkloadEvent[] = [];
  if (has('hang')) events.push(...hang_events(streams.stream('explore/hang'), clients));
  const base: ExploreCase = {
    driver: req.driver, backend: req.backend, seed: req.seed, strategy: req.strategy, choices: null, options,
    workload: make_workload(`explore-${req.seed}`, clients, events),
  };
  const needs_pilot = faults.some((t) => t.when !== 'after_submit') || req.strategy === 'pct';
  const pilot = needs_pilot ? pilot_instants({ ...base, strategy: 'fifo' }) : null;
  const wake_ns = cost_median_ns(make_cost_table(options.costs).process_wakeup_ns);
  const placing = streams.stream('explore/placement');
  for (const t of faults) events.push(place(t, pilot, wake_ns, placing));
  return {
    ...base,
    options: { ...options, pct_horizon: Math.max(1, pilot?.races ?? 1) },
    workload: make_workload(`explore-${req.seed}`, clients, events),
  };
}

/**
 * Scenarios the generator steers around. They were limits of the runner, fixed since (the
 * runner now holds its own references on out-fences it may still use, records batches on a
 * destroyed queue as -ENOENT, stops a client closed during a throttle wait, and serialises a
 * client's close after its destroys); the steering is kept so campaign results stay comparable
 * with those already reported. Returns the timed faults to keep.
 * - No client depends (last_job) on the jobs of a queue a fault tears down.
 * - A queue is destroyed right after its client's program ends (place()), its jobs in flight.
 * - A client that is closed throttles with queue_depth (which waits after its submit).
 * - No destroy_queue of a client that a fault also closes.
 */
function avoid_runner_limits(clients: ClientDefinition[], timed: readonly TimedFault[]): TimedFault[] {
  const closed = new Set(timed.flatMap((t) => (t.action.kind === 'close_client' ? [t.action.client] : [])));
  const kept = timed.filter((t) => t.action.kind !== 'destroy_queue' || !closed.has(t.action.client));
  const torn = new Set<string>();
  for (const t of kept) {
    if (t.action.kind === 'close_client') for (const q of t.at.client.queues) torn.add(`${t.action.client}/${q.name}`);
    if (t.action.kind === 'destroy_queue') torn.add(`${t.action.client}/${t.action.queue}`);
  }
  if (torn.size === 0) return kept;
  clients.forEach((c, i) => {
    const steps = c.program.steps.map((st): Step => {
      if (st.kind === 'throttle' && closed.has(c.name)) return { ...st, kind: 'queue_depth' };
      if (st.kind !== 'batch') return st;
      return { ...st, deps: st.deps.filter((d) => d.on !== 'last_job' || !torn.has(`${d.client}/${d.queue}`)) };
    });
    clients[i] = { ...c, program: { ...c.program, steps } };
  });
  return kept;
}

function active_faults(s: RandomStream, requested: readonly FaultKind[]): FaultKind[] {
  const active = requested.filter(() => s.chance(0.5));
  if (active.length === 0 && requested.length > 0) active.push(requested[s.below(requested.length)]);
  return active;
}

function pick<T>(s: RandomStream, list: readonly T[]): T {
  return list[s.below(list.length)];
}

function weighted(s: RandomStream, variants: readonly DriverVariant[]): DriverVariant {
  const total = variants.reduce((n, v) => n + v.weight, 0);
  let x = s.float() * total;
  for (const v of variants) if ((x -= v.weight) < 0) return v;
  return variants[variants.length - 1];
}

function case_options(req: GenerateRequest, streams: RandomStreams, has: (f: FaultKind) => boolean): CaseOptions {
  const profile = explore_profile(req.driver);
  const device: Record<string, OptionValue> = {};
  // Drawn before anything backend-specific, so both backends get the same TDR period.
  const t = streams.stream('explore/timeout');
  const timeout_ms = has('spurious-timeout') && t.chance(0.5) ? t.int(1, 3) : has('hang') || t.chance(0.5) ? t.int(10, 60) : null;
  if (profile.timeout_option !== null && timeout_ms !== null) device[profile.timeout_option] = timeout_ms;
  for (const d of profile.dimensions) {
    const value = pick(streams.stream(`explore/option/${d.name}`), d.values);
    if (value !== null && (d.fault === undefined || has(d.fault))) device[d.name] = value;
  }
  Object.assign(device, weighted(streams.stream(`explore/variant/${req.backend}`), profile.variants[req.backend] ?? [{ label: 'plain', options: {}, weight: 1 }]).options);
  // Flag combinations by seed, so every combination gets the same share of a campaign.
  if (profile.dep_flags && req.backend === 'dep') device.dep_flags = req.seed % DEP_FLAG_COMBINATIONS;
  const costs: Record<string, number> = {};
  if (has('slow-kworker')) costs.kworker_wakeup_ns = streams.stream('explore/slow-kworker').int(100_000, 2_000_000);
  const alloc_fail_probability = has('alloc-fail') ? pick(streams.stream('explore/alloc-fail'), [0.01, 0.1, 0.5]) : 0;
  const options: CaseOptions = { device, costs, alloc_fail_probability, pct_depth: req.pct_depth ?? 3, pct_horizon: 1 };
  return req.preempt === true ? { ...options, preempt: true } : options;
}

/* ------------------------------------------------------------------------------------------ */
/* Workloads                                                                                    */

const PRIORITY_DRAW: readonly Priority[] = ['normal', 'normal', 'normal', 'high', 'low'];

function uniform_us(s: RandomStream): { kind: 'uniform'; min_us: number; max_us: number } {
  const min_us = s.int(50, 500);
  return { kind: 'uniform', min_us, max_us: min_us + s.int(0, 2500) };
}

function batch(queue: string, duration: BatchStep['duration'], deps: Dependency[], wait: boolean): BatchStep {
  return { kind: 'batch', queue, duration, credits: null, deps, reads: [], writes: [], wait, hang: false, origin: 'explore' };
}

/** 1..3 clients, 1..2 queues each, 1..4 loops of 1..4 steps, with same- and cross-client dependencies. */
function random_clients(s: RandomStream, engines: readonly EngineClass[]): ClientDefinition[] {
  const n = s.int(1, 3);
  const queues = Array.from({ length: n }, () => s.int(1, 2));
  const clients: ClientDefinition[] = [];
  for (let c = 0; c < n; c++) {
    const names = Array.from({ length: queues[c] }, (_, q) => `q${q}`);
    const steps: Step[] = [];
    const length = s.int(1, 4);
    for (let i = 0; i < length; i++) {
      const batches = steps.flatMap((st, k) => (st.kind === 'batch' ? [k] : []));
      const roll = s.float();
      if (roll < 0.65 || (batches.length === 0 && i === length - 1)) {
        const deps: Dependency[] = [];
        if (batches.length > 0 && s.chance(0.3)) deps.push({ on: 'step', step_index: pick(s, batches), kind: pick(s, ['data', 'submit', 'sync'] as const) });
        if (n > 1 && s.chance(0.25)) {
          const other = (c + s.int(1, n - 1)) % n;
          deps.push({ on: 'last_job', client: `c${other}`, queue: `q${s.below(queues[other])}`, kind: pick(s, ['data', 'submit'] as const) });
        }
        steps.push(batch(pick(s, names), uniform_us(s), deps, s.chance(0.1)));
      } else if (roll < 0.85) {
        steps.push({ kind: 'delay', duration: uniform_us(s), origin: 'explore' });
      } else if (roll < 0.9 && batches.length > 0) {
        steps.push({ kind: 'sync', step_index: pick(s, batches), origin: 'explore' });
      } else {
        steps.push({ kind: s.chance(0.5) ? 'queue_depth' : 'throttle', depth: s.int(1, 4), origin: 'explore' });
      }
    }
    clients.push({
      name: `c${c}`, origin: 'explore',
      queues: names.map((name) => ({ name, engine: pick(s, engines), priority: pick(s, PRIORITY_DRAW), long_running: false, driver: null, load_balanced: false })),
      program: { end: { kind: 'loops', loops: s.int(1, 4) }, steps },
    });
  }
  return clients;
}

/**
 * IRQ bursts: one job of the same length on each of several queues, submitted back to back.
 * Drivers with parallel engines complete them at one instant; the mock's single serial
 * timeline cannot (its bursts come from jobs released together after a timeout).
 */
function burst_client(s: RandomStream, engines: readonly EngineClass[]): ClientDefinition {
  const n = s.int(3, 8);
  const duration_us = s.int(200, 1000);
  const names = Array.from({ length: n }, (_, q) => `q${q}`);
  return {
    name: 'burst', origin: 'explore',
    queues: names.map((name, q) => ({ name, engine: engines[q % engines.length], priority: 'normal', long_running: false, driver: null, load_balanced: false })),
    program: { end: { kind: 'loops', loops: s.int(1, 2) }, steps: names.map((q) => batch(q, { kind: 'constant', value_us: duration_us }, [], false)) },
  };
}

export function make_workload(name: string, clients: readonly ClientDefinition[], events: readonly WorkloadEvent[]): Workload {
  const w: Workload = { name, description: 'generated by deplab explore', source: 'explore', clients, buffers: [], external_fences: [], events, notes: [] };
  const problems = check_workload(w);
  if (problems.length > 0) throw new Error(`explore generated an invalid workload: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return w;
}

/* ------------------------------------------------------------------------------------------ */
/* Faults                                                                                       */

interface BatchRef { readonly client: ClientDefinition; readonly step_index: number; readonly queue: string; readonly loop: number }

function random_batch(s: RandomStream, clients: readonly ClientDefinition[]): BatchRef {
  const c = pick(s, clients);
  const batches = c.program.steps.flatMap((st, k) => (st.kind === 'batch' ? [k] : []));
  const step_index = pick(s, batches);
  const loops = c.program.end.kind === 'loops' ? c.program.end.loops : 1;
  return { client: c, step_index, queue: (c.program.steps[step_index] as BatchStep).queue, loop: s.below(loops) };
}

/**
 * A job hangs right after its submit returns (the runner hangs the queue's oldest incomplete
 * job); half of the hangs come in the first loop, so that more work follows them.
 */
function hang_events(s: RandomStream, clients: readonly ClientDefinition[]): WorkloadEvent[] {
  return Array.from({ length: s.int(1, 2) }, () => {
    const r = random_batch(s, clients);
    const b = s.chance(0.5) ? { ...r, loop: 0 } : r;
    return {
      trigger: { kind: 'after', client: b.client.name, step_index: b.step_index, loop: b.loop },
      action: { kind: 'hang_job', client: b.client.name, queue: b.queue }, origin: 'explore: hang',
    };
  });
}

type When = 'after_submit' | 'random' | 'completion' | 'timeout';

interface TimedFault {
  readonly fault: FaultKind;
  readonly when: When;
  readonly action: EventAction;
  readonly at: BatchRef;
}

const TIMING: Partial<Record<FaultKind, readonly When[]>> = {
  'ctrl-c': ['after_submit', 'random', 'completion', 'timeout'],
  // At the end of the client's program only (avoid_runner_limits): its jobs are still in flight.
  destroy: ['after_submit'],
  unplug: ['random', 'completion'],
  'fw-error': ['after_submit', 'random'],
  'engine-reset': ['after_submit', 'random'],
  'device-reset': ['random', 'completion', 'timeout'],
};

function timed_faults(s: RandomStream, active: readonly FaultKind[], clients: readonly ClientDefinition[]): TimedFault[] {
  const out: TimedFault[] = [];
  for (const fault of active) {
    const whens = TIMING[fault];
    if (whens === undefined) continue;
    const when = pick(s, whens);
    const at = random_batch(s, clients);
    const client = at.client.name, queue = at.queue;
    const action: EventAction = fault === 'ctrl-c' ? { kind: 'close_client', client }
      : fault === 'destroy' ? { kind: 'destroy_queue', client, queue }
        : fault === 'unplug' ? { kind: 'unplug' }
          : fault === 'fw-error' ? { kind: 'fw_error', client, queue }
            : fault === 'engine-reset' ? { kind: 'engine_reset', client, queue }
              : { kind: 'device_reset' };
    out.push({ fault, when, action, at });
  }
  return out;
}

interface PilotInstants {
  readonly completions_ns: readonly number[];
  readonly timeouts_ns: readonly number[];
  readonly end_ns: number;
  readonly races: number;
}

function pilot_instants(c: ExploreCase): PilotInstants {
  const run = run_case(c, { count_races: true });
  const completions_ns: number[] = [];
  const timeouts_ns: number[] = [];
  let end_ns = 1_000_000;
  for (const ev of run.kernel?.trace.events ?? []) {
    if (ev.name === 'drm_sched_job_done' || ev.name === 'drm_dep_job_done') completions_ns.push(ev.t_ns);
    if (ev.name === 'drm_sched_job_timedout' || ev.name === 'drm_dep_job_timedout') timeouts_ns.push(ev.t_ns);
    if (ev.name === 'harness_close_client' && ev.t_ns > end_ns) break; // the runner's final teardown
    if (ev.name.endsWith('_job_done')) end_ns = Math.max(end_ns, ev.t_ns);
  }
  return { completions_ns, timeouts_ns, end_ns, races: run.choices.length };
}

/**
 * The event for a timed fault. An 'at' event's task is woken process_wakeup_ns after at_us, so
 * hitting an instant means firing that much earlier; the whole-us trigger lands the action
 * within 1 us before or after it.
 */
function place(t: TimedFault, pilot: PilotInstants | null, wake_ns: number, s: RandomStream): WorkloadEvent {
  const origin = `explore: ${t.fault} (${t.when})`;
  const at = t.action.kind === 'destroy_queue' ? program_end(t.at.client) : t.at;
  const when = t.when;
  if (when === 'after_submit') {
    return { trigger: { kind: 'after', client: at.client.name, step_index: at.step_index, loop: at.loop }, action: t.action, origin };
  }
  const candidates = pilot === null ? [] : when === 'completion' ? pilot.completions_ns : when === 'timeout' ? pilot.timeouts_ns : [];
  if (candidates.length === 0) {
    const end_us = Math.floor((pilot?.end_ns ?? 1_000_000) / 1000);
    return { trigger: { kind: 'at', at_us: s.int(0, end_us) }, action: t.action, origin: `explore: ${t.fault} (random)` };
  }
  const target_ns = Math.max(0, pick(s, candidates) - wake_ns);
  const at_us = s.chance(0.5) ? Math.floor(target_ns / 1000) : Math.ceil(target_ns / 1000);
  return { trigger: { kind: 'at', at_us }, action: t.action, origin };
}

/** The last step of the client's last loop. */
function program_end(client: ClientDefinition): BatchRef {
  const loops = client.program.end.kind === 'loops' ? client.program.end.loops : 1;
  return { client, step_index: client.program.steps.length - 1, queue: '', loop: loops - 1 };
}
