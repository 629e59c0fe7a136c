/**
 * Perfetto JSON (the Chrome trace event format, which ui.perfetto.dev and chrome://tracing
 * open) of one or more runs; the two backends of a comparison go side by side in one file.
 *
 * Layout, per run (one process, named e.g. "mock drm_sched seed 1"):
 * - threads "ring <name>": each job's execution as a complete slice (X) from run_job to the
 *   hardware fence (job done). Jobs a ring holds at once (credits > 1) would overlap, and
 *   slices on one thread must nest, so extra lanes "ring <name> [2]", ... take the overlap.
 * - threads "hw <timeline>": the hardware fences of the driver (dma_fence_init of any driver
 *   other than the schedulers' and the harness's), each from max(init, the previous fence's
 *   signal) to its signal: when the engine actually worked on it, as an in-order timeline
 *   does. Needs trace_detail 'full'.
 * - one thread per execution context (kworker, hardirq, softirq, client process, harness),
 *   with work items as complete slices (workqueue_execute_start/end) and every other event
 *   as a thread-scoped instant carrying the event's arguments.
 * - job lifetimes as nestable async slices (b/e, category "job", id2.local = the finished
 *   fence "context:seqno", so ids are scoped to their process): queued -> freed, with the
 *   phases "queued" (to run_job), "on hardware" (to done) and "retiring" (to free) nested.
 *   The slice name is the job's queue, so Perfetto groups a queue's jobs on one track.
 * - dependency edges as flow events (s on the dependency's execution slice, f with bp "e" on
 *   the dependent's), both strictly inside the slice they bind to.
 * - counters (C): "credits <ring>" (hw_job_count as traced at queue and run), "queue depth
 *   <queue>" (job_count as traced), "jobs on hardware <ring>" (run minus done, exact).
 * - timeouts, kills, resets, harness actions and violations also as process-scoped instants.
 * Times are microseconds (ts, dur; ns / 1000, so three decimals). There is deliberately no
 * displayTimeUnit: some Perfetto versions read "ns" there as the unit of ts. The output
 * depends only on the events: stable ordering, no wall clock.
 */
import { backend_label } from './labels.ts';
import type { TraceEvent } from '@deplab/sim';
import type { RunOutcome, SubmittedJob } from '@deplab/harness';

export interface PerfettoSource {
  /** Process name: device, backend and seed, e.g. "mock drm_sched seed 1". */
  readonly label: string;
  readonly events: readonly TraceEvent[];
  /** The runner's jobs: name jobs by logical id and queue, and add their dependency edges. */
  readonly jobs?: readonly SubmittedJob[];
}

export type PerfettoArgs = Readonly<Record<string, string | number | boolean | null>>;

/** One Chrome trace event (only the fields deplab writes). */
export interface PerfettoEvent {
  readonly name: string;
  readonly ph: 'M' | 'X' | 'b' | 'e' | 's' | 'f' | 'C' | 'i';
  readonly pid: number;
  readonly tid?: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly id?: number;
  readonly id2?: { readonly local: string };
  readonly bp?: 'e';
  readonly s?: 't' | 'p';
  readonly args?: PerfettoArgs;
}

export interface PerfettoTrace {
  readonly traceEvents: readonly PerfettoEvent[];
  readonly otherData: { readonly generator: string; readonly processes: string };
}

const JOB_EVENT = /^drm_(?:sched|dep)_job_(queue|run|done|add_dep|unschedulable|free|timedout)$/;

/** Fence drivers that are not hardware: the schedulers' own fences and the harness's. */
const SOFTWARE_FENCE_DRIVERS = new Set(['drm_sched', 'drm_dep', 'deplab-harness']);

/** Events a reader must not miss: shown once more on the process track. */
const INCIDENT = /_timedout$|_kill$|reset|^violation$|^harness_|fatal|_term$|(^|_)hang|unplug/;

/** Thread groups, in display order. */
const GROUP_RING = 0, GROUP_HW = 1, GROUP_CONTEXT = 2;

interface Job {
  readonly key: string;
  ring: string | null;
  queue_ns: number | null;
  run_ns: number | null;
  done_ns: number | null;
  free_ns: number | null;
  first_ns: number;
  timedout: boolean;
  readonly deps: Set<string>;
  /** The execution slice, once laid out. */
  exec: { tid: number; start_ns: number; end_ns: number } | null;
}

interface HwFence {
  readonly context: number;
  readonly seqno: number;
  readonly driver: string;
  readonly timeline: string;
  readonly init_ns: number;
  readonly job: string | null;
  signal_ns: number | null;
}

