/**
 * The runner: interprets a Workload on one device (driver + backend) in one simulated kernel.
 * Each client's program runs in its own process task (its submitting thread); workload
 * randomness comes from streams named after the client only, never the backend, so both
 * backends see the same draws (common random numbers). After the programs end the runner
 * waits for the GPU to drain, closes every client, unplugs the device and checks that nothing
 * is left alive. A run monitor (monitor.ts) observes it as it happens, from the kernel's trace
 * events and the runner's own calls, in memory that grows with the jobs in flight; the full
 * trace is recorded only when an output needs it (trace: 'record').
 *
 * A run has no built-in time limit: a workload may last as long as its format allows. A hang
 * watchdog tells a stuck run from a long one by progress (hang_deadline_ns): the run is stuck
 * when its programs are not done (or, draining, its jobs are not) and nothing progressed (no
 * program step, no job submitted, queued, run or finished) for longer than anything the run is
 * waiting for can take. The watchdog sleeps until that deadline and is woken early only by a
 * program's end, so an hour of virtual time costs it a handful of wake-ups.
 */
import {
  ENOENT, Kernel, SimulationHang, type AssumptionValues, dma_fence, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_signal, dma_fence_wait, fsleep,
  spin_lock_init, type CostOverrides, type KernelOptions, type Sleepable, type Task, type dma_fence_ops,
  wait_queue_head,
} from '@deplab/sim';
import type { Backend, ClientHandle, Device, DeviceFactory, DeviceOptions, JobHandle, QueueHandle } from '@deplab/driver-api';
import { draw } from '../workload/draw.ts';
import { RunMonitor, type MonitorOptions, type Observation } from './monitor.ts';
import type { BatchStep, ClientDefinition, Dependency, EventAction, Workload } from '../workload/types.ts';

export interface RunOptions {
  readonly seed: number;
  readonly costs?: CostOverrides;
  /** Selected modelling assumptions (packages/sim/assumptions.ts). */
  readonly assume?: AssumptionValues;
  /** Probability that a non-sleeping allocation fails (fault injection; kernel.faults). */
  readonly alloc_fail_probability?: number;
  readonly kernel?: Omit<KernelOptions, 'seed' | 'costs' | 'trace'>;
  readonly device?: DeviceOptions;
  /**
   * A fixed virtual-time budget for the programs, polled every simulated ms, instead of the hang
   * watchdog (exploration runs use short ones, execute.ts). Default: none, the watchdog decides.
   */
  readonly max_time_ms?: number;
  /**
   * A fixed time to wait for in-flight jobs after the programs end, and for the asynchronous
   * teardown after unplug (default: the watchdog decides when draining is stuck; teardown 120 s).
   */
  readonly drain_ms?: number;
  /**
   * Virtual time between closing the last client and unplugging the device (default 1000 ms):
   * drivers finish their asynchronous teardown first, as on a real system where unplug comes
   * later. 0 unplugs at once (a teardown race the exploration campaigns use).
   */
  readonly settle_ms?: number;
  /** Trace detail: 'jobs' (default; what the monitor needs) or 'full' (for trace exports). */
  readonly trace_detail?: 'full' | 'jobs';
  /** Keep every trace event (exports, exploration timelines); by default only a digest is kept. */
  readonly record?: boolean;
  /** What the run monitor keeps and checks (retained records, pairing masks, TDR period, credits). */
  readonly monitor?: MonitorOptions;
  /**
   * 'on-demand': lockdep captures only the first LOCKDEP_SITES_EAGER call sites of the run
   * (KernelOptions.lockdep_sites); if a report printed a later one, the run is made again with
   * every site captured, so the outcome is that of 'capture' (the default). Not with a
   * tie-breaker of the caller's: a stateful one would not replay the same run.
   */
  readonly lockdep_sites?: 'capture' | 'on-demand';
}

/** One job the runner submitted, by its logical identity (the same on both backends). */
export interface SubmittedJob {
  /** "<client>/<queue>#<n>": the n-th job submitted on that queue (0-based). */
  readonly logical: string;
  readonly client: string;
  readonly queue: string;
  readonly step_index: number;
  readonly iteration: number;
  readonly submit_call_ns: number;
  readonly submit_return_ns: number;
  /** Negative errno when the submit ioctl failed. */
  readonly submit_error: number;
  readonly fence_context: number;
  readonly fence_seqno: number;
  /** Logical ids of the jobs this one depends on (step, last_job and buffer deps). */
  readonly deps: readonly string[];
}

export interface QueueTeardown {
  readonly queue: string;
  readonly destroy_call_ns: number;
  readonly destroy_return_ns: number;
}

