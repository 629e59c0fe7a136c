/**
 * Time units and jiffies (include/linux/jiffies.h, include/linux/sched.h).
 * Virtual time is an integer number of nanoseconds held in a JS number (exact to 2^53 ns,
 * about 104 days of simulated time).
 */
export const NSEC_PER_USEC = 1_000;
export const NSEC_PER_MSEC = 1_000_000;
export const NSEC_PER_SEC = 1_000_000_000;
export const USEC_PER_SEC = 1_000_000;
export const MSEC_PER_SEC = 1_000;

/** Default tick rate; a Kernel may be created with another HZ. */
export const HZ_DEFAULT = 1000;

/**
 * LONG_MAX in the kernel. Here the largest safe integer: any wait or timeout with this value
 * never expires, and arithmetic on it stays exact.
 */
export const MAX_SCHEDULE_TIMEOUT = Number.MAX_SAFE_INTEGER;

/** Jiffies conversions for one tick rate. Kernel rounding: to-jiffies rounds up. */
export class Jiffies {
  readonly HZ: number;
  readonly tick_ns: number;

  constructor(hz: number) {
    if (!Number.isInteger(hz) || hz <= 0 || NSEC_PER_SEC % hz !== 0) {
      throw new RangeError(`HZ must be a positive divisor of 10^9, got ${hz}`);
    }
    this.HZ = hz;
    this.tick_ns = NSEC_PER_SEC / hz;
  }

  /** jiffies at virtual time `now_ns`. */
  at(now_ns: number): number {
    return Math.floor(now_ns / this.tick_ns);
  }

  msecs_to_jiffies(ms: number): number {
    if (ms < 0) return MAX_SCHEDULE_TIMEOUT;
    return Math.ceil((ms * this.HZ) / MSEC_PER_SEC);
  }

  usecs_to_jiffies(us: number): number {
    if (us < 0) return MAX_SCHEDULE_TIMEOUT;
    return Math.ceil((us * this.HZ) / USEC_PER_SEC);
  }

  nsecs_to_jiffies(ns: number): number {
    return Math.ceil(ns / this.tick_ns);
  }

  jiffies_to_msecs(j: number): number {
    return (j * MSEC_PER_SEC) / this.HZ;
  }

  jiffies_to_usecs(j: number): number {
    return (j * USEC_PER_SEC) / this.HZ;
  }

  jiffies_to_nsecs(j: number): number {
    return j * this.tick_ns;
  }

  /**
   * Virtual time at which a timer armed at `now_ns` for `delay_jiffies` fires: the kernel
   * timer wheel expires at the tick `jiffies + delay`, so the timer fires on a tick boundary.
   */
  expiry_ns(now_ns: number, delay_jiffies: number): number {
    if (delay_jiffies >= MAX_SCHEDULE_TIMEOUT) return MAX_SCHEDULE_TIMEOUT;
    return (this.at(now_ns) + delay_jiffies) * this.tick_ns;
  }
}
