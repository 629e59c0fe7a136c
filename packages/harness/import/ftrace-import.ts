/**
 * import_ftrace_workload: a captured gpu_scheduler trace (tracefs trace or trace_pipe,
 * `trace-cmd report`, `perf script`; a real machine's or one deplab wrote) -> Workload, so a
 * real submission pattern can be replayed and compared on both schedulers.
 *
 * Mapping (every approximation is a Note on the workload):
 * - One client per DRM client: the drm_sched_job_queue "client_id" (drm_file's id, unique per
 *   open file), or, on kernels whose events lack it, the queueing task (tgid where the layout
 *   shows it, else pid). A client gets one queue per ring it queued to ("ring" is the
 *   scheduler's name; the events do not name entities, so the entities a client has on one
 *   ring become one queue). The engine class is guessed from the ring name (gfx, sdma, vcn,
 *   comp, ...) and mapped onto `options.engines`.
 * - One batch per job with a drm_sched_job_queue event, in queue order. Submission times are
 *   kept as offsets from the first queued job (microseconds) with period steps of a single
 *   iteration ("sleep until N us after the program started"). Delay steps would add the
 *   submit ioctl's own simulated cost to every later submission; a period step does not
 *   drift, and a submission that cannot keep up shows as harness_period_missed. The replaying
 *   thread's own wake-up latency (cost table process_wakeup_ns) still adds to each submission
 *   after a sleep, on top of the capture's times, which already include the real one.
 * - Duration: done - run, or done - max(run, latest done before this job's of the jobs the
 *   ring ran earlier) when the job was handed over while earlier jobs of its scheduler were
 *   still on the hardware: a ring executes its jobs in order, and done - run would count that
 *   wait as execution. The
 *   "hw job count" of drm_sched_job_run (the scheduler's credit count, this job included)
 *   tells: above the ring's smallest value, the job was not alone. This also keeps apart
 *   queues that share a ring name (panthor names every queue's scheduler "panthor-queue")
 *   while they run one job each. Without a done event the finished fence's dma_fence_signaled stands in. Missing
 *   both: a job that ran is given the time until the end of the trace (a lower bound); one that
 *   never ran the median of its ring (1 ms if none). A deplab_job_timedout job (deplab traces)
 *   becomes a hanging batch.
 * - Dependencies (drm_sched_job_add_dep): on an earlier job of the same client -> a step
 *   dependency (any of its queues); on an earlier job of another client -> implicit sync
 *   through a buffer the dependency writes and the dependent reads (a workload has no
 *   cross-client step reference), the dependent moved 1 us after it if both were queued in the
 *   same microsecond, so the write comes first in the replay too; anything else -> an external
 *   fence signalled at its observed dma_fence_signaled time, else at the job's finished time if
 *   it is a job, else (estimated) when the dependent ran; never, if the dependent never ran
 *   either.
 * - Lines not used are counted per reason with their first line numbers in one note each.
 */
import { check_workload } from '../workload/check.ts';
import { diagnostic, note } from '../workload/diagnostics.ts';
import {
  ENGINE_CLASSES, LIMITS, type BufferDefinition, type ClientDefinition, type Dependency, type EngineClass,
  type ExternalFenceDefinition, type LoadResult, type Note, type QueueDefinition, type Step, type Workload,
} from '../workload/types.ts';
import { SkipLog, describe_skipped, parse_ftrace, type FtraceJobEvent, type FtraceTrace, type SkippedLines } from './ftrace-parse.ts';

export interface FtraceImportOptions {
  /** Engine classes of the target driver; rings are mapped onto them. Default: every class. */
  readonly engines?: readonly EngineClass[];
}

/** Duration given to a job that never ran on a ring where none finished. */
const DEFAULT_DURATION_US = 1000;

/** The events the import reads; any other event line is skipped with its name as the reason. */
const USED_EVENTS = new Set([
  'drm_sched_job_queue', 'drm_sched_job_run', 'drm_sched_job_done', 'drm_sched_job_add_dep', 'drm_sched_job_unschedulable',
  'deplab_job_timedout', 'dma_fence_signaled',
]);