export interface RunOutcome {
  readonly kernel: Kernel;
  readonly device: Device;
  readonly workload: Workload;
  readonly backend: Backend;
  readonly seed: number;
  /** Every submitted job (only when the monitor retains records; null otherwise). */
  readonly jobs: readonly SubmittedJob[] | null;
  readonly teardown: readonly QueueTeardown[];
  /** What the run monitor saw. */
  readonly observation: Observation;
  readonly monitor: RunMonitor;
  readonly unplug_call_ns: number;
  readonly unplug_return_ns: number;
  /** Programs that ran to their end (vs stopped by close/unplug or the time budget). */
  readonly programs_completed: number;
  /** Why the run did not end cleanly: programs still running at max_time, or teardown never settling. */
  readonly stuck: string | null;
  /** Where it got stuck: 'run_workload' (also a kernel violation) or 'teardown' (the simulation hung). */
  readonly stuck_at: 'run_workload' | 'teardown' | null;
  /** Times the hang watchdog woke up (few, however long the run: it sleeps until its deadline). */
  readonly watchdog_wakeups: number;
}

const harness_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'deplab-harness',
  get_timeline_name: (f) => String(f.owner),
};

interface ClientState {
  readonly def: ClientDefinition;
  readonly handle: ClientHandle;
  readonly queues: Map<string, QueueHandle>;
  closed: boolean;
  /** Jobs of this client, in submission order, for throttle. */
  readonly submitted: JobHandle[];
  /** Per queue, this client's jobs not yet seen complete (queue_depth), oldest first. */
  readonly incomplete: Map<QueueHandle, JobHandle[]>;
  /** destroy_queue events of this client in progress: its close waits for them. */
  destroying: number;
  task: Task | null;
  /**
   * Where the program is blocked, for the report of a stuck run (null while it runs): what it
   * is in, on what (a queue name, or a job whose logical id is looked up only if a report
   * prints it), since when. Plain fields, the outer ones on `blocked_saved` while a nested
   * block lasts: no object or text is made per wait.
   */
  blocked_what: string | null;
  blocked_on: string | JobHandle | null;
  blocked_since: number;
  readonly blocked_saved: (string | JobHandle | number | null)[];
  /** The program's current iteration. */
  iteration: number;
}

class Run {
  readonly kernel: Kernel;
  readonly device: Device;
  readonly workload: Workload;
  readonly monitor: RunMonitor;
  readonly clients = new Map<string, ClientState>();
  /** Every submitted job, only when the monitor retains records (exploration, exports). */
  readonly jobs: SubmittedJob[] | null;
  readonly teardown: QueueTeardown[] = [];
  /** Logical ids of the jobs the runner may still name as a dependency (entries die with the handle). */
  readonly logical_of = new WeakMap<JobHandle, string>();
  /**
   * Per queue, its jobs not yet seen signalled, oldest first (a hang_job fault picks the oldest);
   * null when the workload has no hang_job event, so a run pays nothing for it.
   */
  private readonly in_flight: Map<QueueHandle, JobHandle[]> | null;
  /** Last job per "<client>/<queue>", for last_job deps. */
  readonly last_job = new Map<string, JobHandle>();
  readonly per_queue_count = new Map<string, number>();
  /** Implicit sync per buffer: the last writer and the readers since. */
  readonly buffers = new Map<string, { writer: JobHandle | null; readers: JobHandle[] }>();
  readonly external = new Map<string, dma_fence>();
  readonly progress = new wait_queue_head();
  /** The events triggered after a program step: most workloads have none, so most steps skip the scan. */
  private readonly after_events: readonly Workload['events'][number][];
  unplugged = false;
  programs_completed = 0;
  /** Last program step executed (progress for the hang watchdog; the monitor has the jobs'). */
  step_ns = 0;
  /** Until when a program sleeps (a delay or period) or an event or external fence is due: no progress is owed before. */
  waits_until_ns = 0;
  /** Times the watchdog woke up (a long run costs few: it sleeps until its deadline). */
  watchdog_wakeups = 0;
  /**
   * Out-fence references the runner holds for as long as it may still use a job (as a
   * dependency, for a wait, for throttling): the device's own reference ends with the queue,
   * and a client may depend on a job of a queue destroyed since.
   */
  private readonly held = new Map<dma_fence, number>();

  hold(j: JobHandle): JobHandle {
    dma_fence_get(j.out_fence);
    this.held.set(j.out_fence, (this.held.get(j.out_fence) ?? 0) + 1);
    return j;
  }

  release(j: JobHandle | null | undefined): void {
    if (j === null || j === undefined) return;
    const n = this.held.get(j.out_fence) ?? 0;
    if (n === 0) throw new Error(`runner released a fence it does not hold (${j.fence_context}:${j.fence_seqno})`);
    if (n === 1) this.held.delete(j.out_fence);
    else this.held.set(j.out_fence, n - 1);
    dma_fence_put(j.out_fence);
  }

