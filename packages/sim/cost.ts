/**
 * The cost table: how long simulated kernel operations take, in ns. A run uses one table,
 * built from a named profile (COST_PROFILES) with single entries overridden; every entry is a
 * constant or a distribution drawn per use from a seeded stream named after the entry
 * (`cost/<entry>`). Defaults, profiles and their sources: docs/cost-model.md.
 *
 * The table itself (CostTable) is plain JSON-safe data: it travels in reports, worker-thread
 * tasks and tokens. The kernel turns it into one Cost object per entry (make_costs); model
 * code charges `k.cost.<entry>.draw()`, which for a constant is a field read (no allocation,
 * no stream draw).
 */
import type { RandomStream, RandomStreams } from './random.ts';

/**
 * Every entry of the table with what it charges: the single list of entries. Entries from
 * queue_work_ns on are waker-side costs, charged to the calling context.
 */
export const COST_ENTRIES = {
  kworker_wakeup_ns: 'idle kworker woken by queue_work (or a blocked one woken) until it runs',
  work_dispatch_ns: 'a running kworker moving on to the next item of its pool',
  process_wakeup_ns: 'a sleeping process task woken (wake_up, complete, fence callback, timeout) until it runs',
  hardirq_entry_ns: 'hardirq entry and exit around a device interrupt or hrtimer callback',
  softirq_entry_ns: 'timer softirq entry for one timer_list / delayed-work timer callback',
  spin_lock_ns: 'an uncontended spinlock acquire and release',
  mutex_lock_ns: 'an uncontended mutex acquire and release',
  kmalloc_ns: 'kmalloc / kmem_cache_alloc fast path',
  kfree_ns: 'kfree fast path',
  fence_signal_ns: 'dma_fence_signal bookkeeping without callbacks',
  fence_callback_ns: 'each dma_fence callback invoked by a signal',
  queue_work_ns: 'caller of __queue_work (queue_work, a delayed work queued by its timer or with delay 0)',
  cancel_work_ns: 'caller of try_to_grab_pending (cancel_*work*, mod_delayed_work)',
  try_to_wake_up_ns: 'waker of each sleeping task or idle kworker it wakes (try_to_wake_up)',
  timer_mod_ns: 'caller arming a timer_list (mod_timer, the timer of queue/mod_delayed_work)',
  timer_del_ns: 'caller removing a pending timer_list (timer_delete(_sync), cancelling a delayed work\'s timer)',
  hrtimer_start_ns: 'caller of hrtimer_start',
  hrtimer_cancel_ns: 'caller of hrtimer_cancel / hrtimer_try_to_cancel on an active hrtimer',
} as const;

export type CostKey = keyof typeof COST_ENTRIES;

export const COST_KEYS: readonly CostKey[] = Object.keys(COST_ENTRIES) as CostKey[];

/**
 * A distribution of a cost in ns (drawn values are rounded to whole ns):
 * - uniform: an integer in [min_ns, max_ns];
 * - lognormal: median median_ns, 99th percentile p99_ns, clamped to max_ns;
 * - empirical: piecewise linear through (quantile, ns) points, the first at quantile 0; the
 *   last at quantile 1, or below 1 with a tail: above the last point a Pareto tail of shape
 *   alpha starting at the last point's value, clamped to max_ns.
 */
export type CostDistribution =
  | { readonly dist: 'uniform'; readonly min_ns: number; readonly max_ns: number }
  | { readonly dist: 'lognormal'; readonly median_ns: number; readonly p99_ns: number; readonly max_ns: number }
  | { readonly dist: 'empirical'; readonly points: readonly (readonly [number, number])[]; readonly tail?: CostTail };

export interface CostTail {
  readonly alpha: number;
  readonly max_ns: number;
}

/** A cost entry: a constant in ns, or a distribution. */
export type CostSpec = number | CostDistribution;

export const COST_PROFILE_NAMES = ['constant', 'server-idle', 'desktop', 'busy'] as const;
export type CostProfileName = typeof COST_PROFILE_NAMES[number];
export const DEFAULT_COST_PROFILE: CostProfileName = 'desktop';

