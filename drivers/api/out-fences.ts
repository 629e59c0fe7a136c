/**
 * The out-fence references a device keeps for the jobs of one queue. JobHandle.out_fence is
 * borrowed: the device holds a reference from the submit until the fence has signalled, so a
 * caller may wait on it while the job is in flight. A reference is dropped once its fence has
 * signalled, when the device next adds a job to the queue, and every one left when the queue
 * goes (release_all). Memory grows with the jobs in flight, not with every job the queue ran;
 * and no teardown pays for freeing fences of jobs that finished long before (no driver keeps
 * its jobs' out-fences: userspace holds them, through syncobjs, which the harness's own
 * references stand for).
 */
import { dma_fence_put } from '@deplab/sim';
import type { JobHandle } from './index.ts';

/** Below this many entries a full scan for signalled fences is not worth it. */
const SCAN_MIN = 64;

export class OutFenceRefs<H extends JobHandle = JobHandle> {
  /** Handles whose reference is held, in submission order, from `head` on. */
  private items: H[] = [];
  private head = 0;
  /** Entries left after the last full scan, doubled: the next one comes when they are exceeded. */
  private scan_at = SCAN_MIN;

  /** Keep the reference on `h.out_fence` the device holds; drop those whose fence signalled. */
  add(h: H): void {
    this.drop_signalled();
    this.items.push(h);
  }

  /** Out-fences held and not signalled. */
  unsignalled(): number {
    let n = 0;
    for (let i = this.head; i < this.items.length; i++) if (!this.items[i].out_fence.signaled) n++;
    return n;
  }

  /** The queue is gone: drop every reference still held, in submission order. */
  release_all(): void {
    const items = this.items;
    this.items = [];
    for (let i = this.head; i < items.length; i++) dma_fence_put(items[i].out_fence);
    this.head = 0;
    this.scan_at = SCAN_MIN;
  }

  private drop_signalled(): void {
    const items = this.items;
    // In-order completion (the common case) frees from the head.
    while (this.head < items.length && items[this.head].out_fence.signaled) dma_fence_put(items[this.head++].out_fence);
    // Entries before the head are stale: close the gap once they are half the array.
    if (this.head > 0 && 2 * this.head >= items.length) {
      items.copyWithin(0, this.head);
      items.length -= this.head;
      this.head = 0;
    }
    if (items.length - this.head <= this.scan_at) return;
    // Out of order (a job stuck behind a hung one): keep only what has not signalled.
    let w = 0;
    for (let i = this.head; i < items.length; i++) {
      const h = items[i];
      if (h.out_fence.signaled) dma_fence_put(h.out_fence);
      else items[w++] = h;
    }
    items.length = w;
    this.head = 0;
    this.scan_at = Math.max(SCAN_MIN, 2 * w);
  }
}
