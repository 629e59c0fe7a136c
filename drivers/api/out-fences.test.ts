import { describe, expect, it } from 'vitest';
import { Kernel, dma_fence, dma_fence_get, dma_fence_init, dma_fence_signal, spin_lock_init, type dma_fence_ops } from '@deplab/sim';
import { OutFenceRefs } from './out-fences.ts';
import type { JobHandle, QueueHandle } from './index.ts';

const ops: dma_fence_ops = { get_driver_name: () => 'test', get_timeline_name: () => 'test' };
const queue: QueueHandle = { id: 0, name: 'q', client: { id: 0, name: 'c' }, engine: 'render' };

/** A job handle whose out-fence has two references: the job's own and the one the device keeps. */
function job(k: Kernel, seqno: number): JobHandle {
  const f = new dma_fence(k, 'test.fence');
  dma_fence_init(f, ops, spin_lock_init(k, 'test_lock'), 1, seqno);
  dma_fence_get(f);
  return { id: seqno, queue, out_fence: f, fence_context: 1, fence_seqno: seqno };
}

describe('OutFenceRefs', () => {
  it('drops the reference of a signalled job at the next add, and keeps the others', () => {
    const k = new Kernel();
    const refs = new OutFenceRefs();
    const a = job(k, 1), b = job(k, 2);
    refs.add(a);
    refs.add(b);
    dma_fence_signal(a.out_fence);
    expect(a.out_fence.refcount.refcount).toBe(2);
    refs.add(job(k, 3));
    expect(a.out_fence.refcount.refcount).toBe(1);
    expect(b.out_fence.refcount.refcount).toBe(2);
    expect(refs.unsignalled()).toBe(2);
    expect(k.violations.count()).toBe(0);
  });

  it('holds memory for the jobs in flight only, also when one job stays unsignalled at the head', () => {
    const k = new Kernel();
    const refs = new OutFenceRefs();
    const stuck = job(k, 0);
    refs.add(stuck);
    const done: JobHandle[] = [];
    for (let i = 1; i <= 10_000; i++) {
      const j = job(k, i);
      refs.add(j);
      dma_fence_signal(j.out_fence);
      done.push(j);
    }
    // Behind the stuck job, signalled jobs are swept in batches: a bounded number is still held.
    const still_held = done.filter((j) => j.out_fence.refcount.refcount === 2).length;
    expect(still_held).toBeGreaterThan(0);
    expect(still_held).toBeLessThan(200);
    expect(stuck.out_fence.refcount.refcount).toBe(2);
    expect(refs.unsignalled()).toBe(1);
  });

  it('release_all drops every reference left, and only once', () => {
    const k = new Kernel();
    const refs = new OutFenceRefs();
    const jobs = [job(k, 1), job(k, 2), job(k, 3)];
    for (const j of jobs) refs.add(j);
    refs.release_all();
    refs.release_all();
    expect(jobs.map((j) => j.out_fence.refcount.refcount)).toEqual([1, 1, 1]);
    expect(refs.unsignalled()).toBe(0);
    expect(k.violations.count()).toBe(0);
  });
});
