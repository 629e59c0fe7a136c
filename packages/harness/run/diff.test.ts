/**
 * diff_seed's pairing rule: a job whose situation is the same on both sides is compared job by
 * job; one that a race (here an unplug) caught in flight on one side only is not, because timing
 * decides which jobs are in flight when it comes (panthor's unplug cell under the busy cost
 * profile showed 4 "regressions" in one seed and 4 "improvements" in the next).
 */
import { describe, expect, it } from 'vitest';
import { diff_seed } from './diff.ts';
import { JOB_BIT } from './guarantees.ts';
import type { Observation, QueueMasks } from './monitor.ts';

const NS = JOB_BIT.never_signalled;

function masks(jobs: readonly { broken: boolean; situation: string }[]): Map<string, QueueMasks> {
  return new Map([['a/q', {
    applicable: Uint8Array.from(jobs.map(() => NS)), broken: Uint8Array.from(jobs.map((j) => (j.broken ? NS : 0))),
    outcome: jobs.map((j) => (j.broken ? 'never signalled' : 'ok')), situation: jobs.map((j) => j.situation), count: jobs.length,
  }]]);
}

const obs = { guarantees: {} } as unknown as Observation;

describe('diff_seed pairing', () => {
  it('a job broken on the candidate only, undisturbed on both sides: a regression', () => {
    const d = diff_seed(masks([{ broken: false, situation: 'undisturbed' }]), masks([{ broken: true, situation: 'undisturbed' }]), obs, obs);
    expect(d.counts.never_signalled).toEqual({ regression: 1, improvement: 0, both: 0 });
    expect(d.situation_differs).toBe(0);
  });

  it('the same job caught by the unplug on both sides: still compared job by job', () => {
    const d = diff_seed(masks([{ broken: false, situation: 'unplugged' }]), masks([{ broken: true, situation: 'unplugged' }]), obs, obs);
    expect(d.counts.never_signalled).toEqual({ regression: 1, improvement: 0, both: 0 });
  });

  it('caught by the unplug on one side only: not a regression nor an improvement, counted as situation_differs', () => {
    const d = diff_seed(
      masks([{ broken: false, situation: 'undisturbed' }, { broken: true, situation: 'unplugged' }, { broken: true, situation: 'unplugged' }]),
      masks([{ broken: true, situation: 'unplugged' }, { broken: false, situation: 'undisturbed' }, { broken: true, situation: 'unplugged' }]),
      obs, obs);
    expect(d.counts.never_signalled).toEqual({ regression: 0, improvement: 0, both: 1 });
    expect(d.situation_differs).toBe(2);
  });
});