interface Job {
  readonly key: string;
  readonly context: number;
  readonly seqno: number;
  readonly ring: string;
  readonly client: ClientPlan;
  readonly queue_ns: number;
  readonly line: number;
  run_ns: number | null;
  /** The scheduler's credit count at drm_sched_job_run ("hw job count", this job included). */
  run_hw: number | null;
  done_ns: number | null;
  timedout: boolean;
  readonly deps: { context: number; seqno: number; line: number }[];
  /** Position in queue order over all clients, and replayed submission time (us from the first job). */
  order: number;
  at_us: number;
  /** Filled when the program is built. */
  queue: string;
  step_index: number;
}

interface ClientPlan {
  readonly key: string;
  readonly name: string;
  readonly line: number;
  /** Queue name per ring, in order of first use. */
  readonly queues: Map<string, string>;
  readonly jobs: Job[];
}

function fence_key(context: number, seqno: number): string {
  return `${context}:${seqno}`;
}

/** Ring-name fragments of the upstream drivers (amdgpu, xe, panthor, v3d, etnaviv ...), first match wins. */
const ENGINE_HINTS: readonly [RegExp, EngineClass][] = [
  [/vecs|vpe/i, 'video_enhance'],
  [/vcn|vcs|uvd|vce|jpeg|video|dec|enc/i, 'video'],
  [/sdma|bcs|copy|blit|blt|dma/i, 'copy'],
  [/comp|ccs|kiq|mes|csf|cl\b/i, 'compute'],
  [/bind|\bvm\b|\bpt\b/i, 'bind'],
];

function guess_engine(ring: string): EngineClass {
  for (const [pattern, engine] of ENGINE_HINTS) if (pattern.test(ring)) return engine;
  return 'render';
}

