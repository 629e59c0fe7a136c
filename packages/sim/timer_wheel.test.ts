/**
 * timer_list expiry on the timer wheel (kernel/time/timer.c calc_index / calc_wheel_index):
 * every expected value below is worked out by hand from the wheel's rules.
 *   LVL_CLK_SHIFT 3, LVL_BITS 6: level n has granularity 8^n jiffies and takes timers whose
 *   distance from the base clock is >= LVL_START(n) = 63 * 8^(n-1) (63, 504, 4032, 32256, ...);
 *   a timer runs at its expiry rounded up to its level's granularity, strictly after it:
 *   (floor(expires / 8^n) + 1) * 8^n. LVL_DEPTH 9 above HZ 100, else 8.
 */
import { describe, expect, it } from 'vitest';
import {
  CONSTANT_COSTS, EXACT_TIMING, HRTIMER_MODE_REL, HRTIMER_NORESTART, INIT_DELAYED_WORK, Kernel, NSEC_PER_MSEC,
  alloc_workqueue, cancel_delayed_work, hrtimer_setup, hrtimer_start, mod_delayed_work, mod_timer, msleep, queue_delayed_work, timer_delete,
  timer_setup, timer_wheel_expiry, timer_wheel_granularity, type KernelOptions,
} from './index.ts';

const MS = NSEC_PER_MSEC;
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

describe('calc_wheel_index', () => {
  it('picks the level from the distance and rounds up to its granularity, at HZ=1000', () => {
    const clk = 1_000;
    const cases: [number, number][] = [
      [0, 1_001], // level 0 (distance 0 < 63): one jiffy after
      [62, 1_063],
      [63, 1_064], // level 1, 8 jiffies: floor(1063 / 8) = 132 -> 133 * 8
      [503, 1_504], // floor(1503 / 8) = 187 -> 188 * 8
      [504, 1_536], // level 2, 64 jiffies: floor(1504 / 64) = 23 -> 24 * 64
      [4_031, 5_056], // floor(5031 / 64) = 78 -> 79 * 64
      [4_032, 5_120], // level 3, 512 jiffies: floor(5032 / 512) = 9 -> 10 * 512
      [32_256, 36_864], // level 4, 4096 jiffies: floor(33256 / 4096) = 8 -> 9 * 4096
    ];
    for (const [delta, at] of cases) expect(timer_wheel_expiry(clk + delta, clk, 1000), `delta ${delta}`).toBe(at);
    expect(timer_wheel_expiry(clk - 5, clk, 1000)).toBe(clk); // already expired: the current bucket
  });

  it('cuts timeouts beyond the capacity of the wheel to its maximum', () => {
    // HZ 1000, 9 levels: cutoff LVL_START(9) = 63 * 8^8 = 1 056 964 608; WHEEL_TIMEOUT_MAX =
    // cutoff - 8^8 = 1 040 187 392; clk + that = 1 040 188 392 lies in level 8 (granularity
    // 8^8 = 16 777 216): floor(. / 8^8) = 62 -> 63 * 8^8 = 1 056 964 608.
    expect(timer_wheel_expiry(1_000 + 2_000_000_000, 1_000, 1000)).toBe(1_056_964_608);
    // HZ 100, 8 levels: cutoff 63 * 8^7 = 132 120 576; max = cutoff - 8^7 = 130 023 424; level 7
    // (granularity 2 097 152): floor(130 023 424 / 2 097 152) = 62 -> 63 * 2 097 152 = 132 120 576.
    expect(timer_wheel_expiry(500_000_000, 0, 100)).toBe(132_120_576);
  });

  it('granularity by distance: how late the wheel may run a timer', () => {
    expect([0, 62, 63, 503, 504, 4_031, 4_032, 5_000].map((d) => timer_wheel_granularity(d, 1000))).toEqual([1, 1, 8, 8, 64, 64, 512, 512]);
  });
});