  /** Drop every reference still held (end of the run). */
  release_all(): void {
    for (const [f, n] of this.held) for (let i = 0; i < n; i++) dma_fence_put(f);
    this.held.clear();
  }
  private readonly fence_context: number;
  private fence_seqno = 0;

  constructor(kernel: Kernel, device: Device, workload: Workload, monitor: RunMonitor, retain: boolean) {
    this.kernel = kernel;
    this.device = device;
    this.workload = workload;
    this.monitor = monitor;
    this.jobs = retain ? [] : null;
    this.after_events = workload.events.filter((ev) => ev.trigger.kind === 'after');
    this.in_flight = workload.events.some((ev) => ev.action.kind === 'hang_job') ? new Map() : null;
    this.fence_context = kernel.dma_fence_context_alloc(1);
    for (const ev of workload.events) if (ev.trigger.kind === 'at') this.waits_until_ns = Math.max(this.waits_until_ns, ev.trigger.at_us * 1000);
    for (const f of workload.external_fences) if (f.signal_at_us !== null) this.waits_until_ns = Math.max(this.waits_until_ns, f.signal_at_us * 1000);
  }

  /**
   * When a run that has not progressed since then is stuck: after its last progress (or the end
   * of whatever it waits for), the GPU work in flight (a working device finishes one of those
   * jobs within it, however it shares its engines), plus the quiet period: twice the TDR (a hung
   * job is killed within one, the job behind it within another), at least WATCHDOG_QUIET_MIN_MS.
   */
  hang_deadline_ns(tdr_ms: number): number {
    const progress = Math.max(this.step_ns, this.monitor.progress_ns, this.waits_until_ns);
    const quiet_ns = Math.max(WATCHDOG_QUIET_MIN_MS, 2 * tdr_ms) * 1_000_000;
    return progress + this.monitor.work_in_flight_ns + quiet_ns;
  }

  /** Sleep until `done()` holds or the hang watchdog's deadline passes with no progress; true when done. */
  *watch(done: () => boolean, tdr_ms: number): Sleepable<boolean> {
    const k = this.kernel;
    for (;;) {
      if (done()) return true;
      const deadline = this.hang_deadline_ns(tdr_ms);
      if (k.now() >= deadline) return false;
      yield* k.wait_until(this.progress, done, deadline);
      this.watchdog_wakeups++;
    }
  }

  sw_fence(name: string): dma_fence {
    const f = new dma_fence(this.kernel, 'harness.sw_fence');
    f.owner = name;
    dma_fence_init(f, harness_fence_ops, spin_lock_init(this.kernel, 'harness_fence_lock'), this.fence_context, ++this.fence_seqno);
    return f;
  }

  setup(): void {
    for (const ext of this.workload.external_fences) {
      const f = this.sw_fence(ext.name);
      this.external.set(ext.name, f);
      if (ext.signal_at_us !== null) {
        this.kernel.call_softirq_at(ext.signal_at_us * 1000, { fn: signal_if_pending, target: f }, 0);
      }
    }
    for (const def of this.workload.clients) {
      const handle = this.device.open_client(def.name);
      const state: ClientState = { def, handle, queues: new Map(), closed: false, submitted: [], incomplete: new Map(), destroying: 0, task: null, blocked_what: null, blocked_on: null, blocked_since: 0, blocked_saved: [], iteration: 0 };
      for (const q of def.queues) {
        const h = this.device.create_queue(handle, {
          engine: q.engine, priority: q.priority, long_running: q.long_running, driver: q.driver ?? undefined,
        });
        if (typeof h === 'number') throw new RunError(`${def.name}: create_queue(${q.name}) failed with ${h}`);
        state.queues.set(q.name, h);
      }
      this.clients.set(def.name, state);
    }
  }

  start(): void {
    for (const state of this.clients.values()) state.task = this.kernel.spawn(`client/${state.def.name}`, this.program(state));
    this.workload.events.forEach((ev, i) => {
      if (ev.trigger.kind !== 'at') return;
      const at_ns = ev.trigger.at_us * 1000;
      const run = this;
      this.kernel.spawn(`event/${i}`, (function* (): Sleepable {
        const k = run.kernel;
        if (at_ns > k.now()) yield* k.wait_until(null, () => false, at_ns);
        yield* run.perform(ev.action);
      })());
    });
  }

