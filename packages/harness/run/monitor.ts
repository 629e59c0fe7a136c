/**
 * The run monitor: observes one run as it happens, in bounded memory. It reads the models'
 * trace events as they are emitted (the kernel's trace sink) and the runner's own calls (job
 * submitted, queue destroyed, fault injected, unplug), keeps a record only for jobs still in
 * flight, and when a job is final (its finished fence signalled and the scheduler released it)
 * checks the job-level guarantees (guarantees.ts), classifies its situation and outcome, adds
 * its latencies to the run's distributions and drops the record. Memory grows with the jobs in
 * flight, not with the jobs of the run; `retain: true` keeps every final record (exploration,
 * charts and exports need them) and `pairing: true` keeps two bytes per job for the
 * cross-backend guarantee diff.
 *
 * Both scheduler models emit the same job tracepoints under their own prefix (drm_sched_job_*,
 * drm_dep_job_*), keyed by the job's finished fence (context, seqno); the substrate emits
 * dma_fence_signaled with the error. Order is causal (emission order), which is what the
 * dependency check needs: bodies run atomically with a local clock, so a later event may carry
 * an earlier timestamp.
 */
import { ESRCH, TIMER_WHEEL, cost_max_ns, errno_name, timer_wheel_granularity, type Kernel, type TraceArgs, type dma_fence } from '@deplab/sim';
import { JOB_BIT, type GuaranteeId, type Situation } from './guarantees.ts';
import { LatencyDistribution, type LatencyResult } from '../stats/latency.ts';

/** One job's record, as exploration and exports read it (all times in ns, -1 = never). */
export interface JobRecord {
  readonly logical: string;
  readonly client: string;
  readonly queue: string;
  readonly iteration: number;
  readonly submit_error: number;
  readonly submitted_ns: number;
  readonly queued_ns: number;
  /** Every dependency signalled (or queued_ns without dependencies), -1 if never. */
  readonly deps_resolved_ns: number;
  /** run_job called. */
  readonly run_ns: number;
  /** The hardware started it (deplab_job_hw_start, first start; -1 if never or not reported). */
  readonly hw_start_ns: number;
  readonly hw_done_ns: number;
  readonly finished_ns: number;
  readonly error: number | null;
  readonly freed_ns: number;
  readonly timedout: boolean;
  readonly deps: readonly string[];
  readonly ring: string | null;
  readonly situation: Situation;
  readonly outcome: string;
}

export interface QueueRecord {
  readonly queue: string;
  readonly jobs: number;
  readonly destroy_call_ns: number;
  readonly destroy_return_ns: number;
  /** The last job of the queue freed, -1 if never. */
  readonly released_ns: number;
}

/** One broken guarantee, with enough to find it again. */
export interface Break {
  readonly guarantee: GuaranteeId;
  /** Job logical id, queue key, or '' for the run. */
  readonly subject: string;
  readonly site: string;
  readonly message: string;
  readonly time_ns: number;
}

export interface GuaranteeTally {
  /** Jobs (or runs) the guarantee was checked on. */
  checked: number;
  broken: number;
  /** The first breaks, in the order found (the count above is complete). */
  readonly examples: Break[];
}

/** Examples kept per guarantee; counts stay exact. */
export const BREAK_EXAMPLES_MAX = 20;

/** What a run's observation yields, all plain data. */
export interface Observation {
  readonly submitted: number;
  readonly finished: number;
  readonly errored: number;
  readonly never_finished: number;
  readonly guarantees: Readonly<Partial<Record<GuaranteeId, GuaranteeTally>>>;
  /** Jobs per situation and outcome ("ok", "error -ECANCELED", "cancelled -ECANCELED", "never"). */
  readonly outcomes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly latency: Readonly<Record<LatencyName, LatencyResult>>;
  readonly first_submit_ns: number;
  readonly last_finish_ns: number;
  readonly queues: readonly QueueRecord[];
  /** Every final job record (retain mode only). */
  readonly jobs: readonly JobRecord[] | null;
  /** Timeouts seen (both models' timedout tracepoints). */
  readonly timeouts: number;
  /** Most jobs alive at once in the scheduler (pushed and not yet released). */
  readonly peak_jobs_alive: number;
  /** Jobs run_job'd while a dependency on their own ring had run but not finished (pipelined). */
  readonly pipelined_jobs: number;
  /** Most jobs handed to the hardware (run_job, or the ring's run on dep-hw) and not yet ended at once. */
  readonly peak_jobs_on_hw: number;
  /** run_job calls that followed one of the same queue while another queue had jobs queued and not yet run. */
  readonly back_to_back_runs: number;
}

export const LATENCY_NAMES = ['submit_to_finished_us', 'submit_to_run_job_us', 'ready_to_run_job_us', 'submit_to_hw_start_us', 'ready_to_hw_start_us', 'done_to_free_us'] as const;
export type LatencyName = (typeof LATENCY_NAMES)[number];

export interface MonitorOptions {
  /** Keep every final job record (exploration, charts, exports). */
  readonly retain?: boolean;
  /** Keep per-job guarantee masks for the cross-backend diff. */
  readonly pairing?: boolean;
  /** The device's TDR period (tdr_late is checked only with one). */
  readonly timeout_ms?: number | null;
  /** Slack added to the TDR period before a silence is late (default: tdr_slack_ns of the run's kernel). */
  readonly tdr_slack_ns?: number;
  /** Credits of every job when the driver fixes them (credit_leak is checked only then). */
  readonly credits_per_job?: number | null;
  /**
   * Which tracepoints mean "run_job" and "timed out": the scheduler's own (drm_sched_job_* /
   * drm_dep_job_*), or, for drm_dep + the HW-queue layer, the layer's drm_dep_hw_job_* ones:
   * there drm_dep's run_job only stages the job for the ring, and the ring runs it later.
   */
  readonly run_events?: 'scheduler' | 'hw-layer';
  /**
   * The driver kills a queue inside its destroy ioctl and its file's close (xe:
   * xe_exec_queue_kill), so the harness's call is a kill for killed_unstarted; otherwise only
   * the schedulers' own kills are (drm_sched_entity_kill, drm_dep_queue_kill).
   */
  readonly destroy_kills?: boolean;
}

