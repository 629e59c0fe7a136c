/**
 * @deplab/harness (layer 4): runs identical workloads through both schedulers. Public API only;
 * see docs/architecture.md for the layers.
 */
export * from './workload/index.ts';
export { run_workload, RunError, type RunOptions, type RunOutcome, type SubmittedJob, type QueueTeardown } from './run/runner.ts';
export { observe, type JobRecord, type Observation, type QueueRecord } from './run/observer.ts';
export { compute_metrics, SCALAR_METRICS, type RunMetrics } from './run/metrics.ts';
export { diff_runs, JOB_RULES, type BehaviourDiff, type DiffClass, type JobDiff } from './run/diff.ts';
export { aggregate, compare, compare_seed, type CompareOptions, type ComparisonResult, type DiffExample, type MetricComparison, type SeedOutput, type SeedResult } from './run/compare.ts';
export { paired_compare, summarize, percentile, bootstrap_percentile_delta, type PairedComparison, type Summary, type Verdict } from './stats/stats.ts';
export { backend_problem, driver_backends, driver_names, find_driver, register_driver, type DriverEntry } from './drivers.ts';
export { BUILTIN_WORKLOADS, builtins_for, find_builtin, load_builtin, type BuiltinWorkload } from './builtin/index.ts';
export {
  FTRACE_FORMATS, format_ftrace_fields, match_ftrace_fields, parse_ftrace, type FtraceFenceEvent, type FtraceFormat, type FtraceJobEvent,
  type FtraceJobKind, type FtraceLine, type FtraceParseResult, type FtraceTrace, type FtraceValue,
} from './import/ftrace-parse.ts';
export { import_ftrace_workload, type FtraceImportOptions } from './import/ftrace-import.ts';
export * from './explore/index.ts';