  private *program(state: ClientState): Sleepable {
    const k = this.kernel;
    const def = state.def;
    const stream = k.random.stream(`workload/${def.name}`);
    const start = k.now();
    let throttle = 0, queue_depth = 0;
    for (let iteration = 0; ; iteration++) {
      state.iteration = iteration;
      if (def.program.end.kind === 'loops' && iteration >= def.program.end.loops) break;
      if (def.program.end.kind === 'duration' && k.now() - start >= def.program.end.duration_us * 1000) break;
      const iteration_start = k.now();
      const jobs: (JobHandle | null)[] = new Array(def.program.steps.length).fill(null);
      const fences: (dma_fence | null)[] = new Array(def.program.steps.length).fill(null);
      for (let i = 0; i < def.program.steps.length; i++) {
        if (state.closed || this.unplugged) { this.end_iteration(jobs, fences); return; }
        const step = def.program.steps[i];
        this.step_ns = k.now();
        switch (step.kind) {
          case 'batch': {
            if (throttle > 0 && state.submitted.length >= throttle) {
              yield* this.wait_job(state, state.submitted[state.submitted.length - throttle]);
              // Closed or unplugged while waiting: the queue may be gone.
              if (state.closed || this.unplugged) { this.end_iteration(jobs, fences); return; }
            }
            const job = yield* this.submit(state, step, i, iteration, jobs, fences, stream);
            jobs[i] = job === null ? null : this.hold(job);
            if (job !== null) {
              // Throttling looks back at most `throttle` batches: keep (and hold) no more.
              state.submitted.push(this.hold(job));
              while (state.submitted.length > Math.max(throttle, 1)) this.release(state.submitted.shift());
              if (queue_depth > 0) yield* this.limit_depth(state, job.queue, queue_depth);
              if (step.wait) yield* this.wait_job(state, job);
            }
            break;
          }
          case 'delay': {
            const us = draw(step.duration, stream);
            this.waits_until_ns = Math.max(this.waits_until_ns, k.now() + us * 1000);
            yield* fsleep(k, us);
            break;
          }
          case 'period': {
            const until = iteration_start + step.period_us * 1000;
            this.waits_until_ns = Math.max(this.waits_until_ns, until);
            if (k.now() < until) yield* k.wait_until(null, () => false, until);
            else k.tp('harness_period_missed', { client: def.name, iteration });
            break;
          }
          case 'sync': { const j = jobs[step.step_index]; if (j !== null) yield* this.wait_job(state, j); break; }
          case 'throttle': throttle = step.depth; break;
          case 'queue_depth': queue_depth = step.depth; break;
          case 'set_priority': { const q = state.queues.get(step.queue); if (q) this.device.set_priority(q, step.priority); break; }
          case 'fence': fences[i] = this.sw_fence(`${def.name}/step${i}/it${iteration}`); break;
          case 'signal': {
            // Like a sw_sync timeline: signalling one fence signals every earlier one too.
            for (let s = 0; s <= step.step_index; s++) if (fences[s] !== null) signal_if_pending(fences[s]!);
            break;
          }
          case 'terminate': { const j = jobs[step.step_index]; if (j !== null) this.device.complete_manual(j); break; }
        }
        if (this.after_events.length > 0) yield* this.after_step(state, i, iteration);
      }
      this.end_iteration(jobs, fences);
    }
    this.programs_completed++;
    this.kernel.wake_up(this.progress);
  }

  private *after_step(state: ClientState, step_index: number, iteration: number): Sleepable {
    for (const ev of this.after_events) {
      const t = ev.trigger;
      if (t.kind !== 'after' || t.client !== state.def.name || t.step_index !== step_index || t.loop !== iteration) continue;
      const a = ev.action;
      yield* this.blocked_in(state, `in ${a.kind}${'queue' in a ? `(${a.client}/${a.queue})` : 'client' in a ? `(${a.client})` : ''}`, this.perform(a));
    }
  }

  /** Run `body` with the program marked as blocked in it (a stuck run names where each program is). */
  private *blocked_in<T>(state: ClientState, what: string, body: Sleepable<T>): Sleepable<T> {
    this.block(state, what, null);
    const r = yield* body;
    this.unblock(state);
    return r;
  }

  /** The program is blocked in `what` (on a queue or a job) from now until unblock(). */
  private block(state: ClientState, what: string, on: string | JobHandle | null): void {
    state.blocked_saved.push(state.blocked_what, state.blocked_on, state.blocked_since);
    state.blocked_what = what;
    state.blocked_on = on;
    state.blocked_since = this.kernel.now();
  }

  private unblock(state: ClientState): void {
    const saved = state.blocked_saved;
    state.blocked_since = saved.pop() as number;
    state.blocked_on = saved.pop() as string | JobHandle | null;
    state.blocked_what = saved.pop() as string | null;
  }

  /** Wait for a job's out-fence to signal (block/unblock, not blocked_in: no wrapper generator per job). */
  private *wait_job(state: ClientState, j: JobHandle): Sleepable {
    if (j.out_fence.signaled) return;
    this.block(state, 'waiting for', j);
    yield* wait_fence(j.out_fence);
    this.unblock(state);
  }