interface Slice {
  readonly start_ns: number;
  readonly end_ns: number;
}

function us(ns: number): number {
  return ns / 1000;
}

function fence_key(context: unknown, seqno: unknown): string {
  return `${String(context)}:${String(seqno)}`;
}

/** Give each slice (sorted by start) the first lane free at its start; returns the lane per slice. */
function assign_lanes(slices: readonly Slice[]): number[] {
  const lane_end: number[] = [];
  return slices.map((s) => {
    let lane = lane_end.findIndex((end) => end <= s.start_ns);
    if (lane < 0) lane = lane_end.push(0) - 1;
    lane_end[lane] = s.end_ns;
    return lane;
  });
}

class ProcessBuilder {
  private readonly events: { ev: PerfettoEvent; seq: number }[] = [];
  private readonly threads = new Map<string, { tid: number; group: number; index: number }>();
  private readonly group_sizes = [0, 0, 0];
  private readonly jobs = new Map<string, Job>();
  private readonly hw_fences: HwFence[] = [];
  /** Hardware fences not signalled yet, by "context:seqno". */
  private readonly hw_pending = new Map<string, HwFence>();
  private readonly work_stack = new Map<string, { start_ns: number; work: string; workqueue: string }[]>();
  private readonly last_run = new Map<string, { key: string; t_ns: number }>();
  private readonly on_hardware = new Map<string, number>();
  private readonly logical = new Map<string, SubmittedJob>();
  private readonly key_of_logical = new Map<string, string>();
  private end_ns = 0;

  constructor(private readonly pid: number, private readonly source: PerfettoSource, private readonly flow_ids: { next: number }) {
    for (const j of source.jobs ?? []) {
      if (j.submit_error !== 0) continue;
      this.logical.set(fence_key(j.fence_context, j.fence_seqno), j);
      this.key_of_logical.set(j.logical, fence_key(j.fence_context, j.fence_seqno));
    }
  }

  private push(ev: PerfettoEvent): void {
    this.events.push({ ev, seq: this.events.length });
  }

  private thread(name: string, group: number): number {
    let t = this.threads.get(name);
    if (t === undefined) {
      t = { tid: this.threads.size + 1, group, index: this.group_sizes[group]++ };
      this.threads.set(name, t);
    }
    return t.tid;
  }

  private job(key: string, t_ns: number): Job {
    let j = this.jobs.get(key);
    if (j === undefined) {
      j = { key, ring: null, queue_ns: null, run_ns: null, done_ns: null, free_ns: null, first_ns: t_ns, timedout: false, deps: new Set(), exec: null };
      this.jobs.set(key, j);
    }
    return j;
  }

  private queue_label(j: Job): string {
    const s = this.logical.get(j.key);
    return s !== undefined ? `${s.client}/${s.queue}` : j.ring ?? 'jobs';
  }

  private job_label(j: Job): string {
    return this.logical.get(j.key)?.logical ?? `${j.ring ?? 'job'} ${j.key}`;
  }

  private counter(t_ns: number, name: string, args: PerfettoArgs): void {
    this.push({ name, ph: 'C', pid: this.pid, ts: us(t_ns), args });
  }

  private instant(e: TraceEvent): void {
    const args = e.args as PerfettoArgs;
    this.push({ name: e.name, ph: 'i', s: 't', pid: this.pid, tid: this.thread(e.context, GROUP_CONTEXT), ts: us(e.t_ns), args });
    if (INCIDENT.test(e.name)) this.push({ name: e.name, ph: 'i', s: 'p', pid: this.pid, ts: us(e.t_ns), args: { ...args, context: e.context } });
  }

  private job_event(e: TraceEvent, kind: string): void {
    const a = e.args;
    const j = this.job(fence_key(a.fence_context, a.fence_seqno), e.t_ns);
    if (typeof a.ring === 'string') j.ring ??= a.ring;
    switch (kind) {
      case 'queue': j.queue_ns ??= e.t_ns; break;
      case 'run':
        if (j.run_ns === null) {
          j.run_ns = e.t_ns;
          this.last_run.set(e.context, { key: j.key, t_ns: e.t_ns });
          this.hardware_count(e.t_ns, j, +1);
        }
        break;
      case 'done':
        if (j.done_ns === null) {
          j.done_ns = e.t_ns;
          if (j.run_ns !== null) this.hardware_count(e.t_ns, j, -1);
        }
        break;
      case 'free': j.free_ns ??= e.t_ns; break;
      case 'timedout': j.timedout = true; break;
      case 'add_dep': j.deps.add(fence_key(a.dep_context, a.dep_seqno)); break;
    }
    if (kind === 'queue' || kind === 'run') {
      if (typeof a.hw_job_count === 'number') this.counter(e.t_ns, `credits ${j.ring}`, { hw_job_count: a.hw_job_count });
      if (typeof a.job_count === 'number') this.counter(e.t_ns, `queue depth ${this.queue_label(j)}`, { job_count: a.job_count });
    }
  }

