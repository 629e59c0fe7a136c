/**
 * import_ftrace_workload: a captured gpu_scheduler ftrace (a real machine's, or one deplab
 * wrote) -> Workload, so a real submission pattern can be replayed on both schedulers.
 *
 * Mapping (every approximation is a Note on the workload):
 * - One client with one queue per ring (the drm_sched_job_queue "ring" field), named after it;
 *   the engine class is guessed from the ring name (gfx, sdma, vcn, comp, ...) and mapped onto
 *   `options.engines`. The trace does not name entities, so every entity of a ring becomes one
 *   queue.
 * - One batch per job with a drm_sched_job_queue event, in queue order. Submission times are
 *   kept as offsets from the first queued job (microseconds) with period steps of a single
 *   iteration ("sleep until N us after the program started"). Delay steps would add the
 *   submit ioctl's own simulated cost to every later submission; a period step does not
 *   drift, and a submission that cannot keep up shows as harness_period_missed. The replaying
 *   thread's own wake-up latency (cost table process_wakeup_ns) still adds to each submission
 *   after a sleep, on top of the capture's times, which already include the real one.
 * - Duration: done - max(run, done of the ring's previous job). A ring executes its jobs in
 *   order, so a job handed over while the previous one still runs (hw job count > 1) starts
 *   executing only when that one is done; done - run would count that wait as execution.
 *   Without a done event the finished fence's dma_fence_signaled stands in. Missing both: a
 *   job that ran is given the time until the end of the trace (a lower bound); one that never
 *   ran the median of its ring (1 ms if none). A drm_sched_job_timedout job (deplab traces)
 *   becomes a hanging batch.
 * - Dependencies (drm_sched_job_add_dep): on an earlier job of the same ring -> a step
 *   dependency; on an earlier job of another ring -> implicit sync through a buffer the
 *   dependency writes and the dependent reads (a workload has no cross-client step reference),
 *   the dependent moved 1 us after it if both were queued in the same microsecond, so the
 *   write comes first in the replay too; anything else -> an external fence signalled at its observed
 *   dma_fence_signaled time, else at the job's finished time if it is a job, else (estimated)
 *   when the dependent ran; never, if the dependent never ran either.
 */
import { check_workload } from '../workload/check.ts';
import { diagnostic, note } from '../workload/diagnostics.ts';
import {
  ENGINE_CLASSES, LIMITS, type BufferDefinition, type ClientDefinition, type Dependency, type EngineClass,
  type ExternalFenceDefinition, type LoadResult, type Note, type Step, type Workload,
} from '../workload/types.ts';
import { parse_ftrace, type FtraceJobEvent, type FtraceTrace } from './ftrace-parse.ts';

export interface FtraceImportOptions {
  /** Engine classes of the target driver; rings are mapped onto them. Default: every class. */
  readonly engines?: readonly EngineClass[];
}

/** Duration given to a job that never ran on a ring where none finished. */
const DEFAULT_DURATION_US = 1000;

interface Job {
  readonly key: string;
  readonly context: number;
  readonly seqno: number;
  ring: string;
  queue_ns: number;
  line: number;
  run_ns: number | null;
  done_ns: number | null;
  timedout: boolean;
  readonly deps: { context: number; seqno: number; line: number }[];
  /** Position in queue order over all rings, and replayed submission time (us from the first job). */
  order: number;
  at_us: number;
  /** Filled when the program is built. */
  client: string;
  step_index: number;
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

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

class FtraceImporter {
  readonly notes: Note[] = [];
  private readonly noted = new Set<string>();
  private readonly jobs = new Map<string, Job>();
  private readonly signaled_ns = new Map<string, number>();
  private readonly external = new Map<string, ExternalFenceDefinition>();
  private readonly buffers = new Map<string, BufferDefinition>();
  /** Buffer written by each job another ring depends on. */
  private readonly writes = new Map<string, string>();
  /** Client (and queue) names given so far. */
  private readonly names = new Set<string>();
  private t0_ns = 0;
  private end_ns = 0;

  constructor(private readonly trace: FtraceTrace, private readonly source: string, private readonly engines: readonly EngineClass[]) {
    this.notes.push(...trace.notes);
  }

  private note(kind: Note['kind'], line: number | null, message: string, key: string | null = null): void {
    if (key !== null) {
      if (this.noted.has(key)) return;
      this.noted.add(key);
    }
    this.notes.push(note(kind, this.source, message, line === null ? null : { line, column: 1 }));
  }

