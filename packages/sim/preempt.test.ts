/**
 * Preemption points (KernelOptions.preemption): an event due by a body's local time may run
 * nested at a lock release, a fence signal or a queue_work, chosen by the tie-breaker.
 */
import { describe, expect, it } from 'vitest';
import {
  CONSTANT_COSTS, EXACT_TIMING, INIT_WORK, Kernel, alloc_workqueue, dma_fence, dma_fence_init, dma_fence_signal, mutex_init,
  mutex_lock, mutex_unlock, queue_work, replay_tie_breaker, spin_lock, spin_lock_init,
  spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore, wait_event, init_waitqueue_head, wake_up,
  type KernelOptions, type Sleepable, type TieBreaker,
} from './index.ts';

/** Preempts at every point where something is due (choice 1), and picks FIFO among races. */
const always: TieBreaker = { name: 'always', choose: (count) => (count === 2 ? 1 : 0) };
/** Never preempts, but is not the FIFO tie-breaker (so points are offered and recorded). */
const never: TieBreaker = { name: 'never', choose: () => 0 };

interface Rig {
  k: Kernel;
  log: string[];
}

/**
 * A process body: lock, 5 µs of work, unlock, 5 µs of work, unlock of a second lock. An irq
 * is raised 1 µs into the body: it is due at the first unlock.
 */
function irq_in_body(options: KernelOptions): Rig & { irq_at: number[]; after_ns: number } {
  const k = new Kernel({ trace: 'record', ...EXACT_TIMING, ...options });
  const log: string[] = [];
  const irq_at: number[] = [];
  const a = spin_lock_init(k, 'A'), b = spin_lock_init(k, 'B');
  const line = k.request_irq('dev', null, () => {
    log.push(`irq in ${k.current.name}, held ${k.current.held.length}`);
    irq_at.push(k.now());
    k.spend(500);
  });
  let after_ns = 0;
  k.spawn('task', (function* (): Sleepable {
    const t0 = k.now();
    k.raise_irq_at(line, t0 + 1_000, 0);
    spin_lock(a);
    k.spend(5_000);
    spin_unlock(a); // point: the irq is due
    log.push(`body after unlock in ${k.current.name}, held ${k.current.held.length}`);
    after_ns = k.now() - t0;
    spin_lock(b);
    k.spend(5_000);
    spin_unlock(b);
    log.push('body end');
  })());
  k.run_all();
  return { k, log, irq_at, after_ns };
}

