/**
 * Small helpers shared by the scheduler files (sched_internal.h, include/linux/average.h,
 * include/drm/spsc_queue.h, drm_print.h). Nothing here is public API.
 */
import { DMA_FENCE_FLAG_SIGNALED_BIT, DMA_FENCE_FLAG_TIMESTAMP_BIT, type Kernel, type dma_fence } from '@deplab/sim';

/**
 * DECLARE_EWMA(drm_sched_avgtime, 6, 4): precision 6 fractional bits, weight reciprocal 4, so
 * new = (old * 3 + val) / 4 in fixed point; the first sample initialises it.
 */
export class ewma_drm_sched_avgtime {
  internal = 0;
}

const EWMA_PRECISION = 6;
const EWMA_WEIGHT_RCP_LOG2 = 2;
/** 2^precision and 2^weight_rcp_log2, computed once for the per-job fast path. */
const EWMA_SCALE = 2 ** EWMA_PRECISION;
const EWMA_WEIGHT_RCP = 2 ** EWMA_WEIGHT_RCP_LOG2;

const U64 = 2n ** 64n;

/**
 * ewma_drm_sched_avgtime_add: `unsigned long` arithmetic, as in C. A negative sample (a
 * negative GPU duration, which out-of-order HW completion produces through the scheduled
 * timestamp fix-up) wraps modulo 2^64 exactly as the kernel's would; the model then holds the
 * (huge) result as a double.
 */
export function ewma_drm_sched_avgtime_add(e: ewma_drm_sched_avgtime, val: number): void {
  const v = Math.trunc(val);
  const old = e.internal;
  if (v >= 0 && v < 2 ** 40 && old < 2 ** 48) {
    const scaled = v * EWMA_SCALE;
    e.internal = old !== 0 ? Math.floor((old * EWMA_WEIGHT_RCP - old + scaled) / EWMA_WEIGHT_RCP) : scaled;
    return;
  }
  const wrap = (x: bigint): bigint => ((x % U64) + U64) % U64;
  const scaled = wrap(BigInt(v) << BigInt(EWMA_PRECISION));
  const o = BigInt(Math.floor(old));
  const next = old !== 0 ? wrap((o << BigInt(EWMA_WEIGHT_RCP_LOG2)) - o + scaled) >> BigInt(EWMA_WEIGHT_RCP_LOG2) : scaled;
  e.internal = Number(next);
}

export function ewma_drm_sched_avgtime_read(e: ewma_drm_sched_avgtime): number {
  return Math.floor(e.internal / 2 ** EWMA_PRECISION);
}

/**
 * struct spsc_queue: the entity's lock-free single-producer/single-consumer job queue. The
 * model is single-threaded per event, so a plain ring of items with a head index suffices.
 */
export class spsc_queue<T> {
  private items: T[] = [];
  private head = 0;

  /** spsc_queue_push: returns true if the queue was empty ("first"). */
  push(item: T): boolean {
    this.items.push(item);
    return this.items.length - this.head === 1;
  }

  peek(): T | null {
    return this.head < this.items.length ? this.items[this.head] : null;
  }

  pop(): T | null {
    if (this.head >= this.items.length) return null;
    const item = this.items[this.head++];
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  get count(): number {
    return this.items.length - this.head;
  }

  /** Snapshot, head first (tests and reports only). */
  to_array(): T[] {
    return this.items.slice(this.head);
  }
}

/** spsc_queue_count: the number of queued items. */
export function spsc_queue_count<T>(q: spsc_queue<T>): number {
  return q.count;
}

/**
 * DRM_ERROR / dev_err / pr_warn / DRM_WARN: a printk, not a WARN splat, so no violation. It
 * becomes a `drm_printk` trace event (only when tracing is enabled).
 */
export function drm_printk(k: Kernel, level: 'err' | 'warn' | 'info', site: string, message: string): void {
  k.tp('drm_printk', { level, site, message });
}

/** A scheduler cost from the cost table's driver section (key `drm_sched.<name>`), with its default. */
export function drm_sched_cost(k: Kernel, key: string, fallback_ns: number): number {
  return k.cost_of(key, fallback_ns);
}

/** Default costs of the scheduler's own bookkeeping (documented in docs/assumptions.md). */
export const COST_RB_TREE_OP_NS = 40;
export const COST_SPSC_OP_NS = 10;
export const COST_XA_OP_NS = 30;
export const COST_SELECT_STEP_NS = 10;

/** dma_fence_timestamp (include/linux/dma-fence.h): the signal time of a signalled fence. */
export function dma_fence_timestamp(f: dma_fence): number {
  const k = f.kernel;
  if (k.WARN_ON((f.flags & (1 << DMA_FENCE_FLAG_SIGNALED_BIT)) === 0, 'dma_fence_timestamp', 'dma_fence_timestamp on an unsignalled fence')) {
    return k.ktime_get();
  }
  if ((f.flags & (1 << DMA_FENCE_FLAG_TIMESTAMP_BIT)) === 0) return k.ktime_get();
  return f.timestamp_ns;
}

/** ktime_to_us: truncating division of signed ns. */
export function ktime_to_us(ns: number): number {
  return Math.trunc(ns / 1000);
}