  /** The text of where a blocked program is. */
  private blocked_text(state: ClientState): string {
    const on = state.blocked_on;
    if (on === null) return state.blocked_what!;
    return `${state.blocked_what} ${typeof on === 'string' ? on : this.logical_of.get(on) ?? 'a job'}`;
  }

  /** Where each program that has not ended is: for the report of a stuck run. */
  programs_at(): string {
    const at: string[] = [];
    for (const s of this.clients.values()) {
      if (s.task === null || s.task.done) continue;
      at.push(s.blocked_what === null ? `${s.def.name} running (iteration ${s.iteration})`
        : `${s.def.name} ${this.blocked_text(s)} since ${(s.blocked_since / 1e6).toFixed(3)} ms`);
    }
    if (this.unplug_call_ns >= 0) at.push(`device unplugged at ${(this.unplug_call_ns / 1e6).toFixed(3)} ms${this.unplug_return_ns < 0 ? ' (removal not returned)' : ''}`);
    return at.join('; ');
  }

  /** The end of a program iteration: its fence steps are signalled and dropped, its jobs released. */
  private end_iteration(jobs: readonly (JobHandle | null)[], fences: readonly (dma_fence | null)[]): void {
    for (const f of fences) if (f !== null) { signal_if_pending(f); dma_fence_put(f); }
    for (const j of jobs) this.release(j);
  }

  private *submit(state: ClientState, step: BatchStep, index: number, iteration: number, jobs: (JobHandle | null)[],
    fences: (dma_fence | null)[], stream: ReturnType<Kernel['random']['stream']>): Sleepable<JobHandle | null> {
    const k = this.kernel;
    const queue = state.queues.get(step.queue);
    if (queue === undefined) return this.reject(state, step, index, iteration, -ENOENT); // destroyed by an event
    const deps: dma_fence[] = [];
    const dep_ids: string[] = [];
    for (const dep of step.deps) this.resolve(dep, jobs, fences, deps, dep_ids);
    for (const name of step.reads) this.add_job_dep(deps, dep_ids, this.buffer(name).writer);
    for (const name of step.writes) {
      const b = this.buffer(name);
      this.add_job_dep(deps, dep_ids, b.writer);
      for (const r of b.readers) this.add_job_dep(deps, dep_ids, r);
    }
    const duration_ns = step.duration === 'infinite' ? 'manual' as const : draw(step.duration, stream) * 1000;
    const call = k.now();
    const key = `${state.def.name}/${step.queue}`;
    const n = this.per_queue_count.get(key) ?? 0;
    this.per_queue_count.set(key, n + 1);
    const logical = `${key}#${n}`;
    // The scheduler may queue, run and start the job inside the ioctl: the monitor knows it first.
    const context = k.current.name;
    this.monitor.begin_submit(context, {
      logical, client: state.def.name, queue: step.queue, iteration, submitted_ns: call, dep_fences: deps, dep_ids, hang: step.hang,
      work_ns: duration_ns === 'manual' || step.hang ? 0 : duration_ns,
    });
    this.block(state, 'in the submit ioctl on', step.queue);
    const r = yield* this.device.submit(queue, { duration_ns, credits: step.credits ?? undefined, deps, hang: step.hang });
    this.unblock(state);
    const submit_error = typeof r === 'number' ? r : 0;
    const fence_context = typeof r === 'number' ? -1 : r.fence_context, fence_seqno = typeof r === 'number' ? -1 : r.fence_seqno;
    this.monitor.end_submit(context, { error: submit_error, fence_context, fence_seqno, returned_ns: k.now() });
    this.jobs?.push({
      logical, client: state.def.name, queue: step.queue, step_index: index, iteration,
      submit_call_ns: call, submit_return_ns: k.now(), submit_error, fence_context, fence_seqno, deps: dep_ids,
    });
    if (typeof r === 'number') return null;
    this.logical_of.set(r, logical);
    if (this.in_flight !== null) {
      let list = this.in_flight.get(queue);
      if (list === undefined) this.in_flight.set(queue, (list = []));
      // Drop the signalled head first: the list holds the jobs in flight, not every job of the run.
      if (list.length > 0 && list[0].out_fence.signaled) this.oldest_in_flight(queue);
      list.push(r);
    }
    this.release(this.last_job.get(key));
    this.last_job.set(key, this.hold(r));
    for (const name of step.reads) this.buffer(name).readers.push(this.hold(r));
    for (const name of step.writes) {
      const old = this.buffers.get(name);
      if (old !== undefined) {
        this.release(old.writer);
        for (const reader of old.readers) this.release(reader);
      }
      this.buffers.set(name, { writer: this.hold(r), readers: [] });
    }
    return r;
  }

