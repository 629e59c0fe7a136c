import { describe, expect, it } from 'vitest';
import {
  GFP_KERNEL, GFP_NOWAIT, INIT_DELAYED_WORK, INIT_WORK, Kernel, NSEC_PER_MSEC, WQ_MEM_RECLAIM,
  WQ_MEM_WARN_ON_RECLAIM, alloc_ordered_workqueue, alloc_workqueue, cancel_delayed_work, cancel_work,
  cancel_work_sync, delayed_work_expiry_ns, delayed_work_pending, destroy_workqueue, disable_delayed_work,
  disable_delayed_work_sync, disable_work, enable_delayed_work, enable_work, flush_delayed_work,
  flush_work, flush_workqueue, kfree, kmalloc, mod_delayed_work, msleep, queue_delayed_work, queue_work,
  lock_map_acquire, lock_map_release, work_busy, work_pending, type Sleepable, type work_struct, type workqueue_struct,
} from './index.ts';
import { CONSTANT_COSTS, EXACT_TIMING, type KernelOptions } from './index.ts';

/** Constant costs: the timings below are computed by hand from CONSTANT_COSTS. */
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

const MS = NSEC_PER_MSEC;

/** A probe for sleepy work items: counts how many run at once and when each starts and ends. */
class Probe {
  running = 0;
  max_running = 0;
  readonly log: Array<[string, string, number]> = [];
  constructor(readonly k: Kernel) {}

  /** A work item that sleeps `ms` in the middle of its run. */
  sleepy(name: string, ms: number): work_struct {
    const k = this.k;
    return INIT_WORK(k, (): Sleepable => this.body(name, ms), name);
  }

  *body(name: string, ms: number): Sleepable {
    this.start(name);
    yield* msleep(this.k, ms);
    this.end(name);
  }

  start(name: string): void {
    this.running++;
    this.max_running = Math.max(this.max_running, this.running);
    this.log.push(['start', name, this.k.now()]);
  }

  end(name: string): void {
    this.running--;
    this.log.push(['end', name, this.k.now()]);
  }

  times(what: 'start' | 'end', name: string): number[] {
    return this.log.filter(([w, n]) => w === what && n === name).map(([, , t]) => t);
  }
}

describe('queueing', () => {
  it('queue_work on a pending item returns false and does not run it twice', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let runs = 0;
    const work = INIT_WORK(k, () => { runs++; }, 'w');
    expect(queue_work(wq, work)).toBe(true);
    expect(work_pending(work)).toBe(true);
    expect(queue_work(wq, work)).toBe(false);
    k.run_all();
    expect(runs).toBe(1);
    expect(work_busy(work)).toBe(false);
    expect(k.stats.work_items).toBe(1);
  });

  it('an idle kworker starts after the wake-up latency plus the dispatch cost', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_ordered_workqueue(k, 'ordered', 0);
    const starts: number[] = [];
    const mk = (name: string) => INIT_WORK(k, () => { starts.push(k.now()); k.spend(1_000); }, name);
    k.run_for(500);
    queue_work(wq, mk('a'));
    queue_work(wq, mk('b'));
    k.run_all();
    const { kworker_wakeup_ns, work_dispatch_ns } = CONSTANT_COSTS;
    const first = 500 + kworker_wakeup_ns + work_dispatch_ns;
    // The busy kworker moves straight on to the next item: dispatch cost, no wake-up.
    expect(starts).toEqual([first, first + 1_000 + work_dispatch_ns]);
    expect(k.stats.kworker_wakeups).toBe(1);
    expect(k.stats.cpu_ns.kworker).toBe(2 * (1_000 + work_dispatch_ns));
  });

  it('items run on kworker contexts named after their workqueue', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'gpu-submit', 0, 0);
    let ctx = '';
    queue_work(wq, INIT_WORK(k, () => { ctx = `${k.current.kind} ${k.current.name}`; }, 'w'));
    k.run_all();
    expect(ctx).toBe('kworker kworker/gpu-submit/0');
  });

  it('counts kworker wake-ups: one per idle worker woken and one per sleeping item resumed', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const p = new Probe(k);
    for (const name of ['a', 'b', 'c']) queue_work(wq, p.sleepy(name, 1));
    k.run_all();
    expect(k.stats.kworker_wakeups).toBe(6);
    expect(k.stats.work_items).toBe(3);
    expect(wq.workers).toHaveLength(3);
  });
});