export type CostTable = { readonly profile: CostProfileName }
  & { readonly [K in CostKey]: CostSpec }
  & { readonly driver: Readonly<Record<string, number>> };

/** A profile name (default DEFAULT_COST_PROFILE) and entries replacing the profile's. */
export type CostOverrides = { readonly profile?: CostProfileName }
  & { readonly [K in CostKey]?: CostSpec }
  & { readonly driver?: Readonly<Record<string, number>> };

/* Profiles --------------------------------------------------------------------------------- */

type Entries = { readonly [K in CostKey]: CostSpec };

/** deplab's table before distributions and waker-side costs: every old figure stays reproducible. */
const CONSTANT: Entries = {
  kworker_wakeup_ns: 6_000, work_dispatch_ns: 300, process_wakeup_ns: 6_000, hardirq_entry_ns: 1_000,
  softirq_entry_ns: 500, spin_lock_ns: 20, mutex_lock_ns: 40, kmalloc_ns: 100, kfree_ns: 60,
  fence_signal_ns: 150, fence_callback_ns: 50,
  queue_work_ns: 0, cancel_work_ns: 0, try_to_wake_up_ns: 0, timer_mod_ns: 0, timer_del_ns: 0,
  hrtimer_start_ns: 0, hrtimer_cancel_ns: 0,
};

const empirical = (points: [number, number][], tail?: CostTail): CostDistribution =>
  tail === undefined ? { dist: 'empirical', points } : { dist: 'empirical', points, tail };

/**
 * Desktop-class x86 (Alder Lake-class client, intel_idle adl_cstates: C1E 2 us, C6 220 us,
 * C8 280 us, C10 680 us exit latency), otherwise idle: most wake-ups find a core in a shallow
 * state (rtla timerlat thread latency, a few to ~10 us); the tail is the deep C-state exits.
 */
const DESKTOP_WAKEUP = empirical([[0, 2_500], [0.5, 6_000], [0.9, 11_000], [0.99, 40_000], [0.999, 230_000]],
  { alpha: 2, max_ns: 700_000 });

const DESKTOP: Entries = {
  ...CONSTANT,
  kworker_wakeup_ns: DESKTOP_WAKEUP,
  process_wakeup_ns: DESKTOP_WAKEUP,
  hardirq_entry_ns: { dist: 'lognormal', median_ns: 1_000, p99_ns: 4_000, max_ns: 25_000 },
  queue_work_ns: 250, cancel_work_ns: 150, try_to_wake_up_ns: 1_000, timer_mod_ns: 150, timer_del_ns: 100,
  hrtimer_start_ns: 300, hrtimer_cancel_ns: 150,
};

/** Many-core server (Sapphire Rapids-class, spr_cstates: C1 1 us, C1E 2 us, C6 290 us), mostly idle. */
const SERVER_IDLE_WAKEUP = empirical([[0, 2_000], [0.5, 4_500], [0.9, 9_000], [0.98, 25_000], [0.99, 150_000]],
  { alpha: 2, max_ns: 300_000 });

const SERVER_IDLE: Entries = {
  ...DESKTOP,
  kworker_wakeup_ns: SERVER_IDLE_WAKEUP,
  process_wakeup_ns: SERVER_IDLE_WAKEUP,
  try_to_wake_up_ns: 1_500,
};

/**
 * Desktop under other load: cores stay in C0, a woken task may wait behind others on its run
 * queue up to an EEVDF slice (kernel/sched/fair.c: base slice 0.70 ms scaled by
 * 1 + ilog2(min(ncpus, 8)), 2.8 ms at 8 CPUs and more).
 */
const BUSY_WAKEUP = empirical([[0, 3_000], [0.5, 12_000], [0.9, 60_000], [0.99, 1_000_000]], { alpha: 1.5, max_ns: 2_800_000 });

