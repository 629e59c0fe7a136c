/**
 * The variants a verdict's robustness is checked under: plausible cost tables (wake-ups fast and
 * slow around the default) and every non-default value of every selectable modelling
 * assumption (docs/assumptions.md). A verdict the same under all of them "holds"; one that
 * changes "depends on" the variant that changes it.
 */
import { known_assumptions, type CostOverrides } from '@deplab/sim';
import type { VariantFamily } from '@deplab/report';

/** Wake-up latencies (kworker and process) of the fast and slow cost variants, ns. */
export const FAST_WAKEUP_NS = 2_000;
export const SLOW_WAKEUP_NS = 50_000;

export function readiness_families(): VariantFamily[] {
  const wake = (ns: number): CostOverrides => ({ kworker_wakeup_ns: ns, process_wakeup_ns: ns });
  const families: VariantFamily[] = [{
    name: 'cost table',
    variants: [
      { label: `fast wake-ups (${FAST_WAKEUP_NS / 1000} µs)`, costs: wake(FAST_WAKEUP_NS), assume: {} },
      { label: `slow wake-ups (${SLOW_WAKEUP_NS / 1000} µs)`, costs: wake(SLOW_WAKEUP_NS), assume: {} },
    ],
  }];
  for (const a of known_assumptions()) {
    const others = a.values.filter((v) => v !== a.default);
    families.push({ name: `assumption ${a.id}`, variants: others.map((v) => ({ label: v, costs: {}, assume: { [a.id]: v } })) });
  }
  return families;
}
