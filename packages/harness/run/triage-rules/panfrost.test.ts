/**
 * panfrost's triage rules on real runs: each workload below makes one mechanism of
 * drivers/panfrost/README.md ("Unplug on drm_sched", #ctx-destroy-hard-stop) happen, and every
 * group it shows on drm_sched gets the rule written for that mechanism. The same workloads on the
 * HW-queue binding are clean.
 */
import { describe, expect, it } from 'vitest';
import { triaged_findings, type CaseSpec } from './driver-case.testlib.ts';

type Step = Record<string, unknown>;
const batch = (queue: string, duration_us: number, more: Record<string, unknown> = {}): Step => ({ batch: { queue, duration_us, ...more } });
const client = (name: string, engine: string, steps: Step[]) => ({ name, queues: [{ name: 'q', engine }], program: { loops: 1, steps } });
const workload = (clients: object[], events: object[]) => ({ name: 'triage-panfrost', clients, events });
const spec = (w: object, backend: CaseSpec['backend'] = 'sched', costs: Record<string, number> = {}): CaseSpec => ({ driver: 'panfrost', backend, workload: w, costs });

/** A job on JS0 hangs; remove comes while it and the job behind it are on the slot, and the client waits for the last one. */
const PENDING = workload([client('a', 'render', [batch('q', 1000), batch('q', 1000, { hang: true }), batch('q', 1000, { wait: true })])], [{ at_us: 300, action: 'unplug' }]);
/** The client's job has finished; remove comes while its file (and entity) is still open. */
const OPEN_FILE = workload([client('a', 'render', [batch('q', 100, { wait: true }), { delay: { us: 5000 } }])], [{ at_us: 2000, action: 'unplug' }]);
/** The job completes at ~0.7 ms; with 0.3 ms kworker wake-ups the IRQ thread runs only after remove (0.55 ms). */
const IRQ_THREAD = workload([client('a', 'render', [batch('q', 100), { delay: { us: 5000 } }])], [{ at_us: 550, action: 'unplug' }]);
/**
 * A hung compute job's TDR resets the GPU at 500 ms (its soft-stop poll lasts 10 ms); remove comes
 * during it, with b's jobs queued on JS0 and c's job waiting for the hung one.
 */
const DURING_RESET = workload([
  client('a', 'compute', [batch('q', 1000, { hang: true })]),
  client('b', 'render', [{ delay: { us: 500_000 } }, batch('q', 20_000), batch('q', 20_000), batch('q', 20_000), batch('q', 20_000)]),
  client('c', 'render', [{ delay: { us: 100 } }, batch('q', 1000, { deps: [{ client: 'a', queue: 'q', last: true }] })]),
], [{ at_us: 505_000, action: 'unplug' }]);

/** Two jobs on JS0, a third queued behind them (two credits); the context is destroyed right after the third submit. */
const DESTROY_WITH_QUEUED = workload([client('a', 'render', [batch('q', 5000), batch('q', 5000), { delay: { us: 1000 } }, batch('q', 5000)])],
  [{ after: { client: 'a', step: 3, loop: 0 }, action: 'destroy_queue', client: 'a', queue: 'q' }]);

/**
 * With 1 ms kworker wake-ups the short job ends at ~1.25 ms but the IRQ thread runs at ~2.25 ms;
 * the close at 1.8 ms hard-stops the long job behind it (the layer's in-flight kill).
 */
const CLOSE_BEFORE_IRQ_THREAD = workload([client('a', 'compute', [batch('q', 200), batch('q', 10_000)])], [{ at_us: 1800, action: 'close_client', client: 'a' }]);
const SLOW_KWORKERS = { kworker_wakeup_ns: 1_000_000 };

function rules_of(s: CaseSpec): Record<string, string | null> {
  return Object.fromEntries(triaged_findings(s));
}