const BUSY: Entries = {
  ...DESKTOP,
  kworker_wakeup_ns: BUSY_WAKEUP,
  process_wakeup_ns: BUSY_WAKEUP,
  work_dispatch_ns: 500,
  hardirq_entry_ns: { dist: 'lognormal', median_ns: 1_500, p99_ns: 10_000, max_ns: 50_000 },
  queue_work_ns: 400, cancel_work_ns: 250, try_to_wake_up_ns: 2_000, timer_mod_ns: 250, timer_del_ns: 150,
  hrtimer_start_ns: 400, hrtimer_cancel_ns: 200,
};

const PROFILE_ENTRIES: Readonly<Record<CostProfileName, Entries>> = {
  constant: CONSTANT, 'server-idle': SERVER_IDLE, desktop: DESKTOP, busy: BUSY,
};

export const COST_PROFILES: Readonly<Record<CostProfileName, CostTable>> = Object.freeze(Object.fromEntries(
  COST_PROFILE_NAMES.map((name) => [name, make_cost_table({ profile: name })]),
) as Record<CostProfileName, CostTable>);

/** The default profile's table. */
export const DEFAULT_COSTS: CostTable = COST_PROFILES[DEFAULT_COST_PROFILE];

/* Building and checking a table ------------------------------------------------------------ */

export function is_cost_profile(name: unknown): name is CostProfileName {
  return typeof name === 'string' && (COST_PROFILE_NAMES as readonly string[]).includes(name);
}

/**
 * The profile's table (default DEFAULT_COST_PROFILE) with some entries replaced. Errors
 * (RangeError) name the profile or entry that is wrong and why.
 */
export function make_cost_table(overrides: CostOverrides = {}): CostTable {
  const profile = overrides.profile ?? DEFAULT_COST_PROFILE;
  if (!is_cost_profile(profile)) {
    throw new RangeError(`unknown cost profile '${String(profile)}' (known: ${COST_PROFILE_NAMES.join(', ')})`);
  }
  // A misspelt entry in a sweep would otherwise run silently with the profile's value.
  for (const key of Object.keys(overrides)) {
    if (key !== 'driver' && key !== 'profile' && !(COST_KEYS as readonly string[]).includes(key)) {
      throw new RangeError(`unknown cost entry ${key} (known: ${COST_KEYS.join(', ')}, driver)`);
    }
  }
  const base = PROFILE_ENTRIES[profile];
  const table: Record<string, unknown> = { profile };
  for (const key of COST_KEYS) table[key] = checked_spec(key, overrides[key] ?? base[key]);
  const driver: Record<string, number> = {};
  for (const [key, value] of Object.entries(overrides.driver ?? {})) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new RangeError(`cost driver.${key} must be a non-negative integer number of ns (driver entries are constants), got ${describe(value)}`);
    }
    driver[key] = value;
  }
  table.driver = Object.freeze(driver);
  return Object.freeze(table) as CostTable;
}