  /** A batch the runner cannot submit (its queue was destroyed): recorded with the ioctl's error. */
  private reject(state: ClientState, step: BatchStep, index: number, iteration: number, error: number): null {
    const key = `${state.def.name}/${step.queue}`;
    const n = this.per_queue_count.get(key) ?? 0;
    this.per_queue_count.set(key, n + 1);
    const now = this.kernel.now();
    this.monitor.on_submit({
      logical: `${key}#${n}`, client: state.def.name, queue: step.queue, iteration, submitted_ns: now, returned_ns: now, error,
      fence_context: -1, fence_seqno: -1, dep_fences: [], dep_ids: [], hang: false,
    });
    this.jobs?.push({
      logical: `${key}#${n}`, client: state.def.name, queue: step.queue, step_index: index, iteration,
      submit_call_ns: now, submit_return_ns: now, submit_error: error, fence_context: -1, fence_seqno: -1, deps: [],
    });
    return null;
  }

  /** A dependency on a job: its out-fence, and its logical id for the monitor. */
  private add_job_dep(deps: dma_fence[], dep_ids: string[], j: JobHandle | null | undefined): void {
    if (j === null || j === undefined) return;
    deps.push(j.out_fence);
    const logical = this.logical_of.get(j);
    if (logical !== undefined) dep_ids.push(logical);
  }

  private resolve(dep: Dependency, jobs: (JobHandle | null)[], fences: (dma_fence | null)[], deps: dma_fence[], dep_ids: string[]): void {
    switch (dep.on) {
      case 'step':
        // 'submit' deps (gem_wsim s-N) wait for completion here: the device interface has no
        // submit fence (drm_dep has no scheduled fence); see docs/assumptions.md.
        if (jobs[dep.step_index] !== null) this.add_job_dep(deps, dep_ids, jobs[dep.step_index]);
        else if (fences[dep.step_index] !== null) deps.push(fences[dep.step_index]!);
        break;
      case 'last_job':
        this.add_job_dep(deps, dep_ids, this.last_job.get(`${dep.client}/${dep.queue}`));
        break;
      case 'external': {
        const f = this.external.get(dep.fence);
        if (f !== undefined) deps.push(f);
        break;
      }
    }
  }

  private buffer(name: string): { writer: JobHandle | null; readers: JobHandle[] } {
    let b = this.buffers.get(name);
    if (b === undefined) {
      b = { writer: null, readers: [] };
      this.buffers.set(name, b);
    }
    return b;
  }

  /** Keep at most `depth` incomplete jobs of this client on `queue` (gem_wsim "q"). */
  private *limit_depth(state: ClientState, queue: QueueHandle, depth: number): Sleepable {
    let list = state.incomplete.get(queue);
    if (list === undefined) state.incomplete.set(queue, (list = []));
    list.push(this.hold(state.submitted[state.submitted.length - 1]));
    for (;;) {
      let head = 0;
      while (head < list.length && list[head].out_fence.signaled) this.release(list[head++]);
      if (head > 0) list.splice(0, head);
      if (list.length <= depth) return;
      yield* this.wait_job(state, list[0]);
    }
  }

  *perform(action: EventAction): Sleepable {
    const k = this.kernel;
    k.tp('harness_event', { action: action.kind });
    switch (action.kind) {
      case 'set_priority': { const q = this.queue(action.client, action.queue); if (q) this.device.set_priority(q, action.priority); break; }
      case 'destroy_queue': {
        const state = this.clients.get(action.client);
        const q = state?.queues.get(action.queue);
        if (state === undefined || q === undefined || state.closed) break;
        state.queues.delete(action.queue);
        state.destroying++;
        yield* this.destroy(action.client, action.queue, q);
        state.destroying--;
        k.wake_up(this.progress);
        break;
      }
      case 'close_client': yield* this.close(action.client); break;
      case 'hang_job': case 'fw_error': case 'engine_reset': {
        const q = this.queue(action.client, action.queue);
        if (q === undefined) break;
        if (action.kind !== 'hang_job') {
          this.monitor.on_device_event(k.now(), action.client);
          this.device.inject_fault({ kind: action.kind, queue: q });
          break;
        }
        const oldest = this.oldest_in_flight(q);
        if (oldest !== undefined) {
          this.monitor.on_hang(oldest.fence_context, oldest.fence_seqno);
          this.device.inject_fault({ kind: 'hang_job', job: oldest });
        }
        break;
      }
      case 'device_reset': this.monitor.on_device_event(k.now()); this.device.inject_fault({ kind: 'device_reset' }); break;
      case 'unplug': yield* this.unplug(); break;
      case 'signal_fence': { const f = this.external.get(action.fence); if (f) signal_if_pending(f); break; }
    }
  }

