import { describe, expect, it } from 'vitest';
import {
  GFP_KERNEL, TraceLimitExceeded, INIT_WORK, Kernel, PHASE_KWORKER, TraceRecorder, alloc_workqueue, dma_fence, dma_fence_add_callback,
  dma_fence_cb, dma_fence_init, dma_fence_put, dma_fence_set_error, dma_fence_signal, dma_fence_wait,
  format_violation, kfree, kmalloc, kref, kref_put, msleep, queue_work, spin_lock, spin_lock_init, spin_unlock,
  type TraceMode, type Violation, type ViolationKind,
} from './index.ts';
import { CONSTANT_COSTS, type KernelOptions } from './index.ts';

/** Constant costs: the timings below are computed by hand from CONSTANT_COSTS. */
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

const ops = { get_driver_name: () => 'wl', get_timeline_name: () => 'ring' };

/**
 * A small workload that draws from random streams: jobs arrive at random times, each an irq
 * that signals a fence a waiting task sleeps on, plus a work item that sleeps a random time.
 */
function workload(seed: number, trace: TraceMode): Kernel {
  const k = new Kernel({ ...CONSTANT, seed, trace });
  const arrivals = k.random.stream('workload/arrivals');
  const durations = k.random.stream('workload/durations');
  const wq = alloc_workqueue(k, 'wl', 0, 2);
  const lock = spin_lock_init(k, '&ring->lock');
  const ctx = k.dma_fence_context_alloc(1);
  let t = 0;
  for (let i = 1; i <= 20; i++) {
    t += arrivals.int(10_000, 2_000_000);
    const f = new dma_fence(k);
    dma_fence_init(f, ops, lock, ctx, i);
    const line = k.request_irq(`job${i}`, f, (fence) => {
      k.tp('job_done', { seqno: fence.seqno, arg: i });
      dma_fence_signal(fence);
    });
    k.raise_irq_at(line, t, i);
    k.spawn(`waiter${i}`, (function* () {
      yield* dma_fence_wait(f, false);
      dma_fence_put(f);
    })());
    const ms = durations.int(0, 3);
    queue_work(wq, INIT_WORK(k, function* () { yield* msleep(k, ms); k.tp('work_done', { i, ms }); }, `w${i}`));
  }
  k.run_all();
  return k;
}

/** Reference 64-bit FNV-1a over UTF-16 code units, with BigInt. */

