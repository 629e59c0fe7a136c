/**
 * A/B comparison: one workload on one driver, a baseline and a candidate backend (drm_sched and
 * drm_dep by default), N seeds. Seeds pair the runs: seed s draws the same workload numbers on
 * both backends, so per-seed differences carry the comparison (paired statistics), and a
 * guarantee diff per seed says what differs beyond timing. Everything a seed contributes is
 * plain data (SeedOutput), so seeds run in worker threads and shards on other machines.
 */
import { RandomStream, canonical_assumptions, make_cost_table, type AssumptionValues, type CostOverrides, type CostTable } from '@deplab/sim';
import type { Backend, DeviceFactory, DeviceOptions } from '@deplab/driver-api';
import {
  bootstrap_percentile_delta, holm_adjust, paired_compare, paired_shares, type BootstrapInterval, type PairedComparison,
} from '../stats/stats.ts';
import { pooled, type LatencySketch } from '../stats/latency.ts';
import type { Workload } from '../workload/types.ts';
import { diff_seed, type GuaranteeDiff, type GuaranteeDiffCounts, type SeedDiff } from './diff.ts';
import { GUARANTEES, SITUATIONS, guarantee_of_violation, type GuaranteeId } from './guarantees.ts';
import { SCALAR_METRICS, compute_metrics, type RunMetrics } from './metrics.ts';
import type { GuaranteeTally, MonitorOptions } from './monitor.ts';
import { run_workload, type RunOptions } from './runner.ts';
import { group_violations, type ViolationGroup } from './triage.ts';
import { encode_token } from '../explore/token.ts';
import type { OptionValue } from '../explore/types.ts';

export interface CompareOptions {
  readonly seeds: readonly number[];
  readonly baseline?: Backend;
  readonly candidate?: Backend;
  readonly costs?: CostOverrides;
  readonly assume?: AssumptionValues;
  readonly device?: DeviceOptions;
  readonly alloc_fail_probability?: number;
  readonly max_time_ms?: number;
  /** Driver facts the guarantee checks need (TDR period, fixed credits). */
  readonly monitor?: Pick<MonitorOptions, 'timeout_ms' | 'credits_per_job' | 'tdr_slack_ns' | 'destroy_kills'>;
}

/** One backend's run of one seed, as plain data. */
export interface BackendRun {
  readonly backend: Backend;
  readonly digest: string;
  readonly stuck: string | null;
  readonly stuck_at: 'run_workload' | 'teardown' | null;
  readonly metrics: RunMetrics;
  /** submit→finished latency sketch, for percentiles pooled over seeds. */
  readonly sketch: LatencySketch;
  readonly guarantees: Readonly<Partial<Record<GuaranteeId, GuaranteeTally>>>;
  readonly outcomes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly groups: readonly ViolationGroup[];
}

export interface SeedOutput {
  readonly seed: number;
  readonly baseline: BackendRun;
  readonly candidate: BackendRun;
  readonly diff: SeedDiff;
}

export interface MetricComparison {
  readonly name: string;
  readonly lower_is_better: boolean;
  /** False: the metric's events differ in meaning between backends; shown, never judged. */
  readonly comparable: boolean;
  readonly baseline: readonly number[];
  readonly candidate: readonly number[];
  readonly comparison: PairedComparison;
}

export interface GuaranteeSummary {
  readonly id: GuaranteeId;
  /** Jobs (or runs) checked and broken, summed over seeds. */
  readonly checked: { readonly baseline: number; readonly candidate: number };
  readonly broken: { readonly baseline: number; readonly candidate: number };
  readonly diff: GuaranteeDiffCounts;
  /** Seeds with at least one regression. */
  readonly regression_seeds: readonly number[];
  /** A few cases per class, each with the replay token of the run that broke the guarantee. */
  readonly examples: readonly (GuaranteeDiff & { readonly seed: number; readonly token: string })[];
}

/**
 * Jobs of one situation where outcomes race by design (a kill, reset, timeout or unplug caught
 * them in flight) ending in one outcome: per seed on each side, the count and the share of the
 * situation's jobs. Shares are compared, paired over seeds (how many jobs a kill catches depends
 * on timing; which way they end is the behaviour); a finding only when the test rejects after
 * Holm's adjustment, or the difference is the same on every seed.
 */
