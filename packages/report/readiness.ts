/**
 * drm_sched deprecation readiness (reports/readiness.md): per driver, the scheduler API its
 * bindings use, the legacy-to-drm_dep mapping (documented, and as the pair of bindings shows
 * it), internal accesses, the conversion size beside the RFC's own, behaviour parity over the
 * built-in workloads, conformance, violations, the legacy hazards drm_dep removes, and a
 * verdict. The evidence is gathered by the caller (the command runs the comparisons); this
 * file only judges and writes, so it is deterministic for the same evidence.
 */
import { markdownTable } from 'markdown-table';
import type { ApiScan, BindingScan, InternalAccess } from './api-usage.ts';
import { line_diff, rfc_driver_stat, type LineDiff } from './conversion.ts';

/** A legacy symbol and its drm_dep counterpart; `dep` empty means the driver must write code. */
export interface ApiMapping {
  readonly legacy: string;
  readonly dep: readonly string[];
  /** For `dep` empty: what the driver-side code is. Otherwise how the semantics differ, if they do. */
  readonly note: string;
}

const DRIVER_SIDE = 'none: needs driver-side code';

/**
 * The documented mapping (spec/drm_dep.md §5 and the model's public APIs). The readiness
 * report checks it against what each pair of bindings actually does.
 */
