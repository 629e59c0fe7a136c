/**
 * The invariants every exploration run is checked against: the kernel's own rules, which the
 * models check while they run and record as violations (fence_double_signal, use_after_free,
 * double_free, refcount_underflow, leak, the lockdep kinds, sleep_in_atomic, gfp_in_atomic,
 * warn, bug, hang), and the guarantees the run monitor checks (run/guarantees.ts,
 * docs/guarantees.md: never_signalled, job_result, signal_order, dependency_order,
 * killed_unstarted, tdr_late, credit_leak, score_leak). One definition serves exploration and
 * comparison: a finding's kind is the violation kind or the guarantee id, and (kind, site)
 * identifies it.
 */
import type { Violation } from '@deplab/sim';
import type { RunOutcome } from '../run/runner.ts';
import type { Finding } from './types.ts';

export function check_invariants(outcome: RunOutcome): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (f: Finding) => {
    const key = `${f.kind}\u0000${f.site}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(f);
  };
  for (const v of outcome.kernel.violations.list) add(from_violation(v));
  if (outcome.stuck_at === 'teardown') add({ kind: 'hang', site: 'teardown', message: outcome.stuck ?? '', time_ns: outcome.kernel.now() });
  for (const [id, tally] of Object.entries(outcome.observation.guarantees)) {
    if (tally === undefined || tally.broken === 0) continue;
    for (const b of tally.examples) {
      const more = tally.broken > 1 && b === tally.examples[0] ? ` (${tally.broken} in this run)` : '';
      add({ kind: id, site: b.site, message: b.message + more, time_ns: b.time_ns });
    }
  }
  return findings;
}

/** A kernel violation as a finding; a leak's site names the leaked type (one site covers all leaks). */
export function from_violation(v: Violation): Finding {
  const site = v.kind === 'leak' ? `${v.site}: ${v.message.slice(0, v.message.indexOf(' '))}` : v.site;
  return { kind: v.kind, site, message: v.message, time_ns: v.time_ns };
}
