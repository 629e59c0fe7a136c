/**
 * The observer: turns one run's trace into records. Both scheduler models emit the same
 * trace points under their own prefix (drm_sched_job_* / drm_dep_job_*), keyed by the job's
 * finished fence (context, seqno); the substrate emits dma_fence_signaled with the error.
 * Jobs are matched to the runner's logical identities ("<client>/<queue>#n") so records of the
 * two backends line up even though fence contexts differ.
 */
import type { TraceEvent } from '@deplab/sim';
import type { RunOutcome } from './runner.ts';

export interface JobRecord {
  readonly logical: string;
  readonly client: string;
  readonly queue: string;
  /** The program iteration that submitted it (0-based). */
  readonly iteration: number;
  readonly submit_error: number;
  readonly submitted_ns: number;
  /** When the scheduler took the job (the queue tracepoint), -1 if never. */
  readonly queued_ns: number;
  /** When every dependency had signalled (or queued_ns when it had none), -1 if never. */
  readonly deps_resolved_ns: number;
  /** run_job called, -1 if never. */
  readonly run_ns: number;
  /** The hardware fence signalled (job_done), -1 if never. */
  readonly hw_done_ns: number;
  /** The finished (out) fence signalled, -1 if never. */
  readonly finished_ns: number;
  /** Error on the finished fence (0 = success), null if it never signalled. */
  readonly error: number | null;
  /** The scheduler released the job (free_job / last put), -1 if never. */
  readonly freed_ns: number;
  readonly timedout: boolean;
  readonly deps: readonly string[];
}

export interface QueueRecord {
  readonly queue: string;
  readonly jobs: number;
  readonly destroy_call_ns: number;
  readonly destroy_return_ns: number;
  /** The last job of the queue freed (or the queue's memory released on drm_dep), -1 if never. */
  readonly released_ns: number;
}

export interface Observation {
  readonly jobs: readonly JobRecord[];
  readonly queues: readonly QueueRecord[];
  /** Finished-fence signal order per queue, as logical ids. */
  readonly signal_order: ReadonlyMap<string, readonly string[]>;
}

interface Mutable {
  /** The job the fence belongs to, and its "<client>/<queue>". */
  readonly logical: string;
  readonly queue: string;
  queued_ns: number; run_ns: number; hw_done_ns: number; finished_ns: number; error: number | null; freed_ns: number;
  timedout: boolean;
}

/**
 * Records by fence context, then seqno. Two small-integer keys rather than one combined number:
 * context * 2^32 + seqno is not a small integer, so every lookup would box a key.
 */
type FenceIndex = Map<number, Map<number, Mutable>>;

function fence_record(index: FenceIndex, context: number, seqno: number): Mutable | undefined {
  return index.get(context)?.get(seqno);
}

/** Job tracepoints of both models, by their kind (drm_sched_job_run and drm_dep_job_run are 'run'). */
const JOB_EVENT_KIND = new Map<string, string>();
for (const kind of ['queue', 'run', 'done', 'free', 'timedout', 'add_dep', 'unschedulable']) {
  JOB_EVENT_KIND.set(`drm_sched_job_${kind}`, kind);
  JOB_EVENT_KIND.set(`drm_dep_job_${kind}`, kind);
}

function job_event_kind(name: string): string | null {
  return JOB_EVENT_KIND.get(name) ?? null;
}

export function observe(outcome: RunOutcome): Observation {
  const events: readonly TraceEvent[] = outcome.kernel.trace.events;
  const by_fence: FenceIndex = new Map();
  const queue_keys = outcome.jobs.map((j) => `${j.client}/${j.queue}`);
  outcome.jobs.forEach((j, i) => {
    if (j.submit_error !== 0) return;
    let by_seqno = by_fence.get(j.fence_context);
    if (by_seqno === undefined) by_fence.set(j.fence_context, (by_seqno = new Map()));
    by_seqno.set(j.fence_seqno, {
      logical: j.logical, queue: queue_keys[i],
      queued_ns: -1, run_ns: -1, hw_done_ns: -1, finished_ns: -1, error: null, freed_ns: -1, timedout: false,
    });
  });

  const order = new Map<string, string[]>();
  for (const ev of events) {
    if (ev.name === 'dma_fence_signaled') {
      const m = fence_record(by_fence, ev.args.context as number, ev.args.seqno as number);
      if (m !== undefined && m.finished_ns < 0) {
        m.finished_ns = ev.t_ns;
        m.error = Number(ev.args.error);
        let list = order.get(m.queue);
        if (list === undefined) order.set(m.queue, (list = []));
        list.push(m.logical);
      }
      continue;
    }
    const kind = job_event_kind(ev.name);
    if (kind === null) continue;
    const m = fence_record(by_fence, ev.args.fence_context as number, ev.args.fence_seqno as number);
    if (m === undefined) continue;
    switch (kind) {
      case 'queue': if (m.queued_ns < 0) m.queued_ns = ev.t_ns; break;
      case 'run': if (m.run_ns < 0) m.run_ns = ev.t_ns; break;
      case 'done': if (m.hw_done_ns < 0) m.hw_done_ns = ev.t_ns; break;
      case 'free': if (m.freed_ns < 0) m.freed_ns = ev.t_ns; break;
      case 'timedout': m.timedout = true; break;
    }
  }
  const record_of = outcome.jobs.map((j) => fence_record(by_fence, j.fence_context, j.fence_seqno));
  const finished_of = new Map<string, number>();
  outcome.jobs.forEach((j, i) => {
    const m = record_of[i];
    if (m !== undefined) finished_of.set(j.logical, m.finished_ns);
  });
  const jobs: JobRecord[] = outcome.jobs.map((j, i) => {
    const m = record_of[i];
    if (m === undefined) {
      return { logical: j.logical, client: j.client, queue: j.queue, iteration: j.iteration, submit_error: j.submit_error, submitted_ns: j.submit_call_ns,
        queued_ns: -1, deps_resolved_ns: -1, run_ns: -1, hw_done_ns: -1, finished_ns: -1, error: null, freed_ns: -1, timedout: false, deps: j.deps };
    }
    // Data-ready time: every job it depends on has finished (backend-neutral; drm_sched's
    // same-scheduler pipelining may legitimately run it earlier).
    let resolved = m.queued_ns;
    for (const d of j.deps) {
      const t = finished_of.get(d) ?? -1;
      if (t < 0) { resolved = -1; break; }
      if (t > resolved) resolved = t;
    }
    return {
      logical: j.logical, client: j.client, queue: j.queue, iteration: j.iteration, submit_error: 0, submitted_ns: j.submit_call_ns,
      queued_ns: m.queued_ns, deps_resolved_ns: resolved, run_ns: m.run_ns, hw_done_ns: m.hw_done_ns,
      finished_ns: m.finished_ns, error: m.error, freed_ns: m.freed_ns, timedout: m.timedout, deps: j.deps,
    };
  });
  const per_queue = new Map<string, { count: number; released: number }>();
  jobs.forEach((r, i) => {
    const q = queue_keys[i];
    const e = per_queue.get(q) ?? { count: 0, released: -1 };
    e.count++;
    if (r.freed_ns > e.released) e.released = r.freed_ns;
    per_queue.set(q, e);
  });
  const queues: QueueRecord[] = outcome.teardown.map((t) => {
    const e = per_queue.get(t.queue) ?? { count: 0, released: -1 };
    return { queue: t.queue, jobs: e.count, destroy_call_ns: t.destroy_call_ns, destroy_return_ns: t.destroy_return_ns, released_ns: e.released };
  });
  return { jobs, queues, signal_order: order };
}
