/**
 * Per-run metrics, from the run monitor's observation and the kernel's counters. Every figure
 * is in the unit its name ends with. Which trace events start and end each metric on each
 * backend is in docs/reports.md#metrics; a metric whose events mean different things on the two
 * backends is marked backend-specific and never gets a cross-backend verdict.
 */
import type { ContextKind, ViolationKind } from '@deplab/sim';
import { summarize, type Summary, type Thresholds } from '../stats/stats.ts';
import type { LatencyName, Observation } from './monitor.ts';
import type { RunOutcome } from './runner.ts';

export interface RunMetrics {
  readonly jobs_submitted: number;
  readonly jobs_finished: number;
  readonly jobs_errored: number;
  readonly jobs_never_finished: number;
  readonly latency: Readonly<Record<LatencyName, Summary>>;
  /** False when a distribution outgrew the exact-sample bound (its percentiles come from the sketch). */
  readonly latency_exact: boolean;
  readonly throughput_jobs_per_s: number;
  readonly kworker_wakeups_per_job: number;
  readonly work_items_per_job: number;
  readonly irqs_per_job: number;
  readonly cpu_us_per_job: number;
  readonly cpu_us: Readonly<Record<ContextKind, number>>;
  /** destroy/close call to return (what the calling process waits for). */
  readonly teardown_return_us: Summary;
  /** destroy/close call to the last job of the queue released (when the work is really done). */
  readonly teardown_release_us: Summary;
  readonly unplug_return_us: number;
  /** Most jobs alive at once in the scheduler (pushed, not yet released). */
  readonly peak_jobs_alive: number;
  /** Jobs handed to run_job before a dependency on their own ring finished (drm_sched's scheduled-fence pipelining). */
  readonly pipelined_jobs: number;
  /** Most jobs handed to the hardware and not yet ended at once (how much the credit limit lets through). */
  readonly peak_jobs_on_hw: number;
  /** Peak bytes of scheduler-owned objects: jobs alive times the scheduler's per-job bytes, plus per-queue bytes (docs/reports.md#memory). */
  readonly peak_sched_bytes: number;
  readonly violations: Readonly<Partial<Record<ViolationKind, number>>>;
  readonly sim_duration_ms: number;
}

export interface ScalarMetric {
  readonly name: string;
  readonly lower_is_better: boolean;
  /** Backend-neutral: the same events end it on every backend. Otherwise shown, never judged. */
  readonly comparable: boolean;
  /** Negligible-difference thresholds (docs/reports.md#statistics). */
  readonly thresholds: Thresholds;
  readonly pick: (m: RunMetrics) => number;
}

const LATENCY_US: Thresholds = { rel: 0.01, abs: 10 };
const PER_JOB: Thresholds = { rel: 0.01, abs: 0.05 };

const latency = (name: LatencyName, q: 'p50' | 'p90' | 'p99' | 'max', comparable: boolean): ScalarMetric =>
  ({ name: `${name}.${q}`, lower_is_better: true, comparable, thresholds: LATENCY_US, pick: (m) => m.latency[name][q] });

/** Scalar metrics by name, with the direction that counts as better. */
export const SCALAR_METRICS: readonly ScalarMetric[] = [
  latency('submit_to_finished_us', 'p50', true),
  latency('submit_to_finished_us', 'p90', true),
  latency('submit_to_finished_us', 'p99', true),
  latency('submit_to_finished_us', 'max', true),
  latency('submit_to_hw_start_us', 'p50', true),
  latency('submit_to_hw_start_us', 'p99', true),
  latency('ready_to_hw_start_us', 'p50', true),
  latency('ready_to_hw_start_us', 'p99', true),
  { name: 'throughput_jobs_per_s', lower_is_better: false, comparable: true, thresholds: { rel: 0.01, abs: 1 }, pick: (m) => m.throughput_jobs_per_s },
  { name: 'kworker_wakeups_per_job', lower_is_better: true, comparable: true, thresholds: PER_JOB, pick: (m) => m.kworker_wakeups_per_job },
  { name: 'work_items_per_job', lower_is_better: true, comparable: true, thresholds: PER_JOB, pick: (m) => m.work_items_per_job },
  { name: 'cpu_us_per_job', lower_is_better: true, comparable: true, thresholds: { rel: 0.01, abs: 0.5 }, pick: (m) => m.cpu_us_per_job },
  { name: 'teardown_release_us.max', lower_is_better: true, comparable: true, thresholds: LATENCY_US, pick: (m) => m.teardown_release_us.max },
  { name: 'peak_sched_bytes', lower_is_better: true, comparable: true, thresholds: { rel: 0.01, abs: 4096 }, pick: (m) => m.peak_sched_bytes },
  // Backend-specific: the events differ in meaning (run_job is called when a same-scheduler
  // dependency is scheduled on drm_sched, after it finished on drm_dep; destroy returns at once on
  // drm_dep and defers the work; the job is freed by free_job work vs at its last put).
  latency('submit_to_run_job_us', 'p50', false),
  latency('submit_to_run_job_us', 'p99', false),
  latency('ready_to_run_job_us', 'p50', false),
  latency('ready_to_run_job_us', 'p99', false),
  latency('done_to_free_us', 'p50', false),
  { name: 'teardown_return_us.max', lower_is_better: true, comparable: false, thresholds: LATENCY_US, pick: (m) => m.teardown_return_us.max },
  // A mechanism, not a cost: how many jobs the credit limits let onto the hardware at once (one
  // pool per drm_gpu_scheduler, one per drm_dep_queue, one per ring on the HW-queue layer).
  { name: 'peak_jobs_on_hw', lower_is_better: true, comparable: false, thresholds: { rel: 0, abs: 1 }, pick: (m) => m.peak_jobs_on_hw },
];

