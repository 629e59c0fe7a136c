/**
 * When a timer_list runs: the timer wheel of kernel/time/timer.c (calc_index and
 * calc_wheel_index; their rounding last changed in a2026e44eff5 "timers: Simplify
 * calc_index()", 2022). A timer is queued on the level its distance from the base clock
 * selects (level n covers distances from LVL_START(n), granularity 8^n jiffies) and runs at
 * the bucket's expiry: its expiry rounded up to the level's granularity, strictly after it,
 * so a level-0 timer runs one jiffy after its expiry and a 5 s timeout at HZ=1000 (level 3,
 * 512 jiffies) up to 512 ms after. Timeouts beyond the wheel's capacity are cut to its
 * maximum.
 *
 * Deviations: base->clk is taken as jiffies at arming (forward_timer_base brings an idle base
 * there; right after the timer softirq ran it is jiffies + 1, which can move a timer near a
 * level boundary by one granule); jiffies start at 0, not INITIAL_JIFFIES, so bucket
 * boundaries are multiples of the granularity from time 0. The assumption `timer.wheel`
 * selects the earlier model instead (run on the expiry jiffy itself).
 */
import { define_assumption } from './assumptions.ts';
import type { Kernel, TimedChoice } from './kernel.ts';

export const TIMER_WHEEL = define_assumption({
  id: 'timer.wheel',
  values: ['wheel', 'exact-jiffy'] as const,
  default: 'wheel',
  summary: 'timer_list expiry: rounded up as the timer wheel does, or on the expiry jiffy itself',
  doc: 'docs/assumptions.md#timer-wheel',
});

const LVL_CLK_SHIFT = 3;
const LVL_BITS = 6;
const LVL_SIZE = 1 << LVL_BITS;

/** LVL_START(n): the smallest distance from the base clock queued on level n. */
function lvl_start(n: number): number {
  return (LVL_SIZE - 1) * 2 ** ((n - 1) * LVL_CLK_SHIFT);
}

/** calc_index's bucket expiry: `expires` rounded up, strictly, to level `lvl`'s granularity. */
function bucket_expiry(expires: number, lvl: number): number {
  const gran = 2 ** (lvl * LVL_CLK_SHIFT);
  return (Math.floor(expires / gran) + 1) * gran;
}

/**
 * The jiffy at which the timer wheel runs a timer_list armed with `expires` (absolute
 * jiffies) while the base clock is `clk`, at tick rate `HZ` (calc_wheel_index).
 */
export function timer_wheel_expiry(expires: number, clk: number, HZ: number): number {
  const depth = HZ > 100 ? 9 : 8;
  const delta = expires - clk;
  if (delta < 0) return clk;
  for (let lvl = 0; lvl < depth - 1; lvl++) {
    if (delta < lvl_start(lvl + 1)) return bucket_expiry(expires, lvl);
  }
  const cutoff = lvl_start(depth);
  const timeout_max = cutoff - 2 ** ((depth - 1) * LVL_CLK_SHIFT);
  return bucket_expiry(delta >= cutoff ? clk + timeout_max : expires, depth - 1);
}

/**
 * Granularity in jiffies of the level a timer `delta_jiffies` ahead of the base clock is
 * queued on: how much later than its expiry the wheel may run it (at least one jiffy).
 */
export function timer_wheel_granularity(delta_jiffies: number, HZ: number): number {
  const depth = HZ > 100 ? 9 : 8;
  let lvl = 0;
  while (lvl < depth - 1 && delta_jiffies >= lvl_start(lvl + 1)) lvl++;
  return 2 ** (lvl * LVL_CLK_SHIFT);
}

/**
 * Virtual time (ns) at which a timer_list armed now with `expires` (absolute jiffies) runs;
 * `exact_expires` is its expiry under exact-jiffy where that differs (msleep's extra jiffy).
 * Where the two values of timer.wheel give different times the run has not read the
 * assumption yet: the timer's `choice` is opened at the earlier time, and the run reads it
 * only if the timer is still pending then (Kernel.open_choice).
 */
export function timer_list_fire_ns(k: Kernel, expires: number, choice: TimedChoice, exact_expires = expires): number {
  const now = k.now(), tick_ns = k.jiffies.tick_ns;
  const wheel = Math.max(timer_wheel_expiry(expires, k.jiffies_now, k.HZ) * tick_ns, now);
  const exact = Math.max(exact_expires * tick_ns, now);
  if (wheel === exact) return wheel;
  k.open_choice(choice, TIMER_WHEEL.id, Math.min(wheel, exact));
  return k.assumption_value(TIMER_WHEEL) === 'wheel' ? wheel : exact;
}

/**
 * Kernel options for timings computed by hand: the `constant` cost profile and timer_list
 * expiry on the exact jiffy, i.e. the model before cost distributions and the timer wheel.
 * Model tests whose expected times predate them spread this into their KernelOptions.
 */
export const EXACT_TIMING = Object.freeze({
  costs: Object.freeze({ profile: 'constant' as const }),
  assume: Object.freeze({ [TIMER_WHEEL.id]: 'exact-jiffy' }),
});
