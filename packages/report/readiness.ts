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
import type { Backend } from '@deplab/driver-api';
import { judge_driver, type CampaignEvidence, type DriverJudgement, type RunEvidence, type VerdictItem, type VerdictKind } from './verdict.ts';
import { backend_label } from './labels.ts';
import { md_code } from './shell.ts';

/** A legacy symbol and its drm_dep counterpart; `dep` empty means the driver must write code. */
export interface ApiMapping {
  readonly legacy: string;
  readonly dep: readonly string[];
  /** For `dep` empty: what the driver-side code is. Otherwise how the semantics differ, if they do. */
  readonly note: string;
}

const DRIVER_SIDE = 'none: needs driver-side code';

/**
 * The documented mapping (docs/rfc-sources.md and the models' public APIs). The readiness
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

export interface DriverEvidence {
  readonly driver: string;
  /** Known to the harness (deplab list). */
  readonly registered: boolean;
  /** The backend the driver's drm_dep path is (dep: drm_dep alone; dep-hw: drm_dep + the HW-queue layer). */
  readonly candidate: Backend;
  readonly runs: readonly RunEvidence[];
  readonly campaign: CampaignEvidence | null;
  /** The same runs under each robustness variant (fewer seeds). */
  readonly variants: readonly { readonly family: string; readonly label: string; readonly runs: readonly RunEvidence[] }[];
  /** Faults of the matrix the driver takes, and those it cannot (with why). */
  readonly faults: readonly string[];
  readonly unsupported_faults: readonly { readonly fault: string; readonly why: string }[];
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
  /** Per driver, the upstream survey's row (deplab survey), when one was run. */
  readonly survey?: Readonly<Record<string, { readonly path: string; readonly link: string }>> | null;
  /** Relative path from the readiness report to the repository root (default ../). */
  readonly root?: string;
}

export interface DriverVerdict {
  readonly driver: string;
  readonly judgement: DriverJudgement;
  /** "holds under all N variants", or "depends on ..." */
  readonly robustness: string;
  /** The verdict under each variant. */
  /** Each variant's verdict; where it differs from the main verdict, the items that make the difference. */
  readonly variants: readonly { readonly family: string; readonly label: string; readonly verdict: VerdictKind; readonly differs: readonly string[] }[];
}

function binding(scan: ApiScan, driver: string, backend: BindingScan['backend']): BindingScan | undefined {
  return scan.bindings.find((b) => b.driver === driver && b.backend === backend);
}

/** The binding of the driver's drm_dep path: on-dep.ts, or on-dep-hw.ts for a driver converted onto the HW-queue layer. */
function dep_binding(scan: ApiScan, driver: string): BindingScan | undefined {
  return binding(scan, driver, 'dep') ?? binding(scan, driver, 'dep-hw');
}

/** Blockers in the code itself: no drm_dep binding, legacy API left in it, internal accesses. */
function code_blockers(input: ReadinessInput, driver: string): VerdictItem[] {
  const out: VerdictItem[] = [];
  const item = (text: string, cause: string): VerdictItem => ({ text, about: 'code', runs: [], seeds: [], token: null, cause, link: null });
  const dep = dep_binding(input.scan, driver);
  if (dep === undefined) out.push(item('no drm_dep binding', `drivers/${driver} has no on-dep.ts (or on-dep-hw.ts)`));
  const legacy_left = dep?.symbols.filter((s) => s.module === '@deplab/drm-sched').map((s) => s.symbol) ?? [];
  if (legacy_left.length > 0) out.push(item('legacy API left in the drm_dep binding', legacy_left.join(', ')));
  const internal = input.scan.internal.filter((a) => a.driver === driver && !a.file.endsWith('/on-sched.ts'));
  if (internal.length > 0) out.push(item(`${internal.length} scheduler-internal access(es) outside on-sched.ts`, internal.map((a) => `${a.file}:${a.line}`).join(', ')));
  return out;
}

