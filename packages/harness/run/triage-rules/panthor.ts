/** Triage rules for panthor's violation groups (packages/harness/run/triage.ts; each names its mechanism and where it is written up). */
import type { TriageRule } from '../triage.ts';

export const PANTHOR_RULES: readonly TriageRule[] = [];
