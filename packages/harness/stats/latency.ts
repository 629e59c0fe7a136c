/**
 * Latency distributions of one run, kept in bounded memory.
 *
 * A run's percentiles are exact (every sample kept, linear interpolation between closest
 * ranks) up to EXACT_SAMPLES_MAX samples; past that the distribution continues in a
 * relative-error sketch and the summary says so (`exact: false`). The sketch is the DDSketch
 * construction (Masson, Rim, Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
 * Relative-Error Guarantees", VLDB 2019): bucket i holds values in (gamma^(i-1), gamma^i] with
 * gamma = (1 + alpha) / (1 - alpha), and a quantile read from it is within a relative error of
 * alpha of an actual sample value. Every run also returns its sketch as plain data, so
 * distributions of several seeds pool (merge) after they crossed worker threads.
 */
import { summarize_sorted, type Summary } from './stats.ts';

/** Relative accuracy of the sketch: 0.1%. */
export const SKETCH_ALPHA = 0.001;
/** Exact samples kept per distribution per run (8 MB of float64). */
export const EXACT_SAMPLES_MAX = 1 << 20;

const GAMMA = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA);
const LOG_GAMMA = Math.log(GAMMA);

/** Plain-data sketch (JSON- and structured-clone-safe). Values are >= 0. */
export interface LatencySketch {
  readonly count: number;
  /** Samples equal to 0 (log buckets cannot hold them). */
  readonly zeros: number;
  readonly min: number;
  readonly max: number;
  /** Index of counts[0]'s bucket. */
  readonly offset: number;
  readonly counts: readonly number[];
}

export const EMPTY_SKETCH: LatencySketch = Object.freeze({ count: 0, zeros: 0, min: NaN, max: NaN, offset: 0, counts: [] });

function bucket_of(x: number): number {
  return Math.ceil(Math.log(x) / LOG_GAMMA);
}

/** The value a bucket stands for: within alpha of every value in it. */
function bucket_value(i: number): number {
  return (2 * GAMMA ** i) / (GAMMA + 1);
}

/** Growable dense bucket store. */
class BucketStore {
  offset = 0;
  counts = new Float64Array(0);
  zeros = 0;
  count = 0;
  min = Infinity;
  max = -Infinity;

  add(x: number, n = 1): void {
    this.count += n;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    if (x <= 0) { this.zeros += n; return; }
    const i = bucket_of(x);
    if (this.counts.length === 0) { this.offset = i; this.counts = new Float64Array(64); }
    if (i < this.offset || i >= this.offset + this.counts.length) this.grow(i);
    this.counts[i - this.offset] += n;
  }

  private grow(i: number): void {
    const lo = Math.min(i, this.offset), hi = Math.max(i + 1, this.offset + this.counts.length);
    const size = Math.max(hi - lo, 2 * this.counts.length);
    // Growing downwards keeps the high end in place, upwards the low end.
    const offset = i < this.offset ? hi - size : lo;
    const next = new Float64Array(size);
    next.set(this.counts, this.offset - offset);
    this.offset = offset;
    this.counts = next;
  }

  plain(): LatencySketch {
    let first = 0, last = this.counts.length;
    while (first < last && this.counts[first] === 0) first++;
    while (last > first && this.counts[last - 1] === 0) last--;
    return {
      count: this.count, zeros: this.zeros, min: this.count > 0 ? this.min : NaN, max: this.count > 0 ? this.max : NaN,
      offset: this.offset + first, counts: Array.from(this.counts.subarray(first, last)),
    };
  }
}

/** Quantile (0..1) of a sketch: the bucket value holding that rank, clamped to [min, max]. */
export function sketch_quantile(s: LatencySketch, p: number): number {
  if (s.count === 0) return NaN;
  if (p <= 0) return s.min;
  if (p >= 1) return s.max;
  const rank = p * (s.count - 1);
  if (rank < s.zeros) return 0;
  let seen = s.zeros;
  for (let k = 0; k < s.counts.length; k++) {
    seen += s.counts[k];
    if (seen > rank) return Math.min(s.max, Math.max(s.min, bucket_value(s.offset + k)));
  }
  return s.max;
}

/** Pool several sketches (e.g. one per seed) into one. */
export function merge_sketches(list: readonly LatencySketch[]): LatencySketch {
  const store = new BucketStore();
  for (const s of list) {
    if (s.count === 0) continue;
    if (s.zeros > 0) store.add(0, s.zeros);
    for (let k = 0; k < s.counts.length; k++) if (s.counts[k] > 0) store.add(bucket_value(s.offset + k), s.counts[k]);
    // Keep the true extremes (bucket values are within alpha of them).
    store.min = Math.min(store.min, s.min);
    store.max = Math.max(store.max, s.max);
  }
  return store.plain();
}