describe('timer_list users run when the wheel runs them', () => {
  it('a 5 s delayed work (a TDR at HZ=1000) fires 422 ms after its expiry', () => {
    const start_of = (options: KernelOptions) => {
      const k = new Kernel(options);
      const wq = alloc_workqueue(k, 'tdr', 0, 0);
      let started = -1;
      const dwork = INIT_DELAYED_WORK(k, () => { started = k.now(); }, 'tdr');
      k.run_until(() => false, 1_234.5 * MS);
      queue_delayed_work(wq, dwork, k.jiffies.msecs_to_jiffies(5_000));
      k.run_all();
      return started;
    };
    // Armed at jiffy 1234 for 5000 jiffies: expires 6234, distance 5000 -> level 3 (4032 <=
    // 5000 < 32256), granularity 512: floor(6234 / 512) = 12 -> 13 * 512 = 6656 ms.
    const after_timer = CONSTANT_COSTS.softirq_entry_ns + CONSTANT_COSTS.kworker_wakeup_ns + CONSTANT_COSTS.work_dispatch_ns;
    expect(start_of(CONSTANT)).toBe(6_656 * MS + after_timer);
    // The model before the wheel: on the expiry jiffy itself.
    expect(start_of(EXACT_TIMING)).toBe(6_234 * MS + after_timer);
  });

  it('mod_timer and msleep are rounded the same way; msleep adds no extra jiffy (4381b895f544)', () => {
    const k = new Kernel(CONSTANT);
    const fired: number[] = [];
    const t = timer_setup(k, () => fired.push(k.now()), 't');
    k.run_until(() => false, 10.5 * MS);
    mod_timer(t, k.jiffies_now + 100); // expires 110, distance 100 -> level 1: 14 * 8 = 112
    k.run_all();
    expect(fired).toEqual([112 * MS + CONSTANT_COSTS.softirq_entry_ns]);
    let woke = -1;
    k.spawn('sleeper', (function* () { yield* msleep(k, 100); woke = k.now(); })()); // from jiffy 112: 212 -> 27 * 8 = 216
    k.run_all();
    expect(woke).toBe(216 * MS + CONSTANT_COSTS.process_wakeup_ns);
  });

  it('hrtimers are not rounded: a 5 s hrtimer runs at the exact ns', () => {
    const k = new Kernel(CONSTANT);
    let at = -1;
    const t = hrtimer_setup(k, () => { at = k.now(); return HRTIMER_NORESTART; }, 'h');
    k.run_until(() => false, 1_234_567);
    hrtimer_start(t, 5_000 * MS, HRTIMER_MODE_REL);
    k.run_all();
    expect(at).toBe(1_234_567 + 5_000 * MS + CONSTANT_COSTS.hardirq_entry_ns);
  });
});

describe('timer.wheel is read only where a timer is still pending at the earlier of its two fire times', () => {
  // Armed at jiffy 10 for 100 jiffies: expires 110, level 1: the wheel runs it at 112, the
  // exact-jiffy model at 110.
  const arm = (assume: Record<string, string> = {}) => {
    const k = new Kernel({ ...CONSTANT, assume });
    const t = timer_setup(k, () => {}, 't');
    k.run_until(() => false, 10.5 * MS);
    mod_timer(t, k.jiffies_now + 100);
    return { k, t };
  };

  it('a timer deleted before either fire time leaves it unread; deleted between them, or run, it is read', () => {
    for (const [assume, stop_ms, read] of [
      [{}, 109.9, false], [{}, 110, true], [{}, 111, true], [{ 'timer.wheel': 'exact-jiffy' }, 109.9, false],
    ] as const) {
      const { k, t } = arm(assume);
      k.run_until(() => false, stop_ms * MS);
      timer_delete(t);
      k.settle_choices();
      expect(k.assumptions_read.has('timer.wheel'), `${JSON.stringify(assume)} deleted at ${stop_ms} ms`).toBe(read);
    }
    for (const assume of [{}, { 'timer.wheel': 'exact-jiffy' }] as Record<string, string>[]) {
      const { k } = arm(assume);
      k.run_all();
      expect(k.assumptions_read.has('timer.wheel'), `${JSON.stringify(assume)} run`).toBe(true);
    }
  });

  it('a run that ends with the timer pending past the earlier fire time has read it', () => {
    for (const [end_ms, read] of [[109, false], [111, true]] as const) {
      const { k } = arm();
      k.run_until(() => false, end_ms * MS);
      expect(k.assumptions_read.has('timer.wheel')).toBe(false);
      k.settle_choices();
      expect(k.assumptions_read.has('timer.wheel'), `run ended at ${end_ms} ms`).toBe(read);
    }
  });

  it('a re-armed delayed work reads it only if its timer was pending at the earlier time; a short msleep, the same under both, never', () => {
    const k = new Kernel(CONSTANT);
    const wq = alloc_workqueue(k, 'tdr', 0, 0);
    const dwork = INIT_DELAYED_WORK(k, () => {}, 'tdr');
    for (let i = 0; i < 5; i++) {
      mod_delayed_work(wq, dwork, 100); // re-armed every 50 ms: never due under either value
      k.run_until(() => false, k.now() + 50 * MS);
    }
    cancel_delayed_work(dwork);
    // msleep(20) from a jiffy boundary: the wheel runs it one jiffy after expiry, the older
    // msleep adds that jiffy itself: the same instant.
    k.spawn('sleeper', (function* () { yield* msleep(k, 20); })());
    k.run_all();
    k.settle_choices();
    expect(k.assumptions_read.has('timer.wheel')).toBe(false);
    queue_delayed_work(wq, dwork, 100);
    k.run_all();
    expect(k.assumptions_read.has('timer.wheel')).toBe(true);
  });
});