/** Index of the first element of sorted `values` greater than `x`. */
function upper_bound(values: readonly number[], x: number): number {
  let lo = 0, hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** A name of the workload alphabet (NAME_PATTERN) for free text, unique within `taken`. */
function unique_name(text: string, fallback: string, taken: Set<string>): string {
  let base = text.replace(/[^A-Za-z0-9_.:#/+-]/g, '_').replace(/^[^A-Za-z0-9_]/, '_').slice(0, LIMITS.name_chars - 8);
  if (base === '') base = fallback;
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}#${i}`;
  taken.add(name);
  return name;
}

class FtraceImporter {
  readonly notes: Note[] = [];
  private readonly skips = new SkipLog();
  private readonly noted = new Set<string>();
  private readonly jobs = new Map<string, Job>();
  private readonly clients = new Map<string, ClientPlan>();
  private readonly client_names = new Set<string>();
  private readonly signaled_ns = new Map<string, number>();
  private readonly external = new Map<string, ExternalFenceDefinition>();
  private readonly buffers = new Map<string, BufferDefinition>();
  /** Buffer written by each job another client depends on. */
  private readonly writes = new Map<string, string>();
  private t0_ns = 0;
  private end_ns = 0;

  constructor(private readonly trace: FtraceTrace, private readonly source: string, private readonly engines: readonly EngineClass[]) {}

  private note(kind: Note['kind'], line: number | null, message: string, key: string | null = null): void {
    if (key !== null) {
      if (this.noted.has(key)) return;
      this.noted.add(key);
    }
    this.notes.push(note(kind, this.source, message, line === null ? null : { line, column: 1 }));
  }

  /** The DRM client a queue event belongs to: its client_id, or its task where the event has none. */
  private client_of(e: FtraceJobEvent): ClientPlan {
    const key = e.client_id !== null ? `id:${e.client_id}` : `task:${e.tgid ?? e.pid}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      const label = e.client_id !== null ? `client-${e.client_id}` : `${e.task}-${e.tgid ?? e.pid}`;
      client = { key, name: unique_name(label, 'client', this.client_names), line: e.line, queues: new Map(), jobs: [] };
      this.clients.set(key, client);
    }
    return client;
  }

  /** Every job with a queue event, and what later lines say of it (any order: lines are per-CPU merged). */
  private collect(): void {
    for (const l of this.trace.lines) {
      this.end_ns = Math.max(this.end_ns, l.time_ns);
      if (!USED_EVENTS.has(l.event)) this.skips.add(`${l.event}: not an event the import reads`, l.line);
    }
    for (const f of this.trace.fences) if (f.kind === 'signaled' && !this.signaled_ns.has(fence_key(f.context, f.seqno))) this.signaled_ns.set(fence_key(f.context, f.seqno), f.time_ns);
    const later: FtraceJobEvent[] = [];
    for (const e of this.trace.jobs) {
      const key = fence_key(e.fence_context, e.fence_seqno);
      if (e.kind !== 'queue') { later.push(e); continue; }
      if (this.jobs.has(key)) { this.skips.add('drm_sched_job_queue of a job already queued', e.line); continue; }
      this.jobs.set(key, {
        key, context: e.fence_context, seqno: e.fence_seqno, ring: e.ring ?? 'ring', client: this.client_of(e), queue_ns: e.time_ns, line: e.line,
        run_ns: null, run_hw: null, done_ns: null, timedout: false, deps: [], order: -1, at_us: 0, queue: '', step_index: -1,
      });
    }
    for (const e of later) {
      const job = this.jobs.get(fence_key(e.fence_context, e.fence_seqno));
      if (job === undefined) { this.skips.add(`${this.event_name(e)} of a job queued before the capture started`, e.line); continue; }
      if (e.kind === 'run' && job.run_ns === null) { job.run_ns = e.time_ns; job.run_hw = e.hw_job_count; }
      else if (e.kind === 'done' && job.done_ns === null) job.done_ns = e.time_ns;
      else if (e.kind === 'timedout') job.timedout = true;
      else if (e.kind === 'add_dep' && e.dep_context !== null && e.dep_seqno !== null) {
        if (!job.deps.some((d) => d.context === e.dep_context && d.seqno === e.dep_seqno)) job.deps.push({ context: e.dep_context, seqno: e.dep_seqno, line: e.line });
      } else if (e.kind === 'unschedulable') {
        this.skips.add('drm_sched_job_unschedulable: a dependency that failed is replayed as one that succeeds', e.line);
      }
    }
    for (const job of this.jobs.values()) if (job.done_ns === null) job.done_ns = this.signaled_ns.get(job.key) ?? null;
  }

  private event_name(e: FtraceJobEvent): string {
    return e.kind === 'timedout' ? 'deplab_job_timedout' : e.kind === 'free' ? 'deplab_job_free' : `drm_sched_job_${e.kind}`;
  }

  /**
   * Jobs in queue order with their replayed submission times, each in its client's queue for
   * its ring; jobs past the workload's bounds are dropped (skipped lines). A job that depends on
   * a job of another client submitted in the same microsecond is moved 1 us later, so the
   * buffer that carries the dependency is written before it is read (period steps have
   * microsecond resolution).
   */
  private plan(): void {
    const all = [...this.jobs.values()].sort((a, b) => a.queue_ns - b.queue_ns || a.line - b.line);
    this.t0_ns = all[0].queue_ns;
    const per_client_max = Math.floor(LIMITS.steps_per_program / 2);
    let order = 0, moved = 0, moved_us_max = 0;
    const live_clients = new Set<ClientPlan>();
    const drop = (job: Job, reason: string) => {
      this.skips.add(reason, job.line);
      this.jobs.delete(job.key);
    };
    for (const job of all) {
      const client = job.client;
      if (!live_clients.has(client) && live_clients.size >= LIMITS.clients) { drop(job, `drm_sched_job_queue of a client beyond the first ${LIMITS.clients}`); continue; }
      if (!client.queues.has(job.ring) && client.queues.size >= LIMITS.queues_per_client) { drop(job, `drm_sched_job_queue on a ring beyond a client's first ${LIMITS.queues_per_client}`); continue; }
      if (client.jobs.length >= per_client_max) { drop(job, `drm_sched_job_queue beyond a client's first ${per_client_max} jobs`); continue; }
      const observed_us = this.us(job.queue_ns);
      let at_us = Math.max(observed_us, client.jobs.length > 0 ? client.jobs[client.jobs.length - 1].at_us : 0);
      for (const dep of job.deps) {
        const target = this.jobs.get(fence_key(dep.context, dep.seqno));
        if (target !== undefined && target.order >= 0 && target.client !== client) at_us = Math.max(at_us, target.at_us + 1);
      }
      if (at_us > LIMITS.time_us) { drop(job, `drm_sched_job_queue more than ${LIMITS.time_us / 3.6e9} h after the first`); continue; }
      if (at_us > observed_us) { moved++; moved_us_max = Math.max(moved_us_max, at_us - observed_us); }
      job.order = order++;
      job.at_us = at_us;
      live_clients.add(client);
      if (!client.queues.has(job.ring)) client.queues.set(job.ring, unique_name(job.ring, 'ring', new Set(client.queues.values())));
      job.queue = client.queues.get(job.ring)!;
      client.jobs.push(job);
    }
    if (moved > 0) {
      this.note('approximated', null, `${moved} submissions replay up to ${moved_us_max} us later than traced, so that a job of another client they depend on is submitted first`);
    }
  }

  private us(ns: number): number {
    return Math.max(0, Math.round((ns - this.t0_ns) / 1000));
  }

  /** Execution time per job, in microseconds, computed per ring in run order (module comment: duration). */
  private durations(): Map<Job, number> {
    const rings = new Map<string, Job[]>();
    for (const job of this.jobs.values()) {
      let list = rings.get(job.ring);
      if (list === undefined) rings.set(job.ring, (list = []));
      list.push(job);
    }
    const out = new Map<Job, number>();
    for (const [ring, jobs] of rings) {
      const in_run_order = [...jobs].sort((a, b) => (a.run_ns ?? Infinity) - (b.run_ns ?? Infinity) || a.order - b.order);
      const measured = new Map<Job, number>();
      const alone_hw = jobs.reduce((m, j) => Math.min(m, j.run_hw ?? Infinity), Infinity);
      const earlier_done: number[] = []; // sorted
      for (const job of in_run_order) {
        if (job.run_ns !== null && job.done_ns !== null) {
          // In order on the ring: the job it waited for finished before it did.
          const waited = job.run_hw === null || job.run_hw > alone_hw;
          const i = upper_bound(earlier_done, job.done_ns);
          const start = waited && i > 0 ? Math.max(job.run_ns, earlier_done[i - 1]) : job.run_ns;
          measured.set(job, Math.max(1, Math.round((job.done_ns - start) / 1000)));
        }
        if (job.done_ns !== null) earlier_done.splice(upper_bound(earlier_done, job.done_ns), 0, job.done_ns);
      }
      const fallback = median([...measured.values()]) ?? DEFAULT_DURATION_US;
      for (const job of jobs) {
        const m = measured.get(job);
        if (m !== undefined) { out.set(job, m); continue; }
        if (job.run_ns !== null) {
          this.note('approximated', job.line, `ring ${ring}: a job that ran without a done event gets the time to the end of the trace (a lower bound)`, `nodone:${ring}`);
          out.set(job, Math.max(1, Math.round((this.end_ns - job.run_ns) / 1000)));
        } else {
          this.note('approximated', job.line, `ring ${ring}: a job that never ran gets the ring's median duration (${fallback} us)`, `norun:${ring}`);
          out.set(job, fallback);
        }
      }
      for (const job of jobs) {
        if (out.get(job)! <= LIMITS.time_us) continue;
        // A step lasts at most an hour (the workload format's bound); a longer job is a broken or spliced capture.
        this.note('approximated', job.line, `ring ${ring}: a job longer than ${LIMITS.time_us / 3.6e9} h is cut to that`, `long:${ring}`);
        out.set(job, LIMITS.time_us);
      }
    }
    return out;
  }

  private external_fence(context: number, seqno: number, signal_at_us: number | null): string {
    const name = `fence:${context}:${seqno}`;
    if (!this.external.has(name)) this.external.set(name, { name, signal_at_us });
    return name;
  }

  /** The workload dependency for one add_dep of `job`, or null when it adds nothing. */
  private dependency(job: Job, dep: { context: number; seqno: number; line: number }, reads: string[]): Dependency | null {
    const key = fence_key(dep.context, dep.seqno);
    if (key === job.key) return null;
    const target = this.jobs.get(key);
    if (target !== undefined && target.order >= 0 && target.order < job.order) {
      if (target.client === job.client) return { on: 'step', step_index: target.step_index, kind: 'data' };
      let buffer = this.writes.get(key);
      if (buffer === undefined) {
        buffer = `job:${key}`;
        this.writes.set(key, buffer);
        this.buffers.set(buffer, { name: buffer, size_bytes: null });
      }
      reads.push(buffer);
      return null;
    }
    const observed = this.signaled_ns.get(key) ?? (target !== undefined ? target.done_ns : null);
    if (observed !== null) return { on: 'external', fence: this.external_fence(dep.context, dep.seqno, this.us(observed)) };
    if (job.run_ns !== null) {
      this.note('approximated', dep.line, 'a dependency whose signal is not in the trace is taken as signalled when its dependent ran', 'unseen-dep');
      return { on: 'external', fence: this.external_fence(dep.context, dep.seqno, this.us(job.run_ns)) };
    }
    this.note('approximated', dep.line, 'a dependency never seen signalled, of a job that never ran, is never signalled', 'never-dep');
    return { on: 'external', fence: this.external_fence(dep.context, dep.seqno, null) };
  }

  private engine(ring: string, line: number): EngineClass {
    const guessed = guess_engine(ring);
    if (this.engines.includes(guessed)) return guessed;
    const chosen = this.engines.includes('render') ? 'render' : this.engines[0];
    this.note('mapped', line, `ring ${ring} (${guessed}) runs on ${chosen}: the driver has no ${guessed} engine`, `engine:${ring}`);
    return chosen;
  }

  /** One client's program: a period step before each batch submitted later than the previous one. */
  private program(client: ClientPlan, durations: Map<Job, number>): Step[] {
    const steps: Step[] = [];
    let cursor_us = 0;
    for (const job of client.jobs) {
      if (job.at_us > cursor_us) steps.push({ kind: 'period', period_us: job.at_us, origin: `${this.source}:${job.line}` });
      cursor_us = job.at_us;
      job.step_index = steps.length;
      steps.push({
        kind: 'batch', queue: job.queue, duration: { kind: 'constant', value_us: durations.get(job)! }, credits: null, deps: [], reads: [], writes: [],
        wait: false, hang: job.timedout, origin: `${this.source}:${job.line}`,
      });
    }
    return steps;
  }

  /** Dependencies (step references, buffer reads) patched into the batches of every program. */
  private link(programs: Map<ClientPlan, Step[]>): void {
    for (const [client, steps] of programs) {
      for (const job of client.jobs) {
        const reads: string[] = [];
        const deps: Dependency[] = [];
        for (const dep of job.deps.slice(0, LIMITS.deps_per_batch)) {
          const d = this.dependency(job, dep, reads);
          if (d !== null && !deps.some((x) => JSON.stringify(x) === JSON.stringify(d))) deps.push(d);
        }
        for (const dep of job.deps.slice(LIMITS.deps_per_batch)) this.skips.add(`drm_sched_job_add_dep beyond ${LIMITS.deps_per_batch} per job`, dep.line);
        const batch = steps[job.step_index];
        if (batch.kind === 'batch') steps[job.step_index] = { ...batch, deps, reads };
      }
    }
    for (const [key, buffer] of this.writes) {
      const job = this.jobs.get(key)!;
      const steps = programs.get(job.client)!;
      const batch = steps[job.step_index];
      if (batch.kind === 'batch') steps[job.step_index] = { ...batch, writes: [...batch.writes, buffer] };
    }
    if (this.writes.size > 0) {
      this.note('mapped', null, 'dependencies across clients replay as implicit sync: the dependency writes a buffer its dependents read');
    }
  }

  import(name: string): Workload | null {
    this.collect();
    if (this.jobs.size === 0) return null;
    this.plan();
    const durations = this.durations();
    const planned = [...this.clients.values()].filter((c) => c.jobs.length > 0);
    const programs = new Map(planned.map((c) => [c, this.program(c, durations)]));
    this.link(programs);
    const clients: ClientDefinition[] = planned.map((c) => {
      const queues: QueueDefinition[] = [...c.queues].map(([ring, queue]) => ({
        name: queue, engine: this.engine(ring, c.jobs.find((j) => j.ring === ring)!.line), priority: 'normal', long_running: false, driver: null, load_balanced: false,
      }));
      if (c.jobs.some((j) => j.timedout)) this.note('mapped', null, `client ${c.name}: jobs that timed out replay as hanging batches`, `hang:${c.key}`);
      return { name: c.name, queues, program: { end: { kind: 'loops', loops: 1 }, steps: programs.get(c)! }, origin: `${this.source}:${c.line}` };
    });
    const rings = new Set([...this.jobs.values()].map((j) => j.ring)).size;
    const summary = `${this.jobs.size} jobs of ${clients.length} clients on ${rings} rings`;
    return {
      name,
      description: `captured ftrace (${this.trace.layout}): ${summary}`,
      source: this.source,
      clients,
      buffers: [...this.buffers.values()],
      external_fences: [...this.external.values()],
      events: [],
      notes: [note('mapped', this.source, `read as ${this.trace.layout}: ${summary}`), ...this.notes, ...skip_notes(this.source, [...this.trace.skipped, ...this.skips.list()])],
    };
  }

  /** What was skipped, for the error when nothing could be imported. */
  skipped(): SkippedLines[] {
    return [...this.trace.skipped, ...this.skips.list()];
  }
}

/** One 'ignored' note per skip reason: how many lines, which, and why. */
function skip_notes(source: string, skipped: readonly SkippedLines[]): Note[] {
  return skipped.map((s) => note('ignored', source, `skipped ${describe_skipped(s)}: ${s.reason}`, { line: s.lines[0], column: 1 }));
}

/**
 * Turn captured ftrace text with gpu_scheduler events into a Workload named `name` (also the
 * source name in diagnostics). Never throws: returns the workload with notes on everything
 * mapped, approximated or skipped, or errors with line and column.
 */
export function import_ftrace_workload(text: string, name: string, options: FtraceImportOptions = {}): LoadResult {
  const engines = options.engines ?? ENGINE_CLASSES;
  if (engines.length === 0 || engines.some((e) => !ENGINE_CLASSES.includes(e))) {
    return { ok: false, errors: [diagnostic(name, `engines must be a non-empty list of ${ENGINE_CLASSES.join(', ')}`)] };
  }
  if (name.length === 0) return { ok: false, errors: [diagnostic('(unnamed)', 'the workload needs a name')] };
  const parsed = parse_ftrace(text, name);
  if (!parsed.ok) return parsed;
  const importer = new FtraceImporter(parsed.trace, name, engines);
  const workload = importer.import(name);
  if (workload === null) {
    const skipped = importer.skipped().map((s) => `skipped ${describe_skipped(s)}: ${s.reason}`);
    return {
      ok: false,
      errors: [diagnostic(name, `read as ${parsed.trace.layout}, but no drm_sched_job_queue events with fence=<context>:<seqno>: nothing to replay ` +
        '(enable gpu_scheduler:* on a v6.16+ kernel)' + (skipped.length > 0 ? `; ${skipped.join('; ')}` : ''))],
    };
  }
  const problems = check_workload(workload);
  if (problems.length > 0) {
    return { ok: false, errors: problems.map((p) => ({ ...p, message: `internal: imported workload breaks an invariant: ${p.message}` })) };
  }
  return { ok: true, workload };
}