function describe(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function non_negative_integer(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** A validated, frozen copy of `spec`; throws naming the entry. */
function checked_spec(name: string, spec: unknown): CostSpec {
  if (typeof spec === 'number') {
    if (!non_negative_integer(spec)) throw new RangeError(`cost ${name} must be a non-negative integer number of ns, got ${spec}`);
    return spec;
  }
  const bad = (why: string): never => { throw new RangeError(`cost ${name}: ${why}, got ${describe(spec)}`); };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return bad('expected a non-negative integer number of ns or a distribution ({ dist: "uniform" | "lognormal" | "empirical", ... })');
  }
  const d = spec as Record<string, unknown>;
  const only = (...fields: string[]) => {
    for (const f of Object.keys(d)) if (f !== 'dist' && !fields.includes(f)) bad(`unknown field '${f}' in a ${String(d.dist)} distribution (fields: ${fields.join(', ')})`);
  };
  const ns = (field: string): number => {
    const v = d[field];
    if (!non_negative_integer(v)) bad(`${field} must be a non-negative integer number of ns`);
    return v as number;
  };
  switch (d.dist) {
    case 'uniform': {
      only('min_ns', 'max_ns');
      const min_ns = ns('min_ns'), max_ns = ns('max_ns');
      if (max_ns < min_ns) bad('uniform needs min_ns <= max_ns');
      return Object.freeze({ dist: 'uniform', min_ns, max_ns });
    }
    case 'lognormal': {
      only('median_ns', 'p99_ns', 'max_ns');
      const median_ns = ns('median_ns'), p99_ns = ns('p99_ns'), max_ns = ns('max_ns');
      if (median_ns === 0 || p99_ns < median_ns || max_ns < p99_ns) bad('lognormal needs 0 < median_ns <= p99_ns <= max_ns');
      return Object.freeze({ dist: 'lognormal', median_ns, p99_ns, max_ns });
    }
    case 'empirical': {
      only('points', 'tail');
      const pts = d.points;
      if (!Array.isArray(pts) || pts.length < 2) bad('empirical needs at least two [quantile, ns] points');
      const points = (pts as unknown[]).map((p, i) => {
        const pair = p as unknown[];
        if (!Array.isArray(p) || pair.length !== 2 || typeof pair[0] !== 'number' || !non_negative_integer(pair[1])) {
          bad(`point ${i} must be [quantile, ns] with ns a non-negative integer`);
        }
        return Object.freeze([pair[0], pair[1]]) as readonly [number, number];
      });
      if (points[0][0] !== 0) bad('the first point must be at quantile 0');
      for (let i = 1; i < points.length; i++) {
        if (!(points[i][0] > points[i - 1][0]) || points[i][0] > 1) bad(`quantiles must increase and stay within [0, 1] (point ${i})`);
        if (points[i][1] < points[i - 1][1]) bad(`ns must not decrease (point ${i})`);
      }
      const last = points[points.length - 1];
      if (d.tail === undefined) {
        if (last[0] !== 1) bad('without a tail the last point must be at quantile 1');
        return Object.freeze({ dist: 'empirical', points: Object.freeze(points) });
      }
      const t = d.tail as Record<string, unknown> | null;
      if (typeof t !== 'object' || t === null || Object.keys(t).some((f) => f !== 'alpha' && f !== 'max_ns')) bad('tail must be { alpha, max_ns }');
      const alpha = t!.alpha, max_ns = t!.max_ns;
      if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha)) bad('tail alpha must be a positive number');
      if (!non_negative_integer(max_ns) || max_ns < last[1]) bad('tail max_ns must be an integer >= the last point\'s ns');
      if (last[0] >= 1) bad('with a tail the last point must be below quantile 1');
      return Object.freeze({ dist: 'empirical', points: Object.freeze(points), tail: Object.freeze({ alpha: alpha as number, max_ns: max_ns as number }) });
    }
    default:
      return bad(`unknown distribution '${String(d.dist)}' (known: uniform, lognormal, empirical)`);
  }
}

/* Drawing ---------------------------------------------------------------------------------- */

interface Sampler {
  draw(): number;
}

/** 99th percentile of the standard normal distribution. */
const Z99 = 2.3263478740408408;

class UniformSampler implements Sampler {
  constructor(private readonly s: RandomStream, private readonly lo: number, private readonly span: number) {}
  draw(): number {
    return this.lo + Math.floor(this.s.float() * this.span);
  }
}

class LognormalSampler implements Sampler {
  private readonly mu: number;
  private readonly sigma: number;
  constructor(private readonly s: RandomStream, median_ns: number, p99_ns: number, private readonly max_ns: number) {
    this.mu = Math.log(median_ns);
    this.sigma = Math.log(p99_ns / median_ns) / Z99;
  }
  draw(): number {
    // Box-Muller, one normal per two uniforms (1 - u keeps the logarithm finite).
    const z = Math.sqrt(-2 * Math.log(1 - this.s.float())) * Math.cos(2 * Math.PI * this.s.float());
    return Math.min(this.max_ns, Math.round(Math.exp(this.mu + this.sigma * z)));
  }
}