describe('trace recorder', () => {
  it('two runs with the same seed give identical traces', () => {
    const a = workload(1, 'record');
    const b = workload(1, 'record');
    expect(a.trace.count).toBeGreaterThan(100);
    expect(b.trace.digest()).toBe(a.trace.digest());
    expect(b.trace.events).toEqual(a.trace.events);
    expect(a.violations.count()).toBe(0);
  });

  it('a different seed gives a different trace', () => {
    const digests = new Set([1, 2, 3].map((seed) => workload(seed, 'hash').trace.digest()));
    expect(digests.size).toBe(3);
  });

  it('hash mode hashes exactly what record mode records, without keeping events', () => {
    const hashed = workload(5, 'hash');
    const recorded = workload(5, 'record');
    expect(hashed.trace.digest()).toBe(recorded.trace.digest());
    expect(hashed.trace.count).toBe(recorded.trace.events.length);
    expect(hashed.trace.events).toHaveLength(0);
  });

  it("'off' records nothing", () => {
    const k = workload(1, 'off');
    expect(k.trace.enabled).toBe(false);
    expect(k.trace.count).toBe(0);
    expect(k.trace.events).toHaveLength(0);
    expect(k.trace.digest()).toBe(new TraceRecorder('off').digest());
    const r = new TraceRecorder('off');
    r.emit(1, 'x', 'y', {});
    expect(r.count).toBe(0);
  });

  it('the digest covers every field of every event, in order', () => {
    const base = (): TraceRecorder => {
      const r = new TraceRecorder('hash');
      r.emit(1_500, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: true, name: null });
      r.emit(2_000, 'x', 'init', {});
      return r;
    };
    const reference = base().digest();
    expect(base().digest()).toBe(reference);
    expect(reference).not.toBe(new TraceRecorder('hash').digest());
    const variants: [number, string, string, Record<string, number | string | boolean | null>][] = [
      [1_501, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: true, name: null }],
      [1_500, 'dma_fence_signalled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: true, name: null }],
      [1_500, 'dma_fence_signaled', 'irq/gpv', { context: 3, seqno: 7, error: -125, ok: true, name: null }],
      [1_500, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 8, error: -125, ok: true, name: null }],
      [1_500, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqn: 7, error: -125, ok: true, name: null }],
      [1_500, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: false, name: null }],
      [1_500, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: true, name: 'n' }],
      [1_500 + 2 ** 40, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: true, name: null }],
    ];
    for (const [t, name, ctx, args] of variants) {
      const r = new TraceRecorder('hash');
      r.emit(t, name, ctx, args);
      r.emit(2_000, 'x', 'init', {});
      expect(r.digest()).not.toBe(reference);
    }
    // Order matters too.
    const swapped = new TraceRecorder('hash');
    swapped.emit(2_000, 'x', 'init', {});
    swapped.emit(1_500, 'dma_fence_signaled', 'irq/gpu', { context: 3, seqno: 7, error: -125, ok: true, name: null });
    expect(swapped.digest()).not.toBe(reference);
  });

  it('records events with time and context, and fails loudly past its limit rather than drop any', () => {
    const r = new TraceRecorder('record', 2);
    for (let i = 0; i < 2; i++) r.emit(i, 'e', 'ctx', { i });
    expect(r.events).toEqual([{ t_ns: 0, name: 'e', context: 'ctx', args: { i: 0 } }, { t_ns: 1, name: 'e', context: 'ctx', args: { i: 1 } }]);
    expect(() => r.emit(2, 'e', 'ctx', { i: 2 })).toThrow(TraceLimitExceeded);
    expect(r.events.length).toBe(2);
  });

  it('hands every event to a sink as it is emitted, without keeping it', () => {
    const seen: string[] = [];
    const r = new TraceRecorder('hash', 2, true, (t, name, ctx, args) => seen.push(`${t} ${name} ${ctx} ${JSON.stringify(args)}`));
    for (let i = 0; i < 5; i++) r.emit(i, 'e', 'ctx', { i });
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${i} e ctx {"i":${i}}`));
    expect(r.events).toEqual([]);
    const plain = new TraceRecorder('hash');
    for (let i = 0; i < 5; i++) plain.emit(i, 'e', 'ctx', { i });
    expect(r.digest()).toBe(plain.digest()); // observing does not change the digest
  });

  it('model tracepoints carry the local clock and the current context', () => {
    const k = new Kernel({ ...CONSTANT, trace: 'record' });
    const line = k.request_irq('gpu', null, () => { k.spend(100); k.tp('hw_done', { ring: 0 }); });
    k.raise_irq_at(line, 1_000, 0);
    k.run_all();
    expect(k.trace.events).toEqual([{ t_ns: 1_000 + CONSTANT_COSTS.hardirq_entry_ns + 100, name: 'hw_done', context: 'irq/gpu', args: { ring: 0 } }]);
  });

  it('violations appear in the trace', () => {
    const k = new Kernel({ ...CONSTANT, trace: 'record' });
    k.WARN_ON(true, 'here', 'boom');
    expect(k.trace.events.map((e) => [e.name, e.args.kind, e.args.site])).toEqual([['violation', 'warn', 'here']]);
  });
});

describe('violations', () => {
  it('never throw: every kind is recorded with time, context and site, and the model carries on', () => {
    const k = new Kernel({ ...CONSTANT, max_events: 1_000 });
    const seen: Violation[] = [];
    k.violations.on_record = (v) => seen.push(v);
    const lock = spin_lock_init(k, '&l');
    const a = spin_lock_init(k, 'A');
    const b = spin_lock_init(k, 'B');
    const run = () => {
      // Outside any body.
      const ref = new kref(k, 'obj');
      kref_put(ref, () => {});
      kref_put(ref, () => {});                                   // refcount_underflow
      const id = k.lifetime.track('obj', 'o');
      k.lifetime.free(id, 'free');
      k.lifetime.use(id, 'use');                                 // use_after_free
      k.lifetime.free(id, 'free');                               // double_free
      k.lifetime.track('obj', 'leaked');
      k.lifetime.check_leaks('teardown');                        // leak
      spin_lock(a); spin_lock(b); spin_unlock(b); spin_unlock(a);
      spin_lock(b); spin_lock(a); spin_unlock(a); spin_unlock(b); // lockdep_cycle
      spin_lock(lock); spin_lock(lock);                          // lockdep_recursion
      spin_unlock(lock); spin_unlock(lock);
      spin_unlock(lock);                                         // lockdep_unlock
      const f = new dma_fence(k);
      dma_fence_init(f, ops, spin_lock_init(k, '&f->lock'), 1, 1);
      dma_fence_signal(f);
      dma_fence_signal(f);                                       // fence_double_signal
      dma_fence_set_error(f, -5);                                // fence_error_after_signal
      k.WARN_ON(true, 'warn_site');                              // warn
      k.BUG_ON(true, 'bug_site');                                // bug
      // In bodies.
      const line = k.request_irq('gpu', null, () => {
        spin_lock(lock);                                         // lockdep_irq_inconsistent
        kmalloc(k, 8, GFP_KERNEL, 'irq');                        // gfp_in_atomic
        k.might_sleep('irq');                                    // sleep_in_atomic
        k.step();                                                // model_error
      });                                                        // lock_held_at_exit
      k.raise_irq_at(line, 10, 0);
      const safe = spin_lock_init(k, '&safe');
      const irq2 = k.request_irq('gpu2', null, () => { spin_lock(safe); spin_lock(a); spin_unlock(a); spin_unlock(safe); });
      k.raise_irq_at(irq2, 20, 0);                               // lockdep_irq_order (A is hardirq-unsafe)
      const kind = k.register_event_kind('forever', () => k.schedule_at(k.now() + 1, PHASE_KWORKER, kind, null, 0));
      k.schedule_at(30, PHASE_KWORKER, kind, null, 0);
      k.run_all();                                               // hang: the event budget ran out
    };
    expect(run).not.toThrow();
    const kinds = new Set(k.violations.list.map((v) => v.kind));
    const all: ViolationKind[] = [
      'use_after_free', 'double_free', 'refcount_underflow', 'leak', 'lockdep_cycle', 'lockdep_recursion',
      'lockdep_irq_inconsistent', 'lockdep_irq_order', 'lockdep_unlock', 'lock_held_at_exit', 'sleep_in_atomic',
      'gfp_in_atomic', 'fence_error_after_signal', 'fence_double_signal', 'warn', 'bug', 'hang', 'model_error',
    ];
    expect([...kinds].sort()).toEqual([...all].sort());
    expect(seen).toEqual(k.violations.list);
    for (const v of k.violations.list) {
      expect(v.site.length).toBeGreaterThan(0);
      expect(v.context.length).toBeGreaterThan(0);
      expect(Number.isFinite(v.time_ns)).toBe(true);
    }
    const in_irq = k.violations.of_kind('gfp_in_atomic')[0];
    expect([in_irq.context, in_irq.time_ns]).toEqual(['irq/gpu', 10 + CONSTANT_COSTS.hardirq_entry_ns + CONSTANT_COSTS.spin_lock_ns]);
    // The model kept going after each report: the later irq ran and the clock moved on.
    expect(k.stats.irqs).toBe(2);
    expect(k.now()).toBeGreaterThan(30);
  });

  it('WARN_ON returns its condition; WARN_ON_ONCE reports once per site; BUG_ON records a bug', () => {
    const k = new Kernel(CONSTANT);
    expect(k.WARN_ON(false, 's')).toBe(false);
    expect(k.WARN_ON(true, 's', 'first')).toBe(true);
    expect(k.WARN_ON(true, 's', 'second')).toBe(true);
    for (let i = 0; i < 3; i++) k.WARN_ON_ONCE(true, 'once');
    k.WARN_ON_ONCE(true, 'other');
    expect(k.BUG_ON(true, 'b', 'oops')).toBe(true);
    expect(k.violations.list.map((v) => `${v.kind}:${v.site}`)).toEqual(['warn:s', 'warn:s', 'warn:once', 'warn:other', 'bug:b']);
    expect(k.violations.count('warn')).toBe(4);
  });

  it('format prints one kernel-log-like block per violation', () => {
    const k = new Kernel(CONSTANT);
    k.run_for(1_500);
    k.violation('warn', 'site_a', 'something odd', ['line one', 'line two']);
    expect(k.violations.format()).toBe('[0.000001500] warn in init at site_a: something odd\n    line one\n    line two');
    expect(format_violation(k.violations.list[0]).split('\n')).toHaveLength(3);
  });

  it('a fence workload with errors stays deterministic in its violations too', () => {
    const run = () => {
      const k = new Kernel({ ...CONSTANT, seed: 3 });
      const f = new dma_fence(k);
      dma_fence_init(f, ops, spin_lock_init(k, '&l'), 1, 1);
      dma_fence_add_callback(f, new dma_fence_cb(), () => { kfree(k, kmalloc(k, 8, GFP_KERNEL, 'cb')); });
      k.spawn('t', (function* () { dma_fence_signal(f); })());
      k.run_all();
      return k.violations.format();
    };
    expect(run()).toBe(run());
    expect(run()).toMatch(/lockdep_cycle/);
  });
});
