/**
 * The numbers behind the report charts, kept apart from the drawing so they can be tested on
 * their own. Timeline, depth and teardown charts need per-job records, which a comparison
 * result does not keep (it holds per-seed scalars), so the chart layer re-runs one seed of the
 * comparison on both backends (run_workload + observe, trace detail 'jobs'). The run is
 * deterministic, so the records are exactly those of that seed in the comparison.
 */
import type { ComparedBackend, DeviceFactory, DeviceOptions } from '@deplab/driver-api';
import type { CostOverrides } from '@deplab/sim';
import { observe, run_workload, type ComparisonResult, type JobRecord, type QueueRecord, type Workload } from '@deplab/harness';

export const BACKENDS: readonly ComparedBackend[] = ['sched', 'dep'];
export const BACKEND_LABEL: Readonly<Record<ComparedBackend, string>> = { sched: 'drm_sched', dep: 'drm_dep' };

export interface ChartRun {
  readonly jobs: readonly JobRecord[];
  readonly queues: readonly QueueRecord[];
}

export interface ChartData {
  readonly workload: string;
  readonly driver: string;
  /** The seed re-run for the per-job charts. */
  readonly seed: number;
  readonly runs: Readonly<Record<ComparedBackend, ChartRun>>;
  /** submit -> finished latencies in µs, pooled over `latency_seeds` seeds. */
  readonly latency_us: Readonly<Record<ComparedBackend, readonly number[]>>;
  readonly latency_seeds: number;
  /** kworker wake-ups per job, one value per seed of the comparison. */
  readonly kworker: { readonly seeds: readonly number[]; readonly sched: readonly number[]; readonly dep: readonly number[] } | null;
}

export interface ChartOptions {
  readonly device?: DeviceOptions;
  /** The seed to re-run (default: the comparison's first seed). */
  readonly seed?: number;
  /**
   * Per-seed latency samples (SeedOutput.latency_sched / latency_dep) to pool for the CDF;
   * without them the CDF uses the re-run seed only.
   */
  readonly latency?: { readonly sched: readonly (readonly number[])[]; readonly dep: readonly (readonly number[])[] };
}

function cost_overrides(result: ComparisonResult): CostOverrides {
  return { ...result.costs, driver: { ...result.costs.driver } };
}

/** Re-run one seed on both backends and gather what every chart needs. */
export function chart_data(result: ComparisonResult, workload: Workload, factory: DeviceFactory, options: ChartOptions = {}): ChartData {
  const seed = options.seed ?? result.seeds[0];
  const runs = {} as Record<ComparedBackend, ChartRun>;
  for (const backend of BACKENDS) {
    const outcome = run_workload(workload, factory, backend, { seed, costs: cost_overrides(result), device: options.device, trace_detail: 'jobs' });
    const obs = observe(outcome);
    runs[backend] = { jobs: obs.jobs, queues: obs.queues };
  }
  const pooled = (lists: readonly (readonly number[])[]) => lists.flatMap((l) => [...l]);
  const latency_us = options.latency !== undefined
    ? { sched: pooled(options.latency.sched), dep: pooled(options.latency.dep) }
    : { sched: latency_samples(runs.sched.jobs), dep: latency_samples(runs.dep.jobs) };
  const m = result.metrics.find((x) => x.name === 'kworker_wakeups_per_job');
  return {
    workload: result.workload.name, driver: result.driver, seed, runs, latency_us,
    latency_seeds: options.latency !== undefined ? options.latency.sched.length : 1,
    kworker: m === undefined ? null : { seeds: result.seeds, sched: m.sched, dep: m.dep },
  };
}

export function latency_samples(jobs: readonly JobRecord[]): number[] {
  const out: number[] = [];
  for (const j of jobs) if (j.submit_error === 0 && j.finished_ns >= 0) out.push((j.finished_ns - j.submitted_ns) / 1000);
  return out;
}

/**
 * An empirical CDF as `points` (value, probability) pairs at evenly spaced probabilities:
 * a fixed number of points whatever the sample size keeps the SVG small and stable.
 */
export function cdf_points(samples: readonly number[], points = 200): [number, number][] {
  if (samples.length === 0) return [];
  const sorted = [...samples].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let i = 0; i < points; i++) {
    const p = i / (points - 1);
    // Nearest rank on the sorted samples: no re-sort per point, exact at p = 0 and 1.
    out.push([sorted[Math.round(p * (sorted.length - 1))], p]);
  }
  return out;
}

