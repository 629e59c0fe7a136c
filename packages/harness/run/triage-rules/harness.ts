/** Triage rules for harness's violation groups (packages/harness/run/triage.ts; each names its mechanism and where it is written up). */
import type { TriageRule } from '../triage.ts';

export const HARNESS_RULES: readonly TriageRule[] = [];