  /** The oldest job of `q` whose out-fence has not signalled. */
  private oldest_in_flight(q: QueueHandle): JobHandle | undefined {
    const list = this.in_flight?.get(q);
    if (list === undefined) return undefined;
    let head = 0;
    while (head < list.length && list[head].out_fence.signaled) head++;
    if (head > 0) list.splice(0, head);
    return list[0];
  }

  private queue(client: string, queue: string): QueueHandle | undefined {
    return this.clients.get(client)?.queues.get(queue);
  }

  private *destroy(client: string, queue: string, q: QueueHandle): Sleepable {
    const name = `${client}/${queue}`;
    const call = this.kernel.now();
    this.kernel.tp('harness_destroy_queue', { queue: name, phase: 'call' });
    this.monitor.on_destroy(client, queue, 'call', call);
    yield* this.device.destroy_queue(q);
    this.kernel.tp('harness_destroy_queue', { queue: name, phase: 'return' });
    this.monitor.on_destroy(client, queue, 'return', this.kernel.now());
    this.in_flight?.delete(q);
    this.teardown.push({ queue: name, destroy_call_ns: call, destroy_return_ns: this.kernel.now() });
  }

  *close(client: string): Sleepable {
    const state = this.clients.get(client);
    if (state === undefined || state.closed) return;
    state.closed = true;
    // An ioctl holds a file reference, so release never runs beside a destroy of the same file.
    if (state.destroying > 0) yield* this.kernel.wait_until(this.progress, () => state.destroying === 0);
    const call = this.kernel.now();
    this.kernel.tp('harness_close_client', { client, phase: 'call' });
    for (const name of state.queues.keys()) this.monitor.on_destroy(client, name, 'call', call, 'close');
    yield* this.device.close_client(state.handle);
    this.kernel.tp('harness_close_client', { client, phase: 'return' });
    const ret = this.kernel.now();
    for (const [name, q] of state.queues) {
      this.monitor.on_destroy(client, name, 'return', ret);
      this.in_flight?.delete(q);
      this.teardown.push({ queue: `${client}/${name}`, destroy_call_ns: call, destroy_return_ns: ret });
    }
    state.queues.clear();
  }

  unplug_call_ns = -1;
  unplug_return_ns = -1;

  *unplug(): Sleepable {
    if (this.unplugged) return;
    this.unplugged = true;
    this.unplug_call_ns = this.kernel.now();
    this.monitor.on_unplug(this.unplug_call_ns);
    this.kernel.tp('harness_unplug', { phase: 'call' });
    yield* this.device.unplug();
    this.kernel.tp('harness_unplug', { phase: 'return' });
    this.unplug_return_ns = this.kernel.now();
  }

  /** Clients before this index in this.clients have ended their program (a task, once done, stays done). */
  private programs_done_below = 0;
  private client_list: ClientState[] | null = null;

  all_programs_done(): boolean {
    // Asked at every wake of the watchdog (each program's end): a cursor, not a walk of every client.
    const list = this.client_list ??= [...this.clients.values()];
    let i = this.programs_done_below;
    while (i < list.length && list[i].task !== null && list[i].task!.done) i++;
    this.programs_done_below = i;
    // A client whose program has not been spawned counts as done, as before, but the cursor stays.
    for (; i < list.length; i++) if (list[i].task !== null && !list[i].task!.done) return false;
    return true;
  }

  /** Every submitted job's out-fence signalled. */
  all_jobs_done(): boolean {
    return this.monitor.all_signalled();
  }
}

/** The shortest quiet period of the hang watchdog (virtual time without progress), whatever the TDR. */
export const WATCHDOG_QUIET_MIN_MS = 60_000;

/** Teardown after unplug (drivers' asynchronous release work) must settle within this much virtual time. */
const TEARDOWN_MS = 120_000;

export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

function signal_if_pending(f: dma_fence): void {
  if (!f.signaled) dma_fence_signal(f);
}

function* wait_fence(f: dma_fence): Sleepable {
  if (!f.signaled) yield* dma_fence_wait(f, false);
}

/**
 * Run `workload` on the device `factory` builds for `backend`, with `options.seed`. Throws
 * RunError only for a workload the device cannot set up (a queue it refuses to create).
 */
export function run_workload(workload: Workload, factory: DeviceFactory, backend: Backend, options: RunOptions): RunOutcome {
  if (options.lockdep_sites !== 'on-demand') return run_once(workload, factory, backend, options, 'capture');
  if (options.kernel?.tie_breaker !== undefined) throw new RangeError('run_workload: lockdep_sites \'on-demand\' repeats a run, which a caller\'s tie-breaker may not replay');
  const first = run_once(workload, factory, backend, options, 'on-demand');
  return first.kernel.lockdep_sites_needed ? run_once(workload, factory, backend, options, 'capture') : first;
}