describe('preemption points', () => {
  it('off (default): the irq due inside the body runs after it, the clock untouched', () => {
    const r = irq_in_body({});
    expect(r.log).toEqual(['body after unlock in task, held 0', 'body end', 'irq in irq/dev, held 0']);
    expect(r.k.preemptions).toBe(0);
    expect(r.k.eq.choices).toEqual([]);
  });

  it('on with the FIFO tie-breaker: the same run, byte for byte', () => {
    const off = irq_in_body({});
    const on = irq_in_body({ preemption: true });
    expect(on.log).toEqual(off.log);
    expect(on.k.trace.digest()).toBe(off.k.trace.digest());
  });

  it('on, chosen: the irq runs nested at the unlock; the body resumes in its own context, delayed by the irq', () => {
    const r = irq_in_body({ preemption: true, tie_breaker: always });
    expect(r.log).toEqual(['irq in irq/dev, held 0', 'body after unlock in task, held 0', 'body end']);
    expect(r.k.preemptions).toBe(1);
    // The irq came at the point (task start + spin_lock + 5 µs + unlock), not at its due time.
    expect(r.irq_at[0]).toBeGreaterThan(5_000);
    // The body's clock moved on by the irq's cost (entry + 500 ns).
    const plain = irq_in_body({});
    expect(r.after_ns - plain.after_ns).toBe(CONSTANT_COSTS.hardirq_entry_ns + 500);
    // One recorded decision per point that had something due: 1 at the first unlock.
    expect(r.k.eq.choices).toEqual([1]);
    expect(r.k.violations.list).toEqual([]);
  });

  it('declined: recorded as 0 and nothing changes', () => {
    const off = irq_in_body({});
    const r = irq_in_body({ preemption: true, tie_breaker: never });
    expect(r.log).toEqual(off.log);
    expect(r.k.eq.choices).toEqual([0, 0]); // both unlocks had the irq due
  });

  it('a replay of the recorded choices is the same run', () => {
    const first = irq_in_body({ preemption: true, tie_breaker: always });
    const again = irq_in_body({ preemption: true, tie_breaker: replay_tie_breaker(first.k.eq.choices) });
    expect(again.log).toEqual(first.log);
    expect(again.k.trace.digest()).toBe(first.k.trace.digest());
  });

  it('no point while a lock is held or hardirqs are off', () => {
    const k = new Kernel({ preemption: true, tie_breaker: always });
    const log: string[] = [];
    const a = spin_lock_init(k, 'A'), b = spin_lock_init(k, 'B');
    const m = mutex_init(k, 'M');
    const line = k.request_irq('dev', null, () => { log.push('irq'); });
    const irqsave_lock = spin_lock_init(k, 'C');
    k.spawn('task', (function* (): Sleepable {
      k.raise_irq_at(line, k.now(), 0);
      k.spend(1_000);
      mutex_lock(m);
      spin_lock(a); spin_lock(b); spin_unlock(b); // A still held
      spin_unlock(a); // M still held
      log.push('under the mutex');
      const flags = spin_lock_irqsave(irqsave_lock);
      spin_unlock_irqrestore(irqsave_lock, flags); // M still held
      mutex_unlock(m); // nothing held: the point
      log.push('after');
    })());
    k.run_all();
    expect(log).toEqual(['under the mutex', 'irq', 'after']);
  });

  it('another CPU\'s work item due at the point runs nested, on a CPU of its own', () => {
    const run = (nr_cpus: number) => {
      const k = new Kernel({ preemption: true, tie_breaker: always, nr_cpus, costs: { kworker_wakeup_ns: 0 } });
      const log: string[] = [];
      const wq = alloc_workqueue(k, 'wq', 0, 0);
      const lock = spin_lock_init(k, 'L');
      k.spawn('task', (function* (): Sleepable {
        queue_work(wq, INIT_WORK(k, () => { log.push(`item in ${k.current.name}`); }, 'item')); // point: the item is due
        spin_lock(lock);
        log.push('task goes on');
        spin_unlock(lock);
      })());
      k.run_all();
      return log;
    };
    expect(run(2)).toEqual(['item in kworker/wq/0', 'task goes on']);
    // One CPU, busy with the task: the item cannot start before the task's body is over.
    expect(run(1)).toEqual(['task goes on', 'item in kworker/wq/0']);
  });

  it('a fence signal is a point (the fence lock release)', () => {
    const k = new Kernel({ preemption: true, tie_breaker: always });
    const log: string[] = [];
    const f = new dma_fence(k);
    dma_fence_init(f, { get_driver_name: () => 't', get_timeline_name: () => 't' }, spin_lock_init(k, 'F'), 1, 1);
    const line = k.request_irq('dev', null, () => { log.push(`irq sees signalled=${f.signaled}`); });
    k.spawn('task', (function* (): Sleepable {
      k.raise_irq_at(line, k.now(), 0);
      k.spend(1_000);
      dma_fence_signal(f);
      log.push('task after signal');
    })());
    k.run_all();
    expect(log).toEqual(['irq sees signalled=true', 'task after signal']);
  });

  it('no point between a sleep\'s condition check and going to sleep (no lost wake-up)', () => {
    const k = new Kernel({ preemption: true, tie_breaker: always });
    const wq = init_waitqueue_head();
    const lock = spin_lock_init(k, 'L');
    let flag = false;
    const line = k.request_irq('dev', null, () => { flag = true; wake_up(k, wq); });
    let woke = false;
    k.spawn('task', (function* (): Sleepable {
      k.raise_irq_at(line, k.now(), 0);
      k.spend(1_000);
      // The condition takes a lock: its release would be a point with the irq due.
      yield* wait_event(k, wq, () => { spin_lock(lock); const v = flag; spin_unlock(lock); return v; });
      woke = true;
    })());
    k.run_all();
    expect(woke).toBe(true);
    expect(k.violations.list).toEqual([]);
  });
});
