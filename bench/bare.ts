/**
 * The reference the harness benchmarks are measured against: a bare discrete-event loop on
 * typed arrays, with the smallest job model that still has the harness workload's shape. One
 * client keeps at most DEPTH jobs in flight on one queue served by one engine; a job is five
 * events:
 *   submit  the client hands the job over (a fixed ioctl cost later it is queued)
 *   queue   it joins the queue; an idle engine takes it at once
 *   run     the engine starts it (busy for its duration)
 *   done    the engine finishes it and takes the next queued job; the client may submit again
 *   free    its bookkeeping is released (a fixed delay after done); its latency is added up
 * Events live in a binary min-heap ordered by (time, sequence number) in parallel typed arrays;
 * per-job state lives in typed-array rings of DEPTH entries, so memory does not grow with jobs.
 * Durations are uniform in [50, 150] µs from a xorshift generator: no allocation per event.
 *
 * Nothing of deplab is used: the ratio of a harness figure to this one says how far the
 * harness is from the cost floor of an event-driven simulation of the same jobs.
 */

const SUBMIT = 0, QUEUE = 1, RUN = 2, DONE = 3, FREE = 4;
/** Jobs a client keeps in flight (the harness benchmark's queue_depth). */
export const BARE_DEPTH = 8;
const SUBMIT_NS = 1_000;
const FREE_DELAY_NS = 500;

export interface BareResult {
  readonly jobs: number;
  readonly events: number;
  /** Sum of submit-to-free latencies, ns: what the loop computed, so that none of it is dead code. */
  readonly latency_sum_ns: number;
  readonly end_ns: number;
}

class EventHeap {
  time = new Float64Array(64);
  seq = new Float64Array(64);
  kind = new Int32Array(64);
  job = new Int32Array(64);
  size = 0;
  private next_seq = 0;

  push(t: number, kind: number, job: number): void {
    if (this.size === this.time.length) this.grow();
    const s = this.next_seq++;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.time[p] < t || (this.time[p] === t && this.seq[p] < s)) break;
      this.time[i] = this.time[p]; this.seq[i] = this.seq[p]; this.kind[i] = this.kind[p]; this.job[i] = this.job[p];
      i = p;
    }
    this.time[i] = t; this.seq[i] = s; this.kind[i] = kind; this.job[i] = job;
  }

  /** Remove the root; the caller has read it. */
  pop(): void {
    const n = --this.size;
    if (n === 0) return;
    const t = this.time[n], s = this.seq[n], k = this.kind[n], j = this.job[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (this.time[c + 1] < this.time[c] || (this.time[c + 1] === this.time[c] && this.seq[c + 1] < this.seq[c]))) c++;
      if (t < this.time[c] || (t === this.time[c] && s < this.seq[c])) break;
      this.time[i] = this.time[c]; this.seq[i] = this.seq[c]; this.kind[i] = this.kind[c]; this.job[i] = this.job[c];
      i = c;
    }
    this.time[i] = t; this.seq[i] = s; this.kind[i] = k; this.job[i] = j;
  }

  private grow(): void {
    const n = 2 * this.time.length;
    const time = new Float64Array(n), seq = new Float64Array(n), kind = new Int32Array(n), job = new Int32Array(n);
    time.set(this.time); seq.set(this.seq); kind.set(this.kind); job.set(this.job);
    this.time = time; this.seq = seq; this.kind = kind; this.job = job;
  }
}

/** Simulate `jobs` jobs with the generator seeded by `seed`. */
export function bare_loop(jobs: number, seed: number): BareResult {
  const heap = new EventHeap();
  // Per-job state in rings indexed by job number: at most DEPTH jobs are between submit and
  // done, and a done job is freed before more than a few others are submitted.
  const RING = 4 * BARE_DEPTH;
  const submitted_at = new Float64Array(RING), duration = new Float64Array(RING);
  const fifo = new Int32Array(RING);
  let fifo_head = 0, fifo_len = 0;
  let rng = (seed * 0x9e3779b1) >>> 0 || 1;
  let next_job = 0, in_flight = 0, engine_busy = false, done = 0, events = 0, latency_sum = 0, now = 0;
  const submit_next = (t: number) => {
    if (next_job >= jobs || in_flight >= BARE_DEPTH) return;
    in_flight++;
    heap.push(t, SUBMIT, next_job++);
  };
  submit_next(0);
  while (heap.size > 0) {
    now = heap.time[0];
    const kind = heap.kind[0], j = heap.job[0];
    heap.pop();
    events++;
    const slot = j % RING;
    switch (kind) {
      case SUBMIT:
        submitted_at[slot] = now;
        rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0;
        duration[slot] = 50_000 + (rng % 100_001);
        heap.push(now + SUBMIT_NS, QUEUE, j);
        submit_next(now + SUBMIT_NS);
        break;
      case QUEUE:
        if (!engine_busy) { engine_busy = true; heap.push(now, RUN, j); }
        else { fifo[(fifo_head + fifo_len++) % RING] = j; }
        break;
      case RUN:
        heap.push(now + duration[slot], DONE, j);
        break;
      case DONE:
        heap.push(now + FREE_DELAY_NS, FREE, j);
        if (fifo_len > 0) { heap.push(now, RUN, fifo[fifo_head]); fifo_head = (fifo_head + 1) % RING; fifo_len--; }
        else engine_busy = false;
        in_flight--;
        submit_next(now);
        break;
      case FREE:
        latency_sum += now - submitted_at[slot];
        done++;
        break;
    }
  }
  if (done !== jobs) throw new Error(`bare loop lost jobs: ${done} of ${jobs} freed`);
  return { jobs: done, events, latency_sum_ns: latency_sum, end_ns: now };
}
