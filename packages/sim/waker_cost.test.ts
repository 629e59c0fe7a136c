/**
 * Waker-side costs: queueing work, waking tasks and arming or cancelling timers cost the
 * calling context. Each entry gets a distinct power of ten so a charged sum names the entries
 * that made it up.
 */
import { describe, expect, it } from 'vitest';
import {
  HRTIMER_MODE_REL, HRTIMER_NORESTART, INIT_DELAYED_WORK, INIT_WORK, Kernel, alloc_ordered_workqueue, alloc_workqueue,
  cancel_delayed_work, complete, hrtimer_cancel, hrtimer_setup, hrtimer_start, init_completion, init_waitqueue_head,
  mod_delayed_work, mod_timer, queue_delayed_work, queue_work, timer_delete, timer_setup, wait_event, wait_for_completion,
  wake_up,
} from './index.ts';

const QUEUE = 1, CANCEL = 10, TTWU = 100, TMOD = 1_000, TDEL = 10_000, HSTART = 100_000, HCANCEL = 1_000_000;

function kernel(): Kernel {
  return new Kernel({
    costs: {
      profile: 'constant', queue_work_ns: QUEUE, cancel_work_ns: CANCEL, try_to_wake_up_ns: TTWU, timer_mod_ns: TMOD,
      timer_del_ns: TDEL, hrtimer_start_ns: HSTART, hrtimer_cancel_ns: HCANCEL,
    },
  });
}

/** The CPU time `fn` costs when called from a hardirq body. */
function charged(k: Kernel, fn: () => void): number {
  let spent = -1;
  const line = k.request_irq('probe', null, () => {
    const t0 = k.now();
    fn();
    spent = k.now() - t0;
  });
  k.raise_irq_at(line, k.now() + 1_000, 0);
  k.run_for(2_000);
  return spent;
}

describe('waker-side costs', () => {
  it('queue_work: __queue_work, plus a wake-up when it wakes an idle kworker; nothing when already pending', () => {
    const k = kernel();
    const wq = alloc_ordered_workqueue(k, 'wq', 0);
    const a = INIT_WORK(k, () => {}, 'a'), b = INIT_WORK(k, () => {}, 'b');
    expect(charged(k, () => {
      queue_work(wq, a); // wakes the kworker
      queue_work(wq, a); // pending: returns false
      queue_work(wq, b); // the ordered queue's worker is already woken
    })).toBe(QUEUE + TTWU + QUEUE);
  });

  it('delayed work: arming is add_timer; the timer queues the work from softirq; mod and cancel grab it back', () => {
    const k = kernel();
    const wq = alloc_workqueue(k, 'wq', 0, 0);
    const dw = INIT_DELAYED_WORK(k, () => {}, 'dw');
    expect(charged(k, () => { queue_delayed_work(wq, dw, 10); })).toBe(TMOD);
    expect(charged(k, () => { mod_delayed_work(wq, dw, 20); })).toBe(CANCEL + TDEL + TMOD);
    expect(charged(k, () => { mod_delayed_work(wq, dw, 0); })).toBe(CANCEL + TDEL + QUEUE + TTWU);
    k.run_all();
    expect(charged(k, () => { cancel_delayed_work(dw); })).toBe(CANCEL); // idle: only try_to_grab_pending
    queue_delayed_work(wq, dw, 5);
    expect(charged(k, () => { cancel_delayed_work(dw); })).toBe(CANCEL + TDEL);
    // The timer callback pays __queue_work and the kworker wake-up in softirq context.
    queue_delayed_work(wq, dw, 5);
    const before = k.stats.cpu_ns.softirq;
    k.run_all();
    expect(k.stats.cpu_ns.softirq - before).toBe(500 + QUEUE + TTWU); // softirq_entry_ns of the constant profile + both
  });

  it('timer_list and hrtimer: arm, modify and cancel cost the caller; cancelling an idle timer is free', () => {
    const k = kernel();
    const t = timer_setup(k, () => {}, 't');
    const h = hrtimer_setup(k, () => HRTIMER_NORESTART, 'h');
    expect(charged(k, () => { mod_timer(t, k.jiffies_now + 5); mod_timer(t, k.jiffies_now + 9); })).toBe(2 * TMOD);
    expect(charged(k, () => { timer_delete(t); timer_delete(t); })).toBe(TDEL);
    expect(charged(k, () => { hrtimer_start(h, 50_000, HRTIMER_MODE_REL); hrtimer_cancel(h); hrtimer_cancel(h); })).toBe(HSTART + HCANCEL);
  });

  it('wake_up and complete charge one try_to_wake_up per task woken, nothing when none sleeps', () => {
    const k = kernel();
    const wq = init_waitqueue_head();
    const c = init_completion(k);
    let go = false;
    for (const name of ['w1', 'w2']) k.spawn(name, (function* () { yield* wait_event(k, wq, () => go); })());
    k.spawn('w3', (function* () { yield* wait_for_completion(c); })());
    k.run_all();
    expect(charged(k, () => { go = true; wake_up(k, wq); })).toBe(2 * TTWU);
    expect(charged(k, () => { complete(c); })).toBe(TTWU);
    k.run_all();
    expect(charged(k, () => { wake_up(k, wq); complete(c); })).toBe(0);
  });
});