export const API_MAPPING: readonly ApiMapping[] = [
  { legacy: 'drm_gpu_scheduler', dep: ['drm_dep_queue'], note: 'scheduler and entity merge into one refcounted queue per context' },
  { legacy: 'drm_sched_entity', dep: ['drm_dep_queue'], note: 'scheduler and entity merge into one refcounted queue per context' },
  { legacy: 'drm_sched_job', dep: ['drm_dep_job'], note: 'refcounted; the queue holds a reference from dispatch to put' },
  { legacy: 'drm_sched_backend_ops', dep: ['drm_dep_queue_ops'], note: 'run_job, timedout_job, release_job; no free_job or cancel_job' },
  { legacy: 'drm_sched_init_args', dep: ['drm_dep_queue_init_args'], note: '' },
  { legacy: 'drm_gpu_sched_stat', dep: ['drm_dep_timedout_stat'], note: '' },
  { legacy: 'drm_sched_init', dep: ['drm_dep_queue_init'], note: 'one call per queue instead of scheduler + entity' },
  { legacy: 'drm_sched_entity_init', dep: ['drm_dep_queue_init'], note: '' },
  { legacy: 'drm_sched_fini', dep: ['drm_dep_queue_kill', 'drm_dep_queue_put', 'drm_dep_device_wait_idle'], note: 'asynchronous: returns at once; the device barrier waits for the release at unload' },
  { legacy: 'drm_sched_entity_destroy', dep: ['drm_dep_queue_kill', 'drm_dep_queue_put'], note: 'returns at once; unstarted jobs complete with -ECANCELED instead of draining' },
  { legacy: 'drm_sched_entity_fini', dep: ['drm_dep_queue_kill', 'drm_dep_queue_put'], note: 'as entity_destroy' },
  { legacy: 'drm_sched_entity_flush', dep: [], note: `${DRIVER_SIDE}: wait on the last job's finished fence before the put if the driver must drain` },
  { legacy: 'drm_sched_entity_kill', dep: ['drm_dep_queue_kill'], note: 'killed jobs complete with -ECANCELED, not -ESRCH' },
  { legacy: 'drm_sched_entity_push_job', dep: ['drm_dep_job_push'], note: 'may run the job at once (SUBMIT_BYPASS)' },
  { legacy: 'drm_sched_entity_set_priority', dep: [], note: `${DRIVER_SIDE}: priority is the firmware's (a queue property the driver passes to its firmware)` },
  { legacy: 'drm_sched_entity_modify_sched', dep: [], note: `${DRIVER_SIDE}: a queue is not moved; the driver creates a queue for the new engine or lets the firmware balance` },
  { legacy: 'drm_sched_entity_error', dep: [], note: `${DRIVER_SIDE}: the driver keeps the context error it reports (drm_dep_queue_is_killed tells a killed queue)` },
  { legacy: 'drm_sched_job_init', dep: ['drm_dep_job_init'], note: '' },
  { legacy: 'drm_sched_job_arm', dep: ['drm_dep_job_arm'], note: 'arm to push is a signalling section: no allocation, no failure' },
  { legacy: 'drm_sched_job_add_dependency', dep: ['drm_dep_job_add_dependency'], note: 'deduplicated per context; own-queue fences dropped' },
  { legacy: 'drm_sched_job_add_syncobj_dependency', dep: ['drm_dep_job_add_syncobj_dependency'], note: '' },
  { legacy: 'drm_sched_job_add_resv_dependencies', dep: ['drm_dep_job_add_resv_dependencies'], note: '' },
  { legacy: 'drm_sched_job_add_implicit_dependencies', dep: ['drm_dep_job_add_implicit_dependencies'], note: '' },
  { legacy: 'drm_sched_job_cleanup', dep: ['drm_dep_job_put'], note: 'the last put releases the job through ops.release_job' },
  { legacy: 'drm_sched_job_has_dependency', dep: [], note: `${DRIVER_SIDE}: the driver tracks its own dependencies if it needs to know` },
  { legacy: 'drm_sched_job_is_signaled', dep: ['drm_dep_job_is_signaled'], note: '' },
  { legacy: 'drm_sched_for_each_pending_job', dep: ['drm_dep_queue_for_each_pending_job'], note: 'WARNs unless the queue is stopped, like the legacy helper' },
  { legacy: 'drm_sched_stop', dep: ['drm_dep_queue_stop'], note: 'per queue; no bad-job reinsertion' },
  { legacy: 'drm_sched_start', dep: ['drm_dep_queue_start'], note: '' },
  { legacy: 'drm_sched_wqueue_stop', dep: ['drm_dep_queue_stop'], note: '' },
  { legacy: 'drm_sched_wqueue_start', dep: ['drm_dep_queue_start'], note: '' },
  { legacy: 'drm_sched_wqueue_ready', dep: ['drm_dep_queue_is_stopped'], note: 'negated' },
  { legacy: 'drm_sched_is_stopped', dep: ['drm_dep_queue_is_stopped'], note: '' },
  { legacy: 'drm_sched_fault', dep: ['drm_dep_queue_trigger_timeout'], note: '' },
  { legacy: 'drm_sched_tdr_queue_imm', dep: ['drm_dep_queue_trigger_timeout'], note: 'without the permanent timeout = 0 of the legacy helper' },
  { legacy: 'drm_sched_suspend_timeout', dep: [], note: `${DRIVER_SIDE}: the timeout is per queue and fixed; a driver that must pause it answers NO_HANG from timedout_job` },
  { legacy: 'drm_sched_resume_timeout', dep: [], note: `${DRIVER_SIDE}: see drm_sched_suspend_timeout` },
  { legacy: 'drm_sched_resubmit_jobs', dep: [], note: `${DRIVER_SIDE}: deprecated upstream; the driver replays its own ring or firmware queue after a reset` },
  { legacy: 'drm_sched_increase_karma', dep: [], note: `${DRIVER_SIDE}: deprecated; the driver decides guilt in timedout_job` },
  { legacy: 'drm_sched_pick_best', dep: [], note: `${DRIVER_SIDE}: no load balancing across schedulers; the firmware schedules` },
  { legacy: 'DRM_GPU_SCHED_STAT_RESET', dep: ['DRM_DEP_TIMEDOUT_RESET'], note: 'drm_dep keeps and frees the job itself' },
  { legacy: 'DRM_GPU_SCHED_STAT_NO_HANG', dep: ['DRM_DEP_TIMEDOUT_NO_HANG'], note: '' },
  { legacy: 'DRM_GPU_SCHED_STAT_ENODEV', dep: ['DRM_DEP_TIMEDOUT_ENODEV'], note: '' },
  { legacy: 'DRM_GPU_SCHED_STAT_NONE', dep: [], note: `${DRIVER_SIDE}: return one of the three statuses` },
  { legacy: 'DRM_SCHED_PRIORITY_*', dep: [], note: `${DRIVER_SIDE}: firmware priority, set when the driver creates its firmware queue` },
  { legacy: 'DRM_SCHED_POLICY_*', dep: [], note: `${DRIVER_SIDE}: no run queues; the firmware's policy` },
  { legacy: 'drm_sched_fence', dep: ['drm_dep_job_finished_fence'], note: 'the fence is private; only the finished fence is reachable, and there is no scheduled fence' },
  { legacy: 'to_drm_sched_fence', dep: [], note: `${DRIVER_SIDE}: the fence is private; a driver that needs a submitted fence signals its own` },
  { legacy: 'spsc_queue_count', dep: [], note: `${DRIVER_SIDE}: count the driver's own submitted jobs` },
  { legacy: 'MAX_WAIT_SCHED_ENTITY_Q_EMPTY', dep: [], note: `${DRIVER_SIDE}: no entity flush timeout` },
  { legacy: 'atomic_t, atomic_read, atomic_set, atomic_inc, atomic_dec', dep: [], note: 'not scheduler API (the model exports atomic_t beside drm_sched); a driver uses its own atomics' },
];