export interface DistributionRow {
  readonly situation: string;
  readonly outcome: string;
  readonly baseline: readonly number[];
  readonly candidate: readonly number[];
  readonly baseline_share: readonly number[];
  readonly candidate_share: readonly number[];
  readonly comparison: PairedComparison;
  /** 'candidate more' / 'candidate fewer' when significant or deterministic and non-zero; null otherwise. */
  readonly direction: 'candidate more' | 'candidate fewer' | null;
}

export interface GroupComparison {
  readonly key: string;
  readonly kind: string;
  readonly site: string;
  readonly root: string;
  /** Seeds the group appeared in, and its reports over all seeds, per side. */
  readonly baseline: { readonly seeds: readonly number[]; readonly reports: number };
  readonly candidate: { readonly seeds: readonly number[]; readonly reports: number };
  readonly presence: 'both' | 'baseline only' | 'candidate only';
  readonly guarantee: GuaranteeId | null;
  /** Distinct reports of the group over all seeds and both sides (numbers taken out), at most 8. */
  readonly details: readonly string[];
  readonly first: ViolationGroup['first'];
}

export interface ComparisonResult {
  readonly workload: {
    readonly name: string; readonly source: string; readonly description: string; readonly notes: readonly string[];
    /** Faults its events inject, by the exploration --faults names (hang, ctrl-c, unplug, ...). */
    readonly faults: readonly string[];
  };
  readonly driver: string;
  readonly baseline: Backend;
  readonly candidate: Backend;
  readonly seeds: readonly number[];
  /** Distinct (baseline, candidate) run pairs among the seeds (by trace digests). */
  readonly n_eff: number;
  readonly costs: CostTable;
  readonly assume: AssumptionValues;
  /** Device options the runs used (the driver's defaults merged with the caller's). */
  readonly device: Readonly<Record<string, OptionValue>>;
  readonly metrics: readonly MetricComparison[];
  /** Pooled percentile intervals; empty below BOOTSTRAP_MIN_CLUSTERS distinct runs (see bootstrap_note). */
  readonly percentile_bootstrap: readonly { readonly name: string; readonly interval: BootstrapInterval }[];
  readonly bootstrap_note: string | null;
  readonly guarantees: readonly GuaranteeSummary[];
  readonly distributions: readonly DistributionRow[];
  readonly groups: readonly GroupComparison[];
  readonly unmatched: { readonly baseline_only: number; readonly candidate_only: number };
  /** Jobs not compared job by job because a race caught them on one side only (diff.ts), over all seeds. */
  readonly situation_differs: number;
  readonly per_seed: readonly {
    readonly seed: number;
    readonly baseline: Omit<BackendRun, 'sketch' | 'groups' | 'guarantees' | 'outcomes'>;
    readonly candidate: Omit<BackendRun, 'sketch' | 'groups' | 'guarantees' | 'outcomes'>;
    readonly regressions: number;
    readonly improvements: number;
  }[];
}

function backend_run(outcome: ReturnType<typeof run_workload>): BackendRun {
  const obs = outcome.observation;
  return {
    backend: outcome.backend, digest: outcome.kernel.trace.digest(), stuck: outcome.stuck, stuck_at: outcome.stuck_at,
    metrics: compute_metrics(outcome), sketch: obs.latency.submit_to_finished_us.sketch, guarantees: obs.guarantees,
    outcomes: obs.outcomes, groups: group_violations(outcome.kernel.violations.list),
  };
}

/** Run one seed on both backends and diff them. */
export function compare_seed(workload: Workload, factory: DeviceFactory, seed: number, options: Omit<CompareOptions, 'seeds'>): SeedOutput {
  return compare_seed_group(workload, factory, seed, options, []).outputs[0];
}

/**
 * One seed under a base configuration and under variants of it that differ only in costs and
 * assumption values (readiness's robustness variants). A variant's side is the base's run,
 * not run again, when its costs are the base's and every assumption the base run read
 * (Kernel.assumptions_read) has the same value in the variant: a deterministic run that never
 * read an assumption is the same run under any value of it. Outputs in the order of `variants`
 * after the base's; `reused` counts the side runs taken from the base.
 */
