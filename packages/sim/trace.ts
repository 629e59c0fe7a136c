/**
 * The trace recorder: typed events emitted by the models (kernel tracepoint names where the
 * kernel has one, e.g. drm_sched_job_run). Observability flows one way: models emit, the
 * harness reads. Three modes:
 *   off     nothing is done (emitters check `enabled` first, so a disabled trace costs one branch)
 *   hash    a running 64-bit FNV-1a hash of every event, for determinism checks
 *   record  the events are kept, and hashed; past the bound the run fails (TraceLimitExceeded),
 *           never silently: a caller that needs every event gets every event or an error
 * A sink (the harness's run monitor) may receive every event as it is emitted, in any mode but
 * 'off': observing a run does not need the run recorded.
 */

export type TraceValue = number | string | boolean | null;
export type TraceArgs = Readonly<Record<string, TraceValue>>;

export interface TraceEvent {
  readonly t_ns: number;
  readonly name: string;
  readonly context: string;
  readonly args: TraceArgs;
}

export type TraceMode = 'off' | 'hash' | 'record';

/** Receives every event as it is emitted (in emission order). */
export type TraceSink = (t_ns: number, name: string, context: string, args: TraceArgs) => void;

/** A recorded trace outgrew its bound: the output that needed it cannot be made. */
export class TraceLimitExceeded extends Error {
  constructor(limit: number) {
    super(`the trace grew past ${limit} recorded events; record fewer (a shorter workload, fewer seeds) or raise the bound`);
    this.name = 'TraceLimitExceeded';
  }
}

export class TraceRecorder {
  readonly mode: TraceMode;
  readonly enabled: boolean;
  /**
   * Whether the high-volume substrate tracepoints are emitted (workqueue_*, dma_fence_init /
   * _destroy, hrtimer_expire_entry). Scheduler tracepoints and dma_fence_signaled always are
   * when tracing is on. The harness turns this off for comparisons and on for trace exports.
   */
  readonly full: boolean;
  readonly events: TraceEvent[] = [];
  /** Upper bound on kept events; past it the run fails with TraceLimitExceeded. */
  readonly limit: number;
  count = 0;
  /** Running hash (hash mode). */
  private readonly running = new EventHasher();
  private readonly sink: TraceSink | null;
  /** record mode: events already folded into `cache`, so digest() only hashes new ones. */
  private cached_count = 0;
  private readonly cache = new EventHasher();

  constructor(mode: TraceMode = 'off', limit = 5_000_000, full = true, sink: TraceSink | null = null) {
    this.mode = mode;
    this.enabled = mode !== 'off';
    this.full = this.enabled && full;
    this.limit = limit;
    this.sink = sink;
  }

  emit(t_ns: number, name: string, context: string, args: TraceArgs): void {
    if (!this.enabled) return;
    this.count++;
    if (this.mode === 'hash') {
      this.running.event(t_ns, name, context, args);
    } else {
      if (this.events.length >= this.limit) throw new TraceLimitExceeded(this.limit);
      this.events.push({ t_ns, name, context, args });
    }
    if (this.sink !== null) this.sink(t_ns, name, context, args);
  }

  /**
   * Hex digest of everything emitted so far: a 64-bit hash over every event's time, name,
   * context and arguments (keys and values, in insertion order). In record mode the kept
   * events are hashed here, incrementally, rather than on every emit.
   */
  digest(): string {
    if (this.mode !== 'record') return this.running.hex();
    for (; this.cached_count < this.events.length; this.cached_count++) {
      const e = this.events[this.cached_count];
      this.cache.event(e.t_ns, e.name, e.context, e.args);
    }
    return this.cache.hex();
  }
}

/**
 * Two independent 32-bit multiply-xorshift lanes (a 64-bit digest). Strings are hashed once
 * and remembered (trace names, contexts and keys repeat); numbers are mixed as two 32-bit
 * words, so no text is built per event. Per event name the keys of its last arguments are
 * remembered with their hashes: a tracepoint passes the same keys every time, so a key is
 * then found by identity, not looked up.
 */
class EventHasher {
  a = 0x9e3779b9;
  b = 0x85ebca6b;
  private static readonly strings = new Map<string, number>();
  private static readonly shapes = new Map<string, EventShape>();
  private last_context: string | null = null;
  private last_context_hash = 0;

  mix(x: number): void {
    let a = Math.imul(this.a ^ x, 0x5bd1e995);
    a ^= a >>> 15;
    this.a = Math.imul(a, 0x27d4eb2d);
    let b = Math.imul(this.b ^ x, 0xcc9e2d51);
    b ^= b >>> 13;
    this.b = Math.imul(b, 0x1b873593) ^ 0x6b43a9b5;
  }

  number(v: number): void {
    if ((v | 0) === v) {
      // A 32-bit integer: the two words of the general case below, without the division.
      this.mix(v >>> 0);
      this.mix(v < 0 ? -1 : 0);
    } else if (Number.isSafeInteger(v)) {
      this.mix(v >>> 0);
      this.mix(Math.floor(v / 4294967296) | 0);
    } else {
      this.mix(0x7ff00001);
      this.string(String(v));
    }
  }

  static hash_of(s: string): number {
    let h = EventHasher.strings.get(s);
    if (h === undefined) {
      h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      h ^= s.length;
      if (EventHasher.strings.size < 100_000) EventHasher.strings.set(s, h);
    }
    return h;
  }

  string(s: string): void {
    this.mix(EventHasher.hash_of(s));
  }

  event(t_ns: number, name: string, context: string, args: TraceArgs): void {
    this.number(t_ns);
    let shape = EventHasher.shapes.get(name);
    if (shape === undefined) {
      shape = { name_hash: EventHasher.hash_of(name), keys: [], key_hashes: [] };
      if (EventHasher.shapes.size < 10_000) EventHasher.shapes.set(name, shape);
    }
    this.mix(shape.name_hash);
    if (context !== this.last_context) {
      this.last_context = context;
      this.last_context_hash = EventHasher.hash_of(context);
    }
    this.mix(this.last_context_hash);
    const keys = shape.keys, key_hashes = shape.key_hashes;
    let i = 0;
    for (const key in args) {
      if (keys[i] !== key) {
        keys[i] = key;
        key_hashes[i] = EventHasher.hash_of(key);
      }
      this.mix(key_hashes[i++]);
      const v = args[key];
      if (typeof v === 'number') this.number(v);
      else if (typeof v === 'string') this.string(v);
      else this.mix(v === true ? 0x1 : v === false ? 0x2 : 0x3);
    }
    this.mix(0x0a0a0a0a); // end of event
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

/** The keys an event name's arguments had last time, and their hashes. */
interface EventShape {
  readonly name_hash: number;
  readonly keys: string[];
  readonly key_hashes: number[];
}