class EmpiricalSampler implements Sampler {
  private readonly q: Float64Array;
  private readonly ns: Float64Array;
  private readonly tail_from: number;
  private readonly inv_alpha: number;
  private readonly max_ns: number;
  constructor(private readonly s: RandomStream, d: Extract<CostDistribution, { dist: 'empirical' }>) {
    this.q = Float64Array.from(d.points, (p) => p[0]);
    this.ns = Float64Array.from(d.points, (p) => p[1]);
    this.tail_from = d.tail === undefined ? Infinity : d.points[d.points.length - 1][0];
    this.inv_alpha = d.tail === undefined ? 0 : 1 / d.tail.alpha;
    this.max_ns = d.tail?.max_ns ?? d.points[d.points.length - 1][1];
  }
  draw(): number {
    const u = this.s.float();
    const q = this.q, ns = this.ns;
    if (u >= this.tail_from) {
      const base = ns[ns.length - 1];
      return Math.min(this.max_ns, Math.round(base * Math.pow((1 - this.tail_from) / (1 - u), this.inv_alpha)));
    }
    let i = 1;
    while (i < q.length - 1 && u >= q[i]) i++;
    const f = (u - q[i - 1]) / (q[i] - q[i - 1]);
    return Math.round(ns[i - 1] + f * (ns[i] - ns[i - 1]));
  }
}

/**
 * One entry of a run's cost table, ready to charge. A constant is a field read; a
 * distribution draws from its own stream. Every entry is this one class, so charge sites
 * stay monomorphic.
 */
export class Cost {
  readonly name: string;
  /** The value of a constant entry, -1 for a distribution. */
  readonly constant_ns: number;
  private readonly sampler: Sampler | null;

  constructor(name: string, spec: CostSpec, random: RandomStreams) {
    this.name = name;
    if (typeof spec === 'number') {
      this.constant_ns = spec;
      this.sampler = null;
      return;
    }
    this.constant_ns = -1;
    const s = random.stream(`cost/${name}`);
    switch (spec.dist) {
      case 'uniform': this.sampler = new UniformSampler(s, spec.min_ns, spec.max_ns - spec.min_ns + 1); break;
      case 'lognormal': this.sampler = new LognormalSampler(s, spec.median_ns, spec.p99_ns, spec.max_ns); break;
      case 'empirical': this.sampler = new EmpiricalSampler(s, spec); break;
    }
  }

  /** The cost of one use, in whole ns. */
  draw(): number {
    return this.constant_ns >= 0 ? this.constant_ns : this.sampler!.draw();
  }
}

export type CostSet = { readonly [K in CostKey]: Cost };

/** The Cost objects of a table, drawing from streams of `random` named `cost/<entry>`. */
export function make_costs(table: CostTable, random: RandomStreams): CostSet {
  const set: Record<string, Cost> = {};
  for (const key of COST_KEYS) set[key] = new Cost(key, table[key], random);
  return Object.freeze(set) as CostSet;
}

/** The largest value a spec can draw. */
export function cost_max_ns(spec: CostSpec): number {
  if (typeof spec === 'number') return spec;
  switch (spec.dist) {
    case 'uniform': return spec.max_ns;
    case 'lognormal': return spec.max_ns;
    case 'empirical': return spec.tail?.max_ns ?? spec.points[spec.points.length - 1][1];
  }
}

/** The median of a spec (a constant is its own median). */
export function cost_median_ns(spec: CostSpec): number {
  if (typeof spec === 'number') return spec;
  switch (spec.dist) {
    case 'uniform': return Math.round((spec.min_ns + spec.max_ns) / 2);
    case 'lognormal': return spec.median_ns;
    case 'empirical': {
      const p = spec.points;
      let i = 1;
      while (i < p.length - 1 && p[i][0] <= 0.5) i++;
      if (p[i][0] <= 0.5) { // the median lies in the tail
        const t = spec.tail!;
        return Math.min(t.max_ns, Math.round(p[i][1] * Math.pow((1 - p[i][0]) / 0.5, 1 / t.alpha)));
      }
      return Math.round(p[i - 1][1] + ((0.5 - p[i - 1][0]) / (p[i][0] - p[i - 1][0])) * (p[i][1] - p[i - 1][1]));
    }
  }
}