  private hardware_count(t_ns: number, j: Job, delta: number): void {
    const ring = j.ring ?? 'jobs';
    const n = (this.on_hardware.get(ring) ?? 0) + delta;
    this.on_hardware.set(ring, n);
    this.counter(t_ns, `jobs on hardware ${ring}`, { jobs: n });
  }

  private work(e: TraceEvent): void {
    let stack = this.work_stack.get(e.context);
    if (stack === undefined) this.work_stack.set(e.context, (stack = []));
    if (e.name === 'workqueue_execute_start') {
      stack.push({ start_ns: e.t_ns, work: String(e.args.work), workqueue: String(e.args.workqueue) });
      return;
    }
    const open = stack.pop();
    if (open === undefined) return this.instant(e);
    this.work_slice(e.context, open, e.t_ns, false);
  }

  private work_slice(context: string, open: { start_ns: number; work: string; workqueue: string }, end_ns: number, unfinished: boolean): void {
    this.push({
      name: open.work, ph: 'X', cat: 'work', pid: this.pid, tid: this.thread(context, GROUP_CONTEXT), ts: us(open.start_ns),
      dur: us(Math.max(0, end_ns - open.start_ns)), args: unfinished ? { workqueue: open.workqueue, unfinished } : { workqueue: open.workqueue },
    });
  }

  /** Feed the run's events, in time order. */
  read(sorted: readonly TraceEvent[]): void {
    for (const e of sorted) {
      this.end_ns = Math.max(this.end_ns, e.t_ns);
      const job = JOB_EVENT.exec(e.name);
      if (job !== null) {
        this.job_event(e, job[1]);
        this.instant(e);
        continue;
      }
      switch (e.name) {
        case 'workqueue_execute_start':
        case 'workqueue_execute_end':
          this.work(e);
          break;
        case 'dma_fence_init': {
          const driver = String(e.args.driver);
          if (SOFTWARE_FENCE_DRIVERS.has(driver)) break;
          // The fence a driver's run_job returns is created right there: same context, same time.
          const run = this.last_run.get(e.context);
          const fence: HwFence = {
            context: Number(e.args.context), seqno: Number(e.args.seqno), driver, timeline: String(e.args.timeline), init_ns: e.t_ns,
            job: run !== undefined && run.t_ns === e.t_ns ? run.key : null, signal_ns: null,
          };
          this.hw_fences.push(fence);
          this.hw_pending.set(fence_key(fence.context, fence.seqno), fence);
          break;
        }
        case 'dma_fence_destroy':
          break;
        case 'dma_fence_signaled': {
          const key = fence_key(e.args.context, e.args.seqno);
          const f = this.hw_pending.get(key);
          if (f !== undefined) {
            f.signal_ns = e.t_ns;
            this.hw_pending.delete(key);
          }
          this.instant(e);
          break;
        }
        default:
          this.instant(e);
      }
    }
    for (const [context, stack] of this.work_stack) for (const open of stack) this.work_slice(context, open, this.end_ns, true);
  }

  /** Job lifetimes (async), executions (X on ring lanes), dependency flows, hardware timelines. */
  finish(): void {
    const jobs = [...this.jobs.values()].sort((a, b) => (a.queue_ns ?? a.first_ns) - (b.queue_ns ?? b.first_ns));
    for (const j of jobs) this.lifetime(j);
    this.executions(jobs);
    for (const j of jobs) this.flows(j);
    this.hardware_timelines();
  }