export function compare_seed_group(workload: Workload, factory: DeviceFactory, seed: number, base: Omit<CompareOptions, 'seeds'>,
  variants: readonly Pick<CompareOptions, 'costs' | 'assume'>[]): { outputs: SeedOutput[]; reused: number } {
  const run_options = (o: Pick<CompareOptions, 'costs' | 'assume'>): RunOptions => ({
    seed, costs: o.costs, assume: o.assume, device: base.device, max_time_ms: base.max_time_ms, alloc_fail_probability: base.alloc_fail_probability,
    monitor: { ...base.monitor, pairing: true }, lockdep_sites: 'on-demand',
  });
  const sides = [base.baseline ?? 'sched', base.candidate ?? 'dep'] as const;
  // What a side's run leaves for the diff and the reuse test; the run itself (its kernel) is
  // dropped at once, so that a group does not keep whole simulations alive.
  const side = (b: Backend, o: Pick<CompareOptions, 'costs' | 'assume'>) => {
    const r = run_workload(workload, factory, b, run_options(o));
    return { reads: [...r.kernel.assumptions_read], masks: r.monitor.masks(), observation: r.observation, run: backend_run(r) };
  };
  type Side = ReturnType<typeof side>;
  const output = (a: Side, b: Side): SeedOutput => ({ seed, baseline: a.run, candidate: b.run, diff: diff_seed(a.masks, b.masks, a.observation, b.observation) });
  const base_sides = sides.map((b) => side(b, base));
  const first = output(base_sides[0], base_sides[1]);
  const outputs = [first];
  let reused = 0;
  const base_costs = JSON.stringify(base.costs ?? {});
  const base_assume = canonical_assumptions(base.assume ?? {});
  for (const v of variants) {
    const assume = canonical_assumptions(v.assume ?? {});
    const same_costs = JSON.stringify(v.costs ?? {}) === base_costs;
    const runs = base_sides.map((s, i) => (same_costs && s.reads.every((id) => assume[id] === base_assume[id]) ? s : side(sides[i], v)));
    const from_base = runs.filter((r, i) => r === base_sides[i]).length;
    reused += from_base;
    outputs.push(from_base === 2 ? first : output(runs[0], runs[1]));
  }
  return { outputs, reused };
}

const run_key = (o: SeedOutput) => `${o.baseline.digest}:${o.candidate.digest}`;

/** How the seeds were run: what a replay token of one of them must carry. */
export interface CompareContext {
  readonly costs?: CostOverrides;
  readonly assume?: AssumptionValues;
  readonly device?: DeviceOptions;
  readonly alloc_fail_probability?: number;
}

/** Combine per-seed outputs (any order) into the comparison. */
export function aggregate(workload: Workload, driver: string, outputs: readonly SeedOutput[], ctx: CompareContext = {}): ComparisonResult {
  if (outputs.length === 0) throw new RangeError('aggregate: no seeds');
  const assume = ctx.assume ?? {};
  const device = ctx.device?.driver ?? {};
  const token = (backend: Backend, seed: number) => encode_token({
    driver, backend, workload, seed, strategy: 'fifo', choices: [],
    options: { device, costs: (ctx.costs ?? {}) as Record<string, number>, alloc_fail_probability: ctx.alloc_fail_probability ?? 0, pct_depth: 0, pct_horizon: 0, assume: canonical_assumptions(assume), mode: 'compare' },
  });
  const sorted = [...outputs].sort((x, y) => x.seed - y.seed);
  const keys = sorted.map(run_key);
  const n_eff = new Set(keys).size;
  const metrics = holm_adjust(SCALAR_METRICS.filter((m) => m.comparable).map((m) => metric(m, sorted, keys)))
    .concat(SCALAR_METRICS.filter((m) => !m.comparable).map((m) => metric(m, sorted, keys)))
    .filter((m) => m.baseline.every(Number.isFinite) && m.candidate.every(Number.isFinite));
  const stream = new RandomStream(sorted[0].seed, `bootstrap/${workload.name}/${driver}`);
  const percentile_bootstrap: { name: string; interval: BootstrapInterval }[] = [];
  for (const p of [0.5, 0.99]) {
    const interval = bootstrap_percentile_delta(pooled, sorted.map((o) => o.baseline.sketch), sorted.map((o) => o.candidate.sketch), p, stream, 500, keys);
    if (interval !== null && Number.isFinite(interval.estimate)) percentile_bootstrap.push({ name: `submit_to_finished_us.p${Math.round(p * 100)}`, interval });
  }
  return {
    workload: {
      name: workload.name, source: workload.source, description: workload.description, notes: workload.notes.map((n) => `${n.kind}: ${n.message}`),
      faults: workload_faults(workload),
    },
    driver, baseline: sorted[0].baseline.backend, candidate: sorted[0].candidate.backend, seeds: sorted.map((o) => o.seed), n_eff,
    costs: make_cost_table(ctx.costs), assume: canonical_assumptions(assume), device, metrics, percentile_bootstrap,
    bootstrap_note: percentile_bootstrap.length > 0 ? null : `no pooled-percentile interval: ${n_eff} distinct run(s), at least 10 needed`,
    guarantees: guarantee_summaries(sorted, token), distributions: distributions(sorted, keys), groups: group_comparisons(sorted),
    unmatched: {
      baseline_only: sorted.reduce((n, o) => n + o.diff.unmatched.baseline_only, 0),
      candidate_only: sorted.reduce((n, o) => n + o.diff.unmatched.candidate_only, 0),
    },
    situation_differs: sorted.reduce((n, o) => n + o.diff.situation_differs, 0),
    per_seed: sorted.map((o) => ({
      seed: o.seed, baseline: strip(o.baseline), candidate: strip(o.candidate),
      regressions: Object.values(o.diff.counts).reduce((n, c) => n + (c?.regression ?? 0), 0),
      improvements: Object.values(o.diff.counts).reduce((n, c) => n + (c?.improvement ?? 0), 0),
    })),
  };
}