/** Per-job guarantee masks of one queue, by the job's index in its queue. */
export interface QueueMasks {
  applicable: Uint8Array;
  broken: Uint8Array;
  outcome: string[];
  /** The job's situation (guarantees.ts Situation; '' for a failed submit). */
  situation: string[];
  count: number;
}

/** A submit ioctl in progress: its job, once queued, and what happened meanwhile. */
interface PendingSubmit {
  readonly job: SubmitStart;
  bound: LiveJob | null;
  killed: boolean;
  unplugged: boolean;
  disturbed: boolean;
}

/** What the runner knows of a job when it calls the submit ioctl. */
export interface SubmitStart {
  readonly logical: string;
  readonly client: string;
  readonly queue: string;
  readonly iteration: number;
  /** The submit ioctl was called. */
  readonly submitted_ns: number;
  readonly dep_fences: readonly dma_fence[];
  readonly dep_ids: readonly string[];
  readonly hang: boolean;
  /** GPU time the submit asks for (0: manual or hanging). */
  readonly work_ns?: number;
}

/** How a submit ioctl returned: the job's finished fence, or a negative errno (fence -1). */
export interface SubmitResult {
  readonly error: number;
  readonly fence_context: number;
  readonly fence_seqno: number;
  readonly returned_ns: number;
}

interface LiveJob {
  readonly fence_context: number;
  readonly fence_seqno: number;
  readonly logical: string;
  readonly client: string;
  readonly queue: QueueState;
  readonly index: number;
  readonly iteration: number;
  readonly submitted_ns: number;
  /** The submit ioctl returned (Infinity while it is in progress). */
  returned_ns: number;
  readonly dep_fences: readonly dma_fence[];
  readonly dep_ids: readonly string[];
  /** Dependencies still being watched for the order check (dropped once the job ran). */
  dep_jobs: (LiveJob | null)[] | null;
  hang: boolean;
  /** GPU time its submit asked for (0: manual or hanging), counted in work_in_flight_ns until it finishes. */
  readonly work_ns: number;
  queued_ns: number; run_ns: number; hw_start_ns: number; hw_done_ns: number; finished_ns: number; freed_ns: number;
  error: number | null;
  timedout: boolean;
  ring: string | null;
  broken: number;
  /**
   * What happened around it while it was in flight, marked when it happens: the monitor sees
   * events in causal order, and a body's local clock may stamp a cause later than its effect.
   */
  killed: 'killed in flight' | 'killed before start' | null;
  /**
   * Killed before it was handed to run_job, after its submit ioctl had returned: by the
   * scheduler's kill or a driver that kills in its destroy ioctl (killed_unstarted applies);
   * what killed it and when, else null.
   */
  kill_checked: { readonly by: string; readonly t_ns: number } | null;
  /** Handed to the scheduler's run_job (on the HW-queue layer: staged by drm_dep's run_job). */
  handed: boolean;
  unplugged: boolean;
  disturbed: boolean;
  /** tdr_late: its start was counted (+1) / its end was counted (-1). */
  started_point: boolean;
  ended_point: boolean;
  final: boolean;
  /** Counted in its queue's `waiting` (queued, not yet run nor ended). */
  waiting: boolean;
}

interface QueueState {
  readonly key: string;
  readonly client: string;
  jobs: number;
  destroy_call_ns: number;
  destroy_return_ns: number;
  released_ns: number;
  /** Highest job index signalled so far, and its error (signal_order). */
  latest_index: number;
  latest_error: number;
  masks: QueueMasks | null;
  /** Jobs queued and not yet run nor ended (back_to_back_runs). */
  waiting: number;
}

// Event kinds, dispatched by name through one Map lookup per event.
const EV_QUEUE = 1, EV_RUN = 2, EV_DONE = 3, EV_FREE = 4, EV_TIMEDOUT = 5, EV_SIGNALED = 6, EV_HW_START = 7, EV_SCORE = 8, EV_RESET = 9, EV_TIMEDOUT_START = 10, EV_KILL = 11, EV_HANDED = 12;
function event_kinds(run_events: 'scheduler' | 'hw-layer'): Map<string, number> {
  const m = new Map<string, number>([
    ['dma_fence_signaled', EV_SIGNALED], ['deplab_job_hw_start', EV_HW_START],
    ['xe_gt_reset', EV_RESET], ['panthor_reset', EV_RESET], ['drm_dep_hw_ring_stop', EV_RESET], ['drm_dep_hw_ring_start', EV_RESET],
  ]);
  for (const prefix of ['drm_sched_job_', 'drm_dep_job_']) {
    m.set(`${prefix}queue`, EV_QUEUE);
    m.set(`${prefix}run`, EV_RUN);
    m.set(`${prefix}done`, EV_DONE);
    m.set(`${prefix}free`, EV_FREE);
    m.set(`${prefix}timedout`, EV_TIMEDOUT);
  }
  m.set('drm_sched_tdr_start', EV_TIMEDOUT_START);
  m.set('drm_dep_tdr_start', EV_TIMEDOUT_START);
  m.set('drm_sched_entity_kill', EV_KILL);
  m.set('drm_dep_queue_kill', EV_KILL);
  if (run_events === 'hw-layer') {
    m.set('drm_dep_job_run', EV_HANDED); // drm_dep's run_job stages the job for the ring
    m.delete('drm_dep_job_timedout');
    m.delete('drm_dep_tdr_start');
    m.set('drm_dep_hw_job_run', EV_RUN);
    m.set('drm_dep_hw_job_timedout', EV_TIMEDOUT);
  }
  return m;
}

const EVENT_KIND_SCHEDULER = event_kinds('scheduler');
const EVENT_KIND_HW_LAYER = event_kinds('hw-layer');