  /** Every job with a queue event, and what later lines say of it (any order: lines are per-CPU merged). */
  private collect(): void {
    const later: FtraceJobEvent[] = [];
    for (const f of this.trace.fences) if (f.kind === 'signaled' && !this.signaled_ns.has(fence_key(f.context, f.seqno))) this.signaled_ns.set(fence_key(f.context, f.seqno), f.time_ns);
    for (const l of this.trace.lines) this.end_ns = Math.max(this.end_ns, l.time_ns);
    for (const e of this.trace.jobs) {
      const key = fence_key(e.fence_context, e.fence_seqno);
      if (e.kind === 'queue') {
        if (this.jobs.has(key)) { this.note('ignored', e.line, `job ${key} queued twice: the second queue event is ignored`, `twice:${key}`); continue; }
        this.jobs.set(key, {
          key, context: e.fence_context, seqno: e.fence_seqno, ring: e.ring ?? 'ring', queue_ns: e.time_ns, line: e.line,
          run_ns: null, done_ns: null, timedout: false, deps: [], order: -1, at_us: 0, client: '', step_index: -1,
        });
      } else {
        later.push(e);
      }
    }
    let unqueued = 0;
    for (const e of later) {
      const job = this.jobs.get(fence_key(e.fence_context, e.fence_seqno));
      if (job === undefined) { unqueued++; continue; }
      if (e.kind === 'run' && job.run_ns === null) job.run_ns = e.time_ns;
      else if (e.kind === 'done' && job.done_ns === null) job.done_ns = e.time_ns;
      else if (e.kind === 'timedout') job.timedout = true;
      else if (e.kind === 'add_dep' && e.dep_context !== null && e.dep_seqno !== null) {
        if (!job.deps.some((d) => d.context === e.dep_context && d.seqno === e.dep_seqno)) job.deps.push({ context: e.dep_context, seqno: e.dep_seqno, line: e.line });
      } else if (e.kind === 'unschedulable') {
        this.note('ignored', e.line, 'drm_sched_job_unschedulable: a dependency that failed is not replayed (the replayed dependency succeeds)', 'unschedulable');
      }
    }
    if (unqueued > 0) this.note('ignored', null, `${unqueued} events of jobs queued before the capture started are ignored (those jobs are not replayed)`);
    for (const job of this.jobs.values()) if (job.done_ns === null) job.done_ns = this.signaled_ns.get(job.key) ?? null;
  }

  /**
   * Jobs grouped by ring in queue order, with their replayed submission times; jobs past the
   * workload's bounds are dropped with a note. A job that depends on a job of another ring
   * submitted in the same microsecond is moved 1 us later, so the buffer that carries the
   * dependency is written before it is read (period steps have microsecond resolution).
   */
  private rings(): Map<string, Job[]> {
    const all = [...this.jobs.values()].sort((a, b) => a.queue_ns - b.queue_ns || a.line - b.line);
    this.t0_ns = all[0].queue_ns;
    const rings = new Map<string, Job[]>();
    const per_ring_max = Math.floor(LIMITS.steps_per_program / 2);
    let order = 0, moved = 0, moved_us_max = 0;
    const drop = (job: Job, key: string, message: string) => {
      this.note('ignored', job.line, message, key);
      this.jobs.delete(job.key);
    };
    for (const job of all) {
      let list = rings.get(job.ring);
      if (list === undefined && rings.size >= LIMITS.clients) { drop(job, 'rings', `rings beyond the first ${LIMITS.clients} are not replayed`); continue; }
      if (list !== undefined && list.length >= per_ring_max) { drop(job, `full:${job.ring}`, `ring ${job.ring}: jobs beyond the first ${per_ring_max} are not replayed`); continue; }
      const observed_us = this.us(job.queue_ns);
      let at_us = Math.max(observed_us, list !== undefined && list.length > 0 ? list[list.length - 1].at_us : 0);
      for (const dep of job.deps) {
        const target = this.jobs.get(fence_key(dep.context, dep.seqno));
        if (target !== undefined && target.order >= 0 && target.ring !== job.ring) at_us = Math.max(at_us, target.at_us + 1);
      }
      if (at_us > LIMITS.time_us) { drop(job, 'late', `jobs submitted more than ${LIMITS.time_us / 3.6e9} h after the first are not replayed`); continue; }
      if (at_us > observed_us) { moved++; moved_us_max = Math.max(moved_us_max, at_us - observed_us); }
      job.order = order++;
      job.at_us = at_us;
      if (list === undefined) rings.set(job.ring, (list = []));
      list.push(job);
    }
    if (moved > 0) {
      this.note('approximated', null, `${moved} submissions replay up to ${moved_us_max} us later than traced, so that a job of another ring they depend on is submitted first`);
    }
    return rings;
  }

  private us(ns: number): number {
    return Math.max(0, Math.round((ns - this.t0_ns) / 1000));
  }