describe('concurrency', () => {
  it('an ordered workqueue never runs two items at once, and keeps queueing order', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_ordered_workqueue(k, 'ordered', 0);
    const p = new Probe(k);
    for (const name of ['a', 'b', 'c', 'd']) queue_work(wq, p.sleepy(name, 2));
    k.run_all();
    expect(p.max_running).toBe(1);
    expect(p.log.map(([w, n]) => `${w}:${n}`)).toEqual(['start:a', 'end:a', 'start:b', 'end:b', 'start:c', 'end:c', 'start:d', 'end:d']);
  });

  it('an unbound workqueue runs sleepy items concurrently (the contrast)', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'wide', 0, 0);
    const p = new Probe(k);
    for (const name of ['a', 'b', 'c', 'd']) queue_work(wq, p.sleepy(name, 2));
    k.run_all();
    expect(p.max_running).toBe(4);
  });

  it('max_active bounds how many items run at once', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'narrow', 0, 2);
    const p = new Probe(k);
    for (const name of ['0', '1', '2', '3', '4']) queue_work(wq, p.sleepy(name, 3));
    k.run_all();
    expect(p.max_running).toBe(2);
    expect(p.log.filter(([w]) => w === 'end')).toHaveLength(5);
    // The third item starts when the first one ends, on the same kworker.
    expect(p.times('start', '2')[0]).toBe(p.times('end', '0')[0] + CONSTANT_COSTS.work_dispatch_ns);
    expect(wq.workers).toHaveLength(2);
  });

  it('items cancelled from the head, the middle and the tail of the worklist never run; the rest keep their order', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'narrow', 0, 1);
    const p = new Probe(k);
    const works = Array.from({ length: 8 }, (_, i) => p.sleepy(String(i), 1));
    for (const w of works) queue_work(wq, w);
    // '0' is taken by the woken kworker only when it runs: all 8 are on the worklist now.
    for (const i of [0, 4, 7]) expect(cancel_work(works[i])).toBe(true);
    queue_work(wq, works[4]); // back at the tail
    k.run_all();
    expect(p.log.filter(([w]) => w === 'start').map(([, n]) => n)).toEqual(['1', '2', '3', '5', '6', '4']);
    expect(cancel_work(works[4])).toBe(false);
  });

  it('an item re-queued while running runs again afterwards, never concurrently with itself', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 4);
    const p = new Probe(k);
    let runs = 0;
    const requeue: boolean[] = [];
    const work = INIT_WORK(k, function* (self: work_struct): Sleepable {
      p.start('x');
      if (++runs === 1) {
        requeue.push(queue_work(wq, self)); // pending again while running
        requeue.push(queue_work(wq, self)); // already pending
      }
      yield* msleep(k, 2);
      p.end('x');
    }, 'x');
    queue_work(wq, work);
    k.run_all();
    expect(runs).toBe(2);
    expect(requeue).toEqual([true, false]);
    expect(p.max_running).toBe(1);
    expect(p.times('start', 'x')[1]).toBe(p.times('end', 'x')[0] + CONSTANT_COSTS.work_dispatch_ns);
    expect(wq.workers).toHaveLength(1);
  });
});

