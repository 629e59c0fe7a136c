/**
 * The discrete-event queue: events ordered by (time, phase, seq).
 *
 * - time: virtual ns. phase: a fixed rule for events at the same time (hardirq before
 *   softirq/timers before kworkers before process context). seq: insertion order.
 * - Storage is struct-of-arrays in typed arrays: a binary min-heap of slot indices for future
 *   events, and one FIFO ring per phase for events due at the current time. Scheduling at the
 *   current time is O(1); nothing is allocated per event (targets live in a recycled array).
 *   An event alone at its time is popped straight from the heap: only events that share a time
 *   go through the rings, where they may race.
 * - Events that are due at the same time and phase are allowed to race: a TieBreaker picks
 *   which runs first and the queue records every choice among two or more, so a run can be
 *   replayed from (seed, choices). FIFO (lowest seq) is the default.
 * - Cancellation is lazy: a cancelled slot is skipped when it surfaces.
 */
import { RandomStream } from './random.ts';

export const PHASE_HARDIRQ = 0;
export const PHASE_SOFTIRQ = 1;
export const PHASE_KWORKER = 2;
export const PHASE_PROCESS = 3;
export const PHASE_COUNT = 4;

const KIND_CANCELLED = -1;
const SLOT_BITS = 2 ** 24;
/** Slot generations wrap here so that generation * SLOT_BITS + slot stays below 2^53 (exact). */
const GEN_MASK = 2 ** 29 - 1;
/** Hard bound on simultaneously scheduled events: hitting it is a model error, not a hang. */
export const EVENT_SLOTS_MAX = SLOT_BITS;

/** Chooses among `count` (>= 2) events that may run in either order. Returns an index. */
export interface TieBreaker {
  readonly name: string;
  choose(count: number): number;
}

export const fifo_tie_breaker: TieBreaker = {
  name: 'fifo',
  choose(): number {
    return 0;
  },
};

/**
 * Seeded random choice among racing events, for exploration: the same seed gives the same
 * choices. The stream is private to the tie-breaker, so workload streams are not disturbed.
 */
export function random_tie_breaker(seed: number, name = 'tie_breaker'): TieBreaker {
  const stream = new RandomStream(seed, name);
  return { name: `random(${seed})`, choose: (count) => stream.below(count) };
}

/**
 * Replay the choices an earlier run recorded (EventQueue.choices), in order; past the end of the
 * record it picks FIFO, so a shrunk prefix still replays. A recorded choice that does not fit
 * the current candidates means the run diverged from the recording: that is an error.
 */
export function replay_tie_breaker(choices: readonly number[]): TieBreaker {
  let next = 0;
  return {
    name: 'replay',
    choose(count: number): number {
      if (next >= choices.length) return 0;
      const choice = choices[next++];
      if (choice >= count) {
        throw new RangeError(`replay diverged at choice #${next - 1}: recorded ${choice}, only ${count} candidates`);
      }
      return choice;
    },
  };
}

/** Opaque handle of a scheduled event: slot plus generation, so stale cancels are harmless. */
export type EventHandle = number;

/** FIFO of slots; the capacity is a power of two so wrapping is a mask, not a division. */
class Ring {
  slots: Int32Array;
  mask: number;
  head = 0;
  length = 0;