export function driver_verdict(input: ReadinessInput, driver: string): DriverVerdict {
  const ev = input.evidence.find((e) => e.driver === driver);
  const code = code_blockers(input, driver);
  if (ev === undefined || !ev.registered) {
    const judgement: DriverJudgement = { verdict: code.length > 0 ? 'blocked' : 'not assessed', blockers: code, fixes: [], findings: [], not_assessed: ['not registered with the harness: no behaviour evidence'] };
    return { driver, judgement, robustness: 'no variants run', variants: [] };
  }
  const judge = (runs: readonly RunEvidence[]) => judge_driver(runs, ev.campaign, code, ev.faults, driver);
  const judgement = judge(ev.runs);
  const unsupported = ev.unsupported_faults.map((u) => `fault ${u.fault} not exercised: ${u.why}`);
  const full: DriverJudgement = { ...judgement, not_assessed: [...judgement.not_assessed, ...unsupported] };
  if (ev.conformance !== null && ev.conformance.dep.failed > 0) {
    (full.blockers as VerdictItem[]).push({ text: `${ev.conformance.dep.failed} KUnit case(s) fail on drm_dep`, about: 'KUnit', runs: ['deplab conformance'], seeds: [], token: null, cause: 'see deplab conformance', link: null });
  }
  const variants = ev.variants.map((v) => {
    const j = judge(v.runs);
    return { family: v.family, label: v.label, verdict: j.verdict, differs: j.verdict === full.verdict ? [] : judgement_difference(full, j) };
  });
  const flips = variants.filter((v) => v.verdict !== full.verdict);
  const robustness = variants.length === 0 ? 'no variants run'
    : flips.length === 0 ? `holds under all ${variants.length} variants`
      : `depends on ${flips.map((v) => `${v.family} = ${v.label} (${v.verdict} there)`).join('; ')}`;
  return { driver, judgement: { ...full, verdict: full.blockers.length > 0 && full.verdict === 'ready' ? 'blocked' : full.verdict }, robustness, variants };
}

