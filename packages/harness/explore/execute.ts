/**
 * Running one exploration case: the harness runner with the case's tie-breaker, fault
 * injection and device options, then every invariant and the coverage counters. A model that
 * throws is a finding too (kind 'exception'), with whatever the kernel recorded until then.
 */
import {
  Kernel, fifo_tie_breaker, pct_tie_breaker, random_tie_breaker, replay_tie_breaker, type CostOverrides,
  type TieBreaker,
} from '@deplab/sim';
import type { DeviceFactory } from '@deplab/driver-api';
import { find_driver } from '../drivers.ts';
import type { Observation } from '../run/monitor.ts';
import { run_workload, type RunOutcome } from '../run/runner.ts';
import { coverage_of } from './coverage.ts';
import { check_invariants, from_violation } from './invariants.ts';
import { explore_profile, monitor_facts } from './profiles.ts';
import type { Coverage, ExploreCase, Finding } from './types.ts';

/**
 * Virtual-time bounds of one exploration run: small workloads, so a stuck run ends soon; a
 * driver's TDR period (twice: a hung job, then one queued behind it) is added on top, so a
 * hang it would recover from is not reported as stuck.
 */
export const EXPLORE_MAX_TIME_MS = 5_000;
export const EXPLORE_DRAIN_MS = 2_000;

function run_limits_ms(c: ExploreCase): { max_time_ms?: number; drain_ms?: number } {
  if (c.options.mode === 'compare') return {}; // the runner's own limits, as compare_seed uses them
  const tdr_ms = case_timeout_ms(c) ?? explore_profile(c.driver).fixed_timeout_ms ?? 0;
  return { max_time_ms: EXPLORE_MAX_TIME_MS + 2 * tdr_ms, drain_ms: EXPLORE_DRAIN_MS + 2 * tdr_ms };
}

export interface RunCaseOptions {
  /** 'full' keeps the substrate tracepoints (workqueues, fence init) for timelines. */
  readonly trace_detail?: 'full' | 'jobs';
  /**
   * How recorded choices are replayed: 'exact' (a choice that does not fit is a divergence,
   * reported as an exception) or 'lenient' (reduced modulo the candidates; for shrinking,
   * where the workload under the choices changes).
   */
  readonly replay?: 'exact' | 'lenient';
  /** Record FIFO choices too (a pilot run counting races for PCT's horizon). */
  readonly count_races?: boolean;
}

export interface CaseRun {
  /** Null only if the device could not even be built. */
  readonly outcome: RunOutcome | null;
  readonly observation: Observation | null;
  readonly kernel: Kernel | null;
  readonly findings: readonly Finding[];
  /** Every choice the tie-breaker made (replays the run exactly). */
  readonly choices: readonly number[];
  readonly coverage: Coverage;
}

function lenient_replay(choices: readonly number[]): TieBreaker {
  let next = 0;
  return { name: 'replay-lenient', choose: (count) => (next < choices.length ? choices[next++] % count : 0) };
}

const counting_fifo: TieBreaker = { name: 'fifo-counting', choose: () => 0 };

export function tie_breaker_for(c: ExploreCase, options: RunCaseOptions = {}): TieBreaker {
  if (c.choices !== null) return options.replay === 'lenient' ? lenient_replay(c.choices) : replay_tie_breaker(c.choices);
  switch (c.strategy) {
    case 'fifo': return options.count_races === true ? counting_fifo : fifo_tie_breaker;
    case 'random': return random_tie_breaker(c.seed, 'explore/tie_breaker');
    case 'pct': return pct_tie_breaker(c.seed, { depth: c.options.pct_depth, horizon: c.options.pct_horizon }, 'explore/pct');
  }
}

/** The TDR period a case runs with, if the driver has an option for it. */
export function case_timeout_ms(c: ExploreCase): number | null {
  return monitor_facts(c.driver, c.options.device).timeout_ms;
}

export function run_case(c: ExploreCase, options: RunCaseOptions = {}): CaseRun {
  const driver = find_driver(c.driver);
  if (driver === undefined) throw new Error(`unknown driver ${c.driver}`);
  let kernel: Kernel | null = null;
  // The runner builds the kernel; the factory is the first code that sees it.
  const factory: DeviceFactory = (k, backend, device_options) => {
    kernel = k;
    return driver.factory(k, backend, device_options);
  };
  let outcome: RunOutcome | null = null;
  let error: Finding | null = null;
  try {
    outcome = run_workload(c.workload, factory, c.backend, {
      seed: c.seed,
      costs: c.options.costs as CostOverrides,
      assume: c.options.assume,
      alloc_fail_probability: c.options.alloc_fail_probability,
      kernel: { tie_breaker: tie_breaker_for(c, options), preemption: c.options.preempt === true },
      device: { driver: { ...driver.defaults.driver, ...c.options.device } },
      ...run_limits_ms(c),
      trace_detail: options.trace_detail ?? 'jobs',
      record: true,
      monitor: { retain: true, ...monitor_facts(c.driver, c.options.device) },
    });
  } catch (e) {
    error = exception_finding(e as Error, kernel);
  }
  const k = kernel as Kernel | null;
  if (outcome === null) {
    const findings = k === null ? [error!] : [...k.violations.list.map(from_violation), error!];
    return { outcome: null, observation: null, kernel: k, findings, choices: k === null ? [] : [...k.eq.choices], coverage: {} };
  }
  const observation = outcome.observation;
  const findings = check_invariants(outcome);
  return { outcome, observation, kernel: outcome.kernel, findings, choices: [...outcome.kernel.eq.choices], coverage: coverage_of(outcome) };
}

/**
 * A thrown error as a finding. Its site is the function that threw: source paths are not
 * reliable (the command runs as a bundle), function names are.
 */
function exception_finding(e: Error, kernel: Kernel | null): Finding {
  const time_ns = kernel === null ? 0 : kernel.now();
  if (e.message.startsWith('replay diverged')) return { kind: 'exception', site: 'replay', message: e.message, time_ns };
  const top = (e.stack ?? '').split('\n').slice(1).map((l) => /^\s*at (?:new )?([\w$.<>]+) \(/.exec(l)?.[1]).find((f) => f !== undefined);
  return { kind: 'exception', site: top ?? 'unknown', message: `${e.name}: ${e.message}`, time_ns };
}