describe('cancel and flush', () => {
  it('cancel_work_sync waits for the running item and blocks re-queueing meanwhile', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let runs = 0, item_end = -1;
    const attempts: Array<[string, boolean]> = [];
    const work = INIT_WORK(k, function* (self: work_struct): Sleepable {
      if (++runs > 1) return;
      yield* msleep(k, 5);
      attempts.push(['self', queue_work(wq, self)]);
      item_end = k.now();
    }, 'w');
    queue_work(wq, work);
    k.run_for(MS);
    let cancel_end = -1, was_pending: boolean | null = null;
    k.spawn('canceller', (function* () { was_pending = yield* cancel_work_sync(work); cancel_end = k.now(); })());
    const line = k.request_irq('gpu', null, () => attempts.push(['irq', queue_work(wq, work)]));
    k.raise_irq_at(line, 3 * MS, 0);
    k.run_all();
    expect(attempts).toEqual([['irq', false], ['self', false]]);
    expect(was_pending).toBe(false);
    expect(runs).toBe(1);
    expect(cancel_end).toBe(item_end + CONSTANT_COSTS.process_wakeup_ns);
    // Once cancel_work_sync returned, the item can be queued again.
    expect(queue_work(wq, work)).toBe(true);
    k.run_all();
    expect(runs).toBe(2);
  });

  it('cancel_work_sync on a pending item dequeues it: it never runs', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let runs = 0;
    const work = INIT_WORK(k, () => { runs++; }, 'w');
    queue_work(wq, work);
    expect(k.run_task(cancel_work_sync(work))).toBe(true);
    k.run_all();
    expect(runs).toBe(0);
    expect(cancel_work(work)).toBe(false);
  });

  it('flush_work waits for the instance queued at the call, not for later self re-queueing', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const ends: number[] = [];
    let runs = 0;
    const work = INIT_WORK(k, function* (self: work_struct): Sleepable {
      const n = ++runs;
      yield* msleep(k, 1);
      if (n < 5) queue_work(wq, self); // a self-re-arming item
      ends.push(k.now());
    }, 'rearm');
    queue_work(wq, work);
    k.run_for(MS);
    let flush_end = -1, runs_done_at_return = -1;
    k.spawn('flusher', (function* () {
      yield* flush_work(work);
      flush_end = k.now();
      runs_done_at_return = ends.length;
    })());
    k.run_all();
    expect(runs).toBe(5);
    expect(runs_done_at_return).toBe(1);
    expect(flush_end).toBe(ends[0] + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('flush_work on an item that is both running and pending waits for the pending instance', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const ends: number[] = [];
    const work = INIT_WORK(k, function* (): Sleepable {
      yield* msleep(k, 2);
      ends.push(k.now());
    }, 'w');
    queue_work(wq, work);
    k.run_for(MS);
    expect(queue_work(wq, work)).toBe(true); // pending again while it runs
    let flush_end = -1;
    k.run_task((function* () { yield* flush_work(work); flush_end = k.now(); })());
    expect(ends).toHaveLength(2);
    expect(flush_end).toBe(ends[1] + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('flush_work returns when the pending item it waits for is cancelled', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'single', 0, 1);
    const p = new Probe(k);
    queue_work(wq, p.sleepy('long', 10));
    let runs = 0;
    const work = INIT_WORK(k, () => { runs++; }, 'w');
    queue_work(wq, work); // stuck behind 'long' (max_active 1)
    k.run_for(MS);
    let flush_end = -1;
    const flusher = k.spawn('flusher', (function* () { yield* flush_work(work); flush_end = k.now(); })());
    const line = k.request_irq('gpu', null, () => cancel_work(work));
    k.raise_irq_at(line, 3 * MS, 0);
    k.run_all();
    expect(runs).toBe(0);
    expect(flusher.done).toBe(true);
    expect(flush_end).toBe(3 * MS + CONSTANT_COSTS.hardirq_entry_ns + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('flush_work of an idle item returns false without sleeping', () => {
    const k = new Kernel(CONSTANT);
    const work = INIT_WORK(k, () => {}, 'idle');
    expect(k.run_task(flush_work(work))).toBe(false);
    expect(k.now()).toBe(0);
  });

  it('flush_workqueue does not return while an item queued before it still runs, even if it re-queued itself', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 2);
    const p = new Probe(k);
    let runs = 0;
    const x = INIT_WORK(k, function* (self: work_struct): Sleepable {
      if (++runs > 1) return;
      p.start('x');
      yield* msleep(k, 10);
      queue_work(wq, self);
      yield* msleep(k, 10);
      p.end('x');
    }, 'x');
    queue_work(wq, x);
    queue_work(wq, p.sleepy('y', 15)); // ends while x's first instance still runs
    k.run_for(MS);
    let flush_end = -1;
    k.spawn('flusher', (function* () { yield* flush_workqueue(wq); flush_end = k.now(); })());
    k.run_all();
    expect(runs).toBe(2);
    expect(p.times('end', 'y')[0]).toBeLessThan(p.times('end', 'x')[0]);
    expect(flush_end).toBe(p.times('end', 'x')[0] + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('flushing a work item from inside itself is reported as a deadlock', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let r: boolean | null = null;
    const work = INIT_WORK(k, function* (self: work_struct): Sleepable { r = yield* flush_work(self); }, 'selfflush');
    queue_work(wq, work);
    k.run_all();
    expect(r).toBe(false);
    expect(k.violations.of_kind('hang')[0].message).toMatch(/selfflush.*called from the work item itself/);
    expect(k.violations.of_kind('lockdep_recursion')[0].message).toMatch(/\(work_completion\)\(selfflush\)/);
  });

  it('destroy_workqueue drains, then refuses new work', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const p = new Probe(k);
    queue_work(wq, p.sleepy('a', 3));
    k.run_task(destroy_workqueue(wq));
    expect(p.times('end', 'a')).toHaveLength(1);
    expect(queue_work(wq, p.sleepy('b', 1))).toBe(false);
    expect(k.violations.of_kind('warn')[0].message).toMatch(/being destroyed/);
  });
});

describe('delayed work', () => {
  function setup(k: Kernel): { wq: workqueue_struct; starts: number[]; dwork: ReturnType<typeof INIT_DELAYED_WORK> } {
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const starts: number[] = [];
    const dwork = INIT_DELAYED_WORK(k, () => { starts.push(k.now()); }, 'tdr');
    return { wq, starts, dwork };
  }
  const latency = (k: Kernel) => CONSTANT_COSTS.softirq_entry_ns + CONSTANT_COSTS.kworker_wakeup_ns + CONSTANT_COSTS.work_dispatch_ns;

  it('fires when the timer wheel runs its timer: level 0, one tick after jiffies + delay', () => {
    const k = new Kernel(CONSTANT);
    const { wq, starts, dwork } = setup(k);
    k.run_for(1.5 * MS);
    expect(queue_delayed_work(wq, dwork, 3)).toBe(true);
    expect(queue_delayed_work(wq, dwork, 1)).toBe(false); // already pending
    expect(delayed_work_pending(dwork)).toBe(true);
    expect(delayed_work_expiry_ns(dwork)).toBe(5 * MS);
    k.run_all();
    expect(starts).toEqual([5 * MS + latency(k)]);
    expect(delayed_work_pending(dwork)).toBe(false);
  });

  it('fires on the boundary of a coarser tick too', () => {
    const k = new Kernel({ ...CONSTANT, HZ: 100 });
    const { wq, starts, dwork } = setup(k);
    k.run_for(15 * MS);
    queue_delayed_work(wq, dwork, 2);
    k.run_all();
    expect(starts).toEqual([40 * MS + latency(k)]); // expires jiffy 3, run at jiffy 4
  });

  it('a zero delay queues at once', () => {
    const k = new Kernel(CONSTANT);
    const { wq, starts, dwork } = setup(k);
    queue_delayed_work(wq, dwork, 0);
    k.run_all();
    expect(starts).toEqual([CONSTANT_COSTS.kworker_wakeup_ns + CONSTANT_COSTS.work_dispatch_ns]);
  });

  it('mod_delayed_work pushes a pending timer out', () => {
    const k = new Kernel(CONSTANT);
    const { wq, starts, dwork } = setup(k);
    queue_delayed_work(wq, dwork, 5);
    k.run_for(2 * MS);
    expect(mod_delayed_work(wq, dwork, 10)).toBe(true);
    expect(delayed_work_expiry_ns(dwork)).toBe(13 * MS);
    k.run_all();
    expect(starts).toEqual([13 * MS + latency(k)]);
    expect(mod_delayed_work(wq, dwork, 1)).toBe(false); // idle: arms it, returns false
    k.run_all();
    expect(starts).toHaveLength(2);
  });

  it('cancel_delayed_work stops it', () => {
    const k = new Kernel(CONSTANT);
    const { wq, starts, dwork } = setup(k);
    queue_delayed_work(wq, dwork, 5);
    k.run_for(2 * MS);
    expect(cancel_delayed_work(dwork)).toBe(true);
    expect(cancel_delayed_work(dwork)).toBe(false);
    expect(delayed_work_pending(dwork)).toBe(false);
    expect(delayed_work_expiry_ns(dwork)).toBe(-1);
    k.run_all();
    expect(starts).toEqual([]);
    expect(k.eq.pending).toBe(0);
  });

  it('disable_delayed_work cancels and ignores queueing until the matching enable; mod_delayed_work only cancels', () => {
    const k = new Kernel(EXACT_TIMING);
    const { wq, starts, dwork } = setup(k);
    queue_delayed_work(wq, dwork, 5);
    expect(disable_delayed_work(dwork)).toBe(true); // was pending
    expect(disable_work(dwork.work)).toBe(false); // nests
    expect(queue_delayed_work(wq, dwork, 1)).toBe(false);
    expect(mod_delayed_work(wq, dwork, 1)).toBe(false);
    expect(queue_work(wq, dwork.work)).toBe(false);
    expect(delayed_work_pending(dwork)).toBe(false);
    k.run_for(10 * MS);
    expect(starts).toEqual([]);
    expect(enable_work(dwork.work)).toBe(false); // still disabled once
    expect(queue_delayed_work(wq, dwork, 1)).toBe(false);
    expect(enable_delayed_work(dwork)).toBe(true);
    expect(delayed_work_pending(dwork)).toBe(false); // enabling does not re-arm
    expect(mod_delayed_work(wq, dwork, 1)).toBe(false);
    k.run_all();
    expect(starts).toEqual([11 * MS + latency(k)]);
    expect(k.violations.list).toEqual([]);
    enable_work(dwork.work); // unbalanced
    expect(k.violations.list.map((v) => `${v.kind} @${v.site}`)).toEqual(['warn @enable_work']);
  });

  it('disable_delayed_work_sync waits for a running instance and keeps it from re-arming itself', () => {
    const k = new Kernel(EXACT_TIMING);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let runs = 0;
    const dwork: ReturnType<typeof INIT_DELAYED_WORK> = INIT_DELAYED_WORK(k, function* (): Sleepable {
      runs++;
      yield* msleep(k, 5);
      mod_delayed_work(wq, dwork, 1); // re-arm from inside: ignored once disabled
    }, 'rearm');
    queue_delayed_work(wq, dwork, 0);
    k.run_for(1 * MS);
    let returned_at = -1;
    k.run_task((function* (): Sleepable {
      expect(yield* disable_delayed_work_sync(dwork)).toBe(false);
      returned_at = k.now();
    })());
    expect(returned_at).toBeGreaterThan(5 * MS); // waited for the sleeping instance
    k.run_for(20 * MS);
    expect(runs).toBe(1);
    expect(delayed_work_pending(dwork)).toBe(false);
  });

  it('flush_delayed_work fires the timer now and waits for the item', () => {
    const k = new Kernel(CONSTANT);
    const { wq, starts, dwork } = setup(k);
    queue_delayed_work(wq, dwork, 50);
    k.run_task(flush_delayed_work(dwork));
    expect(starts).toEqual([CONSTANT_COSTS.kworker_wakeup_ns + CONSTANT_COSTS.work_dispatch_ns]);
    expect(k.now()).toBeLessThan(MS);
  });
});

describe('reclaim rules', () => {
  it('a GFP_KERNEL allocation in an item of a WQ_MEM_WARN_ON_RECLAIM workqueue is the RFC patch 01 splat: a cycle, not recursion', () => {
    // The example in RFC patch 01: xe's GT reset worker on gt-ordered-wq allocates. lockdep:
    // "kworker is trying to acquire lock: (fs_reclaim) but task is already holding lock:
    // ((work_completion)(&gt->reset.worker)) which lock already depends on the new lock";
    // chain #2 (work_completion), #1 (wq_completion)gt-ordered-wq, #0 fs_reclaim.
    const k = new Kernel();
    const wq = alloc_ordered_workqueue(k, 'gt-ordered-wq', WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM);
    queue_work(wq, INIT_WORK(k, () => { kfree(k, kmalloc(k, 64, GFP_NOWAIT, 'nowait')); }, 'ok'));
    k.run_all();
    expect(k.violations.count()).toBe(0);
    queue_work(wq, INIT_WORK(k, () => { kfree(k, kmalloc(k, 64, GFP_KERNEL, 'xe_gt_reset')); }, '&gt->reset.worker'));
    k.run_all();
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['lockdep_cycle']);
    expect(v[0].context).toBe('kworker/gt-ordered-wq/0');
    expect(v[0].message).toBe('possible circular locking dependency: (work_completion)(&gt->reset.worker) -> fs_reclaim closes a cycle');
    expect(v[0].site).toBe('kmalloc(xe_gt_reset, GFP_KERNEL)');
    expect(v[0].detail).toEqual([
      'kworker/gt-ordered-wq/0: holding (work_completion)(&gt->reset.worker) (acquired at process_one_work(&gt->reset.worker))',
      '  then takes fs_reclaim at kmalloc(xe_gt_reset, GFP_KERNEL)',
      'existing dependency chain:',
      '  fs_reclaim -> (wq_completion)gt-ordered-wq: held at alloc_workqueue(gt-ordered-wq, WQ_MEM_WARN_ON_RECLAIM), taken at alloc_workqueue(gt-ordered-wq, WQ_MEM_WARN_ON_RECLAIM) (lockdep priming)',
      '  (wq_completion)gt-ordered-wq -> (work_completion)(&gt->reset.worker): held at process_one_work(gt-ordered-wq), taken at process_one_work(&gt->reset.worker) (kworker/gt-ordered-wq/0)',
    ]);
  });

  it('fs_reclaim is not held while an annotated item runs: flushing it from reclaim and allocating outside it are fine', () => {
    const k = new Kernel();
    const wq = alloc_workqueue(k, 'reclaim', WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM, 0);
    const work = INIT_WORK(k, () => { expect(k.current.holds_class_named('fs_reclaim')).toBe(false); }, 'w');
    queue_work(wq, work);
    k.run_task((function* (): Sleepable {
      lock_map_acquire(k.fs_reclaim, 'shrinker');
      yield* flush_work(work);
      lock_map_release(k.fs_reclaim);
      kfree(k, kmalloc(k, 64, GFP_KERNEL, 'outside'));
    })());
    k.run_all();
    expect(k.violations.count()).toBe(0);
  });

  it('the same allocation on a plain workqueue is fine', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'plain', WQ_MEM_RECLAIM, 0);
    queue_work(wq, INIT_WORK(k, () => { kfree(k, kmalloc(k, 64, GFP_KERNEL, 'job')); }, 'w'));
    k.run_all();
    expect(k.violations.count()).toBe(0);
  });

  it('flushing !WQ_MEM_RECLAIM work from a WQ_MEM_RECLAIM worker warns; flushing reclaim-safe work does not', () => {
    const k = new Kernel(CONSTANT);
    const reclaim = alloc_workqueue(k, 'reclaim', WQ_MEM_RECLAIM, 0);
    const reclaim2 = alloc_workqueue(k, 'reclaim2', WQ_MEM_RECLAIM, 0);
    const plain = alloc_workqueue(k, 'plain', 0, 0);
    const p = new Probe(k);
    const plain_work = p.sleepy('plain_work', 10); // still running when the flusher gets to it
    const safe_work = p.sleepy('safe_work', 5);
    queue_work(plain, plain_work);
    queue_work(reclaim2, safe_work);
    queue_work(reclaim, INIT_WORK(k, function* (): Sleepable {
      yield* flush_work(safe_work);
      expect(k.violations.count()).toBe(0);
      yield* flush_work(plain_work);
    }, 'flusher'));
    k.run_all();
    const v = k.violations.list;
    expect(v).toHaveLength(1);
    expect(v[0].kind).toBe('warn');
    expect(v[0].message).toBe('workqueue: WQ_MEM_RECLAIM reclaim is flushing !WQ_MEM_RECLAIM plain');
  });

  it('flush_workqueue of a !WQ_MEM_RECLAIM queue from a WQ_MEM_RECLAIM worker warns too', () => {
    const k = new Kernel(CONSTANT);
    const reclaim = alloc_workqueue(k, 'reclaim', WQ_MEM_RECLAIM, 0);
    const plain = alloc_workqueue(k, 'plain', 0, 0);
    queue_work(reclaim, INIT_WORK(k, function* (): Sleepable { yield* flush_workqueue(plain); }, 'flusher'));
    k.run_all();
    expect(k.violations.of_kind('warn').map((v) => v.message)).toEqual(['workqueue: WQ_MEM_RECLAIM reclaim is flushing !WQ_MEM_RECLAIM plain']);
  });
});

describe('system workqueues', () => {
  it('system_wq and system_percpu_wq are one queue; unknown names are an error', () => {
    const k = new Kernel(CONSTANT);
    expect(k.system_wq('system_wq')).toBe(k.system_wq('system_percpu_wq'));
    expect(k.system_wq('system_unbound_wq')).toBe(k.system_wq('system_dfl_wq'));
    expect(k.system_wq('system_wq').name).toBe('events');
    expect(() => k.system_wq('nope')).toThrow(/unknown system workqueue/);
  });
});
