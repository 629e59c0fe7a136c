/**
 * The variants a verdict's robustness is checked under: the cost profiles other than the
 * default (docs/cost-model.md) and every non-default value of every selectable modelling
 * assumption (docs/assumptions.md). A verdict the same under all of them "holds"; one that
 * changes "depends on" the variant that changes it.
 */
import { COST_PROFILE_NAMES, DEFAULT_COST_PROFILE, known_assumptions } from '@deplab/sim';
import { assumption_family, cost_profile_family, type VariantFamily } from '@deplab/report';

export function readiness_families(): VariantFamily[] {
  // The profiles other than the default: a fast idle server, a loaded desktop, and no jitter at all.
  const families: VariantFamily[] = [cost_profile_family(COST_PROFILE_NAMES.filter((n) => n !== DEFAULT_COST_PROFILE))];
  for (const a of known_assumptions()) families.push(assumption_family(a.id, true));
  return families;
}