const MS = 1_000_000;

export class RunMonitor {
  private readonly options: MonitorOptions;
  /** Live jobs by finished-fence context, then seqno (small-integer keys: no boxing). */
  private readonly live = new Map<number, Map<number, LiveJob>>();
  private readonly queues = new Map<string, QueueState>();
  private readonly tallies: Partial<Record<GuaranteeId, GuaranteeTally>> = {};
  private readonly outcomes: Record<string, Record<string, number>> = {};
  private readonly latency: Record<LatencyName, LatencyDistribution>;
  private readonly retained: JobRecord[] | null;
  private unplug_ns = Infinity;
  private submitted = 0;
  private finished = 0;
  private errored = 0;
  private first_submit_ns = Infinity;
  private last_finish_ns = 0;
  private timeouts = 0;
  private jobs_alive = 0;
  private pipelined = 0;
  private peak_jobs_alive = 0;
  private jobs_on_hw = 0;
  private peak_jobs_on_hw = 0;
  /** back_to_back_runs: jobs waiting on every queue, the queue of the last run_job, the count. */
  private waiting = 0;
  private last_run_queue: QueueState | null = null;
  private back_to_back = 0;
  /** tdr_late: points (time, delta) of job starts (+1), ends (-1), timeouts (0), recoveries (+-2). */
  private points_t = new Float64Array(1024);
  private points_d = new Int8Array(1024);
  private points_n = 0;
  private reset_open = -1;
  /** credit_leak: jobs in flight per ring. */
  private readonly in_flight = new Map<string, Set<LiveJob>>();
  private credit_broken = false;
  private readonly scores: { name: string; score: number; t_ns: number }[] = [];
  /**
   * Clients a fault, hang or timeout hit: their later jobs are disturbed too, since drivers
   * ban what a fault hit (panthor's group cannot run again, xe bans the exec queue).
   */
  private readonly faulted_clients = new Set<string>();
  /**
   * An injected fault whose recovery the device has not shown yet: the driver handles it
   * asynchronously (panfrost's reset work cancels what is on the job slots when it runs, with
   * no trace event), so jobs submitted meanwhile are disturbed too, until a job completes
   * without an error.
   */
  private fault_pending = false;
  /** Submit ioctls in progress, by the submitting task's context name (begin_submit). */
  private readonly submitting = new Map<string, PendingSubmit>();
  private ended = false;
  /** The device reports deplab_job_hw_start (killed_unstarted is checked only then). */
  private hw_starts_reported = false;

  private readonly kinds: Map<string, number>;
  /** Last time a job was submitted, queued, run or finished (the runner's hang watchdog reads it). */
  progress_ns = 0;
  /** GPU time of the jobs submitted and not yet finished: a working device finishes one of them within it. */
  work_in_flight_ns = 0;

  constructor(options: MonitorOptions = {}) {
    this.options = options;
    this.kinds = options.run_events === 'hw-layer' ? EVENT_KIND_HW_LAYER : EVENT_KIND_SCHEDULER;
    this.retained = options.retain === true ? [] : null;
    this.latency = Object.fromEntries(LATENCY_NAMES.map((n) => [n, new LatencyDistribution()])) as Record<LatencyName, LatencyDistribution>;
  }

  /* -------------------------------------------------------------------------------------- */
  /* The runner's calls                                                                      */

  /**
   * A submit ioctl is called from the task `context` (its trace context name). The scheduler
   * queues the job, and may run it (drm_dep's submit bypass) or the hardware start it, before
   * the ioctl returns: the first job-queue event of an unknown job emitted in that context while
   * the ioctl is in progress is this submit's job, so none of its events is missed. A task is in
   * one ioctl at a time.
   */
  begin_submit(context: string, job: SubmitStart): void {
    if (this.submitting.has(context)) throw new Error(`run monitor: a second submit from ${context} before the first returned`);
    this.submitting.set(context, { job, bound: null, killed: false, unplugged: false, disturbed: this.reset_open >= 0 || this.fault_pending || this.faulted_clients.has(job.client) });
  }

  /**
   * The submit ioctl begun by `context` returned: with the job's finished fence, or an errno.
   */
  end_submit(context: string, result: SubmitResult): void {
    const pending = this.submitting.get(context);
    if (pending === undefined) throw new Error(`run monitor: end_submit from ${context} without begin_submit`);
    this.submitting.delete(context);
    const bound = pending.bound;
    if (bound === null) {
      if (result.error !== 0) {
        this.on_submit({ ...pending.job, ...result });
        return;
      }
      const j = this.register(pending.job, result.fence_context, result.fence_seqno);
      j.returned_ns = result.returned_ns;
      this.mark_pending(j, pending);
      return;
    }
    if (result.error !== 0 || bound.fence_context !== result.fence_context || bound.fence_seqno !== result.fence_seqno) {
      throw new Error(`run monitor: the job ${context} queued during its submit (fence ${bound.fence_context}:${bound.fence_seqno}) is not the one the submit returned ` +
        `(${result.error !== 0 ? `error ${result.error}` : `fence ${result.fence_context}:${result.fence_seqno}`})`);
    }
    bound.returned_ns = result.returned_ns;
  }

  /** A submit whose events were all emitted after it returned (or that failed): begin and end in one. */
  on_submit(job: SubmitStart & SubmitResult): void {
    const q = this.queue(job.client, job.queue);
    if (job.error !== 0) {
      if (job.submitted_ns > this.progress_ns) this.progress_ns = job.submitted_ns;
      const index = q.jobs++;
      if (this.retained !== null) this.retained.push(failed_record(job));
      this.set_masks(q, index, 0, 0, `submit ${errno_name(job.error)}`, '');
      return;
    }
    this.register(job, job.fence_context, job.fence_seqno).returned_ns = job.returned_ns;
  }