describe('panfrost triage rules', () => {
  it('#unplug-pending: jobs on the slots at drm_sched_fini leak with their context, never signal, keep the score; a waiter hangs', () => {
    const r = rules_of(spec(PENDING));
    expect(r['warn @ drm_sched_fini']).toBe('legacy-fini-warn');
    for (const type of ['drm_sched_job', 'drm_sched_fence.finished', 'drm_sched_fence.scheduled', 'kmalloc:drm_sched_fence', 'kmalloc:panfrost_job',
      'panfrost_fence', 'kmalloc:panfrost_fence', 'panfrost_jm_ctx', 'drm_sched_entity', 'kmalloc:drm_sched_entity_stats']) {
      expect(r[`leak @ after unplug: ${type}`], type).toBe('panfrost-unplug-pending-leak');
    }
    expect(r['never_signalled @ finished fence after teardown']).toBe('panfrost-unplug-pending-unsignalled');
    expect(r['score_leak @ drm_sched_score at teardown (unfinished jobs)']).toBe('panfrost-unplug-pending-score');
    expect(r['hang @ run_workload']).toBe('panfrost-unplug-pending-waiter');
  });

  it('#unplug-open-files: an open file\'s entity is still on the run queue at drm_sched_fini', () => {
    const r = rules_of(spec(OPEN_FILE));
    expect(r).toEqual({
      'use_after_free @ drm_sched_entity_flush: entity->rq': 'legacy-entity-after-fini',
      'use_after_free @ drm_sched_rq_remove_entity: rq': 'legacy-entity-after-fini',
      'score_leak @ drm_sched_score at teardown (other)': 'panfrost-unplug-open-files-score',
    });
  });

  it('#unplug-irq-thread: the IRQ thread woken before remove completes a job on the finalised scheduler', () => {
    const r = rules_of(spec(IRQ_THREAD, 'sched', { kworker_wakeup_ns: 300_000 }));
    expect(r['use_after_free @ drm_sched_job_done: s_fence->sched']).toBe('panfrost-unplug-irq-thread');
    expect(r['warn @ queue_work']).toBeUndefined(); // no reset involved
  });

  it('#unplug-during-reset: the TDR\'s GPU reset restarts the schedulers remove finalised; a dependant\'s entity is woken on a freed run queue', () => {
    const r = rules_of(spec(DURING_RESET));
    expect(r['warn @ queue_work']).toBe('panfrost-unplug-during-reset-queue-work');
    expect(r['use_after_free @ drm_sched_job_timedout']).toBe('panfrost-unplug-during-reset-uaf');
    expect(r['use_after_free @ drm_sched_select_entity']).toBe('panfrost-unplug-during-reset-uaf');
    expect(r['use_after_free @ drm_sched_entity_wakeup: entity->rq']).toBe('panfrost-unplug-open-files-wakeup');
    expect(r['use_after_free @ drm_sched_job_done: s_fence->sched']).toBe('panfrost-unplug-irq-thread');
  });

  it('#ctx-destroy-hard-stop: the queued job fails in run_job before the job ahead of it, which the kill missed, succeeds', () => {
    expect(rules_of(spec(DESTROY_WITH_QUEUED))).toEqual({ 'signal_order @ finished fences of one queue': 'panfrost-destroyed-context-out-of-order' });
  });

  it('#irq-failed-before-done: on the HW-queue binding the killed job signals before the finished job ahead of it; on drm_sched the kill never fires', () => {
    expect(rules_of(spec(CLOSE_BEFORE_IRQ_THREAD, 'dep-hw', SLOW_KWORKERS))).toEqual({ 'signal_order @ finished fences of one queue': 'panfrost-irq-failed-before-done' });
    expect(rules_of(spec(CLOSE_BEFORE_IRQ_THREAD, 'sched', SLOW_KWORKERS))).toEqual({});
  });

  it('leaves no group of these runs unclassified on drm_sched, and the HW-queue binding shows none of them', () => {
    for (const [w, costs] of [[PENDING, {}], [OPEN_FILE, {}], [IRQ_THREAD, { kworker_wakeup_ns: 300_000 }], [DURING_RESET, {}], [DESTROY_WITH_QUEUED, {}]] as const) {
      const sched = rules_of(spec(w, 'sched', costs));
      expect(Object.entries(sched).filter(([, rule]) => rule === null)).toEqual([]);
      expect(rules_of(spec(w, 'dep-hw', costs))).toEqual({});
    }
  });

  it('does not classify the same groups on another driver or backend', () => {
    const r = rules_of({ ...spec(PENDING), driver: 'mock' });
    expect(Object.values(r).some((rule) => rule?.startsWith('panfrost-') === true)).toBe(false);
  });
});