/** What a variant's judgement has that the main one has not (blockers, fixes, not assessed), or lost; each with its runs and seeds. */
export function judgement_difference(main: DriverJudgement, variant: DriverJudgement): string[] {
  const key = (i: VerdictItem) => `${i.about}|${i.text}`;
  const show = (i: VerdictItem) => `${i.text} (runs: ${i.runs.join(', ')}${i.seeds.length > 0 ? `; seeds ${i.seeds.join(', ')}` : ''}): ${i.cause}`;
  const out: string[] = [];
  const only = (a: readonly VerdictItem[], b: readonly VerdictItem[]) => a.filter((i) => !b.some((x) => key(x) === key(i)));
  for (const i of only(variant.blockers, main.blockers)) out.push(`blocker: ${show(i)}`);
  for (const i of only(variant.fixes, main.fixes)) out.push(`driver fix: ${show(i)}`);
  for (const n of variant.not_assessed.filter((x) => !main.not_assessed.includes(x))) out.push(`not assessed: ${n}`);
  for (const i of only(main.blockers, variant.blockers)) out.push(`no longer a blocker: ${show(i)}`);
  for (const i of only(main.fixes, variant.fixes)) out.push(`no longer a driver fix: ${show(i)}`);
  return out;
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

/** Repository directories a verdict item's link may name (a triage rule's write-up); other links are reports in the output directory. */
const REPOSITORY_DIRS = ['docs/', 'drivers/', 'packages/', 'workloads/'];

/** A verdict item's link as written in a report in the output directory, `root` being the path from there to the repository. */
export function verdict_href(link: string, root: string): string {
  return REPOSITORY_DIRS.some((d) => link.startsWith(d)) ? `${root}${link}` : link;
}

function item_line(x: VerdictItem, root: string): string {
  const where = [x.runs.length > 0 ? `runs: ${x.runs.join(', ')}` : '', x.seeds.length > 0 ? `seeds ${x.seeds.join(', ')}` : ''].filter(Boolean).join('; ');
  const link = x.link === null ? '' : ` ([evidence](${verdict_href(x.link, root)}))`;
  return `- ${x.text}${where !== '' ? ` (${where})` : ''}: ${x.cause}${link}` + (x.token !== null ? `\n  - replay: \`npx deplab replay ${x.token}\`` : '');
}

/** The short cell of the verdict table: the verdict and the one or two items that decide it. */
export function deciding_items(v: DriverVerdict): VerdictItem[] {
  const j = v.judgement;
  if (j.verdict === 'blocked') return j.blockers.slice(0, 2);
  if (j.verdict === 'ready after driver fixes') return j.fixes.slice(0, 2);
  return [];
}

export function readiness_markdown(input: ReadinessInput): { markdown: string; verdicts: DriverVerdict[] } {
  const root = input.root ?? '../';
  const drivers = input.scan.drivers;
  const verdicts = drivers.map((d) => driver_verdict(input, d));
  const out: string[] = ['# drm_sched deprecation readiness', '',
    `Generated by ${md_code(input.command)} (deplab ${input.version}) from the driver bindings (ts-morph), comparisons of each driver's drm_sched binding with ` +
    `its drm_dep path on its parity workloads and a fault matrix (${input.seeds} paired seeds each), and its exploration campaign. ` +
    `How the verdicts are made: [docs/reports.md](${root}docs/reports.md#readiness); the guarantees: [docs/guarantees.md](${root}docs/guarantees.md).`, ''];
  out.push('## Verdicts', '');
  const rows = [['driver', 'path', 'verdict', 'robustness', 'what decides it', 'upstream survey']];
  for (const v of verdicts) {
    const ev = input.evidence.find((e) => e.driver === v.driver);
    const path = ev === undefined ? '–' : ev.candidate === 'dep-hw' ? 'drm_dep + HW-queue layer' : 'drm_dep';
    const decide = deciding_items(v).map((x) => x.text).join('; ') || (v.judgement.verdict === 'not assessed' ? v.judgement.not_assessed[0] ?? '' : '–');
    const survey = input.survey?.[v.driver];
    rows.push([`[${v.driver}](#${v.driver})`, path, `**${v.judgement.verdict}**`, v.robustness, decide, survey === undefined ? '–' : `[${survey.path}](${survey.link})`]);
  }
  out.push(markdownTable(rows), '');
  const ready = verdicts.filter((v) => v.judgement.verdict === 'ready' || v.judgement.verdict === 'ready after driver fixes').map((v) => v.driver);
  out.push(ready.length === verdicts.length ? 'Every modelled driver can leave drm_sched (after the listed driver fixes, where there are any).'
    : `Can leave drm_sched: ${ready.length === 0 ? 'none' : ready.join(', ')}. drm_sched cannot be deprecated for the modelled drivers until every row can.`, '');
  out.push('## Scheduler internals reached by drivers', '');
  out.push(input.scan.internal.length === 0 ? `None in the ${input.scan.files_scanned} driver source files scanned.`
    : `${input.scan.internal.length} in the ${input.scan.files_scanned} driver source files scanned (on-sched.ts accesses are what the conversion must remove; any access is a CI failure):`, '');
  if (input.scan.internal.length > 0) out.push(internal_table(input.scan.internal), '');
  out.push(...conversion_section(input, drivers));
  for (const d of drivers) out.push(...driver_section(input, d, verdicts.find((v) => v.driver === d)!));
  out.push(...hazards_section());
  return { markdown: out.join('\n') + '\n', verdicts };
}

function conversion_section(input: ReadinessInput, drivers: readonly string[]): string[] {
  const rows = [['driver', 'on-sched.ts lines', 'drm_dep binding lines', 'added', 'removed', 'changed', 'insertions / deletions', 'RFC diffstat of the real driver']];
  for (const d of drivers) {
    const c = conversion(input, d);
    const s = binding(input.scan, d, 'sched'), p = dep_binding(input.scan, d);
    const rfc = rfc_driver_stat(d);
    rows.push([d, s ? String(s.lines) : '–', p ? String(p.lines) : '–', c ? String(c.added) : '–', c ? String(c.removed) : '–', c ? String(c.changed) : '–',
      c ? `${c.insertions} / ${c.deletions}` : '–', rfc === null ? 'not converted by the RFC' : `${rfc.lines} lines changed in ${rfc.files} files under \`${rfc.dir}\``]);
  }
  return ['## Conversion size', '',
    'Line diff of on-sched.ts against the drm_dep binding (jsdiff, Myers): *changed* lines replace a line of the other file, *added* and *removed* lines do not. ' +
    'The RFC column sums the cover letter\'s diffstat (insertions + deletions) over the driver\'s directory; a model binding is one file, the real conversion spans the driver.', '',
    markdownTable(rows, { align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'] }), ''];
}

function driver_section(input: ReadinessInput, driver: string, v: DriverVerdict): string[] {
  const out = [`## ${driver}`, ''];
  const root = input.root ?? '../';
  const line = (x: VerdictItem) => item_line(x, root);
  const s = binding(input.scan, driver, 'sched'), d = dep_binding(input.scan, driver);
  const j = v.judgement;
  out.push(`Verdict: **${j.verdict}**; robustness: ${v.robustness}.`, '');
  if (j.blockers.length > 0) out.push('### Blockers', '', ...j.blockers.map(line), '');
  if (j.fixes.length > 0) out.push('### Fix in the driver before converting', '', 'Latent driver bugs that drm_dep\'s annotations expose (present upstream, invisible on drm_sched):', '', ...j.fixes.map(line), '');
  if (j.not_assessed.length > 0) out.push('### Not assessed', '', ...j.not_assessed.map((x) => `- ${x}`), '');
  if (j.findings.length > 0) out.push('### Findings that decide nothing on their own', '', ...j.findings.map(line), '');
  if (v.variants.length > 0) {
    out.push('### Robustness', '', markdownTable([['variant family', 'value', 'verdict'], ...v.variants.map((x) => [x.family, x.label, x.verdict])]), '');
    for (const x of v.variants.filter((y) => y.differs.length > 0)) {
      out.push(`Under ${x.family} = ${x.label} (${x.verdict}), what differs from the main runs:`, '', ...x.differs.map((d) => `- ${d}`), '');
    }
  }
  const ev = input.evidence.find((e) => e.driver === driver);
  if (ev !== undefined && ev.registered) {
    out.push('### Evidence', '');
    const rows = [['run', 'kind', 'seeds (distinct)', 'regressions', 'improvements', 'violation groups', 'main finding']];
    for (const r of ev.runs) {
      const res = r.result;
      rows.push([r.report === null ? r.label : `[${r.label}](${r.report})`, r.kind, `${res.seeds.length} (${res.n_eff})`,
        String(res.guarantees.reduce((n, g) => n + g.diff.regression, 0)), String(res.guarantees.reduce((n, g) => n + g.diff.improvement, 0)), String(res.groups.length),
        `${backend_label(res.baseline)} vs ${backend_label(res.candidate)}`]);
    }
    out.push(markdownTable(rows), '');
    if (ev.campaign !== null) {
      out.push(`Campaign ([report](${ev.campaign.report}), ${md_code(ev.campaign.command)}): ` +
        ev.campaign.backends.map((b) => `${backend_label(b.backend)} ${b.seeds_run} seeds, ${b.groups.length} distinct finding(s)`).join('; ') + '.', '');
    }
    for (const e of ev.errors) out.push(`- could not run: ${e}`);
    if (ev.errors.length > 0) out.push('');
    if (ev.conformance !== null) {
      out.push(`KUnit conformance (the upstream suite on this driver): drm_sched ${ev.conformance.sched.passed} passed, ${ev.conformance.sched.failed} failed; ` +
        `drm_dep ${ev.conformance.dep.passed} passed, ${ev.conformance.dep.failed} failed.`, '');
    }
  }
  if (s === undefined && d === undefined) return [...out, 'No binding yet.', ''];
  out.push('### Scheduler API used', '', symbols_table(s, d), '');
  if (s !== undefined) {
    out.push('### Legacy symbols and their drm_dep equivalents', '',
      '*agrees*: yes if the documented equivalent is among the drm_dep symbols the twin function (the function of the same name in the drm_dep binding) uses, ' +
      'no if it is not, driver-side if drm_dep has no equivalent, – if the drm_dep binding has no twin.', '',
      mapping_table(s, d), '');
    const driver_side = s.symbols.filter((x) => x.module === '@deplab/drm-sched' && mapping_for(x.symbol)?.dep.length === 0).map((x) => x.symbol);
    if (driver_side.length > 0) out.push(`Driver-side code the conversion needs: ${driver_side.map(code).join(', ')}.`, '');
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
