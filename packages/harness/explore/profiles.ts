/**
 * What exploration may vary per driver: its driver variants (device options selecting a driver
 * shape, e.g. the mock without cancel_job), its TDR option, whether it takes drm_dep flags, and
 * facts the invariants need that the trace does not carry (the credits of a job). A driver not
 * listed is explored with its defaults and no variant.
 */
import type { Backend } from '@deplab/driver-api';
import { JOB_TIMEOUT_MS as PANFROST_JOB_TIMEOUT_MS } from '@deplab/driver-panfrost';
import { XE_JOB_TIMEOUT_DEFAULT_MS } from '@deplab/driver-xe';
import type { FaultKind, OptionValue } from './types.ts';

export interface DriverVariant {
  readonly label: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  /** Relative weight in the draw; the plain driver usually dominates. */
  readonly weight: number;
}

export interface Dimension {
  readonly name: string;
  readonly values: readonly (OptionValue | null)[];
  readonly fault?: FaultKind;
  /** A driver shape rather than a setting: named in the variant label, so reports split by it. */
  readonly label?: boolean;
}

export interface ExploreProfile {
  /** Device option holding the TDR period in ms, or null if the driver has none to set. */
  readonly timeout_option: string | null;
  /**
   * The TDR period (ms) when the case sets none: the one a driver fixes, or its default when the
   * timeout option is not drawn. Runs last long enough for it to fire.
   */
  readonly fixed_timeout_ms: number | null;
  /** Credits every job takes when the driver fixes them (the credit check needs it), else null. */
  readonly credits_per_job: number | null;
  /** The driver takes `dep_flags` (DRM_DEP_QUEUE_FLAGS_*): campaigns cover every combination. */
  readonly dep_flags: boolean;
  /**
   * The driver kills a queue inside its destroy ioctl and its file's close, on both schedulers
   * (MonitorOptions.destroy_kills); elsewhere only the schedulers' kills are kills.
   */
  readonly destroy_kills?: boolean;
  /**
   * Further device options drawn per seed, each from its values (null: left unset); `fault`
   * ties one to a fault kind (e.g. how a file is closed matters only with Ctrl-C).
   */
  readonly dimensions: readonly Dimension[];
  /** Per backend; a backend not listed runs its plain device only. */
  readonly variants: Readonly<Partial<Record<Backend, readonly DriverVariant[]>>>;
}

/** DRM_DEP_QUEUE_FLAGS_ALL = JOB_PUT_IRQ_SAFE | SUBMIT_BYPASS: flag combinations 0..3. */
export const DEP_FLAG_COMBINATIONS = 4;

const PLAIN: DriverVariant = { label: 'plain', options: {}, weight: 1 };

const PROFILES: Readonly<Record<string, ExploreProfile>> = {
  mock: {
    timeout_option: 'timeout_ms',
    fixed_timeout_ms: null,
    credits_per_job: 1,
    dep_flags: true,
    dimensions: [
      // A small credit limit keeps jobs queued behind a long or hung one (what kill finds).
      { name: 'credit_limit', values: [null, null, 1, 2, 4] },
      { name: 'close_as', values: ['close', 'exit', 'sigkill', 'exit_sigkill'], fault: 'ctrl-c' },
    ],
    variants: {
      // drivers/mock/device.ts documents each; docs/legacy-hazards.md says why they matter.
      sched: [
        { label: 'plain', options: {}, weight: 4 },
        { label: 'no_cancel_job', options: { no_cancel_job: true }, weight: 1 },
        { label: 'tdr=reset_leaves_job', options: { tdr: 'reset_leaves_job' }, weight: 1 },
        { label: 'tdr=stop_no_hang', options: { tdr: 'stop_no_hang' }, weight: 1 },
        { label: 'unplug_keeps_queues', options: { unplug_keeps_queues: true }, weight: 1 },
      ],
      dep: [PLAIN, { label: 'unplug_keeps_queues', options: { unplug_keeps_queues: true }, weight: 1 }],
    },
  },
  // drivers/panthor/csf.ts: JOB_TIMEOUT_MS 5 s, the per-queue timeout (counts only slot time, so no tdr_late check).
  panthor: { timeout_option: null, fixed_timeout_ms: 5_000, credits_per_job: null, dep_flags: true, dimensions: [], variants: { sched: [PLAIN], dep: [PLAIN] } },
  // drivers/amdxdna/amdxdna_ctx.ts: HWCTX_MAX_TIMEOUT_MS 60 s; upstream_gfp selects the allocation flags of its run_job path.
  amdxdna: {
    timeout_option: null, fixed_timeout_ms: 60_000, credits_per_job: null, dep_flags: true,
    dimensions: [{ name: 'close_is_exit', values: [true, false], fault: 'ctrl-c' }, { name: 'upstream_gfp', values: [true, false], label: true }],
    variants: { sched: [PLAIN], dep: [PLAIN] },
  },
  // drivers/panfrost/jm.ts: JOB_TIMEOUT_MS 500 ms, then a GPU reset that may wait for a soft-stop.
  panfrost: { timeout_option: null, fixed_timeout_ms: PANFROST_JOB_TIMEOUT_MS, credits_per_job: null, dep_flags: false, dimensions: [], variants: {} },
  // drivers/xe/README.md: job_timeout_ms (1..10000) sets every queue's TDR (5 s when a seed draws none); dep_flags overrides dep_irq_put / dep_submit_bypass.
  // xe_exec_queue_kill in the destroy ioctl and at close (xe_guc_submit.ts): run_job of a killed queue emits nothing.
  xe: { timeout_option: 'job_timeout_ms', fixed_timeout_ms: XE_JOB_TIMEOUT_DEFAULT_MS, credits_per_job: null, dep_flags: true, destroy_kills: true, dimensions: [], variants: { sched: [PLAIN], dep: [PLAIN] } },
};

const DEFAULT_PROFILE: ExploreProfile = {
  timeout_option: null, fixed_timeout_ms: null, credits_per_job: null, dep_flags: false, dimensions: [], variants: { sched: [PLAIN], dep: [PLAIN] },
};

export function explore_profile(driver: string): ExploreProfile {
  return PROFILES[driver] ?? DEFAULT_PROFILE;
}

/**
 * What the run monitor's checks need to know of a driver that the trace does not say: the TDR
 * period the device runs with (when a device option sets it), the credits of every job (when
 * the driver fixes them) and whether its destroy ioctl and close kill the queue. Exploration
 * and comparison use the same facts.
 */
export function monitor_facts(driver: string, device: Readonly<Record<string, OptionValue>>): { timeout_ms: number | null; credits_per_job: number | null; destroy_kills: boolean } {
  const p = explore_profile(driver);
  const v = p.timeout_option === null ? undefined : device[p.timeout_option];
  return { timeout_ms: typeof v === 'number' ? v : null, credits_per_job: p.credits_per_job, destroy_kills: p.destroy_kills === true };
}

/** The variant whose options a case's device options contain ('plain' if none). */
export function variant_label(driver: string, backend: Backend, device: Readonly<Record<string, OptionValue>>): string {
  const profile = explore_profile(driver);
  let label = 'plain';
  for (const v of profile.variants[backend] ?? []) {
    const keys = Object.keys(v.options);
    if (keys.length > 0 && keys.every((k) => device[k] === v.options[k])) label = v.label;
  }
  for (const d of profile.dimensions) if (d.label === true && device[d.name] !== undefined) label += ` ${d.name}=${String(device[d.name])}`;
  if (profile.dep_flags && backend === 'dep') label += ` flags=${Number(device.dep_flags ?? 0)}`;
  return label;
}
