/**
 * What only the drm_sched binding does: CLEANUP through the message channel and the destroy
 * worker, resubmission through drm_sched_resubmit_jobs, and drm_sched_tdr_queue_imm's
 * permanent zero timeout.
 */
import { describe, expect, it } from 'vitest';
import type { xe_exec_queue } from './on-sched.ts';
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

  it('GT reset: the kernel queue resubmits through drm_sched_resubmit_jobs (run_job called again)', () => {
    const s = setup('sched', { job_timeout_ms: 100 });
    const { k, dev } = s;
    const c = dev.open_client('a');
    const kq = queue(dev, c, { engine: 'copy', driver: { kernel: true } });
    const j = submit_many(k, dev, kq, [{ duration_ns: MS, hang: true }]);
    k.run_for(300 * MS);
    expect(outcomes(j)).toEqual(['0']);
    const name = dev.exec_queue(kq)!.name;
    expect(events(k, 'xe_sched_job_run').filter((e) => e.args.queue === name && e.args.seqno === 1).length).toBe(2);
    teardown(s, [c], [{ kind: 'warn', message: 'Kernel-submitted job timed out' }]);
  });

  it('kill: drm_sched_tdr_queue_imm leaves the scheduler timeout at 0 for good', () => {
    const s = setup('sched');
    const { k, dev } = s;
    const c = dev.open_client('a');
    const q = queue(dev, c);
    const xq = dev.exec_queue(q) as xe_exec_queue;
    expect(xq.guc!.sched.base.timeout).toBe(k.jiffies.msecs_to_jiffies(5000));
    submit(k, dev, q, { duration_ns: 10 * MS });
    k.run_for(MS);
    xq.ops.kill(xq);
    expect(xq.guc!.sched.base.timeout).toBe(0);
    k.run_for(MS);
    teardown(s, [c]);
  });
});