  /** The record of a job the scheduler accepted, from the moment its finished fence is known. */
  private register(job: SubmitStart, fence_context: number, fence_seqno: number): LiveJob {
    const q = this.queue(job.client, job.queue);
    if (job.submitted_ns > this.progress_ns) this.progress_ns = job.submitted_ns;
    const index = q.jobs++;
    this.submitted++;
    if (job.submitted_ns < this.first_submit_ns) this.first_submit_ns = job.submitted_ns;
    const dep_jobs: (LiveJob | null)[] = [];
    for (const f of job.dep_fences) dep_jobs.push(this.live.get(f.context)?.get(f.seqno) ?? null);
    const rec: LiveJob = {
      fence_context, fence_seqno, logical: job.logical, client: job.client, queue: q, index, iteration: job.iteration, submitted_ns: job.submitted_ns,
      returned_ns: Infinity,
      dep_fences: job.dep_fences, dep_ids: job.dep_ids, dep_jobs, hang: job.hang, work_ns: job.work_ns ?? 0,
      queued_ns: -1, run_ns: -1, hw_start_ns: -1, hw_done_ns: -1, finished_ns: -1, freed_ns: -1, error: null,
      timedout: false, ring: null, broken: 0, started_point: false, ended_point: false, final: false, waiting: false,
      killed: null, kill_checked: null, handed: false, unplugged: this.unplug_ns < Infinity, disturbed: this.reset_open >= 0 || this.fault_pending || this.faulted_clients.has(job.client),
    };
    this.work_in_flight_ns += rec.work_ns;
    let by_seqno = this.live.get(fence_context);
    if (by_seqno === undefined) this.live.set(fence_context, (by_seqno = new Map()));
    by_seqno.set(fence_seqno, rec);
    return rec;
  }

  /** The job a submit in progress in `context` queued: the first unknown job queued there. */
  private bind(context: string, fence_context: number, fence_seqno: number): LiveJob | undefined {
    const pending = this.submitting.get(context);
    if (pending === undefined || pending.bound !== null) return undefined;
    pending.bound = this.register(pending.job, fence_context, fence_seqno);
    this.mark_pending(pending.bound, pending);
    return pending.bound;
  }

  /** What happened while the job's submit was in progress, before the monitor knew its fence. */
  private mark_pending(j: LiveJob, pending: PendingSubmit): void {
    // A submit racing with its queue's kill: not checked (a file's release waits for the ioctls in progress on it).
    if (pending.killed) j.killed = 'killed before start';
    j.unplugged ||= pending.unplugged;
    j.disturbed ||= pending.disturbed;
  }

  /** Visit every job in flight: known and not finished, or still in its submit ioctl, not yet queued. */
  private each_in_flight(job: (j: LiveJob) => void, submitting: (p: PendingSubmit) => void): void {
    for (const by_seqno of this.live.values()) for (const j of by_seqno.values()) if (j.finished_ns < 0) job(j);
    for (const p of this.submitting.values()) if (p.bound === null) submitting(p);
  }

  /**
   * The device emits deplab_job_hw_start for its jobs (Device.reports_hw_start): a job that was
   * not handed to the hardware before its queue was killed is then checked to never start.
   */
  set_hw_starts_reported(reported: boolean): void {
    this.hw_starts_reported = reported;
  }

  /** The harness made this job hang (a hang_job fault on it). */
  on_hang(fence_context: number, fence_seqno: number): void {
    const j = this.live.get(fence_context)?.get(fence_seqno);
    if (j === undefined) return;
    j.hang = true;
    this.faulted_clients.add(j.client);
  }

  /** A queue's destroy ioctl (or its file's close) was called / returned. */
  on_destroy(client: string, queue: string, phase: 'call' | 'return', t_ns: number, by: 'destroy' | 'close' = 'destroy'): void {
    const q = this.queue(client, queue);
    if (phase === 'return' && q.destroy_return_ns < 0) q.destroy_return_ns = t_ns;
    if (phase !== 'call' || q.destroy_call_ns >= 0) return;
    q.destroy_call_ns = t_ns;
    const how = this.options.destroy_kills === true ? `the ${by === 'close' ? 'file close' : 'queue destroy'} (the driver kills in it)` : null;
    this.each_in_flight((j) => {
      if (j.queue !== q || j.killed !== null) return;
      // In flight: handed to the hardware (run_job) before the kill, so its fate races with
      // the driver's (asynchronous) kill; whether it had started executing does not matter.
      j.killed = j.run_ns >= 0 ? 'killed in flight' : 'killed before start';
      if (how !== null) this.kill(j, how, t_ns);
    }, (p) => { if (p.job.client === client && p.job.queue === queue) p.killed = true; });
  }

  /**
   * A device-wide disturbance: an injected reset or firmware fault (timeouts and driver resets
   * come from the trace), aimed at one of `client`'s queues unless it is device-wide.
   */
  on_device_event(_t_ns: number, client?: string): void {
    this.disturb();
    this.fault_pending = true;
    if (client !== undefined) this.faulted_clients.add(client);
  }

  on_unplug(t_ns: number): void {
    if (t_ns < this.unplug_ns) this.unplug_ns = t_ns;
    this.each_in_flight((j) => { j.unplugged = true; }, (p) => { p.unplugged = true; });
  }

  /**
   * `j`'s queue is killed now (`by` says how): unless it was handed to run_job already, or its
   * submit ioctl is still in progress (a file's release waits for the ioctls in progress on it,
   * so such a submit races with the close), it must never start on the hardware.
   */
  private kill(j: LiveJob, by: string, t_ns: number): void {
    if (j.handed || j.kill_checked !== null || j.returned_ns === Infinity) return;
    j.kill_checked = { by, t_ns };
  }

  /** The scheduler killed the queue whose jobs' finished fences are on `fence_context`. */
  private on_kill(name: string, fence_context: number, t_ns: number): void {
    const by_seqno = this.live.get(fence_context);
    if (by_seqno === undefined) return;
    for (const j of by_seqno.values()) if (j.finished_ns < 0) this.kill(j, name, t_ns);
  }

