/**
 * Layer 1 benchmarks: the simulated kernel's event queue.
 *
 * Hold model (Jones, "An empirical comparison of priority-queue and event-set
 * implementations", CACM 1986): a fixed population of pending events; each event's handler
 * schedules one new event at now + a random delay. The population stays constant, so this
 * measures the steady-state cost of one pop + one schedule through Kernel.run_until, which is
 * how models and the harness drive the simulation.
 */
import { Kernel, PHASE_KWORKER } from '../packages/sim/index.ts';
import type { Benchmark, Suite } from './registry.ts';

/** Events processed per timed call: large enough that timer resolution does not matter. */
const EVENTS_PER_CALL = 20_000;
/** Delays are uniform in [1, DELAY_NS_MAX] ns, drawn from a seeded stream. */
const DELAY_NS_MAX = 1_000;

function hold_model(pending: number): Benchmark {
  return {
    name: `sim/event-queue hold model, ${pending} pending`,
    unit: 'events',
    units_per_call: EVENTS_PER_CALL,
    setup() {
      const k = new Kernel({ seed: 1 });
      const delays = k.random.stream('bench/hold/delay');
      let handled = 0;
      const kind = k.register_event_kind('hold', (target) => {
        handled++;
        k.schedule_at(k.now() + 1 + delays.below(DELAY_NS_MAX), PHASE_KWORKER, kind, target, 0);
      });
      for (let i = 0; i < pending; i++) k.schedule_at(1 + delays.below(DELAY_NS_MAX), PHASE_KWORKER, kind, null, 0);
      return () => {
        const target = handled + EVENTS_PER_CALL;
        k.run_until(() => handled >= target);
        // The hold model keeps its population: anything else means the benchmark is broken.
        if (handled !== target || k.eq.pending !== pending) {
          throw new Error(`hold model broke: handled ${handled}/${target}, pending ${k.eq.pending}/${pending}`);
        }
      };
    },
  };
}

export const sim_suite: Suite = {
  area: 'sim',
  benchmarks: [hold_model(100), hold_model(10_000)],
};