export function mapping_for(symbol: string): ApiMapping | undefined {
  return API_MAPPING.find((m) => m.legacy === symbol || (m.legacy.endsWith('*') && symbol.startsWith(m.legacy.slice(0, -1)))
    || m.legacy.split(', ').includes(symbol));
}

/** Public alternatives named in the report for the internal accesses the scan finds. */
export const INTERNAL_ALTERNATIVE: Readonly<Record<string, string>> = {
  'drm_gpu_scheduler.pending_list': 'drm_sched_for_each_pending_job with the scheduler stopped; on drm_dep, drm_dep_queue_for_each_pending_job',
  'drm_gpu_scheduler.submit_wq': 'pass the driver\'s own workqueue in drm_sched_init_args.submit_wq and keep a pointer to it',
  'drm_gpu_scheduler.work_tdr': 'drm_sched_fault / drm_sched_suspend_timeout / drm_sched_resume_timeout',
  'drm_gpu_scheduler.ops': 'keep a pointer to the driver\'s own ops table',
  'drm_gpu_scheduler.credit_count': 'the driver\'s own count of jobs in flight',
  'drm_sched_job.dependencies': 'drm_sched_job_has_dependency, or the driver\'s own list',
  'drm_sched_entity.job_queue': 'the driver\'s own count of pushed jobs (spsc_queue_count on the entity is KUnit instrumentation upstream)',
};

export interface Hazard {
  readonly id: number;
  readonly title: string;
  readonly removed: 'yes' | 'partly' | 'no' | 'not applicable';
  readonly how: string;
  /** Tests that show it: file and the exact test title. */
  readonly tests: readonly { readonly file: string; readonly title: string }[];
}

const DEP_TEST = 'packages/drm-dep/drm_dep_queue.test.ts';
const CLAIMS_TEST = 'packages/drm-dep/drm_dep_claims.test.ts';
const MOCK_DEP_TEST = 'drivers/mock/on-dep.test.ts';

