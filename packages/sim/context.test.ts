import { describe, expect, it } from 'vitest';
import {
  ERESTARTSYS, ExecContext, INIT_WORK, Kernel, NSEC_PER_MSEC, SimulationHang, alloc_workqueue, cancel_work_sync,
  complete, flush_work, flush_workqueue, init_completion, init_waitqueue_head, msleep, queue_work,
  schedule_timeout, spin_lock, spin_lock_init, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
  wait_event, wait_event_killable, wait_event_timeout, wait_for_completion, wait_for_completion_timeout, wake_up,
  MAX_SCHEDULE_TIMEOUT, type Sleepable, type work_struct,
} from './index.ts';
import { CONSTANT_COSTS, random_tie_breaker, replay_tie_breaker, type KernelOptions, type TieBreaker } from './index.ts';

/** Constant costs: the timings below are computed by hand from CONSTANT_COSTS. */
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

const MS = NSEC_PER_MSEC;

describe('execution contexts', () => {
  it('only process and kworker contexts may sleep, and not under a spinlock or with irqs off', () => {
    expect(new ExecContext('process', 'p').may_sleep).toBe(true);
    expect(new ExecContext('kworker', 'w').may_sleep).toBe(true);
    expect(new ExecContext('softirq', 's').may_sleep).toBe(false);
    expect(new ExecContext('hardirq', 'h').may_sleep).toBe(false);
    const p = new ExecContext('process', 'p');
    p.atomic = 1;
    expect(p.may_sleep).toBe(false);
    expect(p.in_atomic).toBe(true);
    p.atomic = 0;
    p.irqs_off = 1;
    expect(p.may_sleep).toBe(false);
    expect(p.hardirqs_enabled).toBe(false);
    expect(new ExecContext('softirq', 's').hardirqs_enabled).toBe(true);
    expect(new ExecContext('hardirq', 'h').hardirqs_enabled).toBe(false);
  });

  it('irq handlers run in hardirq context, timers in softirq, tasks in process; outside bodies is init', () => {
    const k = new Kernel(CONSTANT);
    const seen: string[] = [];
    const line = k.request_irq('gpu', null, () => seen.push(`${k.current.kind}:${k.current.name}`));
    k.raise_irq_at(line, 10, 0);
    k.call_softirq_at(20, { fn: () => seen.push(k.current.kind), target: null }, 0);
    k.spawn('task', (function* () { seen.push(k.current.kind); })());
    k.run_all();
    expect(seen).toEqual(['process', 'hardirq:irq/gpu', 'softirq']);
    expect(k.current).toBe(k.init_ctx);
    expect(k.stats.irqs).toBe(1);
  });

  it('a body accounts its cost on a local clock', () => {
    const k = new Kernel(CONSTANT);
    const times: number[] = [];
    const line = k.request_irq('gpu', null, () => {
      times.push(k.now());
      k.spend(250);
      times.push(k.now());
    });
    k.raise_irq_at(line, 1_000, 0);
    k.run_all();
    expect(times).toEqual([1_000 + CONSTANT_COSTS.hardirq_entry_ns, 1_250 + CONSTANT_COSTS.hardirq_entry_ns]);
    expect(k.stats.cpu_ns.hardirq).toBe(250 + CONSTANT_COSTS.hardirq_entry_ns);
    expect(k.now()).toBe(1_000); // outside any body, the clock is the event time
  });

  it('process bodies wait for a free simulated CPU', () => {
    const k = new Kernel({ ...CONSTANT, nr_cpus: 1 });
    const starts: number[] = [];
    for (let i = 0; i < 2; i++) {
      k.spawn(`t${i}`, (function* () { starts.push(k.now()); k.spend(1_000); })());
    }
    k.run_all();
    expect(starts).toEqual([0, 1_000]);
    expect(k.stats.cpu_deferrals).toBe(1);
    expect(() => new Kernel({ ...CONSTANT, nr_cpus: 0 })).toThrow(RangeError);
  });

  it('bodies waiting for a CPU run in the order they asked, at O(1) events each', () => {
    const k = new Kernel({ ...CONSTANT, nr_cpus: 2 });
    const order: number[] = [];
    for (let i = 0; i < 1000; i++) {
      k.spawn(`t${i}`, (function* () { order.push(i); k.spend(1_000); })());
    }
    k.run_all();
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(k.stats.cpu_deferrals).toBe(998);
    // 1000 spawns plus one dispatch per waiting body (and one per freed CPU pair at most): a
    // retry per waiting body per freed CPU would be about 250,000.
    expect(k.stats.events).toBeLessThan(3_000);
    expect(k.now()).toBe(499 * 1_000); // the last pair starts at 499 µs
  });

  it('sim.cpu-order: kworker-first serves a waiting kworker before process tasks that asked earlier; fifo does not; neither is read without a kworker behind a process', () => {
    const run = (assume: Record<string, string>, with_work: boolean) => {
      const k = new Kernel({ ...CONSTANT, nr_cpus: 1, assume });
      const wq = alloc_workqueue(k, 'test', 0, 0);
      const order: string[] = [];
      const work = INIT_WORK(k, function* (): Sleepable { order.push('kworker'); k.spend(1_000); }, 'item');
      k.spawn('t0', (function* () {
        order.push('t0');
        if (with_work) queue_work(wq, work);
        k.spend(1_000);
      })());
      // Long enough that the kworker's wake-up lands while t1 runs: it then waits behind t2.
      for (const name of ['t1', 't2']) k.spawn(name, (function* () { order.push(name); k.spend(50_000); })());
      k.run_all();
      return { order, read: k.assumptions_read.has('sim.cpu-order') };
    };
    expect(run({}, true)).toEqual({ order: ['t0', 't1', 't2', 'kworker'], read: true });
    expect(run({ 'sim.cpu-order': 'kworker-first' }, true)).toEqual({ order: ['t0', 't1', 'kworker', 't2'], read: true });
    expect(run({ 'sim.cpu-order': 'kworker-first' }, false)).toEqual({ order: ['t0', 't1', 't2'], read: false });
  });

  it('the exploring tie-breaker picks among the waiting bodies, and the pick is recorded', () => {
    const run = (tie_breaker: TieBreaker) => {
      const k = new Kernel({ ...CONSTANT, nr_cpus: 1, tie_breaker });
      const order: number[] = [];
      for (let i = 0; i < 6; i++) k.spawn(`t${i}`, (function* () { order.push(i); k.spend(1_000); })());
      k.run_all();
      return { order, choices: [...k.eq.choices] };
    };
    const a = run(random_tie_breaker(7));
    expect([...a.order].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.order).not.toEqual([0, 1, 2, 3, 4, 5]);
    expect(run(replay_tie_breaker(a.choices)).order).toEqual(a.order);
  });
});

