/**
 * The trace recorder: typed events emitted by the models (kernel tracepoint names where the
 * kernel has one, e.g. drm_sched_job_run). Observability flows one way: models emit, the
 * harness reads. Three modes:
 *   off     nothing is done (emitters check `enabled` first, so a disabled trace costs one branch)
 *   hash    a running 64-bit FNV-1a hash of every event, for determinism checks
 *   record  the events are kept, and hashed
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

export class TraceRecorder {
  readonly mode: TraceMode;
  readonly enabled: boolean;
  readonly events: TraceEvent[] = [];
  /** Upper bound on kept events; past it recording stops and `truncated` is set. */
  readonly limit: number;
  truncated = false;
  count = 0;
  private h_lo = 0x84222325;
  private h_hi = 0xcbf29ce4;

  constructor(mode: TraceMode = 'off', limit = 5_000_000) {
    this.mode = mode;
    this.enabled = mode !== 'off';
    this.limit = limit;
  }

  emit(t_ns: number, name: string, context: string, args: TraceArgs): void {
    if (!this.enabled) return;
    this.count++;
    if (this.mode === 'hash') {
      this.hash_text(`${t_ns}|${name}|${context}|${stable_args(args)}\n`);
    } else if (this.events.length < this.limit) {
      this.events.push({ t_ns, name, context, args });
    } else {
      this.truncated = true;
      // Past the bound, keep the digest exact: hash what is emitted from now on.
      this.hash_text(`${t_ns}|${name}|${context}|${stable_args(args)}\n`);
    }
  }

  /**
   * Hex digest of everything emitted so far. In record mode the kept events are hashed here,
   * once, rather than on every emit; the result is the same as hash mode's.
   */
  digest(): string {
    let lo = this.h_lo, hi = this.h_hi;
    if (this.mode === 'record') {
      const saved_lo = this.h_lo, saved_hi = this.h_hi;
      this.h_lo = 0x84222325;
      this.h_hi = 0xcbf29ce4;
      for (const e of this.events) this.hash_text(`${e.t_ns}|${e.name}|${e.context}|${stable_args(e.args)}\n`);
      if (this.truncated) {
        // Events past the bound were hashed into saved_*, starting from the basis: fold them in.
        this.hash_text(`|${saved_hi}:${saved_lo}`);
      }
      lo = this.h_lo;
      hi = this.h_hi;
      this.h_lo = saved_lo;
      this.h_hi = saved_hi;
    }
    return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
  }

  private hash_text(text: string): void {
    // 64-bit FNV-1a on two 32-bit halves (prime 0x100000001b3).
    let lo = this.h_lo, hi = this.h_hi;
    for (let i = 0; i < text.length; i++) {
      lo ^= text.charCodeAt(i);
      const lo_mul = Math.imul(lo, 0x1b3) >>> 0;
      const carry = Math.floor(((lo >>> 0) * 0x1b3) / 4294967296);
      hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
      lo = lo_mul;
    }
    this.h_lo = lo;
    this.h_hi = hi;
  }
}

/** Arguments in key order of insertion; numbers and strings printed exactly. */
function stable_args(args: TraceArgs): string {
  let out = '';
  for (const key in args) out += `${key}=${String(args[key])};`;
  return out;
}
