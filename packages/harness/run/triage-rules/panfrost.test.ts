/**
 * panfrost's triage rules on real runs: each workload below makes one mechanism of
 * drivers/panfrost/README.md ("Unplug on drm_sched", #ctx-destroy-hard-stop,
 * #irq-failed-before-done) happen, and every group it shows gets the rule written for that
 * mechanism (panfrost's, or legacy.ts's for the drm_sched hazards remove reaches). The drm_sched
 * workloads are clean on the HW-queue binding.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '@deplab/driver-api';
import { client, triaged_groups } from './scenario.testlib.ts';
import { campaign_subject, triage } from '../triage.ts';

type Step = Record<string, unknown>;
const batch = (duration_us: number, more: Record<string, unknown> = {}): Step => ({ batch: { queue: 'q', duration_us, ...more } });
const on = (engine: string) => [{ name: 'q', engine }];

/** A job on JS0 hangs; remove comes while it and the job behind it are on the slot, and the client waits for the last one. */
const PENDING = { clients: [client('a', [batch(1000), batch(1000, { hang: true }), batch(1000, { wait: true })])], events: [{ at_us: 300, action: 'unplug' }] };
/** The job completes at ~0.7 ms; with 0.3 ms kworker wake-ups the IRQ thread runs only after remove (0.55 ms). */
const IRQ_THREAD = { clients: [client('a', [batch(100), { delay: { us: 5000 } }])], events: [{ at_us: 550, action: 'unplug' }] };
/**
 * A hung compute job's TDR resets the GPU at 500 ms (its soft-stop poll lasts 10 ms); remove comes
 * during it, with b's jobs queued on JS0 and c's job waiting for the hung one.
 */
const DURING_RESET = {
  clients: [
    client('a', [batch(1000, { hang: true })], on('compute')),
    client('b', [{ delay: { us: 500_000 } }, batch(20_000), batch(20_000), batch(20_000), batch(20_000)]),
    client('c', [{ delay: { us: 100 } }, batch(1000, { deps: [{ client: 'a', queue: 'q', last: true }] })]),
  ],
  events: [{ at_us: 505_000, action: 'unplug' }],
};
/** Two jobs on JS0, a third queued behind them (two credits); the context is destroyed right after the third submit. */
const DESTROY_WITH_QUEUED = {
  clients: [client('a', [batch(5000), batch(5000), { delay: { us: 1000 } }, batch(5000)])],
  events: [{ after: { client: 'a', step: 3, loop: 0 }, action: 'destroy_queue', client: 'a', queue: 'q' }],
};
/**
 * With 1 ms kworker wake-ups the short job ends at ~1.25 ms but the IRQ thread runs at ~2.25 ms;
 * the close at 1.8 ms hard-stops the long job behind it (the layer's in-flight kill).
 */
const CLOSE_BEFORE_IRQ_THREAD = { clients: [client('a', [batch(200), batch(10_000)], on('compute'))], events: [{ at_us: 1800, action: 'close_client', client: 'a' }] };

const SLOW_IRQ_THREAD = { kworker_wakeup_ns: 300_000 };
const SLOW_KWORKERS = { kworker_wakeup_ns: 1_000_000 };

function rules_of(w: object, backend: Backend = 'sched', costs: Record<string, number> = {}): Record<string, string | null> {
  return Object.fromEntries(triaged_groups('panfrost', {}, w, { backend, costs }));
}