/** Names with numbers in natural order (c2 before c10); locale-independent, so stable. */
export function natural_compare(a: string, b: string): number {
  const pa = a.split(/(\d+)/), pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const numeric = i % 2 === 1;
    if (numeric && Number(pa[i]) !== Number(pb[i])) return Number(pa[i]) - Number(pb[i]);
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** "client/queue" of a record, the lane name in the timeline. */
export function lane_of(j: { readonly client: string; readonly queue: string }): string {
  return `${j.client}/${j.queue}`;
}

/** Queues in the order of their first submission on either backend (ties by name). */
export function lane_order(runs: Readonly<Record<ComparedBackend, ChartRun>>): string[] {
  const first = new Map<string, number>();
  for (const b of BACKENDS) {
    for (const j of runs[b].jobs) {
      const lane = lane_of(j);
      const t = first.get(lane);
      if (t === undefined || j.submitted_ns < t) first.set(lane, j.submitted_ns);
    }
  }
  return [...first].sort((a, b) => a[1] - b[1] || natural_compare(a[0], b[0])).map(([lane]) => lane);
}

/** When a job left the hardware: hw done, else finished, else -1. */
export function job_end_ns(j: JobRecord): number {
  return j.hw_done_ns >= 0 ? j.hw_done_ns : j.finished_ns;
}

/**
 * The time window of the timeline: from the first submission until both backends have
 * completed `jobs` jobs on the hardware, so a long run still shows readable bars. Bars
 * running past the end are cut there.
 */
export function timeline_window(runs: Readonly<Record<ComparedBackend, ChartRun>>, jobs: number): { start_ns: number; end_ns: number; clipped: boolean } {
  let start = Infinity, end = 0, clipped = false;
  for (const b of BACKENDS) {
    for (const j of runs[b].jobs) if (j.submit_error === 0) start = Math.min(start, j.submitted_ns);
    const ends = runs[b].jobs.filter((j) => j.run_ns >= 0).map((j) => Math.max(j.run_ns, job_end_ns(j))).sort((x, y) => x - y);
    if (ends.length > jobs) clipped = true;
    if (ends.length > 0) end = Math.max(end, ends[Math.min(jobs, ends.length) - 1]);
  }
  if (!Number.isFinite(start)) start = 0;
  if (end <= start) end = start + 1000;
  return { start_ns: start, end_ns: end, clipped };
}

/** A step function given by (time, change) pairs, sampled as its peak per column. */
export interface StepSeries {
  readonly label: string;
  /** Peak value in each of `columns` equal intervals of [start_ns, end_ns). */
  readonly peaks: readonly number[];
  readonly max: number;
}

/**
 * The number of intervals [from, to) covering each instant, as the peak per column: a
 * column shows the highest count reached in it, so short bursts stay visible.
 */
export function step_peaks(intervals: readonly (readonly [number, number])[], start_ns: number, end_ns: number, columns: number): number[] {
  const changes: [number, number][] = [];
  for (const [from, to] of intervals) {
    if (to <= from) continue;
    changes.push([from, 1], [to, -1]);
  }
  // At equal times the end of one interval comes before the start of the next.
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const peaks = new Array<number>(columns).fill(0);
  const width = (end_ns - start_ns) / columns;
  let value = 0, k = 0;
  for (let c = 0; c < columns; c++) {
    const column_start = start_ns + c * width, column_end = c === columns - 1 ? Infinity : start_ns + (c + 1) * width;
    // The count at the column's first instant includes the changes made at that instant.
    while (k < changes.length && changes[k][0] <= column_start) value += changes[k++][1];
    let peak = value;
    while (k < changes.length && changes[k][0] < column_end) {
      value += changes[k][1];
      if (value > peak) peak = value;
      k++;
    }
    peaks[c] = peak;
  }
  return peaks;
}

/** Jobs waiting in the scheduler (pushed, not yet run) and jobs on the hardware, per backend. */
export function depth_series(run: ChartRun, start_ns: number, end_ns: number, columns: number): { waiting: number[]; on_hw: number[] } {
  const waiting: [number, number][] = [], on_hw: [number, number][] = [];
  for (const j of run.jobs) {
    if (j.submit_error !== 0 || j.queued_ns < 0) continue;
    const left_scheduler = j.run_ns >= 0 ? j.run_ns : (j.finished_ns >= 0 ? j.finished_ns : end_ns);
    waiting.push([j.queued_ns, left_scheduler]);
    if (j.run_ns >= 0) {
      const end = job_end_ns(j);
      on_hw.push([j.run_ns, end >= 0 ? end : end_ns]);
    }
  }
  return { waiting: step_peaks(waiting, start_ns, end_ns, columns), on_hw: step_peaks(on_hw, start_ns, end_ns, columns) };
}

/** The span of a run for the depth chart: first push to the last job leaving the hardware or finishing. */
export function run_span(runs: Readonly<Record<ComparedBackend, ChartRun>>): { start_ns: number; end_ns: number } {
  let start = Infinity, end = 0;
  for (const b of BACKENDS) {
    for (const j of runs[b].jobs) {
      if (j.submit_error !== 0) continue;
      if (j.queued_ns >= 0) start = Math.min(start, j.queued_ns);
      end = Math.max(end, j.run_ns, j.hw_done_ns, j.finished_ns);
    }
  }
  if (!Number.isFinite(start)) start = 0;
  if (end <= start) end = start + 1000;
  return { start_ns: start, end_ns: end };
}

/** Teardown of one queue relative to its destroy call, in µs (release -1: never released). */
export interface TeardownRow {
  readonly queue: string;
  readonly return_us: number;
  readonly release_us: number;
}

export function teardown_rows(run: ChartRun): TeardownRow[] {
  return [...run.queues]
    .sort((a, b) => a.destroy_call_ns - b.destroy_call_ns || natural_compare(a.queue, b.queue))
    .map((q) => ({
      queue: q.queue,
      return_us: (q.destroy_return_ns - q.destroy_call_ns) / 1000,
      release_us: q.released_ns >= 0 ? Math.max(0, q.released_ns - q.destroy_call_ns) / 1000 : -1,
    }));
}

/** Up to `n` items spread evenly over the list (first and last kept), in order. */
export function spread(list_length: number, n: number): number[] {
  if (list_length <= n) return Array.from({ length: list_length }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.round((i * (list_length - 1)) / (n - 1)));
  return [...new Set(out)];
}