/** docs/legacy-hazards.md, item by item, and what drm_dep does about each. */
export const HAZARDS: readonly Hazard[] = [
  { id: 1, title: 'teardown leaks pending jobs without cancel_job', removed: 'yes',
    how: 'refcounted jobs and queue: kill cancels unstarted jobs, in-flight jobs finish on the hardware, the queue is released after the last one',
    tests: [
      { file: DEP_TEST, title: 'cancels unstarted jobs with -ECANCELED after the started ones, leaves started jobs to the hardware, returns at once' },
      { file: CLAIMS_TEST, title: 'queue destroy (kill + put) returns at once while in-flight jobs finish later; the queue is freed after them' },
    ] },
  { id: 2, title: 'entities must be torn down before their scheduler', removed: 'yes',
    how: 'no scheduler/entity split: one queue, and a device barrier that waits until every queue is released',
    tests: [{ file: DEP_TEST, title: 'drm_dep_device_wait_idle returns once every queue of the device is freed' }] },
  { id: 3, title: 'false timeouts leak jobs unless the driver returns NO_HANG', removed: 'yes',
    how: 'the timed-out job stays on the queue and is completed and freed by drm_dep when its hardware fence signals',
    tests: [
      { file: MOCK_DEP_TEST, title: '#timeout-ownership: a timed-out job completes with -ETIMEDOUT on both; drm_sched leaves it to the driver, drm_dep frees it itself' },
      { file: DEP_TEST, title: 're-arms after NO_HANG, not after ENODEV' },
    ] },
  { id: 4, title: 'unclear ownership of the bad job after a timeout (free_guilty)', removed: 'yes',
    how: 'drm_dep owns the job whatever timedout_job returns; there is no free_guilty path',
    tests: [{ file: MOCK_DEP_TEST, title: '#timeout-ownership: a timed-out job completes with -ETIMEDOUT on both; drm_sched leaves it to the driver, drm_dep frees it itself' }] },
  { id: 5, title: 'drivers iterating scheduler internals', removed: 'yes',
    how: 'queue and job state are private; the only iterator WARNs on a running queue; the readiness scan finds no drm_dep internal access',
    tests: [{ file: DEP_TEST, title: 'WARNs when pending jobs are iterated on a running queue' }] },
  { id: 6, title: 'dma-fence rule violations on the reset and submission paths', removed: 'partly',
    how: 'no resubmit helper (no second dma_fence_init); allocations between arm and push or in run_job are still possible, and are reported',
    tests: [
      { file: DEP_TEST, title: 'an allocation between arm and push is a dma-fence signalling violation' },
      { file: DEP_TEST, title: 'a GFP_KERNEL allocation in run_job is reported (reclaim-annotated worker, signalling section)' },
    ] },
  { id: 7, title: 'lockless and silently ineffective fields (set_priority)', removed: 'yes',
    how: 'no run queues and no priorities in the scheduler: priority is the firmware\'s',
    tests: [{ file: MOCK_DEP_TEST, title: '#no-priorities: a KERNEL-priority job pushed after a NORMAL one runs first on drm_sched; drm_dep runs them in push order' }] },
  { id: 8, title: 'entity kill semantics (system workqueue, -ESRCH, score leak)', removed: 'yes',
    how: 'kill completes unstarted jobs with -ECANCELED, each after its own dependencies; no score (documented difference kill-error-code)',
    tests: [{ file: DEP_TEST, title: 'a killed job still waits for its own dependencies before it completes' }] },
  { id: 9, title: 'FIFO starves lower priorities; FAIR is opt-in', removed: 'not applicable',
    how: 'drm_dep has no scheduling policy: the firmware decides between queues',
    tests: [] },
  { id: 10, title: 'latent bugs (rq_priority clamp, job_init error print, arm without a ready scheduler, TDR postponement)', removed: 'yes',
    how: 'no run queues or pick_best; init checks its arguments; the TDR times the oldest job from its own start',
    tests: [
      { file: DEP_TEST, title: 'rejects bad arguments and a second init' },
      { file: DEP_TEST, title: 'times out the oldest pending job one timeout after it started; later run_jobs do not push it out' },
    ] },
];

export interface WorkloadParity {
  readonly workload: string;
  readonly seeds: number;
  readonly equivalent: number;
  readonly expected: number;
  readonly regression: number;
  /** Seeds where a run did not finish (the runner's `stuck` message), per backend. */
  readonly stuck_sched: number;
  readonly stuck_dep: number;
}