/* Text form (command line, reports) --------------------------------------------------------- */

/**
 * A spec as text: `6000`, `uniform:MIN:MAX`, `lognormal:MEDIAN:P99:MAX`, or
 * `empirical:Q=NS,Q=NS,...[,tail=ALPHA:MAX]`. parse_cost_spec reads it back.
 */
export function format_cost_spec(spec: CostSpec): string {
  if (typeof spec === 'number') return String(spec);
  switch (spec.dist) {
    case 'uniform': return `uniform:${spec.min_ns}:${spec.max_ns}`;
    case 'lognormal': return `lognormal:${spec.median_ns}:${spec.p99_ns}:${spec.max_ns}`;
    case 'empirical': {
      const pts = spec.points.map(([q, ns]) => `${q}=${ns}`);
      if (spec.tail !== undefined) pts.push(`tail=${spec.tail.alpha}:${spec.tail.max_ns}`);
      return `empirical:${pts.join(',')}`;
    }
  }
}

export const COST_SPEC_SYNTAX = 'NS, uniform:MIN:MAX, lognormal:MEDIAN:P99:MAX or empirical:Q=NS,Q=NS,...[,tail=ALPHA:MAX]';

/** Read the text form of a spec for entry `name`; throws RangeError naming the entry. */
export function parse_cost_spec(name: string, text: string): CostSpec {
  const bad = (why: string): never => { throw new RangeError(`cost ${name}: ${why} in '${text}' (expected ${COST_SPEC_SYNTAX})`); };
  const int = (s: string | undefined): number => (s !== undefined && /^\d+$/.test(s) ? Number(s) : bad(`'${s ?? ''}' is not an integer number of ns`));
  const num = (s: string): number => (/^\d+(\.\d+)?(e-?\d+)?$/.test(s) ? Number(s) : bad(`'${s}' is not a number`));
  let spec: unknown;
  if (/^\d+$/.test(text)) {
    spec = Number(text);
  } else {
    const [kind, rest] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)];
    if (text.indexOf(':') < 0) bad('not a number or distribution');
    const f = rest.split(':');
    if (kind === 'uniform') {
      if (f.length !== 2) bad('uniform takes MIN:MAX');
      spec = { dist: 'uniform', min_ns: int(f[0]), max_ns: int(f[1]) };
    } else if (kind === 'lognormal') {
      if (f.length !== 3) bad('lognormal takes MEDIAN:P99:MAX');
      spec = { dist: 'lognormal', median_ns: int(f[0]), p99_ns: int(f[1]), max_ns: int(f[2]) };
    } else if (kind === 'empirical') {
      const points: [number, number][] = [];
      let tail: CostTail | undefined;
      for (const item of rest.split(',')) {
        const [k, v] = [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)];
        if (item.indexOf('=') < 0) bad(`'${item}' is not Q=NS`);
        if (k === 'tail') {
          const t = v.split(':');
          if (t.length !== 2) bad('tail takes ALPHA:MAX');
          tail = { alpha: num(t[0]), max_ns: int(t[1]) };
        } else {
          if (tail !== undefined) bad('the tail comes last');
          points.push([num(k), int(v)]);
        }
      }
      spec = tail === undefined ? { dist: 'empirical', points } : { dist: 'empirical', points, tail };
    } else {
      bad(`unknown distribution '${kind}'`);
    }
  }
  return checked_spec(name, spec);
}

/** `entry=value` for the profile and every entry, in table order (what reports print). */
export function cost_table_entries(table: CostTable): string[] {
  return [`profile=${table.profile}`, ...COST_KEYS.map((k) => `${k}=${format_cost_spec(table[k])}`)];
}

/** The `constant` profile's entries as numbers (for hand-computed timings). */
export const CONSTANT_COSTS: { readonly [K in CostKey]: number } = Object.freeze({ ...CONSTANT }) as { readonly [K in CostKey]: number };