  private lifetime(j: Job): void {
    const start = j.queue_ns ?? j.first_ns;
    const end = Math.max(j.free_ns ?? this.end_ns, start, j.run_ns ?? start, j.done_ns ?? start);
    const id2 = { local: j.key };
    const name = this.queue_label(j);
    const async = (ph: 'b' | 'e', phase: string, t_ns: number, args?: PerfettoArgs) =>
      this.push({ name: phase, ph, cat: 'job', id2, pid: this.pid, ts: us(t_ns), ...(args !== undefined ? { args } : {}) });
    async('b', name, start, {
      job: this.job_label(j), fence: j.key, ring: j.ring, timedout: j.timedout, freed: j.free_ns !== null, deps: [...j.deps].join(' '),
    });
    // Phases nest only when their milestones are in order; a missing one ends the chain.
    let at = start;
    const phase = (label: string, until: number | null) => {
      const stop = until === null ? end : Math.min(Math.max(until, at), end);
      async('b', label, at);
      async('e', label, stop);
      at = stop;
    };
    phase('queued', j.run_ns);
    if (j.run_ns !== null) phase('on hardware', j.done_ns);
    if (j.run_ns !== null && j.done_ns !== null && j.free_ns !== null) phase('retiring', j.free_ns);
    async('e', name, end);
  }

  private executions(jobs: readonly Job[]): void {
    const by_ring = new Map<string, Job[]>();
    for (const j of jobs) {
      if (j.run_ns === null) continue;
      const ring = j.ring ?? 'jobs';
      let list = by_ring.get(ring);
      if (list === undefined) by_ring.set(ring, (list = []));
      list.push(j);
    }
    for (const [ring, list] of by_ring) {
      list.sort((a, b) => a.run_ns! - b.run_ns!);
      const slices = list.map((j) => ({ start_ns: j.run_ns!, end_ns: Math.max(j.run_ns!, j.done_ns ?? j.free_ns ?? this.end_ns) }));
      const lanes = assign_lanes(slices);
      list.forEach((j, i) => {
        const tid = this.thread(lanes[i] === 0 ? `ring ${ring}` : `ring ${ring} [${lanes[i] + 1}]`, GROUP_RING);
        j.exec = { tid, ...slices[i] };
        this.push({
          name: this.job_label(j), ph: 'X', cat: 'execution', pid: this.pid, tid, ts: us(slices[i].start_ns), dur: us(slices[i].end_ns - slices[i].start_ns),
          args: { fence: j.key, queue: this.queue_label(j), hw_done: j.done_ns !== null, timedout: j.timedout },
        });
      });
    }
  }

  /** Dependency keys of a job: traced add_dep fences that are jobs, plus the runner's logical deps. */
  private dependencies(j: Job): string[] {
    const out = new Set<string>();
    for (const d of j.deps) if (this.jobs.has(d)) out.add(d);
    const submitted = this.logical.get(j.key);
    if (submitted !== undefined) {
      for (const d of submitted.deps) {
        const key = this.key_of_logical.get(d);
        if (key !== undefined) out.add(key);
      }
    }
    out.delete(j.key);
    return [...out].sort();
  }

  /**
   * One flow per dependency between executions: out of the dependency's slice as late as
   * possible, into the dependent's no earlier than that (with drm_sched's pipelining a
   * dependent may be handed to the hardware before its dependency finished). Both points stay
   * strictly inside their slices (by up to 1 us) so the binding does not depend on how a
   * reader orders a flow event and a slice edge at the same time.
   */
  private flows(j: Job): void {
    const to = j.exec;
    if (to === null) return;
    for (const d of this.dependencies(j)) {
      const from = this.jobs.get(d)?.exec;
      if (from === undefined || from === null) continue;
      const inner = (s: { start_ns: number; end_ns: number }) => {
        const margin = Math.min(1000, Math.floor((s.end_ns - s.start_ns) / 2));
        return { lo: s.start_ns + margin, hi: s.end_ns - margin };
      };
      const a = inner(from), b = inner(to);
      let out_ns = a.hi;
      let in_ns = Math.max(b.lo, out_ns);
      if (in_ns > b.hi) {
        in_ns = b.hi;
        out_ns = Math.max(a.lo, in_ns);
      }
      if (out_ns > in_ns) continue; // the dependent finished before its dependency started: nothing to draw forward in time
      const id = this.flow_ids.next++;
      this.push({ name: 'dependency', ph: 's', cat: 'dependency', id, pid: this.pid, tid: from.tid, ts: us(out_ns) });
      this.push({ name: 'dependency', ph: 'f', bp: 'e', cat: 'dependency', id, pid: this.pid, tid: to.tid, ts: us(in_ns) });
    }
  }