const us = (ns: number) => ns / 1000;

/**
 * Bytes the scheduler owns per job (from push to release) and per queue, on x86_64 without
 * lock debugging: the sums of the C fields (pointer, long, ktime 8; int, enum, atomic_t,
 * spinlock_t, kref 4; list_head, xarray 16; dma_fence_cb, rb_node 24; work_struct 32;
 * delayed_work 88; dma_fence 64) with alignment, as docs/reports.md#memory lays them out.
 * drm_sched (include/drm/gpu_scheduler.h, the modelled 7.2 layout): drm_sched_job 160 + its
 * drm_sched_fence slab object 176 per job; per queue one drm_gpu_scheduler with its four run
 * queues (624) and one drm_sched_entity (240), as every modelled driver binds them 1:1.
 * drm_dep (the RFC does not publish its structs: the model's fields, which follow the RFC text):
 * drm_dep_job 144 + drm_dep_fence 96 per job; drm_dep_queue 448 per queue. Fences that outlive
 * their job are not counted: their lifetime is their consumers' (the harness holds out-fences for
 * dependencies and throttling), so the metric excludes what the harness holds.
 */
export const SCHED_BYTES: Readonly<Record<string, { readonly job: number; readonly queue: number }>> = {
  sched: { job: 160 + 176, queue: 624 + 240 },
  dep: { job: 144 + 96, queue: 448 },
  // The HW-queue layer adds its per-queue arbitration state (docs/hw-queue.md).
  'dep-hw': { job: 144 + 96, queue: 448 + 64 },
};

export function compute_metrics(outcome: RunOutcome): RunMetrics {
  const k = outcome.kernel;
  const obs: Observation = outcome.observation;
  const submitted = obs.submitted;
  const per_job = (x: number) => (submitted === 0 ? NaN : x / submitted);
  const cpu_us = {
    process: us(k.stats.cpu_ns.process), kworker: us(k.stats.cpu_ns.kworker),
    softirq: us(k.stats.cpu_ns.softirq), hardirq: us(k.stats.cpu_ns.hardirq),
  };
  const violations: Partial<Record<ViolationKind, number>> = {};
  for (const v of k.violations.list) violations[v.kind] = (violations[v.kind] ?? 0) + 1;
  const span_s = (obs.last_finish_ns - obs.first_submit_ns) / 1e9;
  const lat = obs.latency;
  const teardown_return: number[] = [], teardown_release: number[] = [];
  for (const q of obs.queues) {
    if (q.destroy_call_ns < 0) continue;
    if (q.destroy_return_ns >= 0) teardown_return.push(us(q.destroy_return_ns - q.destroy_call_ns));
    if (q.released_ns >= 0) teardown_release.push(us(Math.max(0, q.released_ns - q.destroy_call_ns)));
  }
  return {
    jobs_submitted: submitted,
    jobs_finished: obs.finished,
    jobs_errored: obs.errored,
    jobs_never_finished: obs.never_finished,
    latency: Object.fromEntries(Object.entries(lat).map(([n, r]) => [n, r.summary])) as Record<LatencyName, Summary>,
    latency_exact: Object.values(lat).every((r) => r.exact),
    throughput_jobs_per_s: span_s > 0 ? obs.finished / span_s : NaN,
    kworker_wakeups_per_job: per_job(k.stats.kworker_wakeups),
    work_items_per_job: per_job(k.stats.work_items),
    irqs_per_job: per_job(k.stats.irqs),
    cpu_us_per_job: per_job(cpu_us.process + cpu_us.kworker + cpu_us.softirq + cpu_us.hardirq),
    cpu_us,
    teardown_return_us: summarize(teardown_return),
    teardown_release_us: summarize(teardown_release),
    unplug_return_us: outcome.unplug_call_ns >= 0 && outcome.unplug_return_ns >= 0 ? us(outcome.unplug_return_ns - outcome.unplug_call_ns) : NaN,
    peak_jobs_alive: obs.peak_jobs_alive,
    peak_jobs_on_hw: obs.peak_jobs_on_hw,
    pipelined_jobs: obs.pipelined_jobs,
    peak_sched_bytes: obs.peak_jobs_alive * SCHED_BYTES[outcome.backend].job + obs.queues.length * SCHED_BYTES[outcome.backend].queue,
    violations,
    sim_duration_ms: k.now() / 1e6,
  };
}
