/**
 * Every legacy rule classifies a real group: a small run on drm_sched that reproduces the
 * hazard's mechanism (docs/legacy-hazards.md), with the driver shape the campaign draws.
 */
import { describe, expect, it } from 'vitest';
import { campaign_subject, triage } from '../triage.ts';
import { client, triaged_groups } from './scenario.testlib.ts';

const JOB_LEAKS = ['drm_sched_job', 'drm_sched_fence.finished', 'drm_sched_fence.scheduled', 'kmalloc:drm_sched_fence', 'kmalloc:drm_sched_entity_stats', 'mock.hw_fence']
  .map((t) => `leak @ after unplug: ${t}`);

function expect_rules(groups: Map<string, string | null>, expected: Readonly<Record<string, string>>): void {
  for (const [key, rule] of Object.entries(expected)) expect([key, groups.get(key)], [...groups.keys()].join('; ')).toEqual([key, rule]);
}

describe('legacy rules on real drm_sched groups', () => {
  it('1. no cancel_job: a job on the hardware at unplug leaks, its late completion touches the dead scheduler; one behind a hung job never signals', () => {
    const g = triaged_groups('mock', { no_cancel_job: true }, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 10_000 } }, { batch: { queue: 'q', duration_us: 100, hang: true } }])],
      events: [{ at_us: 1000, action: 'unplug' }],
    });
    expect_rules(g, {
      'warn @ drm_sched_fini': 'legacy-fini-warn',
      'use_after_free @ drm_sched_job_done: s_fence->sched': 'legacy-fini-late-done',
      'never_signalled @ finished fence after teardown': 'legacy-fini-pending',
      'score_leak @ drm_sched_score at teardown (unfinished jobs)': 'legacy-fini-pending',
      ...Object.fromEntries(JOB_LEAKS.map((k) => [k, 'legacy-fini-leak'])),
    });
  });

  it('1, 2. panfrost (no cancel_job): unplug with a job running and a file open; the file closes after drm_sched_fini', () => {
    const g = triaged_groups('panfrost', {}, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 10_000 } }, { batch: { queue: 'q', duration_us: 100 } }])],
      events: [{ at_us: 1000, action: 'unplug' }],
    });
    expect_rules(g, {
      'warn @ drm_sched_fini': 'legacy-fini-warn',
      'use_after_free @ drm_sched_entity_flush: entity->rq': 'legacy-entity-after-fini',
      'score_leak @ drm_sched_score at teardown (unfinished jobs)': 'legacy-fini-with-work-score',
    });
    const idle = triaged_groups('panfrost', {}, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 100 } }])], events: [{ at_us: 1000, action: 'unplug' }],
    });
    expect_rules(idle, {
      'use_after_free @ drm_sched_rq_remove_entity: rq': 'legacy-entity-after-fini',
      'score_leak @ drm_sched_score at teardown (other)': 'legacy-fini-with-work-score',
    });
  });

  it('2. unplug_keeps_queues: a file closed after drm_sched_fini uses the freed run queue and, with jobs queued, never returns', () => {
    const g = triaged_groups('mock', { unplug_keeps_queues: true, credit_limit: 1 }, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 100, hang: true } }, { batch: { queue: 'q', duration_us: 100 } }])],
      events: [{ at_us: 1000, action: 'unplug' }],
    });
    expect_rules(g, {
      'use_after_free @ drm_sched_entity_flush: entity->rq': 'legacy-entity-after-fini',
      'hang @ Kernel.run_task': 'legacy-release-after-fini',
      'hang @ teardown': 'legacy-release-after-fini',
      'never_signalled @ finished fence after teardown': 'legacy-release-after-fini',
      'score_leak @ drm_sched_score at teardown (unfinished jobs)': 'legacy-release-after-fini',
      'leak @ after unplug: drm_sched_entity': 'legacy-release-after-fini-leak',
      ...Object.fromEntries(JOB_LEAKS.map((k) => [k, 'legacy-release-after-fini-jobs'])),
    });
    // An idle entity: its close returns, but its unit is still in the score at fini.
    const idle = triaged_groups('mock', { unplug_keeps_queues: true }, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 100 } }])], events: [{ at_us: 1000, action: 'unplug' }],
    });
    expect_rules(idle, {
      'use_after_free @ drm_sched_rq_remove_entity: rq': 'legacy-entity-after-fini',
      'score_leak @ drm_sched_score at teardown (other)': 'legacy-entity-score-at-fini',
    });
    // The same leftover entity under the TDR variants (campaign seed 417 on tdr=stop_no_hang).
    const other = campaign_subject('score_leak', 'drm_sched_score at teardown (other)', 'scheduler score 2 at fini, expected 0 (1 job(s) killed before they ran, 0 never finished)');
    for (const v of ['tdr=stop_no_hang', 'tdr=reset_leaves_job']) expect(triage(other, 'mock', 'sched', ['campaign'], v).rule, v).toBe('legacy-entity-score-at-fini');
    // A dependency signalled after fini wakes an entity on a freed run queue.
    const wake = triaged_groups('mock', { unplug_keeps_queues: true }, {
      external_fences: [{ name: 'x', signal_at_us: 3000 }],
      clients: [client('b', [{ batch: { queue: 'q', duration_us: 100, deps: [{ external: 'x' }] } }])],
      events: [{ at_us: 1000, action: 'unplug' }],
    });
    expect_rules(wake, { 'use_after_free @ drm_sched_entity_wakeup: entity->rq': 'legacy-entity-after-fini' });
  });

  it('2. the plain mock: a live release still flushing when the device is unplugged never returns', () => {
    const g = triaged_groups('mock', { credit_limit: 1 }, {
      clients: [
        client('h', [{ batch: { queue: 'q', duration_us: 100, hang: true } }]),
        client('b', [{ delay: { us: 100 } }, { batch: { queue: 'q', duration_us: 100 } }, { batch: { queue: 'q', duration_us: 100 } }]),
      ],
      events: [{ after: { client: 'b', step: 2, loop: 0 }, action: 'destroy_queue', client: 'b', queue: 'q' }, { at_us: 1000, action: 'unplug' }],
    });
    expect_rules(g, {
      'hang @ Kernel.run_task': 'legacy-release-after-fini',
      'never_signalled @ finished fence after teardown': 'legacy-release-after-fini',
      'leak @ after unplug: drm_sched_entity': 'legacy-release-after-fini-leak',
      'leak @ after unplug: drm_sched_job': 'legacy-release-after-fini-jobs',
    });
    // The runner's own watchdog group is not claimed here.
    expect(g.get('hang @ run_workload')).not.toBe('legacy-release-after-fini');
  });

  it('panfrost: a timeout reset still running at unplug restarts a finalised scheduler', () => {
    // The compute job hangs: its TDR (500 ms) resets every slot; unplug comes while it runs.
    const g = triaged_groups('panfrost', {}, {
      clients: [
        client('a', [{ batch: { queue: 'c', duration_us: 100, hang: true } }], [{ name: 'c', engine: 'compute' }]),
        client('b', [{ batch: { queue: 'q', duration_us: 100 } }, { delay: { us: 600_000 } }, { batch: { queue: 'q', duration_us: 100 } }]),
      ],
      events: [{ at_us: 510_000, action: 'unplug' }],
    });
    expect_rules(g, {
      'use_after_free @ drm_sched_select_entity': 'legacy-restart-after-fini',
      'warn @ queue_work': 'legacy-restart-after-fini',
    });
  });

  it('3, 4. tdr=reset_leaves_job: RESET without disposing of the unlinked job leaks it', () => {
    const g = triaged_groups('mock', { tdr: 'reset_leaves_job', timeout_ms: 2 }, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 100, hang: true } }])],
    });
    expect_rules(g, Object.fromEntries(JOB_LEAKS.map((k) => [k, 'legacy-reset-leaves-job'])));
  });

  it('4. tdr=stop_no_hang: free_guilty frees the job NO_HANG re-inserts; every later user of it is classified', () => {
    const g = triaged_groups('mock', { tdr: 'stop_no_hang', timeout_ms: 2 }, {
      clients: [client('a', [{ batch: { queue: 'q', duration_us: 100, hang: true } }, { batch: { queue: 'q', duration_us: 500 } }])],
    });
    const sites = ['drm_sched_get_finished_job', 'drm_sched_job_timedout', 'drm_sched_stop', 'drm_sched_job_cleanup'];
    expect_rules(g, {
      ...Object.fromEntries(sites.flatMap((s) => [[`use_after_free @ ${s}`, 'legacy-free-guilty'], [`bug @ ${s}`, 'legacy-free-guilty']])),
      'use_after_free @ free_job': 'legacy-free-guilty',
      'use_after_free @ dma_fence_put': 'legacy-free-guilty',
    });
    // The same sites without the misuse are not free_guilty.
    expect(triage(campaign_subject('use_after_free', 'free_job', ''), 'mock', 'sched', ['campaign'], 'plain').rule).toBeNull();
  });

  it("8. jobs killed with their entity keep their score unit", () => {
    const g = triaged_groups('mock', { credit_limit: 1, close_as: 'sigkill' }, {
      clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 1000 } }] } }],
      events: [{ at_us: 100, action: 'close_client', client: 'a' }],
    });
    expect_rules(g, { 'score_leak @ drm_sched_score at teardown (killed jobs)': 'legacy-killed-score' });
  });

  it('10. job starts push the TDR of a hung head job out', () => {
    const g = triaged_groups('mock', { timeout_ms: 5 }, {
      clients: [
        client('h', [{ batch: { queue: 'q', duration_us: 100, hang: true } }]),
        { name: 's', queues: [{ name: 'q', engine: 'render' }], program: { loops: 10, steps: [{ delay: { us: 2000 } }, { batch: { queue: 'q', duration_us: 100 } }] } },
      ],
    });
    expect_rules(g, { 'tdr_late @ timeout detection': 'legacy-tdr-pushed-out' });
  });

  it('10. on xe too: the jobs behind a hung one on its exec queue still start, each pushing its 2 ms TDR out (campaign seed 328)', () => {
    const g = triaged_groups('xe', { job_timeout_ms: 2 }, {
      clients: [{ name: 's', queues: [{ name: 'q', engine: 'render' }], program: { loops: 10, steps: [{ batch: { queue: 'q', duration_us: 100 } }, { delay: { us: 1000 } }] } }],
      events: [{ at_us: 50, action: 'hang_job', client: 's', queue: 'q' }],
    });
    expect_rules(g, { 'tdr_late @ timeout detection': 'legacy-tdr-pushed-out' });
  });

  it('match drm_sched only, and only the drivers whose groups were checked', () => {
    const t = (kind: string, site: string, driver: string, backend: 'sched' | 'dep') => triage(campaign_subject(kind, site, ''), driver, backend, ['campaign'], 'plain').rule;
    expect(t('warn', 'drm_sched_fini', 'mock', 'dep')).toBeNull();
    expect(t('warn', 'drm_sched_fini', 'xe', 'sched')).toBeNull();
    expect(t('hang', 'Kernel.run_task', 'mock', 'dep')).toBeNull();
    expect(t('tdr_late', 'timeout detection', 'panthor', 'sched')).toBeNull();
    expect(t('tdr_late', 'timeout detection', 'xe', 'dep')).toBeNull();
  });
});
