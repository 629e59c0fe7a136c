/**
 * Per-run metrics, computed from the runner's outcome and the observer's records. Every
 * figure is in the unit its name ends with. Scalar metrics feed the paired statistics; the
 * per-job latency samples feed percentile bootstraps and charts.
 */
import type { ContextKind, ViolationKind } from '@deplab/sim';
import { summarize, type Summary } from '../stats/stats.ts';
import type { Observation } from './observer.ts';
import type { RunOutcome } from './runner.ts';

export interface RunMetrics {
  readonly jobs_submitted: number;
  readonly jobs_finished: number;
  readonly jobs_errored: number;
  readonly jobs_never_finished: number;
  /** submit ioctl to run_job. */
  readonly submit_to_run_us: Summary;
  /** all dependencies signalled (data ready) to run_job: the scheduler's own latency. */
  readonly ready_to_run_us: Summary;
  /** submit ioctl to the out-fence signalling. */
  readonly submit_to_finished_us: Summary;
  /** hardware done to the job freed by the scheduler. */
  readonly done_to_free_us: Summary;
  readonly throughput_jobs_per_s: number;
  readonly kworker_wakeups_per_job: number;
  readonly work_items_per_job: number;
  readonly irqs_per_job: number;
  readonly cpu_us_per_job: number;
  readonly cpu_us: Readonly<Record<ContextKind, number>>;
  /** destroy/close call to return. */
  readonly teardown_return_us: Summary;
  /** destroy/close call to the last job of the queue freed. */
  readonly teardown_release_us: Summary;
  readonly unplug_return_us: number;
  readonly peak_live_objects: number;
  readonly peak_live_bytes: number;
  readonly violations: Readonly<Partial<Record<ViolationKind, number>>>;
  readonly sim_duration_ms: number;
}

/** Scalar metrics by name, with the direction that counts as better. */
export const SCALAR_METRICS: readonly { readonly name: string; readonly lower_is_better: boolean; readonly pick: (m: RunMetrics) => number }[] = [
  { name: 'submit_to_run_us.p50', lower_is_better: true, pick: (m) => m.submit_to_run_us.p50 },
  { name: 'submit_to_run_us.p99', lower_is_better: true, pick: (m) => m.submit_to_run_us.p99 },
  { name: 'ready_to_run_us.p50', lower_is_better: true, pick: (m) => m.ready_to_run_us.p50 },
  { name: 'ready_to_run_us.p99', lower_is_better: true, pick: (m) => m.ready_to_run_us.p99 },
  { name: 'submit_to_finished_us.p50', lower_is_better: true, pick: (m) => m.submit_to_finished_us.p50 },
  { name: 'submit_to_finished_us.p90', lower_is_better: true, pick: (m) => m.submit_to_finished_us.p90 },
  { name: 'submit_to_finished_us.p99', lower_is_better: true, pick: (m) => m.submit_to_finished_us.p99 },
  { name: 'submit_to_finished_us.max', lower_is_better: true, pick: (m) => m.submit_to_finished_us.max },
  { name: 'done_to_free_us.p50', lower_is_better: true, pick: (m) => m.done_to_free_us.p50 },
  { name: 'throughput_jobs_per_s', lower_is_better: false, pick: (m) => m.throughput_jobs_per_s },
  { name: 'kworker_wakeups_per_job', lower_is_better: true, pick: (m) => m.kworker_wakeups_per_job },
  { name: 'work_items_per_job', lower_is_better: true, pick: (m) => m.work_items_per_job },
  { name: 'cpu_us_per_job', lower_is_better: true, pick: (m) => m.cpu_us_per_job },
  { name: 'teardown_return_us.max', lower_is_better: true, pick: (m) => m.teardown_return_us.max },
  { name: 'teardown_release_us.max', lower_is_better: true, pick: (m) => m.teardown_release_us.max },
  { name: 'peak_live_objects', lower_is_better: true, pick: (m) => m.peak_live_objects },
  { name: 'jobs_never_finished', lower_is_better: true, pick: (m) => m.jobs_never_finished },
];

const us = (ns: number) => ns / 1000;

export function compute_metrics(outcome: RunOutcome, obs: Observation): RunMetrics {
  const k = outcome.kernel;
  const submit_to_run: number[] = [], ready_to_run: number[] = [], submit_to_finished: number[] = [], done_to_free: number[] = [];
  let finished = 0, errored = 0, never = 0, first_submit = Infinity, last_finish = 0;
  for (const j of obs.jobs) {
    if (j.submit_error !== 0) continue;
    first_submit = Math.min(first_submit, j.submitted_ns);
    if (j.run_ns >= 0) submit_to_run.push(us(j.run_ns - j.submitted_ns));
    if (j.run_ns >= 0 && j.deps_resolved_ns >= 0) ready_to_run.push(us(Math.max(0, j.run_ns - j.deps_resolved_ns)));
    if (j.finished_ns >= 0) {
      finished++;
      last_finish = Math.max(last_finish, j.finished_ns);
      submit_to_finished.push(us(j.finished_ns - j.submitted_ns));
      if (j.error !== 0) errored++;
    } else {
      never++;
    }
    if (j.hw_done_ns >= 0 && j.freed_ns >= 0) done_to_free.push(us(j.freed_ns - j.hw_done_ns));
  }
  const submitted = obs.jobs.filter((j) => j.submit_error === 0).length;
  const per_job = (x: number) => (submitted === 0 ? 0 : x / submitted);
  const cpu_us = {
    process: us(k.stats.cpu_ns.process), kworker: us(k.stats.cpu_ns.kworker),
    softirq: us(k.stats.cpu_ns.softirq), hardirq: us(k.stats.cpu_ns.hardirq),
  };
  const violations: Partial<Record<ViolationKind, number>> = {};
  for (const v of k.violations.list) violations[v.kind] = (violations[v.kind] ?? 0) + 1;
  const span_s = (last_finish - first_submit) / 1e9;
  return {
    jobs_submitted: submitted,
    jobs_finished: finished,
    jobs_errored: errored,
    jobs_never_finished: never,
    submit_to_run_us: summarize(submit_to_run),
    ready_to_run_us: summarize(ready_to_run),
    submit_to_finished_us: summarize(submit_to_finished),
    done_to_free_us: summarize(done_to_free),
    throughput_jobs_per_s: span_s > 0 ? finished / span_s : 0,
    kworker_wakeups_per_job: per_job(k.stats.kworker_wakeups),
    work_items_per_job: per_job(k.stats.work_items),
    irqs_per_job: per_job(k.stats.irqs),
    cpu_us_per_job: per_job(cpu_us.process + cpu_us.kworker + cpu_us.softirq + cpu_us.hardirq),
    cpu_us,
    teardown_return_us: summarize(obs.queues.map((q) => us(q.destroy_return_ns - q.destroy_call_ns))),
    teardown_release_us: summarize(obs.queues.filter((q) => q.released_ns >= 0).map((q) => us(Math.max(0, q.released_ns - q.destroy_call_ns)))),
    unplug_return_us: outcome.unplug_call_ns >= 0 ? us(outcome.unplug_return_ns - outcome.unplug_call_ns) : 0,
    peak_live_objects: k.lifetime.live_peak,
    peak_live_bytes: k.alloc.peak_bytes,
    violations,
    sim_duration_ms: k.now() / 1e6,
  };
}
