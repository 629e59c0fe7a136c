/**
 * What only the drm_sched binding does: CLEANUP through the message channel and the destroy
 * worker, the v7.0 GT-reset resubmission over drm_sched_for_each_pending_job with
 * drm_sched_job_is_signaled (no drm_sched_resubmit_jobs), and drm_sched_tdr_queue_imm's
 * permanent zero timeout.
 */
import { describe, expect, it } from 'vitest';
import type { xe_exec_queue, xe_gpu_scheduler_sched } from './on-sched.ts';
import { xe_sched_submission_stop } from './xe_gpu_scheduler.ts';
import { MS, events, fw_actions, guc_id, outcomes, queue, setup, submit, submit_many, teardown } from './xe.testlib.ts';

describe('xe on drm_sched: upstream mechanics', () => {
  it('final put: CLEANUP message on the submit wq -> DISABLE, DEREGISTER -> destroy worker -> drm_sched_fini', () => {
    const s = setup('sched');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const id = guc_id(dev, q);
    const name = dev.exec_queue(q)!.name;
    expect(outcomes([submit(k, dev, q, { duration_ns: MS })]).length).toBe(1);
    k.run_for(2 * MS);
    k.run_task(dev.destroy_queue(q));
    k.run_for(MS);
    expect(fw_actions(dev, id).slice(-3)).toEqual(['UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT_MODE_SET', 'DEREGISTER_CONTEXT']);
    const cleanup = events(k, 'xe_exec_queue_cleanup_entity')[0];
    expect(cleanup.context).toBe(`kworker/${name}/0`); // on the submit workqueue, like run_job
    expect(events(k, 'xe_exec_queue_destroy')[0].context).toMatch(/^kworker\/xe-destroy-wq/);
    expect(k.lifetime.live(['drm_gpu_scheduler', 'drm_sched_entity', 'xe_exec_queue'])).toEqual([]);
    teardown(s, [c]);
  });

  it('GT reset (7.0): a job that signalled but was not freed yet is not run again; the ring rewinds to the first unsignalled one', () => {
    const s = setup('sched');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const kq = queue(dev, c, { engine: 'copy', driver: { kernel: true } });
    const xq = dev.exec_queue(kq) as xe_exec_queue;
    const sched = xq.guc!.sched as xe_gpu_scheduler_sched;
    const kj = submit_many(k, dev, kq, [{ duration_ns: MS }, { duration_ns: 'manual' }]);
    k.run_for(MS / 2);
    // Hold job 1 between its completion and free_job: the window a GT reset's stop can land in.
    k.run_task(xe_sched_submission_stop(sched));
    k.run_for(MS);
    expect(outcomes(kj)).toEqual(['0', 'pending']);
    expect(sched.base.pending_list.length).toBe(2);
    dev.inject_fault({ kind: 'device_reset' });
    k.run_for(50 * MS);
    const runs = (seqno: number) => events(k, 'xe_sched_job_run').filter((e) => e.args.queue === xq.name && e.args.seqno === seqno).length;
    // drm_sched_resubmit_jobs would have run job 1 again and rewound the ring to it.
    expect([runs(1), runs(2)]).toEqual([1, 2]);
    expect([xq.lrc.head, xq.lrc.tail]).toEqual([1, 2]);
    dev.complete_manual(kj[1]);
    k.run_for(10 * MS);
    expect(outcomes(kj)).toEqual(['0', '0']);
    expect(sched.base.pending_list.length).toBe(0);
    teardown(s, [c]);
  });

  it('kill: drm_sched_tdr_queue_imm leaves the scheduler timeout at 0 for good', () => {
    const s = setup('sched');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const xq = dev.exec_queue(q) as xe_exec_queue;
    expect((xq.guc!.sched as xe_gpu_scheduler_sched).base.timeout).toBe(k.jiffies.msecs_to_jiffies(5000));
    submit(k, dev, q, { duration_ns: 10 * MS });
    k.run_for(MS);
    xq.ops.kill(xq);
    expect((xq.guc!.sched as xe_gpu_scheduler_sched).base.timeout).toBe(0);
    k.run_for(MS);
    teardown(s, [c]);
  });
});