export interface DriverEvidence {
  readonly driver: string;
  /** Known to the harness (deplab list). */
  readonly registered: boolean;
  readonly parity: readonly WorkloadParity[];
  readonly violations: { readonly sched: Readonly<Record<string, number>>; readonly dep: Readonly<Record<string, number>> };
  /** The KUnit suite (the mock only). */
  readonly conformance: { readonly sched: { passed: number; failed: number }; readonly dep: { passed: number; failed: number } } | null;
  /** Workloads that could not run, with the reason. */
  readonly errors: readonly string[];
}

export interface ReadinessInput {
  readonly scan: ApiScan;
  /** File texts of each driver's bindings (null: the file does not exist). */
  readonly sources: Readonly<Record<string, { readonly sched: string | null; readonly dep: string | null }>>;
  readonly evidence: readonly DriverEvidence[];
  readonly command: string;
  readonly version: string;
  readonly seeds: number;
}

export interface DriverVerdict {
  readonly driver: string;
  readonly ready: boolean;
  readonly blockers: readonly string[];
}

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

function binding(scan: ApiScan, driver: string, backend: BindingScan['backend']): BindingScan | undefined {
  return scan.bindings.find((b) => b.driver === driver && b.backend === backend);
}

export function driver_verdict(input: ReadinessInput, driver: string): DriverVerdict {
  const blockers: string[] = [];
  const dep = binding(input.scan, driver, 'dep');
  const ev = input.evidence.find((e) => e.driver === driver);
  if (dep === undefined) {
    blockers.push(binding(input.scan, driver, 'dep-hw') !== undefined
      ? `no plain drm_dep binding: drivers/${driver}/on-dep-hw.ts converts it onto the HW-queue layer (not assessed here yet)`
      : `no drm_dep binding (drivers/${driver}/on-dep.ts)`);
  }
  const legacy_left = dep?.symbols.filter((s) => s.module === '@deplab/drm-sched').map((s) => s.symbol) ?? [];
  if (legacy_left.length > 0) blockers.push(`on-dep.ts still uses drm_sched: ${legacy_left.join(', ')}`);
  const internal = input.scan.internal.filter((a) => a.driver === driver && !a.file.endsWith('/on-sched.ts'));
  if (internal.length > 0) blockers.push(`${internal.length} scheduler-internal access${internal.length > 1 ? 'es' : ''} outside on-sched.ts`);
  if (ev === undefined || !ev.registered) blockers.push('not registered with the harness: no behaviour evidence');
  else {
    if (ev.parity.length === 0) blockers.push('no parity runs');
    const regressions = ev.parity.reduce((n, p) => n + p.regression, 0);
    if (regressions > 0) blockers.push(`${regressions} behaviour regressions (${ev.parity.filter((p) => p.regression > 0).map((p) => p.workload).join(', ')})`);
    const stuck = ev.parity.filter((p) => p.stuck_dep > p.stuck_sched).map((p) => p.workload);
    if (stuck.length > 0) blockers.push(`runs that do not finish on drm_dep only (${stuck.join(', ')})`);
    if (ev.errors.length > 0) blockers.push(`${ev.errors.length} workloads failed to run`);
    if (ev.conformance !== null && ev.conformance.dep.failed > 0) blockers.push(`${ev.conformance.dep.failed} KUnit cases fail on drm_dep`);
    const dep_only = Object.keys(ev.violations.dep).filter((k) => (ev.violations.dep[k] ?? 0) > (ev.violations.sched[k] ?? 0)).sort();
    if (dep_only.length > 0) blockers.push(`more violations on drm_dep than on drm_sched: ${dep_only.map((k) => `${k} ${ev.violations.dep[k]}`).join(', ')}`);
  }
  return { driver, ready: blockers.length === 0, blockers };
}