  private hardware_timelines(): void {
    const by_context = new Map<number, HwFence[]>();
    for (const f of this.hw_fences) {
      if (f.signal_ns === null) continue;
      let list = by_context.get(f.context);
      if (list === undefined) by_context.set(f.context, (list = []));
      list.push(f);
    }
    const timeline_names = new Map<string, number>();
    for (const list of by_context.values()) timeline_names.set(list[0].timeline, (timeline_names.get(list[0].timeline) ?? 0) + 1);
    for (const [context, list] of by_context) {
      list.sort((a, b) => a.signal_ns! - b.signal_ns! || a.seqno - b.seqno);
      let previous_signal = -Infinity;
      const slices = list.map((f) => {
        const start = Math.min(Math.max(f.init_ns, previous_signal), f.signal_ns!);
        previous_signal = f.signal_ns!;
        return { start_ns: start, end_ns: f.signal_ns! };
      });
      const order = slices.map((_, i) => i).sort((a, b) => slices[a].start_ns - slices[b].start_ns || a - b);
      const lanes = assign_lanes(order.map((i) => slices[i]));
      const base = timeline_names.get(list[0].timeline)! > 1 ? `hw ${list[0].timeline} ctx ${context}` : `hw ${list[0].timeline}`;
      order.forEach((i, n) => {
        const f = list[i];
        const job = f.job !== null ? this.jobs.get(f.job) : undefined;
        const tid = this.thread(lanes[n] === 0 ? base : `${base} [${lanes[n] + 1}]`, GROUP_HW);
        this.push({
          name: job !== undefined ? this.job_label(job) : `${f.driver} ${context}:${f.seqno}`, ph: 'X', cat: 'hardware', pid: this.pid, tid,
          ts: us(slices[i].start_ns), dur: us(slices[i].end_ns - slices[i].start_ns), args: { hw_fence: `${context}:${f.seqno}`, job: f.job },
        });
      });
    }
  }

  /** Metadata first (process, then threads by group), then everything by time, stably. */
  output(): PerfettoEvent[] {
    const meta: PerfettoEvent[] = [
      { name: 'process_name', ph: 'M', pid: this.pid, args: { name: this.source.label } },
      { name: 'process_sort_index', ph: 'M', pid: this.pid, args: { sort_index: this.pid } },
    ];
    for (const [name, t] of [...this.threads].sort(([, a], [, b]) => a.tid - b.tid)) {
      meta.push({ name: 'thread_name', ph: 'M', pid: this.pid, tid: t.tid, args: { name } });
      meta.push({ name: 'thread_sort_index', ph: 'M', pid: this.pid, tid: t.tid, args: { sort_index: t.group * 100_000 + t.index } });
    }
    const timed = [...this.events].sort((a, b) => a.ev.ts! - b.ev.ts! || a.seq - b.seq).map((x) => x.ev);
    return [...meta, ...timed];
  }
}

/** The Perfetto source of one run: its events, its jobs, and a label naming device, backend and seed. */
export function run_source(outcome: RunOutcome): PerfettoSource {
  if (outcome.kernel.trace.mode !== 'record') throw new RangeError('run_source: the run was not recorded (trace mode must be record)');
  const backend = backend_label(outcome.backend);
  return { label: `${outcome.device.driver} ${backend} seed ${outcome.seed}`, events: outcome.kernel.trace.events, jobs: outcome.jobs ?? undefined };
}

/** The trace of several runs, one process each (pid 1, 2, ... in the order given). */
export function perfetto_trace(sources: readonly PerfettoSource[]): PerfettoTrace {
  if (sources.length === 0) throw new RangeError('perfetto_trace: no runs');
  const flow_ids = { next: 1 };
  const traceEvents = sources.flatMap((source, i) => {
    const builder = new ProcessBuilder(i + 1, source, flow_ids);
    const sorted = source.events.map((e, n) => ({ e, n })).sort((a, b) => a.e.t_ns - b.e.t_ns || a.n - b.n).map((x) => x.e);
    builder.read(sorted);
    builder.finish();
    return builder.output();
  });
  return { traceEvents, otherData: { generator: 'deplab', processes: sources.map((s) => s.label).join(' | ') } };
}

/** perfetto_trace as JSON text, one event per line (diffable, streamable into the UI). */
export function perfetto_json(sources: readonly PerfettoSource[]): string {
  const trace = perfetto_trace(sources);
  const events = trace.traceEvents.map((e) => JSON.stringify(e)).join(',\n');
  return `{"otherData":${JSON.stringify(trace.otherData)},"traceEvents":[\n${events}\n]}\n`;
}

/** Both backends of one comparison seed, side by side: drm_sched as pid 1, drm_dep as pid 2. */
export function comparison_perfetto_json(sched: RunOutcome, dep: RunOutcome): string {
  if (sched.backend !== 'sched' || dep.backend !== 'dep') throw new RangeError('comparison_perfetto_json: expects a drm_sched run and a drm_dep run');
  return perfetto_json([run_source(sched), run_source(dep)]);
}