function strip(r: BackendRun): Omit<BackendRun, 'sketch' | 'groups' | 'guarantees' | 'outcomes'> {
  return { backend: r.backend, digest: r.digest, stuck: r.stuck, stuck_at: r.stuck_at, metrics: r.metrics };
}

function metric(m: (typeof SCALAR_METRICS)[number], sorted: readonly SeedOutput[], keys: readonly string[]): MetricComparison {
  const baseline = sorted.map((s) => m.pick(s.baseline.metrics));
  const candidate = sorted.map((s) => m.pick(s.candidate.metrics));
  const ok = baseline.every(Number.isFinite) && candidate.every(Number.isFinite);
  const tested = ok ? paired_compare(baseline, candidate, m.lower_is_better, keys, m.thresholds) : paired_compare([0], [0], true);
  // A backend-specific metric keeps its figures and loses every judgement.
  const comparison: PairedComparison = m.comparable ? tested
    : { ...tested, verdict: 'backend-specific', ci_low: NaN, ci_high: NaN, p: NaN, p_holm: NaN, wins_a: 0, wins_b: 0, ties: 0 };
  return { name: m.name, lower_is_better: m.lower_is_better, comparable: m.comparable, baseline, candidate, comparison };
}

function guarantee_summaries(sorted: readonly SeedOutput[], token: (backend: Backend, seed: number) => string): GuaranteeSummary[] {
  const out: GuaranteeSummary[] = [];
  for (const g of GUARANTEES) {
    let ca = 0, cb = 0, ba = 0, bb = 0;
    const diff = { regression: 0, improvement: 0, both: 0 };
    const regression_seeds: number[] = [];
    const examples: (GuaranteeDiff & { seed: number; token: string })[] = [];
    for (const o of sorted) {
      const ta = o.baseline.guarantees[g.id], tb = o.candidate.guarantees[g.id];
      ca += ta?.checked ?? 0; cb += tb?.checked ?? 0; ba += ta?.broken ?? 0; bb += tb?.broken ?? 0;
      const c = o.diff.counts[g.id];
      if (c !== undefined) {
        diff.regression += c.regression; diff.improvement += c.improvement; diff.both += c.both;
        if (c.regression > 0) regression_seeds.push(o.seed);
      }
      for (const e of o.diff.examples) {
        if (e.guarantee !== g.id || examples.filter((x) => x.cls === e.cls).length >= 3) continue;
        // The run that broke it: the candidate's for a regression or a break on both, the baseline's for an improvement.
        examples.push({ ...e, seed: o.seed, token: token(e.cls === 'improvement' ? o.baseline.backend : o.candidate.backend, o.seed) });
      }
    }
    // Run-level guarantees the violation log decides (leaks, memory safety, teardown hangs).
    if (g.scope === 'run' && ca + cb === 0) {
      const broken = (r: BackendRun) => r.groups.some((x) => guarantee_of_violation(x.kind) === g.id);
      ca = cb = sorted.length;
      ba = sorted.filter((o) => broken(o.baseline)).length;
      bb = sorted.filter((o) => broken(o.candidate)).length;
    }
    out.push({ id: g.id, checked: { baseline: ca, candidate: cb }, broken: { baseline: ba, candidate: bb }, diff, regression_seeds, examples });
  }
  return out;
}

