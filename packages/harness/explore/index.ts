/**
 * Exploration (layer 4): generated workloads with injected faults, same-instant races ordered
 * by FIFO, seeded random or PCT tie-breakers, invariants checked after every run, replay
 * tokens, shrinking and campaign summaries. See docs/cli.md ("deplab explore").
 */
export { FAULT_KINDS, STRATEGIES, finding_key, type CaseOptions, type Coverage, type ExploreCase, type FaultKind, type Finding, type OptionValue, type Strategy } from './types.ts';
export { DEP_FLAG_COMBINATIONS, explore_profile, monitor_facts, variant_label, type DriverVariant, type ExploreProfile } from './profiles.ts';
export { generate_case, make_workload, type GenerateRequest } from './generate.ts';
export { run_case, case_timeout_ms, EXPLORE_DRAIN_MS, EXPLORE_MAX_TIME_MS, type CaseRun, type RunCaseOptions } from './execute.ts';
export { check_invariants } from './invariants.ts';
export { COVERAGE_COUNTERS, coverage_of } from './coverage.ts';
export { decode_choices, decode_token, encode_choices, encode_token, replay_command } from './token.ts';
export { ddmin, shrink_case, case_stats, type ShrinkResult, type ShrinkStats } from './shrink.ts';
export { timeline } from './timeline.ts';
export {
  explore_seed, shrink_task, summarize_campaign, type BackendSummary, type FindingGroup, type SeedReport, type SeedTask as ExploreSeedTask,
  type ShrinkReport, type ShrinkTask,
} from './campaign.ts';