function conversion(input: ReadinessInput, driver: string): LineDiff | null {
  const s = input.sources[driver];
  return s === undefined || s.sched === null || s.dep === null ? null : line_diff(s.sched, s.dep);
}

function code(s: string): string {
  return `\`${s}\``;
}

/** Pair evidence for one legacy symbol: the driver functions using it and what their drm_dep twin uses. */
function pair_evidence(sched: BindingScan, dep: BindingScan | undefined, symbol: string): { text: string; candidates: Set<string> } {
  const candidates = new Set<string>();
  const parts: string[] = [];
  for (const [fn, used] of Object.entries(sched.functions)) {
    if (!used.includes(symbol)) continue;
    const twin = dep?.functions[fn];
    if (twin === undefined) continue;
    for (const t of twin) candidates.add(t);
    if (parts.length < 2) parts.push(`${code(fn)}: ${twin.length > 0 ? twin.map(code).join(', ') : 'no drm_dep call'}`);
  }
  return { text: parts.length === 0 ? 'no twin function' : parts.join('; '), candidates };
}

function mapping_table(sched: BindingScan, dep: BindingScan | undefined): string {
  const rows = [['legacy symbol', 'uses', 'drm_dep equivalent (documented)', 'agrees', 'the twin functions in on-dep.ts']];
  for (const s of sched.symbols.filter((x) => x.module === '@deplab/drm-sched')) {
    const m = mapping_for(s.symbol);
    const ev = pair_evidence(sched, dep, s.symbol);
    const documented = m === undefined ? 'not in the table' : m.dep.length === 0 ? m.note : `${m.dep.map(code).join(' + ')}${m.note !== '' ? ` (${m.note})` : ''}`;
    const agrees = m === undefined || ev.candidates.size === 0 ? '–' : m.dep.length === 0 ? 'driver-side' : m.dep.some((d) => ev.candidates.has(d)) ? 'yes' : 'no';
    rows.push([code(s.symbol), String(s.uses), documented, agrees, ev.text]);
  }
  return markdownTable(rows, { align: ['l', 'r', 'l', 'l', 'l'] });
}

function symbols_table(sched: BindingScan | undefined, dep: BindingScan | undefined): string {
  const names = new Map<string, { module: string; sched: number; dep: number }>();
  for (const b of [sched, dep]) {
    for (const s of b?.symbols ?? []) {
      const e = names.get(s.symbol) ?? { module: s.module, sched: 0, dep: 0 };
      if (b === sched) e.sched += s.uses; else e.dep += s.uses;
      names.set(s.symbol, e);
    }
  }
  const rows = [['symbol', 'API', 'uses in on-sched.ts', 'uses in on-dep.ts']];
  for (const [name, e] of [...names].sort((a, b) => (a[1].module < b[1].module ? -1 : a[1].module > b[1].module ? 1 : a[0] < b[0] ? -1 : 1))) {
    rows.push([code(name), e.module === '@deplab/drm-sched' ? 'legacy (drm_sched)' : 'drm_dep', String(e.sched), String(e.dep)]);
  }
  return markdownTable(rows, { align: ['l', 'l', 'r', 'r'] });
}

function internal_table(list: readonly InternalAccess[]): string {
  const rows = [['file:line', 'kind', 'member', 'code', 'public alternative']];
  for (const a of list) rows.push([`${a.file}:${a.line}`, a.kind, code(a.member), code(a.text), INTERNAL_ALTERNATIVE[a.member] ?? a.reason]);
  return markdownTable(rows);
}

function violations_text(v: Readonly<Record<string, number>>): string {
  const kinds = Object.keys(v).sort();
  return kinds.length === 0 ? '0' : kinds.map((k) => `${k} ${v[k]}`).join(', ');
}

