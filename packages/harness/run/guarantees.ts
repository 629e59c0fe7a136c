/**
 * The guarantees a driver's users rely on, checked on every run (docs/guarantees.md has each
 * with its upstream source). A behaviour regression is a guarantee that holds on the baseline
 * and breaks on the candidate for the same job (or queue, or run); the reverse is an
 * improvement. Ids are the names a broken guarantee is reported under (exploration findings
 * use the same ids as their kind).
 */

export type GuaranteeScope = 'job' | 'queue' | 'run';

export interface Guarantee {
  readonly id: GuaranteeId;
  readonly scope: GuaranteeScope;
  /** What holds, in one sentence. */
  readonly statement: string;
  /** Which jobs (or runs) it is checked on. */
  readonly applies_to: string;
  /** docs/guarantees.md anchor. */
  readonly doc: string;
}

export const GUARANTEE_IDS = [
  'never_signalled', 'job_result', 'signal_order', 'dependency_order', 'killed_unstarted', 'tdr_late',
  'credit_leak', 'score_leak', 'teardown_leak', 'memory_safety', 'teardown_hang',
] as const;
export type GuaranteeId = (typeof GUARANTEE_IDS)[number];

const doc = (id: string) => `docs/guarantees.md#${id.replace(/_/g, '-')}`;

export const GUARANTEES: readonly Guarantee[] = [
  { id: 'never_signalled', scope: 'job', statement: "every submitted job's finished fence signals, at the latest by the end of teardown (no job is lost)",
    applies_to: 'every job whose submit ioctl succeeded', doc: doc('never_signalled') },
  { id: 'job_result', scope: 'job', statement: 'a job nobody disturbed completes with its hardware result (error 0)',
    applies_to: 'undisturbed jobs: not hung, its queue not killed, no reset, timeout, fault or unplug while it was in flight, no failed dependency', doc: doc('job_result') },
  { id: 'signal_order', scope: 'job', statement: "a queue's finished fences signal in seqno (submission) order, unless both fences carry an error",
    applies_to: 'every signalled job, against the jobs of its queue signalled before it', doc: doc('signal_order') },
  { id: 'dependency_order', scope: 'job', statement: 'no job runs before its dependencies allow it: a dependency on another ring has finished, one on the same ring has at least run',
    applies_to: 'every job that ran, with each dependency the harness gave it', doc: doc('dependency_order') },
  { id: 'killed_unstarted', scope: 'job', statement: "a killed queue's jobs that had not reached the hardware never reach it: no job not yet handed to run_job when its queue was destroyed or its file closed starts on the hardware",
    applies_to: 'jobs killed before start (not handed to run_job before the kill) whose submit ioctl had returned, on devices that report hardware starts (deplab_job_hw_start)', doc: doc('killed_unstarted') },
  { id: 'tdr_late', scope: 'run', statement: 'a hung job is detected within its timeout plus the TDR slack: the device never goes longer without progress while a job is in flight',
    applies_to: 'runs of a device with a TDR period', doc: doc('tdr_late') },
  { id: 'credit_leak', scope: 'run', statement: "a ring's credit count never exceeds the credits of the jobs in flight on it",
    applies_to: 'drivers that fix the credits of a job', doc: doc('credit_leak') },
  { id: 'score_leak', scope: 'run', statement: "the scheduler's load score is back to 0 at fini",
    applies_to: 'drivers that read the score at fini', doc: doc('score_leak') },
  { id: 'teardown_leak', scope: 'run', statement: 'teardown frees everything: no scheduler object is alive after the device is unplugged',
    applies_to: 'every run (lifetime tracker, leak reports)', doc: doc('teardown_leak') },
  { id: 'memory_safety', scope: 'run', statement: 'no use after free, double free or refcount underflow',
    applies_to: 'every run (lifetime tracker)', doc: doc('memory_safety') },
  { id: 'teardown_hang', scope: 'run', statement: 'teardown, close and device removal return',
    applies_to: 'every run', doc: doc('teardown_hang') },
];

export function guarantee(id: GuaranteeId): Guarantee {
  return GUARANTEES.find((g) => g.id === id)!;
}

/** The guarantee a kernel violation kind breaks, if any (the rest are triaged as violation groups). */
export function guarantee_of_violation(kind: string): GuaranteeId | null {
  switch (kind) {
    case 'leak': return 'teardown_leak';
    case 'use_after_free': case 'double_free': case 'refcount_underflow': return 'memory_safety';
    case 'hang': return 'teardown_hang';
    default: return null;
  }
}

/** Job-level guarantees, in the bit order of the per-job masks. */
export const JOB_GUARANTEES: readonly GuaranteeId[] = ['never_signalled', 'job_result', 'signal_order', 'dependency_order', 'killed_unstarted'];
export const JOB_BIT: Readonly<Record<string, number>> = Object.fromEntries(JOB_GUARANTEES.map((g, i) => [g, 1 << i]));

/**
 * What happened around a job while it was in flight: where outcomes race by design, jobs are
 * compared as distributions per situation, not one by one.
 */
export const SITUATIONS = ['undisturbed', 'hung', 'killed before start', 'killed in flight', 'unplugged', 'device event', 'dependency failed'] as const;
export type Situation = (typeof SITUATIONS)[number];
