import { describe, expect, it } from 'vitest';
import {
  HRTIMER_MODE_ABS, HRTIMER_MODE_REL, HRTIMER_NORESTART, HRTIMER_RESTART, HZ_DEFAULT, Jiffies, Kernel,
  MAX_SCHEDULE_TIMEOUT, NSEC_PER_MSEC, hrtimer_active, hrtimer_cancel, hrtimer_forward_now, hrtimer_setup,
  hrtimer_start, mod_timer, timer_delete, timer_pending, timer_setup,
} from './index.ts';
import { CONSTANT_COSTS, type KernelOptions } from './index.ts';

/** Constant costs: the timings below are computed by hand from CONSTANT_COSTS. */
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

describe('jiffies', () => {
  it('defaults to HZ=1000 with a 1 ms tick', () => {
    const k = new Kernel(CONSTANT);
    expect(HZ_DEFAULT).toBe(1000);
    expect(k.HZ).toBe(1000);
    expect(k.jiffies.tick_ns).toBe(NSEC_PER_MSEC);
  });

  it('rejects a tick rate that does not divide a second into whole ns', () => {
    expect(() => new Jiffies(0)).toThrow(RangeError);
    expect(() => new Jiffies(300)).toThrow(/HZ must be a positive divisor/);
    expect(() => new Kernel({ ...CONSTANT, HZ: 7 })).toThrow(RangeError);
  });

  it('msecs_to_jiffies rounds up to whole ticks', () => {
    const hz1000 = new Jiffies(1000);
    expect(hz1000.msecs_to_jiffies(0)).toBe(0);
    expect(hz1000.msecs_to_jiffies(1)).toBe(1);
    expect(hz1000.msecs_to_jiffies(10)).toBe(10);
    const hz250 = new Jiffies(250); // 4 ms tick
    expect(hz250.msecs_to_jiffies(1)).toBe(1);
    expect(hz250.msecs_to_jiffies(4)).toBe(1);
    expect(hz250.msecs_to_jiffies(5)).toBe(2);
    expect(hz250.msecs_to_jiffies(3)).toBe(1);
    const hz100 = new Jiffies(100);
    expect(hz100.msecs_to_jiffies(10)).toBe(1);
    expect(hz100.msecs_to_jiffies(11)).toBe(2);
    expect(hz100.usecs_to_jiffies(1)).toBe(1);
    expect(hz100.nsecs_to_jiffies(10 * NSEC_PER_MSEC + 1)).toBe(2);
  });

  it('a negative timeout means "forever", as in the kernel', () => {
    const j = new Jiffies(1000);
    expect(j.msecs_to_jiffies(-1)).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(j.usecs_to_jiffies(-1)).toBe(MAX_SCHEDULE_TIMEOUT);
  });

  it('converts jiffies back exactly', () => {
    const hz250 = new Jiffies(250);
    expect(hz250.jiffies_to_msecs(3)).toBe(12);
    expect(hz250.jiffies_to_usecs(1)).toBe(4000);
    expect(hz250.jiffies_to_nsecs(2)).toBe(8 * NSEC_PER_MSEC);
  });

  it('jiffies count whole ticks of virtual time', () => {
    const j = new Jiffies(250);
    expect(j.at(0)).toBe(0);
    expect(j.at(4 * NSEC_PER_MSEC - 1)).toBe(0);
    expect(j.at(4 * NSEC_PER_MSEC)).toBe(1);
  });

  it('timers expire on the tick boundary jiffies + delay, not at now + delay', () => {
    const j = new Jiffies(1000);
    // 1.5 ms + 1 tick fires at 2 ms (the next boundary), not at 2.5 ms.
    expect(j.expiry_ns(1_500_000, 1)).toBe(2 * NSEC_PER_MSEC);
    expect(j.expiry_ns(2 * NSEC_PER_MSEC, 1)).toBe(3 * NSEC_PER_MSEC);
    expect(j.expiry_ns(2_999_999, 0)).toBe(2 * NSEC_PER_MSEC);
    const hz100 = new Jiffies(100);
    expect(hz100.expiry_ns(15 * NSEC_PER_MSEC, 2)).toBe(30 * NSEC_PER_MSEC);
  });

  it('MAX_SCHEDULE_TIMEOUT never expires and stays exact', () => {
    const j = new Jiffies(1000);
    expect(j.expiry_ns(123_456, MAX_SCHEDULE_TIMEOUT)).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(Number.isSafeInteger(MAX_SCHEDULE_TIMEOUT)).toBe(true);
  });

  it('k.jiffies_now follows virtual time', () => {
    const k = new Kernel({ ...CONSTANT, HZ: 250 });
    k.run_for(9 * NSEC_PER_MSEC);
    expect(k.now()).toBe(9 * NSEC_PER_MSEC);
    expect(k.jiffies_now).toBe(2);
  });
});

describe('timers', () => {
  it('hrtimer callbacks run in hardirq context at the exact ns, and restart', () => {
    const k = new Kernel(CONSTANT);
    const fired: Array<[number, string]> = [];
    const t = hrtimer_setup(k, (timer) => {
      fired.push([k.now() - CONSTANT_COSTS.hardirq_entry_ns, k.current.kind]);
      if (fired.length === 3) return HRTIMER_NORESTART;
      hrtimer_forward_now(timer, 2_500);
      return HRTIMER_RESTART;
    }, 'test');
    hrtimer_start(t, 1_234, HRTIMER_MODE_REL);
    expect(hrtimer_active(t)).toBe(true);
    k.run_all();
    const entry = CONSTANT_COSTS.hardirq_entry_ns;
    expect(fired).toEqual([[1_234, 'hardirq'], [1_234 + entry + 2_500, 'hardirq'], [1_234 + 2 * (entry + 2_500), 'hardirq']]);
    expect(hrtimer_active(t)).toBe(false);
  });

  it('hrtimer_start re-arms (the earlier expiry is cancelled) and hrtimer_cancel stops it', () => {
    const k = new Kernel(CONSTANT);
    const fired: number[] = [];
    const t = hrtimer_setup(k, () => { fired.push(k.eq.time); return HRTIMER_NORESTART; }, 'test');
    hrtimer_start(t, 1_000, HRTIMER_MODE_ABS);
    hrtimer_start(t, 5_000, HRTIMER_MODE_ABS);
    k.run_all();
    expect(fired).toEqual([5_000]);
    hrtimer_start(t, 1_000, HRTIMER_MODE_REL);
    expect(hrtimer_cancel(t)).toBe(1);
    expect(hrtimer_cancel(t)).toBe(0);
    k.run_all();
    expect(fired).toEqual([5_000]);
  });

  it('timer_list callbacks run in softirq context on the tick the timer wheel runs them', () => {
    const k = new Kernel({ ...CONSTANT, HZ: 250 });
    const fired: Array<[number, string]> = [];
    const t = timer_setup(k, () => fired.push([k.eq.time, k.current.kind]), 'test');
    k.run_for(1_000_000);
    expect(mod_timer(t, k.jiffies_now + 2)).toBe(0);
    expect(timer_pending(t)).toBe(true);
    expect(mod_timer(t, k.jiffies_now + 3)).toBe(1); // pushes it out
    k.run_all();
    // expires = jiffy 3 at HZ=250 (4 ms ticks); level 0 runs it one tick later, at jiffy 4.
    expect(fired).toEqual([[16 * NSEC_PER_MSEC, 'softirq']]);
    expect(timer_pending(t)).toBe(false);
    mod_timer(t, k.jiffies_now + 1);
    expect(timer_delete(t)).toBe(1);
    k.run_all();
    expect(fired).toHaveLength(1);
  });
});