  constructor(capacity: number) {
    if ((capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity must be a power of two, got ${capacity}`);
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  push(slot: number): void {
    if (this.length === this.slots.length) this.grow();
    this.slots[(this.head + this.length) & this.mask] = slot;
    this.length++;
  }

  shift(): number {
    const slot = this.slots[this.head];
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return slot;
  }

  at(i: number): number {
    return this.slots[(this.head + i) & this.mask];
  }

  /** Remove the i-th element keeping the order of the rest (only tie-breaking uses this). */
  remove_at(i: number): number {
    const mask = this.mask;
    const slot = this.at(i);
    for (let j = i; j < this.length - 1; j++) {
      this.slots[(this.head + j) & mask] = this.slots[(this.head + j + 1) & mask];
    }
    this.length--;
    return slot;
  }

  private grow(): void {
    const next = new Int32Array(this.slots.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.at(i);
    this.slots = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}

export class EventQueue {
  /** Time of the event being processed (or of the last one processed). */
  time = 0;
  /** Events scheduled and not yet popped or cancelled. */
  pending = 0;
  /** Every choice the tie-breaker made among >= 2 candidates, in order. */
  readonly choices: number[] = [];
  tie_breaker: TieBreaker = fifo_tie_breaker;
  /**
   * Schedule an event asked for in the past at the current time instead of throwing (the
   * kernel sets it with preemption points: a nested event may move time past what the
   * preempted body computed).
   */
  clamp_past = false;

  private capacity: number;
  private t: Float64Array;
  private seqs: Float64Array;
  private phases: Uint8Array;
  private kinds: Int32Array;
  private args: Float64Array;
  private gens: Uint32Array;
  private targets: unknown[];
  private free: Int32Array;
  private free_count: number;
  private heap: Int32Array;
  /** heap_t[i] = t[heap[i]], kept beside the heap so comparisons need no indirection. */
  private heap_t: Float64Array;
  private heap_size = 0;
  private next_seq = 0;
  private readonly rings: Ring[] = [];
  /** Entries in all rings, cancelled ones included: 0 lets pop/peek skip the ring scan. */
  private due = 0;

  constructor(capacity = 1024) {
    this.capacity = capacity;
    this.t = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.phases = new Uint8Array(capacity);
    this.kinds = new Int32Array(capacity);
    this.args = new Float64Array(capacity);
    this.gens = new Uint32Array(capacity);
    this.targets = new Array(capacity).fill(null);
    this.free = new Int32Array(capacity);
    this.heap = new Int32Array(capacity);
    this.heap_t = new Float64Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.free_count = capacity;
    for (let p = 0; p < PHASE_COUNT; p++) this.rings.push(new Ring(64));
  }

  /** Schedule event `kind` with (target, arg) at absolute time `at_ns` (>= this.time). */
  schedule(at_ns: number, phase: number, kind: number, target: unknown, arg: number): EventHandle {
    if (at_ns < this.time) {
      if (!this.clamp_past) throw new RangeError(`event scheduled in the past: ${at_ns} < ${this.time}`);
      at_ns = this.time;
    }
    if (this.free_count === 0) this.grow();
    const slot = this.free[--this.free_count];
    this.t[slot] = at_ns;
    this.phases[slot] = phase;
    this.seqs[slot] = this.next_seq++;
    this.kinds[slot] = kind;
    this.args[slot] = arg;
    this.targets[slot] = target;
    this.pending++;
    if (at_ns === this.time) {
      this.rings[phase].push(slot);
      this.due++;
    } else {
      this.heap_push(slot);
    }
    return this.gens[slot] * SLOT_BITS + slot;
  }

  /** Cancel a scheduled event; false if it already ran or was cancelled. */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    if (this.gens[slot] !== gen || this.kinds[slot] === KIND_CANCELLED) return false;
    this.kinds[slot] = KIND_CANCELLED;
    this.targets[slot] = null;
    this.pending--;
    return true;
  }

  /** Whether the handle still refers to a scheduled, uncancelled event. */
  is_scheduled(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    return this.gens[slot] === gen && this.kinds[slot] !== KIND_CANCELLED;
  }

  /** Scheduled time of a live event handle, or -1. */
  peek_handle_time(handle: EventHandle): number {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    if (this.gens[slot] !== gen || this.kinds[slot] === KIND_CANCELLED) return -1;
    return this.t[slot];
  }

  /** Time of the next event, or Infinity. Does not advance time. */
  peek_time(): number {
    for (let p = 0; p < PHASE_COUNT && this.due > 0; p++) {
      const ring = this.rings[p];
      while (ring.length > 0 && this.kinds[ring.at(0)] === KIND_CANCELLED) this.release(this.ring_shift(ring));
      if (ring.length > 0) return this.time;
    }
    while (this.heap_size > 0 && this.kinds[this.heap[0]] === KIND_CANCELLED) this.release(this.heap_pop());
    return this.heap_size > 0 ? this.heap_t[0] : Infinity;
  }

  /**
   * Pop the next event. Returns its slot (read kind_of/target_of/arg_of, then call done())
   * or -1 when empty. Advances `time`.
   */
  pop(): number {
    for (;;) {
      for (let p = 0; p < PHASE_COUNT && this.due > 0; p++) {
        const ring = this.rings[p];
        if (ring.length === 0) continue;
        let slot: number;
        if (ring.length === 1 || this.tie_breaker === fifo_tie_breaker) {
          slot = this.ring_shift(ring);
        } else {
          slot = this.pop_chosen(ring);
        }
        if (this.kinds[slot] === KIND_CANCELLED) {
          this.release(slot);
          p--; // same phase again
          continue;
        }
        this.pending--;
        return slot;
      }
      // Nothing due now. Drop cancelled events first: time must not move to an event that never runs.
      while (this.heap_size > 0 && this.kinds[this.heap[0]] === KIND_CANCELLED) this.release(this.heap_pop());
      if (this.heap_size === 0) return -1;
      const slot = this.heap_pop();
      const next = this.t[slot];
      this.time = next;
      // Alone at its time (the common case): nothing can race it, so it skips the rings.
      if (this.heap_size === 0 || this.heap_t[0] !== next) {
        this.pending--;
        return slot;
      }
      // Several events at this time: into their phase rings in (phase, seq) order, to race there.
      this.rings[this.phases[slot]].push(slot);
      this.due++;
      while (this.heap_size > 0 && this.heap_t[0] === next) {
        const s = this.heap_pop();
        if (this.kinds[s] === KIND_CANCELLED) {
          this.release(s);
        } else {
          this.rings[this.phases[s]].push(s);
          this.due++;
        }
      }
    }
  }

  kind_of(slot: number): number {
    return this.kinds[slot];
  }

  target_of(slot: number): unknown {
    return this.targets[slot];
  }

  arg_of(slot: number): number {
    return this.args[slot];
  }

  phase_of(slot: number): number {
    return this.phases[slot];
  }

  /** Return a popped slot to the free list. */
  done(slot: number): void {
    this.release(slot);
  }

  /** Move time forward with nothing happening (a wait that times out with no events). */
  advance_to(t_ns: number): void {
    if (t_ns < this.time) throw new RangeError(`cannot move time backwards: ${t_ns} < ${this.time}`);
    if (this.peek_time() < t_ns) throw new RangeError(`advance_to(${t_ns}) would skip events`);
    this.time = t_ns;
  }

  /** Ask the tie-breaker to choose among `count` (>= 2) options, check and record the choice. */
  choose_recorded(count: number): number {
    const choice = this.tie_breaker.choose(count);
    if (!Number.isInteger(choice) || choice < 0 || choice >= count) {
      throw new RangeError(`tie-breaker ${this.tie_breaker.name} chose ${choice} of ${count}`);
    }
    this.choices.push(choice);
    return choice;
  }

  private pop_chosen(ring: Ring): number {
    // Cancelled entries are not candidates.
    let live = 0;
    for (let i = 0; i < ring.length; i++) if (this.kinds[ring.at(i)] !== KIND_CANCELLED) live++;
    if (live <= 1) return this.ring_shift(ring);
    const choice = this.choose_recorded(live);
    let k = -1;
    for (let i = 0; i < ring.length; i++) {
      if (this.kinds[ring.at(i)] !== KIND_CANCELLED && ++k === choice) {
        this.due--;
        return ring.remove_at(i);
      }
    }
    throw new Error('unreachable');
  }

  private ring_shift(ring: Ring): number {
    this.due--;
    return ring.shift();
  }

  private release(slot: number): void {
    this.targets[slot] = null;
    this.kinds[slot] = KIND_CANCELLED;
    this.gens[slot] = (this.gens[slot] + 1) & GEN_MASK;
    this.free[this.free_count++] = slot;
  }

  /** (time, phase, seq) order of slots a and b, their times already at hand (ta, tb). */
  private before(ta: number, a: number, tb: number, b: number): boolean {
    if (ta !== tb) return ta < tb;
    const pa = this.phases[a], pb = this.phases[b];
    if (pa !== pb) return pa < pb;
    return this.seqs[a] < this.seqs[b];
  }

  private heap_push(slot: number): void {
    const heap = this.heap, heap_t = this.heap_t;
    const t = this.t[slot];
    let i = this.heap_size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(t, slot, heap_t[parent], heap[parent])) break;
      heap[i] = heap[parent];
      heap_t[i] = heap_t[parent];
      i = parent;
    }
    heap[i] = slot;
    heap_t[i] = t;
  }

  /**
   * Floyd's pop: walk the hole at the root down to a leaf (one comparison per level), then sift
   * the last entry up from there; it usually belongs near the bottom, so that is short.
   */
  private heap_pop(): number {
    const heap = this.heap, heap_t = this.heap_t;
    const top = heap[0];
    const n = --this.heap_size;
    if (n === 0) return top;
    const last = heap[n], last_t = heap_t[n];
    let i = 0;
    for (let child = 1; child < n; child = 2 * i + 1) {
      if (child + 1 < n && this.before(heap_t[child + 1], heap[child + 1], heap_t[child], heap[child])) child++;
      heap[i] = heap[child];
      heap_t[i] = heap_t[child];
      i = child;
    }
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(last_t, last, heap_t[parent], heap[parent])) break;
      heap[i] = heap[parent];
      heap_t[i] = heap_t[parent];
      i = parent;
    }
    heap[i] = last;
    heap_t[i] = last_t;
    return top;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    if (cap > EVENT_SLOTS_MAX) {
      throw new RangeError(`event queue bound exceeded: more than ${EVENT_SLOTS_MAX} events scheduled`);
    }
    const grow_f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    this.t = grow_f64(this.t);
    this.seqs = grow_f64(this.seqs);
    this.args = grow_f64(this.args);
    const phases = new Uint8Array(cap); phases.set(this.phases); this.phases = phases;
    const kinds = new Int32Array(cap); kinds.set(this.kinds); this.kinds = kinds;
    const gens = new Uint32Array(cap); gens.set(this.gens); this.gens = gens;
    const heap = new Int32Array(cap); heap.set(this.heap); this.heap = heap;
    this.heap_t = grow_f64(this.heap_t);
    const free = new Int32Array(cap); free.set(this.free.subarray(0, this.free_count));
    for (let i = cap - 1; i >= old; i--) free[this.free_count++] = i;
    this.free = free;
    for (let i = old; i < cap; i++) this.targets.push(null);
    this.capacity = cap;
  }
}