function run_once(workload: Workload, factory: DeviceFactory, backend: Backend, options: RunOptions, lockdep_sites: 'capture' | 'on-demand'): RunOutcome {
  const monitor = new RunMonitor({ run_events: backend === 'dep-hw' ? 'hw-layer' : 'scheduler', ...options.monitor });
  const kernel = new Kernel({
    ...options.kernel, seed: options.seed, costs: options.costs, assume: options.assume,
    trace: options.record === true ? 'record' : 'hash', trace_sink: monitor.on_event,
    trace_detail: options.trace_detail ?? 'jobs', init_name: 'harness', lockdep_sites,
  });
  kernel.faults.alloc_fail_probability = options.alloc_fail_probability ?? 0;
  const device = factory(kernel, backend, options.device);
  monitor.set_hw_starts_reported(device.reports_hw_start === true);
  const run = new Run(kernel, device, workload, monitor, options.monitor?.retain === true);
  // The TDR the watchdog waits for: the device's (when an option sets it), at least a minute (the longest a model driver fixes, amdxdna's).
  const tdr_ms = Math.max(WATCHDOG_QUIET_MIN_MS, options.monitor?.timeout_ms ?? 0);
  const teardown_ns = (options.drain_ms ?? TEARDOWN_MS) * 1_000_000;
  let stuck: string | null = null;
  let stuck_at: 'run_workload' | 'teardown' | null = null;
  run.setup();
  run.start();
  try {
    kernel.run_task((function* (): Sleepable {
      const k = run.kernel;
      if (options.max_time_ms !== undefined) {
        // A fixed budget (exploration): poll the programs' state every simulated ms, as woken by nothing in particular.
        const max_ns = options.max_time_ms * 1_000_000;
        while (!run.all_programs_done() && k.now() < max_ns) yield* k.wait_until(null, () => run.all_programs_done(), Math.min(max_ns, k.now() + 1_000_000));
        if (!run.all_programs_done()) stuck = `programs still running after ${max_ns / 1e9} s of virtual time: ${run.programs_at()}`;
      } else if (!(yield* run.watch(() => run.all_programs_done(), tdr_ms))) {
        stuck = `programs still running with no progress for ${((k.now() - Math.max(run.step_ns, run.monitor.progress_ns)) / 1e9).toFixed(3)} s of virtual time ` +
          `(no program step, no job submitted, run or finished since ${(Math.max(run.step_ns, run.monitor.progress_ns) / 1e9).toFixed(3)} s): ${run.programs_at()}`;
      }
      if (stuck !== null) {
        stuck_at = 'run_workload';
        k.violation('hang', 'run_workload', stuck);
      }
      if (options.drain_ms !== undefined) {
        const drain_until = k.now() + options.drain_ms * 1_000_000;
        while (!run.all_jobs_done() && k.now() < drain_until) yield* k.wait_until(null, () => run.all_jobs_done(), Math.min(drain_until, k.now() + 1_000_000));
      } else if (stuck === null) {
        // Jobs still running when the programs end finish (they are counted as never finished only if nothing progresses any more).
        yield* run.watch(() => run.all_jobs_done(), tdr_ms);
      }
      for (const name of run.clients.keys()) yield* run.close(name);
      const settle_ns = (options.settle_ms ?? 1000) * 1_000_000;
      if (settle_ns > 0 && !run.unplugged) yield* k.wait_until(null, () => false, k.now() + settle_ns);
      yield* run.unplug();
    })());
    // Asynchronous teardown (drm_dep release work, driver destroy workers) finishes here.
    kernel.run_until(() => kernel.eq.peek_time() === Infinity, kernel.now() + teardown_ns);
  } catch (e) {
    if (!(e instanceof SimulationHang)) throw e;
    stuck = e.message;
    stuck_at = 'teardown';
  }
  if (run.unplug_call_ns >= 0 && run.unplug_return_ns < 0) {
    kernel.violation('hang', 'unplug', `device removal called at ${(run.unplug_call_ns / 1e6).toFixed(3)} ms never returned`);
  }
  for (const f of run.external.values()) { signal_if_pending(f); dma_fence_put(f); }
  run.release_all();
  kernel.lifetime.check_leaks('after unplug', kernel.lifetime.live().map((o) => o.type).filter((t) => t !== 'dma_fence.stub'));
  kernel.settle_choices();
  const observation = monitor.end(kernel);
  return {
    kernel, device, workload, backend, seed: options.seed, jobs: run.jobs, teardown: run.teardown, observation, monitor,
    unplug_call_ns: run.unplug_call_ns, unplug_return_ns: run.unplug_return_ns,
    programs_completed: run.programs_completed, stuck, stuck_at, watchdog_wakeups: run.watchdog_wakeups,
  };
}