/** A merged view that reads quantiles (for the bootstrap). */
export function pooled(list: readonly LatencySketch[]): { quantile(p: number): number } {
  const m = merge_sketches(list);
  return { quantile: (p) => sketch_quantile(m, p) };
}

export interface LatencyResult {
  readonly summary: Summary;
  /** True while every sample was kept (percentiles exact); false once the sketch took over. */
  readonly exact: boolean;
  readonly sketch: LatencySketch;
}

/** Samples per chunk of an exact distribution (512 KB): chunks grow it without copying. */
const CHUNK = 1 << 16;

/**
 * One latency distribution of one run: exact samples up to a bound, then sketch only. Samples
 * are kept in fixed chunks (no doubling copies left for the collector). While the samples are
 * exact the sketch is built only when a reader asks for it (the same buckets as built sample
 * by sample: they do not depend on the order of the samples).
 */
export class LatencyDistribution {
  private chunks: Float64Array[] = [];
  private chunk = new Float64Array(0);
  /** Samples in `chunk`, and in total. */
  private used = 0;
  private n = 0;
  /** Null while every sample is kept: the sketch is made from them when needed. */
  private store: BucketStore | null = null;
  private sum = 0;
  private sum_sq = 0;
  private readonly exact_max: number;

  constructor(exact_max = EXACT_SAMPLES_MAX) {
    this.exact_max = exact_max;
  }

  add(x: number): void {
    this.sum += x;
    this.sum_sq += x * x;
    if (this.store !== null) {
      this.store.add(x);
      return;
    }
    if (this.n < this.exact_max) {
      if (this.used === this.chunk.length) this.next_chunk();
      this.chunk[this.used++] = x;
      this.n++;
      return;
    }
    // Past the bound: the sketch holds the distribution from here on.
    const store = new BucketStore();
    this.each((v) => store.add(v));
    store.add(x);
    this.store = store;
    this.chunks = [];
    this.chunk = new Float64Array(0);
    this.used = 0;
  }

  get count(): number {
    return this.store !== null ? this.store.count : this.n;
  }

  private next_chunk(): void {
    if (this.chunks.length === 0) {
      // Most distributions are small: a small first chunk.
      this.chunk = new Float64Array(256);
      this.chunks.push(this.chunk);
      this.used = 0;
    } else if (this.chunk.length < CHUNK) {
      // The small first chunk is full: a full-size one takes over its samples.
      const c = new Float64Array(CHUNK);
      c.set(this.chunk);
      this.chunks[0] = this.chunk = c;
    } else {
      this.chunk = new Float64Array(CHUNK);
      this.chunks.push(this.chunk);
      this.used = 0;
    }
  }

  private each(f: (x: number) => void): void {
    let left = this.n;
    for (const c of this.chunks) {
      const m = Math.min(left, c.length);
      for (let i = 0; i < m; i++) f(c[i]);
      left -= m;
    }
  }

  private sorted(): Float64Array {
    const out = new Float64Array(this.n);
    let at = 0;
    for (const c of this.chunks) {
      const m = Math.min(this.n - at, c.length);
      out.set(m === c.length ? c : c.subarray(0, m), at);
      at += m;
    }
    return out.sort();
  }

  result(): LatencyResult {
    const store = this.store;
    if (store === null) {
      const sorted = this.sorted();
      let sketch: LatencySketch | null = null;
      // A getter, so that a distribution nobody pools never pays for its sketch; it is an own
      // enumerable property, so JSON and structured clones see a plain value.
      return {
        summary: summarize_sorted(sorted), exact: true,
        get sketch(): LatencySketch {
          if (sketch === null) {
            const s = new BucketStore();
            for (let i = 0; i < sorted.length; i++) s.add(sorted[i]);
            sketch = s.plain();
          }
          return sketch;
        },
      };
    }
    const sketch = store.plain();
    const count = store.count;
    const mean = this.sum / count;
    return {
      summary: {
        n: count, mean, stddev: Math.sqrt(Math.max(0, (this.sum_sq - count * mean * mean) / (count - 1))),
        min: sketch.min, max: sketch.max, p50: sketch_quantile(sketch, 0.5), p90: sketch_quantile(sketch, 0.9), p99: sketch_quantile(sketch, 0.99),
      },
      exact: false, sketch,
    };
  }
}