describe('a process task really waits in simulated time', () => {
  it('wait_event sleeps until woken with the condition true', () => {
    const k = new Kernel(CONSTANT);
    const wq = init_waitqueue_head();
    let flag = false;
    let woke_at = -1;
    const task = k.spawn('waiter', (function* () {
      yield* wait_event(k, wq, () => flag);
      woke_at = k.now();
    })());
    const line = k.request_irq('gpu', null, () => {
      wake_up(k, wq); // spurious: the condition is still false, the task sleeps again
    });
    const line2 = k.request_irq('gpu2', null, () => { flag = true; wake_up(k, wq); });
    k.raise_irq_at(line, 2 * MS, 0);
    k.raise_irq_at(line2, 5 * MS, 0);
    k.run_for(5 * MS - 1);
    expect(task.done).toBe(false);
    k.run_all();
    expect(task.done).toBe(true);
    expect(woke_at).toBe(5 * MS + CONSTANT_COSTS.hardirq_entry_ns + CONSTANT_COSTS.process_wakeup_ns);
    expect(k.stats.process_wakeups).toBe(2);
  });

  it('wait_for_completion sleeps until complete(); a completion done beforehand does not sleep', () => {
    const k = new Kernel(CONSTANT);
    const c = init_completion(k);
    const times: number[] = [];
    k.spawn('waiter', (function* () {
      yield* wait_for_completion(c);
      times.push(k.now());
      yield* wait_for_completion(c); // consumed: waits for the second complete()
      times.push(k.now());
    })());
    const line = k.request_irq('gpu', null, () => complete(c));
    k.raise_irq_at(line, 3 * MS, 0);
    k.raise_irq_at(line, 7 * MS, 0);
    k.run_all();
    const delay = CONSTANT_COSTS.hardirq_entry_ns + CONSTANT_COSTS.process_wakeup_ns;
    expect(times).toEqual([3 * MS + delay, 7 * MS + delay]);

    complete(c);
    const t0 = k.now();
    let at = -1;
    k.spawn('no-wait', (function* () { yield* wait_for_completion(c); at = k.now(); })());
    k.run_all();
    expect(at).toBe(t0);
    expect(k.stats.process_wakeups).toBe(2);
  });

  it('wait_for_completion_timeout returns 0 on timeout, when the timer wheel runs its timer (one tick after expiry)', () => {
    const k = new Kernel(CONSTANT);
    const c = init_completion(k);
    let r = -1, at = -1;
    k.run_for(MS / 2);
    k.spawn('waiter', (function* () { r = yield* wait_for_completion_timeout(c, 3); at = k.now(); })());
    k.run_all();
    expect(r).toBe(0);
    // expires = jiffy 3, 3 ticks away: wheel level 0 runs it at jiffy 4.
    expect(at).toBe(4 * MS + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('wait_event_timeout returns the remaining jiffies, at least 1', () => {
    const k = new Kernel(CONSTANT);
    const wq = init_waitqueue_head();
    let flag = false, r = -1;
    k.spawn('waiter', (function* () { r = yield* wait_event_timeout(k, wq, () => flag, 10); })());
    const line = k.request_irq('gpu', null, () => { flag = true; wake_up(k, wq); });
    k.raise_irq_at(line, 3.5 * MS, 0);
    k.run_all();
    expect(r).toBe(10 - 3);
    flag = true;
    k.spawn('ready', (function* () { r = yield* wait_event_timeout(k, wq, () => flag, 0); })());
    k.run_all();
    expect(r).toBe(1);
  });

  it('msleep sleeps msecs_to_jiffies(ms) ticks from the current tick, and the wheel adds one', () => {
    const k = new Kernel(CONSTANT);
    let at = -1;
    k.run_for(MS / 2);
    k.spawn('sleeper', (function* () { yield* msleep(k, 10); at = k.now(); })());
    k.run_all();
    expect(at).toBe(11 * MS + CONSTANT_COSTS.process_wakeup_ns);
    const k100 = new Kernel({ ...CONSTANT, HZ: 100 });
    k100.spawn('sleeper', (function* () { yield* msleep(k100, 1); at = k100.now(); })());
    k100.run_all();
    expect(at).toBe(20 * MS + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('flush_work waits for a running item that sleeps', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let item_end = -1, flush_end = -1, flushed: boolean | null = null;
    const work = INIT_WORK(k, function* (): Sleepable {
      yield* msleep(k, 5);
      item_end = k.now();
    }, 'sleepy');
    queue_work(wq, work);
    k.run_for(MS); // the item is now running and asleep
    k.spawn('flusher', (function* () { flushed = yield* flush_work(work); flush_end = k.now(); })());
    k.run_all();
    expect(flushed).toBe(true);
    expect(item_end).toBeGreaterThan(6 * MS);
    expect(flush_end).toBe(item_end + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('cancel_work_sync waits for a running item that sleeps', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let item_end = -1, cancel_end = -1;
    const work = INIT_WORK(k, function* (): Sleepable {
      yield* msleep(k, 5);
      item_end = k.now();
    }, 'sleepy');
    queue_work(wq, work);
    k.run_for(MS);
    k.spawn('canceller', (function* () { yield* cancel_work_sync(work); cancel_end = k.now(); })());
    k.run_all();
    expect(item_end).toBeGreaterThan(6 * MS);
    expect(cancel_end).toBe(item_end + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('flush_workqueue waits for every item queued before it', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const ends: number[] = [];
    const mk = (ms: number, name: string) => INIT_WORK(k, function* (_w: work_struct): Sleepable {
      yield* msleep(k, ms);
      ends.push(k.now());
    }, name);
    for (const [ms, name] of [[3, 'a'], [9, 'b'], [1, 'c']] as const) queue_work(wq, mk(ms, name));
    let flush_end = -1;
    k.run_task((function* () { yield* flush_workqueue(wq); flush_end = k.now(); })());
    expect(ends).toHaveLength(3);
    expect(flush_end).toBe(Math.max(...ends) + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('run_task runs the init context to completion, and reports a wait nothing can end', () => {
    const k = new Kernel(CONSTANT);
    const c = init_completion(k);
    expect(k.run_task((function* () { yield* schedule_timeout(k, 2); return k.jiffies_now; })())).toBe(3);
    expect(() => k.run_task((function* () { yield* wait_for_completion(c); })())).toThrow(SimulationHang);
    expect(k.violations.of_kind('hang')).toHaveLength(1);
  });

  it('a MAX_SCHEDULE_TIMEOUT wait never times out', () => {
    const k = new Kernel(CONSTANT);
    const wq = init_waitqueue_head();
    expect(() => k.run_task((function* () { yield* wait_event_timeout(k, wq, () => false, MAX_SCHEDULE_TIMEOUT); })()))
      .toThrow(SimulationHang);
  });
});

describe('might_sleep', () => {
  it('is reported in hardirq context, and a wait there cannot sleep', () => {
    const k = new Kernel(CONSTANT);
    let r: IteratorResult<void, void> | null = null;
    const line = k.request_irq('gpu', null, () => {
      k.might_sleep('irq_sleep_check');
      r = msleep(k, 1).next();
    });
    k.raise_irq_at(line, 100, 0);
    k.run_all();
    const v = k.violations.of_kind('sleep_in_atomic');
    expect(v.map((x) => x.site)).toEqual(['irq_sleep_check', 'wait']);
    expect(v[0].message).toMatch(/in hardirq context/);
    expect(v[0].context).toBe('irq/gpu');
    expect(v[0].time_ns).toBe(100 + CONSTANT_COSTS.hardirq_entry_ns);
    expect(r!.done).toBe(true); // it returned at once instead of sleeping
    expect(k.violations.of_kind('model_error')).toHaveLength(1);
  });

  it('is reported in softirq (timer) context', () => {
    const k = new Kernel(CONSTANT);
    k.call_softirq_at(100, { fn: () => k.might_sleep('timer_sleep'), target: null }, 0);
    k.run_all();
    expect(k.violations.of_kind('sleep_in_atomic')[0].message).toMatch(/softirq/);
  });

  it('is reported under a spinlock and with irqs disabled, naming the lock', () => {
    const k = new Kernel(CONSTANT);
    const lock = spin_lock_init(k, '&dev->lock');
    const irq_lock = spin_lock_init(k, '&dev->irq_lock');
    k.spawn('sleeper', (function* () {
      spin_lock(lock);
      yield* msleep(k, 1);
      spin_unlock(lock);
      const flags = spin_lock_irqsave(irq_lock);
      k.might_sleep('under_irqsave');
      spin_unlock_irqrestore(irq_lock, flags);
      k.might_sleep('after_unlock'); // fine again
    })());
    k.run_all();
    const v = k.violations.of_kind('sleep_in_atomic');
    expect(v.some((x) => x.site === 'wait' && /&dev->lock held/.test(x.message))).toBe(true);
    expect(v.some((x) => /slept with a spinlock held/.test(x.message))).toBe(true);
    expect(v.some((x) => x.site === 'under_irqsave')).toBe(true);
    expect(v.some((x) => x.site === 'after_unlock')).toBe(false);
  });

  it('is silent in process context and in a kworker', () => {
    const k = new Kernel(CONSTANT);
    k.might_sleep('init');
    const wq = alloc_workqueue(k, 'test', 0, 0);
    queue_work(wq, INIT_WORK(k, () => k.might_sleep('worker'), 'w'));
    k.run_all();
    expect(k.violations.count()).toBe(0);
  });
});

describe('killable waits', () => {
  it('wait_event_killable returns -ERESTARTSYS when SIGKILL arrives', () => {
    const k = new Kernel(CONSTANT);
    const wq = init_waitqueue_head();
    let r = 1, at = -1;
    const task = k.spawn('victim', (function* () { r = yield* wait_event_killable(k, wq, () => false); at = k.now(); })());
    k.run_for(2 * MS);
    expect(task.done).toBe(false);
    k.send_sigkill(task);
    k.run_all();
    expect(r).toBe(-ERESTARTSYS);
    expect(at).toBe(2 * MS + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('an uninterruptible wait ignores SIGKILL', () => {
    const k = new Kernel(CONSTANT);
    const wq = init_waitqueue_head();
    let flag = false, at = -1;
    const task = k.spawn('victim', (function* () { yield* wait_event(k, wq, () => flag); at = k.now(); })());
    k.run_for(MS);
    k.send_sigkill(task);
    k.run_for(MS);
    expect(task.done).toBe(false);
    flag = true;
    wake_up(k, wq);
    k.run_all();
    expect(at).toBe(2 * MS + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('a fatal signal already pending ends a killable wait at once', () => {
    const k = new Kernel(CONSTANT);
    const wq = init_waitqueue_head();
    let r = 1;
    const task = k.spawn('victim', (function* () { yield* msleep(k, 1); r = yield* wait_event_killable(k, wq, () => false); })());
    k.send_sigkill(task); // arrives while it sleeps uninterruptibly in msleep
    k.run_all();
    expect(r).toBe(-ERESTARTSYS);
  });
});

describe('ktime_get', () => {
  it('is strictly increasing within a context without moving the clock; another context reads the clock itself', () => {
    const k = new Kernel();
    k.run_for(5 * MS);
    const t = k.now();
    expect([k.ktime_get(), k.ktime_get(), k.ktime_get()]).toEqual([t, t + 1, t + 2]);
    expect(k.now()).toBe(t);
    const seen: number[] = [];
    const line = k.request_irq('reader', null, () => { seen.push(k.ktime_get(), k.now()); });
    k.raise_irq_at(line, t, 0);
    k.run_all();
    expect(seen[0]).toBe(seen[1]); // its first read: the clock itself (t + the irq entry cost)
    k.run_for(MS);
    expect(k.ktime_get()).toBe(t + MS); // the clock passed the context's last read
  });
});