export function readiness_markdown(input: ReadinessInput): { markdown: string; verdicts: DriverVerdict[] } {
  const drivers = input.scan.drivers;
  const verdicts = drivers.map((d) => driver_verdict(input, d));
  const out: string[] = ['# drm_sched deprecation readiness', '',
    `Generated by \`${input.command}\` (deplab ${input.version}) from the driver bindings (ts-morph) and from comparisons on both backends ` +
    `(${input.seeds} paired seeds per built-in workload). How to read it: [docs/reports.md](../docs/reports.md#readiness).`, ''];
  out.push('## Verdicts', '');
  const rows = [['driver', 'bindings', 'legacy API in on-dep.ts', 'internal accesses (sched / dep side)', 'parity: equivalent / explained / regression', 'KUnit drm_sched / drm_dep', 'violations drm_sched / drm_dep', 'verdict']];
  for (const v of verdicts) {
    const s = binding(input.scan, v.driver, 'sched'), d = binding(input.scan, v.driver, 'dep');
    const ev = input.evidence.find((e) => e.driver === v.driver);
    const internal = input.scan.internal.filter((a) => a.driver === v.driver);
    const on_sched = internal.filter((a) => a.file.endsWith('/on-sched.ts')).length;
    const parity = ev === undefined || ev.parity.length === 0 ? 'not run'
      : ['equivalent', 'expected', 'regression'].map((k) => String(ev.parity.reduce((n, p) => n + (p[k as 'equivalent'] as number), 0))).join(' / ');
    const conf = ev === undefined || ev.conformance === null ? 'n/a (mock only)' : `${ev.conformance.sched.passed}/${ev.conformance.sched.passed + ev.conformance.sched.failed} / ${ev.conformance.dep.passed}/${ev.conformance.dep.passed + ev.conformance.dep.failed}`;
    const viol = ev === undefined ? 'n/a' : `${sum(ev.violations.sched)} / ${sum(ev.violations.dep)}`;
    const hw = binding(input.scan, v.driver, 'dep-hw');
    rows.push([v.driver, [s && 'on-sched.ts', d && 'on-dep.ts', hw && 'on-dep-hw.ts'].filter(Boolean).join(', ') || 'none',
      d === undefined ? 'n/a' : String(d.symbols.filter((x) => x.module === '@deplab/drm-sched').length),
      `${on_sched} / ${internal.length - on_sched}`, parity, conf, viol, v.ready ? '**ready**' : `**blocked**: ${v.blockers.join('; ')}`]);
  }
  out.push(markdownTable(rows), '');
  const ready = verdicts.filter((v) => v.ready).map((v) => v.driver);
  out.push(ready.length === verdicts.length ? 'Every modelled driver is ready to leave drm_sched.'
    : `Ready: ${ready.length === 0 ? 'none' : ready.join(', ')}. drm_sched cannot be deprecated for the modelled drivers until every row is ready.`, '');
  out.push('## Scheduler internals reached by drivers', '');
  out.push(input.scan.internal.length === 0 ? `None in the ${input.scan.files_scanned} driver source files scanned.`
    : `${input.scan.internal.length} in the ${input.scan.files_scanned} driver source files scanned (on-sched.ts accesses are what the conversion must remove; any access is a CI failure):`, '');
  if (input.scan.internal.length > 0) out.push(internal_table(input.scan.internal), '');
  out.push(...conversion_section(input, drivers));
  for (const d of drivers) out.push(...driver_section(input, d));
  out.push(...hazards_section());
  return { markdown: out.join('\n') + '\n', verdicts };
}