  /** A timeout, reset or device fault: every job in flight is disturbed. */
  private disturb(): void {
    this.each_in_flight((j) => { j.disturbed = true; }, (p) => { p.disturbed = true; });
  }

  /* -------------------------------------------------------------------------------------- */
  /* Trace events                                                                            */

  /** The kernel's trace sink: every event as it is emitted. */
  readonly on_event = (t_ns: number, name: string, context: string, args: TraceArgs): void => {
    const kind = this.kinds.get(name);
    if (kind === undefined) {
      if (name.endsWith('_score')) this.scores.push({ name, score: Number(args.score), t_ns });
      return;
    }
    if (kind === EV_RESET) { this.on_reset(t_ns, args.phase === 'start' || name === 'drm_dep_hw_ring_stop'); return; }
    if (kind === EV_KILL) { this.on_kill(name, args.fence_context as number, t_ns); return; }
    if (kind === EV_SIGNALED) {
      const j = this.find(args.context as number, args.seqno as number);
      if (j !== undefined && j.finished_ns < 0) this.on_signaled(j, t_ns, args.error as number);
      return;
    }
    if (kind === EV_TIMEDOUT || kind === EV_TIMEDOUT_START) {
      // A timeout handler may complete or cancel jobs before its timed-out event: the jobs in
      // flight when it starts are disturbed (and those submitted while it runs).
      if (kind === EV_TIMEDOUT) this.timeouts++;
      this.disturb();
      this.point(t_ns, 0);
    }
    let j = this.find(args.fence_context as number, args.fence_seqno as number);
    if (j === undefined) {
      if (kind !== EV_QUEUE || this.submitting.size === 0) return;
      j = this.bind(context, args.fence_context as number, args.fence_seqno as number);
      if (j === undefined) return;
    }
    if (kind === EV_QUEUE || kind === EV_RUN || kind === EV_DONE) this.progress_ns = t_ns;
    switch (kind) {
      case EV_QUEUE:
        if (j.queued_ns < 0) {
          j.queued_ns = t_ns;
          if (++this.jobs_alive > this.peak_jobs_alive) this.peak_jobs_alive = this.jobs_alive;
          if (j.run_ns < 0 && j.finished_ns < 0) { j.waiting = true; j.queue.waiting++; this.waiting++; }
        }
        break;
      case EV_RUN: j.handed = true; if (j.run_ns < 0) this.on_run(j, t_ns, args); break;
      case EV_HANDED: j.handed = true; break;
      case EV_HW_START: if (j.hw_start_ns < 0) j.hw_start_ns = t_ns; break;
      case EV_DONE:
        if (j.hw_done_ns < 0) {
          j.hw_done_ns = t_ns;
          this.job_end_point(j, t_ns);
          if (j.ring !== null) this.in_flight.get(j.ring)?.delete(j);
        }
        break;
      case EV_FREE:
        if (j.freed_ns < 0) {
          j.freed_ns = t_ns;
          if (j.queued_ns >= 0) this.jobs_alive--;
          if (j.finished_ns >= 0) this.finalize(j);
        }
        break;
      case EV_TIMEDOUT: case EV_TIMEDOUT_START:
        j.timedout = true;
        this.faulted_clients.add(j.client);
        break;
    }
  };

  private find(context: number, seqno: number): LiveJob | undefined {
    return this.live.get(context)?.get(seqno);
  }

  private on_run(j: LiveJob, t_ns: number, args: TraceArgs): void {
    j.run_ns = t_ns;
    j.ring = String(args.ring);
    // Another queue had jobs waiting while this queue's job followed its own previous one.
    if (this.last_run_queue === j.queue && this.waiting - j.queue.waiting > 0) this.back_to_back++;
    this.last_run_queue = j.queue;
    this.stop_waiting(j);
    // A job that already ended (its fence signalled first) does not count as started.
    if (!j.ended_point) {
      j.started_point = true;
      this.point(t_ns, +1);
      if (++this.jobs_on_hw > this.peak_jobs_on_hw) this.peak_jobs_on_hw = this.jobs_on_hw;
    }
    // dependency_order, in causal order: a dependency watched since submit has run (same
    // ring) or finished by now; one already final at submit had finished.
    const deps = j.dep_jobs;
    if (deps !== null) {
      let pipelined = false;
      for (let i = 0; i < deps.length; i++) {
        const d = deps[i];
        if (d === null || d.finished_ns >= 0) continue;
        const same_ring = d.ring !== null && d.ring === j.ring;
        if (same_ring && d.run_ns >= 0) { pipelined = true; continue; }
        this.job_break(j, 'dependency_order', same_ring ? 'same-ring dependency' : 'cross-ring dependency',
          `${j.logical} ran at ${t_ns} ns before its dependency ${d.logical} had ${same_ring ? 'run' : 'finished'} (run ${d.run_ns}, finished ${d.finished_ns})`, t_ns);
        break;
      }
      if (pipelined) this.pipelined++;
      j.dep_jobs = null;
    }
    const credits = this.options.credits_per_job;
    if (credits !== null && credits !== undefined && !this.credit_broken) {
      let set = this.in_flight.get(j.ring);
      if (set === undefined) this.in_flight.set(j.ring, (set = new Set()));
      set.add(j);
      const count = Number(args.hw_job_count);
      if (count > set.size * credits) {
        this.credit_broken = true;
        this.run_break('credit_leak', `credit count of ring ${j.ring.replace(/-\d+$/, '-N')}`,
          `${j.logical} runs with hw_job_count ${count} but only ${set.size} job(s) of ${credits} credit(s) are in flight on ${j.ring}`, t_ns);
      }
    }
  }

  private stop_waiting(j: LiveJob): void {
    if (!j.waiting) return;
    j.waiting = false;
    j.queue.waiting--;
    this.waiting--;
  }

