/**
 * @deplab/harness (layer 4): runs identical workloads through both schedulers. Public API only;
 * see docs/architecture.md for the layers.
 */
export * from './workload/index.ts';
export { run_workload, RunError, type RunOptions, type RunOutcome, type SubmittedJob, type QueueTeardown } from './run/runner.ts';
export {
  RunMonitor, LATENCY_NAMES, type Break, type GuaranteeTally, type JobRecord, type LatencyName, type MonitorOptions, type Observation, type QueueRecord,
} from './run/monitor.ts';
export { GUARANTEES, GUARANTEE_IDS, SITUATIONS, guarantee, guarantee_of_violation, type Guarantee, type GuaranteeId, type Situation } from './run/guarantees.ts';
export { compute_metrics, SCALAR_METRICS, SCHED_BYTES, type RunMetrics, type ScalarMetric } from './run/metrics.ts';
export { diff_seed, type GuaranteeDiff, type GuaranteeDiffClass, type GuaranteeDiffCounts, type SeedDiff } from './run/diff.ts';
export { TRIAGE_RULES, campaign_subject, group_violations, triage, type Triage, type TriageClass, type TriageRule, type ViolationGroup } from './run/triage.ts';
export {
  aggregate, compare, compare_seed, compare_seed_group, workload_faults, type BackendRun, type CompareContext, type CompareOptions, type ComparisonResult, type DistributionRow, type GroupComparison,
  type GuaranteeSummary, type MetricComparison, type SeedOutput,
} from './run/compare.ts';
export {
  ALPHA, BOOTSTRAP_MIN_CLUSTERS, NEGLIGIBLE_REL, bootstrap_percentile_delta, holm_adjust, is_negligible, paired_compare, paired_shares, percentile,
  summarize, type BootstrapInterval, type PairedComparison, type Summary, type Thresholds, type Verdict,
} from './stats/stats.ts';
export { LatencyDistribution, merge_sketches, pooled, sketch_quantile, type LatencyResult, type LatencySketch } from './stats/latency.ts';
export { backend_problem, check_device_options, check_workload_for_driver, dep_path, driver_backends, driver_names, find_driver, register_driver, type DriverEntry } from './drivers.ts';
export { BUILTIN_WORKLOADS, MATRIX_ALLOC_FAIL_PROBABILITY, MATRIX_FAULTS, builtins_for, fault_workload, find_builtin, load_builtin, type BuiltinWorkload, type MatrixFault } from './builtin/index.ts';
export {
  FTRACE_FORMATS, describe_skipped, format_ftrace_fields, is_capture_line, match_ftrace_fields, parse_ftrace, type FtraceFenceEvent, type FtraceFormat,
  type FtraceJobEvent, type FtraceJobKind, type FtraceLine, type FtraceParseResult, type FtraceTrace, type FtraceValue, type SkippedLines,
} from './import/ftrace-parse.ts';
export { import_ftrace_workload, type FtraceImportOptions } from './import/ftrace-import.ts';
export * from './explore/index.ts';
export { MODEL_SOURCES, VERSION, compute_model_digest, model_digest, version_line } from './provenance.ts';
