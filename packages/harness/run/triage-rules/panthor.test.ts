/**
 * panthor's rules on real groups: an unplug while one group is busy on its CSG slot, a bind job
 * and another client's job depending on it, and the busy client waiting on its job. Every group
 * it shows is panthor's unplug (docs/findings.md#panthor-unplug); without the unplug it shows none.
 */
import { describe, expect, it } from 'vitest';
import { campaign_subject, triage } from '../triage.ts';
import { scenario_groups, triaged_groups } from './scenario.testlib.ts';

const busy_app = { name: 'app', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps: [{ batch: { queue: 'q', duration_us: 100_000, wait: true } }] } };
const on_app = (name: string, engine: string) => ({
  name, queues: [{ name: 'q', engine }],
  program: { loops: 1, steps: [{ delay: { us: 100 } }, { batch: { queue: 'q', duration_us: 100, deps: [{ client: 'app', queue: 'q', last: true }] } }] },
});
const workload = (events: object[]) => ({ name: 'panthor-unplug', clients: [busy_app, on_app('binder', 'bind'), on_app('later', 'render')], events });
const UNPLUG = [{ at_us: 1000, action: 'unplug' }];

const PANTHOR_OBJECTS = [
  'kmalloc:panthor_group', 'kmalloc:panthor_queue', 'kmalloc:panthor_kernel_bo', 'kmalloc:panthor_vm', 'kmalloc:panthor_job',
  'kmalloc:panthor_job.done_fence', 'panthor.done_fence', 'kmalloc:panthor_vm_bind_job', 'kmalloc:panthor_vm_op_ctx',
];
const SCHED_OBJECTS = [
  'drm_gpu_scheduler', 'drm_sched_rq', 'drm_sched_entity', 'drm_sched_job', 'drm_sched_fence.finished', 'drm_sched_fence.scheduled',
  'kmalloc:drm_sched_fence', 'kmalloc:drm_sched_entity_stats',
];
// No kmalloc:xa_node: each job here has one dependency, which the xarray keeps in its head.
const DEP_OBJECTS = ['drm_dep_queue', 'drm_dep_job', 'drm_dep_fence', 'kmalloc:drm_dep_fence'];

describe('panthor triage rules on a campaign run with an unplug while a group is busy', () => {
  for (const [backend, objects, leak_rule] of [['sched', SCHED_OBJECTS, 'panthor-unplug-leak-sched'], ['dep', DEP_OBJECTS, 'panthor-unplug-leak-dep']] as const) {
    it(`${backend}: every group is the unplug's, each leaked type, the never-signalled jobs and the waiting program`, () => {
      const groups = triaged_groups('panthor', {}, workload(UNPLUG), { backend });
      const expected = new Map<string, string>([
        ['hang @ run_workload', 'panthor-unplug-hang'],
        ['never_signalled @ finished fence after teardown', 'panthor-unplug-never-signalled'],
        ...PANTHOR_OBJECTS.map((t): [string, string] => [`leak @ after unplug: ${t}`, 'panthor-unplug-leak']),
        ...objects.map((t): [string, string] => [`leak @ after unplug: ${t}`, leak_rule]),
      ]);
      expect(Object.fromEntries(groups)).toEqual(Object.fromEntries(expected));
    });

    it(`${backend}: the same workload without the unplug shows no group`, () => {
      expect([...triaged_groups('panthor', {}, workload([]), { backend }).keys()]).toEqual([]);
    });
  }

  it('are panthor\'s and the unplug\'s only: another driver, a run without faults, or the other backend\'s objects get none of them', () => {
    const t = (kind: string, site: string, driver: string, backend: 'sched' | 'dep', faults: string[]) =>
      triage(campaign_subject(kind, site, ''), driver, backend, faults, backend === 'dep' ? 'plain flags=0' : 'plain').rule ?? '';
    expect(t('leak', 'after unplug: kmalloc:panthor_group', 'panthor', 'sched', ['unplug'])).toBe('panthor-unplug-leak');
    expect(t('leak', 'after unplug: kmalloc:panthor_group', 'panthor', 'sched', [])).not.toMatch(/^panthor-/);
    expect(t('hang', 'run_workload', 'mock', 'sched', ['campaign'])).not.toMatch(/^panthor-/);
    expect(t('leak', 'after unplug: drm_sched_job', 'panthor', 'dep', ['campaign'])).not.toMatch(/^panthor-/);
    expect(t('leak', 'after unplug: drm_dep_job', 'panthor', 'sched', ['campaign'])).not.toMatch(/^panthor-/);
    expect(t('leak', 'after unplug: drm_sched_job', 'mock', 'sched', ['campaign'])).not.toMatch(/^panthor-/);
  });
});

describe('panthor triage rules on a firmware error racing a completion (docs/findings.md#run-job-error-order)', () => {
  // Job 1 finishes on the GPU; its completion waits for a slow kworker (0.55 ms wake-up) when
  // job 2 is submitted and a CS fatal error is raised on the queue. The FW-event work handles the
  // fatal error first (the group can no longer run), run_job cancels job 2 and signals it, then
  // job 1's sync update signals it with success. The window sits at another delay per backend:
  // job 1 reaches the hardware at a different time on each.
  const fatal_race = (delay_us: number) => ({
    name: 'panthor-fatal-race',
    clients: [{ name: 'c0', queues: [{ name: 'q', engine: 'compute' }], program: { loops: 2, steps: [{ batch: { queue: 'q', duration_us: 300 } }, { delay: { us: delay_us } }] } }],
    events: [{ after: { client: 'c0', step: 0, loop: 1 }, action: 'fw_error', client: 'c0', queue: 'q' }],
  });
  const SLOW_KWORKER = { kworker_wakeup_ns: 550_000 };

  it.each([['sched', 1350], ['dep', 1500]] as const)('%s: job 2 signals -ECANCELED before job 1 signals success; the group gets panthor-run-job-cancel-order', (backend, delay_us) => {
    const groups = scenario_groups('panthor', {}, fatal_race(delay_us), { backend, costs: SLOW_KWORKER });
    expect([...groups.keys()]).toEqual(['signal_order @ finished fences of one queue']);
    const g = groups.get('signal_order @ finished fences of one queue')!;
    expect(g.message).toBe('c0/q: c0/q#1 (error -125) signalled before the earlier c0/q#0 (error 0)');
    expect(g.rule).toBe('panthor-run-job-cancel-order');
  });

  it.each([['sched', 1350], ['dep', 1500]] as const)('%s: without the firmware error, no group', (backend, delay_us) => {
    const w = { ...fatal_race(delay_us), events: [] };
    expect([...triaged_groups('panthor', {}, w, { backend, costs: SLOW_KWORKER }).keys()]).toEqual([]);
  });
});