  private on_signaled(j: LiveJob, t_ns: number, error: number): void {
    j.finished_ns = t_ns;
    this.stop_waiting(j);
    this.progress_ns = t_ns;
    this.work_in_flight_ns -= j.work_ns;
    j.error = error;
    this.finished++;
    if (error !== 0) this.errored++;
    else this.fault_pending = false;
    if (t_ns > this.last_finish_ns) this.last_finish_ns = t_ns;
    if (j.hw_done_ns < 0) this.job_end_point(j, t_ns);
    // signal_order: against the highest-numbered job of the queue signalled so far.
    const q = j.queue;
    if (q.latest_index > j.index && !(q.latest_error !== 0 && error !== 0)) {
      this.job_break(j, 'signal_order', 'finished fences of one queue',
        `${q.key}: ${q.key}#${q.latest_index} (error ${q.latest_error}) signalled before the earlier ${j.logical} (error ${error})`, t_ns);
    }
    if (j.index > q.latest_index) { q.latest_index = j.index; q.latest_error = error; }
    if (j.freed_ns >= 0) this.finalize(j);
  }

  private on_reset(t_ns: number, start: boolean): void {
    if (start) {
      this.disturb();
      this.reset_open = t_ns;
      this.point(t_ns, -2);
    } else if (this.reset_open >= 0) {
      this.reset_open = -1;
      this.point(t_ns, +2);
    }
  }

  /* -------------------------------------------------------------------------------------- */
  /* Final jobs                                                                              */

  private finalize(j: LiveJob): void {
    if (j.final) return;
    j.final = true;
    const situation = this.situation_of(j);
    const outcome = outcome_of(j);
    let per = this.outcomes[situation];
    if (per === undefined) this.outcomes[situation] = (per = {});
    per[outcome] = (per[outcome] ?? 0) + 1;
    // Checked on every job: it signalled (never_signalled is only ever broken at the end).
    let applicable = JOB_BIT.never_signalled | JOB_BIT.signal_order;
    this.tally('never_signalled').checked++;
    this.tally('signal_order').checked++;
    if (j.run_ns >= 0) { applicable |= JOB_BIT.dependency_order; this.tally('dependency_order').checked++; }
    if (situation === 'undisturbed') {
      applicable |= JOB_BIT.job_result;
      this.tally('job_result').checked++;
      if (j.error !== 0 || j.finished_ns < 0) {
        this.job_break(j, 'job_result', 'undisturbed job',
          j.finished_ns < 0 ? `${j.logical} never finished` : `${j.logical} finished with ${errno_name(j.error ?? 0)} (${j.run_ns >= 0 ? 'ran' : 'never ran'})`, j.finished_ns);
      }
    }
    if (j.kill_checked !== null && this.hw_starts_reported) {
      // Not handed to run_job when its queue was killed: it must never start. run_job alone
      // proves nothing (xe's run_job on a killed queue emits nothing to the ring), the start does.
      applicable |= JOB_BIT.killed_unstarted;
      this.tally('killed_unstarted').checked++;
      if (j.hw_start_ns >= 0) {
        this.job_break(j, 'killed_unstarted', 'job started after its queue was killed',
          `${j.logical} started on the hardware at ${j.hw_start_ns} ns; ${j.kill_checked.by} killed its queue at ${j.kill_checked.t_ns} ns, before it was handed to run_job`, j.hw_start_ns);
      }
    }
    this.record_latencies(j);
    const q = j.queue;
    if (j.freed_ns > q.released_ns) q.released_ns = j.freed_ns;
    this.set_masks(q, j.index, applicable, j.broken, outcome, situation);
    if (this.retained !== null) this.retained.push(record_of(j, situation, outcome));
    // An emptied context goes: a run with a thousand queues would otherwise walk a thousand
    // empty maps at every destroy, reset and unplug (each_in_flight). Its order does not matter.
    const by_seqno = this.live.get(j.fence_context);
    if (by_seqno !== undefined && by_seqno.delete(j.fence_seqno) && by_seqno.size === 0) this.live.delete(j.fence_context);
  }

  private situation_of(j: LiveJob): Situation {
    if (j.hang) return 'hung';
    if (j.killed !== null) return j.killed;
    if (j.unplugged) return 'unplugged';
    // Its own timeout counts whenever the timed-out event comes: the event follows the handler,
    // which may have completed the job already (-ETIMEDOUT, or what the reset did to it).
    if (j.timedout || j.disturbed) return 'device event';
    for (const f of j.dep_fences) if (f.error !== 0) return 'dependency failed';
    return 'undisturbed';
  }

  private record_latencies(j: LiveJob): void {
    const L = this.latency;
    if (j.finished_ns >= 0) L.submit_to_finished_us.add(ns_to_us(j.finished_ns - j.submitted_ns));
    // Data ready: queued, and every dependency signalled (backend-neutral).
    let ready = j.queued_ns;
    for (const f of j.dep_fences) {
      if (!f.signaled) { ready = -1; break; }
      if (f.timestamp_ns > ready) ready = f.timestamp_ns;
    }
    if (j.run_ns >= 0) {
      L.submit_to_run_job_us.add(ns_to_us(j.run_ns - j.submitted_ns));
      if (ready >= 0) L.ready_to_run_job_us.add(ns_to_us(Math.max(0, j.run_ns - ready)));
    }
    if (j.hw_start_ns >= 0) {
      L.submit_to_hw_start_us.add(ns_to_us(j.hw_start_ns - j.submitted_ns));
      if (ready >= 0) L.ready_to_hw_start_us.add(ns_to_us(Math.max(0, j.hw_start_ns - ready)));
    }
    if (j.hw_done_ns >= 0 && j.freed_ns >= 0) L.done_to_free_us.add(ns_to_us(Math.max(0, j.freed_ns - j.hw_done_ns)));
  }

  /* -------------------------------------------------------------------------------------- */
  /* Bookkeeping                                                                             */