  /** Execution time per job of one ring, in microseconds (module comment: duration). */
  private durations(ring: string, jobs: readonly Job[]): number[] {
    const measured: (number | null)[] = [];
    let previous_done: number | null = null;
    for (const job of jobs) {
      if (job.run_ns !== null && job.done_ns !== null) {
        const start = previous_done !== null && previous_done > job.run_ns ? previous_done : job.run_ns;
        measured.push(Math.max(1, Math.round((job.done_ns - Math.min(start, job.done_ns)) / 1000)));
      } else {
        measured.push(null);
      }
      if (job.done_ns !== null) previous_done = Math.max(previous_done ?? 0, job.done_ns);
    }
    const fallback = median(measured.filter((m): m is number => m !== null)) ?? DEFAULT_DURATION_US;
    return jobs.map((job, i) => {
      const m = measured[i];
      if (m !== null) return m;
      if (job.run_ns !== null) {
        this.note('approximated', job.line, `ring ${ring}: a job that ran without a done event gets the time to the end of the trace (a lower bound)`, `nodone:${ring}`);
        return Math.max(1, Math.round((this.end_ns - job.run_ns) / 1000));
      }
      this.note('approximated', job.line, `ring ${ring}: a job that never ran gets the ring's median duration (${fallback} us)`, `norun:${ring}`);
      return fallback;
    });
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
    if (target !== undefined && target.ring === job.ring && target.order >= 0 && target.order < job.order) {
      return { on: 'step', step_index: target.step_index, kind: 'data' };
    }
    if (target !== undefined && target.ring !== job.ring && target.order >= 0 && target.order < job.order) {
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

  /** A unique name of the workload alphabet for a ring. */
  private name_of(ring: string): string {
    let base = ring.replace(/[^A-Za-z0-9_.:#/+-]/g, '_').replace(/^[^A-Za-z0-9_]/, '_').slice(0, LIMITS.name_chars - 8);
    if (base === '') base = 'ring';
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}#${i}`;
    this.names.add(name);
    return name;
  }

  import(name: string): Workload | null {
    this.collect();
    if (this.jobs.size === 0) return null;
    const rings = this.rings();
    const clients: ClientDefinition[] = [];
    const programs: Step[][] = [];
    // Every job's step first, then the dependencies, which may name a job of any ring.
    for (const [ring, jobs] of rings) {
      const client = this.name_of(ring);
      const durations = this.durations(ring, jobs);
      const steps: Step[] = [];
      let cursor_us = 0;
      jobs.forEach((job, i) => {
        if (job.at_us > cursor_us) steps.push({ kind: 'period', period_us: job.at_us, origin: `${this.source}:${job.line}` });
        cursor_us = job.at_us;
        job.client = client;
        job.step_index = steps.length;
        steps.push({
          kind: 'batch', queue: client, duration: { kind: 'constant', value_us: durations[i] }, credits: null, deps: [], reads: [], writes: [],
          wait: false, hang: job.timedout, origin: `${this.source}:${job.line}`,
        });
      });
      if (jobs.some((j) => j.timedout)) this.note('mapped', null, `ring ${ring}: jobs that timed out replay as hanging batches`, `hang:${ring}`);
      programs.push(steps);
      clients.push({
        name: client,
        queues: [{ name: client, engine: this.engine(ring, jobs[0].line), priority: 'normal', long_running: false, driver: null, load_balanced: false }],
        program: { end: { kind: 'loops', loops: 1 }, steps },
        origin: `${this.source}:${jobs[0].line}`,
      });
    }
    // Then dependencies (reads and buffer writes patch the batch steps built above).
    [...rings.values()].forEach((jobs, c) => {
      const steps = programs[c];
      for (const job of jobs) {
        const reads: string[] = [];
        const deps: Dependency[] = [];
        for (const dep of job.deps.slice(0, LIMITS.deps_per_batch)) {
          const d = this.dependency(job, dep, reads);
          if (d !== null && !deps.some((x) => JSON.stringify(x) === JSON.stringify(d))) deps.push(d);
        }
        if (job.deps.length > LIMITS.deps_per_batch) this.note('ignored', job.line, `dependencies beyond ${LIMITS.deps_per_batch} per job are ignored`, 'many-deps');
        const batch = steps[job.step_index];
        if (batch.kind === 'batch') steps[job.step_index] = { ...batch, deps, reads };
      }
    });
    for (const [key, buffer] of this.writes) {
      const job = this.jobs.get(key)!;
      const steps = programs[clients.findIndex((c) => c.name === job.client)];
      const batch = steps[job.step_index];
      if (batch.kind === 'batch') steps[job.step_index] = { ...batch, writes: [...batch.writes, buffer] };
    }
    if (this.writes.size > 0) {
      this.note('mapped', null, 'dependencies across rings replay as implicit sync: the dependency writes a buffer its dependents read');
    }
    return {
      name,
      description: `captured ftrace: ${this.jobs.size} jobs on ${clients.length} rings`,
      source: this.source,
      clients,
      buffers: [...this.buffers.values()],
      external_fences: [...this.external.values()],
      events: [],
      notes: this.notes,
    };
  }
}

/**
 * Turn ftrace text with gpu_scheduler events into a Workload named `name` (also the source
 * name in diagnostics). Never throws: returns the workload with notes on everything mapped,
 * approximated or ignored, or errors with line and column.
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
    return { ok: false, errors: [diagnostic(name, 'no drm_sched_job_queue events with fence=<context>:<seqno>: nothing to replay (enable gpu_scheduler:* on a v6.16+ kernel)')] };
  }
  const problems = check_workload(workload);
  if (problems.length > 0) {
    return { ok: false, errors: problems.map((p) => ({ ...p, message: `internal: imported workload breaks an invariant: ${p.message}` })) };
  }
  return { ok: true, workload };
}
