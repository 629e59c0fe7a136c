/** How reports name the backends. */
import type { Backend } from '@deplab/driver-api';

const LABELS: Readonly<Record<string, string>> = { sched: 'drm_sched', dep: 'drm_dep', 'dep-hw': 'drm_dep+hw' };

export function backend_label(b: Backend | string): string {
  return LABELS[b] ?? b;
}