  private queue(client: string, queue: string): QueueState {
    const key = `${client}/${queue}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      q = {
        key, client, jobs: 0, destroy_call_ns: -1, destroy_return_ns: -1, released_ns: -1, latest_index: -1, latest_error: 0, waiting: 0,
        masks: this.options.pairing === true ? { applicable: new Uint8Array(64), broken: new Uint8Array(64), outcome: [], situation: [], count: 0 } : null,
      };
      this.queues.set(key, q);
    }
    return q;
  }

  private set_masks(q: QueueState, index: number, applicable: number, broken: number, outcome: string, situation: string): void {
    const m = q.masks;
    if (m === null) return;
    if (index >= m.applicable.length) {
      const size = Math.max(index + 1, 2 * m.applicable.length);
      const a = new Uint8Array(size), b = new Uint8Array(size);
      a.set(m.applicable); b.set(m.broken);
      m.applicable = a; m.broken = b;
    }
    m.applicable[index] = applicable;
    m.broken[index] = broken;
    m.outcome[index] = outcome;
    m.situation[index] = situation;
    if (index >= m.count) m.count = index + 1;
  }

  private tally(id: GuaranteeId): GuaranteeTally {
    return (this.tallies[id] ??= { checked: 0, broken: 0, examples: [] });
  }

  private job_break(j: LiveJob, id: GuaranteeId, site: string, message: string, t_ns: number): void {
    if ((j.broken & JOB_BIT[id]) !== 0) return;
    j.broken |= JOB_BIT[id];
    this.add_break({ guarantee: id, subject: j.logical, site, message, time_ns: t_ns });
  }

  private run_break(id: GuaranteeId, site: string, message: string, t_ns: number): void {
    this.add_break({ guarantee: id, subject: '', site, message, time_ns: t_ns });
  }

  private add_break(b: Break): void {
    const t = this.tally(b.guarantee);
    t.broken++;
    if (t.examples.length < BREAK_EXAMPLES_MAX) t.examples.push(b);
  }

  private point(t_ns: number, delta: number): void {
    if (this.options.timeout_ms === null || this.options.timeout_ms === undefined) return;
    if (this.points_n === this.points_t.length) {
      const t = new Float64Array(2 * this.points_n), d = new Int8Array(2 * this.points_n);
      t.set(this.points_t); d.set(this.points_d);
      this.points_t = t; this.points_d = d;
    }
    this.points_t[this.points_n] = t_ns;
    this.points_d[this.points_n++] = delta;
  }

  /** The first of hardware done and fence signalled: a started job ended (progress). */
  private job_end_point(j: LiveJob, t_ns: number): void {
    if (j.ended_point) return;
    j.ended_point = true;
    if (j.started_point) { this.point(t_ns, -1); this.jobs_on_hw--; }
  }

  /* -------------------------------------------------------------------------------------- */
  /* End of run                                                                              */

  /**
   * The run is over (teardown done or abandoned): jobs still live are final now (never
   * signalled ones break never_signalled), run-level checks are made, and the observation is
   * returned. `now_ns` is the kernel's time at the end.
   */
  end(kernel: Kernel): Observation {
    const now_ns = kernel.now();
    if (this.ended) throw new Error('RunMonitor.end called twice');
    this.ended = true;
    const left: LiveJob[] = [];
    for (const by_seqno of this.live.values()) for (const j of by_seqno.values()) left.push(j);
    left.sort((a, b) => a.submitted_ns - b.submitted_ns || (a.logical < b.logical ? -1 : 1));
    const missing: LiveJob[] = [];
    for (const j of left) {
      if (j.finished_ns < 0) missing.push(j);
    }
    for (const j of missing) this.job_break(j, 'never_signalled', 'finished fence after teardown', `finished fence of ${j.logical} never signalled`, now_ns);
    for (const j of left) this.finalize(j);
    this.score_leak();
    this.tdr_late(kernel, now_ns);
    const queues: QueueRecord[] = [...this.queues.values()].map((q) => ({
      queue: q.key, jobs: q.jobs, destroy_call_ns: q.destroy_call_ns, destroy_return_ns: q.destroy_return_ns, released_ns: q.released_ns,
    }));
    const latency = Object.fromEntries(LATENCY_NAMES.map((n) => [n, this.latency[n].result()])) as Record<LatencyName, LatencyResult>;
    return {
      submitted: this.submitted, finished: this.finished, errored: this.errored, never_finished: this.submitted - this.finished,
      guarantees: this.tallies, outcomes: this.outcomes, latency, first_submit_ns: this.first_submit_ns, last_finish_ns: this.last_finish_ns,
      queues, jobs: this.retained, timeouts: this.timeouts, peak_jobs_alive: this.peak_jobs_alive, pipelined_jobs: this.pipelined,
      peak_jobs_on_hw: this.peak_jobs_on_hw, back_to_back_runs: this.back_to_back,
    };
  }

  /** Records held for jobs not yet final (what the monitor's memory grows with). */
  live_jobs(): number {
    let n = 0;
    for (const by_seqno of this.live.values()) n += by_seqno.size;
    return n;
  }

  /** Every job whose submit succeeded has had its finished fence signalled. */
  all_signalled(): boolean {
    return this.finished === this.submitted;
  }

  /** Masks of every queue (pairing mode), for the cross-backend diff. */
  masks(): ReadonlyMap<string, QueueMasks> {
    const out = new Map<string, QueueMasks>();
    for (const [k, q] of this.queues) if (q.masks !== null) out.set(k, q.masks);
    return out;
  }

  private score_leak(): void {
    this.tally('score_leak').checked += this.scores.length > 0 ? 1 : 0;
    for (const s of this.scores) {
      if (s.score === 0 || !Number.isFinite(s.score)) continue;
      const killed = this.outcomes['killed before start']?.[`cancelled ${errno_name(-ESRCH)}`] ?? 0;
      const unfinished = this.submitted - this.finished;
      const cause = unfinished === 0 && killed >= s.score ? 'killed jobs' : unfinished > 0 ? 'unfinished jobs' : 'other';
      this.run_break('score_leak', `${s.name} at teardown (${cause})`,
        `scheduler score ${s.score} at fini, expected 0 (${killed} job(s) killed before they ran, ${unfinished} never finished)`, s.t_ns);
    }
  }

  /**
   * tdr_late: with a TDR period T, the device never goes T plus slack without progress (a
   * completion or a timeout) while a job is in flight on it. Inside a device recovery nothing is
   * late; its start and end are progress. The default slack depends on timer.wheel; the run
   * reads that assumption only if the silences tell the two slacks apart (none longer than the
   * smaller: no break under either).
   */
  private tdr_late(kernel: Kernel, now_ns: number): void {
    const timeout_ms = this.options.timeout_ms;
    if (timeout_ms === null || timeout_ms === undefined) return;
    this.tally('tdr_late').checked++;
    let slack_ns = this.options.tdr_slack_ns;
    if (slack_ns === undefined) {
      const wheel = tdr_slack_ns(kernel, timeout_ms, 'wheel'), exact = tdr_slack_ns(kernel, timeout_ms, 'exact-jiffy');
      if (wheel !== exact && this.tdr_silence(now_ns, timeout_ms * MS + Math.min(wheel, exact)) === null) return;
      slack_ns = wheel === exact ? wheel : kernel.assume(TIMER_WHEEL) === 'wheel' ? wheel : exact;
    }
    const late = this.tdr_silence(now_ns, timeout_ms * MS + slack_ns);
    if (late === null) return;
    this.run_break('tdr_late', 'timeout detection',
      `no completion and no timeout for ${(late.gap_ns / MS).toFixed(1)} ms with jobs in flight (TDR period ${timeout_ms} ms, slack ${(slack_ns / MS).toFixed(1)} ms)`, late.t_ns);
  }

  /** The first silence with jobs in flight longer than `limit_ns`: where it is noticed and how long, or null. */
  private tdr_silence(now_ns: number, limit_ns: number): { t_ns: number; gap_ns: number } | null {
    const n = this.points_n;
    const order = Array.from({ length: n }, (_, i) => i);
    // Ends before starts at one instant: a completion at t is progress for whatever ran at t.
    order.sort((a, b) => this.points_t[a] - this.points_t[b] || this.points_d[a] - this.points_d[b] || a - b);
    const window_end = Math.min(this.unplug_ns, now_ns);
    let pending = 0, since = 0, recovering = 0;
    const step = (t: number, delta: number): boolean => {
      if (recovering === 0 && pending > 0 && t - since > limit_ns) return false;
      if (delta === -2 || delta === 2) { recovering += delta === -2 ? 1 : -1; since = t; return true; }
      if (recovering > 0 || delta <= 0 || pending === 0) since = t;
      pending += delta;
      return true;
    };
    for (const i of order) {
      const t = this.points_t[i];
      if (t > window_end) break;
      if (!step(t, this.points_d[i])) return { t_ns: t, gap_ns: t - since };
    }
    return step(window_end, 0) ? null : { t_ns: window_end, gap_ns: window_end - since };
  }
}

/**
 * How late a TDR may legitimately be: a delayed work's timer runs when the timer wheel runs it,
 * up to one granule of its level after its expiry (plus the jiffy it was armed in; kernel/time/
 * timer.c calc_wheel_index), and the re-arming work and the TDR work each wait for a kworker
 * wake-up (at most the distribution's maximum), possibly behind one item; 100 µs for the
 * handler's own work. `timer_wheel`: the value of the timer.wheel assumption it is for.
 */
export function tdr_slack_ns(kernel: Kernel, timeout_ms: number, timer_wheel: 'wheel' | 'exact-jiffy'): number {
  const c = kernel.costs;
  const jiffy_ns = Math.ceil(1e9 / kernel.HZ);
  const wheel_ns = timer_wheel === 'wheel' ? timer_wheel_granularity(kernel.jiffies.msecs_to_jiffies(timeout_ms), kernel.HZ) * jiffy_ns : 0;
  return jiffy_ns + wheel_ns + 3 * (cost_max_ns(c.kworker_wakeup_ns) + cost_max_ns(c.work_dispatch_ns)) + 100_000;
}

function outcome_of(j: LiveJob): string {
  if (j.finished_ns < 0) return 'never';
  if (j.error === 0) return 'ok';
  const started = j.hw_start_ns >= 0 || j.run_ns >= 0;
  return `${started ? 'error' : 'cancelled'} ${errno_name(j.error ?? 0)}`;
}

function record_of(j: LiveJob, situation: Situation, outcome: string): JobRecord {
  const ready = j.dep_fences.every((f) => f.signaled)
    ? j.dep_fences.reduce((t, f) => Math.max(t, f.timestamp_ns), j.queued_ns) : -1;
  return {
    logical: j.logical, client: j.client, queue: j.queue.key.slice(j.client.length + 1), iteration: j.iteration, submit_error: 0,
    submitted_ns: j.submitted_ns, queued_ns: j.queued_ns, deps_resolved_ns: j.queued_ns < 0 ? -1 : ready, run_ns: j.run_ns,
    hw_start_ns: j.hw_start_ns, hw_done_ns: j.hw_done_ns, finished_ns: j.finished_ns, error: j.error, freed_ns: j.freed_ns,
    timedout: j.timedout, deps: j.dep_ids, ring: j.ring, situation, outcome,
  };
}

function failed_record(job: { logical: string; client: string; queue: string; iteration: number; submitted_ns: number; error: number }): JobRecord {
  return {
    logical: job.logical, client: job.client, queue: job.queue, iteration: job.iteration, submit_error: job.error, submitted_ns: job.submitted_ns,
    queued_ns: -1, deps_resolved_ns: -1, run_ns: -1, hw_start_ns: -1, hw_done_ns: -1, finished_ns: -1, error: null, freed_ns: -1,
    timedout: false, deps: [], ring: null, situation: 'undisturbed', outcome: `submit ${errno_name(job.error)}`,
  };
}

/** ns to µs (a module function: a closure per job would cost an allocation each). */
function ns_to_us(ns: number): number {
  return ns / 1000;
}