function distributions(sorted: readonly SeedOutput[], keys: readonly string[]): DistributionRow[] {
  const cells = new Set<string>();
  for (const o of sorted) {
    for (const r of [o.baseline, o.candidate]) {
      for (const [s, per] of Object.entries(r.outcomes)) if (s !== 'undisturbed') for (const oc of Object.keys(per)) cells.add(`${s}\u0000${oc}`);
    }
  }
  const order = (s: string) => SITUATIONS.indexOf(s as (typeof SITUATIONS)[number]);
  const total = (r: BackendRun, situation: string) => Object.values(r.outcomes[situation] ?? {}).reduce((n, x) => n + x, 0);
  const share = (r: BackendRun, situation: string, outcome: string) => { const t = total(r, situation); return t === 0 ? 0 : (r.outcomes[situation]?.[outcome] ?? 0) / t; };
  const rows = [...cells].map((c) => c.split('\u0000') as [string, string])
    .sort((x, y) => order(x[0]) - order(y[0]) || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))
    .map(([situation, outcome]) => {
      const baseline_share = sorted.map((o) => share(o.baseline, situation, outcome));
      const candidate_share = sorted.map((o) => share(o.candidate, situation, outcome));
      return {
        situation, outcome, lower_is_better: true, baseline_share, candidate_share,
        baseline: sorted.map((o) => o.baseline.outcomes[situation]?.[outcome] ?? 0),
        candidate: sorted.map((o) => o.candidate.outcomes[situation]?.[outcome] ?? 0),
        comparison: paired_shares(baseline_share, candidate_share, keys),
      };
    });
  return holm_adjust(rows).map(({ lower_is_better: _l, ...row }) => ({ ...row, direction: direction_of(row.comparison) }));
}

function direction_of(c: PairedComparison): DistributionRow['direction'] {
  const real = c.verdict === 'better' || c.verdict === 'worse' || (c.verdict === 'deterministic' && c.delta !== 0);
  if (!real) return null;
  return c.delta > 0 ? 'candidate more' : 'candidate fewer';
}

function group_comparisons(sorted: readonly SeedOutput[]): GroupComparison[] {
  const all = new Map<string, { g: ViolationGroup; a: number[]; b: number[]; ra: number; rb: number; details: string[] }>();
  for (const o of sorted) {
    for (const [side, run] of [['a', o.baseline], ['b', o.candidate]] as const) {
      for (const g of run.groups) {
        let e = all.get(g.key);
        if (e === undefined) all.set(g.key, (e = { g, a: [], b: [], ra: 0, rb: 0, details: [] }));
        for (const d of g.details) if (e.details.length < 8 && !e.details.includes(d)) e.details.push(d);
        if (side === 'a') { e.a.push(o.seed); e.ra += g.count; } else { e.b.push(o.seed); e.rb += g.count; }
      }
    }
  }
  return [...all.values()].map(({ g, a, b, ra, rb, details }) => ({
    key: g.key, kind: g.kind, site: g.site, root: g.root, baseline: { seeds: a, reports: ra }, candidate: { seeds: b, reports: rb },
    presence: a.length > 0 && b.length > 0 ? 'both' as const : a.length > 0 ? 'baseline only' as const : 'candidate only' as const,
    guarantee: guarantee_of_violation(g.kind), details, first: g.first,
  })).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

const ACTION_FAULT: Readonly<Record<string, string>> = {
  hang_job: 'hang', fw_error: 'fw-error', engine_reset: 'engine-reset', device_reset: 'device-reset',
  close_client: 'ctrl-c', destroy_queue: 'destroy', unplug: 'unplug',
};

/** The faults a workload's events inject, by the exploration --faults names (triage rules match on them). */
export function workload_faults(w: Workload): string[] {
  const out = new Set<string>();
  for (const e of w.events) { const f = ACTION_FAULT[e.action.kind]; if (f !== undefined) out.add(f); }
  for (const c of w.clients) for (const s of c.program.steps) if (s.kind === 'batch' && s.hang) out.add('hang');
  return [...out].sort();
}

/** Compare in this thread, seed after seed (the CLI spreads seeds over worker threads). */
export function compare(workload: Workload, driver: string, factory: DeviceFactory, options: CompareOptions): ComparisonResult {
  if (options.seeds.length === 0) throw new RangeError('compare: at least one seed is needed');
  const outputs = options.seeds.map((seed) => compare_seed(workload, factory, seed, options));
  return aggregate(workload, driver, outputs, options);
}