describe('panfrost triage rules', () => {
  it('#unplug-pending: jobs on the slots at drm_sched_fini leak with their context and never signal; a waiter hangs', () => {
    const r = rules_of(PENDING);
    expect(r['warn @ drm_sched_fini']).toBe('legacy-fini-warn');
    for (const type of ['drm_sched_job', 'drm_sched_fence.finished', 'drm_sched_fence.scheduled', 'kmalloc:drm_sched_fence', 'kmalloc:panfrost_job',
      'panfrost_fence', 'kmalloc:panfrost_fence', 'panfrost_jm_ctx', 'drm_sched_entity', 'kmalloc:drm_sched_entity_stats']) {
      expect(r[`leak @ after unplug: ${type}`], type).toBe('panfrost-unplug-pending-leak');
    }
    expect(r['never_signalled @ finished fence after teardown']).toBe('panfrost-unplug-pending-unsignalled');
    expect(r['hang @ run_workload']).toBe('panfrost-unplug-pending-waiter');
    expect(r['score_leak @ drm_sched_score at teardown (unfinished jobs)']).toBe('legacy-fini-with-work-score');
  });

  it('#unplug-irq-thread: the IRQ thread woken before remove completes a job on the finalised scheduler', () => {
    const r = rules_of(IRQ_THREAD, 'sched', SLOW_IRQ_THREAD);
    expect(r['use_after_free @ drm_sched_job_done: s_fence->sched']).toBe('panfrost-unplug-irq-thread');
    expect(r['warn @ queue_work']).toBeUndefined(); // no reset involved
  });

  it('#unplug-during-reset: the TDR\'s GPU reset restarts the schedulers remove finalised and re-arms a TDR on one', () => {
    const r = rules_of(DURING_RESET);
    expect(r['use_after_free @ drm_sched_job_timedout']).toBe('panfrost-restart-rearms-tdr');
    // The same re-armed TDR meeting a job still hung there: increase_karma's NULL run queue (campaign seed 101 of 300).
    expect(triage(campaign_subject('bug', 'drm_sched_increase_karma', 'NULL pointer dereference: sched->sched_rq (after drm_sched_fini)'), 'panfrost', 'sched', ['campaign']).rule)
      .toBe('panfrost-restart-rearms-tdr');
    expect(r['use_after_free @ drm_sched_job_done: s_fence->sched']).toBe('panfrost-unplug-irq-thread');
    expect(r['warn @ queue_work']).toBe('legacy-restart-after-fini');
    expect(r['use_after_free @ drm_sched_select_entity']).toBe('legacy-restart-after-fini');
    expect(r['use_after_free @ drm_sched_entity_wakeup: entity->rq']).toBe('legacy-entity-after-fini');
  });

  it('#ctx-destroy-hard-stop: the queued job fails in run_job before the job ahead of it, which the kill missed, succeeds', () => {
    expect(rules_of(DESTROY_WITH_QUEUED)).toEqual({ 'signal_order @ finished fences of one queue': 'panfrost-destroyed-context-out-of-order' });
  });

  it('#irq-failed-before-done: on the HW-queue binding the killed job signals before the finished job ahead of it; on drm_sched the kill never fires', () => {
    expect(rules_of(CLOSE_BEFORE_IRQ_THREAD, 'dep-hw', SLOW_KWORKERS)).toEqual({ 'signal_order @ finished fences of one queue': 'panfrost-irq-failed-before-done' });
    expect(rules_of(CLOSE_BEFORE_IRQ_THREAD, 'sched', SLOW_KWORKERS)).toEqual({});
  });

  it('leaves no group of the drm_sched runs unclassified, and the HW-queue binding shows none of them', () => {
    for (const [w, costs] of [[PENDING, {}], [IRQ_THREAD, SLOW_IRQ_THREAD], [DURING_RESET, {}], [DESTROY_WITH_QUEUED, {}]] as const) {
      expect(Object.entries(rules_of(w, 'sched', costs)).filter(([, rule]) => rule === null)).toEqual([]);
      expect(rules_of(w, 'dep-hw', costs)).toEqual({});
    }
  });

  it('does not classify the same groups on another driver', () => {
    const r = Object.fromEntries(triaged_groups('mock', {}, PENDING));
    expect(Object.values(r).some((rule) => rule?.startsWith('panfrost-') === true)).toBe(false);
  });
});

describe('panfrost run_job allocation', () => {
  it('the GFP_KERNEL done fence in run_job, reported on drm_sched under the annotated assumption, is a latent driver bug; not on the HW layer', () => {
    const g = campaign_subject('lockdep_cycle', 'kmalloc(panfrost_fence, GFP_KERNEL)', 'possible circular locking dependency: dma_fence_map -> fs_reclaim closes a cycle');
    expect(triage(g, 'panfrost', 'sched').rule).toBe('panfrost-run-job-gfp-kernel');
    expect(triage(g, 'panfrost', 'dep-hw').rule).toBeNull();
    expect(triage(g, 'mock', 'sched').rule).toBeNull();
  });
});