function conversion_section(input: ReadinessInput, drivers: readonly string[]): string[] {
  const rows = [['driver', 'on-sched.ts lines', 'on-dep.ts lines', 'added', 'removed', 'changed', 'insertions / deletions', 'RFC diffstat of the real driver']];
  for (const d of drivers) {
    const c = conversion(input, d);
    const s = binding(input.scan, d, 'sched'), p = binding(input.scan, d, 'dep');
    const rfc = rfc_driver_stat(d);
    rows.push([d, s ? String(s.lines) : '–', p ? String(p.lines) : '–', c ? String(c.added) : '–', c ? String(c.removed) : '–', c ? String(c.changed) : '–',
      c ? `${c.insertions} / ${c.deletions}` : '–', rfc === null ? 'not converted by the RFC' : `${rfc.lines} lines changed in ${rfc.files} files under \`${rfc.dir}\``]);
  }
  return ['## Conversion size', '',
    'Line diff of on-sched.ts against on-dep.ts (jsdiff, Myers): *changed* lines replace a line of the other file, *added* and *removed* lines do not. ' +
    'The RFC column sums the cover letter\'s diffstat (insertions + deletions) over the driver\'s directory; a model binding is one file, the real conversion spans the driver.', '',
    markdownTable(rows, { align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'] }), ''];
}

function driver_section(input: ReadinessInput, driver: string): string[] {
  const out = [`## ${driver}`, ''];
  const s = binding(input.scan, driver, 'sched'), d = binding(input.scan, driver, 'dep');
  const v = driver_verdict(input, driver);
  out.push(`Verdict: ${v.ready ? '**ready**' : `**blocked** by ${v.blockers.join('; ')}`}.`, '');
  if (s === undefined && d === undefined) return [...out, 'No binding yet.', ''];
  out.push('### Scheduler API used', '', symbols_table(s, d), '');
  if (s !== undefined) {
    out.push('### Legacy symbols and their drm_dep equivalents', '',
      '*agrees*: yes if the documented equivalent is among the drm_dep symbols the twin function (the function of the same name in on-dep.ts) uses, ' +
      'no if it is not, driver-side if drm_dep has no equivalent, – if on-dep.ts has no twin.', '',
      mapping_table(s, d), '');
    const driver_side = s.symbols.filter((x) => x.module === '@deplab/drm-sched' && mapping_for(x.symbol)?.dep.length === 0).map((x) => x.symbol);
    if (driver_side.length > 0) out.push(`Driver-side code the conversion needs: ${driver_side.map(code).join(', ')}.`, '');
  }
  const ev = input.evidence.find((e) => e.driver === driver);
  if (ev === undefined || !ev.registered) return [...out, 'Not registered with the harness: no behaviour parity evidence.', ''];
  out.push('### Behaviour parity', '');
  const rows = [['workload', 'seeds', 'equivalent', 'explained', 'regression', 'stuck drm_sched / drm_dep']];
  for (const p of ev.parity) rows.push([p.workload, String(p.seeds), String(p.equivalent), String(p.expected), String(p.regression), `${p.stuck_sched} / ${p.stuck_dep}`]);
  out.push(markdownTable(rows, { align: ['l', 'r', 'r', 'r', 'r', 'r'] }), '');
  for (const e of ev.errors) out.push(`- could not run: ${e}`);
  if (ev.errors.length > 0) out.push('');
  out.push(`Violations over these runs: drm_sched ${violations_text(ev.violations.sched)}; drm_dep ${violations_text(ev.violations.dep)}.`, '');
  if (ev.conformance !== null) {
    out.push(`KUnit conformance (the upstream suite on this driver): drm_sched ${ev.conformance.sched.passed} passed, ${ev.conformance.sched.failed} failed; ` +
      `drm_dep ${ev.conformance.dep.passed} passed, ${ev.conformance.dep.failed} failed.`, '');
  }
  return out;
}

function hazards_section(): string[] {
  const rows = [['#', 'legacy hazard (docs/legacy-hazards.md)', 'removed by drm_dep', 'how', 'tests that show it']];
  for (const h of HAZARDS) {
    rows.push([String(h.id), h.title, h.removed, h.how, h.tests.length === 0 ? '–' : h.tests.map((t) => `${t.file}: "${t.title}"`).join('; ')]);
  }
  return ['## Legacy hazards', '', markdownTable(rows), '', 'API mapping used above: `API_MAPPING` in packages/report/readiness.ts.', ''];
}
