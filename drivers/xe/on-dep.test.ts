/**
 * What only the drm_dep binding does (RFC patches 03-10, as inferred): IRQ job put, the exec
 * queue living on the drm_dep_queue refcount with an asynchronous release that sends the GuC
 * DISABLE + DEREGISTER, reclaim-annotated workqueues, kill semantics, GT-reset re-emission by
 * the driver, queue-table walks through xe_exec_queue_get_unless_zero, and what the submit
 * bypass flag would do to xe.
 */
import { describe, expect, it } from 'vitest';
import { dma_fence_signal, workqueue_is_reclaim_annotated } from '@deplab/sim';
import type { xe_exec_queue } from './on-dep.ts';
import { MS, events, fw_actions, guc_id, outcomes, queue, setup, submit, submit_many, sw_fence, teardown } from './xe.testlib.ts';

function work_items(k: ReturnType<typeof setup>['k'], work: string): number {
  return events(k, 'workqueue_execute_start').filter((e) => e.args.work === work).length;
}

describe('xe on drm_dep: the conversion', () => {
  it('patch 09: job references are dropped from the completion IRQ (no put_job worker); without the flag the worker does it', () => {
    for (const irq_put of [true, false]) {
      const s = setup('dep', { dep_irq_put: irq_put });
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q = queue(dev, c);
      const jobs = submit_many(k, dev, q, [0, 1, 2, 3].map(() => ({ duration_ns: MS })));
      k.run_for(10 * MS);
      expect(outcomes(jobs)).toEqual(['0', '0', '0', '0']);
      expect(work_items(k, 'drm_dep_queue_put_job_work') > 0).toBe(!irq_put);
      const frees = events(k, 'drm_dep_job_free');
      expect(frees.length).toBe(4);
      expect(frees.every((e) => (e.context.startsWith('hardirq') === irq_put))).toBe(true);
      teardown(s, [c]);
    }
  });

  it('dep_flags (exploration) overrides dep_irq_put and dep_submit_bypass', () => {
    for (const flags of [0, 1, 2, 3]) {
      const s = setup('dep', { dep_flags: flags, dep_irq_put: true, dep_submit_bypass: false });
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q = queue(dev, c);
      const jobs = submit_many(k, dev, q, [0, 1].map(() => ({ duration_ns: MS })));
      k.run_for(10 * MS);
      expect(outcomes(jobs)).toEqual(['0', '0']);
      expect(work_items(k, 'drm_dep_queue_put_job_work') > 0).toBe((flags & 1) === 0);
      expect(events(k, 'xe_sched_job_run')[0].context === k.init_ctx.name).toBe((flags & 2) !== 0);
      teardown(s, [c]);
    }
  });

  it('patch 08: the exec queue is the drm_dep_queue; its async release sends DISABLE + DEREGISTER and ends in release_done', () => {
    const s = setup('dep');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const id = guc_id(dev, q);
    submit(k, dev, q, { duration_ns: MS });
    k.run_for(2 * MS);
    k.run_task(dev.destroy_queue(q));
    k.run_for(MS);
    expect(fw_actions(dev, id).slice(-3)).toEqual(['UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT_MODE_SET', 'DEREGISTER_CONTEXT']);
    const order = k.trace.events.filter((e) => ['drm_dep_queue_release', 'xe_exec_queue_cleanup_entity', 'xe_exec_queue_deregister_done',
      'drm_dep_queue_free', 'xe_exec_queue_destroy'].includes(e.name)).map((e) => e.name);
    expect(order).toEqual(['drm_dep_queue_release', 'xe_exec_queue_cleanup_entity', 'xe_exec_queue_deregister_done',
      'drm_dep_queue_free', 'xe_exec_queue_destroy']);
    expect(k.lifetime.live(['drm_dep_queue', 'xe_exec_queue'])).toEqual([]);
    teardown(s, [c]);
  });

  it('patch 03: the submit, TDR, G2H, preempt-fence and TLB workqueues are reclaim annotated', () => {
    const s = setup('dep');
    const { dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const xq = dev.exec_queue(q) as xe_exec_queue;
    const xe = dev.xe;
    for (const wq of [xq.guc!.sched.submit_wq!, xe.gt.ordered_wq, xe.gt.guc.g2h_wq, xe.preempt_fence_wq, xe.gt.tlb_inval.job_wq]) {
      expect(workqueue_is_reclaim_annotated(wq), wq.name).toBe(true);
    }
    teardown(s, [c]); // and no drm_dep WARN about a driver-given workqueue
  });

  it('patch 10: kill cancels a job still waiting for its in-fence without calling run_job', () => {
    const s = setup('dep');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const f = sw_fence(k);
    const jobs = submit_many(k, dev, q, [{ duration_ns: 10 * MS }, { duration_ns: MS, deps: [f] }]);
    k.run_for(MS);
    k.run_task(dev.close_client(c));
    k.run_for(MS);
    dma_fence_signal(f);
    k.run_for(MS);
    expect(outcomes(jobs)).toEqual(['-ETIME', '-ECANCELED']);
    expect(events(k, 'xe_sched_job_run').length).toBe(1);
    teardown(s, [], [], [f]);
  });

  it('GT reset: the driver re-emits pending jobs through run_job\'s body; drm_dep\'s run_job is not called again', () => {
    const s = setup('dep');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const kq = queue(dev, c, { engine: 'copy', driver: { kernel: true } });
    const j = submit_many(k, dev, kq, [{ duration_ns: 'manual' }, { duration_ns: MS }]);
    k.run_for(MS);
    dev.inject_fault({ kind: 'device_reset' });
    k.run_for(50 * MS);
    dev.complete_manual(j[0]);
    k.run_for(10 * MS);
    expect(outcomes(j)).toEqual(['0', '0']);
    expect(events(k, 'drm_dep_job_run').length).toBe(2);
    expect(events(k, 'xe_sched_job_run').length).toBe(4);
    expect(fw_actions(dev, guc_id(dev, kq)).filter((a) => a === 'REGISTER_CONTEXT').length).toBe(2);
    teardown(s, [c]);
  });

  it('finding 4 retired: a GT reset walking the GuC id table skips drm_dep calls on a queue whose last reference is gone', () => {
    // The window exists with dep.release=work (ops.release from drm_dep's teardown work); with
    // the default last-put, ops.release runs at the put and there is no window to test.
    const s = setup('dep', {}, { 'dep.release': 'work' });
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const name = dev.exec_queue(q)!.name;
    submit(k, dev, q, { duration_ns: MS });
    k.run_for(5 * MS);
    // The reset worker is queued first, then the close drops the last reference: the walk
    // reaches the queue after its last put and before drm_dep's teardown work calls ops.release.
    dev.inject_fault({ kind: 'device_reset' });
    k.run_task(dev.close_client(c));
    k.run_for(100 * MS);
    const at = (event: string) => k.trace.events.findIndex((e) => e.name === event && (e.args.queue === name || e.args.ring === name));
    expect(at('xe_exec_queue_kill')).toBeLessThan(at('xe_exec_queue_stop'));
    expect(at('xe_exec_queue_stop')).toBeLessThan(at('drm_dep_queue_release'));
    // The release completes after the reset: CLEANUP finds the context gone, release_done, free.
    expect(at('xe_exec_queue_cleanup_entity')).toBeGreaterThan(at('drm_dep_queue_release'));
    expect(k.lifetime.live(['drm_dep_queue', 'xe_exec_queue'])).toEqual([]);
    teardown(s, []); // no "after its last put" WARN from drm_dep_queue_stop or the pending-job walk
  });

  it('submit bypass (not what xe uses by default): run_job runs in the submitting thread, outside the ordered submit wq', () => {
    const s = setup('dep', { dep_submit_bypass: true });
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const j = submit(k, dev, q, { duration_ns: MS });
    k.run_for(5 * MS);
    expect(outcomes([j])).toEqual(['0']);
    // The in-band messages rely on sharing run_job's ordered workqueue; with the bypass the
    // first run_job ran in the ioctl's own context instead.
    expect(events(k, 'xe_sched_job_run')[0].context).toBe(k.init_ctx.name);
    teardown(s, [c]);
  });
});
